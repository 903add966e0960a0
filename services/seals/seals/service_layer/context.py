"""What every use case works with: the context (dependencies, the clock, background work),
appends to the event store with their inline projection, and list cursors."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, cast

import asyncpg

from shared import cursors
from shared.china_time import china_today
from shared.db import Conn
from shared.events import DomainEvent, utcnow
from shared.eventstore import EventStore, StoredEvent

from ..adapters.images import Images
from ..projections.state import STATE
from .ports import CertificateAuthority, FaceTokens, PersonRegistry


@dataclass
class Seals:
    """Dependencies of the use cases, wired once in bootstrap (fakes in tests)."""

    pool: asyncpg.Pool
    store: EventStore
    face: FaceTokens
    persons: PersonRegistry
    ca: CertificateAuthority
    images: Images
    clock: Callable[[], datetime] = utcnow
    # How long a change by an agent waits for its AgentAdded event (see domain.access).
    agent_sync_wait: float = 3.0
    background: set[asyncio.Task[Any]] = field(default_factory=set)

    def now(self) -> datetime:
        return self.clock()

    def today(self) -> date:
        return china_today(self.clock())

    def spawn(self, work: Awaitable[Any]) -> None:
        """Run follow-up work without making the caller wait (kept referenced until done)."""
        task: asyncio.Task[Any] = asyncio.ensure_future(work)
        self.background.add(task)
        task.add_done_callback(self.background.discard)


async def append(ctx: Seals, conn: Conn, stream_id: uuid.UUID, stream_type: str,
                 expected_version: int, events: Sequence[DomainEvent],
                 actor: uuid.UUID | None) -> list[StoredEvent]:
    """Append and fold into the state tables, in the caller's transaction."""
    metadata = {"actor_id": str(actor)} if actor else None
    stored = await ctx.store.append(cast(asyncpg.Connection, conn), stream_id, stream_type,
                                    expected_version, events, metadata=metadata)
    for ev in stored:
        await STATE.apply(conn, ev)
    return stored


async def load(ctx: Seals, conn: Conn, stream_id: uuid.UUID) -> list[DomainEvent]:
    return [e.decode() for e in await ctx.store.load(cast(asyncpg.Connection, conn), stream_id)]


def cursor_position(cursor: str | None) -> tuple[datetime, uuid.UUID] | None:
    """Where a list continues; 422 ``invalid_cursor`` for anything this API did not give out."""
    if not cursor:
        return None
    at, key = cursors.decode(cursor, datetime, uuid.UUID)
    return at, key
