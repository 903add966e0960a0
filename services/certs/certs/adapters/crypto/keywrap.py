"""Key custody: private keys at rest, sealed with AES-256-GCM.

Two wrappings:

* ``wrap_with_master`` — platform-held keys (seal keys, CA keys): the key is sealed with a
  subkey of the master key. Blob: ``b"EW1" + master_key_id(8) + nonce(12) + ciphertext``.
* ``wrap_with_password`` — a user's key: Argon2id over the certificate password, then
  HKDF-SHA256 with a master-key-derived salt, so a database dump is useless without the
  master key even to someone who knows (or guesses) the password. The stored
  ``WrappedKey`` holds only public parameters and the ciphertext.

``aad`` binds a blob to its owner (e.g. ``make_aad("user-key", certificate_id)``): a blob
copied onto another row does not unwrap there.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import unicodedata
from dataclasses import dataclass, field

from argon2.low_level import Type, hash_secret_raw
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

__all__ = [
    "DEFAULT_KDF_PARAMS",
    "TEST_KDF_PARAMS",
    "KdfParams",
    "KeyWrapError",
    "MasterKey",
    "MasterKeyMismatch",
    "UnwrapFailed",
    "WrappedKey",
    "WrongPassword",
    "make_aad",
    "needs_rewrap",
    "rewrap_password",
    "unwrap_with_master",
    "unwrap_with_password",
    "wrap_with_master",
    "wrap_with_password",
]

_MASTER_MAGIC = b"EW1"
_PASSWORD_ALG = "argon2id+hkdf-sha256+aes-256-gcm"  # noqa: S105 - an algorithm name
_NONCE_LEN = 12
_SALT_LEN = 16
_KEY_ID_LEN = 8


class KeyWrapError(Exception):
    """A wrapped key could not be opened."""


class WrongPassword(KeyWrapError):
    """The certificate password does not open the key (GCM tag mismatch)."""


class UnwrapFailed(KeyWrapError):
    """A master-wrapped blob is malformed, tampered with, or bound to another owner."""


class MasterKeyMismatch(KeyWrapError):
    """The blob was wrapped under another master key: a configuration error, not a guess."""


class MasterKey:
    """The platform master key (32 bytes). Never printed, never pickled."""

    __slots__ = ("__raw",)

    def __init__(self, raw: bytes) -> None:
        if len(raw) != 32:
            raise ValueError("master key must be exactly 32 bytes")
        self.__raw = bytes(raw)

    @classmethod
    def from_base64(cls, text: str) -> MasterKey:
        """From ``ESEAL_MASTER_KEY`` (standard base64 of 32 random bytes)."""
        try:
            raw = base64.b64decode(text.strip(), validate=True)
        except binascii.Error:
            raise ValueError("master key is not valid base64") from None
        return cls(raw)

    @classmethod
    def generate(cls) -> MasterKey:
        return cls(os.urandom(32))

    @classmethod
    def for_development(cls, seed: str = "eseal-development-master-key") -> MasterKey:
        """A fixed, public key so development data survives restarts. Anyone can derive
        it: the caller must refuse it when ESEAL_ENV=production and log a warning."""
        return cls(hashlib.sha256(seed.encode()).digest())

    @property
    def key_id(self) -> bytes:
        """A public 8-byte fingerprint recorded in blobs to detect a wrong master key."""
        return self.derive_key("key-id")[:_KEY_ID_LEN]

    def derive_key(self, purpose: str, length: int = 32) -> bytes:
        """An independent subkey per purpose (e.g. "activation-code-hash")."""
        hkdf = HKDF(algorithm=hashes.SHA256(), length=length, salt=None,
                    info=b"eseal/master/" + purpose.encode())
        return hkdf.derive(self.__raw)

    def __repr__(self) -> str:
        return "MasterKey(<redacted>)"

    __str__ = __repr__

    def __reduce__(self) -> str | tuple[object, ...]:
        raise TypeError("MasterKey must not be pickled")


def make_aad(kind: str, owner_id: str) -> bytes:
    """Unambiguous associated data binding a blob to what it belongs to."""
    return b"%d:%s|%s" % (len(kind), kind.encode(), owner_id.encode())


# --- master-key wrapping ---------------------------------------------------------------


def wrap_with_master(master: MasterKey, plaintext_key_der: bytes, aad: bytes) -> bytes:
    header = _MASTER_MAGIC + master.key_id
    nonce = os.urandom(_NONCE_LEN)
    ct = AESGCM(master.derive_key("key-wrap")).encrypt(nonce, plaintext_key_der, header + aad)
    return header + nonce + ct


def unwrap_with_master(master: MasterKey, blob: bytes, aad: bytes) -> bytes:
    head_len = len(_MASTER_MAGIC) + _KEY_ID_LEN
    if len(blob) < head_len + _NONCE_LEN + 16 or not blob.startswith(_MASTER_MAGIC):
        raise UnwrapFailed("not an EW1 blob")
    header, nonce, ct = blob[:head_len], blob[head_len:head_len + _NONCE_LEN], blob[head_len + _NONCE_LEN:]
    if not hmac.compare_digest(header[len(_MASTER_MAGIC):], master.key_id):
        raise MasterKeyMismatch("blob was wrapped under another master key")
    try:
        return AESGCM(master.derive_key("key-wrap")).decrypt(nonce, ct, header + aad)
    except InvalidTag:
        raise UnwrapFailed("blob tampered with or bound to another owner") from None


# --- password wrapping -----------------------------------------------------------------


@dataclass(frozen=True)
class KdfParams:
    """Argon2id cost. ``memory_cost`` in KiB, as argon2-cffi takes it."""

    time_cost: int
    memory_cost: int
    parallelism: int

    def __post_init__(self) -> None:
        # bounds also stop a tampered row from making us burn a gigabyte per request
        if not (1 <= self.time_cost <= 10 and 1 <= self.parallelism <= 8
                and 8192 <= self.memory_cost <= 1_048_576):
            raise ValueError(f"Argon2id parameters out of range: {self}")


# ~75–90 ms per derivation on the 2-core reference machine (measured, single-threaded).
DEFAULT_KDF_PARAMS = KdfParams(time_cost=2, memory_cost=32 * 1024, parallelism=1)
# ~5 ms: unit tests only.
TEST_KDF_PARAMS = KdfParams(time_cost=1, memory_cost=8 * 1024, parallelism=1)


@dataclass(frozen=True)
class WrappedKey:
    """A password-wrapped private key as stored. Only the ciphertext is secret."""

    kdf: KdfParams
    salt: bytes
    nonce: bytes
    ciphertext: bytes = field(repr=False)
    master_key_id: bytes
    algorithm: str = _PASSWORD_ALG
    version: int = 1

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form (e.g. for a jsonb column)."""
        return {
            "v": self.version, "alg": self.algorithm,
            "kdf": {"t": self.kdf.time_cost, "m": self.kdf.memory_cost, "p": self.kdf.parallelism},
            "mk": self.master_key_id.hex(), "salt": _b64(self.salt),
            "nonce": _b64(self.nonce), "ct": _b64(self.ciphertext),
        }

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> WrappedKey:
        try:
            if data["v"] != 1 or data["alg"] != _PASSWORD_ALG:
                raise KeyWrapError(f"unsupported wrapped key {data.get('v')}/{data.get('alg')}")
            kdf = data["kdf"]
            if not isinstance(kdf, dict):
                raise TypeError("kdf")
            return cls(
                kdf=KdfParams(time_cost=int(kdf["t"]), memory_cost=int(kdf["m"]), parallelism=int(kdf["p"])),
                master_key_id=bytes.fromhex(str(data["mk"])),
                salt=base64.b64decode(str(data["salt"]), validate=True),
                nonce=base64.b64decode(str(data["nonce"]), validate=True),
                ciphertext=base64.b64decode(str(data["ct"]), validate=True),
            )
        except (KeyError, TypeError, ValueError, binascii.Error) as exc:
            raise KeyWrapError(f"malformed wrapped key: {exc.__class__.__name__}") from None

    def to_bytes(self) -> bytes:
        return json.dumps(self.to_dict(), separators=(",", ":"), sort_keys=True).encode()

    @classmethod
    def from_bytes(cls, raw: bytes) -> WrappedKey:
        try:
            data = json.loads(raw)
        except ValueError:
            raise KeyWrapError("malformed wrapped key: not JSON") from None
        if not isinstance(data, dict):
            raise KeyWrapError("malformed wrapped key: not an object")
        return cls.from_dict(data)


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def _password_kek(master: MasterKey, password: str, salt: bytes, params: KdfParams) -> bytes:
    # NFC so the same password typed on different keyboards derives the same key
    secret = unicodedata.normalize("NFC", password).encode()
    stretched = hash_secret_raw(secret, salt, params.time_cost, params.memory_cost,
                                params.parallelism, 32, Type.ID)
    # HKDF-Extract = HMAC(master-derived salt, stretched): needs both password and master key
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=master.derive_key("password-wrap"),
                info=b"eseal/password-kek/v1")
    return hkdf.derive(stretched)


def _password_aad(aad: bytes) -> bytes:
    return _PASSWORD_ALG.encode() + b"|v1|" + aad


def wrap_with_password(
    master: MasterKey,
    password: str,
    private_key_der: bytes,
    aad: bytes,
    kdf_params: KdfParams = DEFAULT_KDF_PARAMS,
) -> WrappedKey:
    """Seal ``private_key_der`` under the password and the master key. CPU-heavy: run
    it in a worker thread from async code (argon2-cffi releases the GIL)."""
    salt, nonce = os.urandom(_SALT_LEN), os.urandom(_NONCE_LEN)
    kek = _password_kek(master, password, salt, kdf_params)
    ct = AESGCM(kek).encrypt(nonce, private_key_der, _password_aad(aad))
    return WrappedKey(kdf=kdf_params, salt=salt, nonce=nonce, ciphertext=ct,
                      master_key_id=master.key_id)


def unwrap_with_password(master: MasterKey, password: str, wrapped: WrappedKey, aad: bytes) -> bytes:
    """The private key DER, or ``WrongPassword``. Same cost as wrapping."""
    if not hmac.compare_digest(wrapped.master_key_id, master.key_id):
        raise MasterKeyMismatch("key was wrapped under another master key")
    kek = _password_kek(master, password, wrapped.salt, wrapped.kdf)
    try:
        return AESGCM(kek).decrypt(wrapped.nonce, wrapped.ciphertext, _password_aad(aad))
    except InvalidTag:
        # with the right master key (checked above) this is a wrong password or wrong aad
        raise WrongPassword("wrong certificate password") from None


def rewrap_password(
    master: MasterKey,
    wrapped: WrappedKey,
    old_password: str,
    new_password: str,
    aad: bytes,
    kdf_params: KdfParams = DEFAULT_KDF_PARAMS,
) -> WrappedKey:
    """Password change: ``WrongPassword`` if ``old_password`` is wrong; fresh salt/nonce."""
    key_der = unwrap_with_password(master, old_password, wrapped, aad)
    return wrap_with_password(master, new_password, key_der, aad, kdf_params)


def needs_rewrap(wrapped: WrappedKey, kdf_params: KdfParams) -> bool:
    """True when the stored cost differs from the configured one (rewrap after a success)."""
    return wrapped.kdf != kdf_params

