"""QR rendering (segno) and photo decoding (zxing-cpp), without the database."""

from __future__ import annotations

import io

import numpy as np
import pytest
import zxingcpp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from scanner import gs1, qr
from scanner.errors import ImageUnreadable
from tests.scanner.test_gs1 import gtins, lots


def png_of(barcode: zxingcpp.Barcode, *, scale: int = 4, kind: str = "PNG") -> bytes:
    image = barcode.to_image(scale=scale)
    pil = image if isinstance(image, Image.Image) else Image.fromarray(np.asarray(image))
    out = io.BytesIO()
    pil.convert("RGB").save(out, kind)
    return out.getvalue()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(gtin=gtins(), lot=st.none() | lots, serial=st.none() | lots)
def test_digital_link_survives_png_and_decoding(gtin: str, lot: str | None, serial: str | None) -> None:
    gtin14 = gs1.normalise_gtin(gtin)
    uri = gs1.digital_link("http://sesame.test", gtin14, lot=lot, serial=serial)
    decoded = qr.decode_image(qr.qr_png(uri, scale=3))
    assert decoded == [uri]
    link = gs1.parse_scanned(decoded[0])
    assert (link.gtin, link.lot, link.serial) == (gtin14, lot, serial)


def test_quiet_zone_is_four_modules() -> None:
    uri = "http://sesame.test/01/09520123456788"
    png = Image.open(io.BytesIO(qr.qr_png(uri, scale=1))).convert("L")
    size, _ = qr.qr_matrix(uri)
    assert png.size == (size + 8, size + 8)
    pixels = np.asarray(png)
    assert pixels[:4].min() == 255 and pixels[-4:].min() == 255
    assert pixels[:, :4].min() == 255 and pixels[:, -4:].min() == 255
    assert pixels[4:-4, 4:-4].min() == 0
    svg = qr.qr_svg(uri, scale=2).decode()
    assert svg.startswith("<svg") and f'width="{(size + 8) * 2}"' in svg


def test_ean13_photo_gives_its_digits() -> None:
    barcode = zxingcpp.create_barcode("4006381333931", zxingcpp.BarcodeFormat.EAN13)
    assert qr.decode_image(png_of(barcode, scale=3, kind="JPEG")) == ["4006381333931"]


def test_gs1_datamatrix_comes_back_bracketed() -> None:
    barcode = zxingcpp.create_barcode(
        "(01)09520123456788(10)ABC123(17)270531", zxingcpp.BarcodeFormat.DataMatrix, gs1=True
    )
    (text,) = qr.decode_image(png_of(barcode))
    assert text == "(01)09520123456788(10)ABC123(17)270531"
    link = gs1.parse_scanned(text)
    assert (link.gtin, link.lot, link.attributes) == ("09520123456788", "ABC123", (("17", "270531"),))


def test_a_rotated_smaller_photo_still_decodes() -> None:
    uri = "https://id.gs1.org/01/09520123456788/10/ABC1"
    image = Image.open(io.BytesIO(qr.qr_png(uri, scale=6))).convert("RGB").rotate(90, expand=True)
    canvas = Image.new("RGB", (image.width * 3, image.height * 3), "white")
    canvas.paste(image, (image.width, image.height // 2))
    out = io.BytesIO()
    canvas.save(out, "JPEG", quality=80)
    assert qr.decode_image(out.getvalue()) == [uri]


@pytest.mark.parametrize(
    "content",
    [b"", b"not an image at all", b"%PDF-1.7\n...", b"\x89PNG\r\n\x1a\n" + b"\x00" * 40],
)
def test_non_images_are_refused(content: bytes) -> None:
    with pytest.raises(ImageUnreadable):
        qr.decode_image(content)


def test_a_photo_without_a_code_decodes_to_nothing() -> None:
    out = io.BytesIO()
    Image.new("RGB", (320, 240), (200, 180, 160)).save(out, "PNG")
    assert qr.decode_image(out.getvalue()) == []


def test_decompression_bombs_are_refused() -> None:
    out = io.BytesIO()
    Image.new("1", (8000, 8000)).save(out, "PNG")  # 64 Mpx, a few KB compressed
    with pytest.raises(ImageUnreadable, match="pixels"):
        qr.decode_image(out.getvalue())
