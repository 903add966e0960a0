"""Service-to-service calls: authenticated with short-lived HS256 tokens, typed errors.

A caller sends ``Authorization: Internal <jwt>`` (issuer = calling service, audience =
called service, 60 s). The gateway never routes ``/internal/...``, they are served only on the
internal listener (``shared.listeners``), and the check below keeps them private even to a pod
that can reach that listener.
"""

from __future__ import annotations

import hashlib
import time
from typing import Any

import aiohttp
import jwt
from aiohttp import web

from . import context, upstreams
from .auth import VerifiedCache
from .errors import EsealError, NotAuthenticated, ServiceUnavailable
from .upstreams import Replicas

_ALG = "HS256"


def internal_token(secret: str, source: str, audience: str, ttl: int = 60) -> str:
    now = int(time.time())
    return jwt.encode({"iss": source, "aud": audience, "iat": now, "exp": now + ttl, "typ": "internal"},
                      secret, algorithm=_ALG)


# Internal tokens verified, until they expire (a caller reuses its token for half its life)
_VERIFIED: VerifiedCache[str] = VerifiedCache()


def verify_internal(secret: str, audience: str, header: str) -> str:
    scheme, _, token = header.partition(" ")
    if scheme != "Internal" or not token:
        raise NotAuthenticated("internal endpoint", code="internal_auth_required")
    key = f"{audience} {hashlib.sha256(secret.encode()).hexdigest()} {token}"
    if (caller := _VERIFIED.get(key)) is not None:
        return caller
    caller, expires = _verify_internal(secret, audience, token)
    _VERIFIED.put(key, caller, expires)
    return caller


def _verify_internal(secret: str, audience: str, token: str) -> tuple[str, float]:
    try:
        claims = jwt.decode(token, secret, algorithms=[_ALG], audience=audience,
                            options={"require": ["exp", "iss", "aud"]})
    except jwt.PyJWTError:
        raise NotAuthenticated("invalid internal credentials", code="internal_auth_required") from None
    if claims.get("typ") != "internal":
        raise NotAuthenticated("invalid internal credentials", code="internal_auth_required")
    return str(claims["iss"]), float(claims["exp"])


INTERNAL_AUTH = web.AppKey("internal_auth", tuple)  # (secret, this service's name)


def require_internal(request: web.Request) -> str:
    """Returns the calling service's name or raises 401."""
    secret, me = request.app[INTERNAL_AUTH]
    return verify_internal(secret, me, request.headers.get("Authorization", ""))


class RemoteError(EsealError):
    """A problem answered by another service, passed on with its status and code."""


class ServiceClient:
    """JSON over HTTP to another service, with internal auth, timeouts and problem mapping.

    With tracing on, the session's trace config (``shared.tracing``) makes each call a client
    span named after the called service and sends its ``traceparent``.
    """

    def __init__(self, session: aiohttp.ClientSession, base_url: str | Replicas, *, source: str,
                 target: str, secret: str, timeout: float = 10.0) -> None:
        # one URL or a comma-separated list of replicas (shared.upstreams), spread round-robin
        self.session = session
        self.replicas = base_url if isinstance(base_url, Replicas) else Replicas(base_url)
        self.source, self.target, self.secret = source, target, secret
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self._token, self._token_renew_at = "", 0.0

    @property
    def trace_request_ctx(self) -> dict[str, str]:
        """For ``session.request(trace_request_ctx=...)``: names the called service's span."""
        return {"peer.service": self.target}

    @property
    def base_url(self) -> str:
        return self.replicas.urls[0]

    def headers(self) -> dict[str, str]:
        now = time.time()
        if now >= self._token_renew_at:  # a 60 s token, used for its first 30 s
            self._token = internal_token(self.secret, self.source, self.target)
            self._token_renew_at = now + 30
        h = {"Authorization": "Internal " + self._token}
        if rid := context.request_id.get():
            h["X-Request-ID"] = rid
        return h

    async def request(self, method: str, path: str, *, json: Any = None,
                      params: dict[str, str] | None = None, raw: bool = False) -> Any:
        failure: BaseException | None = None
        for base in self.replicas.order():
            answered = False
            try:
                async with self.session.request(method, base + path, json=json, params=params,
                                                headers=self.headers(), timeout=self.timeout,
                                                trace_request_ctx=self.trace_request_ctx) as r:
                    answered = True
                    if r.status >= 400:
                        raise await _remote_error(r)
                    if raw:
                        return await r.read()
                    if r.status == 204:
                        return None
                    return await r.json()
            except (TimeoutError, aiohttp.ClientConnectionError) as exc:
                failure = exc
                if not answered and upstreams.unreachable(exc):
                    self.replicas.failed(base)
                if answered or not upstreams.may_retry(method, exc):
                    break  # the replica may have acted on it: not sent again (shared.upstreams)
        raise ServiceUnavailable(f"{self.target} is unavailable") from failure

    async def get(self, path: str, **kw: Any) -> Any:
        return await self.request("GET", path, **kw)

    async def post(self, path: str, json: Any = None, **kw: Any) -> Any:
        return await self.request("POST", path, json=json, **kw)

    async def put(self, path: str, json: Any = None, **kw: Any) -> Any:
        return await self.request("PUT", path, json=json, **kw)

    async def delete(self, path: str, **kw: Any) -> Any:
        return await self.request("DELETE", path, **kw)


async def _remote_error(r: aiohttp.ClientResponse) -> EsealError:
    try:
        body = await r.json(content_type=None)
    except (ValueError, aiohttp.ContentTypeError):
        body = {}
    if not isinstance(body, dict):
        body = {}
    known = {"type", "title", "status", "detail", "code", "errors"}
    err = RemoteError(body.get("detail") or r.reason, code=body.get("code") or "upstream_error",
                      errors=body.get("errors"), **{k: v for k, v in body.items() if k not in known})
    err.status = r.status if r.status < 500 else 503
    err.title = body.get("title") or (r.reason or "Error")
    return err
