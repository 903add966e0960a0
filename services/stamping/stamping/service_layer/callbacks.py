"""Callbacks to relying systems: an outbox written with the stamp, delivered by a worker.

Each callback is leased (``next_attempt_at`` pushed past the HTTP timeout) in a short
transaction with ``SKIP LOCKED``, so replicas never deliver the same one at once, and one
that died mid-delivery lets it fall due again. Failures are retried with exponential
back-off (with jitter) and given up after ``stamping_callback_max_attempts`` tries.
Receivers should treat ``X-Eseal-Delivery`` as an idempotency key: delivery is at least once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from typing import Any

import asyncpg

from shared.db import Conn
from shared.logging import get_logger
from shared.webhooks import GuardedSender

from ..adapters import repository
from ..adapters.repository import RequestRow
from ..domain import webhooks
from ..domain.authorization import rfc3339
from .context import Stamping

log = get_logger(__name__)
BATCH = 20


async def queue(conn: Conn, row: RequestRow, event: str, data: dict[str, Any]) -> None:
    assert row.callback_url
    body = {"event": event, "request_id": str(row.request_id), "title": row.title,
            "document_sha256": row.document_sha256, "kind": row.kind,
            "requested_at": rfc3339(row.created_at), **data}
    text = json.dumps(body, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    await repository.queue_callback(conn, row.request_id, row.client_id, row.callback_url, event, text)


async def queue_batch(conn: Conn, batch_id: uuid.UUID, client_id: uuid.UUID, url: str,
                      event: str, data: dict[str, Any]) -> None:
    """A batch's callback (issue 15): signed, retried and checked exactly as a request's."""
    body = {"event": event, "batch_id": str(batch_id), **data}
    text = json.dumps(body, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    await repository.queue_batch_callback(conn, batch_id, client_id, url, event, text)


async def deliver_due(ctx: Stamping, sender: GuardedSender) -> int:
    """Deliver what is due now (one batch); returns how many were attempted."""
    s = ctx.settings
    lease = s.stamping_callback_timeout + 30
    async with ctx.pool.acquire() as conn:
        due = await repository.lease_callbacks(conn, BATCH, lease)
    if due:
        await asyncio.gather(*(_deliver_one(ctx, sender, r) for r in due))
    return len(due)


async def _deliver_one(ctx: Stamping, sender: GuardedSender, r: asyncpg.Record) -> None:
    s = ctx.settings
    body = r["body"].encode()
    headers = {"Content-Type": "application/json; charset=utf-8",
               webhooks.EVENT_HEADER: r["event"],
               webhooks.DELIVERY_HEADER: str(r["callback_id"]),
               "User-Agent": "eseal-stamping/1"}
    # signed (X-Eseal-Signature) by the sender as it sends
    delivered, detail = await sender.post(r["url"], body, r["webhook_secret"], headers)
    async with ctx.pool.acquire() as conn:
        if delivered:
            await repository.callback_delivered(conn, r["callback_id"])
            return
        attempts = r["attempts"]
        retry = None if attempts >= s.stamping_callback_max_attempts else webhooks.next_delay(
            attempts, s.stamping_callback_base_delay, s.stamping_callback_max_delay)
        await repository.callback_failed(conn, r["callback_id"], detail, retry)
    log.info("callback_failed", callback_id=str(r["callback_id"]), attempts=attempts,
             detail=detail, gave_up=retry is None)


async def run_worker(ctx: Stamping, sender: GuardedSender) -> None:
    """Forever: deliver due callbacks; wake on a local commit or every poll interval."""
    interval = ctx.settings.stamping_callback_poll_interval
    while True:
        ctx.callbacks_due.clear()  # before looking: a commit after this wakes the next wait
        try:
            if await deliver_due(ctx, sender):
                continue
        except asyncio.CancelledError:
            raise
        except Exception as e:  # noqa: BLE001 - the worker never dies; the database may be back soon
            log.warning("callback_worker_error", error=repr(e)[:300])
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(ctx.callbacks_due.wait(), interval)
