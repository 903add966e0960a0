"""Where a request's stamps go: placements, as a relying system asks for them and as resolved.

A relying system names *placements* when it creates a request (``PlacementSpec``, the API's
item): a seal at a position or over a keyword, the person's own signature, or a 骑缝章
(cross-page seal) across the right edge of some pages. The request resolves them at once
(``Placement``, stored with the request): every keyword is found and every page number is
known, so a missing keyword is refused when the request is made, never at stamping time.

Coordinates are those of the format, unchanged from the single ``page/x/y`` form:
- PDF: points (1/72 in), origin at the bottom-left corner of the unrotated page, (x, y) the
  centre of the stamp;
- OFD: millimetres, origin at the top-left corner of the page (GB/T 33190), (x, y) the
  centre of the stamp.
A cross-page seal has no x: it sits at the right edge, its strips at height y on each page.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, model_validator

Kind = Literal["seal", "signature", "cross_page"]
MAX_PLACEMENTS = 20  # per request: a contract has a handful; a 骑缝章 is one placement
MAX_SPOTS = 200  # resolved positions per request (keyword "all" on a long document)
MAX_KEYWORD = 50


class PlacementSpec(BaseModel):
    """One item of ``placements`` in ``POST /api/v1/stamp-requests``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Kind = "seal"
    seal_type: str | None = Field(default=None, min_length=1, max_length=40)
    page: StrictInt | Literal["last"] | None = None
    x: float | None = None
    y: float | None = None
    keyword: str | None = Field(default=None, min_length=1, max_length=MAX_KEYWORD)
    occurrence: StrictInt | Literal["all"] = 1
    offset_x: float = 0.0
    offset_y: float = 0.0
    pages: Literal["all"] | list[StrictInt] | None = None

    @model_validator(mode="after")
    def _a_place_for_each_kind(self) -> PlacementSpec:
        if isinstance(self.page, int) and self.page < 1:
            raise ValueError("page: 1 or more, or \"last\"")
        if isinstance(self.occurrence, int) and self.occurrence < 1:
            raise ValueError("occurrence: 1 or more, or \"all\"")
        if self.kind == "cross_page":
            if self.keyword is not None or self.x is not None or self.page is not None:
                raise ValueError("a cross_page seal takes pages and y only (it sits at the right edge)")
            if isinstance(self.pages, list) and (not self.pages or any(p < 1 for p in self.pages)):
                raise ValueError("pages: \"all\" or a non-empty list of page numbers (1 or more)")
            return self
        if self.pages is not None:
            raise ValueError("pages is for a cross_page seal")
        if self.kind == "signature" and self.seal_type is not None:
            raise ValueError("a signature placement takes no seal_type")
        if self.keyword is None and (self.x is None or self.y is None):
            raise ValueError("x and y, or a keyword")
        if self.keyword is not None and (self.x is not None or self.y is not None):
            raise ValueError("x and y, or a keyword, not both")
        return self


@dataclass(frozen=True)
class Spot:
    """One resolved position: 1-based page, centre (x, y) in the format's units; x None for
    a cross-page strip (the right edge: known once the seal's width is)."""

    page: int
    x: float | None
    y: float


@dataclass(frozen=True)
class Placement:
    index: int
    kind: Kind
    seal_type: str | None
    spots: tuple[Spot, ...]

    @property
    def takes_seal(self) -> bool:
        return self.kind in ("seal", "cross_page")


@dataclass(frozen=True)
class Choice:
    """The person's seal for a placement that takes one (in the stamp call)."""

    placement: int
    seal_id: uuid.UUID


@dataclass(frozen=True)
class TextHit:
    """Where a keyword was found: 1-based page and the centre of the matched text."""

    page: int
    x: float
    y: float


def legacy(page: int, x: float, y: float) -> list[Placement]:
    """The single ``page/x/y`` form: one seal placement, the person chooses the seal."""
    return [Placement(0, "seal", None, (Spot(page, x, y),))]


def chosen_seals(placements: Sequence[Placement], choices: Sequence[Choice],
                 default: uuid.UUID | None) -> dict[int, uuid.UUID]:
    """placement index -> seal id, for every placement that takes a seal: the choice made for
    it, else ``default`` (the stamp call's single ``seal_id``). Raises ValueError naming what
    is wrong (a choice for a placement that does not exist or takes no seal, one missing)."""
    by_index = {p.index: p for p in placements}
    picked: dict[int, uuid.UUID] = {}
    for c in choices:
        p = by_index.get(c.placement)
        if p is None or not p.takes_seal:
            raise ValueError(f"placement {c.placement} does not take a seal")
        if c.placement in picked:
            raise ValueError(f"placement {c.placement} chosen twice")
        picked[c.placement] = c.seal_id
    for p in placements:
        if p.takes_seal and p.index not in picked:
            if default is None:
                raise ValueError(f"placement {p.index} needs a seal")
            picked[p.index] = default
    return picked


def to_json(placements: Sequence[Placement]) -> str:
    return json.dumps([{"index": p.index, "kind": p.kind, "seal_type": p.seal_type,
                        "spots": [[s.page, s.x, s.y] for s in p.spots]} for p in placements])


def from_json(data: str | list[Any]) -> list[Placement]:
    items = json.loads(data) if isinstance(data, str) else data
    return [Placement(int(i["index"]), i["kind"], i["seal_type"],
                      tuple(Spot(int(pg), None if x is None else float(x), float(y))
                            for pg, x, y in i["spots"]))
            for i in items]
