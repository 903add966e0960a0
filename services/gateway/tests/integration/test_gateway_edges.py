"""The gateway's own behaviour against fake upstream services (real RabbitMQ for its feed)."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator

import aiohttp
import pytest_asyncio
from aiohttp import web
from aiohttp.test_utils import TestServer

from gateway.bootstrap import GatewaySettings, create_gateway


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def echo(request: web.Request) -> web.StreamResponse:
    body = await request.read()
    return web.json_response({"path": request.path_qs, "len": len(body),
                              "request_id": request.headers.get("X-Request-ID")},
                             headers={"X-Upstream": "yes"})


async def sse(request: web.Request) -> web.StreamResponse:
    resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
    await resp.prepare(request)
    for i in range(3):
        await resp.write(f"data: {i}\n\n".encode())
        await asyncio.sleep(0.05)
    return resp


@pytest_asyncio.fixture
async def gateway() -> AsyncIterator[str]:
    upstream = web.Application()
    upstream.router.add_route("*", "/api/v1/support", echo)
    upstream.router.add_route("*", "/api/v1/verifications", echo)
    upstream.router.add_get("/api/v1/support/stream", sse)
    up = TestServer(upstream, host="127.0.0.1")
    await up.start_server()
    dead = free_port()  # nothing listens here
    settings = GatewaySettings(
        notify_url=f"http://127.0.0.1:{up.port}", stamping_url=f"http://127.0.0.1:{up.port}",
        identity_url=f"http://127.0.0.1:{dead}", seals_url=f"http://127.0.0.1:{dead}",
        max_body_bytes=64 * 1024, cors_origins="https://app.example.gov.cn")
    gw = TestServer(create_gateway(settings), host="127.0.0.1")
    await gw.start_server()
    yield f"http://127.0.0.1:{gw.port}"
    await gw.close()
    await up.close()


async def test_forwards_with_request_id_and_upstream_headers(gateway: str) -> None:
    async with aiohttp.ClientSession() as s, s.get(gateway + "/api/v1/support?x=1",
                                                    headers={"X-Request-ID": "abc123"}) as r:
        assert r.status == 200
        body = await r.json()
        assert body == {"path": "/api/v1/support?x=1", "len": 0, "request_id": "abc123"}
        assert r.headers["X-Request-ID"] == "abc123"
        assert r.headers["X-Upstream"] == "yes"


async def test_unavailable_service_is_a_quick_503_problem(gateway: str) -> None:
    started = time.monotonic()
    async with aiohttp.ClientSession() as s, s.get(gateway + "/api/v1/seal-types") as r:
        assert r.status == 503
        assert r.content_type == "application/problem+json"
        assert (await r.json())["code"] == "service_unavailable"
    assert time.monotonic() - started < 5


async def test_oversized_body_is_413_problem(gateway: str) -> None:
    async with aiohttp.ClientSession() as s, s.post(gateway + "/api/v1/verifications",
                                                     data=b"x" * (200 * 1024)) as r:
        assert r.status == 413
        assert (await r.json())["code"] == "payload_too_large"


async def test_missing_token_on_user_route_is_401_problem(gateway: str) -> None:
    async with aiohttp.ClientSession() as s, s.get(gateway + "/api/v1/seals") as r:
        assert r.status == 401
        assert (await r.json())["code"] == "not_authenticated"


async def test_login_rate_limit_answers_429_with_retry_after(gateway: str) -> None:
    async with aiohttp.ClientSession() as s:
        statuses = []
        for _ in range(25):
            async with s.post(gateway + "/api/v1/sessions", json={}) as r:
                statuses.append(r.status)
                if r.status == 429:
                    assert int(r.headers["Retry-After"]) >= 1
                    assert (await r.json())["code"] == "rate_limited"
        assert 429 in statuses
        assert statuses.index(429) == 20  # the burst of the login rule


async def test_cors_preflight_and_headers_for_the_allowed_origin_only(gateway: str) -> None:
    origin = "https://app.example.gov.cn"
    async with aiohttp.ClientSession() as s:
        async with s.options(gateway + "/api/v1/support", headers={
                "Origin": origin, "Access-Control-Request-Method": "GET"}) as r:
            assert r.status == 204
            assert r.headers["Access-Control-Allow-Origin"] == origin
        async with s.get(gateway + "/api/v1/support", headers={"Origin": origin}) as r:
            assert r.headers["Access-Control-Allow-Origin"] == origin
        async with s.get(gateway + "/api/v1/support", headers={"Origin": "https://evil.example"}) as r:
            assert "Access-Control-Allow-Origin" not in r.headers


async def test_server_sent_events_stream_through_without_buffering(gateway: str) -> None:
    arrivals = []
    async with aiohttp.ClientSession() as s, s.get(gateway + "/api/v1/support/stream") as r:
        assert r.status == 200 and r.content_type == "text/event-stream"
        async for line in r.content:
            if line.startswith(b"data:"):
                arrivals.append(time.monotonic())
    assert len(arrivals) == 3
    assert arrivals[-1] - arrivals[0] > 0.05  # events arrived as sent, not all at the end
