"""notify in-process against real PostgreSQL and RabbitMQ, behind the real gateway.

Each test session gets its own database and RabbitMQ vhost. Identity is replaced by a fake
that serves a locally generated key (``tests.support.tokens.TestSigner``), so the gateway and
notify verify real ES256 tokens exactly as they will with identity. Events are published as
their producers' relays do: envelopes on ``eseal.events`` with routing key
``<producer>.<Type>``.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import asyncpg
import pytest_asyncio
from aiohttp.test_utils import TestServer
from gateway.bootstrap import create_gateway
from gateway.config import GatewaySettings
from notify.bootstrap import MIGRATIONS, NotifySettings, create_app

from devstack.stack import delete_vhost, ensure_vhost
from shared.db import drop_database
from shared.events import Envelope
from shared.listeners import add_internal_site
from shared.service import prepare_database
from tests.support.bus import Bus, connect_bus
from tests.support.polling import eventually
from tests.support.tokens import TestSigner


@dataclass
class Notify:
    gateway: str  # base URL of the gateway in front of notify
    direct: str  # notify itself
    signer: TestSigner
    bus: Bus
    http: aiohttp.ClientSession
    settings: NotifySettings
    pool: asyncpg.Pool
    internal: str = ""  # notify's internal listener (/metrics, /internal/*)

    async def get(self, path: str, token: str | None = None, **kw: Any) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with self.http.get(self.gateway + path, headers=headers, **kw) as r:
            body = await r.json(content_type=None) if r.content_length != 0 else None
            return r.status, body

    async def post(self, path: str, token: str | None = None) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with self.http.post(self.gateway + path, headers=headers) as r:
            raw = await r.read()
            return r.status, (await r.json(content_type=None)) if raw else None

    async def messages(self, token: str, **params: str) -> dict[str, Any]:
        status, body = await self.get("/api/v1/messages", token, params=params)
        assert status == 200, body
        return body  # type: ignore[no-any-return]

    async def wait_for(self, token: str, count: int, within: float = 10.0) -> list[dict[str, Any]]:
        """The caller's messages once there are at least ``count`` (newest first)."""
        return await eventually(lambda: self._items_if(token, count), within)

    async def processed(self, *envelopes: Envelope, within: float = 10.0) -> None:
        """Wait until notify has handled (committed) these events."""
        ids = [e.event_id for e in envelopes]

        async def done() -> bool:
            return await self.sql_value(
                "SELECT count(*) FROM processed_events WHERE event_id = any($1::uuid[])", ids) == len(ids)

        await eventually(done, within)

    async def sql_value(self, query: str, *args: Any) -> Any:
        """One value from notify's database (through the test's own small pool)."""
        return await self.pool.fetchval(query, *args)

    async def _items_if(self, token: str, count: int) -> list[dict[str, Any]] | None:
        items = (await self.messages(token, limit="100"))["items"]
        return items if len(items) >= count else None


@pytest_asyncio.fixture(scope="session")
async def notify() -> AsyncIterator[Notify]:
    run = uuid.uuid4().hex[:8]
    vhost = f"eseal_notify_{run}"
    ensure_vhost(vhost)
    amqp_url = f"amqp://guest:guest@127.0.0.1:5672/{vhost}"
    signer = TestSigner()
    identity = TestServer(signer.identity_app(), host="127.0.0.1")
    await identity.start_server()
    identity_url = f"http://127.0.0.1:{identity.port}"
    # Small pools: the PostgreSQL server is shared with every other test run on the machine.
    settings = NotifySettings(env="test", db_prefix=f"eseal_n{run}_", amqp_url=amqp_url,
                              identity_url=identity_url, identity_internal_url=identity_url,
                              sse_heartbeat_seconds=1.0,
                              db_pool_max=4)
    await prepare_database(settings, MIGRATIONS)
    service = TestServer(create_app(settings), host="127.0.0.1")
    await service.start_server()
    direct = f"http://127.0.0.1:{service.port}"
    assert service.runner is not None
    internal = await add_internal_site(service.runner)
    gw = TestServer(create_gateway(GatewaySettings(
        env="test", amqp_url=amqp_url, identity_url=identity_url, identity_internal_url=identity_url,
        notify_url=direct,
        rate_limit_scale=100)), host="127.0.0.1")
    await gw.start_server()
    http = aiohttp.ClientSession()
    pool = await asyncpg.create_pool(settings.database_url, min_size=1, max_size=2)
    try:
        async with connect_bus(amqp_url) as bus:
            yield Notify(f"http://127.0.0.1:{gw.port}", direct, signer, bus, http, settings, pool,
                         internal)
    finally:
        await pool.close()
        await http.close()
        await gw.close()
        await service.close()
        await identity.close()
        await drop_database(settings.pg_url, settings.db_name)
        delete_vhost(vhost)


@dataclass
class SseEvent:
    event: str
    id: str | None
    data: Any
    received: float  # time.perf_counter() at arrival


class SseStream:
    """Reads a text/event-stream response: events, and comments (heartbeats) counted."""

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self.response = response
        self.comments = 0

    async def next(self, within: float = 10.0) -> SseEvent:
        return await asyncio.wait_for(self._next(), within)

    async def _next(self) -> SseEvent:
        import json

        fields: dict[str, str] = {}
        while True:
            raw = await self.response.content.readline()
            if not raw:
                raise EOFError("the stream ended")
            line = raw.decode().rstrip("\r\n")
            if line == "":
                if "data" in fields or "event" in fields:
                    return SseEvent(fields.get("event", "message"), fields.get("id"),
                                    json.loads(fields.get("data", "null")), time.perf_counter())
                continue
            if line.startswith(":"):
                self.comments += 1
                continue
            name, _, value = line.partition(":")
            fields[name] = value.removeprefix(" ")

    async def next_message(self, within: float = 10.0) -> SseEvent:
        while True:
            ev = await self.next(within)
            if ev.event == "message":
                return ev


@contextlib.asynccontextmanager
async def open_stream(http: aiohttp.ClientSession, url: str, token: str,
                      last_event_id: str | None = None) -> AsyncIterator[SseStream]:
    headers = {"Authorization": f"Bearer {token}", "Accept": "text/event-stream"}
    if last_event_id:
        headers["Last-Event-ID"] = last_event_id
    async with http.get(url + "/api/v1/messages/stream", headers=headers,
                        timeout=aiohttp.ClientTimeout(total=None, sock_read=30)) as r:
        assert r.status == 200, await r.text()
        assert r.content_type == "text/event-stream"
        stream = SseStream(r)
        ready = await stream.next()
        assert ready.event == "ready", ready
        yield stream
