"""A tiny OTLP/HTTP trace receiver for the end-to-end tests.

The platform's processes export their spans with the real OTLP/HTTP (protobuf) exporter to
this receiver, which decodes them (``opentelemetry-proto``) and keeps them in memory, by
trace id. It runs in a thread of the test process, so it lives as long as the session's
platform, whatever event loop a test uses.
"""

from __future__ import annotations

import gzip
import threading
from collections import defaultdict
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

MAX_TRACES = 2_000  # a safety bound: the session's platform samples only the traced tests


@dataclass(frozen=True)
class ReceivedSpan:
    service: str
    trace_id: str
    span_id: str
    parent_span_id: str  # "" for a root
    name: str
    kind: int  # OTLP's SpanKind: 2 server, 3 client, 4 producer, 5 consumer
    attributes: dict[str, Any]


def _value(v: Any) -> Any:
    field = v.WhichOneof("value")
    return getattr(v, field) if field else None


def decode(body: bytes) -> list[ReceivedSpan]:
    request = ExportTraceServiceRequest()
    request.ParseFromString(body)
    out = []
    for resource_spans in request.resource_spans:
        service = next((_value(a.value) for a in resource_spans.resource.attributes
                        if a.key == "service.name"), "")
        for scope in resource_spans.scope_spans:
            for s in scope.spans:
                out.append(ReceivedSpan(
                    service=str(service), trace_id=s.trace_id.hex(), span_id=s.span_id.hex(),
                    parent_span_id=s.parent_span_id.hex(), name=s.name, kind=int(s.kind),
                    attributes={a.key: _value(a.value) for a in s.attributes}))
    return out


class OtlpReceiver:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._traces: dict[str, list[ReceivedSpan]] = defaultdict(list)
        self.requests = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                if self.path != "/v1/traces":
                    self.send_error(404)
                    return
                receiver._add(decode(body))
                answer = ExportTraceServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *_: Any) -> None:  # quiet
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="otlp-receiver",
                                        daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> OtlpReceiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _add(self, spans: list[ReceivedSpan]) -> None:
        with self._lock:
            self.requests += 1
            for s in spans:
                if s.trace_id in self._traces or len(self._traces) < MAX_TRACES:
                    self._traces[s.trace_id].append(s)

    def trace(self, trace_id: str) -> list[ReceivedSpan]:
        with self._lock:
            return list(self._traces.get(trace_id, []))
