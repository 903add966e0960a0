"""SM3 and SM2 primitives: known answers, round trips, and the checks an attacker would probe."""

from __future__ import annotations

import gmalglib
import pytest
from asn1crypto import algos
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from shared.gm.errors import InvalidKey, MalformedData
from shared.gm.sm2 import (
    DEFAULT_UID,
    Sm2PrivateKey,
    Sm2PublicKey,
    signature_der_to_raw,
    signing_digest,
)
from shared.gm.sm3 import Sm3, sm3

# GB/T 32905-2016 appendix A, example 1 and 2.
SM3_ABC = "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
SM3_ABCD16 = "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732"

# sm2p256v1 domain parameters (GB/T 32918.5), written out here so Z is computed independently.
P = "FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFF"
A = "FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFC"
B = "28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93"
GX = "32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7"
GY = "BC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0"


def test_sm3_known_answers() -> None:
    assert sm3(b"abc").hex() == SM3_ABC
    assert sm3(b"abcd" * 16).hex() == SM3_ABCD16
    inc = Sm3()
    for chunk in (b"ab", b"c"):
        inc.update(chunk)
    assert inc.digest().hex() == SM3_ABC
    assert gmalglib.sm3_digest(b"abc").hex() == SM3_ABC


def test_sign_verify_round_trip_and_nonce_is_fresh() -> None:
    key = Sm2PrivateKey.generate()
    sig1, sig2 = key.sign(b"document"), key.sign(b"document")
    assert sig1 != sig2  # a repeated nonce would leak the key
    assert key.public_key.verify(b"document", sig1)
    assert key.public_key.verify(b"document", sig2)
    assert not key.public_key.verify(b"documenT", sig1)
    assert not Sm2PrivateKey.generate().public_key.verify(b"document", sig1)
    assert not key.public_key.verify(b"document", sig1, uid=b"another-user-id")


def test_signature_binds_z_with_default_uid() -> None:
    """e = SM3(Z || M) with Z computed here from the curve constants, not by the library."""
    key = Sm2PrivateKey.generate()
    point = key.public_key.point
    entl = (len(DEFAULT_UID) * 8).to_bytes(2, "big")
    z = sm3(entl + DEFAULT_UID + bytes.fromhex(A + B + GX + GY) + point[1:])
    assert key.public_key.z_value() == z
    sig = key.sign(b"message")
    raw = signature_der_to_raw(sig)
    assert gmalglib.sm2.SM2(pk=point).verify_digest(sm3(z + b"message"), raw)
    assert signing_digest(key.public_key, b"message") == sm3(z + b"message")
    assert key.public_key.verify_digest(sm3(z + b"message"), sig)


def test_signature_must_be_strict_der() -> None:
    key = Sm2PrivateKey.generate()
    sig = key.sign(b"m")
    assert not key.public_key.verify(b"m", sig + b"\x00")  # trailing garbage
    # Same integers, long-form length: valid BER, not DER.
    body = sig[2:]
    ber = b"\x30\x81" + bytes([len(body)]) + body
    assert not key.public_key.verify(b"m", ber)
    zero = algos.DSASignature({"r": 0, "s": 1}).dump()
    assert not key.public_key.verify(b"m", zero)
    with pytest.raises(MalformedData):
        signature_der_to_raw(b"\x30\x00")


def test_pkcs8_round_trip_and_foreign_keys_refused() -> None:
    key = Sm2PrivateKey.generate()
    der = key.to_pkcs8_der()
    assert Sm2PrivateKey.from_pkcs8_der(der) == key
    spki = key.public_key.to_spki_der()
    assert Sm2PublicKey.from_spki_der(spki) == key.public_key
    p256 = ec.generate_private_key(ec.SECP256R1())
    p256_der = p256.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    with pytest.raises(InvalidKey):
        Sm2PrivateKey.from_pkcs8_der(p256_der)
    p256_spki = p256.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    with pytest.raises(InvalidKey):
        Sm2PublicKey.from_spki_der(p256_spki)
    with pytest.raises(MalformedData):
        Sm2PrivateKey.from_pkcs8_der(der[:-3])
    with pytest.raises(InvalidKey):
        Sm2PrivateKey(b"\x00" * 32)
    with pytest.raises(InvalidKey):
        Sm2PublicKey(b"\x04" + b"\x01" * 64)  # not on the curve


def test_pkcs8_embedded_public_key_must_match() -> None:
    from asn1crypto import keys

    key, other = Sm2PrivateKey.generate(), Sm2PrivateKey.generate()
    info = keys.PrivateKeyInfo.load(key.to_pkcs8_der())
    ec_key = keys.ECPrivateKey.load(info["private_key"].contents)
    forged = keys.ECPrivateKey(
        {
            "version": "ecPrivkeyVer1",
            "private_key": ec_key["private_key"].native,
            "public_key": other.public_key.point,
        }
    )
    with pytest.raises(InvalidKey):
        Sm2PrivateKey.from_ec_private_key(forged)
