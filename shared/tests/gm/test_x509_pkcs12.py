"""SM2 certificates and CRLs: our own hierarchy, ofdrw's certificates, and OpenSSL as a second opinion."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from asn1crypto import x509 as asn1_x509

from shared.gm import oids
from shared.gm.errors import BadPassword, MalformedData, UnsupportedAlgorithm
from shared.gm.pkcs12 import load_pkcs12
from shared.gm.sm2 import Sm2PrivateKey
from shared.gm.x509 import (
    RevokedEntry,
    build_crl,
    create_issuing_ca,
    create_root,
    issue_person_certificate,
    issue_seal_certificate,
    issue_seal_maker_certificate,
    load_certificate,
    public_key_of,
    to_pem,
    verify_certificate,
    verify_crl,
)

from .vectors import OFDRW_PASSWORD, OFDRW_ROOT_PASSWORD, read

Hierarchy = tuple[Sm2PrivateKey, asn1_x509.Certificate, Sm2PrivateKey, asn1_x509.Certificate]


@pytest.fixture(scope="module")
def hierarchy() -> Hierarchy:
    root_key, ca_key = Sm2PrivateKey.generate(), Sm2PrivateKey.generate()
    root = create_root(
        root_key, {"country_name": "CN", "organization_name": "测试平台", "common_name": "SM2 Root"}
    )
    ca = create_issuing_ca(
        ca_key.public_key, {"country_name": "CN", "common_name": "SM2 Issuing CA"}, root, root_key
    )
    return root_key, root, ca_key, ca


def test_hierarchy_verifies_and_has_the_gm_profile(hierarchy: Hierarchy) -> None:
    root_key, root, ca_key, ca = hierarchy
    person_key, seal_key, maker_key = (Sm2PrivateKey.generate() for _ in range(3))
    person = issue_person_certificate(
        person_key.public_key, name="张三", person_id="p-1", ca=ca, ca_key=ca_key
    )
    seal = issue_seal_certificate(
        seal_key.public_key,
        seal_name="合同专用章",
        enterprise_name="测试科技有限公司",
        seal_id="s-1",
        ca=ca,
        ca_key=ca_key,
    )
    maker = issue_seal_maker_certificate(maker_key.public_key, organization="测试平台", ca=ca, ca_key=ca_key)
    assert verify_certificate(root, root)
    assert verify_certificate(ca, root)
    for cert in (person, seal, maker):
        assert verify_certificate(cert, ca)
        assert not verify_certificate(cert, root)  # wrong issuer
        again = load_certificate(to_pem(cert))
        assert again["signature_algorithm"]["algorithm"].dotted == oids.SM2_WITH_SM3
        spki_alg = again["tbs_certificate"]["subject_public_key_info"]["algorithm"]
        assert spki_alg["algorithm"].dotted == oids.EC_PUBLIC_KEY
        assert spki_alg["parameters"].chosen.dotted == oids.SM2_CURVE
        assert again["signature_algorithm"]["parameters"].native is None
        assert again.ca is False
    assert public_key_of(person) == person_key.public_key
    assert ca.ca and ca.max_path_length == 0
    assert seal.subject.native["organization_name"] == "测试科技有限公司"


def test_tampered_certificate_fails(hierarchy: Hierarchy) -> None:
    _, _, ca_key, ca = hierarchy
    cert = issue_person_certificate(
        Sm2PrivateKey.generate().public_key, name="李四", person_id="p-2", ca=ca, ca_key=ca_key
    )
    der = bytearray(cert.dump())
    idx = der.find("李四".encode())
    der[idx] ^= 0x01
    forged = asn1_x509.Certificate.load(bytes(der))
    assert not verify_certificate(forged, ca)


def test_crl_signed_and_lists_revoked(hierarchy: Hierarchy) -> None:
    root_key, root, ca_key, ca = hierarchy
    now = datetime.now(UTC).replace(microsecond=0)
    crl = build_crl(ca, ca_key, [RevokedEntry(1234, now, "key_compromise")], crl_number=7)
    assert verify_crl(crl, ca)
    assert not verify_crl(crl, root)
    entries = crl["tbs_cert_list"]["revoked_certificates"]
    assert [e["user_certificate"].native for e in entries] == [1234]
    assert crl.crl_number_value.native == 7
    empty = build_crl(ca, ca_key, [], crl_number=8)
    assert verify_crl(empty, ca)


def test_issuer_key_must_match_issuer_certificate(hierarchy: Hierarchy) -> None:
    _, root, _, ca = hierarchy
    with pytest.raises(ValueError):
        issue_person_certificate(
            Sm2PrivateKey.generate().public_key,
            name="x",
            person_id="p",
            ca=ca,
            ca_key=Sm2PrivateKey.generate(),
        )


def test_ofdrw_certificates_verify_under_ofdrw_root() -> None:
    root = load_pkcs12(read("ROOT.p12"), OFDRW_ROOT_PASSWORD).certificate
    assert verify_certificate(root, root)
    for name in ("USER.p12", "SealBuilder.p12"):
        bundle = load_pkcs12(read(name), OFDRW_PASSWORD)
        assert bundle.private_key is not None
        assert public_key_of(bundle.certificate) == bundle.private_key.public_key
        assert verify_certificate(bundle.certificate, root)
        # and what we sign with ofdrw's key verifies under ofdrw's certificate
        sig = bundle.private_key.sign(b"interop")
        assert public_key_of(bundle.certificate).verify(b"interop", sig)


def test_pkcs12_wrong_password_and_damage() -> None:
    with pytest.raises(BadPassword):
        load_pkcs12(read("USER.p12"), "000000")
    data = bytearray(read("USER.p12"))
    data[len(data) // 2] ^= 0xFF
    with pytest.raises((BadPassword, MalformedData)):
        load_pkcs12(bytes(data), OFDRW_PASSWORD)
    with pytest.raises(MalformedData):
        load_pkcs12(b"not a pfx", OFDRW_PASSWORD)


def test_load_certificate_refuses_ecdsa() -> None:
    from cryptography import x509 as cx509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import Encoding
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = cx509.Name([cx509.NameAttribute(NameOID.COMMON_NAME, "p256")])
    now = datetime.now(UTC)
    cert = (
        cx509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now)
        .sign(key, hashes.SHA256())
    )
    with pytest.raises(UnsupportedAlgorithm):
        load_certificate(cert.public_bytes(Encoding.DER))
    with pytest.raises(MalformedData):
        load_certificate(b"\x30\x03\x02\x01\x01")


def test_openssl_verifies_our_certificate_signature(hierarchy: Hierarchy, tmp_path: Path) -> None:
    """A second, independent SM2 implementation (OpenSSL 3) checks our TBS signature."""
    _, _, ca_key, ca = hierarchy
    cert = issue_person_certificate(
        Sm2PrivateKey.generate().public_key, name="王五", person_id="p-3", ca=ca, ca_key=ca_key
    )
    (tmp_path / "tbs").write_bytes(cert["tbs_certificate"].dump())
    (tmp_path / "sig").write_bytes(bytes(cert["signature_value"].native))
    (tmp_path / "ca.pem").write_bytes(to_pem(ca))
    pub = subprocess.run(
        ["openssl", "x509", "-in", str(tmp_path / "ca.pem"), "-pubkey", "-noout"],
        capture_output=True,
        check=True,
    ).stdout
    (tmp_path / "pub.pem").write_bytes(pub)

    def verify(tbs: Path) -> bool:
        r = subprocess.run(
            [
                "openssl",
                "pkeyutl",
                "-verify",
                "-pubin",
                "-inkey",
                str(tmp_path / "pub.pem"),
                "-rawin",
                "-digest",
                "sm3",
                "-pkeyopt",
                "distid:1234567812345678",
                "-in",
                str(tbs),
                "-sigfile",
                str(tmp_path / "sig"),
            ],
            capture_output=True,
        )
        assert b"unknown" not in r.stderr.lower() and b"not supported" not in r.stderr.lower(), \
            "OpenSSL 3 with SM2 is part of the set-up (scripts/ensure-system.sh)"
        return r.returncode == 0

    assert verify(tmp_path / "tbs")
    bad = bytearray(cert["tbs_certificate"].dump())
    bad[-1] ^= 1
    (tmp_path / "bad").write_bytes(bytes(bad))
    assert not verify(tmp_path / "bad")


def test_modern_pkcs12_pbes2_aes_and_sha256_mac(hierarchy: Hierarchy) -> None:
    """OpenSSL 3 defaults (PBES2/PBKDF2/AES-256-CBC, HMAC-SHA-256 MAC), written by
    `cryptography`; it cannot hold an SM2 key, so the bag holds our SM2 certificate only."""
    from cryptography import x509 as cx509
    from cryptography.hazmat.primitives.serialization import BestAvailableEncryption, pkcs12

    _, _, ca_key, ca = hierarchy
    cert = issue_person_certificate(
        Sm2PrivateKey.generate().public_key, name="赵六", person_id="p-4", ca=ca, ca_key=ca_key
    )
    data = pkcs12.serialize_key_and_certificates(
        b"x", None, cx509.load_der_x509_certificate(cert.dump()), None, BestAvailableEncryption(b"pw-2026")
    )
    loaded = load_pkcs12(data, "pw-2026")
    assert loaded.private_key is None
    assert [c.dump() for c in loaded.certificates] == [cert.dump()]
    with pytest.raises(BadPassword):
        load_pkcs12(data, "pw-2027")
