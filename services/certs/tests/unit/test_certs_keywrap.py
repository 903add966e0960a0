from __future__ import annotations

import base64
import pickle

import pytest
from certs.adapters.crypto.keywrap import (
    TEST_KDF_PARAMS,
    KdfParams,
    KeyWrapError,
    MasterKey,
    MasterKeyMismatch,
    UnwrapFailed,
    WrappedKey,
    WrongPassword,
    make_aad,
    needs_rewrap,
    rewrap_password,
    unwrap_with_master,
    unwrap_with_password,
    wrap_with_master,
    wrap_with_password,
)
from certs.adapters.crypto.signing import get_algorithm, private_key_to_der

PASSWORD = "Seal#2026pw"
AAD = make_aad("user-key", "cert-0001")


@pytest.fixture(scope="module")
def key_der() -> bytes:
    return private_key_to_der(get_algorithm().generate_private_key())


def _wrap(master: MasterKey, key_der: bytes, password: str = PASSWORD) -> WrappedKey:
    return wrap_with_password(master, password, key_der, AAD, TEST_KDF_PARAMS)


# --- master key ------------------------------------------------------------------------


def test_master_key_is_never_printed() -> None:
    raw = bytes(range(32))
    master = MasterKey.from_base64(base64.b64encode(raw).decode())
    for text in (repr(master), str(master), f"{master}"):
        assert "redacted" in text and raw.hex() not in text
    with pytest.raises(TypeError):
        pickle.dumps(master)


@pytest.mark.parametrize("text", ["not base64!", base64.b64encode(b"short").decode()])
def test_master_key_must_be_32_bytes_of_base64(text: str) -> None:
    with pytest.raises(ValueError):
        MasterKey.from_base64(text)


def test_master_wrap_roundtrip(master: MasterKey, key_der: bytes) -> None:
    blob = wrap_with_master(master, key_der, AAD)
    assert blob.startswith(b"EW1") and key_der not in blob
    assert unwrap_with_master(master, blob, AAD) == key_der
    assert wrap_with_master(master, key_der, AAD) != blob  # fresh nonce each time


def test_master_wrap_is_bound_to_its_owner(master: MasterKey, key_der: bytes) -> None:
    blob = wrap_with_master(master, key_der, AAD)
    with pytest.raises(UnwrapFailed):
        unwrap_with_master(master, blob, make_aad("user-key", "cert-0002"))


def test_master_wrap_detects_tampering(master: MasterKey, key_der: bytes) -> None:
    blob = bytearray(wrap_with_master(master, key_der, AAD))
    blob[-1] ^= 1
    with pytest.raises(UnwrapFailed):
        unwrap_with_master(master, bytes(blob), AAD)
    with pytest.raises(UnwrapFailed):
        unwrap_with_master(master, b"XX1" + bytes(blob[3:]), AAD)


def test_master_wrap_needs_the_same_master_key(master: MasterKey, key_der: bytes) -> None:
    blob = wrap_with_master(master, key_der, AAD)
    with pytest.raises(MasterKeyMismatch):
        unwrap_with_master(MasterKey.generate(), blob, AAD)


# --- password wrap ---------------------------------------------------------------------


def test_password_wrap_roundtrip(master: MasterKey, key_der: bytes) -> None:
    wrapped = _wrap(master, key_der)
    assert unwrap_with_password(master, PASSWORD, wrapped, AAD) == key_der


def test_wrong_password_fails(master: MasterKey, key_der: bytes) -> None:
    wrapped = _wrap(master, key_der)
    with pytest.raises(WrongPassword):
        unwrap_with_password(master, "Seal#2026pW", wrapped, AAD)


def test_password_wrap_is_bound_to_its_owner(master: MasterKey, key_der: bytes) -> None:
    wrapped = _wrap(master, key_der)
    with pytest.raises(WrongPassword):
        unwrap_with_password(master, PASSWORD, wrapped, make_aad("user-key", "cert-0002"))


def test_password_alone_is_useless_without_master_key(master: MasterKey, key_der: bytes) -> None:
    wrapped = _wrap(master, key_der)
    other = MasterKey.generate()
    with pytest.raises(MasterKeyMismatch):
        unwrap_with_password(other, PASSWORD, wrapped, AAD)
    # even with the key id forged to match, the KEK depends on the master key
    forged = WrappedKey(kdf=wrapped.kdf, salt=wrapped.salt, nonce=wrapped.nonce,
                        ciphertext=wrapped.ciphertext, master_key_id=other.key_id)
    with pytest.raises(WrongPassword):
        unwrap_with_password(other, PASSWORD, forged, AAD)


def test_stored_blob_holds_neither_key_nor_password(master: MasterKey, key_der: bytes) -> None:
    wrapped = _wrap(master, key_der)
    stored = wrapped.to_bytes()
    for secret in (key_der, key_der[-32:], PASSWORD.encode(), base64.b64encode(key_der)):
        assert secret not in stored
    assert wrapped.ciphertext.hex() not in repr(wrapped)


def test_wrapped_key_serialises_and_records_parameters(master: MasterKey, key_der: bytes) -> None:
    wrapped = _wrap(master, key_der)
    data = wrapped.to_dict()
    assert data["alg"] == "argon2id+hkdf-sha256+aes-256-gcm"
    assert data["kdf"] == {"t": 1, "m": 8192, "p": 1}
    restored = WrappedKey.from_bytes(wrapped.to_bytes())
    assert restored == wrapped == WrappedKey.from_dict(data)
    assert unwrap_with_password(master, PASSWORD, restored, AAD) == key_der
    assert len(wrapped.salt) == 16 and len(wrapped.nonce) == 12


@pytest.mark.parametrize("raw", [b"{}", b"[1]", b"not json", b'{"v":2,"alg":"x"}'])
def test_malformed_wrapped_key_is_refused(raw: bytes) -> None:
    with pytest.raises(KeyWrapError):
        WrappedKey.from_bytes(raw)


def test_absurd_kdf_parameters_are_refused() -> None:
    with pytest.raises(ValueError):
        KdfParams(time_cost=1, memory_cost=64 * 1024 * 1024, parallelism=1)


def test_rewrap_old_password_fails_new_works(master: MasterKey, key_der: bytes) -> None:
    wrapped = _wrap(master, key_der)
    rewrapped = rewrap_password(master, wrapped, PASSWORD, "New!pass99", AAD, TEST_KDF_PARAMS)
    assert rewrapped.salt != wrapped.salt and rewrapped.nonce != wrapped.nonce
    with pytest.raises(WrongPassword):
        unwrap_with_password(master, PASSWORD, rewrapped, AAD)
    assert unwrap_with_password(master, "New!pass99", rewrapped, AAD) == key_der


def test_rewrap_with_wrong_old_password_fails(master: MasterKey, key_der: bytes) -> None:
    wrapped = _wrap(master, key_der)
    with pytest.raises(WrongPassword):
        rewrap_password(master, wrapped, "guess1234", "New!pass99", AAD, TEST_KDF_PARAMS)


def test_needs_rewrap_when_cost_changes(master: MasterKey, key_der: bytes) -> None:
    wrapped = _wrap(master, key_der)
    assert not needs_rewrap(wrapped, TEST_KDF_PARAMS)
    assert needs_rewrap(wrapped, KdfParams(time_cost=2, memory_cost=8192, parallelism=1))
