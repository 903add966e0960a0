"""Idempotent event consumers on durable quorum queues.

Each consuming service has one queue ``<service>.events`` bound to the routing keys it
handles, with a dead-letter exchange and a delivery limit. A handler runs inside the
transaction that also inserts the ``(consumer, event_id)`` tracking row: a redelivered event
finds the row and has no second effect. A message that cannot be parsed is dead-lettered at
once; one whose handler keeps failing is dead-lettered by the broker after
``delivery_limit`` attempts. Either way the queue moves on.

Order: up to ``prefetch`` messages are in flight, but messages of one stream are handled one
after another, in delivery order (each stream hashes to a *lane*; a lane is a FIFO lock).
Failures of the database itself (connection lost, server restarting, serialization
conflicts) are retried in place for a while instead of being counted as poison, so a
database restart does not empty the queue into the dead-letter queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import zlib
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, cast

import aio_pika
import asyncpg
from aio_pika.abc import (
    AbstractExchange,
    AbstractIncomingMessage,
    AbstractRobustChannel,
    AbstractRobustConnection,
    AbstractRobustQueue,
)
from pydantic import ValidationError

from . import tracing
from .bus import DEAD_LETTER_EXCHANGE, declare_dead_letter_exchange, declare_events_exchange
from .events import DomainEvent, Envelope, UnknownEvent
from .logging import get_logger
from .metrics import CONSUMED

log = get_logger(__name__)

Handler = Callable[[asyncpg.Connection, Envelope, DomainEvent], Awaitable[None]]

# Errors that say "the database is briefly unavailable or busy", not "this event is bad".
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    asyncpg.PostgresConnectionError, asyncpg.InterfaceError, asyncpg.CannotConnectNowError,
    asyncpg.AdminShutdownError, asyncpg.CrashShutdownError, asyncpg.TooManyConnectionsError,
    asyncpg.SerializationError, asyncpg.DeadlockDetectedError, ConnectionError,
)


class Consumer:
    def __init__(self, name: str, pool: asyncpg.Pool, amqp_url: str,
                 handlers: Mapping[str, Handler], *, prefetch: int = 32,
                 delivery_limit: int = 5, retry_delay: float = 0.2,
                 after_commit: Callable[[Envelope], Awaitable[None]] | None = None,
                 lanes: int = 16, transient_retry_for: float = 60.0,
                 reconnect_interval: float = 1.0) -> None:
        self.name, self.pool, self.amqp_url = name, pool, amqp_url
        self.handlers = dict(handlers)  # routing key -> handler
        self.prefetch, self.delivery_limit, self.retry_delay = prefetch, delivery_limit, retry_delay
        self.after_commit = after_commit
        self.transient_retry_for, self.reconnect_interval = transient_retry_for, reconnect_interval
        self.queue_name = f"{name}.events"
        self.dead_letter_queue_name = f"{name}.events.dlq"
        self.reconnects = 0
        self._lanes = [asyncio.Lock() for _ in range(max(1, lanes))]
        self._connection: AbstractRobustConnection | None = None
        self._channel: AbstractRobustChannel | None = None
        # Kept: a robust channel restores (re-declares, re-binds, re-consumes) what it holds.
        self._queue: AbstractRobustQueue | None = None
        self._dead_letter_queue: AbstractRobustQueue | None = None
        self._exchanges: list[AbstractExchange] = []
        self._tag: str | None = None

    @property
    def attached(self) -> bool:
        """True while the broker delivers to this consumer (connection, channel, consumer tag)."""
        conn, ch, tag = self._connection, self._channel, self._tag
        if not tag or conn is None or ch is None or conn.is_closed or ch.is_closed:
            return False
        underlay = getattr(ch, "_channel", None)  # aio-pika keeps the live aiormq channel here
        consumers = getattr(getattr(underlay, "channel", None), "consumers", None)
        return consumers is None or tag in consumers

    async def start(self) -> None:
        try:
            await self._start()
        except BaseException:
            await self.stop()
            raise

    async def _start(self) -> None:
        self._connection = await aio_pika.connect_robust(
            self.amqp_url, reconnect_interval=self.reconnect_interval,
            client_properties={"connection_name": f"{self.name}-consumer"})
        self._connection.reconnect_callbacks.add(self._on_reconnect)
        self._channel = await self._connection.channel()  # type: ignore[assignment]
        assert self._channel is not None
        await self._channel.set_qos(prefetch_count=self.prefetch)
        exchange = await declare_events_exchange(self._channel)
        dlx = await declare_dead_letter_exchange(self._channel)
        self._exchanges = [exchange, dlx]
        self._dead_letter_queue = await self._channel.declare_queue(  # type: ignore[assignment]
            self.dead_letter_queue_name, durable=True, arguments={"x-queue-type": "quorum"})
        assert self._dead_letter_queue is not None
        await self._dead_letter_queue.bind(dlx, routing_key=self.queue_name)
        self._queue = await self._channel.declare_queue(  # type: ignore[assignment]
            self.queue_name, durable=True,
            arguments={
                "x-queue-type": "quorum",
                "x-dead-letter-exchange": DEAD_LETTER_EXCHANGE,
                "x-dead-letter-routing-key": self.queue_name,
                "x-delivery-limit": self.delivery_limit,
            },
        )
        assert self._queue is not None
        for key in self.handlers:
            await self._queue.bind(exchange, routing_key=key)
        self._tag = await self._queue.consume(self._on_message)

    def _on_reconnect(self, *_: Any) -> None:
        self.reconnects += 1
        log.info("consumer_reconnected", consumer=self.name, reconnects=self.reconnects)

    async def stop(self) -> None:
        self._tag = None
        if self._connection is not None:
            with contextlib.suppress(Exception):
                await self._connection.close()

    def _lane(self, stream_id: str) -> asyncio.Lock:
        return self._lanes[zlib.crc32(stream_id.encode()) % len(self._lanes)]

    async def _on_message(self, message: AbstractIncomingMessage) -> None:
        # Parse synchronously: callbacks start in delivery order, so they queue on their
        # lane's (FIFO) lock in delivery order too.
        try:
            envelope = Envelope.model_validate_json(message.body)
            event = envelope.decode()
        except (ValidationError, UnknownEvent, ValueError) as exc:
            await self._dead_letter(message, exc)
            return
        handler = self.handlers.get(envelope.routing_key)
        if handler is None:  # bound by an older version of this service; nothing to do
            await message.ack()
            return
        async with self._lane(envelope.stream_id):
            with tracing.consumer_span(envelope.traceparent, self.name, envelope.routing_key,
                                       str(envelope.event_id)):
                await self._process(message, envelope, event, handler)

    async def _dead_letter(self, message: AbstractIncomingMessage, exc: Exception) -> None:
        log.error("event_unreadable_dead_lettered", consumer=self.name,
                  message_id=message.message_id, error=str(exc)[:500])
        CONSUMED.labels(self.name, message.type or "?", "poison").inc()
        await message.reject(requeue=False)

    async def _process(self, message: AbstractIncomingMessage, envelope: Envelope,
                       event: DomainEvent, handler: Handler) -> None:
        try:
            handled = await self._handle_retrying_transient(envelope, event, handler)
        except Exception as exc:  # noqa: BLE001 - retried, then dead-lettered by the broker
            tracing.mark_failed(exc)
            attempts = _delivery_count(message) + 1
            log.error("event_handler_failed", consumer=self.name, type=envelope.type,
                      event_id=str(envelope.event_id), attempt=attempts, error=repr(exc)[:500])
            CONSUMED.labels(self.name, envelope.type, "error").inc()
            await asyncio.sleep(self.retry_delay * attempts)
            await message.nack(requeue=True)
            return
        try:
            await message.ack()
        except Exception as exc:  # noqa: BLE001 - channel lost: redelivered, then a duplicate
            log.warning("event_ack_lost", consumer=self.name, event_id=str(envelope.event_id),
                        error=repr(exc)[:300])
        CONSUMED.labels(self.name, envelope.type, "handled" if handled else "duplicate").inc()
        if handled and self.after_commit is not None:
            with contextlib.suppress(Exception):
                await self.after_commit(envelope)

    async def _handle_retrying_transient(self, envelope: Envelope, event: DomainEvent,
                                         handler: Handler) -> bool:
        loop = asyncio.get_running_loop()
        deadline, delay = loop.time() + self.transient_retry_for, 0.1
        while True:
            try:
                return await self.handle(envelope, event, handler)
            except TRANSIENT_ERRORS as exc:
                if loop.time() + delay > deadline:
                    raise
                log.warning("event_handler_transient_error", consumer=self.name,
                            event_id=str(envelope.event_id), error=repr(exc)[:300])
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    async def handle(self, envelope: Envelope, event: DomainEvent, handler: Handler) -> bool:
        """Run ``handler`` exactly once per (consumer, event_id); False if already done."""
        async with self.pool.acquire() as conn, conn.transaction():
            fresh = await conn.fetchval(
                "INSERT INTO processed_events (consumer, event_id) VALUES ($1, $2)"
                " ON CONFLICT DO NOTHING RETURNING true", self.name, envelope.event_id)
            if not fresh:
                return False
            await handler(cast(asyncpg.Connection, conn), envelope, event)
            return True


def _delivery_count(message: AbstractIncomingMessage) -> int:
    """Earlier deliveries of this message (quorum queues count them in ``x-delivery-count``)."""
    count = (message.headers or {}).get("x-delivery-count", 0)
    return count if isinstance(count, int) else 0


def handlers_for(*pairs: tuple[type[DomainEvent], Handler]) -> dict[str, Handler]:
    """Build a routing-key map from (event class, handler) pairs."""
    return {f"{cls.producer}.{cls.event_type}": fn for cls, fn in pairs}


__all__ = ["Consumer", "Handler", "TRANSIENT_ERRORS", "handlers_for", "Any"]
