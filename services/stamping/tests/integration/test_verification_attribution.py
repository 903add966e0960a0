"""Verification tells who really sealed, and its work is bounded (issue #11).

Through the gateway, against real PostgreSQL, with seals and certs faked at the ports.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import aiohttp
from stamping.adapters.pdf import sign_detached_digest
from stamping.entrypoints.http import STAMPING
from stamping.service_layer import fingerprints
from stamping.service_layer.ports import SealInfo

from tests.support.api import Reply
from tests.support.forged_stamp import forged_attribution_pdf
from tests.support.harnesses.stamping import Harness, Person
from tests.support.hostile_pdfs import many_pages_pdf, many_revisions_pdf, many_signature_fields_pdf
from tests.support.pdf_fixtures import LocalDigestSigner


async def _verify(h: Harness, data: bytes, *, base: str | None = None) -> Reply:
    form = aiohttp.FormData()
    form.add_field("document", data, filename="x.pdf", content_type="application/pdf")
    return await h.call("POST", (base or h.gateway) + "/api/v1/verifications", data=form)


async def _digest_stamp(h: Harness, token: str, digest_hex: str, person: Person, seal: SealInfo) -> bytes:
    r = await h.call("POST", "/api/v1/stamp-requests", token=token,
                     json={"title": "电子公文摘要", "digest_sha256": digest_hex})
    assert r.status == 201, r
    assert (await h.scan(person, r.json["qr_payload"])).status == 200
    assert (await h.stamp(person, r.json["request_id"], seal)).status == 201
    res = await h.call("GET", f"/api/v1/stamp-requests/{r.json['request_id']}/result", token=token)
    assert res.status == 200 and res.headers["Content-Type"] == "application/pkcs7-signature", res
    return res.body


def _serial(h: Harness, seal: SealInfo) -> str:
    return format(h.seals.seals[seal.seal_id].cert.serial_number, "X")


async def test_a_forged_enterprise_in_the_pdf_is_not_shown_and_fails(stamping: Harness) -> None:
    """Enterprise A's grant holder seals, through a digest request, a PDF whose /EsealStamp
    names enterprise B: the report names A (from the certificate), says "digest" and the
    relying system, and fails the signature for the mismatch."""
    h = stamping
    client, token = await h.new_client("乙方冒名审批系统")
    seal_a = h.enterprise_seal("长春市甲方真实科技有限公司")
    seal_b = h.enterprise_seal("北京市乙方被冒名有限公司")
    person = h.person("王五")
    h.seals.grant(person.id, seal_a.seal_id)

    forged = forged_attribution_pdf(enterprise_name=seal_b.enterprise_name, seal_name=seal_b.name,
                                    seal_id=str(seal_b.seal_id), enterprise_id=str(seal_b.enterprise_id),
                                    enterprise_uscc=seal_b.enterprise_uscc, signer_person_name="赵六")
    pdf = await forged.complete(await _digest_stamp(h, token, forged.digest_sha256, person, seal_a))

    r = await _verify(h, pdf)
    assert r.status == 200, r
    assert r.json["result"] == "failed", r
    s = r.json["signatures"][0]
    assert s["intact"] and s["trusted"]  # the seal signature itself is genuine
    assert s["result"] == "failed" and "stamp_metadata_mismatch" in s["reasons"], s
    assert {"seal_id", "enterprise_id", "enterprise_name", "seal_name"} <= set(s["metadata_mismatches"])
    # who sealed: A, from the certificate and the platform's record; B appears nowhere
    assert s["seal_id"] == str(seal_a.seal_id) and s["enterprise_id"] == str(seal_a.enterprise_id)
    assert s["enterprise_name"] == seal_a.enterprise_name and s["seal_name"] == seal_a.name
    assert s["signer_name"] == "王五" and s["seal_type"] == "official"
    assert seal_b.enterprise_name not in str(r.json)
    assert s["stamped_on"] == "digest" and s["relying_system"] == client.name
    cert = s["signer_certificate"]
    assert cert["serial"] == _serial(h, seal_a)
    assert seal_a.enterprise_name in cert["subject"] and "issuing CA" in cert["issuer"]
    assert s["recorded"] is True


async def test_a_document_stamp_says_document_and_passes(stamping: Harness) -> None:
    h = stamping
    _, token = await h.new_client()
    seal = h.enterprise_seal()
    person = h.person()
    h.seals.grant(person.id, seal.seal_id)
    req = await h.request_pdf(token)
    assert req.status == 201, req
    assert (await h.scan(person, req.json["qr_payload"])).status == 200
    assert (await h.stamp(person, req.json["request_id"], seal)).status == 201
    doc = (await h.call("GET", f"/api/v1/stamp-requests/{req.json['request_id']}/result", token=token)).body
    r = await _verify(h, doc)
    assert r.status == 200 and r.json["result"] == "passed", r
    s = r.json["signatures"][0]
    assert s["stamped_on"] == "document" and s["relying_system"] is None
    assert s["metadata_mismatches"] == [] and s["recorded"] is True
    assert s["seal_id"] == str(seal.seal_id) and s["request_id"] == req.json["request_id"]
    assert s["signer_certificate"]["serial"] == _serial(h, seal)


async def test_a_seal_signature_the_platform_never_recorded_fails(stamping: Harness) -> None:
    """A genuine seal signature made outside the stamping flow (say, through a leaked internal
    signing endpoint) names the right seal but is not a stamp."""
    h = stamping
    seal = h.enterprise_seal("长春市无记录测试有限公司")
    fake = h.seals.seals[seal.seal_id]
    forged = forged_attribution_pdf(enterprise_name=seal.enterprise_name, seal_id=str(seal.seal_id),
                                    enterprise_id=str(seal.enterprise_id), seal_name=seal.name,
                                    enterprise_uscc=seal.enterprise_uscc)
    cms = await sign_detached_digest(bytes.fromhex(forged.digest_sha256), LocalDigestSigner(fake.key),
                                     [fake.cert, h.ca.pki.issuing_cert, h.ca.pki.root_cert],
                                     h.ca.pki.timestamper())
    r = await _verify(h, await forged.complete(cms))
    assert r.status == 200, r
    s = r.json["signatures"][0]
    assert s["result"] == "failed" and "stamp_not_recorded" in s["reasons"], s
    assert s["seal_id"] == str(seal.seal_id) and s["recorded"] is False and s["stamped_on"] is None


async def test_a_person_certificate_is_not_a_seal(stamping: Harness) -> None:
    """A person's certificate chains to the same root: trusted, but not a seal."""
    h = stamping
    person = h.person("孙七")
    holder = h.certs.holders[person.id]
    forged = forged_attribution_pdf(enterprise_name="长春市冒充公章有限公司")
    cms = await sign_detached_digest(bytes.fromhex(forged.digest_sha256), LocalDigestSigner(holder.key),
                                     [holder.cert, h.ca.pki.issuing_cert, h.ca.pki.root_cert],
                                     h.ca.pki.timestamper())
    r = await _verify(h, await forged.complete(cms))
    assert r.status == 200, r
    s = r.json["signatures"][0]
    assert s["trusted"] is True
    assert s["result"] == "failed" and "not_a_seal_certificate" in s["reasons"], s
    assert s["seal_id"] is None and s["enterprise_name"] is None and s["signer_name"] is None
    assert s["signer_certificate"]["serial"] == format(holder.cert.serial_number, "X")


# bounded work ------------------------------------------------------------------------------


async def test_thousands_of_signature_fields_are_refused_quickly(stamping: Harness) -> None:
    h = stamping
    started = time.monotonic()
    r = await _verify(h, many_signature_fields_pdf(3000))
    assert r.status == 422 and r.json["code"] == "too_many_signatures", r
    assert time.monotonic() - started < 5
    # at the cap it is still verified (each placeholder fails on its own)
    r = await _verify(h, many_signature_fields_pdf(h.settings.pdf_max_signatures))
    assert r.status == 200 and r.json["result"] == "failed", r


async def test_too_many_pages_and_too_large_are_refused(stamping: Harness) -> None:
    h = stamping
    r = await _verify(h, many_pages_pdf(h.settings.pdf_max_pages + 1))
    assert r.status == 422 and r.json["code"] == "too_many_pages", r
    r = await _verify(h, many_pages_pdf(20))
    assert r.status == 200 and r.json["reasons"] == ["no_signatures"], r
    big = many_pages_pdf(1) + b"%" * (h.settings.max_document_bytes + 1)
    r = await _verify(h, big, base=h.direct)
    assert r.status == 413 and r.json["code"] == "payload_too_large", r
    r = await h.call("POST", h.direct + "/api/v1/verifications", data=big,
                     headers={"Content-Type": "application/pdf"})
    assert r.status == 413 and r.json["code"] == "payload_too_large", r


async def test_a_document_past_the_deadline_is_422_and_the_next_one_verifies(stamping: Harness) -> None:
    h = stamping
    assert h.app is not None
    verifier = h.app[STAMPING].verifier
    doc = await _stamped_pdf(h)
    slow = many_revisions_pdf(doc, 40)  # ~0.3 s of difference analysis and more
    saved = verifier.deadline
    verifier.deadline = 0.05
    started = time.monotonic()
    try:
        r = await _verify(h, slow)
    finally:
        verifier.deadline = saved
    assert r.status == 422 and r.json["code"] == "document_too_complex", r
    assert time.monotonic() - started < 3
    r = await _verify(h, doc)  # the killed worker was replaced
    assert r.status == 200 and r.json["result"] == "passed", r


class _StuckVerifier:
    """Stands in for the worker pool: a job that never ends, and whether it was stopped."""

    def __init__(self) -> None:
        self.started = asyncio.Event()
        self.cancelled = asyncio.Event()
        self.deadline = 30.0

    async def run(self, fn: Any, *args: Any) -> Any:
        self.started.set()
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            self.cancelled.set()
            raise

    def close(self) -> None:
        pass


async def test_a_client_that_goes_away_stops_its_verification(stamping: Harness) -> None:
    h = stamping
    assert h.app is not None
    ctx = h.app[STAMPING]
    real, stuck = ctx.verifier, _StuckVerifier()
    ctx.verifier = stuck  # type: ignore[assignment]
    try:
        form = aiohttp.FormData()
        form.add_field("document", many_pages_pdf(1), filename="x.pdf", content_type="application/pdf")
        async with aiohttp.ClientSession() as session:
            post = asyncio.create_task(session.post(h.direct + "/api/v1/verifications", data=form))
            await asyncio.wait_for(stuck.started.wait(), 10)
            post.cancel()  # the client hangs up
            await asyncio.gather(post, return_exceptions=True)
        await asyncio.wait_for(stuck.cancelled.wait(), 5)
    finally:
        ctx.verifier = real


async def _stamped_pdf(h: Harness) -> bytes:
    _, token = await h.new_client()
    seal = h.enterprise_seal(f"长春市期限测试{uuid.uuid4().hex[:4]}有限公司")
    person = h.person()
    h.seals.grant(person.id, seal.seal_id)
    req = await h.request_pdf(token)
    assert (await h.scan(person, req.json["qr_payload"])).status == 200
    assert (await h.stamp(person, req.json["request_id"], seal)).status == 201
    res = await h.call("GET", f"/api/v1/stamp-requests/{req.json['request_id']}/result", token=token)
    return res.body


async def test_a_stamp_request_is_held_to_the_same_caps(stamping: Harness) -> None:
    """What the platform would stamp must stay verifiable: same caps at upload, nothing stored."""
    h = stamping
    _, token = await h.new_client()
    r = await h.request_pdf(token, pdf=many_signature_fields_pdf(500, filled=False), title="字段过多")
    assert r.status == 422 and r.json["code"] == "too_many_signatures", r
    r = await h.request_pdf(token, pdf=many_pages_pdf(h.settings.pdf_max_pages + 1), title="页数过多")
    assert r.status == 422 and r.json["code"] == "too_many_pages", r
    assert await h.sql("SELECT count(*) FROM stamp_requests WHERE title IN ('字段过多', '页数过多')") == 0
    r = await h.request_pdf(token, pdf=many_pages_pdf(3))
    assert r.status == 201, r


async def test_a_record_without_a_fingerprint_is_found_only_after_the_backfill(stamping: Harness) -> None:
    """Records from before the fingerprint column are not matched by the request id the
    document names (any stamp could name it); the backfill reads the kept result."""
    h = stamping
    doc = await _stamped_pdf(h)
    record = await h.sql("SELECT request_id FROM usage_records ORDER BY used_at DESC LIMIT 1")
    await h.sql("UPDATE usage_records SET seal_signature_sha256 = NULL WHERE request_id = $1", record)
    r = await _verify(h, doc)
    assert r.json["signatures"][0]["result"] == "failed", r
    assert "stamp_not_recorded" in r.json["signatures"][0]["reasons"], r
    assert await fingerprints.backfill(h.pool) >= 1
    r = await _verify(h, doc)
    assert r.json["result"] == "passed" and r.json["signatures"][0]["stamped_on"] == "document", r
