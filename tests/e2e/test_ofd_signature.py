"""The personal signature placement on an OFD, through the gateway (issues 14 and 15).

GB/T 38540 signs with a seal, so a person's own 个人签名 on an OFD goes out as a signature with
the person's own ``SES_Seal`` (property.type 2, 个人印章: the signature picture, listing only
the person's SM2 certificate, made by the platform's seal-making certificate), signed by the
person's SM2 key under the same certificate password that signs the stamp's authorization.
The platform's verification names the person from its signature record; an independent
checker (bare asn1crypto + gmalglib) re-verifies both signatures and the personal seal.
"""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import pytest

from tests.conftest import Platform
from tests.e2e.test_approvals import approve, set_policy
from tests.e2e.test_ofd import OFD, tamper, verify
from tests.e2e.test_stamping import (
    CERT_PASSWORD,
    Account,
    client_token,
    create_client,
    grant,
    new_enterprise,
    new_person,
    new_seal,
    scan,
)
from tests.support import gm_independent as gm
from tests.support.api import Api, Reply

pytestmark = pytest.mark.e2e

SEAL_AT = (2, 60.0, 200.0)  # page, x, y: millimetres from the page's top-left
SIGNATURE_AT = (2, 150.0, 200.0)


async def _request(api: Api, token: str, placements: list[dict[str, Any]]) -> dict[str, Any]:
    form = aiohttp.FormData()
    form.add_field("title", "个人签字的通知")
    form.add_field("placements", json.dumps(placements))
    form.add_field("document", OFD, filename="notice.ofd", content_type="application/ofd")
    created = await api.post("/api/v1/stamp-requests", token=token, data=form)
    assert created.status == 201, created
    return dict(created.json)


async def _with_signature(api: Api) -> Account:
    person = await new_person(api)
    made = await api.post("/api/v1/my/signature", token=person.token, json={"method": "generated"})
    assert made.status == 201, made
    return person


async def _sm2_serial(api: Api, person: Account) -> int:
    cert = await api.get("/api/v1/certificate", token=person.token)
    assert cert.status == 200 and cert.json.get("sm2"), cert
    return int(cert.json["sm2"]["serial_number"], 16)


def _check_personal(check: gm.OfdSignatureCheck, person: Account, sm2_serial: int,
                    issuing: Any, root: Any) -> None:
    """Independently: the person's SM2 certificate signed, with the person's own seal."""
    assert check.ok, check
    sig = check.signature
    assert sig is not None and sig.version == 4 and sig.timestamp is not None
    signer = gm.load_cert(sig.signer_cert)
    assert signer.serial_number == sm2_serial and gm.chains(signer, issuing, root)
    seal = sig.seal
    assert (seal.seal_type, seal.name) == (2, person.name), seal.name  # 个人印章
    assert seal.certificates == [sig.signer_cert]  # the person alone may use it
    assert seal.maker_signature_ok() and gm.chains(gm.load_cert(seal.maker_cert), issuing, root)
    assert seal.picture_type.upper() == "PNG" and 1 <= seal.width_mm <= 42


async def _stamp(api: Api, person: Account, request_id: str, body: dict[str, Any]) -> Reply:
    return await api.post(f"/api/v1/stamp-requests/{request_id}/stamp", token=person.token,
                          json=body)


async def test_an_ofd_carries_the_persons_signature_beside_the_seal(
        api: Api, platform: Platform) -> None:
    enterprise = await new_enterprise(api)
    seal = await new_seal(api, enterprise)
    person = await _with_signature(api)
    await grant(api, enterprise, seal["seal_id"], person)
    client = create_client(platform, "公文签字系统")
    token = await client_token(api, client)
    created = await _request(api, token, [
        {"page": SEAL_AT[0], "x": SEAL_AT[1], "y": SEAL_AT[2]},
        {"kind": "signature", "page": SIGNATURE_AT[0], "x": SIGNATURE_AT[1], "y": SIGNATURE_AT[2]}])
    scanned = await scan(api, person, created["qr_payload"])
    assert scanned.status == 200, scanned
    assert scanned.json["placements"][1]["signature_missing"] is False

    body = {"enterprise_id": enterprise.id, "seal_id": seal["seal_id"],
            "certificate_password": "not-my-password"}
    wrong = await _stamp(api, person, created["request_id"], body)
    assert wrong.status == 403 and wrong.json["code"] == "wrong_certificate_password", wrong
    # one password check for both keys: a wrong password counted once
    stamped = await _stamp(api, person, created["request_id"],
                           {**body, "certificate_password": CERT_PASSWORD})
    assert stamped.status == 201, stamped
    assert len(stamped.json["record_ids"]) == 1  # the signature is no seal use
    result = await api.get(f"/api/v1/stamp-requests/{created['request_id']}/result", token=token)
    assert result.status == 200 and result.headers["Content-Type"] == "application/ofd", result
    doc = result.body

    v = await verify(api, doc)
    assert v.status == 200 and (v.json["format"], v.json["result"]) == ("ofd", "passed"), v
    mine, sealed = v.json["signatures"]
    assert (mine["kind"], mine["algorithm"], mine["signer_name"]) == ("signature", "sm2-sm3", person.name)
    assert mine["trusted"] and mine["recorded"] and mine["timestamped"] and mine["seal_id"] is None, mine
    assert [s["page"] for s in mine["stamps"]] == [SIGNATURE_AT[0]], mine["stamps"]
    assert (sealed["kind"], sealed["seal_id"]) == ("seal", seal["seal_id"])
    assert sealed["signer_name"] == person.name
    listed = await api.get("/api/v1/signature-records", token=person.token)
    assert [i["request_id"] for i in listed.json["items"]] == [created["request_id"]], listed
    assert (listed.json["items"][0]["format"], listed.json["items"][0]["algorithm"]) == (
        "gbt38540", "sm2-sm3"), listed
    usage = await api.get("/api/v1/usage-records", token=enterprise.token)
    assert [i["seal_id"] for i in usage.json["items"]
            if i["request_id"] == created["request_id"]] == [seal["seal_id"]]

    root = gm.load_cert((await api.get("/api/v1/ca/sm2-root.pem")).body)
    issuing = gm.load_cert((await api.get("/api/v1/ca/sm2-issuing.pem")).body)
    own, by_seal = gm.check_ofd(doc)
    _check_personal(own, person, await _sm2_serial(api, person), issuing, root)
    assert by_seal.ok and by_seal.signature is not None
    assert by_seal.signature.seal.es_id == seal["seal_id"].replace("-", "").upper()

    # the person's SignedValue.dat changed: that signature fails, and so does the document
    bad = tamper(doc, own.signature_xml_path.rsplit("/", 1)[0] + "/SignedValue.dat")
    r = await verify(api, bad)
    assert r.status == 200 and r.json["result"] == "failed", r
    assert r.json["signatures"][0]["result"] == "failed", r.json["signatures"][0]
    assert not gm.check_ofd(bad)[0].ok


async def test_an_ofd_with_only_the_persons_signature_uses_no_seal(
        api: Api, platform: Platform) -> None:
    person = await _with_signature(api)  # granted no seal, in no enterprise
    client = create_client(platform, "个人签字系统")
    token = await client_token(api, client)
    created = await _request(api, token, [
        {"kind": "signature", "page": SIGNATURE_AT[0], "x": SIGNATURE_AT[1], "y": SIGNATURE_AT[2]}])
    scanned = await scan(api, person, created["qr_payload"])
    assert scanned.status == 200, scanned
    stamped = await _stamp(api, person, created["request_id"], {"certificate_password": CERT_PASSWORD})
    assert stamped.status == 201, stamped
    assert stamped.json["record_ids"] == [] and stamped.json["record_id"]
    again = await _stamp(api, person, created["request_id"], {"certificate_password": CERT_PASSWORD})
    assert again.status == 409 and again.json["code"] == "already_stamped", again

    result = await api.get(f"/api/v1/stamp-requests/{created['request_id']}/result", token=token)
    assert result.status == 200 and result.headers["Content-Type"] == "application/ofd", result
    v = await verify(api, result.body)
    assert v.status == 200 and v.json["result"] == "passed", v
    [mine] = v.json["signatures"]
    assert (mine["kind"], mine["signer_name"], mine["recorded"]) == ("signature", person.name, True)
    root = gm.load_cert((await api.get("/api/v1/ca/sm2-root.pem")).body)
    issuing = gm.load_cert((await api.get("/api/v1/ca/sm2-issuing.pem")).body)
    [own] = gm.check_ofd(result.body)
    _check_personal(own, person, await _sm2_serial(api, person), issuing, root)
    usage = await api.get("/api/v1/usage-records", token=person.token)
    assert [i for i in usage.json["items"] if i["request_id"] == created["request_id"]] == []


async def test_an_ofd_waiting_for_approval_keeps_the_persons_signature_until_approved(
        api: Api, platform: Platform) -> None:
    """用印审批 on an OFD with a signature placement: the person's SM2 signature is made at the
    stamp call; on approval the seal follows over it and the person's record names the SM2
    certificate that signed."""
    enterprise = await new_enterprise(api)
    seal = await new_seal(api, enterprise, "contract")
    person = await _with_signature(api)
    await grant(api, enterprise, seal["seal_id"], person)
    policy = await set_policy(api, enterprise, seal["seal_id"], [enterprise.id])
    assert policy.status == 200, policy
    token = await client_token(api, create_client(platform, "公文审批系统"))
    created = await _request(api, token, [
        {"page": SEAL_AT[0], "x": SEAL_AT[1], "y": SEAL_AT[2]},
        {"kind": "signature", "page": SIGNATURE_AT[0], "x": SIGNATURE_AT[1], "y": SIGNATURE_AT[2]}])
    assert (await scan(api, person, created["qr_payload"])).status == 200
    waiting = await _stamp(api, person, created["request_id"], {
        "enterprise_id": enterprise.id, "seal_id": seal["seal_id"],
        "certificate_password": CERT_PASSWORD})
    assert waiting.status == 202 and waiting.json["status"] == "awaiting_approval", waiting
    approved = await approve(api, enterprise, waiting.json["approval_id"])
    assert approved.status == 200 and approved.json["status"] == "granted", approved

    result = await api.get(f"/api/v1/stamp-requests/{created['request_id']}/result", token=token)
    assert result.status == 200 and result.headers["Content-Type"] == "application/ofd", result
    v = await verify(api, result.body)
    assert v.status == 200 and v.json["result"] == "passed", v
    mine, sealed = v.json["signatures"]
    assert (mine["kind"], mine["signer_name"], mine["recorded"]) == ("signature", person.name, True)
    assert (sealed["kind"], sealed["seal_id"], sealed["recorded"]) == ("seal", seal["seal_id"], True)
    own, by_seal = gm.check_ofd(result.body)
    assert own.ok and by_seal.ok
    assert own.signature is not None
    assert gm.load_cert(own.signature.signer_cert).serial_number == await _sm2_serial(api, person)
