"""Stamping's read models, applied inline in the command's transaction and rebuildable
(``python -m stamping rebuild-projection request_status|usage_records``)."""

from __future__ import annotations

from collections.abc import Sequence

from shared.db import Conn
from shared.eventstore import StoredEvent
from shared.projections import Projection

from ..domain import events as _events  # noqa: F401 - registers UsageRecorded for decoding
from .request_status import RequestStatusProjection
from .usage_records import UsageRecordsProjection

PROJECTIONS: tuple[Projection, ...] = (RequestStatusProjection(), UsageRecordsProjection())


async def apply_inline(conn: Conn, stored: Sequence[StoredEvent]) -> None:
    for projection in PROJECTIONS:
        await projection.apply_batch(conn, stored)  # type: ignore[arg-type]  # a pooled connection is one


__all__ = ["PROJECTIONS", "RequestStatusProjection", "UsageRecordsProjection", "apply_inline"]
