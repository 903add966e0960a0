"""Key custody: the platform's HSM port and its software adapter over ``private_keys``.

Users' keys are wrapped with their certificate password and the master key (Argon2id,
run in a worker thread: it takes tens of milliseconds and releases the GIL); seals' keys
with the master key alone. Every blob is bound to its certificate (AAD), so a blob copied
onto another row does not open there. Keys are unwrapped only to sign, in this process.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import OrderedDict
from typing import Literal

from cryptography.hazmat.primitives.asymmetric import ec

from shared.db import Conn
from shared.gm.sm2 import Sm2PrivateKey

from .crypto.keywrap import (
    KdfParams,
    MasterKey,
    WrappedKey,
    make_aad,
    needs_rewrap,
    unwrap_with_master,
    unwrap_with_password,
    wrap_with_master,
    wrap_with_password,
)
from .crypto.signing import (
    DEFAULT_ALGORITHM,
    get_algorithm,
    load_private_key_der,
    private_key_to_der,
    public_key_to_der,
)

Protection = Literal["password", "master"]
SM2_ALGORITHM = "sm2-sm3"


def _aad(protection: Protection, owner: str) -> bytes:
    return make_aad("user-key" if protection == "password" else "seal-key", owner)


class UserKey:
    """A user's key pair before it is stored: the key and its password-wrapped form."""

    def __init__(self, key_id: uuid.UUID, private_key: ec.EllipticCurvePrivateKey,
                 wrapped: WrappedKey) -> None:
        self.key_id, self.private_key, self.wrapped = key_id, private_key, wrapped

    @property
    def public_key(self) -> ec.EllipticCurvePublicKey:
        return self.private_key.public_key()


class Sm2UserKey:
    """A user's SM2 key pair before it is stored (the twin of ``UserKey``)."""

    def __init__(self, key_id: uuid.UUID, private_key: Sm2PrivateKey, wrapped: WrappedKey) -> None:
        self.key_id, self.private_key, self.wrapped = key_id, private_key, wrapped


def sm2_owner(certificate_id: str) -> str:
    """The AAD owner of a certificate's SM2 key: bound to the certificate, distinct from its
    ECDSA key, so neither blob opens in the other's place."""
    return f"{certificate_id}/sm2"


class KeyCustody:
    def __init__(self, master: MasterKey, kdf: KdfParams, *, cache_size: int = 1024,
                 algorithm: str = DEFAULT_ALGORITHM) -> None:
        self._master, self.kdf, self.algorithm = master, kdf, algorithm
        self._cache: OrderedDict[uuid.UUID, ec.EllipticCurvePrivateKey] = OrderedDict()
        self._cache_size = cache_size
        self._sm2_cache: OrderedDict[uuid.UUID, Sm2PrivateKey] = OrderedDict()

    # --- users' keys (certificate password) ------------------------------------------------

    async def new_user_key(self, owner: str, password: str) -> UserKey:
        """Generate a key pair and wrap it under ``password`` (CPU-heavy, off the loop)."""
        key = get_algorithm(self.algorithm).generate_private_key()
        wrapped = await asyncio.to_thread(
            wrap_with_password, self._master, password, private_key_to_der(key),
            _aad("password", owner), self.kdf)
        return UserKey(uuid.uuid4(), key, wrapped)

    async def store_user_key(self, conn: Conn, owner: str, key: UserKey) -> None:
        await self._insert(conn, key.key_id, owner, "password", key.public_key, key.wrapped.to_bytes())

    async def open_user_key(self, conn: Conn, key_id: uuid.UUID, owner: str,
                            password: str) -> ec.EllipticCurvePrivateKey:
        """The key, or ``WrongPassword``. Re-wraps it when the configured KDF cost changed."""
        wrapped = WrappedKey.from_bytes(await self._blob(conn, key_id, "password"))
        aad = _aad("password", owner)
        der = await asyncio.to_thread(unwrap_with_password, self._master, password, wrapped, aad)
        if needs_rewrap(wrapped, self.kdf):
            fresh = await asyncio.to_thread(wrap_with_password, self._master, password, der, aad,
                                            self.kdf)
            await self._update(conn, key_id, fresh.to_bytes())
        return load_private_key_der(der)

    async def change_password(self, conn: Conn, key_id: uuid.UUID, owner: str,
                              old_password: str, new_password: str) -> None:
        """``WrongPassword`` if ``old_password`` does not open the key; else re-wrapped."""
        wrapped = WrappedKey.from_bytes(await self._blob(conn, key_id, "password"))
        aad = _aad("password", owner)
        der = await asyncio.to_thread(unwrap_with_password, self._master, old_password, wrapped, aad)
        fresh = await asyncio.to_thread(wrap_with_password, self._master, new_password, der, aad,
                                        self.kdf)
        await self._update(conn, key_id, fresh.to_bytes())

    # --- platform-held keys (master key) ---------------------------------------------------

    def generate(self) -> ec.EllipticCurvePrivateKey:
        return get_algorithm(self.algorithm).generate_private_key()

    async def store_master_key(self, conn: Conn, key_id: uuid.UUID, owner: str,
                               key: ec.EllipticCurvePrivateKey) -> None:
        blob = wrap_with_master(self._master, private_key_to_der(key), _aad("master", owner))
        await self._insert(conn, key_id, owner, "master", key.public_key(), blob)

    async def open_master_key(self, conn: Conn, key_id: uuid.UUID,
                              owner: str) -> ec.EllipticCurvePrivateKey:
        """Unwrapped once, then kept in a bounded in-process cache (the CA keys are in
        memory anyway; revocation is checked on every signature, not by evicting)."""
        cached = self._cache.get(key_id)
        if cached is not None:
            self._cache.move_to_end(key_id)
            return cached
        blob = await self._blob(conn, key_id, "master")
        key = load_private_key_der(unwrap_with_master(self._master, blob, _aad("master", owner)))
        self._cache[key_id] = key
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return key

    # --- SM2 keys (same custody: password + master for users, master for seals) -----------

    async def new_user_sm2_key(self, owner: str, password: str) -> Sm2UserKey:
        key = Sm2PrivateKey.generate()
        wrapped = await asyncio.to_thread(
            wrap_with_password, self._master, password, key.to_pkcs8_der(),
            _aad("password", owner), self.kdf)
        return Sm2UserKey(uuid.uuid4(), key, wrapped)

    async def store_user_sm2_key(self, conn: Conn, owner: str, key: Sm2UserKey) -> None:
        await self._insert_der(conn, key.key_id, owner, "password", SM2_ALGORITHM,
                               key.private_key.public_key.to_spki_der(), key.wrapped.to_bytes())

    async def open_user_sm2_key(self, conn: Conn, key_id: uuid.UUID, owner: str,
                                password: str) -> Sm2PrivateKey:
        """The key, or ``WrongPassword``; re-wrapped when the configured KDF cost changed."""
        wrapped = WrappedKey.from_bytes(await self._blob(conn, key_id, "password"))
        aad = _aad("password", owner)
        der = await asyncio.to_thread(unwrap_with_password, self._master, password, wrapped, aad)
        if needs_rewrap(wrapped, self.kdf):
            fresh = await asyncio.to_thread(wrap_with_password, self._master, password, der, aad,
                                            self.kdf)
            await self._update(conn, key_id, fresh.to_bytes())
        return Sm2PrivateKey.from_pkcs8_der(der)

    async def store_master_sm2_key(self, conn: Conn, key_id: uuid.UUID, owner: str,
                                   key: Sm2PrivateKey) -> None:
        blob = wrap_with_master(self._master, key.to_pkcs8_der(), _aad("master", owner))
        await self._insert_der(conn, key_id, owner, "master", SM2_ALGORITHM,
                               key.public_key.to_spki_der(), blob)

    async def open_master_sm2_key(self, conn: Conn, key_id: uuid.UUID, owner: str) -> Sm2PrivateKey:
        cached = self._sm2_cache.get(key_id)
        if cached is not None:
            self._sm2_cache.move_to_end(key_id)
            return cached
        blob = await self._blob(conn, key_id, "master")
        key = Sm2PrivateKey.from_pkcs8_der(unwrap_with_master(self._master, blob, _aad("master", owner)))
        self._sm2_cache[key_id] = key
        if len(self._sm2_cache) > self._cache_size:
            self._sm2_cache.popitem(last=False)
        return key

    # --- storage ---------------------------------------------------------------------------

    async def _insert(self, conn: Conn, key_id: uuid.UUID, owner: str,
                      protection: Protection, public_key: ec.EllipticCurvePublicKey,
                      blob: bytes) -> None:
        await self._insert_der(conn, key_id, owner, protection, self.algorithm,
                               public_key_to_der(public_key), blob)

    @staticmethod
    async def _insert_der(conn: Conn, key_id: uuid.UUID, owner: str, protection: Protection,
                          algorithm: str, public_key_der: bytes, blob: bytes) -> None:
        await conn.execute(
            "INSERT INTO private_keys (key_id, owner, protection, algorithm, public_key_der, wrapped)"
            " VALUES ($1, $2, $3, $4, $5, $6)",
            key_id, owner, protection, algorithm, public_key_der, blob)

    @staticmethod
    async def _blob(conn: Conn, key_id: uuid.UUID, protection: Protection) -> bytes:
        blob = await conn.fetchval(
            "SELECT wrapped FROM private_keys WHERE key_id = $1 AND protection = $2",
            key_id, protection)
        if blob is None:
            raise LookupError(f"key {key_id} is not in custody")
        return bytes(blob)

    @staticmethod
    async def _update(conn: Conn, key_id: uuid.UUID, blob: bytes) -> None:
        await conn.execute("UPDATE private_keys SET wrapped = $2, updated_at = now()"
                           " WHERE key_id = $1", key_id, blob)
