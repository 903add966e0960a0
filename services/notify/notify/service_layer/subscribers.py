"""Subscribers: onboarding by ops (CLI), their access tokens, cutting them off.

One subscriber has one secret: its broker password (user ``sub.<slug>``) and its client
secret for ``POST /api/v1/subscriptions/token`` (only an argon2id hash is kept here). The
webhook secret is a second one, the HMAC key of its webhooks (kept: the platform signs
with it). Both are printed once, at creation and at rotation.

Tokens are HS256 (the gateway passes non-identity tokens on), scope ``events:read``, and
checked against the subscriber row on every use: disabling ends them at once.
"""

from __future__ import annotations

import asyncio
import base64
import secrets
import time
import uuid
from dataclasses import dataclass

import asyncpg
import jwt
from argon2 import PasswordHasher
from argon2.exceptions import Argon2Error

from shared.errors import EsealError, NotAuthenticated
from shared.webhooks import check_url

from ..adapters import subscribers as repo
from ..adapters.broker import queue_name
from ..adapters.subscribers import Subscriber
from ..domain import subscribers as rules
from .ports import Provisioner

SCOPE = "events:read"
_ISSUER, _AUDIENCE, _ALG = "eseal-notify", "eseal-subscribers", "HS256"
_ARGON = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
_UNKNOWN = _ARGON.hash(secrets.token_urlsafe(16))  # checked for unknown ids: same cost


class OAuthError(EsealError):
    """RFC 6749 §5.2 errors of the token endpoint."""

    status, code, title = 400, "invalid_request", "Invalid token request"

    def __init__(self, code: str, detail: str, status: int = 400) -> None:
        super().__init__(detail, code=code)
        self.status = status


class SubscriberTokenInvalid(NotAuthenticated):
    code = "invalid_token"


def _new_secret() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode()


@dataclass(frozen=True)
class Credentials:
    subscriber: Subscriber
    secret: str

    def printable(self, amqp_hint: str) -> dict[str, object]:
        s = self.subscriber
        return {"subscriber_id": str(s.subscriber_id), "name": s.name, "slug": s.slug,
                "event_types": s.event_types, "webhook_url": s.webhook_url,
                "broker_user": queue_name(s.slug), "queue": queue_name(s.slug),
                "broker": amqp_hint, "secret": self.secret, "webhook_secret": s.webhook_secret}


async def create_subscriber(pool: asyncpg.Pool, broker: Provisioner, *, name: str, events: str,
                            webhook_url: str | None, slug: str | None,
                            allow_private: bool) -> Credentials:
    subscriber_id = uuid.uuid4()
    name = rules.clean_name(name)
    types = rules.event_types(events)
    the_slug = rules.slug_for(name, subscriber_id, slug)
    if webhook_url is not None:
        check_url(webhook_url, field="--webhook", allow_private=allow_private,
                  https_only=not allow_private)
    secret = _new_secret()
    subscriber = Subscriber(subscriber_id, name, the_slug, types, webhook_url, "whsec_" + _new_secret(),
                            created_at=None, disabled_at=None, webhook_cursor="")
    async with pool.acquire() as conn:
        if await repo.slug_taken(conn, the_slug):
            raise ValueError(f"the slug {the_slug} is taken: choose one with --slug")
    await broker.provision(the_slug, secret, rules.routing_keys(types))
    try:
        hashed = await asyncio.to_thread(_ARGON.hash, secret)
        async with pool.acquire() as conn:
            await repo.insert(conn, subscriber, hashed)
    except BaseException:
        # Not recorded (a concurrent create took the slug, the database went away): the
        # broker user and queue made for it must not outlive the failure with nobody to
        # disable them.
        await asyncio.shield(broker.cut_off(the_slug))
        raise
    return Credentials(subscriber, secret)


async def _active(pool: asyncpg.Pool, key: str) -> Subscriber:
    async with pool.acquire() as conn:
        found = await repo.find(conn, key)
    if found is None:
        raise ValueError(f"no subscriber {key}")
    return found


async def disable_subscriber(pool: asyncpg.Pool, broker: Provisioner, key: str) -> Subscriber:
    """Feed and webhooks stop at once (the row), then the broker user goes with its connections."""
    found = await _active(pool, key)
    async with pool.acquire() as conn:
        await repo.disable(conn, found.subscriber_id)
    await broker.cut_off(found.slug)
    return found


async def rotate_secret(pool: asyncpg.Pool, broker: Provisioner, key: str) -> Credentials:
    found = await _active(pool, key)
    if found.disabled:
        raise ValueError(f"subscriber {key} is disabled")
    secret, webhook_secret = _new_secret(), "whsec_" + _new_secret()
    await broker.change_password(found.slug, secret)
    hashed = await asyncio.to_thread(_ARGON.hash, secret)
    async with pool.acquire() as conn:
        await repo.rotate(conn, found.subscriber_id, hashed, webhook_secret)
    rotated = Subscriber(**{**found.__dict__, "webhook_secret": webhook_secret})
    return Credentials(rotated, secret)


# tokens -----------------------------------------------------------------------------------


class SubscriberTokens:
    def __init__(self, key: bytes, ttl: int) -> None:
        self._key, self.ttl = key, ttl

    def issue(self, subscriber_id: uuid.UUID) -> str:
        now = int(time.time())
        claims = {"iss": _ISSUER, "aud": _AUDIENCE, "sub": str(subscriber_id), "typ": "subscriber",
                  "scope": SCOPE, "iat": now, "exp": now + self.ttl, "jti": uuid.uuid4().hex}
        return jwt.encode(claims, self._key, algorithm=_ALG)

    def verify(self, token: str, scope: str = SCOPE) -> uuid.UUID:
        try:
            claims = jwt.decode(token, self._key, algorithms=[_ALG], audience=_AUDIENCE,
                                issuer=_ISSUER, options={"require": ["exp", "sub"]})
            subject = uuid.UUID(str(claims["sub"]))
        except jwt.ExpiredSignatureError:
            raise SubscriberTokenInvalid("the access token has expired", code="token_expired") from None
        except (jwt.PyJWTError, ValueError):
            raise SubscriberTokenInvalid("not a subscriber access token") from None
        if claims.get("typ") != "subscriber" or scope not in str(claims.get("scope", "")).split():
            raise SubscriberTokenInvalid(f"a subscriber token with scope {scope} is required")
        return subject


async def issue_token(pool: asyncpg.Pool, tokens: SubscriberTokens, subscriber_id: str | None,
                      secret: str | None, grant_type: str | None) -> dict[str, object]:
    """RFC 6749 §4.4 client credentials: HTTP Basic subscriber_id:secret."""
    if subscriber_id is None or secret is None:
        raise OAuthError("invalid_client", "authenticate with HTTP Basic (subscriber_id:secret)", 401)
    try:
        sid: uuid.UUID | None = uuid.UUID(subscriber_id)
    except ValueError:
        sid = None
    stored = None
    if sid is not None:
        async with pool.acquire() as conn:
            stored = await repo.secret_hash(conn, sid)

    def check() -> bool:
        try:
            return bool(_ARGON.verify(stored or _UNKNOWN, secret))
        except Argon2Error:
            return False

    if not await asyncio.to_thread(check) or stored is None or sid is None:
        raise OAuthError("invalid_client", "unknown or disabled subscriber, or wrong secret", 401)
    if grant_type != "client_credentials":
        raise OAuthError("unsupported_grant_type" if grant_type else "invalid_request",
                         "grant_type=client_credentials is required")
    return {"access_token": tokens.issue(sid), "token_type": "Bearer", "expires_in": tokens.ttl,
            "scope": SCOPE}


async def authenticate(pool: asyncpg.Pool, tokens: SubscriberTokens, token: str) -> Subscriber:
    subscriber_id = tokens.verify(token)
    async with pool.acquire() as conn:
        found = await repo.get(conn, subscriber_id)
    if found is None or found.disabled:
        raise SubscriberTokenInvalid("this subscriber has been disabled")
    return found
