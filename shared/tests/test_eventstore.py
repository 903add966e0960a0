"""The event store: optimistic concurrency, gap-safe global order, upcasting on read."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from shared.db import connect
from shared.errors import ConcurrencyError
from shared.events import Envelope
from shared.eventstore import Checkpoint, EventStore, StoredEvent

from .conftest import PG_URL
from .support import ThingAdded, ThingRenamed, append_things


async def test_concurrent_appends_at_the_same_expected_version_commit_exactly_one(
        dsn: str, store: EventStore) -> None:
    writers = 10
    setup = await connect(dsn)
    await store.append(setup, "thing-1", "thing", 0, [ThingAdded(amount=0)])
    conns = [await connect(dsn) for _ in range(writers)]
    start = asyncio.Event()

    async def write(i: int, conn: asyncpg.Connection) -> list[StoredEvent]:
        async with conn.transaction():
            await start.wait()
            stored = await store.append(conn, "thing-1", "thing", 1, [ThingAdded(amount=i)])
            await asyncio.sleep(0.2)  # stay uncommitted while the others try
            return stored

    try:
        tasks = [asyncio.create_task(write(i, c)) for i, c in enumerate(conns)]
        start.set()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        winners = [r for r in results if isinstance(r, list)]
        losers = [r for r in results if isinstance(r, ConcurrencyError)]
        assert len(winners) == 1 and len(losers) == writers - 1, results
        stream = await store.load(setup, "thing-1")
        assert [e.version for e in stream] == [1, 2]
        assert stream[1].event_id == winners[0][0].event_id
    finally:
        for c in [setup, *conns]:
            await c.close()


async def test_append_claiming_a_version_the_stream_has_not_reached_is_rejected(
        pool: asyncpg.Pool, store: EventStore) -> None:
    await append_things(pool, store, "thing-1", [1])
    with pytest.raises(ConcurrencyError):
        await append_things(pool, store, "thing-1", [2], expected_version=3)
    with pytest.raises(ConcurrencyError):
        await append_things(pool, store, "thing-new", [2], expected_version=1)
    async with pool.acquire() as conn:
        assert [e.version for e in await store.load(conn, "thing-1")] == [1]
        assert await store.load(conn, "thing-new") == []


async def test_a_stale_writer_inside_a_command_transaction_leaves_nothing_of_that_command(
        pool: asyncpg.Pool, store: EventStore) -> None:
    await append_things(pool, store, "thing-1", [1])
    with pytest.raises(ConcurrencyError):
        async with pool.acquire() as conn, conn.transaction():
            await store.append(conn, "other-stream", "thing", 0, [ThingAdded(amount=9)])
            await store.append(conn, "thing-1", "thing", 0, [ThingAdded(amount=2)])
    async with pool.acquire() as conn:
        assert [e.data["amount"] for e in await store.load(conn, "thing-1")] == [1]
        assert await store.load(conn, "other-stream") == []


async def test_append_returns_what_load_reads_back(pool: asyncpg.Pool, store: EventStore) -> None:
    async with pool.acquire() as conn:
        appended = await store.append(conn, "thing-1", "thing", 0,
                                      [ThingAdded(amount=1, note="a"), ThingAdded(amount=2)],
                                      metadata={"causation_id": "c-1"})
        assert appended == await store.load(conn, "thing-1")
    assert [e.version for e in appended] == [1, 2]
    assert appended[0].metadata == {"correlation_id": "", "causation_id": "c-1"}


async def test_read_all_does_not_pass_an_open_append_and_delivers_it_after_commit(
        dsn: str, pool: asyncpg.Pool, store: EventStore) -> None:
    (e0,) = await append_things(pool, store, "s0", [0])
    held = await connect(dsn)
    try:
        tx = held.transaction()
        await tx.start()
        (e1,) = await store.append(held, "s1", "thing", 0, [ThingAdded(amount=1)])
        e2, e3 = await append_things(pool, store, "s2", [2, 3])  # commit after e1 was written
        async with pool.acquire() as conn:
            assert [e.event_id for e in await store.read_all(conn, Checkpoint())] == [e0.event_id]
            assert await store.read_all(conn, e0.checkpoint) == []
            assert await store.head(conn) == e0.checkpoint
        await tx.commit()
        async with pool.acquire() as conn:
            after = await store.read_all(conn, e0.checkpoint)
            assert [e.event_id for e in after] == [e1.event_id, e2.event_id, e3.event_id]
            assert await store.head(conn) == e3.checkpoint
    finally:
        await held.close()


async def test_read_all_skips_nothing_when_a_held_append_is_rolled_back(
        dsn: str, pool: asyncpg.Pool, store: EventStore) -> None:
    held = await connect(dsn)
    try:
        tx = held.transaction()
        await tx.start()
        await store.append(held, "s1", "thing", 0, [ThingAdded(amount=1)])
        (e2,) = await append_things(pool, store, "s2", [2])
        async with pool.acquire() as conn:
            assert await store.read_all(conn, Checkpoint()) == []
        await tx.rollback()
        async with pool.acquire() as conn:
            assert [e.event_id for e in await store.read_all(conn, Checkpoint())] == [e2.event_id]
    finally:
        await held.close()


async def test_an_open_transaction_in_another_database_does_not_hold_back_read_all(
        pool: asyncpg.Pool, store: EventStore) -> None:
    other = await asyncpg.connect(f"{PG_URL}/postgres")
    try:
        async with other.transaction():
            await other.fetchval("SELECT pg_current_xact_id()")  # takes an xid, writes nothing
            (e1,) = await append_things(pool, store, "s1", [1])
            async with pool.acquire() as conn:
                assert [e.event_id for e in await store.read_all(conn, Checkpoint())] == [e1.event_id]
    finally:
        await other.close()


async def test_read_all_returns_the_global_order_in_pages(pool: asyncpg.Pool, store: EventStore) -> None:
    written = []
    for i in range(5):
        written += await append_things(pool, store, f"s{i % 2}", [i * 10 + j for j in range(3)],
                                       expected_version=(i // 2) * 3)
    seen: list[StoredEvent] = []
    async with pool.acquire() as conn:
        cursor = Checkpoint()
        while page := await store.read_all(conn, cursor, limit=4):
            seen += page
            cursor = page[-1].checkpoint
    assert [e.event_id for e in seen] == [e.event_id for e in written]


async def test_an_event_stored_at_schema_v1_is_read_as_v2_through_its_upcaster(
        pool: asyncpg.Pool, store: EventStore) -> None:
    async with pool.acquire() as conn:
        await conn.execute(
            "INSERT INTO events (event_id, stream_id, stream_type, version, type, schema_version, data)"
            " VALUES (gen_random_uuid(), 'thing-9', 'thing', 1, 'LibThingRenamed', 1, $1)",
            {"name": "Ada Lovelace"})
        (stored,) = await store.load(conn, "thing-9")
    assert stored.schema_version == 1
    decoded = stored.decode()
    assert isinstance(decoded, ThingRenamed)
    assert (decoded.given_name, decoded.family_name) == ("Ada", "Lovelace")
    received = Envelope.model_validate_json(stored.envelope("libtest").model_dump_json())
    assert received.decode() == decoded
