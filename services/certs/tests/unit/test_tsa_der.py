"""The TSA token's DER template against asn1crypto building the same token field by field
(the way the TSA built it before): byte for byte equal, for serial numbers, times, imprints
and nonces of every size, with and without certificates."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import pytest
from asn1crypto import algos, cms, core, tsp
from asn1crypto import x509 as asn1_x509
from certs.adapters.crypto.tsa import DEFAULT_POLICY_OID, _signing_certificate_v2
from certs.adapters.crypto.tsa_der import TokenTemplate, integer, tlv
from certs_pki import Pki
from cryptography.hazmat.primitives import serialization

SIGNATURE = bytes(range(70))  # a signature stands in: the bytes around it are what is compared


def _asn1(cert: object) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))  # type: ignore[attr-defined]


def _reference(cert: asn1_x509.Certificate, chain: list[asn1_x509.Certificate], imprint: tsp.MessageImprint,
               serial: int, now: datetime, nonce: int | None, cert_req: bool) -> tuple[bytes, bytes]:
    """The token as asn1crypto builds it (the TSA's code before the template) and the bytes
    its signature is over."""
    fields: dict[str, object] = {
        "version": "v1", "policy": DEFAULT_POLICY_OID, "message_imprint": imprint,
        "serial_number": serial, "gen_time": now, "accuracy": {"seconds": 1},
        "tsa": asn1_x509.GeneralName({"directory_name": cert.subject}),
    }
    if nonce is not None:
        fields["nonce"] = nonce
    tst_info = tsp.TSTInfo(fields).dump()
    digest_algorithm = algos.DigestAlgorithm({"algorithm": "sha256"})
    signed_attrs = cms.CMSAttributes([
        cms.CMSAttribute({"type": "content_type", "values": ["tst_info"]}),
        cms.CMSAttribute({"type": "signing_time", "values": [cms.Time({"utc_time": now})]}),
        cms.CMSAttribute({"type": "message_digest", "values": [hashlib.sha256(tst_info).digest()]}),
        cms.CMSAttribute({"type": "signing_certificate_v2", "values": [_signing_certificate_v2(cert)]}),
    ])
    signed_data: dict[str, object] = {
        "version": "v3", "digest_algorithms": [digest_algorithm],
        "encap_content_info": {"content_type": "tst_info", "content": core.ParsableOctetString(tst_info)},
        "signer_infos": [{
            "version": "v1",
            "sid": {"issuer_and_serial_number": {"issuer": cert.issuer, "serial_number": cert.serial_number}},
            "digest_algorithm": digest_algorithm, "signed_attrs": signed_attrs,
            "signature_algorithm": {"algorithm": "sha256_ecdsa"}, "signature": SIGNATURE,
        }],
    }
    if cert_req:
        signed_data["certificates"] = [cms.CertificateChoices({"certificate": c}) for c in (cert, *chain)]
    token = cms.ContentInfo({"content_type": "signed_data", "content": cms.SignedData(signed_data)})
    return token.dump(force=True), signed_attrs.dump(force=True)


@pytest.mark.parametrize(("serial", "nonce", "algorithm", "cert_req", "at"), [
    (1, None, "sha256", True, datetime(2026, 12, 5, 6, 30, tzinfo=UTC)),
    (0x7F, 0, "sha256", False, datetime(2026, 1, 1, tzinfo=UTC)),
    (0x80, 255, "sha384", True, datetime(2049, 12, 31, 23, 59, 59, tzinfo=UTC)),
    (2**159 - 1, 2**63, "sha512", True, datetime(2030, 6, 15, 12, 0, 1, tzinfo=UTC)),
    (2**159, 20261205, "sha256", False, datetime(2026, 12, 5, 23, 59, 59, tzinfo=UTC)),
])
def test_the_template_writes_what_asn1crypto_writes(pki: Pki, serial: int, nonce: int | None,
                                                    algorithm: str, cert_req: bool, at: datetime) -> None:
    cert, chain = _asn1(pki.tsa), [_asn1(pki.issuing)]
    imprint = tsp.MessageImprint({"hash_algorithm": {"algorithm": algorithm},
                                  "hashed_message": hashlib.new(algorithm, b"signature value").digest()})
    expected, expected_signed = _reference(cert, chain, imprint, serial, at, nonce, cert_req)
    template = TokenTemplate(cert, chain, DEFAULT_POLICY_OID, _signing_certificate_v2(cert).dump())
    signed: list[bytes] = []

    def sign(data: bytes) -> bytes:
        signed.append(data)
        return SIGNATURE

    tst_info = template.tst_info(imprint.dump(), serial, at, nonce)
    assert template.token(tst_info, at, cert_req, sign) == expected
    assert signed == [expected_signed]  # the DER SET OF the attributes, as asn1crypto sorts it


def test_integers_and_lengths_are_minimal_der() -> None:
    assert integer(0) == b"\x02\x01\x00"
    assert integer(0x7F) == b"\x02\x01\x7f" and integer(0x80) == b"\x02\x02\x00\x80"
    assert integer(256) == b"\x02\x02\x01\x00"
    assert tlv(0x04, bytes(127))[:2] == b"\x04\x7f"
    assert tlv(0x04, bytes(128))[:3] == b"\x04\x81\x80"
    assert tlv(0x04, bytes(256))[:4] == b"\x04\x82\x01\x00"
