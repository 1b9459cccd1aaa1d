"""A tiny YUV4MPEG2 writer: turns a picture (a product's QR code) into a video Chromium's fake camera plays.

Chromium reads ``--use-file-for-fake-video-capture=<file>.y4m`` (4:2:0 planar frames) and loops it, so a still
picture repeated for a second is a camera pointed at the code.
"""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image

__all__ = ["still_video", "write_y4m"]


def write_y4m(path: Path, frames: list[Image.Image], *, fps: int = 10) -> Path:
    """Write ``frames`` (same size, even width and height) as a C420 YUV4MPEG2 file."""
    width, height = frames[0].size
    if width % 2 or height % 2:
        raise ValueError("4:2:0 chroma needs an even width and height")
    with path.open("wb") as out:
        out.write(f"YUV4MPEG2 W{width} H{height} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for frame in frames:
            y, cb, cr = frame.convert("YCbCr").split()
            half = (width // 2, height // 2)
            out.write(b"FRAME\n")
            out.write(y.tobytes())
            out.write(cb.resize(half, Image.Resampling.BOX).tobytes())
            out.write(cr.resize(half, Image.Resampling.BOX).tobytes())
    return path


def still_video(
    path: Path, picture: bytes, *, size: tuple[int, int] = (640, 480), side: int = 360, seconds: int = 1
) -> Path:
    """A white 640x480 scene with ``picture`` (PNG/JPEG bytes) centred at ``side`` pixels, for ``seconds``."""
    code = Image.open(io.BytesIO(picture)).convert("RGB")
    code = code.resize((side, side), Image.Resampling.NEAREST)
    scene = Image.new("RGB", size, "white")
    scene.paste(code, ((size[0] - side) // 2, (size[1] - side) // 2))
    fps = 10
    return write_y4m(path, [scene] * (fps * seconds), fps=fps)
