from __future__ import annotations

import hashlib

import pytest
from certs.adapters.crypto.signing import (
    DEFAULT_ALGORITHM,
    UnknownAlgorithm,
    get_algorithm,
    load_private_key_der,
    private_key_to_der,
    sign_digest,
    verify_digest,
)
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec


def test_signature_over_digest_verifies_and_matches_plain_ecdsa() -> None:
    key = get_algorithm().generate_private_key()
    digest = hashlib.sha256(b"document").digest()
    signature = sign_digest(key, digest)
    assert verify_digest(key.public_key(), digest, signature)
    # the same signature verifies as ordinary ECDSA-SHA256 over the data
    key.public_key().verify(signature, b"document", ec.ECDSA(hashes.SHA256()))


def test_signature_fails_for_other_digest_or_key() -> None:
    key = get_algorithm().generate_private_key()
    signature = sign_digest(key, hashlib.sha256(b"a").digest())
    assert not verify_digest(key.public_key(), hashlib.sha256(b"b").digest(), signature)
    other = get_algorithm().generate_private_key()
    assert not verify_digest(other.public_key(), hashlib.sha256(b"a").digest(), signature)


def test_wrong_digest_length_or_curve_is_refused() -> None:
    key = get_algorithm().generate_private_key()
    with pytest.raises(ValueError):
        sign_digest(key, b"short")
    with pytest.raises(TypeError):
        sign_digest(ec.generate_private_key(ec.SECP384R1()), bytes(32))


def test_algorithms_are_looked_up_by_name() -> None:
    assert get_algorithm().name == DEFAULT_ALGORITHM == "ecdsa-p256-sha256"
    with pytest.raises(UnknownAlgorithm):
        get_algorithm("sm2-sm3")


def test_private_key_der_roundtrip() -> None:
    key = get_algorithm().generate_private_key()
    restored = load_private_key_der(private_key_to_der(key))
    assert restored.private_numbers() == key.private_numbers()
