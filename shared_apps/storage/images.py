"""Thumbnails: a small WebP made from an image that passed the upload checks (run by a task, never on a page)."""

from __future__ import annotations

import io
import warnings
from typing import IO

from PIL import Image, ImageOps

THUMBNAIL_SIDE = 320
THUMBNAIL_CONTENT_TYPE = "image/webp"


def thumbnail_make(fh: IO[bytes], *, image_format: str, side: int = THUMBNAIL_SIDE) -> tuple[bytes, int, int]:
    """The thumbnail's bytes (WebP, at most `side` pixels on its longer side) and its size."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        with Image.open(fh, formats=[image_format]) as image:
            if image_format == "JPEG":
                image.draft("RGB", (side * 2, side * 2))
            image.seek(0)
            frame = ImageOps.exif_transpose(image) or image
            frame.thumbnail((side, side))
            converted = frame.convert("RGBA" if frame.mode in ("RGBA", "LA", "P", "PA") else "RGB")
            out = io.BytesIO()
            converted.save(out, "WEBP", quality=80, method=4)
            return out.getvalue(), converted.width, converted.height
