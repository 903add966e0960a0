"""Forwarding of public requests to the owning service.

The body is streamed both ways (documents and Server-Sent Events pass through without
being buffered); hop-by-hop headers are dropped; the request id travels on. A service that
cannot be reached is a 503 problem, quickly, never a hang.
"""

from __future__ import annotations

import asyncio

import aiohttp
from aiohttp import web

from shared import context
from shared.auth import TokenVerifier, bearer_token
from shared.errors import NotAuthenticated, NotFound, PayloadTooLarge, ServiceUnavailable
from shared.settings import ServiceSettings

from .limits import client_address
from .revocations import RevocationList
from .routes import Route, match

HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te",
              "trailers", "transfer-encoding", "upgrade", "host", "content-length"}

GATEWAY_SETTINGS = web.AppKey("gateway_settings", ServiceSettings)
UPSTREAM = web.AppKey("upstream", aiohttp.ClientSession)
GW_VERIFIER = web.AppKey("gw_verifier", TokenVerifier)
REVOCATIONS = web.AppKey("revocations", RevocationList)


async def check_caller(request: web.Request, route: Route) -> None:
    if route.auth == "public":
        return
    token = bearer_token(request)
    if token is None:
        if route.auth == "user":
            raise NotAuthenticated("an access token is required")
        return
    if route.auth == "any" and not _looks_like_identity_token(token):
        return  # e.g. a relying system's client token: its owner checks it
    principal = await request.app[GW_VERIFIER].verify(token)
    await request.app[REVOCATIONS].ensure_live(principal)  # 401 token_revoked; 503 before resync


async def _body(request: web.Request, limit: int) -> object:
    """Stream bodies of a declared, allowed length; read others under the size limit."""
    if not request.body_exists:
        return None
    if request.content_length is not None:
        if request.content_length > limit:
            raise PayloadTooLarge(f"the request body is larger than {limit} bytes")
        return request.content
    return await request.read()  # chunked: aiohttp enforces client_max_size


def _looks_like_identity_token(token: str) -> bool:
    import jwt

    try:
        return jwt.get_unverified_header(token).get("alg") == "ES256"
    except jwt.PyJWTError:
        return True  # malformed: let the verifier say so


async def forward(request: web.Request) -> web.StreamResponse:
    route = match(request.path)
    if route is None:
        raise NotFound(f"no such endpoint: {request.path}")
    await check_caller(request, route)
    settings = request.app[GATEWAY_SETTINGS]
    url = settings.service_url(route.service) + request.rel_url.raw_path_qs
    headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP}
    headers["X-Request-ID"] = context.request_id.get()
    # The address the gateway itself judged (and rate-limited): services limit per client too.
    headers["X-Forwarded-For"] = client_address(request)
    session = request.app[UPSTREAM]
    body = await _body(request, settings.max_body_bytes)
    try:
        upstream = await session.request(request.method, url, headers=headers, data=body,
                                         allow_redirects=False)
    except (aiohttp.ClientConnectionError, asyncio.TimeoutError) as exc:
        raise ServiceUnavailable(f"the {route.service} service is unavailable",
                                 code="service_unavailable", service=route.service) from exc
    try:
        resp = web.StreamResponse(status=upstream.status, reason=upstream.reason)
        for k, v in upstream.headers.items():
            if k.lower() not in HOP_BY_HOP and k.lower() != "x-request-id":
                resp.headers.add(k, v)
        await resp.prepare(request)
        try:
            async for chunk in upstream.content.iter_any():
                await resp.write(chunk)
            await resp.write_eof()
        except (ConnectionResetError, aiohttp.ClientConnectionResetError):
            pass  # the client left (e.g. closed a message stream): nothing to answer
        return resp
    finally:
        upstream.release()
