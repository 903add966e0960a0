"""Personal signatures: generated in 楷体 from a name, or cleaned up from a handwritten PNG.

Both produce the same kind of image: near-black ink (#111111) whose alpha carries the
stroke, on a transparent background, cropped to the ink with a margin.
"""

from __future__ import annotations

import io
import unicodedata

from PIL import Image, ImageDraw

from ._canvas import encode_png
from .errors import (
    ImageTooLarge,
    ImageTooSmall,
    NameRequired,
    NameTooLong,
    NotPng,
    SignatureEmpty,
)
from .fonts import pil_font, require_coverage, signature_font
from .seal_types import MAX_NAME_LENGTH

INK = (17, 17, 17)
# Character size of generated signatures: about 300 px tall with the margin.
SIGNATURE_EM_PX = 280

MAX_PNG_BYTES = 2 * 1024 * 1024
MAX_SIDE_PX = 4096
MIN_WIDTH_PX, MIN_HEIGHT_PX = 50, 20

_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
# Darkness (255 - luminance, after flattening onto white) below FAINT is paper, above
# SOLID is full ink; in between alpha ramps, keeping anti-aliased stroke edges smooth.
_FAINT, _SOLID = 48, 160
# Fewer clearly inked pixels than this is a blank pad, not a signature.
_INK_PIXELS_MIN = 20


def generate_signature(name: str) -> bytes:
    """The person's name written in 楷体 (AR PL UKai), as a PNG. Deterministic."""
    clean = unicodedata.normalize("NFC", name).strip()
    if not clean:
        raise NameRequired()
    if len(clean) > MAX_NAME_LENGTH:
        raise NameTooLong(len(clean), MAX_NAME_LENGTH)
    face = signature_font()
    require_coverage(face, clean)
    font = pil_font(face, SIGNATURE_EM_PX)
    width = round(font.getlength(clean)) + SIGNATURE_EM_PX
    mask = Image.new("L", (width, 2 * SIGNATURE_EM_PX), 0)
    baseline = SIGNATURE_EM_PX / 2 + face.ascent * SIGNATURE_EM_PX
    ImageDraw.Draw(mask).text(
        (SIGNATURE_EM_PX / 2, baseline), clean, fill=255, font=font, anchor="ls"
    )
    return _ink_png(mask)


def normalize_handwritten(png_bytes: bytes) -> bytes:
    """A handwritten signature PNG turned into clean ink on a transparent background.

    Refuses anything that is not a well-formed PNG (``not_png``), more than 2 MB or
    4096 px a side (``image_too_large``), under 50 x 20 px (``image_too_small``), or
    without ink (``signature_empty``).
    """
    image = _open_png(png_bytes)
    return _ink_png(_ink_mask(image))


def _open_png(data: bytes) -> Image.Image:
    if len(data) > MAX_PNG_BYTES:
        raise ImageTooLarge(
            f"the image is {len(data)} bytes, at most {MAX_PNG_BYTES} allowed"
        )
    # Size from the header before Pillow sees the data: a decompression bomb is refused
    # without allocating anything.
    _check_size(_header_size(data))
    try:
        Image.open(io.BytesIO(data), formats=["PNG"]).verify()  # structure and CRCs
        image = Image.open(io.BytesIO(data), formats=["PNG"])
        image.load()
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise NotPng(f"the PNG cannot be decoded: {exc}") from None
    return image


def _header_size(data: bytes) -> tuple[int, int]:
    """Width and height from the IHDR chunk, which must come first in a PNG."""
    if len(data) < 33 or not data.startswith(_PNG_MAGIC) or data[12:16] != b"IHDR":
        raise NotPng()
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def _check_size(size: tuple[int, int]) -> None:
    width, height = size
    if width > MAX_SIDE_PX or height > MAX_SIDE_PX:
        raise ImageTooLarge(
            f"the image is {width}x{height}, at most {MAX_SIDE_PX} px a side"
        )
    if width < MIN_WIDTH_PX or height < MIN_HEIGHT_PX:
        raise ImageTooSmall(
            f"the image is {width}x{height}, at least {MIN_WIDTH_PX}x{MIN_HEIGHT_PX} px"
        )


def _ink_mask(image: Image.Image) -> Image.Image:
    """Stroke coverage (0-255) from darkness; transparent areas of the input are paper."""
    rgba = _as_rgba(image)
    paper = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    darkness = Image.alpha_composite(paper, rgba).convert("L").point(lambda v: 255 - v)
    scale = 255 / (_SOLID - _FAINT)
    return darkness.point(
        lambda d: 0 if d <= _FAINT else min(255, round((d - _FAINT) * scale))
    )


def _as_rgba(image: Image.Image) -> Image.Image:
    if image.mode in ("I", "I;16", "I;16B", "I;16L", "F"):
        # 16-bit greyscale: keep the top 8 bits.
        image = image.convert("I").point(lambda v: v / 256).convert("L")
    return image.convert("RGBA")


def _ink_png(mask: Image.Image) -> bytes:
    """Ink coverage cropped to its strokes plus a margin, as an #111111 RGBA PNG."""
    solid = mask.point(lambda v: 255 if v >= 128 else 0)
    if solid.histogram()[255] < _INK_PIXELS_MIN:
        raise SignatureEmpty()
    visible = mask.point(lambda v: 255 if v >= 32 else 0)
    left, top, right, bottom = visible.getbbox() or (0, 0, mask.width, mask.height)
    pad = max(8, round(0.12 * (bottom - top)))
    cropped = mask.crop((left - pad, top - pad, right + pad, bottom + pad))
    image = Image.new("RGBA", cropped.size, (*INK, 0))
    image.putalpha(cropped)
    return encode_png(image)
