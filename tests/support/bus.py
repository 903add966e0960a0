"""Publishing catalogue events into a platform's RabbitMQ vhost, as producers' relays do.

For tests of a consumer whose producers are not built yet (or to replay a delivery): the
envelope goes to ``eseal.events`` with routing key ``<producer>.<Type>``, persistent, with
publisher confirms and unroutable messages raised.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime

import aio_pika
from aio_pika.abc import AbstractExchange

from shared.bus import declare_events_exchange
from shared.events import DomainEvent, Envelope, utcnow


@dataclass
class Bus:
    exchange: AbstractExchange
    versions: dict[str, int] = field(default_factory=dict)

    async def publish(self, event: DomainEvent, *, stream_id: uuid.UUID | str,
                      version: int | None = None, correlation_id: str = "",
                      occurred_at: datetime | None = None,
                      event_id: uuid.UUID | None = None) -> Envelope:
        """Publish ``event`` as the next version of ``stream_id`` (or the given version)."""
        sid = str(stream_id)
        if version is None:
            version = self.versions.get(sid, 0) + 1
        self.versions[sid] = max(version, self.versions.get(sid, 0))
        env = Envelope(event_id=event_id or uuid.uuid4(), type=event.event_type,
                       schema_version=event.schema_version, stream_type=event.stream_type,
                       stream_id=sid, stream_version=version, occurred_at=occurred_at or utcnow(),
                       producer=event.producer, correlation_id=correlation_id,
                       data=event.model_dump(mode="json"))
        await self.send(env)
        return env

    async def send(self, env: Envelope) -> None:
        """Publish an envelope as it is (e.g. a second delivery of the same event)."""
        await self.exchange.publish(
            aio_pika.Message(body=env.model_dump_json().encode(), message_id=str(env.event_id),
                             content_type="application/json", type=env.type,
                             delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                             timestamp=env.occurred_at,
                             headers={"producer": env.producer,
                                      "schema_version": env.schema_version}),
            routing_key=env.routing_key, mandatory=True)


@contextlib.asynccontextmanager
async def connect_bus(amqp_url: str) -> AsyncIterator[Bus]:
    connection = await aio_pika.connect_robust(amqp_url)
    try:
        channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
        yield Bus(await declare_events_exchange(channel))
    finally:
        await connection.close()
