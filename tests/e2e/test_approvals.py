"""用印审批 (approval before use) on the whole platform, through the gateway.

An enterprise makes its contract seal require approval by itself and a managing agent. A
grantee's stamp then answers 202 ``awaiting_approval`` once the certificate password is
checked; the approvers are told and list it with the document; an approval (face check
``approve_stamp``) applies the seal (a PAdES signature valid to the platform root, the
relying system's callback queued) and a rejection ends the request. Refusals: the policy is
for those who manage seals and names only managers; a non-approver (another enterprise, an
agent without the permission, the person) can neither see nor decide; a second stamp of a
waiting request is 409; an approval whose seal was revoked (or whose grant was withdrawn)
meanwhile is refused and the request ends with that cause.
"""

from __future__ import annotations

import base64
import hashlib
import io
import re
import uuid
from typing import Any

import asyncpg
import pytest
from pdfminer.high_level import extract_text
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import DocumentSecurityStore, async_validate_pdf_signature
from stamping.adapters.pdf import as_asn1_cert

from shared.internal import internal_token
from tests.conftest import Platform
from tests.e2e.test_certs import DEV_INTERNAL_SECRET
from tests.e2e.test_stamping import (
    Account,
    client_token,
    create_client,
    grant,
    new_enterprise,
    new_person,
    new_seal,
    revoke_seal,
    scan,
    stamp,
)
from tests.support import identities as ids
from tests.support.api import Api, Reply
from tests.support.pdf_fixtures import make_test_pdf
from tests.support.polling import eventually
from tests.support.relying import request_pdf_stamp

pytestmark = pytest.mark.e2e

CALLBACK = "http://127.0.0.1:9/eseal-callback"  # nothing listens: the queue is what we check


async def agent_account(api: Api, enterprise: Account, *, can_manage: bool) -> Account:
    added = await ids.add_agent(api, enterprise.token, can_manage=can_manage)
    session = await ids.login(api, "agent", added["phone"], added["password"],
                              enterprise_uscc=enterprise.body["uscc"])
    return Account(added["agent_id"], session["access_token"], added["name"], added, role="agent")


async def set_policy(api: Api, who: Account, seal_id: str, approvers: list[str],
                     required: bool = True) -> Reply:
    async def attempt() -> Reply | None:  # seals learns of new agents from agents' events
        r = await api.patch(f"/api/v1/seals/{seal_id}", token=who.token,
                            json={"approval_required": required, "approvers": approvers})
        return None if r.status == 422 and r.json.get("code") == "invalid_approvers" else r
    return await eventually(attempt, 10, every=0.3, what="the approvers known to seals")


class World:
    def __init__(self, enterprise: Account, manager: Account, seal: dict[str, Any],
                 person: Account, client_token: str) -> None:
        self.enterprise, self.manager, self.seal = enterprise, manager, seal
        self.person, self.client_token = person, client_token

    async def waiting(self, api: Api, title: str = "采购合同") -> dict[str, Any]:
        """A request stamped by the person: 202 awaiting_approval."""
        created = await request_pdf_stamp(api, self.client_token, make_test_pdf(pages=2), title=title,
                                          page=1, x=300.0, y=300.0, callback_url=CALLBACK)
        assert created.status == 201, created
        assert (await scan(api, self.person, created.json["qr_payload"])).status == 200
        r = await stamp(api, self.person, created.json["request_id"], self.seal)
        assert r.status == 202, r
        assert r.json["status"] == "awaiting_approval" and r.json["approval_id"], r
        return {**r.json, "qr_payload": created.json["qr_payload"]}


async def new_world(api: Api, platform: Platform) -> World:
    enterprise = await new_enterprise(api)
    manager = await agent_account(api, enterprise, can_manage=True)
    seal = await new_seal(api, enterprise, "contract")
    person = await new_person(api)
    await grant(api, enterprise, seal["seal_id"], person)
    r = await set_policy(api, enterprise, seal["seal_id"], [enterprise.id, manager.id])
    assert r.status == 200, r
    assert r.json["approval_required"] is True and set(r.json["approvers"]) == {enterprise.id, manager.id}
    client = create_client(platform, "审批测试系统")
    return World(enterprise, manager, seal, person, await client_token(api, client))


async def approve(api: Api, who: Account, approval_id: str) -> Reply:
    face = await ids.face_token(api, who.token, "approve_stamp")
    return await api.post(f"/api/v1/approvals/{approval_id}/approve", token=who.token,
                          json={"face_token": face})


async def request_status(api: Api, w: World, request_id: str) -> dict[str, Any]:
    r = await api.get(f"/api/v1/stamp-requests/{request_id}", token=w.client_token)
    assert r.status == 200, r
    return dict(r.json)


async def kinds(api: Api, token: str) -> list[str]:
    r = await api.get("/api/v1/messages", token=token)
    assert r.status == 200, r
    return [m["kind"] for m in r.json["items"]]


async def test_the_policy_is_for_managers_and_names_only_managers(api: Api, platform: Platform) -> None:
    enterprise = await new_enterprise(api)
    seal = await new_seal(api, enterprise, "finance")
    looker = await agent_account(api, enterprise, can_manage=False)
    other = await new_enterprise(api)

    r = await api.patch(f"/api/v1/seals/{seal['seal_id']}", token=looker.token,
                        json={"approval_required": True, "approvers": [enterprise.id]})
    assert r.status == 403, r
    r = await api.patch(f"/api/v1/seals/{seal['seal_id']}", token=other.token,
                        json={"approval_required": True, "approvers": [other.id]})
    assert r.status == 404 and r.json["code"] == "seal_not_found", r
    r = await api.patch(f"/api/v1/seals/{seal['seal_id']}", token=enterprise.token,
                        json={"approval_required": True, "approvers": []})
    assert r.status == 422 and r.json["code"] == "invalid_approvers", r
    # an agent without the permission, another enterprise's account: not approvers
    for wrong in (looker.id, other.id):
        r = await api.patch(f"/api/v1/seals/{seal['seal_id']}", token=enterprise.token,
                            json={"approval_required": True, "approvers": [wrong]})
        assert r.status == 422 and r.json["code"] == "invalid_approvers", r
    r = await api.patch(f"/api/v1/seals/{seal['seal_id']}", token=enterprise.token,
                        json={"approval_required": True, "approvers": [enterprise.id]})
    assert r.status == 200 and r.json["approval_required"] is True, r
    shown = await api.get(f"/api/v1/seals/{seal['seal_id']}", token=looker.token)
    assert shown.json["approvers"] == [enterprise.id], shown
    r = await api.patch(f"/api/v1/seals/{seal['seal_id']}", token=enterprise.token,
                        json={"approval_required": "yes please"})
    assert r.status == 422 and r.json["code"] == "validation_failed", r


async def test_an_approved_stamp_is_applied_and_the_relying_system_told(api: Api, platform: Platform) -> None:
    w = await new_world(api, platform)
    waiting = await w.waiting(api)
    approval_id, request_id = waiting["approval_id"], waiting["request_id"]

    # the request waits: no second stamp, no result, the relying system sees the status
    again = await stamp(api, w.person, request_id, w.seal)
    assert again.status == 409 and again.json["code"] == "awaiting_approval", again
    assert (await request_status(api, w, request_id))["status"] == "awaiting_approval"
    assert (await api.get(f"/api/v1/stamp-requests/{request_id}/result", token=w.client_token)).status == 409

    # the person sees it on the stamp screen; the approvers are told and list it
    mine = await api.get(f"/api/v1/approvals/{approval_id}", token=w.person.token)
    assert mine.status == 200 and mine.json["status"] == "pending", mine
    for approver in (w.enterprise, w.manager):
        await eventually(lambda a=approver: _has(api, a.token, "approval_requested"), 20,
                         what="the approver's message")
        listed = await api.get("/api/v1/approvals", token=approver.token)
        assert listed.status == 200, listed
        item, = [i for i in listed.json["items"] if i["approval_id"] == approval_id]
        assert item["person"]["name"] == w.person.name and item["requester"]["name"] == "审批测试系统"
        assert item["seals"][0]["seal_id"] == w.seal["seal_id"] and item["placements"], item
        doc = await api.get(item["document"]["url"], token=approver.token)
        assert doc.status == 200 and doc.body.startswith(b"%PDF"), doc

    # refusals: the person cannot decide; nor can an outsider; an approval needs a face check
    r = await api.post(f"/api/v1/approvals/{approval_id}/approve", token=w.person.token,
                       json={"face_token": "x"})
    assert r.status == 403 and r.json["code"] == "role_not_allowed", r
    r = await api.post(f"/api/v1/approvals/{approval_id}/approve", token=w.manager.token, json={})
    assert r.status == 422, r

    w2 = await approve(api, w.manager, approval_id)
    assert w2.status == 200, w2
    assert w2.json["status"] == "granted" and w2.json["decided_by"] == w.manager.id, w2
    assert (await approve(api, w.enterprise, approval_id)).json["code"] == "approval_not_pending"

    status = await request_status(api, w, request_id)
    assert status["status"] == "stamped" and status["record_id"], status
    assert [c["event"] for c in status["callbacks"]] == ["stamp_request.stamped"], status
    result = await api.get(f"/api/v1/stamp-requests/{request_id}/result", token=w.client_token)
    assert result.status == 200, result
    root = await api.get("/api/v1/ca/root.pem")
    reader = PdfFileReader(io.BytesIO(result.body))
    sig, = reader.embedded_signatures
    vc = DocumentSecurityStore.read_dss(reader).as_validation_context(
        {"trust_roots": [as_asn1_cert(root.body)], "allow_fetching": False, "revocation_mode": "hard-fail"})
    valid = await async_validate_pdf_signature(sig, vc)
    assert valid.bottom_line, valid.pretty_print_details()
    assert sig.signer_cert.subject.native["common_name"] == w.seal["name"]
    # the person's signature made at the stamp call is the one bound into the usage record
    usage = await api.get("/api/v1/usage-records", token=w.enterprise.token)
    record, = [i for i in usage.json["items"] if i["request_id"] == request_id]
    assert record["seal_id"] == w.seal["seal_id"], record
    # the evidence report (出证报告) tells the approval with the events behind it
    report = await api.get(f"/api/v1/usage-records/{record['record_id']}/evidence.pdf",
                           token=w.enterprise.token)
    assert report.status == 200, report
    text = re.sub(r"\s+", "", extract_text(io.BytesIO(report.body)))
    assert "提交用印审批" in text and "审批人批准用印" in text, text
    assert w.manager.id in text, "the approver's account is named"
    await eventually(lambda: _has(api, w.person.token, "approval_granted"), 20,
                     what="the person's message")
    gone = await api.get(f"/api/v1/approvals/{approval_id}/document", token=w.manager.token)
    assert gone.status == 404, gone  # what was kept for the approval is dropped


async def test_a_non_approver_can_neither_see_nor_decide(api: Api, platform: Platform) -> None:
    w = await new_world(api, platform)
    waiting = await w.waiting(api)
    approval_id = waiting["approval_id"]
    looker = await agent_account(api, w.enterprise, can_manage=False)
    outsider = await new_enterprise(api)
    stranger = await new_person(api, certificate=False)
    for who in (looker, outsider):
        listed = await api.get("/api/v1/approvals", token=who.token)
        assert listed.status == 200 and listed.json["items"] == [], listed
        assert (await api.get(f"/api/v1/approvals/{approval_id}", token=who.token)).status == 404
        assert (await api.get(f"/api/v1/approvals/{approval_id}/document", token=who.token)).status == 404
        r = await approve(api, who, approval_id)
        assert r.status == 403 and r.json["code"] == "not_an_approver", r
        r = await api.post(f"/api/v1/approvals/{approval_id}/reject", token=who.token, json={})
        assert r.status == 403 and r.json["code"] == "not_an_approver", r
    assert (await api.get(f"/api/v1/approvals/{approval_id}", token=stranger.token)).status == 404
    # a manager who is not named on the seal is no approver either
    other_manager = await agent_account(api, w.enterprise, can_manage=True)
    r = await approve(api, other_manager, approval_id)
    assert r.status == 403 and r.json["code"] == "not_an_approver", r
    # still waiting, and still approvable by an approver
    assert (await request_status(api, w, waiting["request_id"]))["status"] == "awaiting_approval"
    assert (await approve(api, w.enterprise, approval_id)).status == 200


async def test_a_rejection_ends_the_request(api: Api, platform: Platform) -> None:
    w = await new_world(api, platform)
    waiting = await w.waiting(api)
    approval_id, request_id = waiting["approval_id"], waiting["request_id"]
    r = await api.post(f"/api/v1/approvals/{approval_id}/reject", token=w.enterprise.token,
                       json={"reason": "合同金额有误"})
    assert r.status == 200 and r.json["status"] == "rejected" and r.json["cause"] == "rejected", r
    assert r.json["reason"] == "合同金额有误"
    status = await request_status(api, w, request_id)
    assert status["status"] == "rejected" and status["record_id"] is None, status
    assert [c["event"] for c in status["callbacks"]] == ["stamp_request.rejected"], status
    r = await approve(api, w.manager, approval_id)
    assert r.status == 409 and r.json["code"] == "approval_not_pending", r
    r = await stamp(api, w.person, request_id, w.seal)
    assert r.status in (403, 409, 410), r  # the QR code is used up
    conn = await asyncpg.connect(f"postgresql://postgres@127.0.0.1:5432/{platform.config.db_prefix}stamping")
    try:  # as stamping's records say: token used up, claim cleared, upload dropped
        assert await conn.fetchval(
            "SELECT token_used_at IS NOT NULL AND claim_id IS NULL FROM stamp_requests"
            " WHERE request_id = $1", uuid.UUID(request_id))
        assert await conn.fetchval("SELECT count(*) FROM request_documents WHERE request_id = $1",
                                   uuid.UUID(request_id)) == 0
    finally:
        await conn.close()
    mine = await api.get(f"/api/v1/approvals/{approval_id}", token=w.person.token)
    assert mine.json["status"] == "rejected" and mine.json["reason"] == "合同金额有误", mine
    await eventually(lambda: _has(api, w.person.token, "approval_rejected"), 20,
                     what="the person's message")


async def test_revoking_the_seal_meanwhile_refuses_the_approval_and_ends_the_request(
        api: Api, platform: Platform) -> None:
    w = await new_world(api, platform)
    waiting = await w.waiting(api)
    approval_id = waiting["approval_id"]
    assert (await revoke_seal(api, w.enterprise, w.seal["seal_id"])).status == 200
    r = await approve(api, w.manager, approval_id)
    # refused either way: by seals (the seal is revoked), or because the sweeper ended it first
    assert r.status == 409 and r.json["code"] in ("seal_revoked", "approval_not_pending"), r
    ended = await api.get(f"/api/v1/approvals/{approval_id}", token=w.person.token)
    assert ended.json["status"] == "rejected" and ended.json["cause"] == "seal_revoked", ended
    status = await request_status(api, w, waiting["request_id"])
    assert status["status"] == "rejected" and status["record_id"] is None, status


async def test_withdrawing_the_grant_meanwhile_cancels_the_request(api: Api, platform: Platform) -> None:
    w = await new_world(api, platform)
    waiting = await w.waiting(api)
    grants = await api.get(f"/api/v1/seals/{w.seal['seal_id']}/grants", token=w.enterprise.token)
    grant_id = grants.json["items"][0]["grant_id"]
    r = await api.delete(f"/api/v1/seals/{w.seal['seal_id']}/grants/{grant_id}", token=w.enterprise.token)
    assert r.status in (200, 204), r

    async def cancelled() -> dict[str, Any] | None:  # the sweeper asks seals (every 2 s)
        a = await api.get(f"/api/v1/approvals/{waiting['approval_id']}", token=w.person.token)
        return dict(a.json) if a.json["status"] == "rejected" else None

    ended = await eventually(cancelled, 20, what="the request cancelled")
    assert ended["cause"] == "grant_revoked", ended
    r = await approve(api, w.manager, waiting["approval_id"])
    assert r.status == 409 and r.json["code"] == "approval_not_pending", r


async def _has(api: Api, token: str, kind: str) -> bool:
    return kind in await kinds(api, token)


async def test_seals_signs_an_approval_seal_only_for_one_of_its_approvers(
        api: Api, platform: Platform) -> None:
    """The enforcement is in seals, the owner of the seal: stamping (or anything holding the
    internal secret) gets no signature of a seal that requires approval without naming an
    approver who may approve now. From outside, the internal route does not exist."""
    w = await new_world(api, platform)
    looker = await agent_account(api, w.enterprise, can_manage=False)
    url = platform.internal_url("seals") + f"/internal/seals/{w.seal['seal_id']}/stamp-signatures"
    headers = {"Authorization": "Internal " + internal_token(DEV_INTERNAL_SECRET, "stamping", "seals")}
    body = {"person_id": w.person.id, "enterprise_id": w.enterprise.id,
            "digest_b64": base64.b64encode(hashlib.sha256(b"doc").digest()).decode()}
    r = await api.post(url, json=body, headers=headers)
    assert r.status == 403 and r.json["code"] == "approval_required", r
    r = await api.post(url, json={**body, "approver_id": looker.id}, headers=headers)
    assert r.status == 403 and r.json["code"] == "not_an_approver", r
    r = await api.post(url, json={**body, "approver_id": w.manager.id}, headers=headers)
    assert r.status == 200 and r.json["signature_b64"], r
    # turned off: the seal signs for its grantee alone again
    off = await set_policy(api, w.enterprise, w.seal["seal_id"], [], required=False)
    assert off.status == 200 and off.json["approval_required"] is False, off
    r = await api.post(url, json=body, headers=headers)
    assert r.status == 200, r
    gateway = await api.post(f"/internal/seals/{w.seal['seal_id']}/stamp-signatures", json=body,
                             headers=headers)
    assert gateway.status == 404, gateway
