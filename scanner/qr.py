"""QR codes out (segno) and barcodes in (zxing-cpp): the two ends of the shopper's camera.

Rendering keeps the 4-module quiet zone ISO/IEC 18004 asks for, so a printed label scans from a shelf. Decoding
accepts the symbologies found on retail packs: QR (GS1 Digital Link), GS1 DataMatrix, EAN-13/8, UPC-A/E, GS1-128
and GS1 DataBar. A GS1 symbol's data comes back bracketed (``(01)…(10)…``), anything else as its text.

Example::

    png = qr_png("https://sesame.example/01/09520123456788")
    decode_image(png)   # ['https://sesame.example/01/09520123456788']
"""

from __future__ import annotations

import io
import warnings

import segno
import zxingcpp
from PIL import Image, UnidentifiedImageError

from scanner.errors import ImageUnreadable

__all__ = ["MAX_IMAGE_PIXELS", "QUIET_ZONE", "decode_image", "qr_png", "qr_svg"]

#: Modules of light margin around every QR code (ISO/IEC 18004 minimum).
QUIET_ZONE = 4
#: Larger photos are refused (a decompression bomb would otherwise take the worker's memory).
MAX_IMAGE_PIXELS = 40_000_000
#: Photos are scaled down to this longest side before decoding: faster, and phone photos decode as well.
_DECODE_SIDE = 2000

_FORMATS = zxingcpp.barcode_formats_from_str(
    "QRCode,MicroQRCode,DataMatrix,EAN13,EAN8,UPCA,UPCE,Code128,DataBar,DataBarExpanded"
)


def _qr(data: str) -> segno.QRCode:
    # Level M: GS1's recommendation for Digital Link on packs (15% of the symbol may be damaged).
    return segno.make_qr(data, error="m")


def qr_svg(data: str, *, scale: int = 4, title: str | None = None) -> bytes:
    """An SVG QR code of ``data`` with a 4-module quiet zone (scalable; ``scale`` sets the nominal size)."""
    out = io.BytesIO()
    _qr(data).save(out, kind="svg", scale=scale, border=QUIET_ZONE, xmldecl=False, svgns=True, title=title)
    return out.getvalue()


def qr_png(data: str, *, scale: int = 8) -> bytes:
    """A PNG QR code of ``data`` with a 4-module quiet zone, ``scale`` pixels per module."""
    out = io.BytesIO()
    _qr(data).save(out, kind="png", scale=scale, border=QUIET_ZONE)
    return out.getvalue()


def qr_matrix(data: str) -> tuple[int, list[list[int]]]:
    """The module matrix (without quiet zone) for drawing a QR code into another document (label sheets)."""
    code = _qr(data)
    rows = [list(row) for row in code.matrix]
    return len(rows), rows


def _open(content: bytes) -> Image.Image:
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(content))
            width, height = image.size
            if width * height > MAX_IMAGE_PIXELS:
                raise ImageUnreadable(
                    f"the image has {width}x{height} pixels; the limit is {MAX_IMAGE_PIXELS}"
                )
            image.load()
        except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise ImageUnreadable(
                "the upload is not an image Sésame can read (PNG, JPEG, WebP, GIF)"
            ) from exc
        except (OSError, SyntaxError, ValueError) as exc:
            raise ImageUnreadable("the image is damaged or truncated") from exc
    return image


def decode_image(content: bytes) -> list[str]:
    """Every code found in a photo, GS1 symbols first, as text ``scanner.gs1.parse_scanned`` reads.

    Raises ``ImageUnreadable`` when ``content`` is not a readable image; returns ``[]`` when it holds no code.
    CPU-bound: call it in a worker thread.
    """
    image = _open(content)
    try:
        if image.mode not in ("L", "RGB"):
            image = image.convert("RGBA").convert("RGB") if "A" in image.getbands() else image.convert("L")
        longest = max(image.size)
        if longest > _DECODE_SIDE:
            ratio = _DECODE_SIDE / longest
            image = image.resize((max(1, int(image.width * ratio)), max(1, int(image.height * ratio))))
        found = zxingcpp.read_barcodes(image, formats=_FORMATS, text_mode=zxingcpp.TextMode.HRI)
    except (ValueError, OSError, RuntimeError) as exc:
        raise ImageUnreadable("the image's pixel format cannot be read") from exc
    gs1_first = sorted(found, key=lambda b: b.content_type != zxingcpp.ContentType.GS1)
    texts: list[str] = []
    for barcode in gs1_first:
        if barcode.content_type == zxingcpp.ContentType.GS1:
            texts.append(barcode.text)  # HRI: "(01)09520123456788(10)ABC"
        else:
            texts.append(barcode.bytes.decode("utf-8", errors="replace"))
    return texts
