"""Access tokens: identity signs short-lived ES256 JWTs (with ``kid``); everyone verifies.

Verifiers fetch identity's public keys (JWKS) and cache them by ``kid``; an unknown ``kid``
triggers one refetch (key rotation). The owning service still checks its own data: a valid
token says who is calling, not what they may do.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections import OrderedDict
from typing import Any, Generic, Literal, Protocol, TypeVar

import aiohttp
import jwt
from aiohttp import web
from pydantic import BaseModel, ConfigDict

from . import upstreams
from .errors import Forbidden, NotAuthenticated, ServiceUnavailable

T = TypeVar("T")

ISSUER = "eseal-identity"
AUDIENCE = "eseal"
ALGORITHM = "ES256"
Role = Literal["person", "enterprise", "agent"]


class Principal(BaseModel):
    """Who is calling, as identity vouched for it when the token was issued."""

    model_config = ConfigDict(frozen=True)

    id: uuid.UUID
    role: Role
    name: str
    enterprise_id: uuid.UUID | None = None
    enterprise_name: str | None = None
    can_manage: bool | None = None
    session_id: str | None = None
    issued_at: int = 0  # ms since the epoch

    @property
    def acts_for_enterprise(self) -> bool:
        return self.role in ("enterprise", "agent")

    def claims(self) -> dict[str, Any]:
        c: dict[str, Any] = {"sub": str(self.id), "role": self.role, "name": self.name,
                             "sid": self.session_id}
        if self.enterprise_id:
            c["eid"] = str(self.enterprise_id)
            c["ename"] = self.enterprise_name
        if self.can_manage is not None:
            c["mgr"] = self.can_manage
        return c

    @classmethod
    def from_claims(cls, c: dict[str, Any]) -> Principal:
        return cls(id=c["sub"], role=c["role"], name=c.get("name", ""), enterprise_id=c.get("eid"),
                   enterprise_name=c.get("ename"), can_manage=c.get("mgr"),
                   session_id=c.get("sid"),
                   # milliseconds: a re-login in the same second as a revocation must survive it
                   issued_at=int(c.get("iat_ms", int(c.get("iat", 0)) * 1000)))


class VerifiedCache(Generic[T]):
    """What a token's verification gave, kept until the token's ``exp`` (at most ``size``
    tokens, the oldest dropped first). A token past its ``exp`` is verified again, and
    refused there as expired."""

    def __init__(self, size: int = 4096) -> None:
        self.size = size
        self._items: OrderedDict[str, tuple[T, float]] = OrderedDict()

    def get(self, token: str) -> T | None:
        item = self._items.get(token)
        if item is None:
            return None
        if time.time() >= item[1]:
            del self._items[token]
            return None
        return item[0]

    def put(self, token: str, value: T, expires: float) -> None:
        self._items[token] = (value, expires)
        while len(self._items) > self.size:
            self._items.popitem(last=False)


class TokenVerifier:
    """Verifies access tokens against identity's JWKS (fetched lazily, cached by kid)."""

    def __init__(self, jwks_url: str, *, session: aiohttp.ClientSession | None = None,
                 keys: dict[str, Any] | None = None) -> None:
        self.jwks_url = jwks_url
        # identity's replicas: ``jwks_url`` may be a comma-separated list (shared.upstreams)
        self._replicas = upstreams.Replicas(jwks_url)
        self._session = session
        self._keys: dict[str, Any] = dict(keys or {})
        self._last_fetch = 0.0
        self._lock = asyncio.Lock()
        # Tokens already verified, until they expire: a person's token comes back on every
        # request, and an ES256 verification is the largest part of a request's own CPU.
        # Revocation is not cached here (``require_principal`` asks the session check each time).
        self._verified: VerifiedCache[Principal] = VerifiedCache()

    def add_jwk(self, jwk: dict[str, Any]) -> None:
        self._keys[jwk["kid"]] = jwt.PyJWK.from_dict(jwk).key

    async def _refresh(self) -> None:
        async with self._lock:
            if time.monotonic() - self._last_fetch < 5 and self._keys:
                return
            session = self._session or aiohttp.ClientSession()
            try:
                body = await self._fetch(session)
            finally:
                if self._session is None:
                    await session.close()
            for jwk in body.get("keys", []):
                self.add_jwk(jwk)
            self._last_fetch = time.monotonic()

    async def _fetch(self, session: aiohttp.ClientSession) -> Any:
        """The JWKS from the first identity replica that answers (reading keys is idempotent)."""
        failure: BaseException | None = None
        for url in self._replicas.order():
            try:
                async with session.get(url, timeout=aiohttp.ClientTimeout(total=5)) as r:
                    r.raise_for_status()
                    return await r.json()
            except (TimeoutError, aiohttp.ClientError) as exc:
                failure = exc
                if upstreams.unreachable(exc):
                    self._replicas.failed(url)
        raise ServiceUnavailable("identity keys are unavailable") from failure

    async def key_for(self, kid: str) -> Any:
        if kid not in self._keys:
            await self._refresh()
        try:
            return self._keys[kid]
        except KeyError:
            raise NotAuthenticated("unknown signing key", code="invalid_token") from None

    async def verify(self, token: str) -> Principal:
        known = self._verified.get(token)
        if known is not None:
            return known
        principal, expires = await self._verify(token)
        self._verified.put(token, principal, expires)
        return principal

    async def _verify(self, token: str) -> tuple[Principal, float]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise NotAuthenticated("malformed access token", code="invalid_token") from None
        if header.get("alg") != ALGORITHM or not isinstance(header.get("kid"), str):
            raise NotAuthenticated("unexpected token algorithm", code="invalid_token")
        key = await self.key_for(header["kid"])
        try:
            claims = jwt.decode(token, key, algorithms=[ALGORITHM], audience=AUDIENCE,
                                issuer=ISSUER, options={"require": ["exp", "iat", "sub"]})
        except jwt.ExpiredSignatureError:
            raise NotAuthenticated("the access token has expired", code="token_expired") from None
        except jwt.PyJWTError:
            raise NotAuthenticated("invalid access token", code="invalid_token") from None
        if claims.get("typ") != "access":
            raise NotAuthenticated("not an access token", code="invalid_token")
        return Principal.from_claims(claims), float(claims["exp"])


class SessionCheck(Protocol):
    """Refuses a token whose session identity has ended (401 ``token_revoked``), or 503 when
    it cannot tell yet. Services: ``shared.revocations.RevocationList``; identity: its table."""

    async def ensure_live(self, principal: Principal) -> None: ...


VERIFIER = web.AppKey("token_verifier", TokenVerifier)
SESSION_CHECK = web.AppKey("session_check", SessionCheck)
_PRINCIPAL = web.RequestKey("principal", Principal)


def bearer_token(request: web.Request) -> str | None:
    auth = request.headers.get("Authorization", "")
    scheme, _, token = auth.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


async def require_principal(request: web.Request, *roles: Role) -> Principal:
    """The verified caller of a live session; 401 without a valid token or with a revoked
    one (``token_revoked``), 403 if its role is not in ``roles``."""
    cached = request.get(_PRINCIPAL)
    if cached is None:
        token = bearer_token(request)
        if token is None:
            raise NotAuthenticated("an access token is required")
        cached = await request.app[VERIFIER].verify(token)
        check = request.app.get(SESSION_CHECK)
        if check is None:  # fail closed: a valid signature does not say the session is live
            raise ServiceUnavailable("revocations are not loaded yet; try again shortly",
                                     code="revocations_unavailable", headers={"Retry-After": "1"})
        await check.ensure_live(cached)
        request[_PRINCIPAL] = cached
    if roles and cached.role not in roles:
        raise Forbidden(f"this action is for {', '.join(roles)} accounts", code="role_not_allowed")
    return cached


def jwk_json(public_key: Any, kid: str) -> dict[str, Any]:
    """Public JWK of an EC key, for identity's JWKS document."""
    jwk: dict[str, Any] = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(public_key))
    jwk.update({"kid": kid, "use": "sig", "alg": ALGORITHM})
    return jwk
