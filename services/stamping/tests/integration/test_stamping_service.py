"""The stamping service through the gateway, with seals and certs faked at the ports."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import io
import json
import uuid
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest
from asn1crypto import cms
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed
from PIL import Image
from pyhanko.sign.validation import async_validate_detached_cms
from pyhanko_certvalidator import ValidationContext
from stamping.adapters.pdf import as_asn1_cert, as_asn1_crl, verify_pdf
from stamping.projections import PROJECTIONS

from shared.china_time import today_in_china
from shared.eventstore import EventStore
from shared.projections import rebuild
from tests.support.harnesses.stamping import CERT_PASSWORD, Harness, verify_callback
from tests.support.pdf_fixtures import make_test_pdf
from tests.support.polling import eventually

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def _pending(h: Harness, token: str, **kw: str) -> dict:
    r = await h.request_pdf(token, **kw)
    assert r.status == 201, r
    return r.json


async def test_pdf_request_scan_and_stamp_gives_a_verifiable_document(stamping: Harness) -> None:
    h = stamping
    client, token = await h.new_client("某某审批系统")
    req = await _pending(h, token)
    assert req["status"] == "pending" and req["qr_payload"].startswith("eseal://stamp?")
    assert req["document"] == {"sha256": hashlib.sha256(h.pdf).hexdigest(), "pages": 3, "size": len(h.pdf)}
    seal = h.enterprise_seal()
    person = h.person("李雷")
    h.seals.grant(person.id, seal.seal_id)

    scanned = await h.scan(person, req["qr_payload"])
    assert scanned.status == 200, scanned
    assert scanned.json["requester"] == {"name": "某某审批系统"}
    assert scanned.json["choices"] == [{"enterprise_id": str(seal.enterprise_id),
                                        "enterprise_name": seal.enterprise_name,
                                        "seals": [{"seal_id": str(seal.seal_id), "name": seal.name,
                                                   "type": "official"}]}]
    pending = await h.call("GET", f"/api/v1/stamp-requests/{req['request_id']}/result", token=token)
    assert pending.status == 409 and pending.json["code"] == "stamp_pending"

    looked_up = h.seals.lookups
    stamped = await h.stamp(person, req["request_id"], seal)
    assert stamped.status == 201, stamped
    assert "person_signature;dur=" in stamped.headers["Server-Timing"]
    # seals is asked once before signing and once after the timestamp (issue 18: one round
    # trip each, the choices and the seal's details together)
    assert h.seals.lookups - looked_up == 2

    status = await h.call("GET", f"/api/v1/stamp-requests/{req['request_id']}", token=token)
    assert status.json["status"] == "stamped" and status.json["record_id"] == stamped.json["record_id"]
    result = await h.call("GET", f"/api/v1/stamp-requests/{req['request_id']}/result", token=token)
    assert result.status == 200 and result.headers["Content-Type"] == "application/pdf"
    assert result.body.startswith(h.pdf)  # an incremental update of the upload

    report = await verify_pdf(result.body, trust_roots=[h.ca.pki.root_cert])
    assert report.result == "passed", report.reasons
    sig = report.signatures[0]
    assert sig.intact and sig.trusted and sig.timestamped and sig.level == "B-LT"
    meta = sig.stamp
    assert meta is not None and meta.signer_person_name == "李雷" and meta.seal_id == str(seal.seal_id)
    # The person's own signature over the canonical description verifies with their certificate.
    auth = json.loads(meta.authorization)
    assert auth["request_id"] == req["request_id"] and auth["document_sha256"] == req["document"]["sha256"]
    cert = h.certs.holders[person.id].cert
    digest = hashlib.sha256(meta.authorization.encode()).digest()
    cert.public_key().verify(base64.b64decode(meta.person_signature_b64), digest,
                             ec.ECDSA(Prehashed(hashes.SHA256())))

    # The relying system's usage record shows up for the person.
    records = await h.call("GET", "/api/v1/usage-records", token=person.token)
    assert records.status == 200, records
    item = next(i for i in records.json["items"] if i["record_id"] == stamped.json["record_id"])
    assert item["user_name"] == "李雷" and item["seal_name"] == seal.name
    assert item["requester"] == "某某审批系统" and item["document_title"] == "营业执照变更申请"
    # the commit (one statement for result, request and upload): the result stored, the
    # claim cleared, the QR code's token used up, the upload dropped
    rid = uuid.UUID(req["request_id"])
    assert await h.sql("SELECT count(*) FROM stamp_results WHERE request_id = $1", rid) == 1
    assert await h.sql("SELECT claim_id IS NULL AND claimed_by IS NULL AND claimed_until IS NULL"
                       " AND token_used_at IS NOT NULL FROM stamp_requests WHERE request_id = $1", rid)
    assert await h.sql("SELECT count(*) FROM request_documents WHERE request_id = $1", rid) == 0


async def test_stamp_requires_a_scan_by_the_same_person(stamping: Harness) -> None:
    h = stamping
    _, token = await h.new_client()
    req = await _pending(h, token)
    seal = h.enterprise_seal()
    person = h.person()
    h.seals.grant(person.id, seal.seal_id)
    before = h.seals.signatures
    r = await h.stamp(person, req["request_id"], seal)
    assert r.status == 403 and r.json["code"] == "scan_required"
    assert h.seals.signatures == before


async def test_wrong_password_reports_attempts_left_and_allows_a_retry(stamping: Harness) -> None:
    h = stamping
    _, token = await h.new_client()
    req = await _pending(h, token)
    seal = h.enterprise_seal()
    person = h.person()
    h.seals.grant(person.id, seal.seal_id)
    assert (await h.scan(person, req["qr_payload"])).status == 200
    before = h.seals.signatures
    wrong = await h.stamp(person, req["request_id"], seal, password="not-it")
    assert wrong.status == 403 and wrong.json["code"] == "wrong_certificate_password"
    assert wrong.json["attempts_left"] == 4
    assert h.seals.signatures == before
    ok = await h.stamp(person, req["request_id"], seal)
    assert ok.status == 201, ok


async def _scanned(h: Harness, token: str, **kw: str):  # type: ignore[no-untyped-def]
    req = await _pending(h, token, **kw)
    seal = h.enterprise_seal()
    person = h.person()
    h.seals.grant(person.id, seal.seal_id)
    assert (await h.scan(person, req["qr_payload"])).status == 200
    return req, seal, person


async def _nothing_stamped(h: Harness, request_id: str) -> None:
    rid = uuid.UUID(request_id)
    assert await h.sql("SELECT count(*) FROM usage_records WHERE request_id = $1", rid) == 0
    assert await h.sql("SELECT count(*) FROM stamp_results WHERE request_id = $1", rid) == 0
    assert await h.sql("SELECT claim_id FROM stamp_requests WHERE request_id = $1", rid) is None


async def test_one_qr_code_gives_one_stamp_however_many_try_at_once(stamping: Harness) -> None:
    h = stamping
    _, token = await h.new_client()
    req = await _pending(h, token)
    seal = h.enterprise_seal()
    people = [h.person(f"用户{i}") for i in range(6)]
    for p in people:
        h.seals.grant(p.id, seal.seal_id)
        assert (await h.scan(p, req["qr_payload"])).status == 200
    before = h.seals.signatures
    replies = await asyncio.gather(*(h.stamp(p, req["request_id"], seal) for p in people))
    assert sorted(r.status for r in replies) == [201] + [409] * 5, replies
    assert all(r.json["code"] == "already_stamped" for r in replies if r.status == 409)
    assert h.seals.signatures == before + 1  # the claim stopped the others before seals
    assert await h.sql("SELECT count(*) FROM usage_records WHERE request_id = $1",
                       uuid.UUID(req["request_id"])) == 1
    again = await h.scan(people[0], req["qr_payload"])
    assert again.status == 409 and again.json["code"] == "already_stamped"


@pytest.mark.parametrize("round_", range(10))
async def test_no_stamp_succeeds_once_the_revocation_was_answered(stamping: Harness, round_: int) -> None:
    h = stamping
    _, token = await h.new_client()
    seal = h.enterprise_seal()
    person = h.person()
    h.seals.grant(person.id, seal.seal_id)
    reqs = [await _pending(h, token) for _ in range(8)]
    for req in reqs:
        assert (await h.scan(person, req["qr_payload"])).status == 200
    revoked_at: list[datetime] = []
    answered, first_success = asyncio.Event(), asyncio.Event()

    async def attempt(req: dict, delay: float) -> tuple[bool, object]:
        await asyncio.sleep(delay)
        started_after = answered.is_set()
        reply = await h.stamp(person, req["request_id"], seal)
        if reply.status == 201:
            first_success.set()
        return started_after, reply

    async def revoke() -> None:
        # while stamps are in flight: after the first has succeeded, at a varying moment
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(first_success.wait(), 10)
        await asyncio.sleep(0.04 * round_)
        revoked_at.append(await h.seals.revoke(seal.seal_id))
        answered.set()

    async def after_answer(req: dict) -> tuple[bool, object]:
        await answered.wait()
        return await attempt(req, 0.0)

    results = await asyncio.gather(revoke(), *(attempt(r, 0.1 * i) for i, r in enumerate(reqs[:-2])),
                                   *(after_answer(r) for r in reqs[-2:]))
    outcomes = results[1:]
    assert sum(1 for after, _ in outcomes if after) >= 2
    for started_after, reply in outcomes:
        if started_after:
            assert reply.status in (403, 409), reply  # type: ignore[attr-defined]
    for (_, reply), req in zip(outcomes, reqs):
        if reply.status == 201:  # type: ignore[attr-defined]
            doc = await h.call("GET", f"/api/v1/stamp-requests/{req['request_id']}/result", token=token)
            report = await verify_pdf(doc.body, trust_roots=[h.ca.pki.root_cert])
            sig = report.signatures[0]
            assert report.result == "passed", report.reasons
            assert sig.signed_at is not None and sig.signed_at < revoked_at[0]
        else:
            await _nothing_stamped(h, req["request_id"])


async def test_deleting_the_grant_stops_stamps_at_once(stamping: Harness) -> None:
    h = stamping
    _, token = await h.new_client()
    req, seal, person = await _scanned(h, token)
    await h.seals.delete_grant(person.id, seal.seal_id)
    r = await h.stamp(person, req["request_id"], seal)
    assert r.status == 403 and r.json["code"] == "not_authorized"
    await _nothing_stamped(h, req["request_id"])


async def test_refusals_are_clear_and_stamp_nothing(stamping: Harness) -> None:
    h = stamping
    _, token = await h.new_client()
    # a seal of another enterprise, claimed for this one
    req, seal, person = await _scanned(h, token)
    other = h.enterprise_seal("吉林省另一家有限公司")
    r = await h.stamp(person, req["request_id"], other, enterprise_id=seal.enterprise_id)
    assert r.status == 403 and r.json["code"] == "not_authorized", r
    # a seal not granted to this person
    r = await h.stamp(person, req["request_id"], other)
    assert r.status == 403 and r.json["code"] == "not_authorized", r
    # a grant not valid yet, and one that has ended
    today = today_in_china()
    h.seals.grant(person.id, other.seal_id, valid_from=today + timedelta(days=1),
                  valid_to=today + timedelta(days=9))
    r = await h.stamp(person, req["request_id"], other)
    assert r.status == 403 and r.json["code"] == "not_authorized", r
    h.seals.grant(person.id, other.seal_id, valid_from=today - timedelta(days=9),
                  valid_to=today - timedelta(days=1))
    r = await h.stamp(person, req["request_id"], other)
    assert r.status == 403 and r.json["code"] == "not_authorized", r
    # a revoked seal
    await h.seals.revoke(other.seal_id)
    h.seals.grant(person.id, other.seal_id)
    r = await h.stamp(person, req["request_id"], other)
    assert r.status == 409 and r.json["code"] == "seal_revoked", r
    # a person without an activated certificate
    stranger = h.person("无证书", enrolled=False)
    h.seals.grant(stranger.id, seal.seal_id)
    assert (await h.scan(stranger, req["qr_payload"])).status == 200
    r = await h.stamp(stranger, req["request_id"], seal)
    assert r.status == 404 and r.json["code"] == "certificate_not_activated", r
    await _nothing_stamped(h, req["request_id"])
    assert (await h.stamp(person, req["request_id"], seal)).status == 201  # still stampable


async def test_a_locked_certificate_is_423_until_it_unlocks(stamping: Harness) -> None:
    h = stamping
    _, token = await h.new_client()
    req, seal, person = await _scanned(h, token)
    lefts = []
    for _ in range(4):
        r = await h.stamp(person, req["request_id"], seal, password="wrong")
        assert r.status == 403 and r.json["code"] == "wrong_certificate_password"
        lefts.append(r.json["attempts_left"])
    assert lefts == [4, 3, 2, 1]
    r = await h.stamp(person, req["request_id"], seal, password="wrong")
    assert r.status == 423 and r.json["code"] == "certificate_locked" and r.json["locked_until"]
    r = await h.stamp(person, req["request_id"], seal)  # even the right password now
    assert r.status == 423
    await _nothing_stamped(h, req["request_id"])


async def test_bad_uploads_are_refused(stamping: Harness) -> None:
    h = stamping
    _, token = await h.new_client()
    r = await h.request_pdf(token, pdf=b"PK\x03\x04 this is a zip, not a pdf")
    assert r.status == 422 and r.json["code"] == "not_a_pdf", r
    r = await h.request_pdf(token, x=10, y=10)
    assert r.status == 422 and r.json["code"] == "position_off_page", r
    r = await h.request_pdf(token, page=4)
    assert r.status == 422 and r.json["code"] == "page_out_of_range", r
    big = h.pdf + b"%" + b"x" * (h.settings.max_document_bytes)
    r = await h.request_pdf(token, pdf=big)
    assert r.status == 413 and r.json["code"] == "pdf_too_large", r
    r = await h.request_pdf(token, callback_url="ftp://example.com/x")
    assert r.status == 422 and r.json["code"] == "callback_url_invalid", r
    r = await h.request_pdf(token, title="")
    assert r.status == 422 and r.json["errors"][0]["field"] == "title", r
    r = await h.request_pdf(token, expires_in="999999")
    assert r.status == 422 and r.json["errors"][0]["field"] == "expires_in", r
    form = {"title": "x", "page": "1", "x": "300", "y": "200"}
    r = await h.call("POST", "/api/v1/stamp-requests", token=token, data=form)
    assert r.status == 415, r  # a urlencoded form: neither a PDF nor a digest
    assert await h.sql("SELECT count(*) FROM stamp_requests WHERE title = 'x'") == 0


async def test_an_expired_request_cannot_be_scanned_or_stamped_and_is_swept(stamping: Harness) -> None:
    h = stamping
    client, token = await h.new_client()
    req, seal, person = await _scanned(h, token, expires_in="1", callback_url=h.receiver.url)
    await asyncio.sleep(1.1)
    r = await h.stamp(person, req["request_id"], seal)
    assert r.status == 410 and r.json["code"] == "expired", r
    r = await h.scan(person, req["qr_payload"])
    assert r.status == 410 and r.json["code"] == "expired", r
    rid = uuid.UUID(req["request_id"])

    async def swept() -> bool:
        return await h.sql("SELECT status FROM request_status WHERE request_id = $1", rid) == "expired"

    await eventually(swept)
    assert await h.sql("SELECT type FROM events WHERE stream_id = $1 AND version = 2", str(rid)) \
        == "StampRequestExpired"
    assert await h.sql("SELECT count(*) FROM request_documents WHERE request_id = $1", rid) == 0
    status = await h.call("GET", f"/api/v1/stamp-requests/{rid}", token=token)
    assert status.json["status"] == "expired"
    result = await h.call("GET", f"/api/v1/stamp-requests/{rid}/result", token=token)
    assert result.status == 410

    async def called_back() -> list:
        return [b for _, b in h.receiver.received if json.loads(b).get("request_id") == str(rid)]

    bodies = await eventually(called_back)
    assert json.loads(bodies[0])["event"] == "stamp_request.expired"
    await _nothing_stamped(h, req["request_id"])


async def test_the_stamped_callback_is_signed_and_retried(stamping: Harness) -> None:
    h = stamping
    client, token = await h.new_client()
    h.receiver.fail_first = h.receiver.calls + 2  # the next two deliveries fail
    req, seal, person = await _scanned(h, token, callback_url=h.receiver.url)
    assert (await h.stamp(person, req["request_id"], seal)).status == 201

    async def delivered() -> list:
        return [(hd, b) for hd, b in h.receiver.received
                if json.loads(b).get("request_id") == req["request_id"]]

    (headers, body), = await eventually(delivered, 15)
    assert verify_callback(client.webhook_secret, headers, body)
    assert not verify_callback("whsec_someone-else", headers, body)
    payload = json.loads(body)
    assert payload["event"] == "stamp_request.stamped" and payload["status"] == "stamped"
    assert payload["result_url"].endswith(f"{req['request_id']}/result")
    assert await h.sql("SELECT attempts FROM callbacks WHERE request_id = $1",
                       uuid.UUID(req["request_id"])) == 3


async def test_digest_requests_get_a_detached_cms_signature(stamping: Harness) -> None:

    h = stamping
    _, token = await h.new_client()
    content = "一份电子公文".encode()
    r = await h.call("POST", "/api/v1/stamp-requests", token=token, json={
        "title": "电子公文", "digest_sha256": hashlib.sha256(content).hexdigest()})
    assert r.status == 201, r
    seal = h.enterprise_seal()
    person = h.person()
    h.seals.grant(person.id, seal.seal_id)
    scanned = await h.scan(person, r.json["qr_payload"])
    assert scanned.json["kind"] == "digest" and "pages" not in scanned.json["document"]
    assert (await h.stamp(person, r.json["request_id"], seal)).status == 201
    res = await h.call("GET", f"/api/v1/stamp-requests/{r.json['request_id']}/result", token=token)
    assert res.headers["Content-Type"] == "application/pkcs7-signature"
    signed = cms.ContentInfo.load(res.body)["content"]
    vc = ValidationContext(trust_roots=[as_asn1_cert(h.ca.pki.root_cert)],
                           crls=[as_asn1_crl(c) for c in (h.ca.pki.root_crl, h.ca.pki.issuing_crl)],
                           allow_fetching=False)
    status = await async_validate_detached_cms(content, signed, signer_validation_context=vc)
    assert status.intact and status.valid and status.trusted, status
    assert status.timestamp_validity is not None


async def test_qr_png_and_requests_are_for_their_client_only(stamping: Harness) -> None:
    h = stamping
    _, token = await h.new_client("甲系统")
    _, other = await h.new_client("乙系统")
    req = await _pending(h, token)
    png = await h.call("GET", req["qr_png_url"], token=token)
    assert png.status == 200 and png.headers["Content-Type"] == "image/png"
    assert Image.open(io.BytesIO(png.body)).size[0] > 100
    assert (await h.call("GET", req["qr_png_url"], token=other)).status == 404
    wrong = req["qr_png_url"].split("?t=")[0] + "?t=" + "A" * 43
    assert (await h.call("GET", wrong, token=token)).status == 404
    assert (await h.call("GET", f"/api/v1/stamp-requests/{req['request_id']}", token=other)).status == 404
    person = h.person()
    r = await h.call("GET", f"/api/v1/stamp-requests/{req['request_id']}", token=person.token)
    assert r.status == 403 and r.json["code"] == "client_required"
    r = await h.call("GET", f"/api/v1/stamp-requests/{req['request_id']}")
    assert r.status == 401
    # a forged token never opens a request; a known request id without the token neither
    r = await h.scan(person, f"eseal://stamp?r={req['request_id']}&t={'B' * 43}")
    assert r.status == 404 and r.json["code"] == "qr_invalid"
    r = await h.scan(person, "https://example.com/not-ours")
    assert r.status == 422 and r.json["code"] == "qr_unreadable"


async def test_client_credentials_errors_follow_rfc_6749(stamping: Harness) -> None:
    h = stamping
    client, _ = await h.new_client()
    url = "/api/v1/oauth/token"
    r = await h.call("POST", url, data={"grant_type": "client_credentials"})
    assert r.status == 401 and r.json["code"] == "invalid_client" and r.json["error"] == "invalid_client"
    assert r.headers["WWW-Authenticate"].startswith("Basic")
    bad = base64.b64encode(f"{client.client_id}:nope".encode()).decode()
    r = await h.call("POST", url, data={"grant_type": "client_credentials"},
                     headers={"Authorization": f"Basic {bad}"})
    assert r.status == 401 and r.json["code"] == "invalid_client"
    good = base64.b64encode(f"{client.client_id}:{client.client_secret}".encode()).decode()
    r = await h.call("POST", url, data={"grant_type": "password"}, headers={"Authorization": f"Basic {good}"})
    assert r.status == 400 and r.json["code"] == "unsupported_grant_type"
    r = await h.call("POST", url, data={}, headers={"Authorization": f"Basic {good}"})
    assert r.status == 400 and r.json["code"] == "invalid_request"
    r = await h.call("POST", url, json={"grant_type": "client_credentials"},
                     headers={"Authorization": f"Basic {good}"})
    assert r.status == 200 and r.json["token_type"] == "Bearer" and r.json["expires_in"] > 0
    assert r.headers["Cache-Control"] == "no-store"
    # disabling the client ends its tokens at once
    await h.sql("UPDATE clients SET disabled_at = now() WHERE client_id = $1", client.client_id)
    r2 = await h.call("GET", f"/api/v1/stamp-requests/{uuid.uuid4()}", token=r.json["access_token"])
    assert r2.status == 401


async def test_usage_records_are_scoped_and_windowed(stamping: Harness) -> None:
    h = stamping
    _, token = await h.new_client("记录系统")
    req, seal, person = await _scanned(h, token)
    stamped = await h.stamp(person, req["request_id"], seal)
    assert stamped.status == 201
    record_id = stamped.json["record_id"]
    _, ent_token = h.signer.enterprise(seal.enterprise_id, name=seal.enterprise_name)
    _, agent_token = h.signer.agent(seal.enterprise_id, can_manage=False)
    _, other_ent = h.signer.enterprise()
    other_person = h.person()

    async def ids(tok: str, **params: str) -> list[str]:
        r = await h.call("GET", "/api/v1/usage-records", token=tok, params=params)
        assert r.status == 200, r
        return [i["record_id"] for i in r.json["items"]]

    assert record_id in await ids(person.token)
    assert record_id in await ids(ent_token)
    assert record_id in await ids(agent_token)
    assert record_id in await ids(ent_token, seal_id=str(seal.seal_id))
    assert record_id not in await ids(ent_token, seal_id=str(uuid.uuid4()))
    assert record_id not in await ids(other_ent)
    assert record_id not in await ids(other_person.token)
    # older than 3 months: kept, not listed, even when asked for
    old = uuid.uuid4()
    await h.sql(
        "INSERT INTO usage_records SELECT $1, $2, now() - interval '4 months', person_id, user_name,"
        " enterprise_id, enterprise_name, seal_id, seal_name, seal_type, document_title,"
        " document_sha256, kind, client_id, requester, authorization_text, person_signature_b64,"
        " person_signature_algorithm, person_certificate_serial, seal_certificate_serial, result_sha256"
        " FROM usage_records WHERE record_id = $3", old, uuid.uuid4(), uuid.UUID(record_id))
    year_ago = (datetime.now(UTC) - timedelta(days=365)).date().isoformat()
    assert str(old) not in await ids(ent_token, **{"from": year_ago})
    r = await h.call("GET", "/api/v1/usage-records", token=ent_token, params={"from": year_ago})
    assert r.json["from"] > year_ago
    assert r.json["items"][0].keys() >= {"record_id", "used_at", "user_name", "enterprise_name", "seal_name",
                                         "document_title", "document_sha256", "requester"}
    client_tok = (await h.new_client())[1]
    assert (await h.call("GET", "/api/v1/usage-records", token=client_tok)).status == 401


async def test_usage_records_page_with_a_cursor(stamping: Harness) -> None:
    h = stamping
    _, token = await h.new_client()
    seal = h.enterprise_seal()
    person = h.person()
    h.seals.grant(person.id, seal.seal_id)
    for _ in range(3):
        req = await _pending(h, token)
        assert (await h.scan(person, req["qr_payload"])).status == 200
        assert (await h.stamp(person, req["request_id"], seal)).status == 201
    seen: list[str] = []
    params = {"limit": "2"}
    while True:
        r = await h.call("GET", "/api/v1/usage-records", token=person.token, params=params)
        seen += [i["record_id"] for i in r.json["items"]]
        if not r.json["next_cursor"]:
            break
        params = {"limit": "2", "cursor": r.json["next_cursor"]}
    assert len(seen) == len(set(seen)) == 3
    bad = await h.call("GET", "/api/v1/usage-records", token=person.token, params={"cursor": "x!"})
    assert (bad.status, bad.json["code"]) == (422, "invalid_cursor"), bad


async def test_public_verification_reports_seal_enterprise_person_and_revocation(stamping: Harness) -> None:
    h = stamping
    _, token = await h.new_client()
    req, seal, person = await _scanned(h, token)
    assert (await h.stamp(person, req["request_id"], seal)).status == 201
    doc = (await h.call("GET", f"/api/v1/stamp-requests/{req['request_id']}/result", token=token)).body

    async def verify(data: bytes):  # type: ignore[no-untyped-def]
        form = aiohttp.FormData()
        form.add_field("document", data, filename="x.pdf", content_type="application/pdf")
        return await h.call("POST", "/api/v1/verifications", data=form)

    r = await verify(doc)
    assert r.status == 200 and r.json["result"] == "passed", r
    s = r.json["signatures"][0]
    assert s["intact"] and s["trusted"] and s["seal_name"] == seal.name and s["seal_type"] == "official"
    assert s["enterprise_name"] == seal.enterprise_name and s["signer_name"] == person.name
    assert s["seal_status"] == "active" and s["revoked_at"] is None and s["revoked_before_stamp"] is False
    assert s["recorded"] is True

    # one changed byte inside the signed range: failed
    i = doc.index(b"Page 1 of the test document")
    tampered = doc[:i] + b"X" + doc[i + 1:]
    r = await verify(tampered)
    assert r.json["result"] == "failed" and r.json["signatures"][0]["intact"] is False

    # revoked later: the earlier stamp still passes, and says so
    await h.seals.revoke(seal.seal_id)
    r = await verify(doc)
    assert r.json["result"] == "passed", r
    s = r.json["signatures"][0]
    assert s["seal_status"] == "revoked" and s["revoked_at"] and s["revoked_before_stamp"] is False
    # ... while a new stamp with it is impossible
    req2 = await _pending(h, token)
    assert (await h.scan(person, req2["qr_payload"])).status == 200
    r = await h.stamp(person, req2["request_id"], seal)
    assert r.status == 409 and r.json["code"] == "seal_revoked"

    r = await verify(make_test_pdf(1))
    assert r.json["result"] == "failed" and r.json["reasons"] == ["no_signatures"]
    r = await verify(b"not a pdf")
    assert r.status == 422 and r.json["code"] == "not_a_pdf"


async def test_events_and_projections_rebuild(stamping: Harness) -> None:
    h = stamping
    _, token = await h.new_client()
    req, seal, person = await _scanned(h, token)
    stamped = await h.stamp(person, req["request_id"], seal)
    types = await h.pool.fetch("SELECT type FROM events WHERE stream_id = $1 ORDER BY version",
                               req["request_id"])
    assert [t["type"] for t in types] == ["StampRequested", "StampApplied", "UsageRecorded"]
    before = await h.pool.fetch("SELECT * FROM usage_records ORDER BY record_id")
    statuses = await h.pool.fetch("SELECT * FROM request_status ORDER BY request_id")
    for p in PROJECTIONS:
        await rebuild(h.pool, EventStore("stamping"), p)
    after = await h.pool.fetch("SELECT * FROM usage_records ORDER BY record_id")
    # the hand-inserted "old" row of another test is not an event: the rebuild drops it
    assert {r["record_id"] for r in after} <= {r["record_id"] for r in before}
    assert uuid.UUID(stamped.json["record_id"]) in {r["record_id"] for r in after}
    assert await h.pool.fetch("SELECT * FROM request_status ORDER BY request_id") == statuses
    # nothing secret went into an event
    rows = await h.pool.fetch("SELECT data FROM events")
    blob = json.dumps([dict(r["data"]) for r in rows], ensure_ascii=False)
    assert CERT_PASSWORD not in blob and req["qr_payload"].split("t=")[1] not in blob
