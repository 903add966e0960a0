"""What the gateway accepts in a request's head and what it passes on to a service.

aiohttp's parser already refuses most request-smuggling shapes (Content-Length with
Transfer-Encoding, duplicate Content-Length, unknown codings, obs-fold); ``framing_guard``
refuses what it lets through, so a service or a proxy behind us can never frame a request
differently from the gateway. Forwarded headers are rebuilt, not copied: hop-by-hop and
client-spoofable ones are dropped and the gateway sets its own.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web
from multidict import CIMultiDict, CIMultiDictProxy

from shared import tracing
from shared.errors import BadRequest

# Meaningful for one connection only (RFC 9110 §7.6.1), or recomputed by the client library.
HOP_BY_HOP = frozenset({"connection", "keep-alive", "proxy-authenticate", "proxy-authorization",
                        "proxy-connection", "te", "trailer", "trailers", "transfer-encoding",
                        "upgrade", "host", "content-length", "expect"})
# Claims a client could forge about where it comes from or what the gateway decided; the
# gateway states these itself. Cookies: the API authenticates with bearer tokens only.
SPOOFABLE = frozenset({"forwarded", "x-real-ip", "x-client-ip", "true-client-ip", "client-ip",
                       "x-request-id", "cookie", "authorization", "x-original-url",
                       "x-rewrite-url", "x-http-method-override", "x-http-method",
                       "x-method-override"})
# Trace context: the client's (validated) one is the parent of the gateway's span, and the
# service receives the gateway's span instead (``shared.tracing``).
TRACE_CONTEXT = frozenset({tracing.TRACEPARENT, tracing.TRACESTATE})


class InvalidFraming(BadRequest):
    code = "invalid_framing"


class DuplicateAuthorization(BadRequest):
    code = "duplicate_authorization"


def check_framing(request: web.BaseRequest) -> None:
    headers = request.headers
    lengths = headers.getall("Content-Length", [])
    codings = headers.getall("Transfer-Encoding", [])
    if len(lengths) > 1:
        raise InvalidFraming("more than one Content-Length header")
    if lengths and codings:
        raise InvalidFraming("both Content-Length and Transfer-Encoding")
    if codings:
        if request.version < (1, 1):
            raise InvalidFraming("Transfer-Encoding in an HTTP/1.0 request")
        if len(codings) > 1 or codings[0].strip().lower() != "chunked":
            raise InvalidFraming("Transfer-Encoding other than a single 'chunked'")


def single_authorization(request: web.BaseRequest) -> str | None:
    """The one Authorization header, or None; two are refused: the gateway could check one
    and a service act on the other (a revoked token revived by a second header)."""
    values = request.headers.getall("Authorization", [])
    if len(values) > 1:
        raise DuplicateAuthorization("send exactly one Authorization header")
    return values[0] if values else None


@web.middleware
async def framing_guard(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
                        ) -> web.StreamResponse:
    check_framing(request)
    single_authorization(request)
    return await handler(request)


def forwarded_headers(incoming: CIMultiDictProxy[str], *, authorization: str | None,
                      client: str, request_id: str) -> CIMultiDict[str]:
    """The headers a service receives: the client's end-to-end ones, minus hop-by-hop and
    spoofable ones, plus what the gateway vouches for."""
    listed = {name.strip().lower() for value in incoming.getall("Connection", [])
              for name in value.split(",")}
    out: CIMultiDict[str] = CIMultiDict()
    for name, value in incoming.items():
        low = name.lower()
        if (low in HOP_BY_HOP or low in SPOOFABLE or low in TRACE_CONTEXT or low in listed
                or low.startswith("x-forwarded-")):
            continue
        out.add(name, value)
    if authorization is not None:
        out["Authorization"] = authorization  # exactly the credential the gateway checked
    out["X-Forwarded-For"] = client  # the address the gateway judged and rate-limited
    out["X-Request-ID"] = request_id
    tracing.inject(out)  # the current span: the gateway's server span (nothing when off)
    return out
