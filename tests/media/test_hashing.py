"""PDQ hashing of images: copies that went around the internet stay within radius 31, rotated and mirrored
copies match through the dihedral hashes, unrelated images stay far apart, and every bad file gets its code."""

import io
import itertools
import struct
import zlib

import pytest
from PIL import Image

from airrc.errors import MediaError
from airrc.media.hashing import distance, hash_from_hex, hash_image, hash_to_hex
from tests.media.images import encode, scene, variants

RADIUS = 31


def test_copies_that_travelled_stay_within_radius():
    for seed in range(3):
        original = scene(seed)
        reference = hash_image(encode(original))
        assert reference.quality >= 50
        for name, data in variants(original).items():
            assert distance(reference.hash, hash_image(data).hash) <= RADIUS, (seed, name)


def test_rotated_and_mirrored_copies_match_through_the_dihedral_hashes():
    original = scene(11)
    reference = hash_image(encode(original))
    for transpose in (
        Image.Transpose.ROTATE_90,
        Image.Transpose.ROTATE_180,
        Image.Transpose.ROTATE_270,
        Image.Transpose.FLIP_LEFT_RIGHT,
        Image.Transpose.FLIP_TOP_BOTTOM,
    ):
        turned = hash_image(encode(original.transpose(transpose), "JPEG", quality=60)).hash
        assert distance(reference.hash, turned) > RADIUS  # the plain hash does not see it ...
        assert min(distance(d, turned) for d in reference.dihedral) <= RADIUS  # ... the dihedral ones do


def test_unrelated_images_never_match():
    hashes = [hash_image(encode(scene(1000 + i, (160, 120)))).hash for i in range(150)]
    pairs = list(itertools.combinations(hashes, 2))
    assert len(pairs) >= 10_000
    assert min(distance(a, b) for a, b in pairs) > RADIUS


def test_exif_orientation_is_applied_before_hashing():
    original = scene(21)
    upright = hash_image(encode(original)).hash
    stored_sideways = original.transpose(Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 clockwise to display": undoes the counter-clockwise storage
    tagged = encode(stored_sideways, "JPEG", quality=90, exif=exif.tobytes())
    assert distance(upright, hash_image(tagged).hash) <= RADIUS


def _png_claiming(width: int, height: int) -> bytes:
    """A PNG whose header claims a size, with a single tiny compressed row of data."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + chunk(b"IEND", b"")
    )


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"", "media.empty"),
        (b"GIF89a not really", "media.unsupported_type"),
        (b"%PDF-1.7 a document", "media.unsupported_type"),
        (encode(scene(2))[:400], "media.truncated"),
        (_png_claiming(60_000, 60_000), "media.too_many_pixels"),
        (encode(Image.new("RGB", (200, 200), (90, 90, 90))), "media.low_quality"),
    ],
    ids=["empty", "fake-gif", "pdf", "truncated", "bomb", "flat"],
)
def test_bad_files_get_their_code(data, code):
    with pytest.raises(MediaError) as refused:
        hash_image(data)
    assert refused.value.code == code


def test_size_bounds_are_the_callers():
    data = encode(scene(3))
    with pytest.raises(MediaError) as too_large:
        hash_image(data, max_bytes=len(data) - 1)
    assert too_large.value.code == "media.too_large"
    with pytest.raises(MediaError) as too_many:
        hash_image(data, max_pixels=1000)
    assert too_many.value.code == "media.too_many_pixels"


def test_hex_round_trip_and_bad_hashes():
    value = hash_image(encode(scene(4))).hash
    assert hash_from_hex(hash_to_hex(value)) == value
    for bad in ("", "ab", "zz" * 32, "0" * 63, 5):
        with pytest.raises(MediaError) as refused:
            hash_from_hex(bad)  # type: ignore[arg-type]
        assert refused.value.code == "media.bad_hash"


def test_an_image_is_read_from_bytes_only():
    # A path-like string is not opened as a file.
    with pytest.raises(MediaError):
        hash_image(io.BytesIO(b"/etc/passwd").getvalue())
