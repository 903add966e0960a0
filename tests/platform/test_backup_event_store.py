"""A restored event store works on a new PostgreSQL cluster (real PostgreSQL).

Events carry the transaction id of the cluster that wrote them, and readers only read below
the current cluster's oldest running transaction. Restored on a cluster whose transaction
ids are lower (any new one), the history would be invisible to the relay and new events
would sort before it. The restore renumbers the history into its old order below every real
transaction id and moves the checkpoints with it; this test fakes "ids from a busier cluster"
by writing them a million above the current one.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
import pytest_asyncio

from devstack import backup as b
from devstack.stack import drop_databases
from shared.db import ensure_database, migrate
from shared.eventstore import Checkpoint, EventStore, load_checkpoint, save_checkpoint

PG_URL = b.DEFAULT_PG_URL
INSERT = ("INSERT INTO events (event_id, stream_id, stream_type, version, type, data, position, xact_id)"
          " VALUES ($1, $2, 'thing', $3, 'tests.ThingAdded', '{}', $4, $5::text::xid8)")


@pytest_asyncio.fixture
async def restored() -> AsyncIterator[tuple[b.Target, asyncpg.Connection]]:
    target = b.Target(PG_URL, f"eseal_t{uuid.uuid4().hex[:8]}_")
    await ensure_database(PG_URL, target.database("identity"))
    await migrate(target.url("identity"), None)
    conn = await asyncpg.connect(target.url("identity"))
    yield target, conn
    await conn.close()
    await drop_databases(target.prefix)


async def test_restored_history_is_read_in_its_old_order_and_before_new_events(
        restored: tuple[b.Target, asyncpg.Connection]) -> None:
    target, conn = restored
    store = EventStore("identity")
    future = int(await conn.fetchval("SELECT pg_current_xact_id()::text::bigint")) + 1_000_000
    # On the old cluster: "a" took its position first but committed last (a late commit).
    a, bb, c = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    await conn.execute(INSERT, a, "s1", 1, 1, str(future + 2))
    await conn.execute(INSERT, bb, "s2", 1, 2, str(future + 1))
    await conn.execute(INSERT, c, "s2", 2, 3, str(future + 3))
    await save_checkpoint(conn, "relay", Checkpoint(future + 2, 1))  # published b, a; not c
    await save_checkpoint(conn, "projection:things", Checkpoint(future + 1, 2))  # applied b only
    assert await store.read_all(conn, Checkpoint()) == []  # the problem: above the horizon

    await b.prepare_event_store(target, "identity", republish=True)

    history = await store.read_all(conn, Checkpoint())
    assert [e.event_id for e in history] == [bb, a, c]  # the old global order, all visible
    assert await load_checkpoint(conn, "relay") == Checkpoint()  # republish everything
    projection = await load_checkpoint(conn, "projection:things")
    assert [e.event_id for e in await store.read_all(conn, projection)] == [a, c]

    new = uuid.uuid4()
    await conn.execute("INSERT INTO events (event_id, stream_id, stream_type, version, type, data)"
                       " VALUES ($1, 's3', 'thing', 1, 'tests.ThingAdded', '{}')", new)
    after = await store.read_all(conn, Checkpoint())
    assert [e.event_id for e in after] == [bb, a, c, new]
    assert [e.event_id for e in await store.read_all(conn, history[-1].checkpoint)] == [new]


async def test_without_republish_the_relay_keeps_its_place(
        restored: tuple[b.Target, asyncpg.Connection]) -> None:
    target, conn = restored
    store = EventStore("identity")
    future = int(await conn.fetchval("SELECT pg_current_xact_id()::text::bigint")) + 1_000_000
    first, second = uuid.uuid4(), uuid.uuid4()
    await conn.execute(INSERT, first, "s1", 1, 10, str(future))
    await conn.execute(INSERT, second, "s1", 2, 11, str(future + 1))
    await save_checkpoint(conn, "relay", Checkpoint(future, 10))

    await b.prepare_event_store(target, "identity", republish=False)

    relay = await load_checkpoint(conn, "relay")
    assert [e.event_id for e in await store.read_all(conn, relay)] == [second]


async def test_restore_refuses_occupied_databases_and_force_replaces_them(tmp_path: Path) -> None:
    """The tool end to end on small databases: nothing is touched while one target has
    tables; --force drops and replaces; the data and the manifest's facts come back."""
    run = uuid.uuid4().hex[:8]
    source, target = b.Target(PG_URL, f"eseal_t{run}s_"), b.Target(PG_URL, f"eseal_t{run}r_")
    try:
        for service in b.DUMP_ORDER:
            await ensure_database(PG_URL, source.database(service))
            await migrate(source.url(service), None)
            conn = await asyncpg.connect(source.url(service))
            await conn.execute(INSERT, uuid.uuid4(), service, 1, 1, "5")
            await conn.close()
        directory = await asyncio.to_thread(b.backup, source, tmp_path)
        manifest = b.verify(directory)
        assert [d["events"] for d in manifest["databases"]] == [1] * 6
        assert all(d["migrations"] == ["sql/0000_eventstore.sql"] for d in manifest["databases"])

        await ensure_database(PG_URL, target.database("seals"))  # exists, empty: fine
        await ensure_database(PG_URL, target.database("certs"))
        await migrate(target.url("certs"), None)  # has tables: refused, nothing else made
        with pytest.raises(b.BackupError, match=f"not empty: {target.database('certs')}"):
            await asyncio.to_thread(b.restore, directory, target)
        server = await asyncpg.connect(f"{PG_URL}/postgres")
        made = {r["datname"] for r in await server.fetch(
            "SELECT datname FROM pg_database WHERE datname LIKE $1", target.prefix + "%")}
        await server.close()
        assert made == {target.database("seals"), target.database("certs")}

        await asyncio.to_thread(b.restore, directory, target, force=True)
        for service in b.DUMP_ORDER:
            conn = await asyncpg.connect(target.url(service))
            assert await conn.fetchval("SELECT stream_id FROM events") == service
            await conn.close()
    finally:
        await drop_databases(source.prefix)
        await drop_databases(target.prefix)
