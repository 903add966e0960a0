"""An SES verifier written apart from shared.gm: generic DER walking (asn1crypto.core only,
by position as GB/T 38540 lays the fields out), gmalglib for SM2 and hashlib-free SM3 from
gmalglib as well. Used to check what *we* produce without trusting our own parser/verifier."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

import gmalglib
from asn1crypto import core, x509

SM2_WITH_SM3 = "1.2.156.10197.1.501"


def _seq(der: bytes) -> core.Sequence:
    return core.Sequence.load(der, strict=True)


def _raw_signature(der: bytes) -> bytes:
    sig = _seq(der)
    r, s = int(sig[0].native), int(sig[1].native)
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def _public_point(cert_der: bytes) -> bytes:
    cert = x509.Certificate.load(cert_der)
    return bytes(cert["tbs_certificate"]["subject_public_key_info"]["public_key"].native)


def _bit_string_bytes(value: core.Asn1Value) -> bytes:
    contents = value.contents
    assert contents[0] == 0, "unused bits must be 0"
    return bytes(contents[1:])


def verify_v4_seal(seal_der: bytes) -> bool:
    seal = _seq(seal_der)  # SESeal ::= SEQUENCE { eSealInfo, cert, signAlgID, signedValue }
    assert len(seal) == 4
    seal_info, cert, alg, signed_value = seal[0], seal[1], seal[2], seal[3]
    header = _seq(_seq(seal_info.dump())[0].dump())
    assert header[0].native == "ES" and header[1].native == 4
    assert core.ObjectIdentifier.load(alg.dump()).dotted == SM2_WITH_SM3
    maker_point = _public_point(core.OctetString.load(cert.dump()).native)
    raw = _raw_signature(_bit_string_bytes(core.BitString.load(signed_value.dump())))
    return bool(gmalglib.sm2.SM2(pk=maker_point).verify(seal_info.dump(), raw))


def verify_v4_signature(signature_der: bytes, signed_data: bytes) -> bool:
    sig = _seq(
        signature_der
    )  # SES_Signature ::= SEQUENCE { toSign, cert, signatureAlgID, signature, [0] timeStamp }
    to_sign, cert, alg, value = sig[0], sig[1], sig[2], sig[3]
    tbs = _seq(
        to_sign.dump()
    )  # TBS_Sign ::= SEQUENCE { version, eseal, timeInfo, dataHash, propertyInfo, [0] extDatas }
    assert tbs[0].native == 4
    assert core.ObjectIdentifier.load(alg.dump()).dotted == SM2_WITH_SM3
    data_hash = _bit_string_bytes(core.BitString.load(tbs[3].dump()))
    if data_hash != gmalglib.sm3_digest(signed_data):
        return False
    if not verify_v4_seal(tbs[1].dump()):
        return False
    signer_point = _public_point(core.OctetString.load(cert.dump()).native)
    raw = _raw_signature(_bit_string_bytes(core.BitString.load(value.dump())))
    return bool(gmalglib.sm2.SM2(pk=signer_point).verify(to_sign.dump(), raw))


def openssl_sm2_verify(cert_pem: bytes, message: bytes, signature_der: bytes, workdir: Path) -> bool | None:
    """OpenSSL's own SM2-with-SM3 (default user ID) over ``message``; None if unavailable."""
    if shutil.which("openssl") is None:
        return None
    (workdir / "c.pem").write_bytes(cert_pem)
    pub = subprocess.run(
        ["openssl", "x509", "-in", str(workdir / "c.pem"), "-pubkey", "-noout"],
        capture_output=True,
        check=True,
    ).stdout
    (workdir / "k.pem").write_bytes(pub)
    (workdir / "m").write_bytes(message)
    (workdir / "s").write_bytes(signature_der)
    args = ["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", str(workdir / "k.pem"), "-rawin"]
    args += ["-digest", "sm3", "-pkeyopt", "distid:1234567812345678"]
    args += ["-in", str(workdir / "m"), "-sigfile", str(workdir / "s")]
    r = subprocess.run(args, capture_output=True)
    if b"not supported" in r.stderr.lower() or b"unknown" in r.stderr.lower():
        return None
    return r.returncode == 0


def timestamp_token(signature_value: bytes, *, wrong: bool = False) -> bytes:
    """An RFC 3161 token shape (ContentInfo/SignedData/TSTInfo) whose imprint is SHA-256 of
    ``signature_value``; unsigned (no signer infos): only the imprint is under test."""
    from datetime import UTC, datetime

    from asn1crypto import algos, cms, tsp

    digest = hashlib.sha256(signature_value + (b"x" if wrong else b"")).digest()
    tst = tsp.TSTInfo(
        {
            "version": "v1",
            "policy": "1.2.3.4",
            "message_imprint": {
                "hash_algorithm": algos.DigestAlgorithm({"algorithm": "sha256"}),
                "hashed_message": digest,
            },
            "serial_number": 1,
            "gen_time": datetime.now(UTC).replace(microsecond=0),
        }
    )
    signed = cms.SignedData(
        {
            "version": "v3",
            "digest_algorithms": [{"algorithm": "sha256"}],
            "encap_content_info": {
                "content_type": "tst_info",
                "content": cms.ParsableOctetString(tst.dump()),
            },
            "signer_infos": [],
        }
    )
    return bytes(cms.ContentInfo({"content_type": "1.2.840.113549.1.7.2", "content": signed}).dump())
