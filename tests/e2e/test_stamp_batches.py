"""Batches on the whole platform, through the gateway (issue 15): three PDFs behind one QR
code, stamped with one certificate password. The third document's seal is revoked between
the scan and the stamp: it fails with its reason, the other two are stamped, each valid with
pyHanko (trusted to the platform root) and each one usage record. The QR code stamps once;
another person can neither scan, stamp nor read the batch, nor open its documents. The
relying system is called back once the batch is finished, signed with its webhook secret."""

from __future__ import annotations

import json

import aiohttp
import pytest
import pytest_asyncio
from stamping.domain import webhooks

from tests.conftest import Platform
from tests.e2e.test_stamping import (
    CERT_PASSWORD,
    Hooks,
    client_token,
    create_client,
    grant,
    hooks,
    new_enterprise,
    new_person,
    new_seal,
    pyhanko_validation,
    revoke_seal,
)
from tests.support.api import Api
from tests.support.pdf_fixtures import make_test_pdf
from tests.support.polling import eventually

pytestmark = pytest.mark.e2e
__all__ = ["hooks"]  # the callback receiver fixture, shared with test_stamping


@pytest_asyncio.fixture(scope="module")
async def root_pem(api: Api) -> bytes:
    root = await api.get("/api/v1/ca/root.pem")
    assert root.status == 200
    return root.body


async def test_a_batch_is_stamped_with_one_password_and_a_failure_keeps_the_others(
        api: Api, platform: Platform, root_pem: bytes, hooks: Hooks) -> None:
    enterprise = await new_enterprise(api)
    contract = await new_seal(api, enterprise, "contract")
    finance = await new_seal(api, enterprise, "finance")
    person, other = await new_person(api), await new_person(api)
    for seal in (contract, finance):
        await grant(api, enterprise, seal["seal_id"], person)
        await grant(api, enterprise, seal["seal_id"], other)
    client = create_client(platform, "批量审批系统")
    token = await client_token(api, client)

    items = [{"title": "营业执照一", "page": 1, "x": 300, "y": 200},
             {"title": "营业执照二", "placements": [{"seal_type": "contract", "page": "last",
                                                     "x": 300, "y": 300}]},
             {"title": "财务报表", "placements": [{"seal_type": "finance", "page": 1,
                                                   "x": 250, "y": 250}]}]
    form = aiohttp.FormData()
    form.add_field("items", json.dumps(items, ensure_ascii=False))
    form.add_field("callback_url", hooks.url)
    for i in range(3):
        form.add_field(f"documents[{i}]", make_test_pdf(pages=i + 1), filename=f"{i}.pdf",
                       content_type="application/pdf")
    created = await api.post("/api/v1/stamp-batches", token=token, data=form)
    assert created.status == 201, created
    batch_id, qr_payload = created.json["batch_id"], created.json["qr_payload"]
    ids = [d["request_id"] for d in created.json["documents"]]

    scanned = await api.post("/api/v1/stamp-batches/scans", token=person.token,
                             json={"qr_payload": qr_payload})
    assert scanned.status == 200, scanned
    docs = scanned.json["documents"]
    assert [d["title"] for d in docs] == [i["title"] for i in items]
    assert [c["seal_id"] for c in docs[2]["placements"][0]["seal_choices"]] == [finance["seal_id"]]
    for rid in ids:
        opened = await api.get(f"/api/v1/stamp-requests/{rid}/document", token=person.token)
        assert opened.status == 200 and opened.body.startswith(b"%PDF"), opened
        assert (await api.get(f"/api/v1/stamp-requests/{rid}/document",
                              token=other.token)).status == 404

    # another person: no scan, no stamp, no reading
    r = await api.post("/api/v1/stamp-batches/scans", token=other.token, json={"qr_payload": qr_payload})
    assert r.status == 409 and r.json["code"] == "batch_scanned_by_another", r
    body = {"enterprise_id": enterprise.id, "seal_id": contract["seal_id"],
            "certificate_password": CERT_PASSWORD,
            "documents": [{"request_id": ids[2], "seal_id": finance["seal_id"]}]}
    r = await api.post(f"/api/v1/stamp-batches/{batch_id}/stamp", token=other.token, json=body)
    assert r.status == 404 and r.json["code"] == "stamp_batch_not_found", r
    assert (await api.get(f"/api/v1/stamp-batches/{batch_id}", token=other.token)).status == 404

    # the finance seal is revoked between the scan and the stamp
    assert (await revoke_seal(api, enterprise, finance["seal_id"])).status in (200, 201)
    stamped = await api.post(f"/api/v1/stamp-batches/{batch_id}/stamp", token=person.token, json=body)
    assert stamped.status == 200, stamped
    assert stamped.json["status"] == "partially_stamped", stamped.json
    results = stamped.json["documents"]
    assert [d["status"] for d in results] == ["stamped", "stamped", "pending"], results
    assert results[2]["error"]["code"] in ("seal_revoked", "not_authorized"), results[2]

    # replaying the QR code: refused
    r = await api.post("/api/v1/stamp-batches/scans", token=person.token, json={"qr_payload": qr_payload})
    assert r.status == 409 and r.json["code"] == "already_stamped", r
    r = await api.post(f"/api/v1/stamp-batches/{batch_id}/stamp", token=person.token, json=body)
    assert r.status == 409, r

    # the relying system is called back once: the batch's outcome, signed
    async def called_back() -> list[tuple[dict[str, str], bytes]]:
        return [(h, b) for h, b in hooks.received if json.loads(b).get("batch_id") == batch_id]

    (headers, raw), = await eventually(called_back, 20, every=0.2, what="the batch callback")
    assert webhooks.verify(client.webhook_secret, raw, headers["X-Eseal-Signature"])
    assert headers["X-Eseal-Event"] == "stamp_batch.finished"
    payload = json.loads(raw)
    assert payload["status"] == "partially_stamped" and payload["documents"] == results, payload

    # the relying system: each stamped document's result valid with pyHanko, one record each
    view = await api.get(f"/api/v1/stamp-batches/{batch_id}", token=token)
    assert view.status == 200 and view.json["documents"] == results, view
    assert view.json["callbacks"] == [{"event": "stamp_batch.finished", "status": "delivered",
                                       "attempts": 1}], view.json
    for d in results[:2]:
        assert len(d["record_ids"]) == 1 and d["record_id"] == d["record_ids"][0]
        doc = await api.get(d["result_url"], token=token)
        assert doc.status == 200 and doc.headers["Content-Type"] == "application/pdf", doc
        status, _dss = await pyhanko_validation(doc.body, root_pem)
        assert status.intact and status.valid and status.trusted, status.pretty_print_details()
        assert status.bottom_line, status.pretty_print_details()
    usage = await api.get("/api/v1/usage-records", token=enterprise.token)
    assert usage.status == 200, usage
    mine = [r for r in usage.json["items"] if r.get("request_id") in ids]
    assert sorted(r["request_id"] for r in mine) == sorted(ids[:2]), usage.json


async def _batch(api: Api, token: str, items: list[dict[str, object]]) -> tuple[str, list[str]]:
    form = aiohttp.FormData()
    form.add_field("items", json.dumps(items, ensure_ascii=False))
    for i in range(len(items)):
        form.add_field(f"documents[{i}]", make_test_pdf(pages=1), filename=f"{i}.pdf",
                       content_type="application/pdf")
    created = await api.post("/api/v1/stamp-batches", token=token, data=form)
    assert created.status == 201, created
    return created.json["qr_payload"], [d["request_id"] for d in created.json["documents"]]


async def test_a_batch_of_only_personal_signatures_needs_no_enterprise(
        api: Api, platform: Platform, root_pem: bytes) -> None:
    """Documents a person signs with their 个人签名 alone: the batch stamp takes the password
    alone; a batch with a seal document still needs the enterprise (422 before anything is
    claimed: the QR code still works)."""
    enterprise = await new_enterprise(api)
    contract = await new_seal(api, enterprise, "contract")
    person = await new_person(api)
    await grant(api, enterprise, contract["seal_id"], person)
    made = await api.post("/api/v1/my/signature", token=person.token, json={"method": "generated"})
    assert made.status == 201, made
    token = await client_token(api, create_client(platform, "个人签字批量系统"))
    sign = {"placements": [{"kind": "signature", "page": 1, "x": 300, "y": 200}]}

    # a seal document without the enterprise: refused, nothing claimed
    qr, ids = await _batch(api, token, [{"title": "合同", "page": 1, "x": 300, "y": 300},
                                        {"title": "承诺书", **sign}])
    scanned = await api.post("/api/v1/stamp-batches/scans", token=person.token, json={"qr_payload": qr})
    assert scanned.status == 200, scanned
    batch_id = scanned.json["batch_id"]
    path = f"/api/v1/stamp-batches/{batch_id}/stamp"
    r = await api.post(path, token=person.token, json={
        "certificate_password": CERT_PASSWORD, "seal_id": contract["seal_id"]})
    assert r.status == 422 and r.json["code"] == "invalid_choice", r
    assert r.json["errors"][0]["field"] == "documents[0].enterprise_id", r.json
    r = await api.post(path, token=person.token, json={
        "enterprise_id": enterprise.id, "seal_id": contract["seal_id"],
        "certificate_password": CERT_PASSWORD})
    assert r.status == 200 and r.json["status"] == "stamped", r

    # only signatures: the password alone
    qr, ids = await _batch(api, token, [{"title": "承诺书一", **sign}, {"title": "承诺书二", **sign}])
    scanned = await api.post("/api/v1/stamp-batches/scans", token=person.token, json={"qr_payload": qr})
    assert scanned.status == 200, scanned
    stamped = await api.post(f"/api/v1/stamp-batches/{scanned.json['batch_id']}/stamp",
                             token=person.token, json={"certificate_password": CERT_PASSWORD})
    assert stamped.status == 200 and stamped.json["status"] == "stamped", stamped
    for d in stamped.json["documents"]:
        assert d["record_ids"] == [] and d["record_id"], d
        doc = await api.get(d["result_url"], token=token)
        assert doc.status == 200, doc
        status, _dss = await pyhanko_validation(doc.body, root_pem)
        assert status.intact and status.valid and status.trusted, status.pretty_print_details()
