"""The unit of work: one transaction that appends events and keeps the inline projections.

Why: every service persisted a command the same way by hand (acquire a connection, open a
transaction, ``store.append`` with the expected version, apply the inline projections to
what was stored, write the service's own tables, commit) and each spelled it a little
differently. Here it is spelled once:

* ``Database.transaction()`` yields a ``UnitOfWork``: everything done through it (events,
  projections, the service's own SQL on ``uow.conn``) commits together when the block
  ends, and nothing is written when it raises.
* ``UnitOfWork.append`` is the event store's append (optimistic concurrency: a stale
  ``expected_version`` raises ``ConcurrencyError``, and the transaction is rolled back) and
  then applies every inline projection to the stored events, in the same transaction, so
  the API reads its own writes.
* ``Database.connection()`` yields a unit of work without a transaction, for reads and for
  single statements that are atomic on their own; appending there is refused (events and
  their projections must commit together).

A service's repository wraps the unit of work (its SQL on ``uow.conn``, its streams through
``uow.append``/``uow.load``); its service layer sees only the repository port.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any, cast

import asyncpg

from .events import DomainEvent
from .eventstore import EventStore, StoredEvent
from .projections import Projection


class UnitOfWork:
    """One connection (in a transaction, or not), the event store and the inline projections."""

    def __init__(self, conn: asyncpg.Connection, store: EventStore,
                 projections: Sequence[Projection] = ()) -> None:
        self.conn = conn
        self.store = store
        self.projections = tuple(projections)

    async def append(self, stream_id: str | uuid.UUID, stream_type: str, expected_version: int,
                     events: Sequence[DomainEvent], *,
                     metadata: dict[str, Any] | None = None) -> list[StoredEvent]:
        """Append after ``expected_version`` (0: a new stream) and project what was stored."""
        if not self.conn.is_in_transaction():
            raise RuntimeError("events are appended in a transaction: use Database.transaction()")
        stored = await self.store.append(self.conn, stream_id, stream_type, expected_version, events,
                                         metadata=metadata)
        for projection in self.projections:
            await projection.apply_batch(self.conn, stored)
        return stored

    async def load(self, stream_id: str | uuid.UUID, after_version: int = 0) -> list[StoredEvent]:
        return await self.store.load(self.conn, stream_id, after_version)


@dataclass(frozen=True)
class Database:
    """Where units of work come from: the service's pool, event store and inline projections."""

    pool: asyncpg.Pool
    store: EventStore
    projections: Sequence[Projection] = ()

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[UnitOfWork]:
        """Commits when the block ends; rolls everything back when it raises."""
        async with self.pool.acquire() as proxy, proxy.transaction():
            yield UnitOfWork(cast(asyncpg.Connection, proxy), self.store, self.projections)

    @contextlib.asynccontextmanager
    async def connection(self) -> AsyncIterator[UnitOfWork]:
        """No transaction: each statement commits on its own (reads, single writes)."""
        async with self.pool.acquire() as proxy:
            yield UnitOfWork(cast(asyncpg.Connection, proxy), self.store, self.projections)
