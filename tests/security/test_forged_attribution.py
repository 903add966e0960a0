"""A relying system must not be able to make the public verification name another enterprise.

Enterprise A granted its seal to a person; the relying system prepares a PDF whose seal
details (``/EsealStamp``) name enterprise B and B's seal, asks for a *digest* stamp of its
byte range, has the person seal it with A's seal, and embeds the CMS. Verification must
attribute from the certificate: never show B, report that the stamp was made on a digest
and by which relying system, and fail the signature with ``stamp_metadata_mismatch``.

The PDF is built by ``tests.support.forged_stamp`` (pyHanko, as an attacker would).
"""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import pytest

from tests.support.api import Api, Reply

from .conftest import CERT_PASSWORD, World

pytestmark = pytest.mark.e2e


async def verify(api: Api, doc: bytes) -> Reply:
    form = aiohttp.FormData()
    form.add_field("document", doc, filename="contract.pdf", content_type="application/pdf")
    return await api.post("/api/v1/verifications", data=form)


async def sealed_by_digest(api: Api, w: World, **claims: str) -> bytes:
    """The relying system's forgery, sealed by A's grantee with A's seal."""
    from tests.support.forged_stamp import forged_attribution_pdf  # i11-verify's builder

    forged = forged_attribution_pdf(signer_person_name=w.person.name, **claims)
    req = await api.post("/api/v1/stamp-requests", token=w.client.token,
                         json={"title": "采购合同摘要", "digest_sha256": forged.digest_sha256})
    assert req.status == 201, req
    scanned = await api.post("/api/v1/scans", token=w.person.token,
                             json={"qr_payload": req.json["qr_payload"]})
    assert scanned.status == 200, scanned
    stamped = await api.post(f"/api/v1/stamp-requests/{req.json['request_id']}/stamp", token=w.person.token,
                             json={"enterprise_id": w.ent_a.id, "seal_id": w.seal_a["seal_id"],
                                   "certificate_password": CERT_PASSWORD})
    assert stamped.status == 201, stamped
    result = await api.get(f"/api/v1/stamp-requests/{req.json['request_id']}/result", token=w.client.token)
    assert result.status == 200 and result.body[:1] == b"\x30", result
    return await forged.complete(result.body)


def claims_of(ent: Any, seal: dict[str, Any]) -> dict[str, str]:
    return {"enterprise_name": ent.name, "enterprise_uscc": ent.body["uscc"], "enterprise_id": ent.id,
            "seal_id": seal["seal_id"]}


@pytest.fixture(scope="module")
def forged_report() -> dict[str, Any]:
    return {}


async def test_forged_details_never_name_the_other_enterprise(
        api: Api, world: World, forged_report: dict[str, Any]) -> None:
    w = world
    r = await verify(api, await sealed_by_digest(api, w, **claims_of(w.ent_b, w.seal_b)))
    assert r.status == 200, r
    forged_report.update(r.json)
    text = json.dumps(r.json, ensure_ascii=False)
    for b_fact in (w.ent_b.name, w.ent_b.body["uscc"], w.ent_b.id, w.seal_b["seal_id"]):
        assert b_fact not in text, f"verification names enterprise B ({b_fact}): {text[:1500]}"
    assert r.json["result"] != "passed", r


async def test_the_mismatch_fails_with_a_stated_reason(forged_report: dict[str, Any]) -> None:
    assert forged_report, "the forged document was not verified"
    (sig,) = forged_report["signatures"]
    assert sig["result"] == "failed", sig
    assert "stamp_metadata_mismatch" in sig["reasons"], sig
    assert forged_report["result"] == "failed", forged_report


async def test_a_digest_stamp_says_so_and_names_the_relying_system(
        world: World, forged_report: dict[str, Any]) -> None:
    assert forged_report, "the forged document was not verified"
    (sig,) = forged_report["signatures"]
    assert sig.get("stamped_on") == "digest", sig
    assert sig.get("relying_system") == world.client.name, sig
    cert = sig.get("signer_certificate") or {}
    assert cert.get("subject") and cert.get("serial") and cert.get("issuer"), sig
    # The certificate is enterprise A's seal certificate: that is who sealed.
    assert world.ent_a.name in json.dumps(cert, ensure_ascii=False), sig


async def test_honest_details_on_a_digest_stamp_are_still_reported_as_a_digest_stamp(
        api: Api, world: World) -> None:
    """Even details that agree with the certificate (A, A's seal) were written by the relying
    system: the report must say the platform never saw this document."""
    w = world
    r = await verify(api, await sealed_by_digest(api, w, **claims_of(w.ent_a, w.seal_a)))
    assert r.status == 200, r
    (sig,) = r.json["signatures"]
    assert sig.get("stamped_on") == "digest" and sig.get("relying_system") == w.client.name, sig
