"""Push latency of messages: from an event's commit to the SSE client, at light load.

The whole platform runs as processes (its own databases, vhost and ports). An enterprise
registers and logs in through the gateway and opens ``GET /api/v1/messages/stream`` there.
Then, one event at a time (a pause between them: light load), a ``SealIssued`` for that
enterprise is

- **appended** to a producer's event store (a scratch database with the platform's event
  store schema, tailed by the same ``shared.relay.Relay`` a producing service runs): the
  clock starts when the append's transaction has committed. Path: relay -> RabbitMQ (quorum
  queue) -> notify consumer (transaction + NOTIFY) -> stream -> gateway -> client.
- **published** straight to ``eseal.events`` (as a relay does): the clock starts before the
  publish (publisher confirm included). Path: RabbitMQ -> notify -> stream -> gateway -> client.

Each sample ends when the SSE event naming that seal arrives at the client.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import aiohttp

from shared import db
from shared.catalog import SealIssued
from shared.eventstore import EventStore
from shared.relay import Relay
from tests.support import identities as ids
from tests.support.api import Api
from tests.support.bus import Bus, connect_bus

from .common import Report, median, percentile, running_platform

SAMPLES = 200
PAUSE = 0.02  # seconds between events: one message in flight at a time
PG_URL = "postgresql://postgres@127.0.0.1:5432"


async def run(report: Report) -> None:
    async with running_platform() as (config, _):
        await _measure(report, config.url("gateway"), config.amqp_url, config.db_prefix)


@dataclass(frozen=True)
class Caller:
    principal_id: uuid.UUID
    access_token: str


async def _enterprise(api: Api) -> Caller:
    ent = await ids.register_enterprise(api)
    session = await ids.login(api, "enterprise", ent["uscc"], ent["password"])
    return Caller(uuid.UUID(ent["enterprise_id"]), session["access_token"])


async def _measure(report: Report, gateway: str, amqp_url: str, prefix: str) -> None:
    api = Api(gateway)
    try:
        enterprise = await _enterprise(api)
        async with _stream(gateway, enterprise) as arrivals, connect_bus(amqp_url) as bus, \
                _producer(prefix, amqp_url) as append:
            await _warm_up(bus, enterprise, arrivals)
            via_store = await _series(lambda name: append(_seal(enterprise, name)), arrivals, "store")
            via_bus = await _series(lambda name: _publish(bus, _seal(enterprise, name)), arrivals, "bus")
    finally:
        await api.close()
    for label, (values, _) in (("append commit -> SSE client", via_store),
                               ("AMQP publish -> SSE client", via_bus)):
        report.add(f"push latency p50, {label}", median(values), "ms")
        report.add(f"push latency p99, {label}", percentile(values, 99), "ms")
    in_notify = via_store[1] + via_bus[1]
    report.add("of which notify tx start -> SSE client, p50", median(in_notify), "ms")
    report.add("of which notify tx start -> SSE client, p99", percentile(in_notify, 99), "ms")


def _seal(enterprise: Caller, name: str) -> SealIssued:
    return SealIssued(seal_id=uuid.uuid4(), enterprise_id=enterprise.principal_id, type="contract",
                      name=name, image_sha256="0" * 64, certificate_serial="0A",
                      issued_by=enterprise.principal_id)


async def _publish(bus: Bus, ev: SealIssued) -> float:
    started = time.perf_counter()
    await bus.publish(ev, stream_id=ev.seal_id)
    return started


Arrivals = dict[str, "asyncio.Future[Arrival]"]


@dataclass(frozen=True)
class Arrival:
    at: float  # time.perf_counter() at the client
    in_notify_ms: float  # from the start of notify's transaction (created_at) to the client


async def _series(emit: Callable[[str], Awaitable[float]], arrivals: Arrivals,
                  tag: str) -> tuple[list[float], list[float]]:
    """``emit`` sends one event and returns when the clock started.
    Returns the latencies, and the part of each spent from notify's transaction on."""
    total, in_notify = [], []
    for i in range(SAMPLES):
        name = f"{tag}-{i}-{uuid.uuid4().hex[:6]}"
        arrived = arrivals[name] = asyncio.get_running_loop().create_future()
        started = await emit(name)
        arrival = await asyncio.wait_for(arrived, 15)
        total.append((arrival.at - started) * 1000)
        in_notify.append(arrival.in_notify_ms)
        await asyncio.sleep(PAUSE)
    return total, in_notify


async def _warm_up(bus: Bus, enterprise: Caller, arrivals: Arrivals) -> None:
    """First deliveries pay for connections and caches: not part of the figures."""
    for i in range(10):
        name = f"warm-{i}"
        arrived = arrivals[name] = asyncio.get_running_loop().create_future()
        await bus.publish(_seal(enterprise, name), stream_id=uuid.uuid4())
        await asyncio.wait_for(arrived, 30)


@contextlib.asynccontextmanager
async def _stream(gateway: str, enterprise: Caller) -> AsyncIterator[Arrivals]:
    """Open the stream; resolve the future registered for a seal name when its message arrives."""
    arrivals: Arrivals = {}
    ready = asyncio.get_running_loop().create_future()
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None, sock_read=60)) as http:
        reader = asyncio.create_task(_read(http, gateway, enterprise.access_token, arrivals, ready))
        await asyncio.wait_for(ready, 15)
        try:
            yield arrivals
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader


async def _read(http: aiohttp.ClientSession, gateway: str, token: str, arrivals: Arrivals,
                ready: asyncio.Future[None]) -> None:
    headers = {"Authorization": f"Bearer {token}", "Accept": "text/event-stream"}
    async with http.get(gateway + "/api/v1/messages/stream", headers=headers) as r:
        if r.status != 200:
            raise RuntimeError(f"stream refused: {r.status} {await r.text()}")
        event, data = "", ""
        async for raw in r.content:
            line = raw.decode().rstrip("\r\n")
            if line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:"):
                data = line[5:].strip()
            elif line == "" and event:
                now = Arrival(time.perf_counter(), 0.0)
                if event == "ready" and not ready.done():
                    ready.set_result(None)
                elif event == "message":
                    _resolve(arrivals, json.loads(data), now)
                event, data = "", ""


def _resolve(arrivals: Arrivals, message: dict[str, Any], now: Arrival) -> None:
    body = message["body"]
    start = body.find("「")
    name = body[start + 1:body.find("」", start)]
    fut = arrivals.pop(name, None)
    if fut is not None and not fut.done():
        created = datetime.fromisoformat(message["created_at"].replace("Z", "+00:00"))
        fut.set_result(Arrival(now.at, (time.time() - created.timestamp()) * 1000))


@contextlib.asynccontextmanager
async def _producer(prefix: str, amqp_url: str) -> AsyncIterator[Callable[[SealIssued], Awaitable[float]]]:
    """A producer's event store and relay (scratch database named like the platform's)."""
    name = f"{prefix}bench_producer"
    await db.ensure_database(PG_URL, name)
    await db.migrate(f"{PG_URL}/{name}", None)
    pool = await db.create_pool(f"{PG_URL}/{name}", max_size=4)
    store = EventStore("seals")
    relay = Relay(pool, amqp_url, store, name="bench-relay")
    task = asyncio.create_task(relay.run())

    async def append(ev: SealIssued) -> float:
        async with pool.acquire() as conn:
            await store.append(conn, ev.seal_id, "seal", 0, [ev])
        return time.perf_counter()  # committed

    try:
        yield append
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await pool.close()
        await db.drop_database(PG_URL, name)
