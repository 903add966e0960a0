"""Read models fed by a service's own events.

A ``Projection`` applies stored events to its tables. Services apply it inline, in the
command's transaction (read-your-writes for the API), and a projection can be dropped and
rebuilt by replaying the event store in batches (``rebuild``), e.g. after a schema change.

The rebuild runs in one ``REPEATABLE READ`` transaction that first locks the projection's
tables (``EXCLUSIVE``: readers keep the old rows until it commits) and only then takes its
snapshot. It replays every event of that snapshot. A writer still running at that moment
has either already written the projection (then the lock waited for its commit, and the
snapshot includes it) or will write it after the rebuild commits (the lock makes it wait),
applying its own events itself. So the result equals a live projection, even while other
transactions are open. (Reading only up to the gap-safe horizon, as the relay does, would
silently drop events that committed after a still-running transaction.) The rebuild marks
its transaction as appending no events, so relays keep publishing while it runs.

The checkpoint saved as ``projection:<name>`` is gap-safe: the last replayed event below the
horizon of the snapshot, so a reader continuing from it misses nothing (apply is idempotent).
"""

from __future__ import annotations

import abc
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

import asyncpg

from .eventstore import (
    HORIZON_OF_OTHERS,
    NO_EVENT_WRITES,
    Checkpoint,
    EventStore,
    StoredEvent,
    save_checkpoint,
)
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
    async with pool.acquire() as proxy, proxy.transaction(isolation="repeatable_read"):
        conn = cast(asyncpg.Connection, proxy)  # a pooled connection is a Connection at run time
        if projection.tables:  # before any query: the snapshot must be taken after the lock
            await conn.execute(f"LOCK TABLE {', '.join(projection.tables)} IN EXCLUSIVE MODE")
        # Appends nothing: relays need not wait for this (possibly long) transaction.
        await conn.execute(f"SET LOCAL application_name = '{NO_EVENT_WRITES}'")
        horizon = await _snapshot_horizon(conn)
        await projection.reset(conn)
        count, position = await _replay(conn, store, projection, horizon, batch_size)
        await save_checkpoint(conn, f"projection:{projection.name}", position)
    report = RebuildReport(projection.name, count, time.perf_counter() - started, position)
    log.info("projection_rebuilt", projection=projection.name, events=count,
             seconds=round(report.seconds, 3), rate=round(report.rate))
    return report


async def _snapshot_horizon(conn: asyncpg.Connection) -> int:
    """Gap-safe horizon of the transaction's snapshot (the rebuild appends nothing itself)."""
    return int(await conn.fetchval(f"SELECT {HORIZON_OF_OTHERS}::text::bigint"))


async def _replay(conn: asyncpg.Connection, store: EventStore, projection: Projection,
                  horizon: int, batch_size: int) -> tuple[int, Checkpoint]:
    """Apply every event of the snapshot; return the count and the gap-safe checkpoint."""
    count, cursor, safe = 0, Checkpoint(), Checkpoint()
    while True:
        batch = await store.replay(conn, cursor, batch_size)
        if not batch:
            return count, safe
        await projection.apply_batch(conn, batch)
        count += len(batch)
        cursor = batch[-1].checkpoint
        below = [ev for ev in batch if ev.xact_id < horizon]
        if below:
            safe = below[-1].checkpoint
