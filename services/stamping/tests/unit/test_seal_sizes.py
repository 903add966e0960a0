"""seals' internal seal answer gives the type's shape and real size; older seals do not."""

from __future__ import annotations

import uuid

from stamping.adapters.seals import seal_info

BODY = {"seal_id": str(uuid.uuid4()), "enterprise_id": str(uuid.uuid4()), "name": "张三印",
        "type": "legal_representative"}


def test_the_size_seals_gives_is_kept() -> None:
    info = seal_info({**BODY, "shape": "square", "width_mm": 20, "height_mm": 20.0})
    assert (info.shape, info.width_mm, info.height_mm) == ("square", 20.0, 20.0)
    oval = seal_info({**BODY, "type": "invoice", "shape": "oval", "width_mm": 40, "height_mm": 30})
    assert (oval.shape, oval.width_mm, oval.height_mm) == ("oval", 40.0, 30.0)


def test_an_older_or_odd_answer_is_the_42_mm_round_seal() -> None:
    for extra in ({}, {"width_mm": None, "height_mm": "x"}, {"width_mm": 0, "height_mm": 1000}):
        info = seal_info({**BODY, **extra})
        assert (info.shape, info.width_mm, info.height_mm) == ("round", 42.0, 42.0)
