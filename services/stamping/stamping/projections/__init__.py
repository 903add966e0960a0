"""Stamping's read models, applied inline in the command's transaction and rebuildable
(``python -m stamping rebuild-projection request_status|usage_records``)."""

from __future__ import annotations

from shared.projections import Projection

from ..domain import events as _events  # noqa: F401 - registers UsageRecorded for decoding
from .request_status import RequestStatusProjection
from .usage_records import UsageRecordsProjection

PROJECTIONS: tuple[Projection, ...] = (RequestStatusProjection(), UsageRecordsProjection())


__all__ = ["PROJECTIONS", "RequestStatusProjection", "UsageRecordsProjection"]
