"""Transactional outbox relay: publishes committed events, in order, to ``eseal.events``.

The events table is the outbox. The relay reads the gap-safe global order after its
checkpoint, publishes a batch with publisher confirms (persistent, ``mandatory``, returns
raise), and only then records the new checkpoint. A crash or broker restart between publish
and checkpoint republishes the tail of the batch: delivery is at-least-once and consumers are
idempotent by ``event_id``. One relay per database is active at a time (advisory lock), so
replicas of a service never interleave.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import aio_pika
import asyncpg
from aio_pika.abc import AbstractExchange, AbstractRobustConnection

from .eventstore import NOTIFY_CHANNEL, EventStore, StoredEvent, load_checkpoint, save_checkpoint
from .bus import declare_events_exchange
from .events import event_class, UnknownEvent
from .logging import get_logger
from .metrics import RELAY_PUBLISHED, RELAY_LAG

log = get_logger(__name__)
_RELAY_LOCK = 0x72_656C_6179  # "relay"


def to_message(ev: StoredEvent, producer: str) -> aio_pika.Message:
    env = ev.envelope(producer)
    return aio_pika.Message(
        body=env.model_dump_json().encode(),
        message_id=str(ev.event_id),
        content_type="application/json",
        type=ev.type,
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        timestamp=ev.occurred_at,
        correlation_id=env.correlation_id or None,
        headers={"producer": producer, "schema_version": ev.schema_version},
    )


def is_public(ev: StoredEvent) -> bool:
    try:
        return event_class(ev.type).public
    except UnknownEvent:
        return True  # never silently drop what we cannot classify


class Relay:
    def __init__(self, pool: asyncpg.Pool, amqp_url: str, store: EventStore, *,
                 name: str = "relay", batch_size: int = 500, poll_interval: float = 0.2) -> None:
        self.pool, self.amqp_url, self.store = pool, amqp_url, store
        self.name, self.batch_size, self.poll_interval = name, batch_size, poll_interval
        self._wakeup = asyncio.Event()
        self.published = 0
        self.active = False

    def _notified(self, *_: Any) -> None:
        self._wakeup.set()

    async def run(self) -> None:
        """Run forever; restarts its broker and database sessions after any failure."""
        while True:
            try:
                await self._run_once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - a relay never dies; it retries
                self.active = False
                log.warning("relay_restart", error=repr(exc))
                await asyncio.sleep(1.0)

    async def _run_once(self) -> None:
        listener = await self.pool.acquire()
        try:
            while not await listener.fetchval("SELECT pg_try_advisory_lock($1)", _RELAY_LOCK):
                await asyncio.sleep(2.0)  # another replica is relaying
            await listener.add_listener(NOTIFY_CHANNEL, self._notified)
            connection = await aio_pika.connect_robust(self.amqp_url, client_properties={
                "connection_name": f"{self.store.producer}-relay"})
            try:
                await self._pump(connection)
            finally:
                with contextlib.suppress(Exception):
                    await connection.close()
        finally:
            with contextlib.suppress(Exception):
                await listener.remove_listener(NOTIFY_CHANNEL, self._notified)
                await listener.execute("SELECT pg_advisory_unlock_all()")
            await self.pool.release(listener)

    async def _pump(self, connection: AbstractRobustConnection) -> None:
        channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
        exchange = await declare_events_exchange(channel)
        self.active = True
        async with self.pool.acquire() as conn:
            checkpoint = await load_checkpoint(conn, self.name)
        while True:
            self._wakeup.clear()
            async with self.pool.acquire() as conn:
                batch = await self.store.read_all(conn, checkpoint, self.batch_size)
            if not batch:
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._wakeup.wait(), self.poll_interval)
                continue
            await self._publish(exchange, batch)
            checkpoint = batch[-1].checkpoint
            async with self.pool.acquire() as conn:
                await save_checkpoint(conn, self.name, checkpoint)
            self.published += len(batch)
            RELAY_PUBLISHED.labels(self.store.producer).inc(len(batch))

    async def _publish(self, exchange: AbstractExchange, batch: list[StoredEvent]) -> None:
        # Publish the whole batch, then wait for every confirm: order on the wire is kept
        # (one channel), and batching confirms is what makes the relay fast.
        pending = [
            exchange.publish(to_message(ev, self.store.producer),
                             routing_key=f"{self.store.producer}.{ev.type}", mandatory=True)
            for ev in batch if is_public(ev)
        ]
        if pending:
            await asyncio.gather(*pending)
        RELAY_LAG.labels(self.store.producer).set(0)
