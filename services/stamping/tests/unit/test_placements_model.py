"""The placement model: what a relying system may ask for, and the person's seal choices."""

from __future__ import annotations

import uuid

import pytest
from pydantic import ValidationError
from stamping.domain import placements as pl


def test_the_kinds_take_their_own_fields() -> None:
    assert pl.PlacementSpec(x=100, y=200).kind == "seal"
    assert pl.PlacementSpec(kind="signature", keyword="签字", occurrence="all").occurrence == "all"
    assert pl.PlacementSpec(kind="cross_page", pages="all", y=400).pages == "all"
    assert pl.PlacementSpec(kind="cross_page", pages=[1, 2]).pages == [1, 2]
    assert pl.PlacementSpec(page="last", x=1, y=2).page == "last"


@pytest.mark.parametrize("item", [
    {"x": 1},  # no y, no keyword
    {"x": 1, "y": 2, "keyword": "盖章处"},  # both ways
    {"kind": "cross_page", "x": 500},  # a cross-page seal sits at the right edge
    {"kind": "cross_page", "keyword": "盖章处"},
    {"kind": "cross_page", "pages": []},
    {"kind": "cross_page", "pages": [0]},
    {"kind": "seal", "x": 1, "y": 2, "pages": "all"},
    {"kind": "signature", "seal_type": "official", "x": 1, "y": 2},
    {"page": 0, "x": 1, "y": 2},
    {"page": "first", "x": 1, "y": 2},
    {"keyword": "盖章处", "occurrence": 0},
    {"keyword": ""},
    {"keyword": "章" * 51},
    {"kind": "stamp", "x": 1, "y": 2},
    {"x": 1, "y": 2, "colour": "red"},
    {"page": "2", "x": 1, "y": 2},  # strict: a number, not a numeric string
])
def test_a_malformed_item_is_refused(item: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        pl.PlacementSpec.model_validate(item)


def test_choices_fill_every_placement_that_takes_a_seal() -> None:
    placements = [pl.Placement(0, "seal", "contract", (pl.Spot(1, 100, 100),)),
                  pl.Placement(1, "signature", None, (pl.Spot(1, 300, 100),)),
                  pl.Placement(2, "cross_page", None, (pl.Spot(1, None, 400), pl.Spot(2, None, 400)))]
    a, b = uuid.uuid4(), uuid.uuid4()
    assert pl.chosen_seals(placements, [pl.Choice(0, a), pl.Choice(2, b)], None) == {0: a, 2: b}
    assert pl.chosen_seals(placements, [pl.Choice(0, a)], b) == {0: a, 2: b}  # the default fills
    with pytest.raises(ValueError, match="placement 2 needs a seal"):
        pl.chosen_seals(placements, [pl.Choice(0, a)], None)
    with pytest.raises(ValueError, match="placement 1 does not take a seal"):
        pl.chosen_seals(placements, [pl.Choice(1, a)], b)
    with pytest.raises(ValueError, match="placement 7"):
        pl.chosen_seals(placements, [pl.Choice(7, a)], b)
    with pytest.raises(ValueError, match="chosen twice"):
        pl.chosen_seals(placements, [pl.Choice(0, a), pl.Choice(0, b)], None)


def test_stored_placements_read_back_the_same() -> None:
    placements = [*pl.legacy(2, 300.5, 200.0),
                  pl.Placement(1, "cross_page", "official",
                               (pl.Spot(1, None, 421.0), pl.Spot(2, None, 421.0)))]
    assert pl.from_json(pl.to_json(placements)) == placements
