"""CORS for the web client's origins (the H5 app may be served from another host)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

ALLOWED_ORIGINS = web.AppKey("cors_origins", frozenset)
ALLOW_METHODS = "GET, POST, PUT, PATCH, DELETE, OPTIONS"
# traceparent/tracestate: a browser client (the H5 pages) may start the trace (shared.tracing)
ALLOW_HEADERS = "Authorization, Content-Type, X-Request-ID, Last-Event-ID, traceparent, tracestate"
EXPOSE_HEADERS = "X-Request-ID, Retry-After, Content-Disposition"


@web.middleware
async def cors(request: web.Request,
               handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> web.StreamResponse:
    origin = request.headers.get("Origin")
    allowed = origin is not None and origin in request.app[ALLOWED_ORIGINS]
    if request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers:
        if not allowed:
            return web.Response(status=403, text="origin not allowed")
        return web.Response(status=204, headers={
            "Access-Control-Allow-Origin": origin or "",
            "Access-Control-Allow-Methods": ALLOW_METHODS,
            "Access-Control-Allow-Headers": ALLOW_HEADERS,
            "Access-Control-Max-Age": "600",
            "Vary": "Origin",
        })
    return await handler(request)


async def add_cors_headers(request: web.Request, response: web.StreamResponse) -> None:
    """on_response_prepare: works for streamed (proxied, SSE) responses too."""
    origin = request.headers.get("Origin")
    if origin and origin in request.app[ALLOWED_ORIGINS]:
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Expose-Headers"] = EXPOSE_HEADERS
        response.headers.add("Vary", "Origin")
