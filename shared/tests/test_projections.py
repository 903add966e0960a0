"""Projections: a rebuild from scratch equals the live, inline-applied read model."""

from __future__ import annotations

import asyncio
import random
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import asyncpg
import pytest_asyncio

from shared.db import connect
from shared.errors import ConcurrencyError
from shared.eventstore import Checkpoint, Conn, EventStore, StoredEvent, load_checkpoint
from shared.projections import rebuild

from .support import ThingAdded, ThingTotals, append_things, table_rows

Rows = list[tuple[Any, ...]]


@pytest_asyncio.fixture
async def projection(pool: asyncpg.Pool) -> ThingTotals:
    async with pool.acquire() as conn:
        await conn.execute(ThingTotals.DDL)
    return ThingTotals()


async def add_things(pool: asyncpg.Pool, store: EventStore, projection: ThingTotals, stream: str,
                     amounts: list[int]) -> list[StoredEvent]:
    """A command: append to the stream and apply the projection inline, retrying on conflict."""
    while True:
        async with pool.acquire() as conn:
            try:
                async with conn.transaction():
                    version = await conn.fetchval(
                        "SELECT coalesce(max(version), 0) FROM events WHERE stream_id = $1", stream)
                    stored = await store.append(conn, stream, "thing", version,
                                                [ThingAdded(amount=a) for a in amounts])
                    await projection.apply_batch(conn, stored)
                    return stored
            except ConcurrencyError:
                await asyncio.sleep(random.random() / 100)


async def run_commands(pool: asyncpg.Pool, store: EventStore, projection: ThingTotals,
                       writers: int = 8, commands: int = 40, seed: int = 1) -> None:
    rnd = random.Random(seed)
    plans = [[(f"thing-{rnd.randrange(12)}", [rnd.randrange(1, 100) for _ in range(rnd.randrange(1, 4))])
              for _ in range(commands)] for _ in range(writers)]

    async def writer(plan: list[tuple[str, list[int]]]) -> None:
        for stream, amounts in plan:
            await add_things(pool, store, projection, stream, amounts)

    await asyncio.gather(*(writer(p) for p in plans))


async def projection_rows(pool: asyncpg.Pool) -> Rows:
    async with pool.acquire() as conn:
        return await table_rows(conn, "thing_totals", "stream_id")


async def folded_from_events(pool: asyncpg.Pool) -> Rows:
    """What the projection must contain: a plain fold of every stored event."""
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    async with pool.acquire() as conn:
        for r in await conn.fetch("SELECT stream_id, version, data FROM events ORDER BY stream_id, version"):
            t = totals[r["stream_id"]]
            t[0] += r["data"]["amount"]
            t[1] += 1
            t[2] = r["version"]
    return [(s, *v) for s, v in sorted(totals.items())]


async def test_a_projection_rebuilt_from_scratch_equals_the_live_one(
        pool: asyncpg.Pool, store: EventStore, projection: ThingTotals) -> None:
    await run_commands(pool, store, projection)
    live = await projection_rows(pool)
    report = await rebuild(pool, store, projection, batch_size=50)
    assert await projection_rows(pool) == live == await folded_from_events(pool)
    async with pool.acquire() as conn:
        assert report.events == await conn.fetchval("SELECT count(*) FROM events")
        assert report.position == await store.head(conn)
        assert await load_checkpoint(conn, "projection:thing_totals") == report.position


async def test_rebuild_keeps_events_committed_after_a_still_open_append(
        dsn: str, pool: asyncpg.Pool, store: EventStore, projection: ThingTotals) -> None:
    """A command that appended but has not committed yet must not hide later commits."""
    await add_things(pool, store, projection, "thing-a", [1])
    slow = await connect(dsn)
    try:
        tx = slow.transaction()
        await tx.start()
        held = await store.append(slow, "thing-slow", "thing", 0, [ThingAdded(amount=5)])
        await add_things(pool, store, projection, "thing-b", [2])  # commits after `held` began
        report = await rebuild(pool, store, projection)
        assert report.events == 2
        await projection.apply_batch(slow, held)  # the slow command finishes its inline apply
        await tx.commit()
    finally:
        await slow.close()
    assert await projection_rows(pool) == await folded_from_events(pool)
    async with pool.acquire() as conn:  # the saved position does not pass the open append
        assert await load_checkpoint(conn, "projection:thing_totals") < held[0].checkpoint


async def test_rebuild_while_commands_keep_running_ends_equal_to_the_events(
        pool: asyncpg.Pool, store: EventStore, projection: ThingTotals) -> None:
    await run_commands(pool, store, projection, writers=4, commands=20, seed=2)
    commands = asyncio.create_task(run_commands(pool, store, projection, writers=6, commands=30, seed=3))
    reports = []
    running_at_start = []
    while True:  # at least one rebuild, the first begun as the commands begin (no fixed sleep:
        # on a fast machine the commands had finished before a rebuild ever started)
        running_at_start.append(not commands.done())
        reports.append(await rebuild(pool, store, projection, batch_size=25))
        if commands.done():
            break
    await commands
    assert len(reports) >= 1 and running_at_start[0]
    assert await projection_rows(pool) == await folded_from_events(pool)


async def test_rebuild_of_an_empty_store_empties_the_projection(
        pool: asyncpg.Pool, store: EventStore, projection: ThingTotals) -> None:
    async with pool.acquire() as conn:
        await conn.execute("INSERT INTO thing_totals VALUES ('stale', 1, 1, 1)")
    report = await rebuild(pool, store, projection)
    assert (report.events, report.position) == (0, Checkpoint())
    assert await projection_rows(pool) == []


class BlockingTotals(ThingTotals):
    """Holds the rebuild's transaction open until released."""

    def __init__(self) -> None:
        self.inside, self.release = asyncio.Event(), asyncio.Event()

    async def apply_batch(self, conn: Conn, events: Sequence[StoredEvent]) -> None:
        self.inside.set()
        await self.release.wait()
        await super().apply_batch(conn, events)


async def test_a_running_rebuild_does_not_hold_back_the_global_reader(
        pool: asyncpg.Pool, store: EventStore) -> None:
    blocking = BlockingTotals()
    async with pool.acquire() as conn:
        await conn.execute(ThingTotals.DDL)
    await add_things(pool, store, ThingTotals(), "thing-a", [1])
    rebuilding = asyncio.create_task(rebuild(pool, store, blocking))
    try:
        await asyncio.wait_for(blocking.inside.wait(), 10)  # the rebuild has truncated: it has an xid
        (later,) = await append_things(pool, store, "thing-b", [2])
        async with pool.acquire() as conn:
            assert [e.stream_id for e in await store.read_all(conn, Checkpoint())] == ["thing-a", "thing-b"]
            assert await store.head(conn) == later.checkpoint
    finally:
        blocking.release.set()
        await rebuilding
