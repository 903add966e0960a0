"""Seal impressions drawn like Chinese physical seals (GA 241-style proportions).

Round (42 mm): red ring, the enterprise name along the upper arc (narrow glyphs, tops
outward, reading clockwise), a solid five-pointed star in the centre, the type label
(e.g. 合同专用章) horizontally below the star.
Oval (40 x 30 mm, 发票专用章): name along the upper elliptical arc, the unified social
credit code across the middle, 发票专用章 below.
Square (20 mm, 法定代表人名章): the person's name in a grid read right column first.

How the seal name is split is decided by ``split_seal_name``.
"""

from __future__ import annotations

import bisect
import itertools
import math
import re
import unicodedata
from dataclasses import dataclass

from ._canvas import Glyph, InkCanvas, Point
from .errors import InvalidUscc, NameRequired, NameTooLong
from .fonts import FontFace, code_font, require_coverage, seal_font
from .seal_types import MAX_NAME_LENGTH, SEAL_TYPES, SealType, seal_type

SEAL_RED = (230, 0, 0)
_WEIGHT = 0.012  # see Glyph.weight
MAX_SQUARE_NAME_LENGTH = 6
_USCC = re.compile(r"[0-9A-HJ-NPQRTUWXY]{18}")

# Labels printed under the star when a name ends with them. 法定名称章 is a category, not
# text on a real 公章 (which shows only the name and the star), so it is dropped instead.
_OFFICIAL_LABEL = SEAL_TYPES["official"].label
_PRINTED_LABELS = tuple(
    t.label for t in SEAL_TYPES.values() if t.shape != "square" and t.code != "official"
)


@dataclass(frozen=True)
class SealText:
    main: str  # arc text (round, oval) or grid text in reading order (square)
    bottom: str  # horizontal line under the star / code; may be empty


def render_seal(type_code: str, name: str, *, uscc: str | None = None) -> bytes:
    """A PNG (RGBA, transparent background) of the seal ``name`` of type ``type_code``.

    ``uscc`` (统一社会信用代码) is drawn across the middle of an invoice seal and ignored
    by other shapes. Raises a ``RenderError`` subclass for bad input, ``FontMissing``
    when the seal font is not installed. Equal arguments give byte-identical PNGs.
    """
    kind = seal_type(type_code)
    text = split_seal_name(type_code, name)
    code = _valid_uscc(uscc) if kind.shape == "oval" else ""
    face = seal_font()
    require_coverage(face, text.main + text.bottom + code)
    if kind.shape == "round":
        return _round(kind, face, text)
    if kind.shape == "oval":
        return _oval(kind, face, text, code)
    return _square(kind, face, text.main)


def split_seal_name(type_code: str, name: str) -> SealText:
    """Which part of the name goes on the arc and which below the star.

    Round/oval: a name ending with a printed type label (合同专用章, 财务专用章, 人事专用章,
    发票专用章) puts the rest on the arc and the label below; a trailing 法定名称章 is not
    printed; any other name goes entirely on the arc with nothing below. An invoice seal
    always carries 发票专用章 below. Square: the person's name completed to fill the grid.
    """
    kind = seal_type(type_code)
    clean = normalize_name(name)
    if kind.shape == "square":
        return SealText(_square_text(clean), "")
    arc, bottom = _strip_label(clean)
    if kind.shape == "oval":
        bottom = kind.label
    return SealText(arc, bottom)


def normalize_name(name: str) -> str:
    clean = unicodedata.normalize("NFC", name).strip()
    if not clean:
        raise NameRequired()
    if len(clean) > MAX_NAME_LENGTH:
        raise NameTooLong(len(clean), MAX_NAME_LENGTH)
    return clean


def _strip_label(name: str) -> tuple[str, str]:
    if name.endswith(_OFFICIAL_LABEL) and len(name) > len(_OFFICIAL_LABEL):
        return name[: -len(_OFFICIAL_LABEL)], ""
    for label in _PRINTED_LABELS:
        if name.endswith(label) and len(name) > len(label):
            return name[: -len(label)], label
    return name, ""


def _square_text(name: str) -> str:
    """Custom: 2 characters + 之印, an odd count + 印, so the grid is full."""
    if len(name) > MAX_SQUARE_NAME_LENGTH:
        raise NameTooLong(len(name), MAX_SQUARE_NAME_LENGTH)
    if len(name) == 2:
        return name + "之印"
    if len(name) in (3, 5):
        return name + "印"
    return name


def _valid_uscc(uscc: str | None) -> str:
    if uscc is None:
        return ""
    code = uscc.strip().upper()
    if not _USCC.fullmatch(code):
        raise InvalidUscc()
    return code


# --- round ---------------------------------------------------------------------------


def _round(kind: SealType, face: FontFace, text: SealText) -> bytes:
    s = kind.width_mm / 42.0  # proportions are those of a 42 mm seal
    canvas = InkCanvas(kind.width_mm + 1.0, kind.height_mm + 1.0)
    radius = kind.width_mm / 2
    canvas.ellipse_ring(radius, radius, 1.2 * s)
    canvas.polygon(_star((0.0, 0.0), 7.0 * s))
    text_top = radius - (1.2 + 0.9) * s  # just inside the ring
    for glyph in _arc_glyphs(
        text.main, text_top, text_top, 6.6 * s, _round_span(len(text.main))
    ):
        canvas.glyph(face, glyph)
    for glyph in _line_glyphs(text.bottom, 10.6 * s, 4.6 * s, 3.5 * s, 3.9 * s):
        canvas.glyph(face, glyph)
    return canvas.to_png(SEAL_RED)


def _round_span(count: int) -> float:
    """Degrees of arc the text covers: wider for longer names, like hand-cut seals;
    a short name keeps its characters at most 40 degrees apart instead of scattering."""
    span = min(250.0, max(210.0, 210.0 + (count - 8) * 40.0 / 16))
    return min(span, 40.0 * (count - 1))


# --- oval ----------------------------------------------------------------------------


def _oval(kind: SealType, face: FontFace, text: SealText, code: str) -> bytes:
    s = kind.height_mm / 30.0  # proportions are those of a 40 x 30 mm seal
    canvas = InkCanvas(kind.width_mm + 1.0, kind.height_mm + 1.0)
    half_w, half_h = kind.width_mm / 2, kind.height_mm / 2
    canvas.ellipse_ring(half_w, half_h, 1.0 * s)
    inset = (1.0 + 0.6) * s
    span = min(230.0, max(200.0, 200.0 + (len(text.main) - 8) * 30.0 / 12))
    for glyph in _arc_glyphs(text.main, half_w - inset, half_h - inset, 4.2 * s, span):
        canvas.glyph(face, glyph)
    canvas.text_line(code_font(), code, (0.0, 0.6 * s), 3.4 * s, 26.0 * s, _WEIGHT)
    for glyph in _line_glyphs(text.bottom, 6.4 * s, 3.8 * s, 3.0 * s, 3.4 * s):
        canvas.glyph(face, glyph)
    return canvas.to_png(SEAL_RED)


# --- square --------------------------------------------------------------------------


def _square(kind: SealType, face: FontFace, text: str) -> bytes:
    s = kind.width_mm / 20.0
    canvas = InkCanvas(kind.width_mm + 1.0, kind.height_mm + 1.0)
    half = kind.width_mm / 2
    canvas.square_frame(half, 1.0 * s)
    for glyph in _grid_glyphs(text, half - 1.15 * s, 0.2 * s):
        canvas.glyph(face, glyph)
    return canvas.to_png(SEAL_RED)


def _grid_glyphs(text: str, half: float, gap: float) -> list[Glyph]:
    """Two rows; columns filled top-down, starting from the right, as seals are read."""
    if len(text) == 1:
        return [Glyph(text, (0.0, 0.0), 2 * half, 2 * half, 0.0, 2 * _WEIGHT)]
    columns = math.ceil(len(text) / 2)
    cell_w, cell_h = 2 * half / columns, half
    glyphs = []
    for i, char in enumerate(text):
        column, row = divmod(i, 2)
        x = half - cell_w * (column + 0.5)
        y = -half + cell_h * (row + 0.5)
        glyphs.append(Glyph(char, (x, y), cell_h - gap, cell_w - gap, 0.0, 2 * _WEIGHT))
    return glyphs


# --- shared layout -------------------------------------------------------------------


def _arc_glyphs(
    text: str, outer_w: float, outer_h: float, height: float, span_deg: float
) -> list[Glyph]:
    """Glyphs along the upper part of an ellipse (a circle when ``outer_w == outer_h``).

    Their tops touch the ellipse with half-axes ``outer_w`` x ``outer_h``; they are evenly
    spaced by arc length, read clockwise, and each is turned to face outward.
    """
    count = len(text)
    if count == 0:
        return []
    # Very long names get smaller type as well as narrower glyphs.
    height = height * min(1.0, math.sqrt(18 / count))
    a, b = outer_w - height / 2, outer_h - height / 2  # ellipse through glyph centres
    params = _even_arc_params(a, b, math.radians(span_deg) / 2, count)
    step = _arc_length(a, b, params[0], params[1]) if count > 1 else math.inf
    # Glyphs fan in toward the centre, most where the curve is tightest (radius b²/a).
    inner_curve = min(a, b) ** 2 / max(a, b)
    room = 0.95 * step * (1 - 0.35 * height / inner_curve)
    width = min(0.7 * height, room)
    glyphs = []
    for char, t in zip(text, params, strict=True):
        centre = (a * math.sin(t), -b * math.cos(t))
        angle = math.degrees(math.atan2(b * math.sin(t), a * math.cos(t)))
        glyphs.append(Glyph(char, centre, height, width, angle, _WEIGHT))
    return glyphs


def _even_arc_params(a: float, b: float, half_span: float, count: int) -> list[float]:
    """Ellipse parameters (0 = top, clockwise) of ``count`` points evenly spaced by length."""
    if count == 1:
        return [0.0]
    samples = 2048
    ts = [-half_span + 2 * half_span * i / samples for i in range(samples + 1)]
    lengths = [0.0]
    for t0, t1 in itertools.pairwise(ts):
        lengths.append(lengths[-1] + _arc_length(a, b, t0, t1))
    params = []
    for k in range(count):
        target = lengths[-1] * k / (count - 1)
        j = min(max(bisect.bisect_left(lengths, target), 1), samples)
        piece = lengths[j] - lengths[j - 1]
        fraction = (target - lengths[j - 1]) / piece if piece else 0.0
        params.append(ts[j - 1] + (ts[j] - ts[j - 1]) * fraction)
    return params


def _arc_length(a: float, b: float, t0: float, t1: float) -> float:
    """Chord length between two nearby points; exact enough for fine sampling."""
    return math.hypot(
        a * (math.sin(t1) - math.sin(t0)), b * (math.cos(t1) - math.cos(t0))
    )


def _line_glyphs(
    text: str, y: float, height: float, width: float, pitch: float
) -> list[Glyph]:
    """A horizontal line of glyphs centred on x = 0 at height ``y``."""
    first = -pitch * (len(text) - 1) / 2
    return [
        Glyph(c, (first + pitch * i, y), height, width, 0.0, _WEIGHT)
        for i, c in enumerate(text)
    ]


def _star(centre: Point, radius: float) -> list[Point]:
    """A five-pointed star, one point up; inner radius from the regular pentagram."""
    inner = radius * math.sin(math.radians(18)) / math.sin(math.radians(54))
    points = []
    for i in range(10):
        r = radius if i % 2 == 0 else inner
        angle = math.radians(36 * i)
        points.append(
            (centre[0] + r * math.sin(angle), centre[1] - r * math.cos(angle))
        )
    return points
