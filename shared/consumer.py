"""Idempotent event consumers on durable quorum queues.

Each consuming service has one queue ``<service>.events`` bound to the routing keys it
handles, with a dead-letter exchange and a delivery limit. A handler runs inside the
transaction that also inserts the ``(consumer, event_id)`` tracking row: a redelivered event
finds the row and has no second effect. A message that cannot be parsed is dead-lettered at
once; one whose handler keeps failing is dead-lettered by the broker after
``delivery_limit`` attempts. Either way the queue moves on.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import aio_pika
import asyncpg
from aio_pika.abc import AbstractIncomingMessage, AbstractRobustChannel, AbstractRobustConnection, AbstractRobustQueue
from pydantic import ValidationError

from .bus import DEAD_LETTER_EXCHANGE, declare_dead_letter_exchange, declare_events_exchange
from .events import DomainEvent, Envelope, UnknownEvent
from .logging import get_logger
from .metrics import CONSUMED

log = get_logger(__name__)

Handler = Callable[[asyncpg.Connection, Envelope, DomainEvent], Awaitable[None]]


class Consumer:
    def __init__(self, name: str, pool: asyncpg.Pool, amqp_url: str,
                 handlers: Mapping[str, Handler], *, prefetch: int = 32,
                 delivery_limit: int = 5, retry_delay: float = 0.2,
                 after_commit: Callable[[Envelope], Awaitable[None]] | None = None) -> None:
        self.name, self.pool, self.amqp_url = name, pool, amqp_url
        self.handlers = dict(handlers)  # routing key -> handler
        self.prefetch, self.delivery_limit, self.retry_delay = prefetch, delivery_limit, retry_delay
        self.after_commit = after_commit
        self.queue_name = f"{name}.events"
        self.dead_letter_queue_name = f"{name}.events.dlq"
        self._connection: AbstractRobustConnection | None = None
        self._channel: AbstractRobustChannel | None = None
        self._queue: AbstractRobustQueue | None = None  # kept: robust channels restore what they hold
        self._tag: str | None = None

    @property
    def attached(self) -> bool:
        ch = self._channel
        return bool(self._tag) and ch is not None and not ch.is_closed and self._connection is not None \
            and not self._connection.is_closed

    async def start(self) -> None:
        self._connection = await aio_pika.connect_robust(
            self.amqp_url, client_properties={"connection_name": f"{self.name}-consumer"})
        self._channel = await self._connection.channel()  # type: ignore[assignment]
        assert self._channel is not None
        await self._channel.set_qos(prefetch_count=self.prefetch)
        exchange = await declare_events_exchange(self._channel)
        dlx = await declare_dead_letter_exchange(self._channel)
        dlq = await self._channel.declare_queue(
            self.dead_letter_queue_name, durable=True, arguments={"x-queue-type": "quorum"})
        await dlq.bind(dlx, routing_key=self.queue_name)
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

    async def stop(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(Exception):
                await self._connection.close()
        self._tag = None

    async def _on_message(self, message: AbstractIncomingMessage) -> None:
        try:
            envelope = Envelope.model_validate_json(message.body)
            event = envelope.decode()
        except (ValidationError, UnknownEvent, ValueError) as exc:
            log.error("event_unreadable_dead_lettered", consumer=self.name,
                      message_id=message.message_id, error=str(exc)[:500])
            CONSUMED.labels(self.name, message.type or "?", "poison").inc()
            await message.reject(requeue=False)
            return
        handler = self.handlers.get(envelope.routing_key)
        if handler is None:  # bound by an older version of this service; nothing to do
            await message.ack()
            return
        try:
            handled = await self.handle(envelope, event, handler)
        except Exception as exc:  # noqa: BLE001 - retried, then dead-lettered by the broker
            attempts = int((message.headers or {}).get("x-delivery-count", 0) or 0) + 1
            log.error("event_handler_failed", consumer=self.name, type=envelope.type,
                      event_id=str(envelope.event_id), attempt=attempts, error=repr(exc)[:500])
            CONSUMED.labels(self.name, envelope.type, "error").inc()
            await asyncio.sleep(self.retry_delay * attempts)
            await message.nack(requeue=True)
            return
        await message.ack()
        CONSUMED.labels(self.name, envelope.type, "handled" if handled else "duplicate").inc()
        if handled and self.after_commit is not None:
            with contextlib.suppress(Exception):
                await self.after_commit(envelope)

    async def handle(self, envelope: Envelope, event: DomainEvent, handler: Handler) -> bool:
        """Run ``handler`` exactly once per (consumer, event_id); False if already done."""
        async with self.pool.acquire() as conn, conn.transaction():
            fresh = await conn.fetchval(
                "INSERT INTO processed_events (consumer, event_id) VALUES ($1, $2)"
                " ON CONFLICT DO NOTHING RETURNING true", self.name, envelope.event_id)
            if not fresh:
                return False
            await handler(conn, envelope, event)
            return True


def handlers_for(*pairs: tuple[type[DomainEvent], Handler]) -> dict[str, Handler]:
    """Build a routing-key map from (event class, handler) pairs."""
    return {f"{cls.producer}.{cls.event_type}": fn for cls, fn in pairs}


__all__ = ["Consumer", "Handler", "handlers_for", "Any"]
