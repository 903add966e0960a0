"""A supersampled ink mask laid out in millimetres, and deterministic PNG encoding.

Shapes and glyphs are drawn as coverage (mode "L") at SUPERSAMPLE times the output size,
then downscaled with LANCZOS, which gives smooth edges without Pillow's anti-aliasing
varying between shapes. The ink colour is applied once at the end, so every visible pixel
has exactly the ink colour and only its alpha varies.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass

from PIL import Image, ImageDraw

from .fonts import FontFace, pil_font

SUPERSAMPLE = 3
MIN_OUTPUT_PX = 620  # output is at least this many pixels across (>= 600 required)
BASE_PX_PER_MM = 16  # ~406 dpi

Point = tuple[float, float]


@dataclass(frozen=True)
class Glyph:
    char: str
    centre: Point  # mm from the canvas centre, y pointing down
    height_mm: float  # height of the font's em box
    width_mm: float  # em box squeezed (or stretched) to this width
    angle_deg: float = 0.0  # clockwise rotation
    # Outline added around strokes, as a fraction of the em: engraved seal text has
    # sturdier hairlines than the 宋体 font it is cut from.
    weight: float = 0.0


class InkCanvas:
    def __init__(self, width_mm: float, height_mm: float) -> None:
        self.px_per_mm = max(BASE_PX_PER_MM, math.ceil(MIN_OUTPUT_PX / width_mm))
        self.size = (
            round(width_mm * self.px_per_mm),
            round(height_mm * self.px_per_mm),
        )
        big = (self.size[0] * SUPERSAMPLE, self.size[1] * SUPERSAMPLE)
        self._scale = self.px_per_mm * SUPERSAMPLE
        self._mask = Image.new("L", big, 0)
        self._draw = ImageDraw.Draw(self._mask)

    def px(self, mm: float) -> float:
        return mm * self._scale

    def point(self, p: Point) -> Point:
        return (
            self._mask.width / 2 + self.px(p[0]),
            self._mask.height / 2 + self.px(p[1]),
        )

    def ellipse_ring(self, half_w: float, half_h: float, width: float) -> None:
        """A ring whose outer edge is the ellipse with half-axes ``half_w`` x ``half_h``."""
        self._draw.ellipse(self._box(half_w, half_h), fill=255)
        self._draw.ellipse(self._box(half_w - width, half_h - width), fill=0)

    def square_frame(self, half: float, width: float) -> None:
        self._draw.rectangle(self._box(half, half), fill=255)
        self._draw.rectangle(self._box(half - width, half - width), fill=0)

    def polygon(self, points: list[Point]) -> None:
        self._draw.polygon([self.point(p) for p in points], fill=255)

    def glyph(self, face: FontFace, glyph: Glyph) -> None:
        em = round(self.px(glyph.height_mm))
        image = _trim_around_centre(_text_image(face, glyph.char, em, glyph.weight))
        width = max(1, round(image.width * glyph.width_mm / glyph.height_mm))
        image = image.resize((width, image.height), Image.Resampling.LANCZOS)
        if glyph.angle_deg:
            # Bilinear is enough at supersampled size, and much faster than bicubic.
            image = image.rotate(
                -glyph.angle_deg, Image.Resampling.BILINEAR, expand=True
            )
        self._stamp(image, glyph.centre)

    def text_line(
        self,
        face: FontFace,
        text: str,
        centre: Point,
        height: float,
        width: float,
        weight: float = 0.0,
    ) -> None:
        """``text`` with its natural spacing, squeezed to ``width`` mm (e.g. a long code)."""
        if not text:
            return
        em = round(self.px(height))
        image = _text_image(face, text, em, weight)
        scale = self.px(width) / (image.width - 2 * _margin(em))
        image = _trim_around_centre(image)
        image = image.resize(
            (max(1, round(image.width * scale)), image.height), Image.Resampling.LANCZOS
        )
        self._stamp(image, centre)

    def _stamp(self, coverage: Image.Image, centre: Point) -> None:
        """Solid ink through ``coverage`` centred at ``centre``; overlaps merge."""
        cx, cy = self.point(centre)
        corner = (round(cx - coverage.width / 2), round(cy - coverage.height / 2))
        self._mask.paste(255, corner, coverage)

    def to_png(self, colour: tuple[int, int, int]) -> bytes:
        alpha = self._mask.resize(self.size, Image.Resampling.LANCZOS)
        # Transparent pixels keep the ink colour so that scaling by viewers leaves no dark fringe.
        image = Image.new("RGBA", self.size, (*colour, 0))
        image.putalpha(alpha)
        return encode_png(image, self.px_per_mm * 25.4)

    def _box(self, half_w: float, half_h: float) -> tuple[float, float, float, float]:
        x0, y0 = self.point((-half_w, -half_h))
        x1, y1 = self.point((half_w, half_h))
        return (x0, y0, x1 - 1, y1 - 1)


def encode_png(image: Image.Image, dpi: float | None = None) -> bytes:
    """PNG bytes with no text or time chunks, so equal images give equal bytes."""
    buffer = io.BytesIO()
    params: dict[str, object] = {"compress_level": 6}
    if dpi is not None:
        params["dpi"] = (dpi, dpi)
    image.save(buffer, format="PNG", **params)
    return buffer.getvalue()


def _text_image(face: FontFace, text: str, em_px: int, weight: float) -> Image.Image:
    """``text`` set on one line, its em boxes centred, with a margin for overhanging ink."""
    font = pil_font(face, em_px)
    advance = font.getlength(text)
    margin = _margin(em_px)
    width = max(em_px, math.ceil(advance))
    image = Image.new("L", (width + 2 * margin, em_px + 2 * margin), 0)
    x = margin + (width - advance) / 2
    baseline = margin + face.ascent * em_px
    stroke = round(weight * em_px)
    ImageDraw.Draw(image).text(
        (x, baseline),
        text,
        fill=255,
        font=font,
        anchor="ls",
        stroke_width=stroke,
        stroke_fill=255,
    )
    return image


def _margin(em_px: int) -> int:
    return em_px // 4


def _trim_around_centre(image: Image.Image) -> Image.Image:
    """The smallest crop holding all ink that keeps the image centre where it was."""
    box = image.getbbox()
    if box is None:  # a space: nothing to draw
        return image.crop((0, 0, 1, 1))
    cx, cy = image.width / 2, image.height / 2
    dx = max(cx - box[0], box[2] - cx)
    dy = max(cy - box[1], box[3] - cy)
    crop = (
        math.floor(cx - dx),
        math.floor(cy - dy),
        math.ceil(cx + dx),
        math.ceil(cy + dy),
    )
    return image.crop(crop)
