"""Resolving a request's placements (``PlacementSpec`` items) into ``Placement``s, at once.

Everything a placement needs is known when the request is made: page "last" becomes the page
count, every keyword is looked up (``TextHit``, the centre of the matched text, in the
format's units) and every position is checked to fit the page for the seal it will carry. A
missing keyword, a page outside the document or a seal that would leave the page is refused
then (422, ``errors`` naming the item as ``placements[i]``), never at stamping time.

Units and origins are the format's (see ``placements``): PDF points from the bottom-left
corner, OFD millimetres from the top-left corner; (x, y) is always the stamp's centre, so
the fit check is symmetrical and needs no axis flip.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from .errors import (
    KeywordNotFound,
    PlacementInvalid,
    PlacementOffPage,
    PlacementPageOutOfRange,
    UnknownSealType,
)
from .placements import MAX_PLACEMENTS, MAX_SPOTS, Placement, PlacementSpec, Spot, TextHit

Unit = Literal["pt", "mm"]
PT_PER_MM = 72 / 25.4

# Seal sizes (width, height in mm) per type code: a copy of seals' catalogue
# (services/seals/seals/adapters/rendering/seal_types.py). A copy, because stamping may not
# import seals and seals' internal API has no catalogue call (its seal answer gives one seal's
# size, known only once the person has chosen); the request side needs every type's size
# before any seal is chosen. tests/unit/test_resolve.py checks it against the catalogue.
SEAL_SIZES_MM: Mapping[str, tuple[float, float]] = {
    "official": (42.0, 42.0),
    "contract": (42.0, 42.0),
    "finance": (42.0, 42.0),
    "hr": (42.0, 42.0),
    "invoice": (40.0, 30.0),
    "legal_representative": (20.0, 20.0),
}
# No type named (the person chooses): the position must fit any seal, so the envelope of all.
ANY_SEAL_MM = (max(w for w, _ in SEAL_SIZES_MM.values()), max(h for _, h in SEAL_SIZES_MM.values()))
# A personal signature's box: its picture is scaled into it (the signing side decides).
SIGNATURE_MM = ANY_SEAL_MM


@dataclass(frozen=True)
class Pages:
    """The document's pages as the resolver needs them: (width, height) in ``unit``."""

    unit: Unit
    sizes: Sequence[tuple[float, float]]

    @property
    def count(self) -> int:
        return len(self.sizes)


Finder = Callable[[str], Sequence[TextHit]]  # keyword -> every occurrence, in document order


def stamp_size(kind: str, seal_type: str | None, unit: Unit) -> tuple[float, float]:
    """The (width, height) the position must leave room for, in ``unit``."""
    if kind == "signature":
        w, h = SIGNATURE_MM
    elif seal_type is None:
        w, h = ANY_SEAL_MM
    else:
        w, h = SEAL_SIZES_MM[seal_type]
    scale = PT_PER_MM if unit == "pt" else 1.0
    return w * scale, h * scale


def resolve(specs: Sequence[PlacementSpec], pages: Pages, find: Finder) -> list[Placement]:
    if not 1 <= len(specs) <= MAX_PLACEMENTS:
        raise PlacementInvalid.item(None, f"1 to {MAX_PLACEMENTS} placements")
    found: dict[str, Sequence[TextHit]] = {}  # each keyword is looked up once

    def hits(keyword: str) -> Sequence[TextHit]:
        if keyword not in found:
            found[keyword] = find(keyword)
        return found[keyword]

    out = [_resolve_one(i, s, pages, hits) for i, s in enumerate(specs)]
    if sum(len(p.spots) for p in out) > MAX_SPOTS:
        raise PlacementInvalid.item(None, f"at most {MAX_SPOTS} positions in all")
    return out


def _resolve_one(i: int, s: PlacementSpec, pages: Pages, hits: Finder) -> Placement:
    if s.seal_type is not None and s.seal_type not in SEAL_SIZES_MM:
        raise UnknownSealType.item(i, f"unknown seal type {s.seal_type!r} (one of "
                                      f"{', '.join(SEAL_SIZES_MM)})", field="seal_type")
    w, h = stamp_size(s.kind, s.seal_type, pages.unit)
    if s.kind == "cross_page":
        return Placement(i, s.kind, s.seal_type, _cross_page(i, s, pages, w, h))
    page = None if s.page is None else _page(i, s.page, pages)
    if s.keyword is None:
        assert page is not None and s.x is not None and s.y is not None  # PlacementSpec's rule
        spots = [Spot(page, s.x + s.offset_x, s.y + s.offset_y)]
    else:
        spots = _keyword_spots(i, s, page, hits)
    for spot in spots:
        assert spot.x is not None
        _fits(i, pages, spot.page, spot.x, spot.y, w, h)
    return Placement(i, s.kind, s.seal_type, tuple(spots))


def _page(i: int, page: int | Literal["last"], pages: Pages) -> int:
    n = pages.count if page == "last" else page
    if not 1 <= n <= pages.count:
        raise PlacementPageOutOfRange.item(i, f"page {n} not in 1..{pages.count}", field="page")
    return n


def _keyword_spots(i: int, s: PlacementSpec, page: int | None, hits: Finder) -> list[Spot]:
    assert s.keyword is not None
    found = [h for h in hits(s.keyword) if page is None or h.page == page]
    where = f" on page {page}" if page is not None else ""
    if not found:
        raise KeywordNotFound.item(i, f"{s.keyword!r} does not occur{where}", field="keyword")
    if s.occurrence == "all":
        chosen = found
    elif s.occurrence > len(found):
        raise KeywordNotFound.item(i, f"{s.keyword!r} occurs {len(found)} time(s){where}, "
                                      f"not {s.occurrence}", field="occurrence")
    else:
        chosen = [found[s.occurrence - 1]]
    return [Spot(h.page, h.x + s.offset_x, h.y + s.offset_y) for h in chosen]


def _cross_page(i: int, s: PlacementSpec, pages: Pages, w: float, h: float) -> tuple[Spot, ...]:
    if s.pages is None or s.pages == "all":
        numbers = list(range(1, pages.count + 1))
    else:
        numbers = sorted(set(s.pages))
        for n in numbers:
            _page(i, n, pages)
    if len(numbers) < 2:
        raise PlacementInvalid.item(i, "a cross-page seal spans at least 2 pages", field="pages")
    spots = []
    for n in numbers:
        pw, ph = pages.sizes[n - 1]
        y = (ph / 2 if s.y is None else s.y) + s.offset_y
        if not (h / 2 <= y <= ph - h / 2) or w / len(numbers) > pw:
            raise PlacementOffPage.item(i, f"a {_size(w, h, pages.unit)} cross-page seal at "
                                           f"height {y} does not fit page {n} "
                                           f"({_size(pw, ph, pages.unit)})", field="y")
        spots.append(Spot(n, None, y))
    return tuple(spots)


def _fits(i: int, pages: Pages, page: int, x: float, y: float, w: float, h: float) -> None:
    pw, ph = pages.sizes[page - 1]
    if not (w / 2 <= x <= pw - w / 2 and h / 2 <= y <= ph - h / 2):
        raise PlacementOffPage.item(i, f"a {_size(w, h, pages.unit)} stamp centred at "
                                       f"({x:.1f}, {y:.1f}) does not fit page {page} "
                                       f"({_size(pw, ph, pages.unit)})")


def _size(w: float, h: float, unit: Unit) -> str:
    return f"{w:.1f} x {h:.1f} {unit}"
