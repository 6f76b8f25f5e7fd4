"""PDQ fingerprints of images: decoded defensively with Pillow (type sniffed, size and pixel count bounded,
EXIF orientation applied), hashed by Meta's PDQ (``pdqhash``) with its quality score and the eight dihedral
variants, so a rotated or mirrored copy still matches. Pure: bytes in, hashes out; nothing is stored.

A hash is 256 bits, kept as 32 bytes (bit 0 of PDQ's vector is the most significant bit of byte 0) and
written as 64 lowercase hex digits.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

import numpy as np
import pdqhash
from PIL import Image, ImageOps, UnidentifiedImageError

from airrc.errors import MediaError

__all__ = [
    "FORMATS",
    "HASH_BYTES",
    "MAX_PIXELS",
    "MIN_QUALITY",
    "ImageHash",
    "distance",
    "hash_from_hex",
    "hash_image",
    "hash_to_hex",
]

HASH_BYTES = 32
# PDQ's own advice: a hash of quality under 50 says too little about the image to be matched on.
MIN_QUALITY = 50
# Decompression bombs: refused before decoding. Pillow's own guard is set to the same bound.
MAX_PIXELS = 50_000_000
FORMATS = frozenset({"JPEG", "PNG", "GIF", "WEBP", "BMP", "TIFF"})
# PDQ reads at most 512x512 anyway; larger images are reduced first, which keeps hashing fast.
HASH_SIDE = 512
_POPCOUNT = np.array([bin(i).count("1") for i in range(256)], dtype=np.uint8)


@dataclass(frozen=True)
class ImageHash:
    """The PDQ hash of an image, its quality (0-100) and the hashes of its eight dihedral transforms."""

    hash: bytes
    quality: int
    dihedral: tuple[bytes, ...]
    width: int
    height: int
    format: str

    @property
    def hex(self) -> str:
        return hash_to_hex(self.hash)


def hash_to_hex(value: bytes) -> str:
    return value.hex()


def hash_from_hex(text: str) -> bytes:
    """A hash from its 64 hex digits; anything else is ``media.bad_hash``."""
    if not isinstance(text, str) or len(text) != 2 * HASH_BYTES:
        raise MediaError("a PDQ hash is 64 hex digits", code="media.bad_hash")
    try:
        return bytes.fromhex(text)
    except ValueError as exc:
        raise MediaError("a PDQ hash is 64 hex digits", code="media.bad_hash") from exc


def distance(a: bytes, b: bytes) -> int:
    """Hamming distance between two hashes."""
    return int(_POPCOUNT[np.bitwise_xor(np.frombuffer(a, np.uint8), np.frombuffer(b, np.uint8))].sum())


def _pack(bits: np.ndarray) -> bytes:
    return np.packbits(np.asarray(bits, dtype=np.uint8)).tobytes()


def _open(data: bytes, max_pixels: int) -> tuple[Image.Image, str]:
    """Open without decoding: the type and the claimed size are checked before any pixel is read."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            opened = Image.open(io.BytesIO(data))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise MediaError(
            "the image decompresses beyond the pixel bound", code="media.too_many_pixels"
        ) from exc
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError) as exc:
        raise MediaError(
            "the file is not an image of a supported type", code="media.unsupported_type"
        ) from exc
    fmt = str(opened.format or "")
    if fmt not in FORMATS:
        raise MediaError(f"unsupported image type {fmt or 'unknown'}", code="media.unsupported_type")
    width, height = opened.size
    if width * height > max_pixels:
        raise MediaError(
            f"the image claims {width}x{height} pixels, over {max_pixels}", code="media.too_many_pixels"
        )
    return opened, fmt


def _decode(data: bytes, *, max_bytes: int, max_pixels: int) -> tuple[Image.Image, str]:
    if not data:
        raise MediaError("the file is empty", code="media.empty")
    if len(data) > max_bytes:
        raise MediaError(f"the file is over {max_bytes} bytes", code="media.too_large")
    opened, fmt = _open(data, max_pixels)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            opened.load()
            upright: Image.Image = ImageOps.exif_transpose(opened)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise MediaError(
            "the image decompresses beyond the pixel bound", code="media.too_many_pixels"
        ) from exc
    except (OSError, ValueError, SyntaxError, EOFError) as exc:
        raise MediaError("the image is truncated or corrupt", code="media.truncated") from exc
    return upright, fmt


def hash_image(
    data: bytes,
    *,
    max_bytes: int = 32 * 1024 * 1024,
    max_pixels: int = MAX_PIXELS,
    min_quality: int = MIN_QUALITY,
) -> ImageHash:
    """PDQ-hash an image file's bytes; refuse what cannot be decoded safely or hashes below ``min_quality``."""
    image, fmt = _decode(data, max_bytes=max_bytes, max_pixels=max_pixels)
    width, height = image.size
    rgb = image.convert("RGB")
    if max(width, height) > HASH_SIDE:
        rgb.thumbnail((HASH_SIDE, HASH_SIDE), Image.Resampling.BILINEAR)
    pixels = np.ascontiguousarray(np.asarray(rgb, dtype=np.uint8))
    vectors, quality = pdqhash.compute_dihedral(pixels)
    if int(quality) < min_quality:
        raise MediaError(
            f"the image's PDQ quality is {int(quality)}, under {min_quality}: too flat to match on",
            code="media.low_quality",
            quality=int(quality),
        )
    dihedral = tuple(_pack(v) for v in vectors)
    return ImageHash(dihedral[0], int(quality), dihedral, width, height, fmt)
