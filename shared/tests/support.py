"""Helpers for the common library's tests: test events, a projection, broker and DB utilities."""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import aio_pika
import asyncpg

from shared.events import DomainEvent, event, upcaster
from shared.eventstore import Conn, EventStore, StoredEvent
from shared.metrics import CONSUMED
from shared.projections import Projection

PRODUCER = "libtest"


@event("LibThingAdded", producer=PRODUCER, stream_type="thing")
class ThingAdded(DomainEvent):
    amount: int
    note: str = ""


@event("LibThingRenamed", producer=PRODUCER, stream_type="thing", version=2)
class ThingRenamed(DomainEvent):
    """v1 had ``name``; v2 splits it into ``given_name`` and ``family_name``."""

    given_name: str
    family_name: str


@upcaster("LibThingRenamed", 1)
def _renamed_v1_to_v2(data: dict[str, Any]) -> dict[str, Any]:
    given, _, family = data.pop("name").partition(" ")
    return {**data, "given_name": given, "family_name": family}


THING_ADDED_KEY = f"{PRODUCER}.LibThingAdded"


class ThingTotals(Projection):
    """Per-stream total of ``amount``; idempotent by stream version; batched apply."""

    name = "thing_totals"
    tables = ("thing_totals",)
    DDL = ("CREATE TABLE IF NOT EXISTS thing_totals (stream_id text PRIMARY KEY,"
           " total bigint NOT NULL, events integer NOT NULL, last_version integer NOT NULL)")
    UPSERT = ("INSERT INTO thing_totals AS t (stream_id, total, events, last_version)"
              " VALUES ($1, $2, 1, $3) ON CONFLICT (stream_id) DO UPDATE"
              " SET total = t.total + EXCLUDED.total, events = t.events + 1,"
              "     last_version = EXCLUDED.last_version"
              " WHERE t.last_version < EXCLUDED.last_version")

    async def apply(self, conn: Conn, event: StoredEvent) -> None:
        await self.apply_batch(conn, [event])

    async def apply_batch(self, conn: Conn, events: Sequence[StoredEvent]) -> None:
        rows = [(e.stream_id, e.data["amount"], e.version) for e in events if e.type == "LibThingAdded"]
        if rows:
            await conn.executemany(self.UPSERT, rows)


async def table_rows(conn: Conn, table: str, order_by: str) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in await conn.fetch(f"SELECT * FROM {table} ORDER BY {order_by}")]


async def append_things(pool: asyncpg.Pool, store: EventStore, stream: str, amounts: Sequence[int],
                        expected_version: int = 0) -> list[StoredEvent]:
    async with pool.acquire() as conn:
        return await store.append(conn, stream, "thing", expected_version,
                                  [ThingAdded(amount=a) for a in amounts])


def consumed(consumer: str, type_name: str, outcome: str) -> float:
    """Value of the consumer outcome counter (handled / duplicate / error / poison)."""
    return float(CONSUMED.labels(consumer, type_name, outcome)._value.get())


def unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


@dataclass(frozen=True)
class Vhost:
    """A RabbitMQ virtual host of this test run."""

    name: str

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:5672/{self.name}"

    async def close_all_connections(self) -> None:
        """Force-close every client connection of this vhost (never of other vhosts).

        The CLI can hang when a client reconnects while it is closing (seen on a loaded
        machine); the connections are closed by then, so it is stopped after 30 s. A test
        that needs the close proves it by what follows (a reconnect, a resync)."""
        with contextlib.suppress(TimeoutError):
            await rabbitmqctl("close_all_connections", "-p", self.name, "forced by test", within=30)

    async def connection_names(self) -> list[str]:
        out = await rabbitmqctl("list_connections", "-p", self.name, "client_properties",
                                "--formatter", "json")
        return [str(c.get("client_properties", {}).get("connection_name", ""))
                for c in json.loads(out or "[]")] if out.strip().startswith("[") else []


async def rabbitmqctl(*args: str, within: float = 120.0) -> str:
    proc = await asyncio.create_subprocess_exec(
        "rabbitmqctl", "-q", *args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        out, err = await asyncio.wait_for(proc.communicate(), within)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise
    if proc.returncode != 0:
        raise RuntimeError(f"rabbitmqctl {' '.join(args)} failed: {err.decode()[:500]}")
    return out.decode()


async def drain(url: str, queue: str, within: float = 30.0) -> list[aio_pika.abc.AbstractIncomingMessage]:
    """Every message now in ``queue`` (consumed and acked), in queue order."""
    connection = await aio_pika.connect(url)
    try:
        channel = await connection.channel()
        await channel.set_qos(prefetch_count=1000)
        q = await channel.declare_queue(queue, passive=True)
        count = q.declaration_result.message_count or 0
        messages: list[aio_pika.abc.AbstractIncomingMessage] = []
        if count:
            async with q.iterator(no_ack=True) as it:
                async with asyncio.timeout(within):
                    async for message in it:
                        messages.append(message)
                        if len(messages) == count:
                            break
        return messages
    finally:
        await connection.close()
