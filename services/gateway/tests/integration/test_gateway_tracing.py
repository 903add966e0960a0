"""The gateway's part of a trace: a valid client traceparent is its span's parent, and the
service receives the gateway's span, never the client's raw (or malformed) header."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Iterator

import aiohttp
import pytest
import pytest_asyncio
from aiohttp import web
from aiohttp.test_utils import TestServer
from gateway.bootstrap import create_gateway
from gateway.config import GatewaySettings
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from shared import tracing

CLIENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
CLIENT_TRACE, CLIENT_SPAN = 0x4BF92F3577B34DA6A3CE929D0E0E4736, 0x00F067AA0BA902B7


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = tracing.in_memory("gateway")
    yield exporter
    tracing.shutdown()


@pytest.fixture
def off() -> Iterator[None]:
    tracing.shutdown()
    yield


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def gateway_and_upstream() -> tuple[TestServer, TestServer, list[dict[str, str]]]:
    received: list[dict[str, str]] = []

    async def echo(request: web.Request) -> web.Response:
        received.append({k.lower(): v for k, v in request.headers.items()
                         if k.lower() in ("traceparent", "tracestate")})
        return web.json_response({})

    upstream = web.Application()
    upstream.router.add_get("/api/v1/support", echo)
    up = TestServer(upstream, host="127.0.0.1")
    await up.start_server()
    dead = free_port()
    settings = GatewaySettings(notify_url=f"http://127.0.0.1:{up.port}",
                               identity_url=f"http://127.0.0.1:{dead}",
                               identity_internal_url=f"http://127.0.0.1:{dead}")
    gw = TestServer(create_gateway(settings), host="127.0.0.1")
    await gw.start_server()
    return gw, up, received


@pytest_asyncio.fixture
async def traced_gateway(spans: InMemorySpanExporter) -> AsyncIterator[tuple[str, list[dict[str, str]]]]:
    gw, up, received = await gateway_and_upstream()
    yield f"http://127.0.0.1:{gw.port}", received
    await gw.close()
    await up.close()


async def get(url: str, headers: dict[str, str]) -> None:
    async with aiohttp.ClientSession() as s, s.get(url + "/api/v1/support", headers=headers) as r:
        assert r.status == 200


async def test_the_clients_traceparent_is_the_parent_and_the_service_gets_the_gateways_span(
        traced_gateway: tuple[str, list[dict[str, str]]], spans: InMemorySpanExporter) -> None:
    url, received = traced_gateway
    await get(url, {"traceparent": CLIENT, "tracestate": "vendor=abc"})
    (span,) = [s for s in spans.get_finished_spans() if s.kind == SpanKind.SERVER]
    assert span.context.trace_id == CLIENT_TRACE and span.parent.span_id == CLIENT_SPAN
    assert received == [{"traceparent": tracing.format_traceparent(span.context),
                         "tracestate": "vendor=abc"}]


@pytest.mark.parametrize("bad", ["00-zz-00f067aa0ba902b7-01", CLIENT.upper(),
                                 "00-00000000000000000000000000000000-00f067aa0ba902b7-01"])
async def test_a_malformed_client_traceparent_starts_a_new_trace_and_is_not_forwarded(
        traced_gateway: tuple[str, list[dict[str, str]]], spans: InMemorySpanExporter, bad: str) -> None:
    url, received = traced_gateway
    await get(url, {"traceparent": bad, "tracestate": "vendor=abc"})
    (span,) = [s for s in spans.get_finished_spans() if s.kind == SpanKind.SERVER]
    assert span.parent is None and span.context.trace_id != CLIENT_TRACE
    assert received == [{"traceparent": tracing.format_traceparent(span.context)}]


async def test_with_tracing_off_no_trace_context_is_forwarded(off: None) -> None:
    gw, up, received = await gateway_and_upstream()
    try:
        await get(f"http://127.0.0.1:{gw.port}", {"traceparent": CLIENT, "tracestate": "vendor=abc"})
    finally:
        await gw.close()
        await up.close()
    assert received == [{}]


async def test_a_browser_client_may_send_trace_context(off: None) -> None:
    gw, up, _ = await gateway_and_upstream()
    try:
        origin = "http://127.0.0.1:8080"  # one of the default allowed origins
        async with aiohttp.ClientSession() as s, s.options(
                f"http://127.0.0.1:{gw.port}/api/v1/support",
                headers={"Origin": origin, "Access-Control-Request-Method": "GET",
                         "Access-Control-Request-Headers": "traceparent, tracestate"}) as r:
            allowed = {h.strip().lower() for h in r.headers["Access-Control-Allow-Headers"].split(",")}
    finally:
        await gw.close()
        await up.close()
    assert {"traceparent", "tracestate"} <= allowed
