"""Distributed tracing (OpenTelemetry): one trace from the client's request through the
gateway, every service call, the outbox relay, the broker and the consumers.

Off by default. ``setup`` turns it on only when an OTLP/HTTP endpoint is configured
(``ESEAL_OTLP_ENDPOINT``, or the standard ``OTEL_EXPORTER_OTLP_ENDPOINT`` /
``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``); until then every helper here returns at once
(``_tracer is None``): no spans, no headers, nothing added to events.

Context travels as W3C Trace Context: the ``traceparent`` (and ``tracestate``) HTTP headers
between processes, and the envelope's optional ``traceparent`` on the bus (``shared.events``).
Spans carry names from route templates and routing keys, never raw paths, query strings,
tokens or personal data.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Mapping, MutableMapping
from contextlib import AbstractContextManager
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import aiohttp
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import (
    NonRecordingSpan,
    Span,
    SpanContext,
    SpanKind,
    Status,
    StatusCode,
    TraceFlags,
    TraceState,
)

if TYPE_CHECKING:
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

TRACEPARENT = "traceparent"
TRACESTATE = "tracestate"
# version-traceid-parentid-flags, lower-case hex (W3C Trace Context §3.2). Later versions may
# append fields after a dash; "ff" is not a version.
_TRACEPARENT = re.compile(r"([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?")
_MAX_TRACESTATE = 512  # the W3C limit; longer ones are dropped, not truncated

_tracer: trace.Tracer | None = None  # None: tracing is off
_provider: Any = None  # the SDK's TracerProvider while on (flushed and shut down at exit)


def enabled() -> bool:
    return _tracer is not None


# --- W3C traceparent ---------------------------------------------------------------------

def parse_traceparent(value: object) -> SpanContext | None:
    """The remote span context of a ``traceparent`` value, or None if it is not valid."""
    if not isinstance(value, str) or not value or len(value) > 512:
        return None
    m = _TRACEPARENT.fullmatch(value.strip())
    if m is None:
        return None
    version, trace_id, span_id, flags, rest = m.groups()
    if version == "ff" or (version == "00" and rest):
        return None
    if trace_id == "0" * 32 or span_id == "0" * 16:
        return None
    return SpanContext(int(trace_id, 16), int(span_id, 16), is_remote=True,
                       trace_flags=TraceFlags(int(flags, 16) & TraceFlags.SAMPLED))


def format_traceparent(ctx: SpanContext) -> str | None:
    if not ctx.is_valid:
        return None
    return f"00-{ctx.trace_id:032x}-{ctx.span_id:016x}-{int(ctx.trace_flags) & 1:02x}"


def _parent(traceparent: object, tracestate: str | None = None) -> otel_context.Context | None:
    """A context whose span is the remote parent; None (a new root) for a missing/bad one."""
    remote = parse_traceparent(traceparent)
    if remote is None:
        return None
    if tracestate and len(tracestate) <= _MAX_TRACESTATE:
        state = TraceState.from_header([tracestate])  # invalid entries: an empty state
        remote = SpanContext(remote.trace_id, remote.span_id, is_remote=True,
                             trace_flags=remote.trace_flags, trace_state=state)
    return trace.set_span_in_context(NonRecordingSpan(remote), otel_context.Context())


def extract(headers: Mapping[str, str]) -> otel_context.Context | None:
    """The parent named by request headers; exactly one ``traceparent`` is accepted."""
    getall = getattr(headers, "getall", None)
    values = getall(TRACEPARENT, []) if getall else [v for v in [headers.get(TRACEPARENT)] if v]
    if len(values) != 1:
        return None
    states = getall(TRACESTATE, []) if getall else [v for v in [headers.get(TRACESTATE)] if v]
    return _parent(values[0], ",".join(states) if states else None)


def inject(headers: MutableMapping[str, str], span: Span | None = None) -> None:
    """Set ``traceparent``/``tracestate`` for ``span`` (default: the current one)."""
    if _tracer is None:
        return
    ctx = (span or trace.get_current_span()).get_span_context()
    if (value := format_traceparent(ctx)) is None:
        return
    headers[TRACEPARENT] = value
    if state := ctx.trace_state.to_header():
        headers[TRACESTATE] = state


def current_traceparent() -> str | None:
    """The current span as a ``traceparent`` (for an event's envelope), None when off."""
    if _tracer is None:
        return None
    return format_traceparent(trace.get_current_span().get_span_context())


# --- set-up ----------------------------------------------------------------------------

def otlp_traces_url(configured: str = "", env: Mapping[str, str] | None = None) -> str | None:
    """Where spans go: ESEAL_OTLP_ENDPOINT (a base URL, like the standard variable), else the
    standard OTEL_EXPORTER_OTLP_TRACES_ENDPOINT (the full URL) or OTEL_EXPORTER_OTLP_ENDPOINT."""
    env = os.environ if env is None else env
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return None
    if configured.strip():
        return configured.strip().rstrip("/") + "/v1/traces"
    if full := env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "").strip():
        return full
    if base := env.get("OTEL_EXPORTER_OTLP_ENDPOINT", "").strip():
        return base.rstrip("/") + "/v1/traces"
    return None


def setup(service: str, *, endpoint: str = "", sample_ratio: float = 1.0) -> bool:
    """Export this process's spans over OTLP/HTTP when an endpoint is configured.

    Sampling is parent-based: a request or event that arrives sampled stays sampled; new
    traces, and those a caller started without deciding (flags ``00``: the H5 pages name
    every request's trace but leave sampling to the platform), are kept with
    ``sample_ratio``. Returns whether tracing is on.
    """
    url = otlp_traces_url(endpoint)
    if url is None:
        return False
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    install(_sdk_provider(service, sample_ratio), BatchSpanProcessor(OTLPSpanExporter(endpoint=url)))
    return True


def _sdk_provider(service: str, sample_ratio: float) -> Any:
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased

    # A remote parent that is not sampled gets the ratio too, rather than never being traced
    # (the SDK's default): the decision is a function of the trace id alone, so the gateway,
    # the services it calls and the consumers of their events all decide the same for one trace.
    ratio = TraceIdRatioBased(sample_ratio)
    return TracerProvider(resource=Resource.create({"service.name": service}),
                          sampler=ParentBased(ratio, remote_parent_not_sampled=ratio))


def install(provider: Any, *processors: Any) -> None:
    """Use ``provider`` (an SDK TracerProvider) with ``processors``; tests pass in-memory ones."""
    global _tracer, _provider
    for p in processors:
        provider.add_span_processor(p)
    _provider, _tracer = provider, provider.get_tracer("eseal")


def in_memory(service: str = "test") -> InMemorySpanExporter:
    """Tracing on, into an in-memory exporter (unit tests); returns the exporter."""
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    install(_sdk_provider(service, 1.0), SimpleSpanProcessor(exporter))
    return exporter


def shutdown() -> None:
    """Flush what is buffered and turn tracing off."""
    global _tracer, _provider
    if _provider is not None:
        _provider.shutdown()
    _tracer = _provider = None


# --- spans -------------------------------------------------------------------------------

# What the span helpers return when tracing is off: one shared no-op context (yields None).
_OFF: AbstractContextManager[None] = contextlib.nullcontext()


def server_span(method: str, route: str, headers: Mapping[str, str]) -> AbstractContextManager[Span | None]:
    """The span of one HTTP request, named by its route template; the parent is the
    caller's valid ``traceparent``, if any (a malformed one starts a new trace)."""
    if _tracer is None:
        return _OFF
    return _tracer.start_as_current_span(
        f"{method} {route}", context=extract(headers), kind=SpanKind.SERVER,
        attributes={"http.request.method": method, "http.route": route},
        record_exception=False, set_status_on_exception=False)


def rename_server_span(name: str) -> None:
    """Name the current request's span once the route is known (the gateway's catch-all)."""
    if _tracer is None:
        return
    span = trace.get_current_span()
    if span.is_recording():
        span.update_name(name)


def end_server_span(span: Span | None, status: int) -> None:
    if span is None:
        return
    span.set_attribute("http.response.status_code", status)
    if status >= 500:
        span.set_status(Status(StatusCode.ERROR))


def start_producer_span(traceparent: object, routing_key: str, event_id: str,
                        exchange: str) -> Span | None:
    """The span of publishing one event (ended by the caller once the broker confirmed),
    a child of the context its envelope carries."""
    if _tracer is None:
        return None
    return _tracer.start_span(f"publish {routing_key}", context=_parent(traceparent),
                              kind=SpanKind.PRODUCER, attributes={
                                  "messaging.system": "rabbitmq", "messaging.operation.type": "send",
                                  "messaging.destination.name": exchange,
                                  "messaging.rabbitmq.destination.routing_key": routing_key,
                                  "messaging.message.id": event_id})


def mark_failed(failure: BaseException) -> None:
    """Mark the current span as failed (by the exception's type only: messages may carry data)."""
    if _tracer is not None:
        trace.get_current_span().set_status(Status(StatusCode.ERROR, type(failure).__name__))


def end_span(span: Span | None, failure: BaseException | None = None) -> None:
    if span is None:
        return
    if failure is not None:
        span.set_status(Status(StatusCode.ERROR, type(failure).__name__))
    span.end()


def consumer_span(traceparent: str | None, consumer: str, routing_key: str,
                  event_id: str) -> AbstractContextManager[Span | None]:
    """The span of handling one event; current while the handler runs, so its calls and
    the events it appends join the producer's trace."""
    if _tracer is None:
        return _OFF
    return _tracer.start_as_current_span(
        f"process {routing_key}", context=_parent(traceparent), kind=SpanKind.CONSUMER,
        attributes={"messaging.system": "rabbitmq", "messaging.operation.type": "process",
                    "messaging.consumer.group.name": consumer,
                    "messaging.rabbitmq.destination.routing_key": routing_key,
                    "messaging.message.id": event_id})


# --- outgoing HTTP (aiohttp client) -------------------------------------------------------

def client_trace_configs() -> list[aiohttp.TraceConfig]:
    """For ``aiohttp.ClientSession(trace_configs=...)``: a client span per request, whose
    context the request carries in ``traceparent``. Empty when tracing is off."""
    if _tracer is None:
        return []
    config = aiohttp.TraceConfig()
    config.on_request_start.append(_client_start)
    config.on_request_end.append(_client_end)
    config.on_request_exception.append(_client_failed)
    return [config]


async def _client_start(_: aiohttp.ClientSession, ctx: SimpleNamespace,
                        params: aiohttp.TraceRequestStartParams) -> None:
    if _tracer is None:
        return
    url = params.url  # only host and port: paths and queries may carry identifiers or secrets
    attributes: dict[str, str | int] = {"http.request.method": params.method,
                                        "server.address": url.host or "", "server.port": url.port or 0}
    name = params.method
    named = getattr(ctx, "trace_request_ctx", None)  # ServiceClient names the called service
    if isinstance(named, dict) and isinstance(peer := named.get("peer.service"), str):
        attributes["peer.service"], name = peer, f"{params.method} {peer}"
    ctx.span = _tracer.start_span(name, kind=SpanKind.CLIENT, attributes=attributes)
    inject(params.headers, ctx.span)


async def _client_end(_: aiohttp.ClientSession, ctx: SimpleNamespace,
                      params: aiohttp.TraceRequestEndParams) -> None:
    if (span := getattr(ctx, "span", None)) is not None:
        span.set_attribute("http.response.status_code", params.response.status)
        if params.response.status >= 500:
            span.set_status(Status(StatusCode.ERROR))
        span.end()


async def _client_failed(_: aiohttp.ClientSession, ctx: SimpleNamespace,
                         params: aiohttp.TraceRequestExceptionParams) -> None:
    end_span(getattr(ctx, "span", None), params.exception)
