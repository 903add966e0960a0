"""Signature algorithms behind one small interface, keyed by name.

Only "ecdsa-p256-sha256" exists today; SM2/SM3 (a native package, never pure-Python
``gmssl``) registers itself under "sm2-sm3" later without touching the callers.
"""

from __future__ import annotations

from typing import Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, utils

__all__ = [
    "DEFAULT_ALGORITHM",
    "Algorithm",
    "EcdsaP256Sha256",
    "UnknownAlgorithm",
    "get_algorithm",
    "load_private_key_der",
    "private_key_to_der",
    "public_key_to_der",
    "register",
    "sign_digest",
    "verify_digest",
]

DEFAULT_ALGORITHM = "ecdsa-p256-sha256"


class UnknownAlgorithm(KeyError):
    """No algorithm is registered under that name."""


class Algorithm(Protocol):
    """What the platform needs of a signature algorithm."""

    name: str
    digest_size: int

    def generate_private_key(self) -> ec.EllipticCurvePrivateKey: ...
    def digest(self, data: bytes) -> bytes: ...
    def sign_digest(self, private_key: ec.EllipticCurvePrivateKey, digest: bytes) -> bytes: ...
    def verify_digest(
        self, public_key: ec.EllipticCurvePublicKey, digest: bytes, signature: bytes
    ) -> bool: ...


class EcdsaP256Sha256:
    """ECDSA over NIST P-256 with SHA-256; DER-encoded (r, s) signatures."""

    name = "ecdsa-p256-sha256"
    digest_size = 32

    def generate_private_key(self) -> ec.EllipticCurvePrivateKey:
        return ec.generate_private_key(ec.SECP256R1())

    def digest(self, data: bytes) -> bytes:
        h = hashes.Hash(hashes.SHA256())
        h.update(data)
        return h.finalize()

    def sign_digest(self, private_key: ec.EllipticCurvePrivateKey, digest: bytes) -> bytes:
        self._check(private_key.curve, digest)
        return private_key.sign(digest, ec.ECDSA(utils.Prehashed(hashes.SHA256())))

    def verify_digest(
        self, public_key: ec.EllipticCurvePublicKey, digest: bytes, signature: bytes
    ) -> bool:
        self._check(public_key.curve, digest)
        try:
            public_key.verify(signature, digest, ec.ECDSA(utils.Prehashed(hashes.SHA256())))
        except InvalidSignature:
            return False
        return True

    def _check(self, curve: ec.EllipticCurve, digest: bytes) -> None:
        if not isinstance(curve, ec.SECP256R1):
            raise TypeError(f"{self.name} needs a P-256 key, got {curve.name}")
        if len(digest) != self.digest_size:
            raise ValueError(f"{self.name} signs a {self.digest_size}-byte SHA-256 digest")


_REGISTRY: dict[str, Algorithm] = {}


def register(algorithm: Algorithm) -> None:
    _REGISTRY[algorithm.name] = algorithm


def get_algorithm(name: str = DEFAULT_ALGORITHM) -> Algorithm:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise UnknownAlgorithm(name) from None


register(EcdsaP256Sha256())


def sign_digest(
    private_key: ec.EllipticCurvePrivateKey, digest: bytes, algorithm: str = DEFAULT_ALGORITHM
) -> bytes:
    """Sign a precomputed digest (e.g. a document's SHA-256); DER signature."""
    return get_algorithm(algorithm).sign_digest(private_key, digest)


def verify_digest(
    public_key: ec.EllipticCurvePublicKey,
    digest: bytes,
    signature: bytes,
    algorithm: str = DEFAULT_ALGORITHM,
) -> bool:
    return get_algorithm(algorithm).verify_digest(public_key, digest, signature)


def private_key_to_der(private_key: ec.EllipticCurvePrivateKey) -> bytes:
    """Unencrypted PKCS#8 DER: only ever handed straight to a keywrap function."""
    return private_key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def load_private_key_der(der: bytes) -> ec.EllipticCurvePrivateKey:
    key = serialization.load_der_private_key(der, password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise TypeError("not an EC private key")
    return key


def public_key_to_der(public_key: ec.EllipticCurvePublicKey) -> bytes:
    return public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
