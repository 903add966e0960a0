"""Tokens signed with the started platform's own identity key, for attack tests.

An expired token must be refused because it is expired, not because its signature is
unknown: so the test reads identity's current signing key from the test run's database
(sealed with the master key the run uses: the development one unless ``ESEAL_MASTER_KEY`` is
set in the run's environment) and re-signs a real token's claims with a past ``exp``.
"""

from __future__ import annotations

import time
from typing import Any

import asyncpg
import jwt
from identity.adapters.signing import KeySealer, SigningKey, _open
from identity.config import IdentitySettings
from pydantic import SecretStr

from shared.auth import ALGORITHM

__all__ = ["identity_signing_key", "resign"]


async def identity_signing_key(platform: Any) -> SigningKey:
    """The newest unretired signing key of the platform's identity service."""
    env = platform.config.environment("identity")
    master = env.get("ESEAL_MASTER_KEY")
    settings = IdentitySettings(env="test", master_key=SecretStr(master) if master else None)
    sealer = KeySealer(settings.master_key_bytes())
    url = (
        f"{env.get('ESEAL_PG_URL', 'postgresql://postgres@127.0.0.1:5432').rstrip('/')}/"
        f"{platform.config.db_prefix}identity"
    )
    conn = await asyncpg.connect(url)
    try:
        row = await conn.fetchrow(
            "SELECT kid, private_key, public_jwk FROM signing_keys"
            " WHERE retired_at IS NULL ORDER BY created_at DESC LIMIT 1"
        )
    finally:
        await conn.close()
    assert row is not None, "identity has no signing key yet"
    return _open(row, sealer)


def resign(key: SigningKey, token: str, **changes: Any) -> str:
    """``token``'s claims with ``changes`` applied, signed with ``key``.

    ``expired_for=<seconds>`` sets ``iat``/``exp`` so the token ended that long ago.
    """
    claims = jwt.decode(token, options={"verify_signature": False})
    expired_for = changes.pop("expired_for", None)
    if expired_for is not None:
        now = int(time.time())
        exp = now - int(expired_for)
        claims.update(iat=exp - 900, iat_ms=(exp - 900) * 1000, exp=exp)
    claims.update(changes)
    return jwt.encode(claims, key.private, algorithm=ALGORITHM, headers={"kid": key.kid})
