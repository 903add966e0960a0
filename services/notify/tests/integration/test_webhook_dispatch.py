"""The webhook dispatcher against real PostgreSQL: queue once, retry with back-off, give up,
stop for a disabled subscriber. The feed and the HTTP sender are stand-ins."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest_asyncio
from notify.adapters import subscribers as repo
from notify.adapters.subscribers import Subscriber
from notify.bootstrap import MIGRATIONS
from notify.config import NotifySettings
from notify.service_layer.webhooks import Dispatcher

from shared.db import create_pool, drop_database
from shared.service import prepare_database


@pytest_asyncio.fixture
async def settings_and_pool() -> AsyncIterator[tuple[NotifySettings, asyncpg.Pool]]:
    settings = NotifySettings(db_prefix=f"eseal_wh{uuid.uuid4().hex[:8]}_", webhook_base_delay=0.2,
                              webhook_max_delay=0.4, webhook_poll_interval=0.05)
    await prepare_database(settings, MIGRATIONS)
    pool = await create_pool(settings.database_url, min_size=1, max_size=5)
    yield settings, pool
    await pool.close()
    await drop_database(settings.pg_url, settings.db_name)


class Sender:
    def __init__(self, answers: list[bool]) -> None:
        self.answers = answers
        self.sent: list[tuple[str, bytes, str]] = []

    async def post(self, url: str, body: bytes, secret: str, headers: dict[str, Any]) -> tuple[bool, str]:
        self.sent.append((url, body, secret))
        ok = self.answers.pop(0) if self.answers else True
        return ok, "HTTP 204" if ok else "HTTP 503"


def envelope(at: datetime) -> dict[str, Any]:
    return {"event_id": str(uuid.uuid4()), "type": "SealRevoked", "producer": "seals",
            "occurred_at": at.isoformat(), "data": {}}


async def _subscriber(pool: asyncpg.Pool) -> Subscriber:
    s = Subscriber(uuid.uuid4(), "某某系统", f"t{uuid.uuid4().hex[:8]}", ["SealRevoked"],
                   "https://example.gov.cn/hook", "whsec_k", None, None, "")
    async with pool.acquire() as conn:
        await repo.insert(conn, s, "hash")
    return s


async def test_queued_once_retried_then_delivered_and_old_events_skipped(
        settings_and_pool: tuple[NotifySettings, asyncpg.Pool]) -> None:
    settings, pool = settings_and_pool
    s = await _subscriber(pool)
    new, old = envelope(datetime.now(UTC) + timedelta(seconds=1)), envelope(datetime(2020, 1, 1, tzinfo=UTC))
    asked: list[str] = []

    async def fetch(producer: str, after: str, types: list[str], limit: int) -> dict[str, Any]:
        asked.append(after)
        items = [] if after != "0" else [{"position": "7.1", "envelope": old},
                                         {"position": "7.2", "envelope": new}]
        return {"items": items, "next": "7.2" if items else after}

    sender = Sender([False])
    dispatcher = Dispatcher(pool, fetch, sender, settings)  # type: ignore[arg-type]
    assert await dispatcher.collect() == 1  # the event from before the subscriber: not sent
    assert await dispatcher.collect() == 0 and asked[-1] == "7.2"  # resumed after it
    assert await dispatcher.deliver_due() == 1
    async with pool.acquire() as conn:
        [d] = await repo.deliveries(conn, s.subscriber_id, status=None, before=None, limit=10)
    assert (d.status, d.attempts, d.last_error) == ("pending", 1, "HTTP 503")
    assert await dispatcher.deliver_due() == 0  # not due yet: back-off
    await asyncio.sleep(0.4)
    assert await dispatcher.deliver_due() == 1
    async with pool.acquire() as conn:
        [d] = await repo.deliveries(conn, s.subscriber_id, status=None, before=None, limit=10)
    assert (d.status, d.attempts) == ("delivered", 2)
    assert sender.sent[0][2] == "whsec_k" and str(d.event_id) == new["event_id"]


async def test_gives_up_after_the_retry_window_and_stops_for_a_disabled_subscriber(
        settings_and_pool: tuple[NotifySettings, asyncpg.Pool]) -> None:
    settings, pool = settings_and_pool
    s, gone = await _subscriber(pool), await _subscriber(pool)
    async with pool.acquire() as conn:
        await repo.enqueue(conn, s.subscriber_id, uuid.uuid4(), "SealRevoked", "{}", 0.0)  # window over
        await repo.enqueue(conn, gone.subscriber_id, uuid.uuid4(), "SealRevoked", "{}", 3600.0)
        await repo.disable(conn, gone.subscriber_id)

    async def fetch(producer: str, after: str, types: list[str], limit: int) -> dict[str, Any]:
        return {"items": [], "next": after}

    sender = Sender([False, False])
    dispatcher = Dispatcher(pool, fetch, sender, settings)  # type: ignore[arg-type]
    assert await dispatcher.deliver_due() == 1  # only the enabled subscriber's
    async with pool.acquire() as conn:
        [failed] = await repo.deliveries(conn, s.subscriber_id, status=None, before=None, limit=10)
        [cut] = await repo.deliveries(conn, gone.subscriber_id, status=None, before=None, limit=10)
        assert (failed.status, cut.status, cut.attempts) == ("failed", "failed", 0)
        assert await repo.redeliver(conn, s.subscriber_id, failed.delivery_id, 3600.0)
        assert not await repo.redeliver(conn, gone.subscriber_id, failed.delivery_id, 3600.0)
    assert await dispatcher.deliver_due() == 1
    async with pool.acquire() as conn:
        [again] = await repo.deliveries(conn, s.subscriber_id, status=None, before=None, limit=10)
    assert (again.status, again.attempts) == ("pending", 1)  # a new window of retries
