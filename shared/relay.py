"""Transactional outbox relay: publishes committed events, in order, to ``eseal.events``.

The events table is the outbox. The relay reads the gap-safe global order after its
checkpoint, publishes a batch with publisher confirms (persistent, ``mandatory``, returns
raise), and only then records the new checkpoint. Two things overlap for speed: the next
batch is read while the confirms are pending, and the checkpoint is written in the
background (the next batch does not wait for that commit). A crash or broker restart
between publish and checkpoint republishes the tail: delivery is at-least-once and
consumers are idempotent by ``event_id``. One relay per database (and relay name) is
active at a time (advisory lock), so replicas of a service never interleave.

The broker connection is deliberately *not* a robust (auto-reconnecting) one: a robust
channel would carry the rest of a batch over to a new connection while earlier messages of
the same batch were lost with the old one, so a later event could reach a queue before an
earlier one. Instead any broker or database failure ends the session, and ``run`` starts a
new one from the last checkpoint (with a short, growing back-off).
"""

from __future__ import annotations

import asyncio
import contextlib
import zlib
from typing import Any

import aio_pika
import asyncpg
from aio_pika.abc import AbstractChannel, AbstractConnection, AbstractExchange
from opentelemetry.trace import Span

from . import tracing
from .bus import EVENTS_EXCHANGE, declare_events_exchange
from .db import keeps_session_state
from .events import UnknownEvent, event_class
from .eventstore import (
    NOTIFY_CHANNEL,
    Checkpoint,
    Conn,
    EventStore,
    StoredEvent,
    load_checkpoint,
    save_checkpoint,
)
from .logging import get_logger
from .metrics import RELAY_LAG, RELAY_PUBLISHED

log = get_logger(__name__)
_RELAY_LOCK = 0x72_656C_6179  # "relay"
_MIN_BACKOFF, _MAX_BACKOFF = 0.1, 5.0


def to_message(ev: StoredEvent, producer: str, span: Span | None = None) -> aio_pika.Message:
    """The AMQP message of an event; with ``span`` (tracing on), the envelope's trace context
    becomes that publish span, so consumers are its children."""
    env = ev.envelope(producer)
    if span is not None:
        env = env.model_copy(update={"traceparent": tracing.format_traceparent(span.get_span_context())})
    return aio_pika.Message(
        body=env.model_dump_json().encode(),
        message_id=str(ev.event_id),
        content_type="application/json",
        type=ev.type,
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        timestamp=ev.occurred_at,
        correlation_id=env.correlation_id or None,
        # position: where the event stands in its producer's order, "<xact>.<position>" as in
        # the catch-up feed (shared.event_feed; EVENTS.md "Catch-up")
        headers={"producer": producer, "schema_version": ev.schema_version,
                 "position": f"{ev.xact_id}.{ev.position}"},
    )


def is_public(ev: StoredEvent) -> bool:
    try:
        return event_class(ev.type).public
    except UnknownEvent:
        return True  # never silently drop what we cannot classify


def lock_key(name: str) -> int:
    """Advisory-lock key of a relay: one leader per (database, relay name)."""
    if name == "relay":
        return _RELAY_LOCK
    return (_RELAY_LOCK << 20 ^ zlib.crc32(name.encode())) & 0x7FFF_FFFF_FFFF_FFFF


class SessionLost(ConnectionError):
    """The broker connection/channel or the leader's database session went away."""


class CheckpointWriter:
    """Records the relay's position off the publishing path: latest wins, one write at a time.

    Publishing the next batch does not wait for the previous checkpoint's commit (an fsync);
    under load consecutive positions coalesce into one write. A crash loses at most the
    positions not yet written, which are then republished (at-least-once, as always).
    """

    def __init__(self, pool: asyncpg.Pool, name: str, saved: Checkpoint) -> None:
        self.pool, self.name, self.saved = pool, name, saved
        self._latest = saved
        self._task: asyncio.Task[None] | None = None

    def submit(self, checkpoint: Checkpoint) -> None:
        self.raise_failure()
        self._latest = checkpoint
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._write())

    def raise_failure(self) -> None:
        if self._task is not None and self._task.done() and not self._task.cancelled():
            failure = self._task.exception()
            if failure is not None:
                self._task = None
                raise failure

    async def flush(self) -> None:
        """Write the latest position now (after the last write in flight)."""
        if self._task is not None:
            with contextlib.suppress(Exception):
                await self._task
        await self._write()

    async def _write(self) -> None:
        while self._latest != self.saved:
            latest = self._latest
            async with self.pool.acquire() as conn:
                await save_checkpoint(conn, self.name, latest)
            self.saved = latest


class Relay:
    def __init__(self, pool: asyncpg.Pool, amqp_url: str, store: EventStore, *,
                 name: str = "relay", batch_size: int = 500, poll_interval: float = 0.2,
                 confirm_timeout: float = 30.0) -> None:
        self.pool, self.amqp_url, self.store = pool, amqp_url, store
        self.name, self.batch_size, self.poll_interval = name, batch_size, poll_interval
        self.confirm_timeout = confirm_timeout
        self._wakeup = asyncio.Event()
        self.published = 0  # messages confirmed by the broker (republished ones count again)
        self.restarts = 0  # sessions ended by a failure
        self.active = False  # True while this process is the leader and connected
        self.checkpoint = Checkpoint()  # last position published (confirmed by the broker)
        self._session_progress = False

    def _notified(self, *_: Any) -> None:
        self._wakeup.set()

    async def run(self) -> None:
        """Run forever; restarts its broker and database sessions after any failure."""
        delay = _MIN_BACKOFF
        while True:
            self._session_progress = False
            try:
                await self._run_once()
            except asyncio.CancelledError:
                self.active = False
                raise
            except Exception as exc:  # noqa: BLE001 - a relay never dies; it retries
                self.active = False
                self.restarts += 1
                delay = _MIN_BACKOFF if self._session_progress else min(delay * 2, _MAX_BACKOFF)
                log.warning("relay_restart", relay=self.name, error=repr(exc)[:500],
                            retry_in=round(delay, 2))
                await asyncio.sleep(delay)

    async def _run_once(self) -> None:
        async with self.pool.acquire() as listener:
            keeps_session_state(listener)  # LISTEN and the leader's lock: reset on release
            try:
                await self._become_leader(listener)
                await listener.add_listener(NOTIFY_CHANNEL, self._notified)
                connection = await aio_pika.connect(self.amqp_url, timeout=10, client_properties={
                    "connection_name": f"{self.store.producer}-{self.name}"})
                try:
                    connection.close_callbacks.add(self._notified)
                    await self._pump(listener, connection)
                finally:
                    with contextlib.suppress(Exception):
                        await connection.close()
            finally:
                with contextlib.suppress(Exception):
                    await listener.remove_listener(NOTIFY_CHANNEL, self._notified)
                    await listener.execute("SELECT pg_advisory_unlock_all()")

    async def _become_leader(self, listener: Conn) -> None:
        key = lock_key(self.name)
        while not await listener.fetchval("SELECT pg_try_advisory_lock($1)", key):  # noqa: ASYNC110
            await asyncio.sleep(2.0)  # another replica is relaying: poll the lock

    async def _pump(self, listener: Conn, connection: AbstractConnection) -> None:
        channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
        channel.close_callbacks.add(self._notified)
        exchange = await declare_events_exchange(channel)
        async with self.pool.acquire() as conn:
            checkpoint = await load_checkpoint(conn, self.name)
        self.checkpoint, self.active = checkpoint, True
        writer = CheckpointWriter(self.pool, self.name, checkpoint)
        try:
            await self._pump_batches(listener, connection, channel, exchange, writer)
        finally:  # what the broker confirmed is recorded, whatever ended the session
            with contextlib.suppress(Exception):
                await asyncio.shield(writer.flush())

    async def _pump_batches(self, listener: Conn, connection: AbstractConnection,
                            channel: AbstractChannel, exchange: AbstractExchange,
                            writer: CheckpointWriter) -> None:
        checkpoint = writer.saved
        prefetched: list[StoredEvent] | None = None
        while True:
            _check_alive(listener, connection, channel)
            writer.raise_failure()
            if prefetched is None:
                self._wakeup.clear()
                batch = await self._read(checkpoint)
            else:
                batch, prefetched = prefetched, None
            if not batch:
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._wakeup.wait(), self.poll_interval)
                continue
            prefetched = await self._publish_and_read_next(exchange, batch)
            checkpoint = batch[-1].checkpoint
            writer.submit(checkpoint)
            self.checkpoint, self._session_progress = checkpoint, True

    async def _read(self, after: Checkpoint) -> list[StoredEvent]:
        async with self.pool.acquire() as conn:
            return await self.store.read_all(conn, after, self.batch_size)

    async def _publish_and_read_next(self, exchange: AbstractExchange,
                                     batch: list[StoredEvent]) -> list[StoredEvent]:
        """Publish ``batch`` and, while its confirms are outstanding, read the next one."""
        self._wakeup.clear()  # the read below sees everything notified before this point
        try:
            async with asyncio.TaskGroup() as group:
                group.create_task(self._publish(exchange, batch))
                reading = group.create_task(self._read(batch[-1].checkpoint))
        except BaseExceptionGroup as failed:
            raise failed.exceptions[0] from None
        return reading.result()

    async def _publish(self, exchange: AbstractExchange, batch: list[StoredEvent]) -> None:
        """Publish the whole batch, then wait for every confirm.

        One channel keeps the order on the wire; batching confirms is what makes the relay
        fast. Any failure (nack, return, lost channel, timeout) fails the whole batch, which
        is then republished from the checkpoint by a new session.
        """
        producer = self.store.producer
        public = [ev for ev in batch if is_public(ev)]
        spans = [_publish_span(ev, producer) for ev in public] if tracing.enabled() else []
        messages = [(to_message(ev, producer, spans[i] if spans else None), f"{producer}.{ev.type}")
                    for i, ev in enumerate(public)]
        RELAY_LAG.labels(producer).set(len(batch))
        if messages:
            try:
                results = await asyncio.wait_for(asyncio.gather(
                    *(exchange.publish(m, routing_key=key, mandatory=True) for m, key in messages),
                    return_exceptions=True), self.confirm_timeout)
            except BaseException as exc:
                _end_spans(spans, [exc] * len(spans))
                raise
            _end_spans(spans, results)
            failure = next((r for r in results if isinstance(r, BaseException)), None)
            if failure is not None:
                raise failure
        self.published += len(messages)
        RELAY_PUBLISHED.labels(producer).inc(len(messages))
        RELAY_LAG.labels(producer).set(0)


def _publish_span(ev: StoredEvent, producer: str) -> Span | None:
    return tracing.start_producer_span(ev.metadata.get("traceparent"), f"{producer}.{ev.type}",
                                       str(ev.event_id), EVENTS_EXCHANGE)


def _end_spans(spans: list[Span | None], results: list[Any]) -> None:
    """A publish span ends at its broker confirm (or failure)."""
    for span, result in zip(spans, results, strict=False):
        tracing.end_span(span, result if isinstance(result, BaseException) else None)


def _check_alive(listener: Conn, connection: AbstractConnection,
                 channel: AbstractChannel) -> None:
    if listener.is_closed():
        raise SessionLost("database session holding the relay lock is closed")
    if connection.is_closed or channel.is_closed:
        raise SessionLost("broker connection or channel is closed")
