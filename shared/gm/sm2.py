"""SM2 keys and SM2-with-SM3 signatures (GB/T 32918, GB/T 35276), arithmetic by gmalglib (C).

Signatures are over ``e = SM3(Z || M)`` where ``Z`` binds the signer's public key and user ID;
the user ID is the standard's default ``1234567812345678`` (GB/T 35276 §5.3 / GM/T 0009)
unless a caller states another. Signatures travel DER-encoded (``SEQUENCE {r, s}``, GB/T
35276 §7.3), as ofdrw and OpenSSL write them. Nonces come from ``os.urandom`` (the kernel
CSPRNG), handed to gmalglib explicitly so the random source is never a library default.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from asn1crypto import algos, keys
from gmalglib.sm2 import SM2  # type: ignore[import-untyped]

from shared.gm import oids
from shared.gm.errors import InvalidKey, MalformedData
from shared.gm.sm3 import sm3

DEFAULT_UID = b"1234567812345678"
# asn1crypto needs the curve's key length to build PKCS#8; registering only adds a name.
if oids.SM2_CURVE not in keys.NamedCurve._map:
    keys.NamedCurve.register("sm2p256v1", oids.SM2_CURVE, 32)

_N = int.from_bytes(bytes.fromhex("FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123"), "big")


def _algorithm_identifier() -> keys.PublicKeyAlgorithm:
    return keys.PublicKeyAlgorithm(
        {
            "algorithm": oids.EC_PUBLIC_KEY,
            "parameters": keys.ECDomainParameters(name="named", value=oids.SM2_CURVE),
        }
    )


def _check_sm2_algorithm(alg: keys.PublicKeyAlgorithm) -> None:
    if alg["algorithm"].dotted != oids.EC_PUBLIC_KEY:
        raise InvalidKey(f"not an EC key: {alg['algorithm'].dotted}")
    params = alg["parameters"]
    if params.name != "named" or params.chosen.dotted != oids.SM2_CURVE:
        raise InvalidKey("EC key is not on the SM2 curve")


@dataclass(frozen=True)
class Sm2PublicKey:
    """An SM2 public key: the uncompressed point ``04 || x || y`` (65 bytes)."""

    point: bytes

    def __post_init__(self) -> None:
        if len(self.point) != 65 or self.point[0] != 4 or not SM2.is_pk_valid(self.point):
            raise InvalidKey("SM2 public key is not a valid uncompressed curve point")

    @classmethod
    def from_spki_der(cls, der: bytes) -> Sm2PublicKey:
        try:
            info = keys.PublicKeyInfo.load(der, strict=True)
            _check_sm2_algorithm(info["algorithm"])
            point = info["public_key"].native
        except (ValueError, TypeError, KeyError) as e:
            raise MalformedData(f"SubjectPublicKeyInfo unreadable: {e}") from None
        return cls(bytes(point))

    @classmethod
    def from_spki(cls, info: keys.PublicKeyInfo) -> Sm2PublicKey:
        return cls.from_spki_der(info.dump())

    def to_spki(self) -> keys.PublicKeyInfo:
        return keys.PublicKeyInfo({"algorithm": _algorithm_identifier(), "public_key": self.point})

    def to_spki_der(self) -> bytes:
        return bytes(self.to_spki().dump())

    def z_value(self, uid: bytes = DEFAULT_UID) -> bytes:
        """Z = SM3(ENTL || ID || a || b || xG || yG || xA || yA), the signer-binding prefix."""
        return bytes(SM2(pk=self.point, uid=uid).get_entity_info())

    def verify(self, message: bytes, signature_der: bytes, uid: bytes = DEFAULT_UID) -> bool:
        """True iff ``signature_der`` is a strict-DER SM2-with-SM3 signature of ``message``."""
        try:
            raw = signature_der_to_raw(signature_der)
        except MalformedData:
            return False
        return bool(SM2(pk=self.point, uid=uid).verify(message, raw))

    def verify_digest(self, e: bytes, signature_der: bytes) -> bool:
        """Verify over a precomputed ``e = SM3(Z || M)`` (see :func:`signing_digest`)."""
        try:
            raw = signature_der_to_raw(signature_der)
        except MalformedData:
            return False
        return bool(SM2(pk=self.point).verify_digest(e, raw))


@dataclass(frozen=True)
class Sm2PrivateKey:
    """An SM2 private key (32-byte scalar); the public key is derived, never trusted from input."""

    secret: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if len(self.secret) != 32 or not SM2.is_sk_valid(self.secret):
            raise InvalidKey("SM2 private key is out of range")

    @classmethod
    def generate(cls) -> Sm2PrivateKey:
        secret, _ = SM2(rnd_fn=os.urandom).generate_keypair()
        return cls(bytes(secret))

    @property
    def public_key(self) -> Sm2PublicKey:
        return Sm2PublicKey(bytes(SM2.get_pk(self.secret)))

    def sign(self, message: bytes, uid: bytes = DEFAULT_UID) -> bytes:
        """SM2-with-SM3 signature of ``message``, DER-encoded."""
        raw = SM2(sk=self.secret, uid=uid, rnd_fn=os.urandom).sign(message)
        return signature_raw_to_der(bytes(raw))

    def sign_digest(self, e: bytes) -> bytes:
        raw = SM2(sk=self.secret, rnd_fn=os.urandom).sign_digest(e)
        return signature_raw_to_der(bytes(raw))

    # Serialisation: PKCS#8 PrivateKeyInfo with id-ecPublicKey + SM2 curve (as OpenSSL/GmSSL
    # and BouncyCastle write it), wrapping an RFC 5915 ECPrivateKey.
    def to_pkcs8_der(self) -> bytes:
        ec = keys.ECPrivateKey(
            {
                "version": "ecPrivkeyVer1",
                "private_key": int.from_bytes(self.secret, "big"),
                "public_key": self.public_key.point,
            }
        )
        info = keys.PrivateKeyInfo(
            {"version": 0, "private_key_algorithm": _private_algorithm(), "private_key": ec}
        )
        return bytes(info.dump())

    @classmethod
    def from_pkcs8_der(cls, der: bytes) -> Sm2PrivateKey:
        try:
            info = keys.PrivateKeyInfo.load(der, strict=True)
            alg = info["private_key_algorithm"]
            if alg["algorithm"].dotted != oids.EC_PUBLIC_KEY:
                raise InvalidKey("not an EC private key")
            params = alg["parameters"]
            if params.name != "named" or params.chosen.dotted != oids.SM2_CURVE:
                raise InvalidKey("EC private key is not on the SM2 curve")
            ec = keys.ECPrivateKey.load(info["private_key"].contents)
            return cls.from_ec_private_key(ec)
        except (ValueError, TypeError, KeyError) as e:
            raise MalformedData(f"PKCS#8 unreadable: {e}") from None

    @classmethod
    def from_ec_private_key(cls, ec: keys.ECPrivateKey) -> Sm2PrivateKey:
        scalar = int(ec["private_key"].native)
        key = cls(scalar.to_bytes(32, "big"))
        embedded = ec["public_key"]
        if embedded.native is not None and bytes(embedded.native) != key.public_key.point:
            raise InvalidKey("embedded public key does not match the private key")
        return key


def _private_algorithm() -> keys.PrivateKeyAlgorithm:
    return keys.PrivateKeyAlgorithm(
        {
            "algorithm": oids.EC_PUBLIC_KEY,
            "parameters": keys.ECDomainParameters(name="named", value=oids.SM2_CURVE),
        }
    )


def signature_raw_to_der(raw: bytes) -> bytes:
    if len(raw) != 64:
        raise MalformedData("raw SM2 signature must be 64 bytes (r || s)")
    sig = algos.DSASignature({"r": int.from_bytes(raw[:32], "big"), "s": int.from_bytes(raw[32:], "big")})
    return bytes(sig.dump())


def signature_der_to_raw(der: bytes) -> bytes:
    """Strict DER only: a re-encoding must give the same bytes (no BER, no trailing data)."""
    try:
        sig = algos.DSASignature.load(der, strict=True)
        r, s = int(sig["r"].native), int(sig["s"].native)
        canonical = algos.DSASignature({"r": r, "s": s}).dump()
    except (ValueError, TypeError, KeyError) as e:
        raise MalformedData(f"SM2 signature is not DER: {e}") from None
    if canonical != der or not (0 < r < _N and 0 < s < _N):
        raise MalformedData("SM2 signature is not canonical DER or out of range")
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def signing_digest(public_key: Sm2PublicKey, message: bytes, uid: bytes = DEFAULT_UID) -> bytes:
    """``e = SM3(Z || M)``: what SM2 actually signs."""
    return sm3(public_key.z_value(uid) + message)


__all__ = [
    "DEFAULT_UID",
    "Sm2PrivateKey",
    "Sm2PublicKey",
    "signature_der_to_raw",
    "signature_raw_to_der",
    "signing_digest",
]
