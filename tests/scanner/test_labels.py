"""Label sheets: the SVG and PDF renderers, and ``sesame labels`` against a real catalogue."""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import anyio.to_thread
import pytest
from click.testing import CliRunner
from PIL import Image, ImageDraw

from scanner import qr
from scanner.labels import Label, hri, label_sheet_pdf, label_sheet_svg
from sesame.settings import get_settings
from tests.scanner.conftest import Shop, make_gtin


def sample(count: int) -> list[Label]:
    return [
        Label(gtin=make_gtin(i), name=f"Huile n°{i} (1 L)", uri=f"http://sesame.test/01/{make_gtin(i)}")
        for i in range(count)
    ]


def test_svg_sheet_has_each_code_and_its_human_readable_gtin() -> None:
    labels = sample(23)
    svg = label_sheet_svg(labels)
    root = ET.fromstring(svg)  # noqa: S314 - our own output, not untrusted input
    assert root.get("viewBox") == "0 0 210.0 594.0"  # two A4 pages stacked
    texts = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
    for label in labels:
        assert hri(label.gtin) in texts and label.uri.encode() in svg
    assert hri("09520123456788") == "(01) 09520123456788"


def test_pdf_sheet_is_a_well_formed_pdf() -> None:
    labels = sample(22)
    pdf = label_sheet_pdf(labels)
    assert pdf.startswith(b"%PDF-1.4") and pdf.rstrip().endswith(b"%%EOF")
    start = int(re.search(rb"startxref\n(\d+)", pdf).group(1))  # type: ignore[union-attr]
    assert pdf[start:].startswith(b"xref")
    offsets = [int(o) for o in re.findall(rb"(\d{10}) 00000 n", pdf)]
    for number, offset in enumerate(offsets, start=1):
        assert pdf[offset:].startswith(b"%d 0 obj" % number)
    assert b"/Count 2" in pdf
    assert b"(\\(01\\) " + labels[0].gtin.encode() + b")" in pdf
    assert "Huile n°0 \\(1 L\\)".encode("cp1252") in pdf
    assert label_sheet_pdf([]).startswith(b"%PDF")


def test_the_pdfs_drawn_code_decodes() -> None:
    """Paint the first label's rectangles from the PDF's content stream and read them back with zxing-cpp."""
    label = sample(1)[0]
    pdf = label_sheet_pdf([label])
    stream = pdf.split(b"stream\n", 1)[1].split(b"\nendstream", 1)[0].decode("latin-1")
    rects = [
        tuple(float(v) for v in m) for m in re.findall(r"([\d.]+) ([\d.]+) ([\d.]+) ([\d.]+) re", stream)
    ]
    scale = 4
    width, height = int(210 * 72 / 25.4 * scale / 4), int(297 * 72 / 25.4 * scale / 4)
    image = Image.new("L", (width * 4, height * 4), 255)
    draw = ImageDraw.Draw(image)
    page_h = 297 * 72 / 25.4
    for x, y, w, h in rects:  # PDF's origin is bottom-left, the image's top-left
        draw.rectangle(
            [x * scale, (page_h - y - h) * scale, (x + w) * scale - 1, (page_h - y) * scale - 1], fill=0
        )
    assert qr.decode_image(_png(image)) == [label.uri]


def _png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


@pytest.mark.parametrize("fmt", ["pdf", "svg"])
async def test_sesame_labels_prints_a_companys_products(
    shop: Shop, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fmt: str
) -> None:
    from sesame.cli import main

    owner = await shop.company()
    gtins = [(await shop.product(owner, make_gtin(20_000 + i)))["gtin"] for i in range(3)]
    settings = shop.app.state.settings
    monkeypatch.setenv("SESAME_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("SESAME_KEY_DIR", str(settings.key_dir))
    monkeypatch.setenv("SESAME_PUBLIC_URL", settings.public_url)
    get_settings.cache_clear()
    out = tmp_path / f"sheet.{fmt}"
    arguments = ["labels", "--company", str(owner.company_id), "--format", fmt, "--out", str(out), "--json"]
    try:  # the command runs its own event loop: give it a thread
        result = await anyio.to_thread.run_sync(lambda: CliRunner().invoke(main, arguments))
        missing = await anyio.to_thread.run_sync(
            lambda: CliRunner().invoke(
                main, ["labels", "--company", "999999", "--out", str(tmp_path / "x.pdf")]
            )
        )
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert '"labels": 3' in result.output
    body = out.read_bytes()
    for gtin in gtins:
        assert (
            f"(01) {gtin}".replace("(", "\\(" if fmt == "pdf" else "(")
            .replace(")", "\\)" if fmt == "pdf" else ")")
            .encode()
            in body
        )
    assert missing.exit_code != 0 and "no company 999999" in missing.output
