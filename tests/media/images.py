"""Generated test images: smooth random scenes (sums of random waves and shapes), so PDQ has texture to
read; no image is downloaded or shipped."""

import io

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance


def scene(seed: int, size: tuple[int, int] = (320, 240)) -> Image.Image:
    rng = np.random.default_rng(seed)
    width, height = size
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    channels = []
    for _ in range(3):
        field = np.zeros((height, width), dtype=np.float32)
        for _ in range(6):
            fx, fy = rng.uniform(0.3, 3.0, 2) / np.array([width, height])
            field += np.sin(2 * np.pi * (fx * x + fy * y) + rng.uniform(0, 2 * np.pi)) * rng.uniform(0.3, 1.0)
        channels.append(field)
    pixels = np.stack(channels, axis=-1)
    pixels = (pixels - pixels.min()) / (np.ptp(pixels) or 1.0) * 255
    image = Image.fromarray(pixels.astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(image)
    for _ in range(8):
        x0, y0 = int(rng.integers(0, width - 40)), int(rng.integers(0, height - 40))
        x1, y1 = x0 + int(rng.integers(20, 120)), y0 + int(rng.integers(20, 120))
        colour = tuple(int(v) for v in rng.integers(0, 256, 3))
        (draw.ellipse if rng.random() < 0.5 else draw.rectangle)((x0, y0, x1, y1), fill=colour)
    return image


def encode(image: Image.Image, fmt: str = "PNG", **options) -> bytes:
    out = io.BytesIO()
    image.save(out, format=fmt, **options)
    return out.getvalue()


def variants(image: Image.Image) -> dict[str, bytes]:
    """What a copy suffers on its way around the internet."""
    width, height = image.size
    rng = np.random.default_rng(7)
    noisy = np.clip(np.asarray(image, dtype=np.int16) + rng.normal(0, 8, (height, width, 3)), 0, 255)
    return {
        "resized": encode(image.resize((width // 2, height // 2))),
        "jpeg_q30": encode(image, "JPEG", quality=30),
        "cropped": encode(
            image.crop((3, 2, width - 3, height - 2))
        ),  # a trimmed border (PDQ is crop-sensitive)
        "brighter": encode(ImageEnhance.Brightness(image).enhance(1.2)),
        "contrast": encode(ImageEnhance.Contrast(image).enhance(0.8)),
        "noise": encode(Image.fromarray(noisy.astype(np.uint8), "RGB")),
    }
