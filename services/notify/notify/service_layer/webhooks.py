"""Webhooks of subscribers: read the merged feed, queue deliveries, POST them signed, retry.

Every poll (``ESEAL_WEBHOOK_POLL_INTERVAL``) one replica (advisory lock) reads, for each
enabled subscriber with a webhook, the feed after that subscriber's webhook position, queues
one delivery per (subscriber, event) and moves the position, in one transaction. Events
that happened before the subscriber was created are not sent (the feed has them). Then every
replica sends the due deliveries it can lease: ``POST <webhook_url>`` with the envelope as
body, signed (``shared.webhooks``, headers ``X-Eseal-Signature``, ``X-Eseal-Event``,
``X-Eseal-Event-Id``, ``X-Eseal-Delivery``); any 2xx is delivered, anything else is retried
after 10 s, 20 s, 40 s … at most an hour apart, until ``ESEAL_WEBHOOK_RETRY_HOURS`` (25 h).
"""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from typing import Any

import asyncpg

from shared.event_feed import parse_position
from shared.logging import get_logger

from ..adapters import subscribers as repo
from ..config import NotifySettings
from ..domain.subscribers import retry_delay
from . import feed
from .ports import Fetch, WebhookSender

log = get_logger(__name__)
BATCH = 100


class Dispatcher:
    def __init__(self, pool: asyncpg.Pool, fetch: Fetch, sender: WebhookSender,
                 settings: NotifySettings) -> None:
        self.pool, self.fetch, self.sender, self.settings = pool, fetch, sender, settings

    @property
    def retry_seconds(self) -> float:
        return self.settings.webhook_retry_hours * 3600

    async def run(self) -> None:
        while True:
            try:
                await self.collect()
                while await self.deliver_due():
                    pass
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - the dispatcher never dies; it tries again
                log.warning("webhook_dispatch_failed", error=repr(exc)[:300])
            await asyncio.sleep(self.settings.webhook_poll_interval)

    async def collect(self) -> int:
        """Queue the new events of every webhook subscriber; returns how many were queued."""
        queued = 0
        async with self.pool.acquire() as conn, conn.transaction():
            if not await repo.take_collect_lock(conn):
                return 0
            for s in await repo.with_webhooks(conn):
                page = await feed.read(self.fetch, parse_position(s.webhook_cursor), s.event_types, BATCH)
                for envelope in page.items:
                    if _before(envelope, s.created_at):
                        continue
                    await repo.enqueue(conn, s.subscriber_id, envelope["event_id"], envelope["type"],
                                       json.dumps(envelope, ensure_ascii=False), self.retry_seconds)
                    queued += 1
                if page.next != s.webhook_cursor:
                    await repo.save_cursor(conn, s.subscriber_id, page.next)
        return queued

    async def deliver_due(self) -> int:
        """Send what is due now (a batch); returns how many were tried."""
        lease = self.settings.webhook_timeout * 3
        async with self.pool.acquire() as conn:
            due = await repo.claim_due(conn, BATCH, lease)
        await asyncio.gather(*(self._send(row) for row in due))
        return len(due)

    async def _send(self, row: Any) -> None:
        ok, detail = await self.sender.post(
            row["webhook_url"], row["body"].encode(), row["webhook_secret"],
            {"X-Eseal-Event": row["event_type"], "X-Eseal-Event-Id": str(row["event_id"]),
             "X-Eseal-Delivery": str(row["delivery_id"])})
        attempts = row["attempts"] + 1
        retry_in = None if ok or row["last_chance"] else retry_delay(
            attempts, self.settings.webhook_base_delay, self.settings.webhook_max_delay)
        async with self.pool.acquire() as conn:
            await repo.record_attempt(conn, row["delivery_id"], ok=ok, error="" if ok else detail,
                                      retry_in=retry_in)
        if not ok:
            log.info("webhook_attempt_failed", delivery_id=str(row["delivery_id"]), detail=detail,
                     attempts=attempts, gave_up=retry_in is None)


def _before(envelope: dict[str, Any], moment: datetime | None) -> bool:
    """Did the event happen before ``moment`` (the subscriber's creation)?"""
    return moment is not None and datetime.fromisoformat(envelope["occurred_at"]) < moment
