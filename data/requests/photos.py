"""Residents' and workers' photos: checked, re-encoded as JPEG, every metadata block dropped.

Pillow decodes the upload (JPEG or PNG only, by content, not by name), applies the EXIF
orientation to the pixels, and writes a fresh JPEG with no EXIF, GPS, XMP or ICC data, so a
phone's location never leaves with the picture. Large pictures are scaled down.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

MAX_PHOTO_BYTES = 5 * 1024 * 1024
MAX_PHOTOS = 3
MAX_SIDE = 2048
MAX_PIXELS = 50_000_000
"""Decoding more pixels than this is refused (a decompression bomb)."""


class PhotoRejected(ValueError):
    """An upload that is not a usable JPEG or PNG photo; the message names it."""


@dataclass(frozen=True)
class Photo:
    data: bytes  # JPEG, no metadata
    width: int
    height: int


def clean_photo(raw: bytes, name: str, *, max_bytes: int = MAX_PHOTO_BYTES) -> Photo:
    """Re-encode the upload ``raw`` (file name ``name``, for messages) as a metadata-free JPEG.

    Raises
    ------
    PhotoRejected
        Too large, empty, not a JPEG or PNG, or undecodable.
    """
    if not raw:
        raise PhotoRejected(f"照片“{name}”是空文件")
    if len(raw) > max_bytes:
        raise PhotoRejected(f"照片“{name}”超过 {max_bytes / 2**20:.0f} MB")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image: Image.Image = Image.open(io.BytesIO(raw))
            if image.format not in ("JPEG", "PNG"):
                raise PhotoRejected(f"照片“{name}”不是 JPEG 或 PNG 图片")
            if image.width * image.height > MAX_PIXELS:
                raise PhotoRejected(f"照片“{name}”像素过多")
            # A cut-off file: verify() reads it to the end (load() alone would fill the rest
            # in grey once anything in the process, WeasyPrint for one, sets Pillow's
            # LOAD_TRUNCATED_IMAGES).
            image.verify()
            image = Image.open(io.BytesIO(raw))
            image.load()
            image = ImageOps.exif_transpose(image)
    except PhotoRejected:
        raise
    except UnidentifiedImageError as exc:
        raise PhotoRejected(f"照片“{name}”不是 JPEG 或 PNG 图片") from exc
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise PhotoRejected(f"照片“{name}”无法识别为图片") from exc
    except Image.DecompressionBombWarning as exc:
        raise PhotoRejected(f"照片“{name}”像素过多") from exc
    image = image.convert("RGB")
    image.thumbnail((MAX_SIDE, MAX_SIDE))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85, optimize=True)
    return Photo(out.getvalue(), image.width, image.height)
