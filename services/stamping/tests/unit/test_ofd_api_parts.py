"""The parts of OFD stamping that sit between the OFD library and the API: the upload's
format told by content, the timestamp's trust, the stamp's format/algorithm in the events,
older events without them."""

from __future__ import annotations

import asyncio
import hashlib
import io
import uuid
import zipfile
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from cryptography.hazmat.primitives.serialization import Encoding
from ofd_support import vector
from stamping.adapters.ofd.timestamps import trusted_time
from stamping.domain import stamp_request as stamp_requests
from stamping.domain.events import UsageRecorded
from stamping.service_layer.requests import is_ofd_upload

from shared.catalog import StampApplied, StampRequested
from tests.support.pdf_fixtures import build_test_pki

NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


def test_an_upload_is_an_ofd_by_content_only() -> None:
    assert is_ofd_upload(vector("helloworld.ofd"))
    assert not is_ofd_upload(b"%PDF-1.7\n...")
    bare = io.BytesIO()
    with zipfile.ZipFile(bare, "w") as z:
        z.writestr("word/document.xml", "<w/>")
    assert not is_ofd_upload(bare.getvalue())  # a ZIP, but not an OFD package
    assert not is_ofd_upload(b"PK\x03\x04 truncated")


def _token(signature_value: bytes) -> tuple[bytes, bytes]:
    pki = build_test_pki()
    stamper = pki.timestamper(fixed_dt=NOW)
    token = asyncio.run(stamper.async_timestamp(hashlib.sha256(signature_value).digest(), "sha256"))
    return token.dump(), pki.tsa_cert.public_bytes(Encoding.DER)


def test_a_timestamp_counts_only_from_the_platform_tsa_over_this_signature() -> None:
    token, tsa = _token(b"signature value")
    assert trusted_time(token, b"signature value", tsa) == NOW
    assert trusted_time(token, b"another signature", tsa) is None  # imprint of something else
    _, other_tsa = _token(b"x")
    assert trusted_time(token, b"signature value", other_tsa) is None  # another TSA's token
    assert trusted_time(token, b"signature value", None) is None
    broken = token[:-40] + bytes(40)
    assert trusted_time(broken, b"signature value", tsa) is None


def _facts(fmt: str, algorithm: str) -> stamp_requests.StampFacts:
    return stamp_requests.StampFacts(
        record_id=uuid.uuid4(), stamped_at=NOW, person_id=uuid.uuid4(), person_name="张三",
        enterprise_id=uuid.uuid4(), enterprise_name="某某有限公司", seal_id=uuid.uuid4(),
        seal_name="合同专用章", seal_type="contract", kind="ofd", client_id="c", requester="某系统",
        authorization="{}", person_signature=b"sig", person_signature_algorithm="ecdsa-p256-sha256",
        person_certificate_serial="01", seal_certificate_serial="02", result_sha256="cd" * 32,
        seal_signature_sha256="ef" * 32, format=fmt, algorithm=algorithm)


def test_the_stamp_events_say_format_and_algorithm_and_older_events_still_read() -> None:
    rid = uuid.uuid4()
    pending = stamp_requests.fold(rid, [StampRequested(
        request_id=rid, client_id="c", title="t", document_sha256="ab" * 32,
        expires_at=NOW + timedelta(minutes=10))])
    applied, usage = stamp_requests.apply_stamp(pending, _facts("gbt38540", "sm2-sm3"))
    assert isinstance(applied, StampApplied) and isinstance(usage, UsageRecorded)
    assert (applied.format, applied.algorithm) == ("gbt38540", "sm2-sm3")
    assert (usage.format, usage.algorithm, usage.kind) == ("gbt38540", "sm2-sm3", "ofd")
    old = applied.model_dump(mode="json")
    del old["format"], old["algorithm"]
    assert StampApplied.model_validate(old).format == ""  # events from before OFD
    assert replace(_facts("", ""), kind="pdf").format == ""
