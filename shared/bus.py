"""RabbitMQ topology shared by the relay and the consumers.

``eseal.events`` is a durable topic exchange. Its alternate exchange collects messages no
queue is bound for (a routing key nobody subscribes to yet is not an error); a ``mandatory``
publish is then returned only when even that fails, which the relay treats as an error.
"""

from __future__ import annotations

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractExchange

EVENTS_EXCHANGE = "eseal.events"
UNROUTED_EXCHANGE = "eseal.unrouted"
UNROUTED_QUEUE = "eseal.unrouted"
DEAD_LETTER_EXCHANGE = "eseal.dlx"


async def declare_events_exchange(channel: AbstractChannel) -> AbstractExchange:
    unrouted = await channel.declare_exchange(UNROUTED_EXCHANGE, aio_pika.ExchangeType.FANOUT, durable=True)
    queue = await channel.declare_queue(
        UNROUTED_QUEUE, durable=True,
        # Bounded: it is a safety net for inspection, not an archive.
        arguments={"x-max-length": 100_000, "x-overflow": "drop-head"},
    )
    await queue.bind(unrouted)
    return await channel.declare_exchange(
        EVENTS_EXCHANGE, aio_pika.ExchangeType.TOPIC, durable=True,
        arguments={"alternate-exchange": UNROUTED_EXCHANGE},
    )


async def declare_dead_letter_exchange(channel: AbstractChannel) -> AbstractExchange:
    return await channel.declare_exchange(DEAD_LETTER_EXCHANGE, aio_pika.ExchangeType.DIRECT, durable=True)
