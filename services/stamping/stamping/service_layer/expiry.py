"""The expiry sweeper: ``StampRequestExpired`` for requests nobody stamped in time.

Safe with several replicas: due requests are locked with ``FOR UPDATE SKIP LOCKED``, so each
is expired by exactly one of them, and never while a (live) stamp claim holds it. A claim
taken before the deadline may still finish after it; a claim that was abandoned
(``claimed_until`` passed) no longer protects the request.
"""

from __future__ import annotations

import asyncio

from shared.logging import get_logger

from ..adapters import repository
from ..adapters.repository import STREAM_TYPE
from ..domain import stamp_request as stamp_requests
from . import approvals, batches, callbacks
from .context import Stamping

log = get_logger(__name__)
BATCH = 100


async def expire_due(ctx: Stamping) -> int:
    """Expire one batch of due requests; returns how many."""
    expired = 0
    async with ctx.db.transaction() as uow:
        conn = uow.conn
        for request_id in await repository.due_for_expiry(conn, BATCH):
            state = await repository.load_request(conn, ctx.store, request_id)
            events = stamp_requests.expire(state)
            if not events:
                continue
            await uow.append(request_id, STREAM_TYPE, state.version, events,
                             metadata={"actor": "stamping", "actor_role": "system"})
            row = await repository.get_request(conn, request_id)
            assert row is not None
            await repository.delete_document(conn, request_id)
            if row.callback_url:
                await callbacks.queue(conn, row, "stamp_request.expired", {"status": "expired"})
            expired += 1
    if expired:
        ctx.callbacks_due.set()
    return expired


async def run_sweeper(ctx: Stamping) -> None:
    interval = ctx.settings.stamping_sweep_interval
    while True:
        try:
            while await expire_due(ctx) == BATCH:
                pass
            while await batches.expire_due(ctx, BATCH) == BATCH:  # their callbacks (issue 15)
                pass
            await approvals.sweep(ctx)  # 用印审批: expired, or cancelled by a revocation
        except asyncio.CancelledError:
            raise
        except Exception as e:  # noqa: BLE001 - keep sweeping; the database may be back soon
            log.warning("expiry_sweep_failed", error=repr(e)[:300])
        await asyncio.sleep(interval)
