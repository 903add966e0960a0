"""Relying systems' credentials: argon2id secret hashes and HS256 access tokens.

Client tokens are deliberately *not* ES256: the gateway checks ES256 tokens as identity's
and passes any other bearer token on to us. They are signed with stamping's own key, carry
the client id, live ``ttl`` seconds, and are checked against the client row on every use,
so disabling a client ends its tokens at once.
"""

from __future__ import annotations

import asyncio
import base64
import secrets
import time
import uuid

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from ..domain.errors import InvalidClientToken

ISSUER = "eseal-stamping"
AUDIENCE = "eseal-stamping-clients"
ALGORITHM = "HS256"

# argon2id at OWASP's baseline (19 MiB, 2 passes, 1 lane): the secrets are 256-bit random,
# so the hash only has to make a stolen table useless, not to stretch a weak password.
_HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
_dummy_hash: str | None = None  # verified when the client id is unknown: both paths cost the same


def _dummy() -> str:
    global _dummy_hash
    if _dummy_hash is None:
        _dummy_hash = _HASHER.hash(secrets.token_urlsafe(16))
    return _dummy_hash


def new_secret() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode()


async def hash_secret(secret: str) -> str:
    return await asyncio.to_thread(_HASHER.hash, secret)


async def verify_secret(stored_hash: str | None, secret: str) -> bool:
    def check() -> bool:
        try:
            return _HASHER.verify(stored_hash or _dummy(), secret) and stored_hash is not None
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    return await asyncio.to_thread(check)


class ClientTokens:
    def __init__(self, key: bytes, ttl: int) -> None:
        self._key, self.ttl = key, ttl

    def issue(self, client_id: uuid.UUID) -> str:
        now = int(time.time())
        return jwt.encode({"iss": ISSUER, "aud": AUDIENCE, "sub": str(client_id), "typ": "client",
                           "iat": now, "exp": now + self.ttl, "jti": uuid.uuid4().hex},
                          self._key, algorithm=ALGORITHM)

    def verify(self, token: str) -> uuid.UUID:
        try:
            claims = jwt.decode(token, self._key, algorithms=[ALGORITHM], audience=AUDIENCE,
                                issuer=ISSUER, options={"require": ["exp", "iat", "sub"]})
        except jwt.ExpiredSignatureError:
            raise InvalidClientToken("the access token has expired", code="token_expired") from None
        except jwt.PyJWTError:
            raise InvalidClientToken("invalid client access token") from None
        if claims.get("typ") != "client":
            raise InvalidClientToken("not a client access token")
        try:
            return uuid.UUID(claims["sub"])
        except ValueError:
            raise InvalidClientToken("invalid client access token") from None


def is_client_token(token: str) -> bool:
    """A token of ours (HS256) rather than identity's (ES256)."""
    try:
        return jwt.get_unverified_header(token).get("alg") == ALGORITHM
    except jwt.PyJWTError:
        return False
