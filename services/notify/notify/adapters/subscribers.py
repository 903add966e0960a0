"""Subscribers and their webhook deliveries in PostgreSQL (migration 0003)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from shared.db import Conn


@dataclass(frozen=True)
class Subscriber:
    subscriber_id: uuid.UUID
    name: str
    slug: str
    event_types: list[str]
    webhook_url: str | None
    webhook_secret: str
    created_at: datetime | None
    disabled_at: datetime | None
    webhook_cursor: str

    @property
    def disabled(self) -> bool:
        return self.disabled_at is not None


_COLUMNS = ("subscriber_id, name, slug, event_types, webhook_url, webhook_secret, created_at,"
            " disabled_at, webhook_cursor")


def _subscriber(r: asyncpg.Record) -> Subscriber:
    return Subscriber(**{**dict(r), "event_types": list(r["event_types"])})


async def insert(conn: Conn, s: Subscriber, secret_hash: str) -> None:
    await conn.execute(
        "INSERT INTO subscribers (subscriber_id, name, slug, event_types, webhook_url, secret_hash,"
        " webhook_secret) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        s.subscriber_id, s.name, s.slug, s.event_types, s.webhook_url, secret_hash, s.webhook_secret)


async def slug_taken(conn: Conn, slug: str) -> bool:
    return bool(await conn.fetchval("SELECT true FROM subscribers WHERE slug = $1", slug))


async def get(conn: Conn, subscriber_id: uuid.UUID) -> Subscriber | None:
    row = await conn.fetchrow(f"SELECT {_COLUMNS} FROM subscribers WHERE subscriber_id = $1",  # noqa: S608
                              subscriber_id)
    return _subscriber(row) if row else None


async def find(conn: Conn, key: str) -> Subscriber | None:
    """By id or slug (what ops type)."""
    try:
        return await get(conn, uuid.UUID(key))
    except ValueError:
        row = await conn.fetchrow(f"SELECT {_COLUMNS} FROM subscribers WHERE slug = $1", key)  # noqa: S608
        return _subscriber(row) if row else None


async def list_all(conn: Conn) -> list[Subscriber]:
    rows = await conn.fetch(f"SELECT {_COLUMNS} FROM subscribers ORDER BY created_at")  # noqa: S608
    return [_subscriber(r) for r in rows]


async def with_webhooks(conn: Conn) -> list[Subscriber]:
    rows = await conn.fetch(f"SELECT {_COLUMNS} FROM subscribers"  # noqa: S608
                            " WHERE webhook_url IS NOT NULL AND disabled_at IS NULL")
    return [_subscriber(r) for r in rows]


async def secret_hash(conn: Conn, subscriber_id: uuid.UUID) -> str | None:
    value = await conn.fetchval(
        "SELECT secret_hash FROM subscribers WHERE subscriber_id = $1 AND disabled_at IS NULL",
        subscriber_id)
    return str(value) if value is not None else None


async def disable(conn: Conn, subscriber_id: uuid.UUID) -> bool:
    done = await conn.fetchval(
        "UPDATE subscribers SET disabled_at = now() WHERE subscriber_id = $1 AND disabled_at IS NULL"
        " RETURNING true", subscriber_id)
    await conn.execute("UPDATE webhook_deliveries SET status = 'failed', last_error = 'subscriber disabled'"
                       " WHERE subscriber_id = $1 AND status = 'pending'", subscriber_id)
    return bool(done)


async def rotate(conn: Conn, subscriber_id: uuid.UUID, secret_hash: str, webhook_secret: str) -> None:
    await conn.execute("UPDATE subscribers SET secret_hash = $2, webhook_secret = $3"
                       " WHERE subscriber_id = $1", subscriber_id, secret_hash, webhook_secret)


async def save_cursor(conn: Conn, subscriber_id: uuid.UUID, cursor: str) -> None:
    await conn.execute("UPDATE subscribers SET webhook_cursor = $2 WHERE subscriber_id = $1",
                       subscriber_id, cursor)


# webhook deliveries ----------------------------------------------------------------------


@dataclass(frozen=True)
class Delivery:
    delivery_id: uuid.UUID
    subscriber_id: uuid.UUID
    event_id: uuid.UUID
    event_type: str
    status: str
    attempts: int
    next_attempt_at: datetime
    last_error: str
    created_at: datetime
    delivered_at: datetime | None


_DELIVERY = ("delivery_id, subscriber_id, event_id, event_type, status, attempts, next_attempt_at,"
             " last_error, created_at, delivered_at")


async def enqueue(conn: Conn, subscriber_id: uuid.UUID, event_id: uuid.UUID, event_type: str,
                  body: str, retry_seconds: float) -> None:
    await conn.execute(
        "INSERT INTO webhook_deliveries (delivery_id, subscriber_id, event_id, event_type, body,"
        " give_up_at) VALUES ($1, $2, $3, $4, $5, now() + make_interval(secs => $6))"
        " ON CONFLICT ON CONSTRAINT webhook_deliveries_once DO NOTHING",
        uuid.uuid4(), subscriber_id, event_id, event_type, body, retry_seconds)


async def claim_due(conn: Conn, limit: int, lease_seconds: float) -> list[asyncpg.Record]:
    """Due deliveries of enabled subscribers, leased: not due again for ``lease_seconds``
    (another replica does not take them meanwhile; a crash retries them after the lease)."""
    return await conn.fetch(
        "WITH due AS (SELECT d.delivery_id FROM webhook_deliveries d"
        " JOIN subscribers s USING (subscriber_id)"
        " WHERE d.status = 'pending' AND d.next_attempt_at <= now() AND s.disabled_at IS NULL"
        " AND s.webhook_url IS NOT NULL ORDER BY d.next_attempt_at LIMIT $1"
        " FOR UPDATE OF d SKIP LOCKED)"
        " UPDATE webhook_deliveries d SET next_attempt_at = now() + make_interval(secs => $2)"
        " FROM due, subscribers s WHERE d.delivery_id = due.delivery_id"
        " AND s.subscriber_id = d.subscriber_id"
        " RETURNING d.delivery_id, d.event_id, d.event_type, d.body, d.attempts,"
        " d.give_up_at <= now() AS last_chance, s.webhook_url, s.webhook_secret",
        limit, lease_seconds)


async def record_attempt(conn: Conn, delivery_id: uuid.UUID, *, ok: bool, error: str,
                         retry_in: float | None) -> None:
    """``retry_in`` None with ``ok`` False: given up."""
    status = "delivered" if ok else ("pending" if retry_in is not None else "failed")
    await conn.execute(
        "UPDATE webhook_deliveries SET attempts = attempts + 1, status = $2, last_error = $3,"
        " delivered_at = CASE WHEN $2 = 'delivered' THEN now() END,"
        " next_attempt_at = now() + make_interval(secs => $4)"
        " WHERE delivery_id = $1", delivery_id, status, error[:500], retry_in or 0.0)


async def deliveries(conn: Conn, subscriber_id: uuid.UUID, *, status: str | None,
                     before: datetime | None, limit: int) -> list[Delivery]:
    rows = await conn.fetch(
        f"SELECT {_DELIVERY} FROM webhook_deliveries WHERE subscriber_id = $1"  # noqa: S608
        " AND ($2::text IS NULL OR status = $2) AND ($3::timestamptz IS NULL OR created_at < $3)"
        " ORDER BY created_at DESC LIMIT $4", subscriber_id, status, before, limit)
    return [Delivery(**dict(r)) for r in rows]


async def redeliver(conn: Conn, subscriber_id: uuid.UUID, delivery_id: uuid.UUID,
                    retry_seconds: float) -> bool:
    """Due again now, retried afresh; False when it is not this subscriber's."""
    return bool(await conn.fetchval(
        "UPDATE webhook_deliveries SET status = 'pending', attempts = 0, next_attempt_at = now(),"
        " give_up_at = now() + make_interval(secs => $3)"
        " WHERE delivery_id = $1 AND subscriber_id = $2 RETURNING true",
        delivery_id, subscriber_id, retry_seconds))


_COLLECT_LOCK = 0x6E_6F74_6966_7977  # "notifyw"


async def take_collect_lock(conn: Conn) -> bool:
    """The webhook collection's lock, for this transaction: one replica collects at a time."""
    return bool(await conn.fetchval("SELECT pg_try_advisory_xact_lock($1)", _COLLECT_LOCK))
