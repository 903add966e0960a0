"""我的印章, 印章授权, the natural person's seals and 个人电子签名 on the whole platform:
real identity (registration, login, face checks), real certs (certificates, seal keys),
real agents, through the gateway.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import io
import re
import uuid
from datetime import date, timedelta
from typing import Any

import asyncpg
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, utils
from cryptography.x509.oid import NameOID
from PIL import Image, ImageDraw

from shared.china_time import today_in_china
from shared.internal import internal_token
from tests.conftest import Platform
from tests.support import identities as ids
from tests.support.api import Api, Reply
from tests.support.polling import eventually

pytestmark = pytest.mark.e2e

DEV_INTERNAL_SECRET = "dev-only-internal-secret-change-me-in-production"
CERT_PASSWORD = "Seal#2026pw"
TODAY = today_in_china()


# --- helpers -------------------------------------------------------------------------------


def is_problem(r: Reply, status: int, code: str) -> bool:
    return (r.status == status and r.headers["Content-Type"].startswith("application/problem+json")
            and r.json["code"] == code)


def internal(target: str = "seals") -> dict[str, str]:
    return {"Authorization": "Internal " + internal_token(DEV_INTERNAL_SECRET, "stamping", target)}


async def activate_certificate(api: Api, token: str, phone: str) -> None:
    sent = await api.post("/api/v1/certificate/activation-codes", token=token)
    assert sent.status == 202, sent
    sms = await api.get("/api/v1/sandbox/sms", params={"phone": phone})
    code = re.search(r"验证码(\d{6})", sms.json["items"][0]["text"])
    assert code, sms
    agreements = await api.get("/api/v1/agreements")
    r = await api.post("/api/v1/certificate", token=token, json={
        "sms_code": code.group(1), "password": CERT_PASSWORD, "password_confirm": CERT_PASSWORD,
        "accepted_agreements": [{"code": a["code"], "version": a["version"]}
                                for a in agreements.json["items"]]})
    assert r.status == 201, r


async def enterprise(api: Api, *, certificate: bool = True) -> dict[str, Any]:
    body = await ids.register_enterprise(api)
    session = await ids.login(api, "enterprise", body["uscc"], body["password"])
    token = session["access_token"]
    if certificate:
        await activate_certificate(api, token, body["legal_representative"]["phone"])
    return {**body, "id": body["enterprise_id"], "token": token}


async def person(api: Api) -> dict[str, Any]:
    body = await ids.register_person(api)
    session = await ids.login(api, "person", body["phone"], body["password"])
    return {**body, "id": body["person_id"], "token": session["access_token"]}


async def agent(api: Api, ent: dict[str, Any], *, can_manage: bool,
                certificate: bool = True) -> dict[str, Any]:
    added = await ids.add_agent(api, ent["token"], can_manage=can_manage)
    session = await ids.login(api, "agent", added["phone"], added["password"], enterprise_uscc=ent["uscc"])
    token = session["access_token"]
    if certificate:
        await activate_certificate(api, token, added["phone"])
    return {**added, "id": added["agent_id"], "token": token}


async def issue(api: Api, who: dict[str, Any], type_code: str, name: str | None = None) -> Reply:
    body: dict[str, Any] = {"type": type_code,
                            "face_token": await ids.face_token(api, who["token"], "issue_seal")}
    if name is not None:
        body["name"] = name
    return await api.post("/api/v1/seals", token=who["token"], json=body)


async def revoke(api: Api, who: dict[str, Any], seal_id: str) -> Reply:
    face = await ids.face_token(api, who["token"], "revoke_seal")
    return await api.post(f"/api/v1/seals/{seal_id}/revocation", token=who["token"],
                          json={"face_token": face, "reason": "印章遗失"})


async def grant(api: Api, who: dict[str, Any], seal_id: str, grantee: dict[str, Any], *,
                valid_from: date | None = None, valid_to: date | None = None) -> Reply:
    return await api.post(f"/api/v1/seals/{seal_id}/grants", token=who["token"], json={
        "name": grantee["name"], "id_type": "resident_id_card", "id_number": grantee["id_number"],
        "valid_from": (valid_from or TODAY - timedelta(days=1)).isoformat(),
        "valid_to": (valid_to or TODAY + timedelta(days=30)).isoformat()})


async def stamp(api: Api, platform: Platform, seal_id: str, grantee: dict[str, Any],
                ent: dict[str, Any], digest: bytes) -> Reply:
    return await api.post(platform.internal_url("seals") + f"/internal/seals/{seal_id}/stamp-signatures",
                          headers=internal(), json={"person_id": grantee["id"], "enterprise_id": ent["id"],
                                                    "digest_b64": base64.b64encode(digest).decode()})


async def seals_events(platform: Platform) -> int:
    conn = await asyncpg.connect(f"postgresql://postgres@127.0.0.1:5432/{platform.config.db_prefix}seals")
    try:
        return int(await conn.fetchval("SELECT count(*) FROM events"))
    finally:
        await conn.close()


def decoded(png: bytes) -> Image.Image:
    img = Image.open(io.BytesIO(png))
    assert img.format == "PNG"
    img.load()
    return img.convert("RGBA")


def red_share(img: Image.Image) -> float:
    visible = [p for p in img.getdata() if p[3] > 128]
    return sum(1 for p in visible if p[0] > 150 and p[1] < 90 and p[2] < 90) / max(1, len(visible))


@pytest.fixture()
async def ent(api: Api) -> dict[str, Any]:
    return await enterprise(api)


# --- seal types and previews -------------------------------------------------------------


async def test_seal_types_and_default_names(api: Api, ent: dict[str, Any]) -> None:
    anonymous = await api.get("/api/v1/seal-types")
    assert anonymous.status == 200
    codes = {t["code"]: t for t in anonymous.json["items"]}
    assert {"official", "contract", "finance", "invoice", "legal_representative"} <= set(codes)
    assert (codes["invoice"]["shape"], codes["legal_representative"]["shape"]) == ("oval", "square")
    mine = await api.get("/api/v1/seal-types", token=ent["token"])
    defaults = {t["code"]: t["default_name"] for t in mine.json["items"]}
    assert defaults["contract"] == ent["name"] + "合同专用章"
    assert defaults["legal_representative"] == ent["legal_representative"]["name"]


async def test_previews_are_seal_images_and_create_nothing(api: Api, ent: dict[str, Any],
                                                           platform: Platform) -> None:
    before = await seals_events(platform)
    for type_code in ("official", "contract", "finance", "invoice", "legal_representative"):
        first = await api.post("/api/v1/seals/preview", token=ent["token"], json={"type": type_code})
        second = await api.post("/api/v1/seals/preview", token=ent["token"], json={"type": type_code})
        assert first.status == 200 and first.headers["Content-Type"] == "image/png", first
        assert first.body == second.body  # deterministic
        img = decoded(first.body)
        assert img.width >= 600  # at least 600 px across (the oval is 40 x 30 mm)
        assert img.height >= 600 or type_code == "invoice"
        assert img.getpixel((0, 0))[3] == 0 and img.getpixel((img.width // 2, 2))[3] == 0
        assert red_share(img) > 0.9
    edited = await api.post("/api/v1/seals/preview", token=ent["token"],
                            json={"type": "contract", "name": "吉林省示例有限公司合同专用章"})
    assert edited.status == 200 and edited.body != first.body
    assert await seals_events(platform) == before


async def test_bad_names_and_types_are_refused_clearly(api: Api, ent: dict[str, Any],
                                                       platform: Platform) -> None:
    before = await seals_events(platform)
    r = await api.post("/api/v1/seals/preview", token=ent["token"],
                       json={"type": "contract", "name": "吉林省\U000f0000科技有限公司合同专用章"})
    assert is_problem(r, 422, "unsupported_characters"), r
    assert "U+F0000" in r.json["detail"] and r.json["errors"][0]["field"] == "name"
    r = await api.post("/api/v1/seals/preview", token=ent["token"],
                       json={"type": "contract", "name": "章" * 51})
    assert is_problem(r, 422, "name_too_long")
    r = await api.post("/api/v1/seals/preview", token=ent["token"], json={"type": "stamp", "name": "x"})
    assert is_problem(r, 422, "unknown_seal_type") and r.json["errors"][0]["field"] == "type"
    for body in ({"type": "contract", "name": "章" * 51}, {"type": "stamp"},
                 {"type": "contract", "name": "示例😀合同专用章"}):
        body["face_token"] = await ids.face_token(api, ent["token"], "issue_seal")
        r = await api.post("/api/v1/seals", token=ent["token"], json=body)
        assert r.status == 422, r
    assert await seals_events(platform) == before
    assert (await api.get("/api/v1/seals", token=ent["token"])).json["items"] == []


# --- applying, listing, revoking -----------------------------------------------------------


async def test_enterprise_generates_lists_and_revokes_seals(api: Api, ent: dict[str, Any],
                                                            platform: Platform) -> None:
    made = await issue(api, ent, "contract")
    assert made.status == 201, made
    seal = made.json
    assert seal["status"] == "active" and seal["name"] == ent["name"] + "合同专用章"
    assert seal["certificate_serial"] and seal["revoked_at"] is None
    # the seal certificate is the seal's: enterprise, credit code, seal name
    record = await api.get(platform.internal_url("seals") + f"/internal/seals/{seal['seal_id']}",
                           headers=internal())
    cert = x509.load_pem_x509_certificate(record.json["certificate_pem"].encode())
    def subject(oid: x509.ObjectIdentifier) -> str:
        return str(cert.subject.get_attributes_for_oid(oid)[0].value)

    assert subject(NameOID.ORGANIZATION_IDENTIFIER) == ent["uscc"]
    assert subject(NameOID.COMMON_NAME) == seal["name"]
    assert subject(NameOID.ORGANIZATION_NAME) == ent["name"]
    assert int(seal["certificate_serial"], 16) == cert.serial_number
    taken = await issue(api, ent, "contract", "另一个合同专用章")
    assert is_problem(taken, 409, "seal_type_taken")
    invoice = await issue(api, ent, "invoice")
    assert invoice.status == 201
    image = await api.get(seal["image_url"], token=ent["token"])
    assert image.status == 200 and hashlib.sha256(image.body).hexdigest() == seal["image_sha256"]
    revoked = await revoke(api, ent, seal["seal_id"])
    assert revoked.status == 200 and revoked.json["status"] == "revoked" and revoked.json["revoked_at"]
    listed = await api.get("/api/v1/seals", token=ent["token"])
    by_id = {s["seal_id"]: s for s in listed.json["items"]}
    assert by_id[seal["seal_id"]]["status"] == "revoked"
    assert by_id[invoice.json["seal_id"]]["status"] == "active"
    assert is_problem(await revoke(api, ent, seal["seal_id"]), 409, "seal_revoked")
    again = await issue(api, ent, "contract")  # a revoked type may be applied for again
    assert again.status == 201 and again.json["seal_id"] != seal["seal_id"]
    # the revoked seal's certificate is in the CRL
    crl = x509.load_der_x509_crl((await eventually(lambda: _crl_with(api, cert.serial_number), 5, every=0.1,
                                                  what="the seal's serial in the CRL")).body)
    assert crl.get_revoked_certificate_by_serial_number(cert.serial_number) is not None


async def _crl_with(api: Api, serial: int) -> Reply | None:
    r = await api.get("/api/v1/ca/crl")
    crl = x509.load_der_x509_crl(r.body)
    return r if crl.get_revoked_certificate_by_serial_number(serial) is not None else None


async def test_generating_needs_an_activated_certificate(api: Api) -> None:
    ent = await enterprise(api, certificate=False)
    r = await issue(api, ent, "contract")
    assert is_problem(r, 403, "certificate_required"), r


async def test_two_concurrent_applications_for_one_type_make_one_seal(api: Api, ent: dict[str, Any]) -> None:
    faces = [await ids.face_token(api, ent["token"], "issue_seal") for _ in range(5)]
    replies = await asyncio.gather(*(api.post("/api/v1/seals", token=ent["token"],
                                              json={"type": "finance", "face_token": f}) for f in faces))
    assert sorted(r.status for r in replies) == [201, 409, 409, 409, 409], replies
    listed = await api.get("/api/v1/seals", token=ent["token"])
    assert [s["type"] for s in listed.json["items"]] == ["finance"]


# --- who may do what -------------------------------------------------------------------------


async def test_authorization_matrix(api: Api, ent: dict[str, Any]) -> None:
    other = await enterprise(api)
    theirs = (await issue(api, other, "contract")).json["seal_id"]
    mine = (await issue(api, ent, "contract")).json["seal_id"]
    grantee = await person(api)
    grant_id = (await grant(api, ent, mine, grantee)).json["grant_id"]
    viewer = await agent(api, ent, can_manage=False, certificate=True)
    manager = await agent(api, ent, can_manage=True)
    # an agent of A sees nothing of B
    for path in (f"/api/v1/seals/{theirs}", f"/api/v1/seals/{theirs}/image",
                 f"/api/v1/seals/{theirs}/grants"):
        assert (await api.get(path, token=manager["token"])).status == 404, path
    assert (await revoke(api, manager, theirs)).status == 404
    # an agent without the permission may look but not change
    assert (await api.get("/api/v1/seals", token=viewer["token"])).status == 200
    assert (await api.get(f"/api/v1/seals/{mine}/grants", token=viewer["token"])).status == 200
    refused = [
        await issue(api, viewer, "finance"),
        await revoke(api, viewer, mine),
        await grant(api, viewer, mine, await person(api)),
        await api.patch(f"/api/v1/seals/{mine}/grants/{grant_id}", token=viewer["token"],
                        json={"valid_to": TODAY.isoformat()}),
        await api.delete(f"/api/v1/seals/{mine}/grants/{grant_id}", token=viewer["token"]),
    ]
    for r in refused:
        assert is_problem(r, 403, "management_permission_required"), r
    # the manager may, with its own face check
    made = await issue(api, manager, "finance")
    assert made.status == 201, made
    # persons and enterprises stay on their side
    assert is_problem(await api.get("/api/v1/seals", token=grantee["token"]), 403, "role_not_allowed")
    assert is_problem(await api.get("/api/v1/my/enterprises", token=ent["token"]), 403, "role_not_allowed")
    assert (await api.get("/api/v1/seals")).status == 401


async def test_removed_agent_and_withdrawn_permission_take_effect(api: Api, ent: dict[str, Any]) -> None:
    seal_id = (await issue(api, ent, "contract")).json["seal_id"]
    manager = await agent(api, ent, can_manage=True)
    assert (await api.get(f"/api/v1/seals/{seal_id}", token=manager["token"])).status == 200
    # the enterprise withdraws the permission: the agent logs in again and may only look
    r = await api.patch(f"/api/v1/agents/{manager['id']}", token=ent["token"], json={"can_manage": False})
    assert r.status == 200
    session = await ids.login(api, "agent", manager["phone"], manager["password"],
                              enterprise_uscc=ent["uscc"])
    token = session["access_token"]

    async def refused() -> bool:
        r = await revoke(api, {**manager, "token": token}, seal_id)
        return is_problem(r, 403, "management_permission_required")

    await eventually(refused, 5, every=0.1, what="the withdrawn permission refused")
    assert (await api.get(f"/api/v1/seals/{seal_id}", token=token)).status == 200
    # removed: its token stops working
    assert (await api.delete(f"/api/v1/agents/{manager['id']}", token=ent["token"])).status == 204

    async def dead() -> bool:
        return (await api.get("/api/v1/seals", token=token)).status in (401, 403)

    await eventually(dead, 5, every=0.1, what="the removed agent's token refused")


# --- grants and the natural person's side --------------------------------------------------


async def test_grants_and_a_person_with_seals_of_two_enterprises(api: Api, ent: dict[str, Any],
                                                                 platform: Platform) -> None:
    other = await enterprise(api)
    p = await person(api)
    a1 = (await issue(api, ent, "contract")).json["seal_id"]
    a2 = (await issue(api, ent, "finance")).json["seal_id"]
    b1 = (await issue(api, other, "official")).json["seal_id"]
    made = await grant(api, ent, a1, p)
    assert made.status == 201, made
    assert made.json["person"]["name"] == p["name"]
    assert made.json["person"]["id_number_masked"].endswith(p["id_number"][-4:])
    assert p["id_number"] not in str(made.json) and made.json["status"] == "active"
    assert (await grant(api, ent, a2, p)).status == 201
    assert (await grant(api, other, b1, p)).status == 201
    mine = await api.get("/api/v1/my/enterprises", token=p["token"])
    assert mine.status == 200
    got = {e["enterprise_id"]: e for e in mine.json["items"]}
    assert set(got) == {ent["id"], other["id"]}
    assert got[ent["id"]]["name"] == ent["name"] and got[ent["id"]]["seal_count"] == 2
    seals_a = await api.get(f"/api/v1/my/enterprises/{ent['id']}/seals", token=p["token"])
    assert {s["seal_id"] for s in seals_a.json["items"]} == {a1, a2}
    assert all(s["grant"]["status"] == "active" for s in seals_a.json["items"])
    seals_b = await api.get(f"/api/v1/my/enterprises/{other['id']}/seals", token=p["token"])
    assert {s["seal_id"] for s in seals_b.json["items"]} == {b1}
    detail = await api.get(f"/api/v1/my/enterprises/{ent['id']}/seals/{a1}", token=p["token"])
    assert detail.status == 200 and detail.json["type"] == "contract"
    image = await api.get(detail.json["image_url"], token=p["token"])
    assert image.status == 200 and image.headers["Content-Type"] == "image/png"
    assert (await api.get(f"/api/v1/my/enterprises/{other['id']}/seals/{a1}", token=p["token"])).status == 404
    stranger = await person(api)
    assert (await api.get("/api/v1/my/enterprises", token=stranger["token"])).json["items"] == []
    assert (await api.get(f"/api/v1/my/enterprises/{ent['id']}/seals/{a1}",
                          token=stranger["token"])).status == 404
    # stamping's view: usable seals by enterprise
    choices = await api.get(platform.internal_url("seals") + f"/internal/persons/{p['id']}/choices",
                            headers=internal())
    assert {c["enterprise_id"]: {s["seal_id"] for s in c["seals"]} for c in choices.json["items"]} == \
        {ent["id"]: {a1, a2}, other["id"]: {b1}}
    # revoked seals, deleted and ended grants disappear at once
    await revoke(api, ent, a2)
    listed = await api.get(f"/api/v1/my/enterprises/{ent['id']}/seals", token=p["token"])
    assert {s["seal_id"] for s in listed.json["items"]} == {a1}
    await api.delete(f"/api/v1/seals/{a1}/grants/{made.json['grant_id']}", token=ent["token"])
    listed = await api.get("/api/v1/my/enterprises", token=p["token"])
    assert [e["enterprise_id"] for e in listed.json["items"]] == [other["id"]]


async def test_grant_window_edit_and_pending_grants(api: Api, ent: dict[str, Any]) -> None:
    seal_id = (await issue(api, ent, "contract")).json["seal_id"]
    p = await person(api)
    made = await grant(api, ent, seal_id, p, valid_from=TODAY + timedelta(days=3),
                       valid_to=TODAY + timedelta(days=10))
    assert made.status == 201 and made.json["status"] == "pending"
    mine = await api.get(f"/api/v1/my/enterprises/{ent['id']}/seals", token=p["token"])
    assert mine.json["items"][0]["grant"]["status"] == "pending" and mine.json["items"][0]["usable"] is False
    path = f"/api/v1/seals/{seal_id}/grants/{made.json['grant_id']}"
    r = await api.patch(path, token=ent["token"], json={"valid_from": TODAY.isoformat()})
    assert r.status == 200 and r.json["status"] == "active"
    r = await api.patch(path, token=ent["token"], json={"valid_to": (TODAY - timedelta(days=1)).isoformat()})
    assert is_problem(r, 422, "invalid_window")
    listed = await api.get(f"/api/v1/seals/{seal_id}/grants", token=ent["token"])
    assert [g["status"] for g in listed.json["items"]] == ["active"]


async def test_bad_grants_are_refused_and_write_nothing(api: Api, ent: dict[str, Any],
                                                        platform: Platform) -> None:
    seal_id = (await issue(api, ent, "contract")).json["seal_id"]
    p = await person(api)
    before = await seals_events(platform)
    base = {"name": p["name"], "id_type": "resident_id_card", "id_number": p["id_number"]}
    cases = [
        ({**base, "name": p["name"] + "某"}, 422, "person_not_registered"),
        ({**base, "id_number": ids.id_number()}, 422, "person_not_registered"),
        ({**base, "valid_from": "2031-05-02", "valid_to": "2031-05-01"}, 422, "invalid_window"),
        ({**base, "valid_from": "not a date", "valid_to": "2031-05-01"}, 422, "validation_failed"),
    ]
    for body, status, code in cases:
        body.setdefault("valid_from", TODAY.isoformat())
        body.setdefault("valid_to", (TODAY + timedelta(days=5)).isoformat())
        r = await api.post(f"/api/v1/seals/{seal_id}/grants", token=ent["token"], json=body)
        assert is_problem(r, status, code), (body, r)
        assert r.json.get("errors"), r
    assert await seals_events(platform) == before
    assert (await api.get(f"/api/v1/seals/{seal_id}/grants", token=ent["token"])).json["items"] == []
    await revoke(api, ent, seal_id)
    assert is_problem(await grant(api, ent, seal_id, p), 409, "seal_revoked")


# --- personal signature -----------------------------------------------------------------------


def handwriting() -> str:
    img = Image.new("RGB", (480, 180), "white")
    ImageDraw.Draw(img).line([(30, 140), (140, 40), (250, 150), (360, 50), (450, 120)], fill="black", width=9)
    out = io.BytesIO()
    img.save(out, format="PNG")
    return base64.b64encode(out.getvalue()).decode()


async def test_personal_signature(api: Api, platform: Platform) -> None:
    p = await person(api)
    assert (await api.get("/api/v1/my/signature", token=p["token"])).status == 404
    before = await seals_events(platform)
    bad = [
        ({"method": "handwritten", "image_png": "!!!"}, 422, "invalid_base64"),
        ({"method": "handwritten", "image_png": base64.b64encode(b"GIF89a" + b"0" * 100).decode()}, 422,
         "not_png"),
        ({"method": "handwritten",
          "image_png": base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\0" * (2 * 1024 * 1024 + 1)).decode()},
         413, "image_too_large"),
    ]
    for body, status, code in bad:
        r = await api.post("/api/v1/my/signature", token=p["token"], json=body)
        assert is_problem(r, status, code), r
        assert r.json["errors"][0]["field"] == "image_png"
    assert await seals_events(platform) == before
    made = await api.post("/api/v1/my/signature", token=p["token"], json={"method": "generated"})
    assert made.status == 201 and made.json["method"] == "generated", made
    img = decoded((await api.get("/api/v1/my/signature/image", token=p["token"])).body)
    assert img.getpixel((0, 0))[3] == 0
    again = await api.post("/api/v1/my/signature", token=p["token"],
                           json={"method": "handwritten", "image_png": handwriting()})
    assert is_problem(again, 409, "signature_exists")
    assert (await api.delete("/api/v1/my/signature", token=p["token"])).status == 204
    hand = await api.post("/api/v1/my/signature", token=p["token"],
                          json={"method": "handwritten", "image_png": handwriting()})
    assert hand.status == 201 and hand.json["method"] == "handwritten"
    assert (await api.get("/api/v1/my/signature", token=p["token"])).json["signature_id"] == \
        hand.json["signature_id"]


# --- what stamping relies on -----------------------------------------------------------------


async def test_stamp_signatures_are_made_with_the_seal_key(api: Api, ent: dict[str, Any],
                                                           platform: Platform) -> None:
    seal_id = (await issue(api, ent, "contract")).json["seal_id"]
    p = await person(api)
    await grant(api, ent, seal_id, p)
    digest = hashlib.sha256(b"a contract").digest()
    r = await stamp(api, platform, seal_id, p, ent, digest)
    assert r.status == 200, r
    cert = x509.load_pem_x509_certificate(r.json["certificate_pem"].encode())
    key = cert.public_key()
    assert isinstance(key, ec.EllipticCurvePublicKey)
    key.verify(base64.b64decode(r.json["signature_b64"]), digest,
               ec.ECDSA(utils.Prehashed(hashes.SHA256())))
    assert r.json["seal"]["enterprise_uscc"] == ent["uscc"] and r.json["seal"]["type_label"] == "合同专用章"
    assert len(r.json["chain_pem"]) == 2
    stranger = await person(api)
    assert is_problem(await stamp(api, platform, seal_id, stranger, ent, digest), 403, "not_authorized")
    await revoke(api, ent, seal_id)
    assert is_problem(await stamp(api, platform, seal_id, p, ent, digest), 409, "seal_revoked")


async def test_no_stamp_signature_after_the_revocation_was_answered(api: Api, platform: Platform) -> None:
    """Revoke while many signature requests run, several times: nothing sent after the
    revocation was answered is signed."""
    for _ in range(3):
        ent = await enterprise(api)
        seal_id = (await issue(api, ent, "contract")).json["seal_id"]
        p = await person(api)
        await grant(api, ent, seal_id, p)
        face = await ids.face_token(api, ent["token"], "revoke_seal")
        answered: list[float] = []
        results: list[tuple[float, int]] = []
        loop = asyncio.get_running_loop()

        async def one(delay: float, ent: dict[str, Any] = ent, seal_id: str = seal_id,
                      p: dict[str, Any] = p) -> None:
            await asyncio.sleep(delay)
            sent = loop.time()
            r = await stamp(api, platform, seal_id, p, ent, uuid.uuid4().bytes * 2)
            assert r.status in (200, 409), r
            results.append((sent, r.status))

        async def revoker(ent: dict[str, Any] = ent, seal_id: str = seal_id, face: str = face) -> None:
            await asyncio.sleep(0.05)
            r = await api.post(f"/api/v1/seals/{seal_id}/revocation", token=ent["token"],
                               json={"face_token": face})
            assert r.status == 200, r
            answered.append(loop.time())

        await asyncio.gather(revoker(), *(one(i * 0.015) for i in range(20)))
        assert any(status == 200 for _, status in results)  # the race did happen
        late = [sent for sent, status in results if status == 200 and sent > answered[0]]
        assert late == []
        assert is_problem(await stamp(api, platform, seal_id, p, ent, b"\0" * 32), 409, "seal_revoked")


# --- the events subscribers get --------------------------------------------------------------


async def test_public_events_reach_subscribers_without_secrets(api: Api, ent: dict[str, Any],
                                                              platform: Platform) -> None:
    import json

    import aio_pika

    from shared.bus import declare_events_exchange

    connection = await aio_pika.connect_robust(platform.config.amqp_url)
    try:
        channel = await connection.channel()
        exchange = await declare_events_exchange(channel)
        queue = await channel.declare_queue(exclusive=True, auto_delete=True)
        await queue.bind(exchange, routing_key="seals.#")
        p = await person(api)
        seal_id = (await issue(api, ent, "contract")).json["seal_id"]
        grant_id = (await grant(api, ent, seal_id, p)).json["grant_id"]
        await api.patch(f"/api/v1/seals/{seal_id}/grants/{grant_id}", token=ent["token"],
                        json={"valid_to": (TODAY + timedelta(days=2)).isoformat()})
        await api.delete(f"/api/v1/seals/{seal_id}/grants/{grant_id}", token=ent["token"])
        await revoke(api, ent, seal_id)
        await api.post("/api/v1/my/signature", token=p["token"], json={"method": "generated"})
        await api.delete("/api/v1/my/signature", token=p["token"])
        wanted = ["SealIssued", "AuthorizationGranted", "AuthorizationUpdated", "AuthorizationRevoked",
                  "SealRevoked", "PersonalSignatureCreated", "PersonalSignatureDeleted"]
        got: list[dict[str, Any]] = []
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 15
        while len(got) < len(wanted) and loop.time() < deadline:
            message = await queue.get(fail=False)
            if message is None:
                await asyncio.sleep(0.1)
                continue
            await message.ack()
            envelope = json.loads(message.body)
            if envelope["stream_id"] in (seal_id, grant_id) or envelope["data"].get("person_id") == p["id"]:
                assert message.message_id == envelope["event_id"]
                got.append(envelope)
    finally:
        await connection.close()
    assert [e["type"] for e in got] == wanted
    assert all(e["producer"] == "seals" for e in got)
    assert got[0]["data"]["enterprise_id"] == ent["id"] and got[0]["data"]["type"] == "contract"
    assert got[1]["data"]["person_id"] == p["id"] and got[1]["data"]["valid_to"]
    text = json.dumps(got, ensure_ascii=False)
    assert p["id_number"] not in text and p["phone"] not in text and ent["password"] not in text
