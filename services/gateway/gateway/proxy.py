"""Forwarding of public requests to the owning service.

The body is streamed both ways (documents and Server-Sent Events pass through without
being buffered); hop-by-hop headers are dropped; the request id travels on. A service that
cannot be reached is a 503 problem, quickly, never a hang.

One door: the route is chosen on the path ``shared.paths`` checked, and exactly that raw
path (with its query) is sent on, byte for byte: the upstream client must not re-resolve
it (``encoded=True``), or ``%2e%2e`` segments would reach endpoints no route allows.

Replicas: each service's URL may list several (``shared.upstreams``); requests go
round-robin over those not ejected, and a failed attempt moves to the next replica only under
the retry rule there (never sent: any method; broken before the answer: idempotent methods,
whose bodies are therefore read into memory so they can be sent again).
"""

from __future__ import annotations

import aiohttp
from aiohttp import web
from multidict import CIMultiDict
from yarl import URL

from shared import context, tracing
from shared.auth import TokenVerifier, bearer_token
from shared.errors import NotAuthenticated, NotFound, PayloadTooLarge, ServiceUnavailable
from shared.paths import CHECKED_PATH, check_path
from shared.revocations import RevocationList
from shared.settings import ServiceSettings
from shared.upstreams import IDEMPOTENT_METHODS, Replicas, may_retry, unreachable

from .headers import HOP_BY_HOP, forwarded_headers, single_authorization
from .limits import client_address
from .routes import Route, match

GATEWAY_SETTINGS = web.AppKey("gateway_settings", ServiceSettings)
UPSTREAM = web.AppKey("upstream", aiohttp.ClientSession)
GW_VERIFIER = web.AppKey("gw_verifier", TokenVerifier)
REVOCATIONS = web.AppKey("revocations", RevocationList)
UPSTREAMS = web.AppKey("upstreams", dict)  # service name -> Replicas of its public listener


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


async def _body(request: web.Request, limit: int, *, replayable: bool) -> object:
    """Stream bodies of a declared, allowed length; read others under the size limit.
    ``replayable``: read into memory, so another replica can be sent the same bytes."""
    if not request.body_exists:
        return None
    if request.content_length is not None:
        if request.content_length > limit:
            raise PayloadTooLarge(f"the request body is larger than {limit} bytes")
        if not replayable:
            return request.content
    return await request.read()  # chunked: aiohttp enforces client_max_size


def _looks_like_identity_token(token: str) -> bool:
    import jwt

    try:
        return jwt.get_unverified_header(token).get("alg") == "ES256"
    except jwt.PyJWTError:
        return True  # malformed: let the verifier say so


async def forward(request: web.Request) -> web.StreamResponse:
    path = request.get(CHECKED_PATH) or check_path(request.raw_path)
    route = match(path)
    if route is None:
        raise NotFound(f"no such endpoint: {path}")
    # The span of a forwarded request is named by the route it matched, never the raw path.
    tracing.rename_server_span(f"{request.method} {route.prefix}* → {route.service}")
    authorization = single_authorization(request)
    await check_caller(request, route)
    settings = request.app[GATEWAY_SETTINGS]
    headers = forwarded_headers(request.headers, authorization=authorization,
                                client=client_address(request),
                                request_id=context.request_id.get())
    idempotent = request.method in IDEMPOTENT_METHODS
    body = await _body(request, settings.max_body_bytes, replayable=idempotent)
    upstream = await _send(request, request.app[UPSTREAMS][route.service], route.service,
                           headers, body)
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


async def _send(request: web.Request, replicas: Replicas, service: str,
                headers: CIMultiDict[str], body: object) -> aiohttp.ClientResponse:
    """The first answer of a replica (round-robin), under the retry rule of shared.upstreams."""
    session = request.app[UPSTREAM]
    replayable = not isinstance(body, aiohttp.StreamReader)
    failure: BaseException | None = None
    for base in replicas.order():  # empty when checks found every replica down: 503 at once
        url = URL(base + request.raw_path, encoded=True)
        try:
            return await session.request(request.method, url, headers=headers, data=body,
                                         allow_redirects=False)
        except (TimeoutError, aiohttp.ClientConnectionError) as exc:
            failure = exc
            if unreachable(exc):
                replicas.failed(base)
            if not may_retry(request.method, exc, replayable_body=replayable):
                break
    raise ServiceUnavailable(f"the {service} service is unavailable",
                             code="service_unavailable", service=service) from failure
