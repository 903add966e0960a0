"""Tracing: off (no-op) by default, strict traceparent parsing, the envelope's trace context,
and one connected trace through HTTP, the outbox relay, the broker and a consumer."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Iterator

import aio_pika
import aiohttp
import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from shared import tracing
from shared.bus import EVENTS_EXCHANGE
from shared.consumer import Consumer, handlers_for
from shared.events import Envelope, utcnow
from shared.eventstore import EventStore
from shared.http import create_app, json_response
from shared.internal import ServiceClient
from shared.relay import Relay
from tests.support.polling import eventually

from .support import ThingAdded, Vhost, unique

VALID = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
TRACE_ID = 0x4BF92F3577B34DA6A3CE929D0E0E4736
SPAN_ID = 0x00F067AA0BA902B7
OTEL_VARIABLES = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_SDK_DISABLED")


def parent_of(span: ReadableSpan) -> int:
    assert span.parent is not None, span.name
    return span.parent.span_id


def attributes(span: ReadableSpan) -> dict[str, object]:
    return dict(span.attributes or {})


@pytest.fixture(autouse=True)
def tracing_off_afterwards() -> Iterator[None]:
    tracing.shutdown()
    yield
    tracing.shutdown()


@pytest.fixture
def spans() -> InMemorySpanExporter:
    return tracing.in_memory("test")


# --- off by default -----------------------------------------------------------------------

def test_tracing_is_off_without_an_endpoint_and_every_helper_is_a_no_op(
        monkeypatch: pytest.MonkeyPatch) -> None:
    for name in OTEL_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    assert tracing.setup("stamping") is False and not tracing.enabled()
    with tracing.server_span("GET", "/things", {"traceparent": VALID}) as span:
        assert span is None
        headers: dict[str, str] = {}
        tracing.inject(headers)
        assert headers == {} and tracing.current_traceparent() is None
    assert tracing.client_trace_configs() == []
    assert tracing.start_producer_span(VALID, "libtest.LibThingAdded", "x", "eseal.events") is None
    with tracing.consumer_span(VALID, "c", "libtest.LibThingAdded", "x") as span:
        assert span is None


def test_the_otlp_endpoint_comes_from_eseal_or_the_standard_variables() -> None:
    assert tracing.otlp_traces_url("", {}) is None
    assert tracing.otlp_traces_url("http://collector:4318/", {}) == "http://collector:4318/v1/traces"
    assert tracing.otlp_traces_url("", {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}) \
        == "http://c:4318/v1/traces"
    assert tracing.otlp_traces_url("", {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://c:4318/x"}) \
        == "http://c:4318/x"
    assert tracing.otlp_traces_url("http://c:4318", {"OTEL_SDK_DISABLED": "true"}) is None


def test_setup_with_an_endpoint_turns_tracing_on(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in OTEL_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    assert tracing.setup("stamping", endpoint="http://127.0.0.1:9/", sample_ratio=0.0) is True
    assert tracing.enabled() and len(tracing.client_trace_configs()) == 1


# --- traceparent ------------------------------------------------------------------------

def test_a_valid_traceparent_is_parsed_and_formatted_back() -> None:
    ctx = tracing.parse_traceparent(VALID)
    assert ctx is not None and ctx.trace_id == TRACE_ID and ctx.span_id == SPAN_ID
    assert ctx.is_remote and ctx.trace_flags.sampled
    assert tracing.format_traceparent(ctx) == VALID
    unsampled = tracing.parse_traceparent(VALID[:-2] + "00")
    assert unsampled is not None and not unsampled.trace_flags.sampled
    # a later version may add fields; only the four known ones are read
    assert tracing.parse_traceparent("cc" + VALID[2:] + "-what-comes-next") is not None


@pytest.mark.parametrize("garbage", [
    None, "", 42, "garbage", VALID.upper(), VALID + "-extra", "ff" + VALID[2:],
    "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
    "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
    "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b-01",
    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902bz-01",
    "00_4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7_01",
    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1",
    "0-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
    VALID + "\n00-11111111111111111111111111111111-2222222222222222-01",
    "cc" + VALID[2:] + "x" * 600,
])
def test_a_malformed_traceparent_is_refused(garbage: object) -> None:
    assert tracing.parse_traceparent(garbage) is None


def test_two_traceparent_headers_are_no_parent() -> None:
    from multidict import CIMultiDict

    two = CIMultiDict([("traceparent", VALID), ("traceparent", VALID)])
    assert tracing.extract(two) is None
    assert tracing.extract(CIMultiDict([("traceparent", VALID)])) is not None


# --- the envelope ---------------------------------------------------------------------------

def envelope(**extra: object) -> Envelope:
    return Envelope(event_id=uuid.uuid4(), type="LibThingAdded", stream_type="thing", stream_id="t1",
                    stream_version=1, occurred_at=utcnow(), producer="libtest",
                    data={"amount": 1}, **extra)  # type: ignore[arg-type]


def test_the_envelope_carries_its_trace_context_through_json() -> None:
    sent = envelope(traceparent=VALID)
    received = Envelope.model_validate_json(sent.model_dump_json())
    assert received == sent and received.traceparent == VALID


def test_an_envelope_without_trace_context_stays_valid() -> None:
    old = envelope().model_dump(mode="json")
    del old["traceparent"]  # as published before tracing existed
    assert Envelope.model_validate(old).traceparent is None


def test_a_malformed_trace_context_is_dropped_not_the_event() -> None:
    for bad in (17, {"x": 1}, "x" * 1000):
        raw = envelope().model_dump(mode="json") | {"traceparent": bad}
        assert Envelope.model_validate(raw).traceparent is None
    # a string of the right size but not a traceparent: kept, and ignored by the consumer
    raw = envelope().model_dump(mode="json") | {"traceparent": "rubbish"}
    assert tracing.parse_traceparent(Envelope.model_validate(raw).traceparent) is None


# --- HTTP: server spans and propagation -------------------------------------------------------

@contextlib.asynccontextmanager
async def serving(app: web.Application) -> AsyncIterator[str]:
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        yield f"http://127.0.0.1:{server.port}"
    finally:
        await server.close()


async def test_a_request_gets_a_server_span_named_by_its_route_child_of_a_valid_traceparent(
        spans: InMemorySpanExporter) -> None:
    app = create_app()

    async def thing(request: web.Request) -> web.Response:
        return json_response({"id": request.match_info["thing_id"]})

    app.router.add_get("/things/{thing_id}", thing)
    async with serving(app) as url, aiohttp.ClientSession() as s:
        async with s.get(url + "/things/42?token=secret-value", headers={"traceparent": VALID}) as r:
            assert r.status == 200
        async with s.get(url + "/things/43", headers={"traceparent": "00-garbage-01"}) as r:
            assert r.status == 200  # a bad traceparent is ignored, never refused
    first, second = spans.get_finished_spans()
    assert first.name == "GET /things/{thing_id}" and first.kind == SpanKind.SERVER
    assert first.parent is not None and parent_of(first) == SPAN_ID
    assert first.context.trace_id == TRACE_ID
    assert attributes(first)["http.response.status_code"] == 200
    assert not any("secret" in str(v) or "42" in str(v) for v in attributes(first).values())
    assert second.parent is None and second.context.trace_id != TRACE_ID


@pytest.mark.parametrize("ratio", [1.0, 0.0])
async def test_a_trace_the_client_named_but_left_unsampled_is_kept_by_the_ratio(ratio: float) -> None:
    """The H5 pages send ``traceparent`` with flags 00 (web/src/shared/http.js): the trace is
    theirs, the sampling decision the platform's: kept with the ratio, under the client's ids."""
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    exporter = InMemorySpanExporter()
    tracing.install(tracing._sdk_provider("test", ratio), SimpleSpanProcessor(exporter))
    unsampled = VALID[:-2] + "00"
    with tracing.server_span("GET", "/things/{thing_id}", {"traceparent": unsampled}) as span:
        assert span is not None
        headers: dict[str, str] = {}
        tracing.inject(headers)  # what the called services and the events are given
    with tracing.server_span("GET", "/things/{thing_id}", {"traceparent": VALID}):
        pass  # a sampled parent stays sampled whatever the ratio
    kept = exporter.get_finished_spans()
    if ratio == 1.0:
        first = kept[0]
        assert first.context.trace_id == TRACE_ID and parent_of(first) == SPAN_ID
        assert headers["traceparent"].endswith("-01")
    else:  # not kept here, and not downstream either: the flag says so
        sent = headers["traceparent"]
        assert sent.startswith(f"00-{TRACE_ID:032x}-") and sent.endswith("-00")
    assert len(kept) == (2 if ratio == 1.0 else 1) and kept[-1].context.trace_id == TRACE_ID


def test_services_decide_alike_for_an_unsampled_trace_whatever_its_trace_id() -> None:
    """A trace the gateway did not keep reaches services and consumers with flags 00; with the
    platform's one ratio they reach the same verdict (a function of the trace id only), so a
    trace is whole or absent, never a fragment."""
    from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags, set_span_in_context

    sampler = tracing._sdk_provider("test", 0.5).sampler
    verdicts = []
    for i in range(200):
        trace_id = (i * 0x9E3779B97F4A7C15 + 1) % (1 << 128) or 1
        root = sampler.should_sample(None, trace_id, "GET /x").decision.is_sampled()
        remote = SpanContext(trace_id, 1, is_remote=True, trace_flags=TraceFlags(0))
        parent = set_span_in_context(NonRecordingSpan(remote))
        below = sampler.should_sample(parent, trace_id, "GET /x").decision.is_sampled()
        assert below == root, hex(trace_id)
        verdicts.append(root)
    assert 40 < sum(verdicts) < 160  # about half


async def test_service_calls_carry_the_trace_to_the_called_service(spans: InMemorySpanExporter) -> None:
    downstream = create_app()
    seen: list[str] = []

    async def pong(request: web.Request) -> web.Response:
        seen.append(request.headers.get("traceparent", ""))
        return json_response({})

    downstream.router.add_get("/pong", pong)
    upstream = create_app()

    async with serving(downstream) as down_url:
        async def ping(request: web.Request) -> web.Response:
            async with aiohttp.ClientSession(trace_configs=tracing.client_trace_configs()) as s:
                await ServiceClient(s, down_url, source="up", target="down", secret="x" * 32).get("/pong")
                return json_response({})

        upstream.router.add_get("/ping", ping)
        async with serving(upstream) as up_url, aiohttp.ClientSession() as s, s.get(up_url + "/ping") as r:
            assert r.status == 200
    by_kind = {sp.kind: sp for sp in spans.get_finished_spans()}
    server_up = next(sp for sp in spans.get_finished_spans() if sp.name == "GET /ping")
    client, server_down = by_kind[SpanKind.CLIENT], next(
        sp for sp in spans.get_finished_spans() if sp.name == "GET /pong")
    assert client.name == "GET down" and attributes(client)["peer.service"] == "down"
    assert parent_of(client) == server_up.context.span_id
    assert parent_of(server_down) == client.context.span_id
    assert seen == [tracing.format_traceparent(client.context)]
    assert {sp.context.trace_id for sp in (server_up, client, server_down)} == {server_up.context.trace_id}


# --- the outbox and the bus: one trace from the command to the consumer -------------------

async def test_an_event_appended_in_a_span_is_published_and_consumed_in_the_same_trace(
        spans: InMemorySpanExporter, pool: asyncpg.Pool, store: EventStore, vhost: Vhost) -> None:
    handled: list[str | None] = []

    async def handler(conn: asyncpg.Connection, env: Envelope, ev: object) -> None:
        handled.append(tracing.current_traceparent())

    consumer = Consumer(unique("libtrace"), pool, vhost.url, handlers_for((ThingAdded, handler)))
    await consumer.start()
    relay = Relay(pool, vhost.url, store, poll_interval=0.05)
    task = asyncio.create_task(relay.run())
    try:
        tracer = tracing._tracer
        assert tracer is not None
        with tracer.start_as_current_span("command") as command:
            async with pool.acquire() as conn:
                (stored,) = await store.append(conn, "traced-1", "thing", 0, [ThingAdded(amount=1)])
        assert stored.metadata["traceparent"] == tracing.format_traceparent(command.get_span_context())
        await eventually(lambda: len(handled) == 1, what="the event consumed")
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await consumer.stop()
    finished = {sp.name: sp for sp in spans.get_finished_spans()}
    publish = finished["publish libtest.LibThingAdded"]
    process = finished["process libtest.LibThingAdded"]
    assert publish.kind == SpanKind.PRODUCER and process.kind == SpanKind.CONSUMER
    assert parent_of(publish) == command.get_span_context().span_id
    assert parent_of(process) == publish.context.span_id
    assert publish.context.trace_id == process.context.trace_id == command.get_span_context().trace_id
    assert handled == [tracing.format_traceparent(process.context)]  # the handler's work joins it
    assert attributes(publish)["messaging.message.id"] == str(stored.event_id)


async def test_a_failing_handler_marks_its_consumer_span_failed(
        spans: InMemorySpanExporter, pool: asyncpg.Pool, vhost: Vhost) -> None:
    attempts: list[int] = []

    async def failing(conn: asyncpg.Connection, env: Envelope, ev: object) -> None:
        attempts.append(1)
        raise RuntimeError("person 13800000000 not found")  # a message that must stay out

    consumer = Consumer(unique("libtrace"), pool, vhost.url, handlers_for((ThingAdded, failing)),
                        delivery_limit=1, retry_delay=0.01)
    await consumer.start()
    try:
        sent = envelope(traceparent=VALID)
        connection = await aio_pika.connect(vhost.url)
        async with connection:
            channel = await connection.channel(publisher_confirms=True)
            exchange = await channel.get_exchange(EVENTS_EXCHANGE)
            await exchange.publish(aio_pika.Message(sent.model_dump_json().encode(),
                                                    message_id=str(sent.event_id)),
                                   routing_key=sent.routing_key)
        await eventually(lambda: len(attempts) >= 1 and len(spans.get_finished_spans()) >= 1,
                         what="the handler tried")
    finally:
        await consumer.stop()
    span = spans.get_finished_spans()[0]
    assert span.name == "process libtest.LibThingAdded" and parent_of(span) == SPAN_ID
    assert span.status.status_code == StatusCode.ERROR and span.status.description == "RuntimeError"
    assert "13800000000" not in str(span.to_json())
