"""Benign synthetic pictures (shapes over smooth colour fields) for demos and tests.

Deterministic for a seed; detailed enough for PDQ quality 100.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageOps


def picture(seed: int, size: tuple[int, int] = (640, 480)) -> Image.Image:
    rng = np.random.default_rng(seed)
    w, h = size
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    channels = []
    for _ in range(3):
        field = np.zeros((h, w), np.float32)
        for _ in range(4):
            fx, fy = rng.uniform(0.5, 4.0, 2) * 2 * np.pi / np.array([w, h])
            phase = rng.uniform(0, 2 * np.pi)
            field += np.sin(fx * x + fy * y + phase) * rng.uniform(20, 50)
        channels.append(np.clip(128 + field, 0, 255))
    im = Image.fromarray(np.stack(channels, axis=-1).astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(im)
    for _ in range(int(rng.integers(6, 14))):
        x0, y0 = int(rng.integers(0, w)), int(rng.integers(0, h))
        x1 = x0 + int(rng.integers(1, max(2, w // 2)))
        y1 = y0 + int(rng.integers(1, max(2, h // 2)))
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        shape = int(rng.integers(0, 3))
        if shape == 0:
            draw.ellipse((x0, y0, x1, y1), fill=colour)
        elif shape == 1:
            draw.rectangle((x0, y0, x1, y1), fill=colour)
        else:
            draw.line((x0, y0, x1, y1), fill=colour, width=int(rng.integers(3, 15)))
    return im


def jpeg_bytes(im: Image.Image, quality: int = 90) -> bytes:
    buf = io.BytesIO()
    im.convert("RGB").save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def png_bytes(im: Image.Image) -> bytes:
    buf = io.BytesIO()
    im.save(buf, "PNG")
    return buf.getvalue()


# --- the edits a re-uploaded copy typically went through -----------------------------------------


def resized(im: Image.Image, factor: float = 0.5) -> Image.Image:
    return im.resize(
        (max(1, int(im.width * factor)), max(1, int(im.height * factor))), Image.Resampling.LANCZOS
    )


def greyscale(im: Image.Image) -> Image.Image:
    return ImageOps.grayscale(im).convert("RGB")


def blurred(im: Image.Image, radius: float = 1.5) -> Image.Image:
    return im.filter(ImageFilter.GaussianBlur(radius))


def rotated90(im: Image.Image) -> Image.Image:
    return im.transpose(Image.Transpose.ROTATE_90)


def mirrored(im: Image.Image) -> Image.Image:
    return im.transpose(Image.Transpose.FLIP_LEFT_RIGHT)


def brighter(im: Image.Image, amount: int = 25) -> Image.Image:
    arr = np.asarray(im.convert("RGB")).astype(np.int16) + amount
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), "RGB")
