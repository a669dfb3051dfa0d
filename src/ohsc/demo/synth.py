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


# --- fine detail: what tests fast-mode PDQ hardest (benign: noise, stripes, grids, text) --------

TEXTURES = ("noise", "stripes", "checker", "text")
_WORDS = "the quick brown fox jumps over a lazy dog while river stones gather moss by the old mill"


def texture(kind: str, seed: int, size: tuple[int, int] = (1024, 768)) -> Image.Image:
    """A picture made of fine detail near the scale PDQ's blur keeps: ``noise`` (uniform, or
    slightly blurred), ``stripes`` (2-16 pixels a period, any angle), ``checker`` (1-8 pixel
    cells) or ``text`` (lines of words), over a faint colour gradient."""
    rng = np.random.default_rng(seed)
    w, h = size
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    low = np.sin(x / w * 3 + rng.uniform(0, 6)) * np.cos(y / h * 2 + rng.uniform(0, 6))
    if kind == "noise":
        grey = rng.normal(128, 60, (h, w)) + 20 * low
        im = Image.fromarray(np.clip(grey, 0, 255).astype(np.uint8)).convert("RGB")
        return im.filter(ImageFilter.GaussianBlur(float(rng.choice([0.0, 1.0]))))
    if kind == "stripes":
        period, angle = float(rng.choice([2, 3, 4, 6, 8, 16])), np.deg2rad(rng.uniform(0, 90))
        wave = np.sin(2 * np.pi * (x * np.cos(angle) + y * np.sin(angle)) / period)
        grey = 128 + 80 * wave * (0.6 + 0.4 * low) + 30 * low
    elif kind == "checker":
        cell = int(rng.choice([1, 2, 4, 8]))
        grey = ((x // cell + y // cell) % 2) * 200 + 28 - 30 * (low + 1)
    elif kind == "text":
        im = Image.new("RGB", (w, h), (250, 250, 245))
        draw = ImageDraw.Draw(im)
        size_px = int(rng.choice([8, 12, 20]))
        from PIL import ImageFont

        font = ImageFont.load_default(size=size_px)
        words = _WORDS.split()
        for row in range(2, h, int(size_px * 1.3)):
            draw.text((2, row), " ".join(rng.choice(words, 40)), fill=(10, 10, 10), font=font)
        return im
    else:
        raise ValueError(f"unknown texture {kind!r}: one of {', '.join(TEXTURES)}")
    rgb = np.stack([grey, grey * 0.9, grey * 0.8], axis=-1)
    return Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8), "RGB")


# --- the edits that hide a copy from plain PDQ (robust matching finds them) ---------------------


def bordered(im: Image.Image, share: float = 0.05, colour: tuple[int, int, int] = (0, 0, 0)) -> Image.Image:
    """A uniform frame ``share`` of each side wide around the picture."""
    pad = (round(im.width * share), round(im.height * share))
    out = Image.new("RGB", (im.width + 2 * pad[0], im.height + 2 * pad[1]), colour)
    out.paste(im.convert("RGB"), pad)
    return out


def boxed(im: Image.Image, aspect: float) -> Image.Image:
    """The picture letterboxed (black bars above and below) or pillarboxed (left and right) to a
    ``width / height`` of ``aspect``."""
    w, h = im.size
    size = (round(h * aspect), h) if w / h < aspect else (w, round(w / aspect))  # pillar- or letterbox
    out = Image.new("RGB", size, (0, 0, 0))
    out.paste(im.convert("RGB"), ((size[0] - w) // 2, (size[1] - h) // 2))
    return out


def cropped(
    im: Image.Image, left: float = 0.0, top: float = 0.0, right: float = 0.0, bottom: float = 0.0
) -> Image.Image:
    """The picture less these shares of its width (left, right) and height (top, bottom)."""
    w, h = im.size
    return im.crop((round(w * left), round(h * top), w - round(w * right), h - round(h * bottom)))


def captioned(im: Image.Image, text: str = "placeholder caption words", share: float = 0.25) -> Image.Image:
    """A meme-style caption bar ``share`` of the height added above the picture."""
    from PIL import ImageFont

    bar = round(im.height * share)
    out = Image.new("RGB", (im.width, im.height + bar), (255, 255, 255))
    out.paste(im.convert("RGB"), (0, bar))
    font = ImageFont.load_default(size=max(10, bar // 3))
    ImageDraw.Draw(out).text((im.width // 20, bar // 3), text, fill=(0, 0, 0), font=font)
    return out


def overlaid(im: Image.Image, text: str = "PLACEHOLDER WORDS") -> Image.Image:
    """Caption text written over the lower part of the picture (white, outlined in black)."""
    from PIL import ImageFont

    out = im.convert("RGB")
    size = max(10, im.height // 9)
    font = ImageFont.load_default(size=size)
    ImageDraw.Draw(out).text(
        (im.width // 10, im.height - 2 * size),
        text,
        fill=(255, 255, 255),
        font=font,
        stroke_width=2,
        stroke_fill=(0, 0, 0),
    )
    return out


def turned(im: Image.Image, degrees: float) -> Image.Image:
    """Turned by ``degrees`` about the centre, same size, the uncovered corners black."""
    return im.convert("RGB").rotate(degrees, resample=Image.Resampling.BILINEAR, fillcolor=(0, 0, 0))
