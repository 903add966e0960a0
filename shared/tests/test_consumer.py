"""Consumers: one effect per event, poison messages dead-lettered, real re-attachment."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import aio_pika
import asyncpg
import pytest_asyncio

from shared.bus import EVENTS_EXCHANGE
from shared.consumer import Consumer, Handler, handlers_for
from shared.events import DomainEvent, Envelope, utcnow
from tests.support.polling import eventually

from .support import THING_ADDED_KEY, ThingAdded, Vhost, consumed, drain, unique

EFFECTS_DDL = ("CREATE TABLE IF NOT EXISTS effects (event_id uuid NOT NULL, stream_id text NOT NULL,"
               " amount integer NOT NULL, applied_at timestamptz NOT NULL DEFAULT clock_timestamp())")

ConsumerFactory = Callable[..., Awaitable[Consumer]]


async def record_effect(conn: asyncpg.Connection, envelope: Envelope, event: DomainEvent) -> None:
    assert isinstance(event, ThingAdded)
    if event.note == "boom":
        raise RuntimeError("this handler always fails for 'boom'")
    await conn.execute("INSERT INTO effects (event_id, stream_id, amount) VALUES ($1, $2, $3)",
                       envelope.event_id, envelope.stream_id, event.amount)


def envelope_of(amount: int, stream_id: str = "thing-1", version: int = 1, note: str = "") -> Envelope:
    return Envelope(event_id=uuid.uuid4(), type="LibThingAdded", schema_version=1, stream_type="thing",
                    stream_id=stream_id, stream_version=version, occurred_at=utcnow(),
                    producer="libtest", data={"amount": amount, "note": note})


async def publish(url: str, body: bytes, message_id: str, routing_key: str = THING_ADDED_KEY) -> None:
    connection = await aio_pika.connect(url)
    try:
        channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
        exchange = await channel.get_exchange(EVENTS_EXCHANGE)
        await exchange.publish(aio_pika.Message(body, message_id=message_id, type="LibThingAdded",
                                                delivery_mode=aio_pika.DeliveryMode.PERSISTENT),
                               routing_key=routing_key, mandatory=True)
    finally:
        await connection.close()


async def publish_envelope(url: str, envelope: Envelope) -> None:
    await publish(url, envelope.model_dump_json().encode(), str(envelope.event_id))


async def effects(pool: asyncpg.Pool) -> list[tuple[uuid.UUID, str, int]]:
    async with pool.acquire() as conn:
        rows = await conn.fetch("SELECT event_id, stream_id, amount FROM effects ORDER BY applied_at")
    return [tuple(r) for r in rows]  # type: ignore[misc]


@pytest_asyncio.fixture
async def make_consumer(pool: asyncpg.Pool, vhost: Vhost) -> AsyncIterator[ConsumerFactory]:
    """Start consumers with unique names; stop them and delete their queues afterwards."""
    async with pool.acquire() as conn:
        await conn.execute(EFFECTS_DDL)
    started: list[Consumer] = []

    async def make(handler: Handler = record_effect, **options: object) -> Consumer:
        c = Consumer(unique("lib"), pool, vhost.url,
                     handlers_for((ThingAdded, handler)), **options)  # type: ignore[arg-type]
        await c.start()
        started.append(c)
        return c

    yield make
    for c in started:
        await c.stop()
    connection = await aio_pika.connect(vhost.url)
    try:
        channel = await connection.channel()
        for c in started:
            await channel.queue_delete(c.queue_name)
            await channel.queue_delete(c.dead_letter_queue_name)
    finally:
        await connection.close()


async def test_the_same_event_delivered_twice_has_one_effect(
        make_consumer: ConsumerFactory, pool: asyncpg.Pool, vhost: Vhost) -> None:
    consumer = await make_consumer()
    envelope = envelope_of(7)
    await publish_envelope(vhost.url, envelope)
    await publish_envelope(vhost.url, envelope)
    await eventually(lambda: consumed(consumer.name, "LibThingAdded", "duplicate") == 1,
                     what="the second delivery handled as a duplicate")
    assert consumed(consumer.name, "LibThingAdded", "handled") == 1
    assert await effects(pool) == [(envelope.event_id, "thing-1", 7)]
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM processed_events WHERE consumer = $1",
                                   consumer.name) == 1


async def test_an_unreadable_message_is_dead_lettered_and_the_next_one_is_processed(
        make_consumer: ConsumerFactory, pool: asyncpg.Pool, vhost: Vhost) -> None:
    consumer = await make_consumer()
    await publish(vhost.url, b"\x00 this is not an envelope {", message_id="garbage-1")
    good = envelope_of(1)
    await publish_envelope(vhost.url, good)
    await eventually(lambda: consumed(consumer.name, "LibThingAdded", "handled") == 1, what="good event")
    assert await effects(pool) == [(good.event_id, "thing-1", 1)]
    dead = await _dead_letters(vhost, consumer)
    assert [(m.message_id, m.body) for m in dead] == [("garbage-1", b"\x00 this is not an envelope {")]


async def test_a_message_whose_handler_always_fails_is_dead_lettered_and_the_queue_moves_on(
        make_consumer: ConsumerFactory, pool: asyncpg.Pool, vhost: Vhost) -> None:
    consumer = await make_consumer(delivery_limit=2, retry_delay=0.05)
    poison = envelope_of(1, version=1, note="boom")
    after = envelope_of(2, version=2)  # same stream, right behind the poison message
    await publish_envelope(vhost.url, poison)
    await publish_envelope(vhost.url, after)
    await eventually(lambda: consumed(consumer.name, "LibThingAdded", "handled") == 1, what="next event")
    dead = await _dead_letters(vhost, consumer, wait_for=1)
    assert [m.message_id for m in dead] == [str(poison.event_id)]
    assert consumed(consumer.name, "LibThingAdded", "error") >= 2  # it was retried first
    assert await effects(pool) == [(after.event_id, "thing-1", 2)]
    async with pool.acquire() as conn:  # the failed attempts left no tracking row behind
        assert await conn.fetchval("SELECT count(*) FROM processed_events WHERE event_id = $1",
                                   poison.event_id) == 0


async def test_a_handler_hitting_a_transient_database_error_is_retried_in_place_not_dead_lettered(
        make_consumer: ConsumerFactory, pool: asyncpg.Pool, vhost: Vhost) -> None:
    failures = [asyncpg.SerializationError("could not serialize access"),
                asyncpg.DeadlockDetectedError("deadlock detected")]

    async def flaky(conn: asyncpg.Connection, envelope: Envelope, event: DomainEvent) -> None:
        if failures:
            raise failures.pop(0)
        await record_effect(conn, envelope, event)

    consumer = await make_consumer(flaky, delivery_limit=1)
    envelope = envelope_of(5)
    await publish_envelope(vhost.url, envelope)
    await eventually(lambda: consumed(consumer.name, "LibThingAdded", "handled") == 1, what="handled")
    assert failures == [] and consumed(consumer.name, "LibThingAdded", "error") == 0
    assert await effects(pool) == [(envelope.event_id, "thing-1", 5)]


async def test_events_of_one_stream_are_handled_in_delivery_order(
        make_consumer: ConsumerFactory, pool: asyncpg.Pool, vhost: Vhost) -> None:
    consumer = await make_consumer(prefetch=50)
    sent = [envelope_of(i, stream_id=f"thing-{i % 3}", version=i // 3 + 1) for i in range(60)]
    connection = await aio_pika.connect(vhost.url)
    try:
        channel = await connection.channel()
        exchange = await channel.get_exchange(EVENTS_EXCHANGE)
        for e in sent:
            await exchange.publish(aio_pika.Message(e.model_dump_json().encode(), message_id=str(e.event_id)),
                                   routing_key=THING_ADDED_KEY)
    finally:
        await connection.close()
    await eventually(lambda: consumed(consumer.name, "LibThingAdded", "handled") == 60, what="all handled")
    rows = await effects(pool)
    for stream in ("thing-0", "thing-1", "thing-2"):
        handled_in_order = [a for _, s, a in rows if s == stream]
        assert handled_in_order == [e.data["amount"] for e in sent if e.stream_id == stream]


async def test_consumer_is_attached_after_start_and_reattaches_after_the_broker_drops_it(
        make_consumer: ConsumerFactory, pool: asyncpg.Pool, vhost: Vhost) -> None:
    consumer = await make_consumer()
    assert consumer.attached
    await vhost.close_all_connections()
    await eventually(lambda: consumer.reconnects >= 1, within=20, what="a reconnection")
    await eventually(lambda: consumer.attached, within=20, what="re-attached")
    envelope = envelope_of(3)
    await publish_envelope(vhost.url, envelope)  # published after the reconnect
    await eventually(lambda: consumed(consumer.name, "LibThingAdded", "handled") == 1, within=20,
                     what="a message published after the reconnect to be consumed")
    assert await effects(pool) == [(envelope.event_id, "thing-1", 3)]
    assert consumer.attached


async def test_consumer_is_not_attached_after_stop(make_consumer: ConsumerFactory) -> None:
    consumer = await make_consumer()
    await consumer.stop()
    assert not consumer.attached


async def _dead_letters(vhost: Vhost, consumer: Consumer,
                        wait_for: int = 1) -> list[aio_pika.abc.AbstractIncomingMessage]:
    async def arrived() -> bool:
        connection = await aio_pika.connect(vhost.url)
        try:
            channel = await connection.channel()
            q = await channel.declare_queue(consumer.dead_letter_queue_name, passive=True)
            return (q.declaration_result.message_count or 0) >= wait_for
        finally:
            await connection.close()

    await eventually(arrived, within=20, every=0.2, what="dead letters")
    return await drain(vhost.url, consumer.dead_letter_queue_name)

