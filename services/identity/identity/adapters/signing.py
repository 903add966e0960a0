"""ES256 signing keys for access tokens: generated on first start, kept in identity's DB.

The private key is stored as PKCS#8 DER sealed with AES-256-GCM under a subkey derived
(HKDF-SHA256, purpose "identity/jwt-signing-key") from ``ESEAL_MASTER_KEY``, with the
``kid`` as associated data (a blob copied to another row does not open). Every replica
loads the same keys; the first to start creates the key under an advisory lock. The JWKS
lists every key that is not retired, so tokens signed before a rotation still verify.
"""

from __future__ import annotations

import base64
import hashlib
import os
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
import jwt
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from shared.auth import ALGORITHM, AUDIENCE, ISSUER, Principal, jwk_json

from .repository import PgIdentityRepository

_KEY_LOCK = 0x6A_776B_6579  # "jwkey"
_NONCE = 12


class KeySealer:
    """AES-GCM with a purpose-bound subkey of the 32-byte master key."""

    def __init__(self, master_key: bytes) -> None:
        if len(master_key) != 32:
            raise ValueError("ESEAL_MASTER_KEY must be base64 of exactly 32 bytes")
        self._aead = AESGCM(HKDF(hashes.SHA256(), 32, salt=None,
                                 info=b"eseal/master/identity/jwt-signing-key").derive(master_key))

    def seal(self, plaintext: bytes, aad: bytes) -> bytes:
        nonce = os.urandom(_NONCE)
        return nonce + self._aead.encrypt(nonce, plaintext, aad)

    def open(self, blob: bytes, aad: bytes) -> bytes:
        return self._aead.decrypt(blob[:_NONCE], blob[_NONCE:], aad)


@dataclass(frozen=True)
class SigningKey:
    kid: str
    private: ec.EllipticCurvePrivateKey
    jwk: dict[str, Any]


def _new_key() -> SigningKey:
    private = ec.generate_private_key(ec.SECP256R1())
    kid = base64.urlsafe_b64encode(hashlib.sha256(uuid.uuid4().bytes).digest()[:12]).decode().rstrip("=")
    return SigningKey(kid, private, jwk_json(private.public_key(), kid))


async def load_or_create_keys(repo: PgIdentityRepository, sealer: KeySealer) -> list[SigningKey]:
    """The unretired keys, newest first; creates the first one if there is none.

    Call in a transaction (``PgIdentityStorage.transaction()``): the lock lasts until it ends.
    """
    await repo.lock_signing_keys(_KEY_LOCK)
    rows = await repo.signing_keys()
    if not rows:
        key = _new_key()
        der = key.private.private_bytes(serialization.Encoding.DER,
                                        serialization.PrivateFormat.PKCS8,
                                        serialization.NoEncryption())
        await repo.insert_signing_key(key.kid, sealer.seal(der, key.kid.encode()), key.jwk)
        return [key]
    return [_open(r, sealer) for r in rows]


def _open(row: asyncpg.Record, sealer: KeySealer) -> SigningKey:
    der = sealer.open(row["private_key"], row["kid"].encode())
    private = serialization.load_der_private_key(der, password=None)
    assert isinstance(private, ec.EllipticCurvePrivateKey)
    return SigningKey(row["kid"], private, row["public_jwk"])


class TokenSigner:
    """Signs access tokens with the newest key; publishes every loaded key as JWKS."""

    def __init__(self, keys: list[SigningKey]) -> None:
        if not keys:
            raise ValueError("no signing key")
        self.keys = keys

    @property
    def current(self) -> SigningKey:
        return self.keys[0]

    def jwks(self) -> dict[str, Any]:
        return {"keys": [k.jwk for k in self.keys]}

    def access_token(self, principal: Principal, issued_at: datetime, expires_at: datetime) -> str:
        claims = principal.claims()
        claims.update({
            "iss": ISSUER, "aud": AUDIENCE, "typ": "access", "jti": uuid.uuid4().hex,
            "iat": int(issued_at.timestamp()), "iat_ms": int(issued_at.timestamp() * 1000),
            "exp": int(expires_at.timestamp()),
        })
        return jwt.encode(claims, self.current.private, algorithm=ALGORITHM,
                          headers={"kid": self.current.kid})


def now_ms() -> int:
    return int(time.time() * 1000)
