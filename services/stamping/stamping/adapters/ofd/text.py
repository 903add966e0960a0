"""Finding a keyword in an OFD's text (GB/T 33190 §11): where to put a seal 「盖章处」.

Every ``TextObject`` of a page (its templates first, then its content, at any depth of
layers and page blocks) is laid out glyph by glyph: a ``TextCode``'s ``X``/``Y`` start the pen
(a TextCode without them goes on from the previous one), ``DeltaX``/``DeltaY`` move it (with
the ``g n v`` repetition), a missing delta advances by the font size (CJK, full width) or half
of it (other characters); the object's ``CTM`` then the origin of its ``Boundary`` place the
glyph on the page. The glyphs of a page are then grouped into lines by their baseline and read
left to right, whatever TextCode or TextObject they came from, so a keyword split across
elements (as writers do around punctuation, fonts or kerning) still matches. Matching ignores
white space and compares NFKC-normalised, case-folded text (「（盖章）」 matches 「(盖章)」).

Positions are approximate in the way a position without font metrics is: the centre of the
matched glyphs' em boxes. Hits are in millimetres from the page's top-left corner, the centre
of the matched text, 1-based page numbers, in reading order.
"""

from __future__ import annotations

import math
import posixpath
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass

from lxml import etree

from ...domain.placements import TextHit
from .document import load_document
from .errors import OfdTooComplex
from .package import Limits, OfdPackage, child, children, local, resolve_loc

MAX_GLYPHS = 2_000_000  # in one document: far beyond any real one, a bound on hostile input
_GAP = 4.0  # a horizontal gap wider than this many font sizes separates two runs of a line
_LINE = 0.35  # baselines closer than this many font sizes are one line
_CENTRE = 0.35  # the em box's centre, this many font sizes above the baseline


@dataclass(frozen=True)
class _Glyph:
    char: str
    x: float  # left edge on the page, mm
    y: float  # baseline on the page, mm
    width: float
    size: float


def _numbers(text: str | None, wanted: int) -> list[float]:
    """A DeltaX/DeltaY array: numbers, ``g n v`` meaning n times v (GB/T 33190 §11.3); only
    the first ``wanted`` (one per glyph), so a hostile ``g 999999999 1`` expands to nothing big."""
    if not text:
        return []
    out: list[float] = []
    tokens = text.split()
    i = 0
    try:
        while i < len(tokens) and len(out) < wanted:
            if tokens[i] == "g" and i + 2 < len(tokens):
                n = int(tokens[i + 1])
                out += [float(tokens[i + 2])] * max(0, min(n, wanted - len(out)))
                i += 3
            else:
                out.append(float(tokens[i]))
                i += 1
    except ValueError:
        return out  # a malformed array: the positions read so far, the rest by font size
    return [v if math.isfinite(v) else 0.0 for v in out]


def _floats(text: str | None, n: int) -> list[float] | None:
    try:
        values = [float(v) for v in (text or "").split()]
    except ValueError:
        return None
    return values if len(values) == n and all(math.isfinite(v) for v in values) else None


def _advance(char: str, size: float) -> float:
    return size if unicodedata.east_asian_width(char) in ("W", "F") else size / 2


def _text_object(obj: etree._Element) -> Iterator[_Glyph]:
    boundary = _floats(obj.get("Boundary"), 4) or [0.0, 0.0, 0.0, 0.0]
    a, b, c, d, e, f = _floats(obj.get("CTM"), 6) or [1.0, 0.0, 0.0, 1.0, 0.0, 0.0]
    scale = math.sqrt(abs(a * d - b * c)) or 1.0
    size = (_floats(obj.get("Size"), 1) or [3.5])[0]
    size = size if size > 0 else 3.5
    bx, by = boundary[0], boundary[1]
    x = y = 0.0
    for code in children(obj, "TextCode"):
        x0, y0 = _floats(code.get("X"), 1), _floats(code.get("Y"), 1)
        x = x0[0] if x0 else x
        y = y0[0] if y0 else y
        text = code.text or ""
        dx, dy = _numbers(code.get("DeltaX"), len(text)), _numbers(code.get("DeltaY"), len(text))
        for i, char in enumerate(text):
            advance = dx[i] if i < len(dx) else _advance(char, size)
            px, py = bx + a * x + c * y + e, by + b * x + d * y + f
            width = (_advance(char, size) if advance <= 0 else advance) * scale
            yield _Glyph(char, px, py, width, size * scale)
            if i + 1 < len(text):
                x += advance
                y += dy[i] if i < len(dy) else 0.0
            else:  # the next TextCode without X goes on after this one
                x += advance if advance > 0 else _advance(char, size)


def _glyphs(root: etree._Element) -> Iterator[_Glyph]:
    for el in root.iter():
        if isinstance(el.tag, str) and local(el) == "TextObject":
            yield from _text_object(el)


def _lines(glyphs: list[_Glyph]) -> list[list[_Glyph]]:
    """Glyphs grouped by baseline (top to bottom), each line left to right."""
    lines: list[list[_Glyph]] = []
    for g in sorted(glyphs, key=lambda g: (g.y, g.x)):
        if lines:
            line = lines[-1]
            ref = line[0]
            if abs(g.y - ref.y) <= _LINE * max(g.size, ref.size):
                line.append(g)
                continue
        lines.append([g])
    return [sorted(line, key=lambda g: g.x) for line in lines]


def _normal(text: str) -> str:
    return "".join(ch for ch in unicodedata.normalize("NFKC", text).casefold() if not ch.isspace())


def _matches(line: list[_Glyph], keyword: str) -> Iterator[tuple[_Glyph, _Glyph]]:
    """(first, last) glyph of every occurrence of ``keyword`` (normalised) on the line."""
    chars: list[str] = []
    owner: list[_Glyph] = []
    previous: _Glyph | None = None
    for g in line:
        if previous is not None and g.x - (previous.x + previous.width) > _GAP * max(g.size, previous.size):
            chars.append("\x00")  # a separate run: no match across it
            owner.append(g)
        for ch in _normal(g.char):
            chars.append(ch)
            owner.append(g)
        previous = g
    text = "".join(chars)
    start = text.find(keyword)
    while start >= 0:
        yield owner[start], owner[start + len(keyword) - 1]
        start = text.find(keyword, start + len(keyword))


def _templates(pkg: OfdPackage, document: etree._Element, doc_dir: str) -> dict[str, str]:
    common = child(document, "CommonData")
    found: dict[str, str] = {}
    for tpl in children(common, "TemplatePage") if common is not None else []:
        if tpl.get("ID") and tpl.get("BaseLoc"):
            found[str(tpl.get("ID"))] = resolve_loc(str(tpl.get("BaseLoc")), doc_dir)
    return found


def find_text(data: bytes, keyword: str, *, limits: Limits | None = None) -> list[TextHit]:
    """Every occurrence of ``keyword`` on the pages of an OFD, in reading order (page, then
    line top to bottom, then left to right): 1-based page, centre (x, y) of the matched text
    in millimetres from the page's top-left corner. Empty when the keyword is not there."""
    wanted = _normal(keyword)
    if not wanted:
        return []
    doc = load_document(data, limits=limits)
    templates = _templates(doc.package, doc.document, posixpath.dirname(doc.document_path))
    hits: list[TextHit] = []
    total = 0
    for page in doc.pages:
        page_root = doc.package.xml(page.path)
        roots = [doc.package.xml(templates[t.get("TemplateID") or ""])
                 for t in children(page_root, "Template") if (t.get("TemplateID") or "") in templates]
        glyphs: list[_Glyph] = []
        for root in [*roots, page_root]:
            for g in _glyphs(root):
                glyphs.append(g)
                total += 1
                if total > MAX_GLYPHS:
                    raise OfdTooComplex(f"more than {MAX_GLYPHS} characters of text")
        for line in _lines(glyphs):
            for first, last in _matches(line, wanted):
                size = max(first.size, last.size)
                centre_x = (first.x + last.x + last.width) / 2
                centre_y = (first.y + last.y) / 2 - _CENTRE * size
                hits.append(TextHit(page.index, round(centre_x, 3), round(centre_y, 3)))
    return hits
