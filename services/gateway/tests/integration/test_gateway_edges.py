"""The gateway's own behaviour against fake upstream services (real RabbitMQ for its feed)."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator

import aiohttp
import pytest
import pytest_asyncio
from aiohttp import web
from aiohttp.test_utils import TestServer
from gateway.bootstrap import create_gateway
from gateway.config import GatewaySettings
from gateway.limits import RateLimiter, default_rules


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
        identity_url=f"http://127.0.0.1:{dead}", identity_internal_url=f"http://127.0.0.1:{dead}",
        seals_url=f"http://127.0.0.1:{dead}",
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


# --- every rate-limited endpoint class answers 429 problem+json with Retry-After ----------

# One concrete request per rule of ``default_rules`` (a test below checks none is missing).
LIMITED_REQUESTS = {
    "login": ("POST", "/api/v1/sessions"),
    "face_check": ("POST", "/api/v1/face-checks"),
    "face_result": ("POST", "/api/v1/face-checks/7c3e2a52-51f4-4d55-9b47-0d4f0b0e8d11/result"),
    "sms_code": ("POST", "/api/v1/certificate/activation-codes"),
    "stamp": ("POST", "/api/v1/stamp-requests/7c3e2a52-51f4-4d55-9b47-0d4f0b0e8d11/stamp"),
    "stamp_request": ("POST", "/api/v1/stamp-requests"),
    "scan": ("POST", "/api/v1/scans"),
    "register": ("POST", "/api/v1/persons"),
    "verify": ("POST", "/api/v1/verifications"),
    "oauth_token": ("POST", "/api/v1/oauth/token"),
}


@pytest_asyncio.fixture
async def tight_gateway() -> AsyncIterator[str]:
    """A gateway whose every bucket holds one request; all services unreachable (the rate
    limit answers before any forwarding)."""
    dead = f"http://127.0.0.1:{free_port()}"
    settings = GatewaySettings(rate_limit_scale=0.001, identity_url=dead, identity_internal_url=dead,
                               agents_url=dead,
                               certs_url=dead, seals_url=dead, stamping_url=dead, notify_url=dead)
    gw = TestServer(create_gateway(settings), host="127.0.0.1")
    await gw.start_server()
    yield f"http://127.0.0.1:{gw.port}"
    await gw.close()


def test_every_rate_limit_rule_has_a_request_here() -> None:
    assert set(LIMITED_REQUESTS) == {rule.name for rule in default_rules()}
    limiter = RateLimiter(default_rules())
    for name, (method, path) in LIMITED_REQUESTS.items():
        rule = limiter.rule_for(method, path)
        assert rule is not None and rule.name == name, (name, path)


@pytest.mark.parametrize("rule", sorted(LIMITED_REQUESTS))
async def test_each_rate_limited_endpoint_class_answers_429_problem_with_retry_after(
        tight_gateway: str, rule: str) -> None:
    method, path = LIMITED_REQUESTS[rule]
    async with aiohttp.ClientSession() as s:
        async with s.request(method, tight_gateway + path, json={}) as first:
            assert first.status != 429  # the bucket's one request (then 401/503 beyond it)
        async with s.request(method, tight_gateway + path, json={},
                             headers={"X-Request-ID": f"limit-{rule.replace('_', '-')}"}) as r:
            assert r.status == 429
            assert r.content_type == "application/problem+json"
            retry_after = int(r.headers["Retry-After"])
            assert retry_after >= 1
            body = await r.json()
            assert body["code"] == "rate_limited" and body["status"] == 429
            assert body["limit"] == rule and body["retry_after"] == retry_after
            assert r.headers["X-Request-ID"] == f"limit-{rule.replace('_', '-')}"
        async with s.get(tight_gateway + "/api/v1/seal-types") as other:
            assert other.status != 429  # an unlimited endpoint is not affected


async def test_a_rate_limited_answer_carries_cors_headers_for_the_browser(tight_gateway: str) -> None:
    origin = "http://127.0.0.1:8080"  # the default allowed origin
    async with aiohttp.ClientSession() as s:
        for _ in range(2):
            async with s.post(tight_gateway + "/api/v1/scans", json={}, headers={"Origin": origin}) as r:
                status, headers = r.status, r.headers
    assert status == 429
    assert headers["Access-Control-Allow-Origin"] == origin
    assert "Retry-After" in headers["Access-Control-Expose-Headers"]


# --- body limits --------------------------------------------------------------------------


async def test_oversized_declared_body_is_413_problem_before_reaching_the_service(gateway: str) -> None:
    async with aiohttp.ClientSession() as s, s.post(gateway + "/api/v1/verifications",
                                                     data=b"x" * (200 * 1024),
                                                     headers={"X-Request-ID": "big1"}) as r:
        assert r.status == 413
        assert r.content_type == "application/problem+json"
        body = await r.json()
        assert body["code"] == "payload_too_large" and body["status"] == 413
        assert r.headers["X-Request-ID"] == "big1"


async def test_oversized_chunked_body_is_413_problem(gateway: str) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(20):
            yield b"x" * (16 * 1024)  # 320 KiB in all, no Content-Length

    async with aiohttp.ClientSession() as s, s.post(gateway + "/api/v1/verifications",
                                                     data=chunks()) as r:
        assert r.status == 413
        assert r.content_type == "application/problem+json"
        assert (await r.json())["code"] == "payload_too_large"


async def test_a_body_within_the_limit_is_forwarded_whole(gateway: str) -> None:
    async with aiohttp.ClientSession() as s, s.post(gateway + "/api/v1/verifications",
                                                     data=b"x" * (60 * 1024)) as r:
        assert r.status == 200
        assert (await r.json())["len"] == 60 * 1024
