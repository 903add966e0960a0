"""The outbox relay: order, completeness, gap safety, broker failures, one leader."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator

import asyncpg
import pytest_asyncio

from shared.db import connect
from shared.eventstore import EventStore, StoredEvent, load_checkpoint
from shared.relay import Relay
from tests.support.polling import eventually

from .support import ThingAdded, Vhost, append_things, drain

TOTAL = 10_000
PER_APPEND = 100


@contextlib.asynccontextmanager
async def running(relay: Relay) -> AsyncIterator[asyncio.Task[None]]:
    task = asyncio.create_task(relay.run())
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


@pytest_asyncio.fixture
async def relay(pool: asyncpg.Pool, vhost: Vhost, store: EventStore) -> Relay:
    return Relay(pool, vhost.url, store, batch_size=500, poll_interval=0.05)


async def test_relay_does_not_publish_past_an_open_append_and_publishes_it_after_commit(
        dsn: str, pool: asyncpg.Pool, store: EventStore, relay: Relay, vhost: Vhost,
        bound_queue: str) -> None:
    (e0,) = await append_things(pool, store, "s0", [0])
    held = await connect(dsn)
    try:
        tx = held.transaction()
        await tx.start()
        (e1,) = await store.append(held, "s1", "thing", 0, [ThingAdded(amount=1)])
        e2, e3 = await append_things(pool, store, "s2", [2, 3])
        async with running(relay):
            await eventually(lambda: relay.checkpoint == e0.checkpoint, what="e0 published")
            await asyncio.sleep(1.0)  # ~20 polls and the NOTIFYs of e2/e3: still nothing more
            assert relay.published == 1 and relay.checkpoint == e0.checkpoint
            assert [m.message_id for m in await drain(vhost.url, bound_queue)] == [str(e0.event_id)]
            await tx.commit()
            await eventually(lambda: relay.checkpoint == e3.checkpoint, what="e1..e3 published")
        ids = [m.message_id for m in await drain(vhost.url, bound_queue)]
        assert ids == [str(e.event_id) for e in (e1, e2, e3)]
    finally:
        await held.close()


async def _write_alongside(pool: asyncpg.Pool, store: EventStore,
                           kills_done: asyncio.Event) -> list[StoredEvent]:
    """10,000 events in appends of 100, paced so that the relay runs alongside; the last
    fifth waits until both kills are done, so every kill lands mid-stream."""
    written: list[StoredEvent] = []
    appends = TOTAL // PER_APPEND
    for i in range(appends):
        if i == appends * 4 // 5:
            await kills_done.wait()
        written += await append_things(pool, store, f"s{i % 7}", list(range(PER_APPEND)),
                                       expected_version=(i // 7) * PER_APPEND)
        if not kills_done.is_set():
            await asyncio.sleep(0.03)
    return written


async def _kill_connections_twice(relay: Relay, vhost: Vhost, kills_done: asyncio.Event) -> list[int]:
    """Force-close the vhost's connections twice, each time once the relay has published."""
    published_at_kill = []
    for restarts_before in (0, 1):
        progress = relay.published
        await eventually(lambda: relay.active and relay.published > progress, within=30,
                         what="relay publishing")
        published_at_kill.append(relay.published)
        await vhost.close_all_connections()
        await eventually(lambda: relay.restarts > restarts_before, within=30, what="relay restart")
    kills_done.set()
    return published_at_kill


async def test_relay_delivers_10000_events_in_order_while_broker_connections_are_force_closed(
        pool: asyncpg.Pool, store: EventStore, relay: Relay, vhost: Vhost, bound_queue: str) -> None:
    """Every event_id reaches the queue; first arrivals are in commit order.

    Re-publishing the unconfirmed tail of a batch after a lost connection may put a message
    on the queue twice (at-least-once; consumers dedupe by event_id): duplicates are counted
    and bounded by one batch per restart, never out of order for first arrivals.
    """
    started = time.monotonic()
    kills_done = asyncio.Event()
    async with running(relay):
        writer = asyncio.create_task(_write_alongside(pool, store, kills_done))
        published_at_kill = await _kill_connections_twice(relay, vhost, kills_done)
        written = await writer
        assert published_at_kill[-1] < TOTAL  # the kills came while events were still coming
        await eventually(lambda: relay.checkpoint == written[-1].checkpoint, within=30,
                         what="all events published")
        published_in = time.monotonic() - started
    ids = [m.message_id for m in await drain(vhost.url, bound_queue)]
    expected = [str(e.event_id) for e in written]
    first_arrivals = list(dict.fromkeys(ids))
    duplicates = len(ids) - len(first_arrivals)
    drained_in = time.monotonic() - started - published_in
    print(f"\nrelay: {len(expected)} events, {len(ids)} messages on the queue, {duplicates} duplicates,"
          f" {relay.restarts} restarts (published before the kills: {published_at_kill}),"
          f" all published after {published_in:.1f}s, drained in {drained_in:.1f}s")
    assert first_arrivals == expected  # every event_id arrived, first arrivals in order
    assert relay.restarts >= 2
    assert duplicates <= relay.restarts * relay.batch_size
    for i, message_id in enumerate(ids):  # a duplicate only ever repeats an earlier message
        assert first_arrivals.index(message_id) <= i


async def test_only_one_relay_per_database_publishes_and_a_standby_takes_over(
        pool: asyncpg.Pool, store: EventStore, vhost: Vhost, bound_queue: str) -> None:
    first = Relay(pool, vhost.url, store, poll_interval=0.05)
    second = Relay(pool, vhost.url, store, poll_interval=0.05)
    async with running(second):
        async with running(first):
            await eventually(lambda: first.active or second.active, what="a leader")
            await asyncio.sleep(0.5)
            assert [first.active, second.active].count(True) == 1
            leader, standby = (first, second) if first.active else (second, first)
            (e1,) = await append_things(pool, store, "s1", [1])
            await eventually(lambda: leader.checkpoint == e1.checkpoint, what="leader publishes")
        if leader is first:  # stopping the leader hands over within the standby's poll (2 s)
            await eventually(lambda: standby.active, within=10, what="standby takes over")
            (e2,) = await append_things(pool, store, "s2", [2])
            await eventually(lambda: standby.checkpoint == e2.checkpoint, what="standby publishes")
            assert standby.published == 1  # resumed from the leader's checkpoint
    ids = [m.message_id for m in await drain(vhost.url, bound_queue)]
    assert ids[0] == str(e1.event_id) and len(ids) == len(set(ids))


async def test_relay_publishes_appends_of_a_store_without_notify_by_polling(
        pool: asyncpg.Pool, vhost: Vhost, bound_queue: str) -> None:
    quiet = EventStore("libtest", notify=False)
    relay = Relay(pool, vhost.url, quiet, poll_interval=0.1)
    async with running(relay):
        await eventually(lambda: relay.active, what="relay active")
        (e1,) = await append_things(pool, quiet, "s1", [1])
        await eventually(lambda: relay.checkpoint == e1.checkpoint, within=5, what="polled and published")
    assert [m.message_id for m in await drain(vhost.url, bound_queue)] == [str(e1.event_id)]
    async with pool.acquire() as conn:  # the position is recorded for the next leader
        assert await load_checkpoint(conn, relay.name) == e1.checkpoint
