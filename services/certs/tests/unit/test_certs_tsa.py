from __future__ import annotations

import asyncio
import hashlib
import shutil
import subprocess
from collections.abc import Callable
from datetime import datetime, timedelta
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from asn1crypto import cms, keys, tsp
from asn1crypto import x509 as asn1_x509
from certs.adapters.crypto import ca
from certs.adapters.crypto.signing import get_algorithm, private_key_to_der
from certs.adapters.crypto.tsa import (
    DEFAULT_POLICY_OID,
    TimestampAuthority,
    TimestampRejected,
    TimeStampResponse,
    token_info,
)
from certs.domain import SealSubject
from certs_pki import Pki
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.pdf_utils.writer import PageObject, PdfFileWriter
from pyhanko.sign import signers
from pyhanko.sign.timestamps.api import TimeStamper
from pyhanko.sign.timestamps.common_utils import TimestampRequestError
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.generic_cms import validate_tst_signed_data
from pyhanko.sign.validation.status import TimestampSignatureStatus
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.registry import SimpleCertificateStore

DATA = b"stamped document bytes"


def _asn1(cert: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


@pytest.fixture()
def clock(now: datetime) -> Callable[[], datetime]:
    return lambda: now + timedelta(minutes=1)


@pytest.fixture()
def authority(pki: Pki, clock: Callable[[], datetime]) -> TimestampAuthority:
    return TimestampAuthority(pki.tsa_key, pki.tsa, [pki.issuing], DEFAULT_POLICY_OID, clock)


class InProcessTimeStamper(TimeStamper):
    """pyHanko's client path (nonce check, status handling) against our TSA, no HTTP."""

    def __init__(self, authority: TimestampAuthority) -> None:
        super().__init__()
        self.authority = authority

    async def async_request_tsa_response(self, req: tsp.TimeStampReq) -> Any:
        # duck-typed: pyHanko only indexes the response
        return TimeStampResponse.load(self.authority.respond(req.dump()))


def _validate(pki: Pki, token: bytes, data: bytes, at: datetime) -> TimestampSignatureStatus:
    signed_data = cms.ContentInfo.load(token)["content"]
    context = ValidationContext(trust_roots=[_asn1(pki.root)], moment=at, allow_fetching=False)

    def expected(algorithm: str) -> bytes:
        return hashlib.new(algorithm, data).digest()

    kwargs = asyncio.run(validate_tst_signed_data(signed_data, context, expected))
    return TimestampSignatureStatus(**kwargs)


def _request(algorithm: str = "sha256", digest: bytes | None = None, **extra: Any) -> bytes:
    digest = hashlib.new(algorithm, DATA).digest() if digest is None else digest
    request = tsp.TimeStampReq({
        "version": "v1",
        "message_imprint": {"hash_algorithm": {"algorithm": algorithm}, "hashed_message": digest},
        **extra,
    })
    return bytes(request.dump())


def _failure(response: bytes) -> tuple[str, set[str]]:
    status = TimeStampResponse.load(response)["status"]
    return status["status"].native, status["fail_info"].native


@pytest.mark.parametrize("algorithm", ["sha256", "sha384", "sha512"])
def test_token_verifies_for_the_stamped_data(
    pki: Pki, authority: TimestampAuthority, now: datetime, algorithm: str
) -> None:
    token = authority.stamp(hashlib.new(algorithm, DATA).digest(), algorithm)
    result = _validate(pki, token, DATA, now + timedelta(minutes=2))
    assert result.intact and result.valid and result.trusted
    assert result.timestamp == now + timedelta(minutes=1)


def test_token_fails_for_other_data(pki: Pki, authority: TimestampAuthority, now: datetime) -> None:
    token = authority.stamp(hashlib.sha256(DATA).digest())
    result = _validate(pki, token, b"other bytes", now + timedelta(minutes=2))
    assert not result.intact


def test_pyhanko_client_path_checks_nonce_and_gets_certificates(
    authority: TimestampAuthority, pki: Pki
) -> None:
    stamper = InProcessTimeStamper(authority)
    token = asyncio.run(stamper.async_timestamp(hashlib.sha256(DATA).digest(), "sha256"))
    embedded = {c.chosen.sha256 for c in token["content"]["certificates"]}
    assert _asn1(pki.tsa).sha256 in embedded and _asn1(pki.issuing).sha256 in embedded
    assert token_info(token.dump()).nonce is not None


def test_certificates_only_when_requested(authority: TimestampAuthority) -> None:
    response = TimeStampResponse.load(authority.respond(_request(nonce=42, cert_req=False)))
    assert response["status"]["status"].native == "granted"
    signed_data = response["time_stamp_token"]["content"]
    assert signed_data["certificates"].native is None
    assert signed_data["encap_content_info"]["content"].parsed["nonce"].native == 42


def test_token_info_reads_the_stamp(authority: TimestampAuthority, now: datetime) -> None:
    digest = hashlib.sha256(DATA).digest()
    info = token_info(authority.stamp(digest))
    assert (info.digest, info.hash_algorithm, info.policy) == (digest, "sha256", DEFAULT_POLICY_OID)
    assert info.gen_time == now + timedelta(minutes=1) and info.serial_number > 0


def test_unsupported_hash_is_rejected(authority: TimestampAuthority) -> None:
    assert _failure(authority.respond(_request("sha1"))) == ("rejection", {"bad_alg"})
    with pytest.raises(TimestampRejected) as info:
        authority.stamp(hashlib.sha1(DATA).digest(), "sha1")
    assert info.value.failure == "bad_alg"


def test_pyhanko_reports_a_rejection(authority: TimestampAuthority) -> None:
    stamper = InProcessTimeStamper(authority)
    with pytest.raises(TimestampRequestError):
        asyncio.run(stamper.async_timestamp(hashlib.md5(DATA).digest(), "md5"))


def test_bad_requests_are_rejected_not_raised(authority: TimestampAuthority) -> None:
    assert _failure(authority.respond(b"\x30\x03junk")) == ("rejection", {"bad_data_format"})
    assert _failure(authority.respond(_request(digest=b"short"))) == ("rejection", {"bad_data_format"})
    assert _failure(authority.respond(_request(req_policy="1.2.3.4"))) == (
        "rejection", {"unaccepted_policy"},
    )
    accepted = TimeStampResponse.load(authority.respond(_request(req_policy=DEFAULT_POLICY_OID)))
    assert accepted["status"]["status"].native == "granted"


def test_no_tokens_outside_tsa_certificate_validity(pki: Pki) -> None:
    late = TimestampAuthority(pki.tsa_key, pki.tsa, [], DEFAULT_POLICY_OID,
                              lambda: pki.tsa.not_valid_after_utc + timedelta(days=1))
    assert _failure(late.respond(_request())) == ("rejection", {"time_not_available"})


def test_tsa_refuses_a_certificate_without_time_stamping_eku(pki: Pki, now: datetime) -> None:
    key = get_algorithm().generate_private_key()
    seal = SealSubject("某公司", "91220101MA0Y3XXXXA", "某公司公章", "法定名称章")
    cert = ca.issue_seal_certificate(pki.issuing_key, pki.issuing, key.public_key(), seal,
                                     ca.new_serial(), now=now)
    with pytest.raises(ValueError):
        TimestampAuthority(key, cert, [], DEFAULT_POLICY_OID, lambda: now)
    with pytest.raises(ValueError):
        TimestampAuthority(key, pki.tsa, [], DEFAULT_POLICY_OID, lambda: now)


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl not installed")
def test_openssl_verifies_the_response(tmp_path: Path, pki: Pki, now: datetime) -> None:
    # openssl checks certificate validity at the real time, so the token is made "now"
    authority = TimestampAuthority(pki.tsa_key, pki.tsa, [pki.issuing], DEFAULT_POLICY_OID,
                                   lambda: now + timedelta(seconds=1))
    (tmp_path / "data").write_bytes(DATA)
    (tmp_path / "other").write_bytes(b"other")
    (tmp_path / "root.pem").write_bytes(pki.root.public_bytes(serialization.Encoding.PEM))

    def openssl(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["openssl", "ts", *args], cwd=tmp_path, capture_output=True, text=True, check=False
        )

    assert openssl("-query", "-data", "data", "-sha256", "-cert", "-out", "req.tsq").returncode == 0
    (tmp_path / "resp.tsr").write_bytes(authority.respond((tmp_path / "req.tsq").read_bytes()))
    ok = openssl("-verify", "-data", "data", "-in", "resp.tsr", "-CAfile", "root.pem")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    ok = openssl("-verify", "-queryfile", "req.tsq", "-in", "resp.tsr", "-CAfile", "root.pem")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    bad = openssl("-verify", "-data", "other", "-in", "resp.tsr", "-CAfile", "root.pem")
    assert bad.returncode != 0


def _blank_pdf() -> BytesIO:
    writer = PdfFileWriter()
    contents = writer.add_object(generic.StreamObject(stream_data=b""))
    writer.insert_page(PageObject(contents=contents, media_box=generic.ArrayObject(
        [generic.NumberObject(n) for n in (0, 0, 595, 842)])))
    out = BytesIO()
    writer.write(out)
    out.seek(0)
    return out


def test_pyhanko_accepts_a_pdf_sealed_with_a_seal_certificate_and_our_timestamp(
    pki: Pki, now: datetime, authority: TimestampAuthority
) -> None:
    key = get_algorithm().generate_private_key()
    seal = SealSubject("某科技有限公司", "91220101MA0Y3XXXXA", "某科技有限公司合同专用章", "合同专用章")
    cert = ca.issue_seal_certificate(pki.issuing_key, pki.issuing, key.public_key(), seal,
                                     ca.new_serial(), now=now)
    signer = signers.SimpleSigner(
        signing_cert=_asn1(cert),
        signing_key=keys.PrivateKeyInfo.load(private_key_to_der(key)),
        cert_registry=SimpleCertificateStore.from_certs([_asn1(pki.issuing), _asn1(pki.root)]),
    )
    meta = signers.PdfSignatureMetadata(field_name="Seal", md_algorithm="sha256")
    stamped = signers.sign_pdf(IncrementalPdfFileWriter(_blank_pdf()), meta, signer=signer,
                               timestamper=InProcessTimeStamper(authority))
    embedded = PdfFileReader(stamped).embedded_signatures[0]
    context = ValidationContext(trust_roots=[_asn1(pki.root)], allow_fetching=False,
                                moment=now + timedelta(minutes=2))
    status = validate_pdf_signature(embedded, context, ts_validation_context=context)
    assert status.intact and status.valid and status.trusted, status.pretty_print_details()
    assert status.timestamp_validity is not None and status.timestamp_validity.trusted
