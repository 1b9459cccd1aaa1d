"""Printable sheets of product labels: each label a GS1 Digital Link QR code, the GTIN in human-readable form
(``(01) 09520123456788``) under it, and the product's name.

A4 portrait, 3 × 7 labels of 70 × 42.3 mm (the common 21-per-sheet layout). Two outputs, neither needing a
library beyond segno: SVG (one document, pages stacked) and PDF (vector, one page per 21 labels, the PDF
standard Helvetica font, no embedding), written by hand because the format's subset needed here is small.

Example::

    sheet = label_sheet_pdf([Label(gtin="09520123456788", name="Huile", uri="https://s.example/01/0952…")])
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

from scanner.qr import QUIET_ZONE, qr_matrix

__all__ = ["Label", "hri", "label_sheet_pdf", "label_sheet_svg"]

PAGE_W, PAGE_H = 210.0, 297.0  # mm
COLUMNS, ROWS = 3, 7
LABEL_W, LABEL_H = 70.0, PAGE_H / ROWS
QR_MM = 26.0  # the symbol with its quiet zone
MM = 72 / 25.4  # PDF points per millimetre
# Helvetica advance widths (1/1000 em) for the characters of a GTIN's HRI; others are estimated.
_HELVETICA = {**dict.fromkeys("0123456789", 556), "(": 333, ")": 333, " ": 278}


@dataclass(frozen=True, slots=True)
class Label:
    gtin: str
    name: str
    uri: str


def hri(gtin14: str) -> str:
    """The human-readable interpretation printed under a GTIN's symbol."""
    return f"(01) {gtin14}"


def _runs(matrix: list[list[int]]) -> list[tuple[int, int, int]]:
    """Dark modules as horizontal runs ``(row, start, length)``: far fewer rectangles to draw."""
    runs: list[tuple[int, int, int]] = []
    for y, row in enumerate(matrix):
        x = 0
        while x < len(row):
            if row[x]:
                start = x
                while x < len(row) and row[x]:
                    x += 1
                runs.append((y, start, x - start))
            else:
                x += 1
    return runs


def _positions(count: int) -> list[tuple[int, float, float]]:
    """``(page, x, y)`` in mm from the top-left corner of each label."""
    per_page = COLUMNS * ROWS
    return [
        (i // per_page, (i % per_page % COLUMNS) * LABEL_W, (i % per_page // COLUMNS) * LABEL_H)
        for i in range(count)
    ]


def _short(name: str, limit: int = 38) -> str:
    return name if len(name) <= limit else name[: limit - 1] + "…"


def label_sheet_svg(labels: list[Label]) -> bytes:
    """One SVG in millimetres; pages of 21 labels are stacked one under the other."""
    pages = max(1, -(-len(labels) // (COLUMNS * ROWS)))
    height = PAGE_H * pages
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{PAGE_W}mm" height="{height}mm" '
        f'viewBox="0 0 {PAGE_W} {height}" font-family="Helvetica, Arial, sans-serif">',
        f'<rect width="{PAGE_W}" height="{height}" fill="#fff"/>',
    ]
    for label, (page, x, y) in zip(labels, _positions(len(labels)), strict=True):
        top = page * PAGE_H + y
        size, matrix = qr_matrix(label.uri)
        module = QR_MM / (size + 2 * QUIET_ZONE)
        qx, qy = x + (LABEL_W - QR_MM) / 2, top + 2.5
        path = "".join(f"M{sx} {sy}h{length}v1h-{length}z" for sy, sx, length in _runs(matrix))
        out.append(
            f"<g><title>{escape(label.uri)}</title>"
            f'<path transform="translate({qx + QUIET_ZONE * module:.3f} {qy + QUIET_ZONE * module:.3f}) '
            f'scale({module:.4f})" d="{path}" fill="#000"/>'
            f'<text x="{x + LABEL_W / 2:.2f}" y="{qy + QR_MM + 4.2:.2f}" font-size="3.6" text-anchor="middle" '
            f'letter-spacing="0.15">{escape(hri(label.gtin))}</text>'
            f'<text x="{x + LABEL_W / 2:.2f}" y="{qy + QR_MM + 8.2:.2f}" font-size="2.8" text-anchor="middle">'
            f"{escape(_short(label.name))}</text></g>"
        )
    out.append("</svg>")
    return "\n".join(out).encode()


def _pdf_text(text: str) -> str:
    raw = text.encode("cp1252", errors="replace").decode("latin-1")
    return raw.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def _width(text: str, size: float) -> float:
    return sum(_HELVETICA.get(c, 556) for c in text) / 1000 * size


def _page_stream(labels: list[tuple[Label, float, float]]) -> bytes:
    ops: list[str] = ["0 g"]
    for label, x, y in labels:
        size, matrix = qr_matrix(label.uri)
        module = QR_MM / (size + 2 * QUIET_ZONE) * MM
        left = (x + (LABEL_W - QR_MM) / 2) * MM + QUIET_ZONE * module
        top = (PAGE_H - y - 2.5) * MM - QUIET_ZONE * module  # PDF's origin is bottom-left
        for row, start, length in _runs(matrix):
            ops.append(
                f"{left + start * module:.3f} {top - (row + 1) * module:.3f} {length * module:.3f} {module:.3f} re"
            )
        ops.append("f")
        baseline = (PAGE_H - y - 2.5 - QR_MM - 4.2) * MM
        centre = (x + LABEL_W / 2) * MM
        number = hri(label.gtin)
        ops.append(
            f"BT /F1 10 Tf {centre - _width(number, 10) / 2:.2f} {baseline:.2f} Td ({_pdf_text(number)}) Tj ET"
        )
        name = _short(label.name)
        ops.append(
            f"BT /F1 8 Tf {centre - _width(name, 8) / 2:.2f} {baseline - 11:.2f} Td ({_pdf_text(name)}) Tj ET"
        )
    return "\n".join(ops).encode("latin-1")


def label_sheet_pdf(labels: list[Label]) -> bytes:
    """A vector PDF, one A4 page per 21 labels."""
    by_page: dict[int, list[tuple[Label, float, float]]] = {}
    for label, (page, x, y) in zip(labels, _positions(len(labels)), strict=True):
        by_page.setdefault(page, []).append((label, x, y))
    pages = [by_page.get(i, []) for i in range(max(1, len(by_page)))]
    objects: list[bytes] = [
        b"",
        b"",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    ]
    kids: list[int] = []
    for page_labels in pages:
        stream = _page_stream(page_labels)
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
        content = len(objects)
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %.2f %.2f] /Contents %d 0 R "
            b"/Resources << /Font << /F1 3 0 R >> >> >>" % (PAGE_W * MM, PAGE_H * MM, content)
        )
        kids.append(len(objects))
    objects[0] = b"<< /Type /Catalog /Pages 2 0 R >>"
    objects[1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (
        b" ".join(b"%d 0 R" % k for k in kids),
        len(kids),
    )
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets: list[int] = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)
