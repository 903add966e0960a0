"""Batches (issue 15): one QR code, one password, several documents, each stamped on its own.

Through the gateway (harness: real PostgreSQL, seals and certs faked at the ports)."""

from __future__ import annotations

import asyncio
import io
import json
import uuid
from typing import Any

import aiohttp
import pytest
from PIL import Image
from pyhanko.pdf_utils.reader import PdfFileReader

from tests.support.harnesses.stamping import CERT_PASSWORD, Harness, Person, verify_callback
from tests.support.pdf_fixtures import make_test_pdf
from tests.support.polling import eventually

ENTERPRISE = "长春市批量科技有限公司"


async def _create(h: Harness, token: str, n: int = 3) -> dict:
    form = aiohttp.FormData()
    items = [{"title": f"营业执照{i + 1}", "page": 1, "x": 300, "y": 200} for i in range(n - 1)]
    items.append({"title": "合同", "placements": [{"kind": "seal", "page": "last", "x": 300, "y": 300}]})
    form.add_field("items", json.dumps(items, ensure_ascii=False))
    for i in range(n):
        form.add_field(f"documents[{i}]", make_test_pdf(pages=2 + i), filename=f"{i}.pdf",
                       content_type="application/pdf")
    r = await h.call("POST", "/api/v1/stamp-batches", token=token, data=form)
    assert r.status == 201, r
    return r.json


async def _stamp(h: Harness, person: Person, batch_id: str, body: dict) -> object:
    return await h.call("POST", f"/api/v1/stamp-batches/{batch_id}/stamp", token=person.token,
                        json=body)


async def test_one_scan_one_password_each_document_on_its_own(stamping: Harness) -> None:
    h = stamping
    _client, token = await h.new_client()
    seal_a = h.seals.add_seal(uuid.uuid4(), ENTERPRISE, type="contract", label="合同专用章")
    seal_b = h.seals.add_seal(seal_a.enterprise_id, ENTERPRISE, "财务专用章", type="finance",
                              label="财务专用章")
    person, other = h.person("王五"), h.person("赵六")
    for s in (seal_a, seal_b):
        h.seals.grant(person.id, s.seal_id)
        h.seals.grant(other.id, s.seal_id)

    batch = await _create(h, token)
    batch_id = batch["batch_id"]
    assert batch["qr_payload"].startswith("eseal://stamp-batch?") and len(batch["documents"]) == 3
    ids = [d["request_id"] for d in batch["documents"]]

    # the QR code is not a single request's
    assert (await h.scan(person, batch["qr_payload"])).status == 422
    r = await h.call("POST", "/api/v1/stamp-batches/scans", token=person.token,
                     json={"qr_payload": batch["qr_payload"]})
    assert r.status == 200, r
    assert [d["title"] for d in r.json["documents"]] == ["营业执照1", "营业执照2", "合同"]
    assert r.json["documents"][2]["placements"][0]["spots"] == [{"page": 4, "x": 300.0, "y": 300.0}]
    assert {c["seal_id"] for c in r.json["documents"][0]["placements"][0]["seal_choices"]} == {
        str(seal_a.seal_id), str(seal_b.seal_id)}
    # the scanner may open each document; nobody else may, nor scan, stamp or read the batch
    for rid in ids:
        d = await h.call("GET", f"/api/v1/stamp-requests/{rid}/document", token=person.token)
        assert d.status == 200 and d.body.startswith(b"%PDF")
        assert (await h.call("GET", f"/api/v1/stamp-requests/{rid}/document",
                             token=other.token)).status == 404
    r = await h.call("POST", "/api/v1/stamp-batches/scans", token=other.token,
                     json={"qr_payload": batch["qr_payload"]})
    assert r.status == 409 and r.json["code"] == "batch_scanned_by_another", r
    body = {"enterprise_id": str(seal_a.enterprise_id), "seal_id": str(seal_a.seal_id),
            "certificate_password": CERT_PASSWORD,
            "documents": [{"request_id": ids[2], "seal_id": str(seal_b.seal_id)}]}
    r = await _stamp(h, other, batch_id, body)
    assert r.status == 404 and r.json["code"] == "stamp_batch_not_found", r
    assert (await h.call("GET", f"/api/v1/stamp-batches/{batch_id}", token=other.token)).status == 404

    # a wrong password stamps nothing and leaves the QR code usable
    calls = h.certs.calls
    r = await _stamp(h, person, batch_id, {**body, "certificate_password": "wrong-pass-1"})
    assert r.status == 403 and r.json["code"] == "wrong_certificate_password", r
    assert h.certs.calls == calls + 1

    # the third document's seal is revoked meanwhile: it fails, the others are stamped
    await h.seals.revoke(seal_b.seal_id)
    calls = h.certs.calls
    r = await _stamp(h, person, batch_id, body)
    assert r.status == 200, r
    assert h.certs.calls == calls + 1  # one password check, one KDF for the whole batch
    assert r.json["status"] == "partially_stamped"
    docs = r.json["documents"]
    assert [d["status"] for d in docs] == ["stamped", "stamped", "pending"]
    assert docs[2]["error"]["code"] in ("seal_revoked", "not_authorized"), docs[2]
    assert all(d["error"] is None and len(d["record_ids"]) == 1 for d in docs[:2])

    # the QR code stamps once
    assert (await _stamp(h, person, batch_id, body)).status == 409
    r = await h.call("POST", "/api/v1/stamp-batches/scans", token=person.token,
                     json={"qr_payload": batch["qr_payload"]})
    assert r.status == 409 and r.json["code"] == "already_stamped"

    # the relying system: each document's result as today, one usage record each
    r = await h.call("GET", f"/api/v1/stamp-batches/{batch_id}", token=token)
    assert r.status == 200 and r.json["documents"] == docs
    for d in docs[:2]:
        res = await h.call("GET", d["result_url"], token=token)
        assert res.status == 200
        assert len(PdfFileReader(io.BytesIO(res.body), strict=True).embedded_signatures) == 1
        assert await h.sql("SELECT count(*) FROM usage_records WHERE request_id = $1",
                           uuid.UUID(d["request_id"])) == 1
    assert await h.sql("SELECT count(*) FROM usage_records WHERE request_id = $1",
                       uuid.UUID(ids[2])) == 0
    # the failed document is still a pending request the scanner may stamp on its own
    r = await h.stamp(person, ids[2], seal_a)
    assert r.status == 201, r
    r = await h.call("GET", f"/api/v1/stamp-batches/{batch_id}", token=token)
    assert r.json["documents"][2]["status"] == "stamped" and r.json["status"] == "stamped"
    # another client does not see the batch
    _c2, token2 = await h.new_client("另一个系统")
    assert (await h.call("GET", f"/api/v1/stamp-batches/{batch_id}", token=token2)).status == 404


async def test_refusals_name_the_document(stamping: Harness) -> None:
    h = stamping
    _client, token = await h.new_client()
    form = aiohttp.FormData()
    form.add_field("items", json.dumps([{"title": "一", "page": 1, "x": 300, "y": 200},
                                        {"title": "二", "page": 9, "x": 300, "y": 200}]))
    for i in range(2):
        form.add_field(f"documents[{i}]", make_test_pdf(pages=2), filename=f"{i}.pdf",
                       content_type="application/pdf")
    r = await h.call("POST", "/api/v1/stamp-batches", token=token, data=form)
    assert r.status == 422, r
    assert r.json["errors"][0]["field"].startswith("documents[1]"), r.json
    form = aiohttp.FormData(default_to_multipart=True)  # an item without its document
    form.add_field("items", json.dumps([{"title": "一", "page": 1, "x": 300, "y": 200}]))
    r = await h.call("POST", "/api/v1/stamp-batches", token=token, data=form)
    assert r.status == 422 and r.json["errors"][0]["field"] == "documents", r


async def test_a_misfit_choice_claims_nothing_and_two_stamps_at_once_give_one(stamping: Harness) -> None:
    h = stamping
    _client, token = await h.new_client()
    seal = h.seals.add_seal(uuid.uuid4(), ENTERPRISE, type="contract", label="合同专用章")
    person = h.person("孙七")
    h.seals.grant(person.id, seal.seal_id)
    batch = await _create(h, token, n=2)
    batch_id, ids = batch["batch_id"], [d["request_id"] for d in batch["documents"]]
    r = await h.call("POST", "/api/v1/stamp-batches/scans", token=person.token,
                     json={"qr_payload": batch["qr_payload"]})
    assert r.status == 200, r
    body = {"enterprise_id": str(seal.enterprise_id), "seal_id": str(seal.seal_id),
            "certificate_password": CERT_PASSWORD}
    calls = h.certs.calls
    r = await _stamp(h, person, batch_id, {
        **body, "documents": [{"request_id": ids[1], "choices": [{"placement": 5,
                                                                   "seal_id": str(seal.seal_id)}]}]})
    assert r.status == 422 and r.json["code"] == "invalid_choice", r
    assert r.json["errors"][0]["field"].startswith("documents[1]"), r.json
    assert h.certs.calls == calls  # no password tried

    first, second = await asyncio.gather(_stamp(h, person, batch_id, body),
                                         _stamp(h, person, batch_id, body))
    assert sorted([first.status, second.status]) == [200, 409], (first, second)
    done = first if first.status == 200 else second
    assert done.json["status"] == "stamped"
    assert all(d["status"] == "stamped" and d["error"] is None for d in done.json["documents"])


async def test_the_relying_system_is_called_back_once_the_batch_is_finished(stamping: Harness) -> None:
    h = stamping
    client, token = await h.new_client()
    seal = h.seals.add_seal(uuid.uuid4(), ENTERPRISE, type="contract", label="合同专用章")
    revoked = h.seals.add_seal(seal.enterprise_id, ENTERPRISE, "财务专用章", type="finance",
                               label="财务专用章")
    person = h.person("周八")
    for s in (seal, revoked):
        h.seals.grant(person.id, s.seal_id)
    # a callback URL the single request would refuse: refused, and nothing is made
    r = await h.call("POST", "/api/v1/stamp-batches", token=token,
                     data=_form(2, callback_url="ftp://example.com/x"))
    assert r.status == 422 and r.json["code"] == "callback_url_invalid", r
    h.receiver.fail_first = h.receiver.calls + 1  # the first delivery fails: retried
    r = await h.call("POST", "/api/v1/stamp-batches", token=token,
                     data=_form(2, callback_url=h.receiver.url))
    assert r.status == 201, r
    batch_id, ids = r.json["batch_id"], [d["request_id"] for d in r.json["documents"]]
    r = await h.call("POST", "/api/v1/stamp-batches/scans", token=person.token,
                     json={"qr_payload": r.json["qr_payload"]})
    assert r.status == 200, r
    body = {"enterprise_id": str(seal.enterprise_id), "seal_id": str(seal.seal_id),
            "certificate_password": CERT_PASSWORD}

    # a wrong password does not finish the batch: no callback
    r = await _stamp(h, person, batch_id, {**body, "certificate_password": "wrong-pass-1"})
    assert r.status == 403, r
    await h.seals.revoke(revoked.seal_id)
    r = await _stamp(h, person, batch_id, {
        **body, "documents": [{"request_id": ids[1], "seal_id": str(revoked.seal_id)}]})
    assert r.status == 200 and r.json["status"] == "partially_stamped", r

    async def delivered() -> list:
        return [(hd, b) for hd, b in h.receiver.received if json.loads(b).get("batch_id") == batch_id]

    (headers, raw), = await eventually(delivered, 15)
    assert verify_callback(client.webhook_secret, headers, raw)
    assert not verify_callback("whsec_someone-else", headers, raw)
    assert headers["X-Eseal-Event"] == "stamp_batch.finished"
    payload = json.loads(raw)
    assert payload["event"] == "stamp_batch.finished" and payload["status"] == "partially_stamped"
    assert [d["request_id"] for d in payload["documents"]] == ids
    assert [d["status"] for d in payload["documents"]] == ["stamped", "pending"]
    assert payload["documents"][0]["result_url"].endswith(f"{ids[0]}/result")
    assert payload["documents"][1]["error"]["code"] in ("seal_revoked", "not_authorized")
    assert payload["stamped_at"] and payload["requested_at"]
    assert await h.sql("SELECT attempts FROM callbacks WHERE batch_id = $1",
                       uuid.UUID(batch_id)) == 2
    # the documents themselves call nobody back; the relying system sees the delivery state
    assert await h.sql("SELECT count(*) FROM callbacks WHERE request_id = ANY($1::uuid[])",
                       [uuid.UUID(i) for i in ids]) == 0
    r = await h.call("GET", f"/api/v1/stamp-batches/{batch_id}", token=token)
    assert r.json["callbacks"] == [{"event": "stamp_batch.finished", "status": "delivered",
                                    "attempts": 2}], r.json
    r = await h.call("GET", f"/api/v1/stamp-batches/{batch_id}", token=person.token)
    assert r.json["callbacks"] == []


async def test_a_batch_that_expires_unstamped_calls_back_once(stamping: Harness) -> None:
    h = stamping
    client, token = await h.new_client()
    r = await h.call("POST", "/api/v1/stamp-batches", token=token,
                     data=_form(1, callback_url=h.receiver.url, expires_in="1"))
    assert r.status == 201, r
    batch_id = r.json["batch_id"]

    async def delivered() -> list:
        return [b for _, b in h.receiver.received if json.loads(b).get("batch_id") == batch_id]

    (raw,) = await eventually(delivered, 15)
    payload = json.loads(raw)
    assert payload["event"] == "stamp_batch.expired" and payload["status"] == "expired"
    await asyncio.sleep(0.5)  # the sweeper runs again: said once
    assert await h.sql("SELECT count(*) FROM callbacks WHERE batch_id = $1", uuid.UUID(batch_id)) == 1
    r = await h.call("GET", f"/api/v1/stamp-batches/{batch_id}", token=token)
    assert r.json["status"] == "expired" and r.json["callbacks"][0]["event"] == "stamp_batch.expired"


def _form(n: int, **fields: str) -> aiohttp.FormData:
    form = aiohttp.FormData()
    form.add_field("items", json.dumps([{"title": f"证照{i}", "page": 1, "x": 300, "y": 200}
                                        for i in range(n)], ensure_ascii=False))
    for i in range(n):
        form.add_field(f"documents[{i}]", make_test_pdf(pages=2), filename=f"{i}.pdf",
                       content_type="application/pdf")
    for k, v in fields.items():
        form.add_field(k, v)
    return form


async def test_documents_with_only_signature_placements_need_no_seal(stamping: Harness) -> None:
    h = stamping
    _client, token = await h.new_client()
    person = h.person("吴九")
    picture = io.BytesIO()
    Image.new("RGBA", (300, 120), (0, 0, 0, 255)).save(picture, format="PNG")
    h.seals.person_signatures[person.id] = picture.getvalue()
    form = aiohttp.FormData()
    form.add_field("items", json.dumps([
        {"title": f"承诺书{i}", "placements": [{"kind": "signature", "page": 1, "x": 300, "y": 400}]}
        for i in range(2)], ensure_ascii=False))
    for i in range(2):
        form.add_field(f"documents[{i}]", make_test_pdf(pages=1), filename=f"{i}.pdf",
                       content_type="application/pdf")
    r = await h.call("POST", "/api/v1/stamp-batches", token=token, data=form)
    assert r.status == 201, r
    batch_id = r.json["batch_id"]
    r = await h.call("POST", "/api/v1/stamp-batches/scans", token=person.token,
                     json={"qr_payload": r.json["qr_payload"]})
    assert r.status == 200, r
    assert all(d["placements"][0]["signature_missing"] is False for d in r.json["documents"])
    # no enterprise, no seal; a wrong password stamps nothing and leaves the QR code usable
    body = {"enterprise_id": str(uuid.uuid4()), "certificate_password": "wrong-pass-1"}
    r = await _stamp(h, person, batch_id, body)
    assert r.status == 403 and r.json["code"] == "wrong_certificate_password", r
    calls, seal_sigs = h.certs.calls, h.seals.signatures
    r = await _stamp(h, person, batch_id, {**body, "certificate_password": CERT_PASSWORD})
    assert r.status == 200 and r.json["status"] == "stamped", r
    assert h.certs.calls - calls == 2 and h.seals.signatures == seal_sigs  # one per document
    for d in r.json["documents"]:
        assert d["record_ids"] == [] and d["record_id"] and d["error"] is None
        assert await h.sql("SELECT count(*) FROM signature_records WHERE request_id = $1",
                           uuid.UUID(d["request_id"])) == 1


async def _scanned_batch(h: Harness, token: str, person: Person, n: int) -> tuple[str, list[str]]:
    r = await h.call("POST", "/api/v1/stamp-batches", token=token, data=_form(n))
    assert r.status == 201, r
    batch_id, ids = r.json["batch_id"], [d["request_id"] for d in r.json["documents"]]
    r = await h.call("POST", "/api/v1/stamp-batches/scans", token=person.token,
                     json={"qr_payload": r.json["qr_payload"]})
    assert r.status == 200, r
    return batch_id, ids


async def test_seals_is_asked_for_the_precheck_once_and_for_the_recheck_per_document(
        stamping: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    h = stamping
    _client, token = await h.new_client()
    seal = h.seals.add_seal(uuid.uuid4(), ENTERPRISE, type="contract", label="合同专用章")
    person = h.person("郑十")
    h.seals.grant(person.id, seal.seal_id)
    n = 4
    batch_id, _ids = await _scanned_batch(h, token, person, n)
    asked: list[str] = []  # what stamping asked seals, in order, during the stamp call
    choices, details, signature = h.seals.choices, h.seals.seal, h.seals.stamp_signature

    async def counted_choices(person_id: uuid.UUID) -> Any:
        asked.append("choices")
        return await choices(person_id)

    async def counted_seal(seal_id: uuid.UUID) -> Any:
        asked.append("seal")
        return await details(seal_id)

    async def counted_signature(*args: Any, **kw: Any) -> Any:
        asked.append("signature")
        return await signature(*args, **kw)

    monkeypatch.setattr(h.seals, "choices", counted_choices)
    monkeypatch.setattr(h.seals, "seal", counted_seal)
    monkeypatch.setattr(h.seals, "stamp_signature", counted_signature)
    r = await _stamp(h, person, batch_id, {"enterprise_id": str(seal.enterprise_id),
                                           "seal_id": str(seal.seal_id),
                                           "certificate_password": CERT_PASSWORD})
    assert r.status == 200 and r.json["status"] == "stamped", r
    # the pre-check: once for the batch, before any seal signature
    before = asked[:asked.index("signature")]
    assert before.count("choices") == 1 and before.count("seal") == 1, asked
    # the re-check after each document's timestamp asks again, and every seal signature is seals'
    assert asked.count("signature") == n
    assert asked.count("choices") == 1 + n and asked.count("seal") == 1 + n, asked


async def test_a_seal_revoked_after_the_batch_precheck_stamps_nothing(
        stamping: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    h = stamping
    _client, token = await h.new_client()
    seal = h.seals.add_seal(uuid.uuid4(), ENTERPRISE, type="contract", label="合同专用章")
    person = h.person("钱十一")
    h.seals.grant(person.id, seal.seal_id)
    body = {"enterprise_id": str(seal.enterprise_id), "seal_id": str(seal.seal_id),
            "certificate_password": CERT_PASSWORD}

    async def nothing_stamped(ids: list[str], reply: Any) -> list[dict[str, Any]]:
        assert reply.status == 200 and reply.json["status"] == "failed", reply
        docs: list[dict[str, Any]] = reply.json["documents"]
        assert [d["status"] for d in docs] == ["pending"] * len(ids)
        # seals refuses the signature, the re-check finds the seal revoked, or the seal's
        # certificate is already on the CRL the PAdES B-LT preparation validates it against
        assert all(d["error"]["code"] in ("seal_revoked", "not_authorized", "seal_certificate_invalid")
                   for d in docs), [d["error"] for d in docs]
        for rid in ids:
            assert await h.sql("SELECT count(*) FROM usage_records WHERE request_id = $1",
                               uuid.UUID(rid)) == 0
        return docs

    # 1. revoked once the batch's pre-check has its answer (the seal active): no document gets
    # a seal signature
    batch_id, ids = await _scanned_batch(h, token, person, 3)
    details = h.seals.seal

    async def revoked_after_answer(seal_id: uuid.UUID) -> Any:
        answer = await details(seal_id)
        if h.seals.seals[seal.seal_id].info.status == "active":
            await h.seals.revoke(seal.seal_id)
        return answer

    monkeypatch.setattr(h.seals, "seal", revoked_after_answer)
    signatures = h.seals.signatures
    await nothing_stamped(ids, await _stamp(h, person, batch_id, body))
    assert h.seals.signatures == signatures
    monkeypatch.undo()

    # 2. revoked right after the first seal signature, before its timestamp (certs could not
    # make the token with the signature, so the TSA is asked apart, after the revocation):
    # the batch's cached details still say active, so only a fresh re-check can fail that
    # document
    seal = h.seals.add_seal(seal.enterprise_id, ENTERPRISE, "合同专用章（二）", type="contract",
                            label="合同专用章")
    h.seals.grant(person.id, seal.seal_id)
    body = {**body, "seal_id": str(seal.seal_id)}
    batch_id, ids = await _scanned_batch(h, token, person, 3)
    sign = h.seals.stamp_signature

    async def revoked_after_signing(*args: Any, **kw: Any) -> Any:
        made = await sign(*args, **{**kw, "timestamp": False})
        if h.seals.seals[seal.seal_id].info.status == "active":
            await h.seals.revoke(seal.seal_id)
        return made

    monkeypatch.setattr(h.seals, "stamp_signature", revoked_after_signing)
    signatures = h.seals.signatures
    docs = await nothing_stamped(ids, await _stamp(h, person, batch_id, body))
    assert h.seals.signatures > signatures  # a seal signature was made, and its document failed
    assert any("revoked while stamping" in d["error"]["message"] for d in docs), docs
    monkeypatch.undo()

    # 3. revoked right after a seal signature that came with its token (made while seals
    # held the seal's lock): that document was signed and time-stamped while the seal was
    # active and stands; the documents after it are refused
    seal = h.seals.add_seal(seal.enterprise_id, ENTERPRISE, "合同专用章（三）", type="contract",
                            label="合同专用章")
    h.seals.grant(person.id, seal.seal_id)
    body = {**body, "seal_id": str(seal.seal_id)}
    batch_id, ids = await _scanned_batch(h, token, person, 3)

    async def revoked_after_signing_with_token(*args: Any, **kw: Any) -> Any:
        made = await sign(*args, **kw)
        assert made.timestamp_token
        if h.seals.seals[seal.seal_id].info.status == "active":
            await h.seals.revoke(seal.seal_id)
        return made

    monkeypatch.setattr(h.seals, "stamp_signature", revoked_after_signing_with_token)
    reply = await _stamp(h, person, batch_id, body)
    assert reply.json["status"] == "partially_stamped", reply
    statuses = sorted(d["status"] for d in reply.json["documents"])
    assert statuses == ["pending", "pending", "stamped"], reply
    refused = {d["error"]["code"] for d in reply.json["documents"] if d["status"] == "pending"}
    assert refused == {"seal_revoked"}, reply
