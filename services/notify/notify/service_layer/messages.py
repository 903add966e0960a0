"""Use cases of a principal's own messages: list a page, mark read, follow new ones.

A principal only ever reaches messages addressed to its own id: someone else's message is
"not found", exactly like one that does not exist.
"""

from __future__ import annotations

import enum
import time
import uuid
from collections.abc import AsyncGenerator
from dataclasses import dataclass

import asyncpg

from shared import cursors
from shared.errors import NotFound

from ..adapters import repository as inbox
from ..adapters.repository import Message
from .ports import Wakeups


@dataclass(frozen=True)
class Page:
    items: list[Message]
    next_cursor: str | None
    unread_count: int


MAX_SEQ = 2**63 - 1  # the column is a bigint: a larger "cursor" is not one this list gave


def encode_cursor(seq: int) -> str:
    return cursors.encode(seq)


def decode_cursor(cursor: str) -> int:
    (seq,) = cursors.decode(cursor, int)
    if not 1 <= seq <= MAX_SEQ:
        raise cursors.InvalidCursor()
    return int(seq)


async def list_messages(pool: asyncpg.Pool, recipient: uuid.UUID, *, unread_only: bool,
                        limit: int, cursor: str | None) -> Page:
    before = decode_cursor(cursor) if cursor else None
    async with pool.acquire() as conn:
        rows = await inbox.page(conn, recipient, unread_only=unread_only, before_seq=before,
                                limit=limit)
        unread = await inbox.unread_count(conn, recipient)
    items = rows[:limit]
    more = len(rows) > limit
    return Page(items, encode_cursor(items[-1].seq) if more else None, unread)


async def mark_read(pool: asyncpg.Pool, recipient: uuid.UUID, message_id: uuid.UUID) -> None:
    async with pool.acquire() as conn:
        if not await inbox.mark_read(conn, recipient, message_id):
            raise NotFound("no such message", code="message_not_found")


async def mark_all_read(pool: asyncpg.Pool, recipient: uuid.UUID) -> int:
    async with pool.acquire() as conn:
        return await inbox.mark_all_read(conn, recipient)


async def unread_count(pool: asyncpg.Pool, recipient: uuid.UUID) -> int:
    async with pool.acquire() as conn:
        return await inbox.unread_count(conn, recipient)


# following new messages -----------------------------------------------------------------

class Signal(enum.Enum):
    READY = "ready"  # the starting point is fixed: anything committed later will follow
    HEARTBEAT = "heartbeat"  # nothing new for a while
    EXPIRED = "expired"  # the caller's access token ran out: reconnect with a fresh one


class Follower:
    """The messages of one recipient from a starting point on, as they commit.

    Subscribe to the hub *before* reading the starting point: a message that commits after
    that read wakes the subscription, one that committed before is at or below the start.
    Resuming after ``last_event_id`` (a message id of this recipient) replays what came
    after it; an unknown id starts from now.
    """

    batch = 100

    def __init__(self, pool: asyncpg.Pool, hub: Wakeups, recipient: uuid.UUID,
                 heartbeat: float) -> None:
        self.pool, self.hub, self.recipient, self.heartbeat = pool, hub, recipient, heartbeat

    async def start_after(self, last_event_id: str | None) -> int:
        async with self.pool.acquire() as conn:
            resume = _uuid(last_event_id)
            if resume is not None:
                seq = await inbox.seq_of(conn, self.recipient, resume)
                if seq is not None:
                    return seq
            return await inbox.last_seq(conn, self.recipient)

    async def follow(self, last_event_id: str | None,
                     until: float | None = None) -> AsyncGenerator[Message | Signal, None]:
        """READY once, then each new message in order, HEARTBEAT when idle. Ends with
        EXPIRED at ``until`` (epoch seconds: the access token's expiry), or silently when the
        hub closes (shutdown)."""
        with self.hub.subscribe(self.recipient) as sub:
            seq = await self.start_after(last_event_id)
            yield Signal.READY
            while not sub.closed:
                async with self.pool.acquire() as conn:
                    fresh = await inbox.after(conn, self.recipient, seq, self.batch)
                for message in fresh:
                    seq = message.seq
                    yield message
                if len(fresh) == self.batch:
                    continue  # more are waiting: no need to sleep
                left = self.heartbeat if until is None else min(self.heartbeat, until - time.time())
                if left <= 0:
                    yield Signal.EXPIRED
                    return
                if not await sub.wait(left) and not sub.closed and left == self.heartbeat:
                    yield Signal.HEARTBEAT


def _uuid(value: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(value.strip()) if value else None
    except ValueError:
        return None
