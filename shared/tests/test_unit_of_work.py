"""The unit of work on real PostgreSQL: events, projections and the service's own rows
commit together, nothing is written when the block raises, a stale version conflicts."""

from __future__ import annotations

import asyncpg
import pytest
import pytest_asyncio

from shared.errors import ConcurrencyError
from shared.eventstore import EventStore
from shared.unit_of_work import Database

from .support import ThingAdded, ThingTotals, table_rows

NOTES = "CREATE TABLE IF NOT EXISTS thing_notes (stream_id text PRIMARY KEY, note text NOT NULL)"


@pytest_asyncio.fixture
async def db(pool: asyncpg.Pool, store: EventStore) -> Database:
    async with pool.acquire() as conn:
        await conn.execute(ThingTotals.DDL)
        await conn.execute(NOTES)
    return Database(pool, store, (ThingTotals(),))


async def _state(db: Database) -> tuple[int, list[tuple[object, ...]], list[tuple[object, ...]]]:
    async with db.connection() as uow:
        events = await uow.conn.fetchval("SELECT count(*) FROM events")
        totals = await table_rows(uow.conn, "thing_totals", "stream_id")
        notes = await table_rows(uow.conn, "thing_notes", "stream_id")
    return int(events), totals, notes


async def _add(db: Database, stream: str, version: int, amounts: list[int], *, fail: bool = False) -> None:
    async with db.transaction() as uow:
        await uow.append(stream, "thing", version, [ThingAdded(amount=a) for a in amounts])
        await uow.conn.execute("INSERT INTO thing_notes VALUES ($1, 'n') ON CONFLICT DO NOTHING", stream)
        if fail:
            raise RuntimeError("the command fails after writing")


async def test_commits_events_projection_and_rows_together(db: Database) -> None:
    await _add(db, "t-1", 0, [2, 3])
    await _add(db, "t-1", 2, [5])
    assert await _state(db) == (3, [("t-1", 10, 3, 3)], [("t-1", "n")])
    async with db.connection() as uow:
        assert [e.version for e in await uow.load("t-1")] == [1, 2, 3]
        assert [e.version for e in await uow.load("t-1", after_version=2)] == [3]


async def test_nothing_is_written_when_the_block_raises(db: Database) -> None:
    with pytest.raises(RuntimeError):
        await _add(db, "t-1", 0, [2], fail=True)
    assert await _state(db) == (0, [], [])


async def test_a_stale_version_conflicts_and_rolls_back(db: Database) -> None:
    await _add(db, "t-1", 0, [1])
    with pytest.raises(ConcurrencyError):
        await _add(db, "t-1", 0, [7])  # another writer got version 1 first
    with pytest.raises(ConcurrencyError):
        await _add(db, "t-1", 5, [7])  # a version the stream has not reached
    assert await _state(db) == (1, [("t-1", 1, 1, 1)], [("t-1", "n")])


async def test_appending_outside_a_transaction_is_refused(db: Database) -> None:
    async with db.connection() as uow:
        with pytest.raises(RuntimeError, match="transaction"):
            await uow.append("t-1", "thing", 0, [ThingAdded(amount=1)])
    assert await _state(db) == (0, [], [])
