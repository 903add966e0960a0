"""``request_status``: each request's status, for listing, polling and the expiry sweeper."""

from __future__ import annotations

from shared.catalog import (
    ApprovalRejected,
    ApprovalRequested,
    StampApplied,
    StampRequested,
    StampRequestExpired,
)
from shared.db import Conn
from shared.eventstore import StoredEvent
from shared.projections import Projection

from ..domain.events import RequestSigned


class RequestStatusProjection(Projection):
    name = "request_status"
    tables = ("request_status",)

    async def apply(self, conn: Conn, event: StoredEvent) -> None:
        ev = event.decode() if event.type in _TYPES else None
        if isinstance(ev, StampRequested):
            await conn.execute(
                "INSERT INTO request_status (request_id, client_id, status, expires_at)"
                " VALUES ($1, $2, 'pending', $3) ON CONFLICT (request_id) DO NOTHING",
                ev.request_id, ev.client_id, ev.expires_at)
        elif isinstance(ev, StampApplied):
            await conn.execute(
                # several seal placements: the request's record is the first placement's
                "UPDATE request_status SET status = 'stamped', stamped_at = $2, record_id = $3"
                " WHERE request_id = $1 AND status <> 'stamped'", ev.request_id, ev.stamped_at,
                ev.record_id)
        elif isinstance(ev, RequestSigned):  # only personal signatures: its signature record
            await conn.execute(
                "UPDATE request_status SET status = 'stamped', stamped_at = $2, record_id = $3"
                " WHERE request_id = $1 AND status <> 'stamped'", ev.request_id, ev.signed_at,
                ev.record_id)
        elif isinstance(ev, StampRequestExpired):
            await conn.execute(
                "UPDATE request_status SET status = 'expired' WHERE request_id = $1 AND status = 'pending'",
                ev.request_id)
        elif isinstance(ev, ApprovalRequested):
            await conn.execute("UPDATE request_status SET status = 'awaiting_approval'"
                               " WHERE request_id = $1 AND status = 'pending'", ev.request_id)
        elif isinstance(ev, ApprovalRejected):
            await conn.execute("UPDATE request_status SET status = 'rejected'"
                               " WHERE request_id = $1 AND status = 'awaiting_approval'", ev.request_id)


_TYPES = {StampRequested.event_type, StampApplied.event_type, StampRequestExpired.event_type,
          RequestSigned.event_type, ApprovalRequested.event_type, ApprovalRejected.event_type}
