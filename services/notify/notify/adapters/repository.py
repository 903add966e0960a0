"""Messages in PostgreSQL: writing them (with the push notification) and reading them.

Each recipient has an inbox row holding the last sequence number. Writing a message takes
the next number with an UPDATE, which locks the row until the transaction ends: a recipient's
messages therefore commit in sequence order, and a reader that asks for "seq > last seen"
never passes one that commits later. Recipients are locked in id order so that two events
for overlapping recipients cannot deadlock.

The transaction also sends ``NOTIFY notify_messages, '<recipient id>'``: PostgreSQL delivers
it at commit to every notify replica listening, which wakes that recipient's open streams.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from shared.db import Conn

from ..domain import Draft

CHANNEL = "notify_messages"


@dataclass(frozen=True)
class Message:
    message_id: uuid.UUID
    seq: int
    kind: str
    title: str
    body: str
    created_at: datetime
    read: bool


def _message(r: asyncpg.Record) -> Message:
    return Message(**dict(r))


async def deliver(conn: Conn, event_id: uuid.UUID, drafts: Sequence[Draft]) -> list[uuid.UUID]:
    """Write each draft once per (event, recipient); returns the recipients written to now."""
    written: list[uuid.UUID] = []
    for d in sorted(drafts, key=lambda d: d.recipient_id.int):
        inserted = await conn.fetchval(
            """
            WITH n AS (
              INSERT INTO inboxes AS i (recipient_id, last_seq) VALUES ($1, 1)
              ON CONFLICT (recipient_id) DO UPDATE SET last_seq = i.last_seq + 1
              RETURNING last_seq)
            INSERT INTO messages (message_id, recipient_id, seq, event_id, kind, title, body)
            SELECT $2, $1, n.last_seq, $3, $4, $5, $6 FROM n
            ON CONFLICT ON CONSTRAINT messages_event_recipient DO NOTHING
            RETURNING true
            """,
            d.recipient_id, uuid.uuid4(), event_id, d.kind, d.title, d.body)
        if inserted:
            written.append(d.recipient_id)
    if written:  # delivered by PostgreSQL at commit, to every listening replica
        await conn.execute("SELECT pg_notify($1, r) FROM unnest($2::text[]) AS r",
                           CHANNEL, [str(r) for r in written])
    return written


# reading ----------------------------------------------------------------------------------


async def page(conn: Conn, recipient: uuid.UUID, *, unread_only: bool,
               before_seq: int | None, limit: int) -> list[Message]:
    """Newest first; ``limit + 1`` rows at most, so the caller can tell whether more exist."""
    rows = await conn.fetch(
        "SELECT message_id, seq, kind, title, body, created_at, read_at IS NOT NULL AS read"
        " FROM messages"
        " WHERE recipient_id = $1 AND ($2::bigint IS NULL OR seq < $2)"
        "   AND (NOT $3 OR read_at IS NULL)"
        " ORDER BY seq DESC LIMIT $4",
        recipient, before_seq, unread_only, limit + 1)
    return [_message(r) for r in rows]


async def unread_count(conn: Conn, recipient: uuid.UUID) -> int:
    return int(await conn.fetchval(
        "SELECT count(*) FROM messages WHERE recipient_id = $1 AND read_at IS NULL", recipient))


async def after(conn: Conn, recipient: uuid.UUID, seq: int, limit: int) -> list[Message]:
    """Oldest first, the messages after ``seq`` (what a stream has not sent yet)."""
    rows = await conn.fetch(
        "SELECT message_id, seq, kind, title, body, created_at, read_at IS NOT NULL AS read"
        " FROM messages WHERE recipient_id = $1 AND seq > $2"
        " ORDER BY seq LIMIT $3", recipient, seq, limit)
    return [_message(r) for r in rows]


async def last_seq(conn: Conn, recipient: uuid.UUID) -> int:
    return int(await conn.fetchval(
        "SELECT coalesce((SELECT last_seq FROM inboxes WHERE recipient_id = $1), 0)", recipient))


async def seq_of(conn: Conn, recipient: uuid.UUID, message_id: uuid.UUID) -> int | None:
    value = await conn.fetchval(
        "SELECT seq FROM messages WHERE recipient_id = $1 AND message_id = $2", recipient, message_id)
    return int(value) if value is not None else None


async def mark_read(conn: Conn, recipient: uuid.UUID, message_id: uuid.UUID) -> bool:
    """False when the recipient has no such message (someone else's is no different)."""
    found = await conn.fetchval(
        "UPDATE messages SET read_at = coalesce(read_at, now())"
        " WHERE recipient_id = $1 AND message_id = $2 RETURNING true", recipient, message_id)
    return bool(found)


async def mark_all_read(conn: Conn, recipient: uuid.UUID) -> int:
    status = await conn.execute(
        "UPDATE messages SET read_at = now() WHERE recipient_id = $1 AND read_at IS NULL", recipient)
    return int(status.split()[-1])
