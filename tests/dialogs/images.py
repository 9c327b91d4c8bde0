"""Real image bytes for the dialog tests, made with Pillow."""

from __future__ import annotations

import io

from PIL import Image

GPS_IFD = 0x8825


def jpeg_with_gps() -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    exif.get_ifd(GPS_IFD).update({1: "N", 3: "E"})
    out = io.BytesIO()
    Image.new("RGB", (120, 80), (10, 120, 200)).save(out, format="JPEG", exif=exif)
    return out.getvalue()


def png(size: tuple[int, int], mode: str = "RGB") -> bytes:
    out = io.BytesIO()
    Image.new(mode, size).save(out, format="PNG")
    return out.getvalue()
