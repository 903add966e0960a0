"""Read models fed by a service's own events.

A ``Projection`` applies stored events to its tables. Services apply it inline, in the
command's transaction (read-your-writes for the API), and a projection can be dropped and
rebuilt by replaying the event store in batches (``rebuild``), e.g. after a schema change.
The rebuild runs in one transaction: readers keep the old rows until it commits, and
inline writers wait for it (``LOCK``), so the result equals a live projection.
"""

from __future__ import annotations

import abc
import time
from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg

from .eventstore import Checkpoint, EventStore, StoredEvent, save_checkpoint
from .logging import get_logger

log = get_logger(__name__)


class Projection(abc.ABC):
    """Subclass: set ``name`` and ``tables``; implement ``apply`` (and ``apply_batch`` for speed)."""

    name: str = "projection"
    tables: Sequence[str] = ()

    @abc.abstractmethod
    async def apply(self, conn: asyncpg.Connection, event: StoredEvent) -> None:
        """Fold one event into the read model (must be idempotent)."""

    async def apply_batch(self, conn: asyncpg.Connection, events: Sequence[StoredEvent]) -> None:
        for ev in events:
            await self.apply(conn, ev)

    async def reset(self, conn: asyncpg.Connection) -> None:
        if self.tables:
            await conn.execute(f"TRUNCATE {', '.join(self.tables)}")


@dataclass(frozen=True)
class RebuildReport:
    projection: str
    events: int
    seconds: float
    position: Checkpoint

    @property
    def rate(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else float("inf")


async def rebuild(pool: asyncpg.Pool, store: EventStore, projection: Projection,
                  *, batch_size: int = 5000) -> RebuildReport:
    """Drop the projection's rows and replay every committed event into it."""
    started = time.perf_counter()
    count, position = 0, Checkpoint()
    async with pool.acquire() as conn, conn.transaction():
        if projection.tables:
            await conn.execute(f"LOCK TABLE {', '.join(projection.tables)} IN EXCLUSIVE MODE")
        await projection.reset(conn)
        while True:
            batch = await store.read_all(conn, position, batch_size)
            if not batch:
                break
            await projection.apply_batch(conn, batch)
            count += len(batch)
            position = batch[-1].checkpoint
        await save_checkpoint(conn, f"projection:{projection.name}", position)
    report = RebuildReport(projection.name, count, time.perf_counter() - started, position)
    log.info("projection_rebuilt", projection=projection.name, events=count,
             seconds=round(report.seconds, 3), rate=round(report.rate))
    return report
