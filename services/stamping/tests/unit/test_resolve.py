"""Resolving placements at request time (domain/resolve.py) and the PDF keyword search."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from stamping.adapters.pdf import inspect_pdf
from stamping.adapters.pdf.text import find_text
from stamping.domain.errors import PlacementInvalid
from stamping.domain.placements import Placement, PlacementSpec, Spot, TextHit
from stamping.domain.resolve import PT_PER_MM, Pages, resolve, stamp_size

from tests.support.text_pdfs import Text, centre, make_text_pdf

A4_PT = Pages("pt", [(595.0, 842.0)] * 3)
A4_MM = Pages("mm", [(210.0, 297.0)] * 3)


def no_text(_: str) -> Sequence[TextHit]:
    raise AssertionError("no keyword was asked for")


def specs(*items: dict) -> list[PlacementSpec]:
    return [PlacementSpec.model_validate(i) for i in items]


def refused(items: list[dict], pages: Pages = A4_PT, find=no_text) -> PlacementInvalid:
    with pytest.raises(PlacementInvalid) as e:
        resolve(specs(*items), pages, find)
    return e.value


def test_positions_and_last_page_resolve_with_offsets() -> None:
    got = resolve(specs({"page": "last", "x": 300, "y": 200, "offset_x": 10, "offset_y": -5},
                        {"kind": "signature", "page": 1, "x": 100, "y": 100},
                        {"seal_type": "legal_representative", "page": 2, "x": 40, "y": 40}),
                  A4_PT, no_text)
    assert got == [Placement(0, "seal", None, (Spot(3, 310, 195),)),
                   Placement(1, "signature", None, (Spot(1, 100, 100),)),
                   Placement(2, "seal", "legal_representative", (Spot(2, 40, 40),))]


def test_the_fit_uses_the_named_types_real_size_or_the_largest() -> None:
    assert stamp_size("seal", "legal_representative", "mm") == (20.0, 20.0)
    assert stamp_size("seal", "invoice", "pt") == pytest.approx((40 * PT_PER_MM, 30 * PT_PER_MM))
    assert stamp_size("seal", None, "mm") == (42.0, 42.0)
    # 40 pt from the corner: a 20 mm name seal (56.7 pt) fits, an unnamed seal (42 mm) not
    resolve(specs({"seal_type": "legal_representative", "page": 1, "x": 29, "y": 29}), A4_PT, no_text)
    e = refused([{"page": 1, "x": 29, "y": 29}])
    assert e.code == "position_off_page" and e.errors[0]["field"] == "placements[0]"
    # OFD: millimetres
    resolve(specs({"page": 1, "x": 21, "y": 21}), A4_MM, no_text)
    assert refused([{"page": 1, "x": 20, "y": 21}], A4_MM).code == "position_off_page"


def test_pages_out_of_range_and_unknown_types_are_refused_naming_the_item() -> None:
    e = refused([{"page": 1, "x": 300, "y": 300}, {"page": 4, "x": 300, "y": 300}])
    assert e.code == "page_out_of_range" and e.errors[0]["field"] == "placements[1].page"
    e = refused([{"seal_type": "stamp_of_approval", "page": 1, "x": 300, "y": 300}])
    assert e.code == "unknown_seal_type" and e.errors[0]["index"] == "0"


def test_keywords_resolve_by_occurrence_and_missing_ones_are_refused() -> None:
    hits = {"盖章处": [TextHit(1, 300, 200), TextHit(2, 310, 400), TextHit(3, 320, 500)]}
    asked: list[str] = []

    def find(k: str) -> Sequence[TextHit]:
        asked.append(k)
        return hits.get(k, [])

    got = resolve(specs({"keyword": "盖章处"}, {"keyword": "盖章处", "occurrence": 2, "offset_y": 10},
                        {"keyword": "盖章处", "occurrence": "all"},
                        {"keyword": "盖章处", "page": "last"}), A4_PT, find)
    assert [p.spots for p in got] == [(Spot(1, 300, 200),), (Spot(2, 310, 410),),
                                      (Spot(1, 300, 200), Spot(2, 310, 400), Spot(3, 320, 500)),
                                      (Spot(3, 320, 500),)]
    assert asked == ["盖章处"]  # looked up once
    e = refused([{"page": 1, "x": 300, "y": 300}, {"keyword": "乙方"}], find=find)
    assert e.code == "keyword_not_found" and e.status == 422
    assert e.errors[0]["field"] == "placements[1].keyword"
    e = refused([{"keyword": "盖章处", "occurrence": 4}], find=find)
    assert e.code == "keyword_not_found" and e.errors[0]["field"] == "placements[0].occurrence"
    assert refused([{"keyword": "盖章处", "page": 1, "occurrence": 2}], find=find).code == "keyword_not_found"
    # a keyword near the edge: the seal centred on it must still fit
    hits["页脚"] = [TextHit(1, 300, 10)]
    assert refused([{"keyword": "页脚"}], find=find).code == "position_off_page"


def test_cross_page_takes_all_or_listed_pages_at_the_middle_or_y() -> None:
    got = resolve(specs({"kind": "cross_page"}, {"kind": "cross_page", "pages": [3, 1], "y": 300,
                                                 "seal_type": "contract"}), A4_PT, no_text)
    assert got[0].spots == (Spot(1, None, 421), Spot(2, None, 421), Spot(3, None, 421))
    assert got[1] == Placement(1, "cross_page", "contract", (Spot(1, None, 300), Spot(3, None, 300)))
    assert refused([{"kind": "cross_page", "pages": [2]}]).code == "validation_failed"
    assert refused([{"kind": "cross_page", "pages": [2, 5]}]).code == "page_out_of_range"
    assert refused([{"kind": "cross_page", "y": 20}]).code == "position_off_page"
    assert refused([{"kind": "cross_page"}], Pages("pt", [(595, 842)])).code == "validation_failed"


def test_pdf_keyword_search_finds_cjk_text_split_across_operators() -> None:
    line = Text(100, 500, "甲方（盖章）：")
    for font in ("tounicode", "stsong"):
        pdf = make_text_pdf([[line, Text(300, 200, "盖章处", split=False)], [Text(50, 700, "乙方 盖章处")]],
                            font=font)
        origins = inspect_pdf(pdf).page_origins
        assert find_text(pdf, "甲方（盖章）", origins=origins) == [TextHit(1, *centre(line, 0, 6))]
        assert [(h.page, h.x, h.y) for h in find_text(pdf, "盖章", origins=origins)] == [
            (1, *centre(line, 3, 2)), (1, 312.0, 206.0), (2, 98.0, 706.0)]
        assert find_text(pdf, "丙方", origins=origins) == []


def test_pdf_keyword_positions_are_relative_to_the_visible_box() -> None:
    line = Text(100, 500, "盖章处")
    pdf = make_text_pdf([[line]], crop=(50, 60, 500, 800))
    info = inspect_pdf(pdf)
    x, y = centre(line, 0, 3)
    assert find_text(pdf, "盖章处", origins=info.page_origins) == [TextHit(1, x - 50, y - 60)]
