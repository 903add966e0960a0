"""A plain Chinese text document as a PDF (the evidence report, 出证报告): A4 pages of lines,
drawn with Noto Sans CJK SC (Debian ``fonts-noto-cjk``, which ``scripts/ensure-system.sh``
installs), embedded as a subset with its ``/ToUnicode`` map so the text can be searched,
copied and extracted. pyHanko writes it (its OpenType engine, HarfBuzz shaping); no other
PDF library is needed.

The font ships as a collection (``.ttc``); pyHanko reads single fonts only, so the SC face is
taken out of it once per process (about half a second) and kept in memory.
"""

from __future__ import annotations

import glob
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from io import BytesIO
from typing import Literal

from fontTools.ttLib import TTCollection, TTFont
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.font.opentype import GlyphAccumulator
from pyhanko.pdf_utils.writer import PageObject, PdfFileWriter

FONT_FAMILY = "Noto Sans CJK SC"
_FONT_FILES = ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
               "/usr/share/fonts/**/NotoSansCJK-Regular.ttc")
A4 = (595.0, 842.0)
MARGIN = 56.0
Style = Literal["title", "heading", "text", "note"]
_SIZES: dict[Style, float] = {"title": 18.0, "heading": 12.5, "text": 10.0, "note": 8.5}
_BEFORE: dict[Style, float] = {"title": 0.0, "heading": 10.0, "text": 0.0, "note": 0.0}
_LEADING = 1.45


class FontMissing(RuntimeError):
    """The CJK font is not installed (``fonts-noto-cjk``)."""


@dataclass(frozen=True)
class Line:
    text: str
    style: Style = "text"
    indent: float = 0.0  # points


@dataclass(frozen=True)
class _Face:
    data: bytes
    advances: dict[str, float]  # character -> advance in ems
    default_advance: float


@lru_cache(maxsize=1)
def _face() -> _Face:
    for pattern in _FONT_FILES:
        for path in sorted(glob.glob(pattern, recursive=True)):
            collection = TTCollection(path, lazy=True)
            for font in collection.fonts:
                if font["name"].getDebugName(1) == FONT_FAMILY:
                    return _measured(font)
    raise FontMissing(f"{FONT_FAMILY} not found: install fonts-noto-cjk")


def _measured(font: TTFont) -> _Face:
    out = BytesIO()
    font.save(out)
    per_em = float(font["head"].unitsPerEm)
    metrics = font["hmtx"].metrics
    advances = {chr(code): metrics[glyph][0] / per_em
                for code, glyph in font.getBestCmap().items() if glyph in metrics}
    return _Face(out.getvalue(), advances, 1.0)


def text_width(text: str, size: float) -> float:
    face = _face()
    return sum(face.advances.get(c, face.default_advance) for c in text) * size


def wrap(text: str, size: float, width: float) -> list[str]:
    """Greedy, character by character (Chinese breaks anywhere; a long hex value too)."""
    out, current, used = [], "", 0.0
    face = _face()
    for c in text:
        advance = face.advances.get(c, face.default_advance) * size
        if current and used + advance > width:
            out.append(current)
            current, used = "", 0.0
            if c == " ":
                continue
        current += c
        used += advance
    return [*out, current]


def render(lines: Sequence[Line], *, title: str) -> bytes:
    """The lines on as many A4 pages as they take, a page number at each page's foot."""
    writer = PdfFileWriter()  # type: ignore[no-untyped-call]
    info = generic.DictionaryObject(  # type: ignore[no-untyped-call]
        {generic.NameObject("/Title"): generic.TextStringObject(title)})
    writer.set_info(info)
    engine = GlyphAccumulator(writer, BytesIO(_face().data), 10)
    width, height = A4
    pages: list[list[bytes]] = [[]]
    y = height - MARGIN
    for line in lines:
        size = _SIZES[line.style]
        y -= _BEFORE[line.style]
        for part in wrap(line.text, size, width - 2 * MARGIN - line.indent) if line.text else [""]:
            if y - size * _LEADING < MARGIN:
                pages.append([])
                y = height - MARGIN
            y -= size * _LEADING
            if part:
                shaped = engine.shape(part)
                pages[-1].append(b"BT /F1 %.2f Tf %.2f %.2f Td " % (size, MARGIN + line.indent, y)
                                 + shaped.graphics_ops + b" ET")
    fonts = generic.DictionaryObject({generic.NameObject("/F1"): engine.as_resource()})  # type: ignore[no-untyped-call]
    resources = generic.DictionaryObject({generic.NameObject("/Font"): fonts})  # type: ignore[no-untyped-call]
    num = generic.NumberObject
    box = generic.ArrayObject([num(0), num(0), num(int(width)),  # type: ignore[no-untyped-call]
                               num(int(height))])  # type: ignore[no-untyped-call]
    for number, ops in enumerate(pages, start=1):
        foot = f"第 {number} 页 / 共 {len(pages)} 页"
        shaped = engine.shape(foot)
        ops = [*ops, b"BT /F1 8 Tf %.2f %.2f Td " % ((width - text_width(foot, 8)) / 2, MARGIN / 2)
               + shaped.graphics_ops + b" ET"]
        stream = generic.StreamObject(stream_data=b"\n".join(ops))
        page = PageObject(contents=writer.add_object(stream), media_box=box,  # type: ignore[no-untyped-call]
                          resources=resources)
        writer.insert_page(page)  # type: ignore[no-untyped-call]
    engine.prepare_write()  # type: ignore[no-untyped-call]
    out = BytesIO()
    writer.write(out)  # type: ignore[no-untyped-call]
    return out.getvalue()
