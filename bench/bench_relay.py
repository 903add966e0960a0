"""Outbox relay: throughput against raw aio-pika publishing, and commit-to-consumer latency.

Throughput: 5,000 committed events; the clock runs from the relay's start until a plain
consumer of a bound queue has received the last one. The baseline publishes the same
message bodies (same sizes, prebuilt) straight with aio-pika, 500 per batch of confirms,
through the same broker into the same kind of queue, timed the same way. Rounds alternate
and each side keeps its best round (the machine is shared).

Latency: at light load (one event every 50 ms for 10 s, each append its own transaction),
from the append's commit to the ``shared.consumer.Consumer`` handler of another service
(its own database; quorum queue, idempotency row) and to the end of the consumer's
transaction; and, to split the path, to
a plain classic queue (the relay's share). The relay is woken by LISTEN/NOTIFY.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

import aio_pika
import asyncpg
from aio_pika.abc import AbstractIncomingMessage

from shared.bus import declare_events_exchange
from shared.consumer import Consumer, handlers_for
from shared.events import DomainEvent, Envelope
from shared.eventstore import EventStore, StoredEvent
from shared.relay import Relay, to_message

from .common import Report, percentile
from .throwaway import BenchThingAdded, throwaway_pool, throwaway_vhost

EVENTS = 5_000
BATCH = 500
ROUNDS = 2
LATENCY_RATE, LATENCY_SECONDS = 20, 10


async def run(report: Report) -> None:
    with throwaway_vhost() as url:
        await throughput(report, url)
        await latency(report, url)


# --- throughput -------------------------------------------------------------------------


async def throughput(report: Report, url: str) -> None:
    async with throwaway_pool() as pool:
        store = EventStore("bench")
        events = await _fill(pool, store)
        bodies = [to_message(ev, store.producer).body for ev in events]
        best_raw = best_relay = 0.0
        for round_ in range(ROUNDS):
            best_raw = max(best_raw, await _timed(url, lambda: _publish_raw(url, bodies)))
            relay = Relay(pool, url, store, name=f"bench-{round_}", batch_size=BATCH)
            best_relay = max(best_relay, await _timed(url, relay.run))
        report.add("relay throughput (table -> consumed queue)", best_relay, "events/s",
                   baseline_name="raw aio-pika, batched confirms", baseline_value=best_raw,
                   goal=">= 0.5x raw")


async def _fill(pool: asyncpg.Pool, store: EventStore) -> list[StoredEvent]:
    events: list[StoredEvent] = []
    async with pool.acquire() as conn:
        for i in range(EVENTS // BATCH):
            stream = f"thing-{i}"
            events += await store.append(conn, stream, "thing", 0, [
                BenchThingAdded(thing_id=stream, amount=j, note="x" * 40) for j in range(BATCH)])
    return events


async def _timed(url: str, producer: Callable[[], Coroutine[Any, Any, None]]) -> float:
    """Events/s from the producer's start until the sink queue has received all of them."""
    async with _sink(url) as received:
        started = time.perf_counter()
        work = asyncio.create_task(producer())
        try:
            await asyncio.wait_for(received.wait(), 120)
        finally:
            work.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await work
        return EVENTS / (time.perf_counter() - started)


@contextlib.asynccontextmanager
async def _sink(url: str) -> AsyncIterator[asyncio.Event]:
    """A fresh queue bound to ``bench.#``; the event is set when EVENTS messages arrived."""
    connection = await aio_pika.connect(url)
    done, count = asyncio.Event(), 0

    async def on_message(message: AbstractIncomingMessage) -> None:
        nonlocal count
        count += 1
        if count >= EVENTS:
            done.set()

    try:
        channel = await connection.channel()
        await channel.set_qos(prefetch_count=2000)
        exchange = await declare_events_exchange(channel)
        queue = await channel.declare_queue(f"bench-sink-{uuid.uuid4().hex[:8]}", durable=True)
        await queue.bind(exchange, routing_key="bench.#")
        tag = await queue.consume(on_message, no_ack=True)
        yield done
        await queue.cancel(tag)
        await queue.delete(if_unused=False, if_empty=False)
    finally:
        await connection.close()


async def _publish_raw(url: str, bodies: list[bytes]) -> None:
    connection = await aio_pika.connect(url)
    try:
        channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
        exchange = await declare_events_exchange(channel)
        for start in range(0, len(bodies), BATCH):
            await asyncio.gather(*(
                exchange.publish(aio_pika.Message(body, message_id=str(uuid.uuid4()),
                                                  content_type="application/json",
                                                  delivery_mode=aio_pika.DeliveryMode.PERSISTENT),
                                 routing_key="bench.BenchThingAdded", mandatory=True)
                for body in bodies[start:start + BATCH]))
        await asyncio.Event().wait()  # until cancelled by _timed
    finally:
        await connection.close()


# --- latency ----------------------------------------------------------------------------


async def latency(report: Report, url: str) -> None:
    # Producer and consumer are different services: each has its own database.
    async with throwaway_pool() as pool, throwaway_pool() as consumer_pool:
        store = EventStore("bench")
        committed: dict[uuid.UUID, float] = {}
        handled: dict[uuid.UUID, float] = {}
        finished: dict[uuid.UUID, float] = {}

        async def handler(conn: asyncpg.Connection, envelope: Envelope, event: DomainEvent) -> None:
            handled[envelope.event_id] = time.perf_counter()

        async def after_commit(envelope: Envelope) -> None:
            finished[envelope.event_id] = time.perf_counter()

        consumer = Consumer(f"bench-{uuid.uuid4().hex[:6]}", consumer_pool, url,
                            handlers_for((BenchThingAdded, handler)), after_commit=after_commit)
        relay = Relay(pool, url, store)
        await consumer.start()
        task = asyncio.create_task(relay.run())
        try:
            async with _tap(url) as tapped:
                await _warm_up(pool, store, relay)
                await _light_load(pool, store, committed)
                deadline = time.monotonic() + 10
                while len(finished) < len(committed) and time.monotonic() < deadline:  # noqa: ASYNC110
                    await asyncio.sleep(0.05)  # polling the consumer's progress
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await consumer.stop()
    _report_latency(report, committed, {"consumer handler": handled, "consumer committed": finished,
                                        "broker (classic tap queue)": tapped})


@contextlib.asynccontextmanager
async def _tap(url: str) -> AsyncIterator[dict[uuid.UUID, float]]:
    """Arrival times at a plain (classic, non-durable) queue: the relay's share of the latency."""
    arrivals: dict[uuid.UUID, float] = {}

    async def on_message(message: AbstractIncomingMessage) -> None:
        arrivals[uuid.UUID(message.message_id)] = time.perf_counter()

    connection = await aio_pika.connect(url)
    try:
        channel = await connection.channel()
        exchange = await declare_events_exchange(channel)
        queue = await channel.declare_queue(exclusive=True, auto_delete=True)
        await queue.bind(exchange, routing_key="bench.#")
        await queue.consume(on_message, no_ack=True)
        yield arrivals
    finally:
        await connection.close()


async def _warm_up(pool: asyncpg.Pool, store: EventStore, relay: Relay) -> None:
    async with pool.acquire() as conn:
        (ev,) = await store.append(conn, "warm-up", "thing", 0, [BenchThingAdded(thing_id="w", amount=0)])
    while relay.checkpoint < ev.checkpoint:  # noqa: ASYNC110 - polling the relay's progress
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.5)


async def _light_load(pool: asyncpg.Pool, store: EventStore, committed: dict[uuid.UUID, float]) -> None:
    interval = 1 / LATENCY_RATE
    started = time.perf_counter()
    async with pool.acquire() as conn:
        for i in range(LATENCY_RATE * LATENCY_SECONDS):
            (ev,) = await store.append(conn, f"thing-{i}", "thing", 0,
                                       [BenchThingAdded(thing_id=f"thing-{i}", amount=i, note="x" * 40)])
            committed[ev.event_id] = time.perf_counter()
            await asyncio.sleep(max(0.0, started + (i + 1) * interval - time.perf_counter()))


def _report_latency(report: Report, committed: dict[uuid.UUID, float],
                    arrivals: dict[str, dict[uuid.UUID, float]]) -> None:
    for where, seen in arrivals.items():
        ms = [1000 * (seen[k] - t) for k, t in committed.items() if k in seen]
        goal = "< 100 ms" if where == "consumer handler" else ""
        report.add(f"commit -> {where}, p50", percentile(ms, 50), "ms")
        report.add(f"commit -> {where}, p99", percentile(ms, 99), "ms", goal=goal)
        if len(ms) < len(committed):
            report.add(f"events not at {where} within 10 s", len(committed) - len(ms), "events")
    report.add("machine load average (1 min)", os.getloadavg()[0], "")
