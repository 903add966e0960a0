"""The whole user manual (吉事办 电子印章功能用户操作手册 V1.0.0), end to end, in one test.

Every step the manual describes is done once, in the manual's order of use, through the
gateway against the real services (identity, agents, certs, seals, stamping, notify): an
enterprise and a person register and log in; the enterprise adds a managing agent; the three
activate their certificates; the agent previews and creates a seal and grants it to the person;
the person chooses the enterprise and sees the seal; a relying system asks for a stamp, the
person scans and stamps, the relying system gets a PDF that the platform verifies; the usage
record and the messages are there; the certificate password is changed; the seal is revoked
and can no longer be seen or used; the personal signature is made both ways; the agent is
edited, gets a new password and is deleted, which ends its session.

Each step carries a comment quoting the manual section it walks. Nothing sleeps blindly:
what is eventually consistent (a new person reaching seals, messages) is polled with a
deadline. ``-s`` prints the time of every step.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import hashlib
import io
import time
from datetime import date, timedelta
from typing import Any

import aiohttp
import pytest
from PIL import Image, ImageDraw

from shared.china_time import today_in_china
from tests.conftest import Platform
from tests.support import identities as ids
from tests.support import relying
from tests.support.api import Api, Reply
from tests.support.certificates import activate_certificate
from tests.support.pdf_fixtures import make_test_pdf
from tests.support.polling import eventually
from tests.support.sse import message_stream

pytestmark = pytest.mark.e2e

CERT_PASSWORD = "Cert#2026pw"
NEW_CERT_PASSWORD = "Cert#2027new"
REQUESTER = "吉林省工程建设项目审批系统"
TITLE = "建设工程规划许可申请表"
PAGE, X, Y = 2, 400.0, 250.0
MESSAGE_DEADLINE = 10.0  # notify is eventually consistent; this is far above its usual lag


# small helpers of the walk ------------------------------------------------------------------


class Steps:
    """Prints each step with the time since the walk began (visible with ``-s``)."""

    def __init__(self) -> None:
        self.started = time.monotonic()

    def __call__(self, name: str) -> None:
        print(f"  [{time.monotonic() - self.started:6.2f}s] {name}", flush=True)


def is_problem(r: Reply, status: int, *codes: str) -> bool:
    return (r.status == status and r.headers.get("Content-Type", "").startswith("application/problem+json")
            and r.json.get("code") in codes)


def png(body: bytes) -> Image.Image:
    img = Image.open(io.BytesIO(body))
    assert img.format == "PNG"
    img.load()
    return img


def handwriting() -> str:
    """A signature drawn on the app's writing pad, as base64 PNG."""
    img = Image.new("RGBA", (480, 180), (255, 255, 255, 0))
    ImageDraw.Draw(img).line([(30, 140), (120, 40), (210, 150), (300, 50), (450, 120)],
                             fill=(0, 0, 0, 255), width=9)
    out = io.BytesIO()
    img.save(out, format="PNG")
    return base64.b64encode(out.getvalue()).decode()


async def certificate_active(api: Api, token: str) -> bool:
    me = await api.get("/api/v1/me", token=token)
    assert me.status == 200, me
    return bool(me.json["certificate_status"] == "active")


async def face_login(api: Api, role: str, username: str) -> dict[str, Any]:
    """②人脸验证登录: a login face check (anonymous), passed in the sandbox, then the session."""
    token = await ids.face_token(api, None, "login", role=role, username=username)
    r = await api.post("/api/v1/sessions", json={"method": "face", "role": role, "username": username,
                                                  "face_token": token})
    assert r.status == 201, r
    return dict(r.json)


async def grant(api: Api, token: str, seal_id: str, grantee: dict[str, Any],
                valid_to: date) -> dict[str, Any]:
    body = {"name": grantee["name"], "id_type": "resident_id_card", "id_number": grantee["id_number"],
            "valid_from": (today_in_china() - timedelta(days=1)).isoformat(),
            "valid_to": valid_to.isoformat()}
    last: list[Reply] = []

    async def attempt() -> Reply | None:  # seals learns of a new person from identity's events
        r = await api.post(f"/api/v1/seals/{seal_id}/grants", token=token, json=body)
        last[:] = [r]
        return None if is_problem(r, 422, "person_not_registered") else r

    r = await eventually(attempt, what="seals knowing the registered person", last=lambda: last)
    assert r.status == 201, r
    return dict(r.json)


async def issue_seal(api: Api, token: str, type_code: str, name: str) -> dict[str, Any]:
    face = await ids.face_token(api, token, "issue_seal")
    r = await api.post("/api/v1/seals", token=token,
                       json={"type": type_code, "name": name, "face_token": face})
    assert r.status == 201, r
    return dict(r.json)


async def scan(api: Api, token: str, qr_payload: str) -> Reply:
    return await api.post("/api/v1/scans", token=token, json={"qr_payload": qr_payload})


async def stamp(api: Api, token: str, request_id: str, enterprise_id: str, seal_id: str,
                password: str) -> Reply:
    return await api.post(f"/api/v1/stamp-requests/{request_id}/stamp", token=token, json={
        "enterprise_id": enterprise_id, "seal_id": seal_id, "certificate_password": password})


async def status_of(api: Api, client_token: str, request_id: str) -> dict[str, Any]:
    r = await api.get(f"/api/v1/stamp-requests/{request_id}", token=client_token)
    assert r.status == 200, r
    return dict(r.json)


async def messages_with(api: Api, token: str, *kinds: str) -> dict[str, dict[str, Any]]:
    """Poll ``GET /api/v1/messages`` until a message of each kind is there; the newest of each."""
    seen: list[Any] = []

    async def probe() -> dict[str, dict[str, Any]] | None:
        r = await api.get("/api/v1/messages", token=token)
        assert r.status == 200, r
        seen[:] = [r.json]
        by_kind: dict[str, dict[str, Any]] = {}
        for m in r.json["items"]:
            by_kind.setdefault(m["kind"], m)
        return by_kind if set(kinds) <= set(by_kind) else None

    return await eventually(probe, within=MESSAGE_DEADLINE, every=0.1,
                            what=f"messages {kinds}", last=lambda: seen)


async def verify(api: Api, document: bytes) -> Reply:
    form = aiohttp.FormData()
    form.add_field("document", document, filename="stamped.pdf", content_type="application/pdf")
    return await api.post("/api/v1/verifications", data=form)


# the walk -------------------------------------------------------------------------------------


async def test_the_user_manual_end_to_end(api: Api, platform: Platform) -> None:
    step = Steps()
    today = today_in_china()
    # 四. 电子印章使用 — "需要盖章系统": ops register the relying system with the stamping CLI.
    # It starts a Python process, so it runs alongside the first steps.
    client_made = asyncio.create_task(relying.create_client(platform, REQUESTER))
    try:
        await walk(api, platform, step, today, client_made)
    finally:
        if not client_made.done():
            client_made.cancel()
        await asyncio.gather(client_made, return_exceptions=True)


async def walk(api: Api, platform: Platform, step: Steps, today: date,
               client_made: asyncio.Task[relying.RelyingSystem]) -> None:
    first_until, grant_until = today + timedelta(days=30), today + timedelta(days=90)

    # ---------------------------------------------------------------------------------------
    # 二.1 用户登录 — "企业用户注册统一身份认证，注册成功后登录吉事办 APP"
    step("二.1 企业注册, 三.1 自然人注册")
    ent = await ids.register_enterprise(api)
    ent_id, uscc = ent["enterprise_id"], ent["uscc"]
    # 三.1 自然人用户登录 — "自然人注册统一身份认证后..."
    person = await ids.register_person(api)
    person_id = person["person_id"]

    # 二.1 — "①账号密码登录"
    step("二.1 企业登录: 账号密码, 人脸验证")
    by_password = await ids.login(api, "enterprise", uscc, ent["password"])
    assert by_password["principal"]["id"] == ent_id and by_password["principal"]["role"] == "enterprise"
    # 二.1 — "②人脸验证登录（需要扫描企业法人本人的人脸进行验证）"
    by_face = await face_login(api, "enterprise", uscc)
    assert by_face["principal"]["id"] == ent_id and by_face["principal"]["name"] == ent["name"]
    ent_token = by_face["access_token"]
    me = await api.get("/api/v1/me", token=ent_token)
    assert me.status == 200 and me.json["certificate_status"] == "none", me
    assert me.json["phone_masked"].endswith(ent["legal_representative"]["phone"][-4:])

    # ---------------------------------------------------------------------------------------
    # 二.2(1) 经办人管理入口 — "在【我的】中点击【我的经办人】，进入经办人列表页面"
    step("二.2(1) 经办人列表, 二.2(2) 经办人添加 (人脸验证 add_agent)")
    listed = await api.get("/api/v1/agents", token=ent_token)
    assert listed.status == 200 and listed.json["items"] == [], listed
    # 二.2(2) 经办人添加 — "输入经办人信息（包含经办人身份四要素信息和有效开始时间结束时间，需要设定
    # 经办人是否具有管理权限）... 填写后需要进行操作人员的人脸验证"
    agent = await ids.add_agent(api, ent_token, can_manage=True)
    agent_id = agent["agent_id"]
    assert agent["status"] == "active" and agent["can_manage"] is True
    assert agent["id_number_masked"].endswith(agent["id_number"][-4:])
    assert agent["id_number"] not in str({k: v for k, v in agent.items() if k != "id_number"})
    # "返回列表可查看新增的经办人信息"
    listed = await api.get("/api/v1/agents", token=ent_token)
    assert [(a["agent_id"], a["name"], a["can_manage"]) for a in listed.json["items"]] == \
        [(agent_id, agent["name"], True)], listed

    # 二.2(2) — "如果具有，经办人登录以后可以维护企业印章信息，授权印章等操作"
    step("经办人登录")
    agent_session = await ids.login(api, "agent", agent["phone"], agent["password"], enterprise_uscc=uscc)
    assert agent_session["principal"]["role"] == "agent" and agent_session["principal"]["id"] == agent_id
    assert agent_session["principal"]["enterprise_id"] == ent_id and agent_session["principal"]["can_manage"]
    agent_token = agent_session["access_token"]

    # 三.1 自然人用户登录 — "①账号密码登录②人脸验证登录"
    step("三.1 自然人登录: 账号密码, 人脸验证")
    by_password = await ids.login(api, "person", person["phone"], person["password"])
    assert by_password["principal"] == {"id": person_id, "role": "person", "name": person["name"]}
    by_face = await face_login(api, "person", person["phone"])
    assert by_face["principal"]["id"] == person_id
    person_token = by_face["access_token"]

    # ---------------------------------------------------------------------------------------
    # 二.3 数字证书激活 — "(1) 首次进入该功能的用户需先进行数字证书激活，基于登录用户绑定的手机号，
    # 系统自动发送短信验证码... 输入验证码后设定证书验证密码。(2) 设定密码后点击【激活】按钮...
    # 用户需要同意数字证书等协议才可以使用印章功能"
    step("二.3 / 三.3 数字证书激活: 企业, 经办人, 自然人")
    ent_cert = await activate_certificate(api, ent_token, ent["legal_representative"]["phone"], CERT_PASSWORD)
    agent_cert = await activate_certificate(api, agent_token, agent["phone"], CERT_PASSWORD)
    # 三.3 数字证书激活 — "激活证书需要获取手机验证码... 输入验证码后设定证书数字密码"
    person_cert = await activate_certificate(api, person_token, person["phone"], CERT_PASSWORD)
    assert {c["status"] for c in (ent_cert, agent_cert, person_cert)} == {"active"}
    assert len({c["serial_number"] for c in (ent_cert, agent_cert, person_cert)}) == 3
    # 二.6 数字证书 — "企业法人和自然人用户可以查看数字证书"
    for token, cert in ((ent_token, ent_cert), (person_token, person_cert)):
        shown = await api.get("/api/v1/certificate", token=token)
        assert shown.status == 200 and shown.json["serial_number"] == cert["serial_number"], shown
    # identity learns of the activation from certs' event: the app's "已激活" follows shortly
    for token in (ent_token, agent_token, person_token):
        await eventually(functools.partial(certificate_active, api, token),
                         what="/me certificate_status active")

    # ---------------------------------------------------------------------------------------
    # 二.4(1)(2) 我的印章 — "印章列表显示企业已申请的印章和已作废的印章" (none yet)
    step("二.4(3) 添加电子印章: 经办人预览, 生成 (人脸验证 issue_seal)")
    seals = await api.get("/api/v1/seals", token=agent_token)
    assert seals.status == 200 and seals.json["items"] == [], seals
    # 二.4(3) 添加电子印章 — "用户选择需要申请的印章类型，APP 根据选择的印章类型和企业名称自动拼接
    # 回显组合的印章名称，用户可以自行调整名称内容，印章名称最多输入 50 个字"
    types = await api.get("/api/v1/seal-types", token=agent_token)
    assert types.status == 200, types
    official = next(t for t in types.json["items"] if t["code"] == "official")
    seal_name = official["default_name"]
    assert seal_name == ent["name"] + official["label"] and len(seal_name) <= 50
    # "点击【预览印章】可以预览印章生成样式"
    preview = await api.post("/api/v1/seals/preview", token=agent_token,
                             json={"type": "official", "name": seal_name})
    assert preview.status == 200 and preview.headers["Content-Type"] == "image/png", preview
    assert png(preview.body).width >= 600
    # a preview creates nothing
    assert (await api.get("/api/v1/seals", token=agent_token)).json["items"] == []
    # "点击【生成印章】后需要调用人脸验证页面进行本人人脸验证...（如果是经办人登录，验证经办人人脸）"
    seal = await issue_seal(api, agent_token, "official", seal_name)
    seal_id = seal["seal_id"]
    assert seal["status"] == "active" and seal["name"] == seal_name and seal["certificate_serial"]
    # "提示：每个印章类型只能申请一次"
    face = await ids.face_token(api, agent_token, "issue_seal")
    again = await api.post("/api/v1/seals", token=agent_token,
                           json={"type": "official", "name": seal_name, "face_token": face})
    assert is_problem(again, 409, "seal_type_taken"), again
    # 二.4(2) 电子印章列表 — "点击任一印章可查看印章详情"
    listed = await api.get("/api/v1/seals", token=ent_token)
    assert [(s["seal_id"], s["status"]) for s in listed.json["items"]] == [(seal_id, "active")], listed
    detail = await api.get(f"/api/v1/seals/{seal_id}", token=ent_token)
    assert detail.status == 200 and detail.json["name"] == seal_name, detail
    image = await api.get(detail.json["image_url"], token=ent_token)
    assert image.status == 200 and image.headers["Content-Type"] == "image/png"

    # 二.4(5) 印章授权 — "添加时需要填写已注册统一身份认证的用户身份信息和授权有效期，点击【保存】按钮，
    # 验证被授权人身份信息填写无误后，被授权人添加成功"
    step("二.4(5) 印章授权 (经办人授权给自然人)")
    granted = await grant(api, agent_token, seal_id, person, first_until)
    assert granted["status"] == "active" and granted["person"]["name"] == person["name"]
    assert granted["person"]["id_number_masked"].endswith(person["id_number"][-4:])
    # "编辑被授权人：点击人员列表的某一被授权人进入编辑页面，可修改被授权人的授权有效期，点击【保存】进行修改"
    edited = await api.patch(f"/api/v1/seals/{seal_id}/grants/{granted['grant_id']}", token=agent_token,
                             json={"valid_to": grant_until.isoformat()})
    assert edited.status == 200 and edited.json["valid_to"] == grant_until.isoformat(), edited
    # "(被授权人列表)"
    grants = await api.get(f"/api/v1/seals/{seal_id}/grants", token=ent_token)
    assert [(g["grant_id"], g["valid_to"], g["status"]) for g in grants.json["items"]] == \
        [(granted["grant_id"], grant_until.isoformat(), "active")], grants

    # A second enterprise has granted the person a seal too, so that 三.2's choice is a real one.
    step("另一企业: 注册, 激活, 生成印章, 授权同一自然人")
    other = await ids.register_enterprise(api)
    other_token = (await ids.login(api, "enterprise", other["uscc"], other["password"]))["access_token"]
    await activate_certificate(api, other_token, other["legal_representative"]["phone"], CERT_PASSWORD)
    other_seal = await issue_seal(api, other_token, "contract", other["name"] + "合同专用章")
    other_grant = await grant(api, other_token, other_seal["seal_id"], person, grant_until)

    # ---------------------------------------------------------------------------------------
    # 三.2(1) 选择企业 — "自然人存在多个企业的授权印章时，进入【我的印章】模块需要选择所属企业，
    # 选择某一企业后进入电子印章模块，所查看到的为该企业的印章"
    step("三.2 选择企业, 三.4 企业电子印章 (列表, 详情)")
    mine = await api.get("/api/v1/my/enterprises", token=person_token)
    assert mine.status == 200, mine
    assert {e["enterprise_id"]: (e["name"], e["seal_count"]) for e in mine.json["items"]} == {
        ent_id: (ent["name"], 1), other["enterprise_id"]: (other["name"], 1)}, mine
    # 三.4 企业电子印章 — "自然人可查看企业下已被授权的印章及印章详细信息"
    of_ent = await api.get(f"/api/v1/my/enterprises/{ent_id}/seals", token=person_token)
    assert [(s["seal_id"], s["name"], s["grant"]["status"]) for s in of_ent.json["items"]] == \
        [(seal_id, seal_name, "active")], of_ent
    assert of_ent.json["items"][0]["grant"]["valid_to"] == grant_until.isoformat()
    detail = await api.get(f"/api/v1/my/enterprises/{ent_id}/seals/{seal_id}", token=person_token)
    assert detail.status == 200, detail
    assert (detail.json["name"], detail.json["type"]) == (seal_name, "official"), detail
    image = await api.get(detail.json["image_url"], token=person_token)
    assert image.status == 200 and image.headers["Content-Type"] == "image/png", image
    # 三.2(2) — "自然人进入电子印章模块后可在首页进行企业切换"
    of_other = await api.get(f"/api/v1/my/enterprises/{other['enterprise_id']}/seals", token=person_token)
    assert [s["seal_id"] for s in of_other.json["items"]] == [other_seal["seal_id"]], of_other

    # ---------------------------------------------------------------------------------------
    # 四. 电子印章使用 — "通过吉事办扫一扫功能扫描需要盖章系统所出示的二维码，选择使用的电子印章所属企业，
    # 再 APP 中输入证书密码验证后，印章使用成功并生成一条印章使用记录"
    step("四. 盖章系统: 客户端 (CLI), OAuth 令牌, 盖章请求")
    client = await client_made
    client.token = await relying.client_token(api, client)
    pdf = make_test_pdf(pages=3)
    made = await relying.request_pdf_stamp(api, client.token, pdf, title=TITLE, page=PAGE, x=X, y=Y)
    assert made.status == 201 and made.json["status"] == "pending", made
    request_id, qr_payload = made.json["request_id"], made.json["qr_payload"]
    # "需要盖章系统所出示的二维码"
    qr = await api.get(made.json["qr_png_url"], token=client.token)
    assert qr.status == 200 and qr.headers["Content-Type"] == "image/png", qr
    png(qr.body)

    # "（点击扫一扫）"
    step("四. 扫一扫, 选择印章所属企业, 输入证书密码")
    scanned = await scan(api, person_token, qr_payload)
    assert scanned.status == 200, scanned
    assert scanned.json["request_id"] == request_id and scanned.json["title"] == TITLE
    assert scanned.json["requester"] == {"name": REQUESTER}
    assert scanned.json["document"]["sha256"] == hashlib.sha256(pdf).hexdigest()
    # "（选择印章所属企业）"
    choices = {c["enterprise_id"]: c for c in scanned.json["choices"]}
    assert set(choices) == {ent_id, other["enterprise_id"]}, scanned
    assert choices[ent_id]["enterprise_name"] == ent["name"]
    assert [s["seal_id"] for s in choices[ent_id]["seals"]] == [seal_id]
    # "(输入证书密码)"
    stamped = await stamp(api, person_token, request_id, ent_id, seal_id, CERT_PASSWORD)
    assert stamped.status == 201, stamped
    record_id = stamped.json["record_id"]

    # the relying system polls its request, then takes the stamped PDF
    step("四. 盖章系统取回盖章文件, 验证")

    async def stamped_status() -> dict[str, Any] | None:
        s = await status_of(api, client.token, request_id)
        return s if s["status"] == "stamped" else None

    status = await eventually(stamped_status, within=10, what="the request to show stamped")
    assert status["record_id"] == record_id, status
    result = await api.get(f"/api/v1/stamp-requests/{request_id}/result", token=client.token)
    assert result.status == 200 and result.headers["Content-Type"] == "application/pdf", result
    assert result.body.startswith(b"%PDF") and result.body != pdf
    verified = await verify(api, result.body)
    assert verified.status == 200 and verified.json["result"] == "passed", verified
    signature = verified.json["signatures"][0]
    assert signature["intact"] and signature["trusted"], signature
    assert (signature["seal_name"], signature["enterprise_name"], signature["signer_name"]) == \
        (seal_name, ent["name"], person["name"]), signature
    assert signature["seal_status"] == "active" and signature["revoked_at"] is None

    # ---------------------------------------------------------------------------------------
    # 二.5 印章使用记录 — "系统保留所有被授权用户使用印章的详细记录：包含时间，使用人员姓名，
    # 使用印章所属企业名称，使用印章名称基本信息"; 三.6 其他功能 — "印章使用记录...参考企业法人用户操作内容"
    step("二.5 / 三.6 印章使用记录: 企业, 经办人, 自然人")
    for who, token in (("enterprise", ent_token), ("agent", agent_token), ("person", person_token)):
        records = await api.get("/api/v1/usage-records", token=token)
        assert records.status == 200, (who, records)
        assert [r["record_id"] for r in records.json["items"]] == [record_id], (who, records)
        item = records.json["items"][0]
        assert item["used_at"] and item["user_name"] == person["name"], (who, item)
        assert (item["enterprise_name"], item["seal_name"], item["document_title"]) == \
            (ent["name"], seal_name, TITLE), (who, item)
        assert item["requester"] == REQUESTER and item["document_sha256"] == hashlib.sha256(pdf).hexdigest()
    other_records = await api.get("/api/v1/usage-records", token=other_token)
    assert other_records.status == 200 and other_records.json["items"] == [], other_records

    # ---------------------------------------------------------------------------------------
    # 二.6 数字证书 — "点击【修改证书密码】可以修改证书验证密码"; 三.6 — "数字证书...参考企业法人用户操作内容"
    step("二.6 / 三.6 修改证书密码: 旧密码失效, 新密码可用")
    changed = await api.put("/api/v1/certificate/password", token=person_token, json={
        "old_password": CERT_PASSWORD, "new_password": NEW_CERT_PASSWORD,
        "new_password_confirm": NEW_CERT_PASSWORD})
    assert changed.status == 204, changed
    # the old password no longer opens the certificate: not for another change...
    stale = await api.put("/api/v1/certificate/password", token=person_token, json={
        "old_password": CERT_PASSWORD, "new_password": "Cert#2028x", "new_password_confirm": "Cert#2028x"})
    assert is_problem(stale, 403, "wrong_certificate_password"), stale
    # ...nor for a stamp; the new one stamps
    second = await relying.request_pdf_stamp(api, client.token, pdf, title=TITLE + "（二）",
                                             page=1, x=X, y=Y)
    assert second.status == 201, second
    assert (await scan(api, person_token, second.json["qr_payload"])).status == 200
    old = await stamp(api, person_token, second.json["request_id"], ent_id, seal_id, CERT_PASSWORD)
    assert is_problem(old, 403, "wrong_certificate_password") and old.json["attempts_left"] >= 1, old
    assert (await status_of(api, client.token, second.json["request_id"]))["status"] == "pending"
    new = await stamp(api, person_token, second.json["request_id"], ent_id, seal_id, NEW_CERT_PASSWORD)
    assert new.status == 201, new
    # the enterprise account changes its own certificate password the same way
    ent_changed = await api.put("/api/v1/certificate/password", token=ent_token, json={
        "old_password": CERT_PASSWORD, "new_password": NEW_CERT_PASSWORD,
        "new_password_confirm": NEW_CERT_PASSWORD})
    assert ent_changed.status == 204, ent_changed
    ent_stale = await api.put("/api/v1/certificate/password", token=ent_token, json={
        "old_password": CERT_PASSWORD, "new_password": "Cert#2028x", "new_password_confirm": "Cert#2028x"})
    assert is_problem(ent_stale, 403, "wrong_certificate_password"), ent_stale

    # ---------------------------------------------------------------------------------------
    # 二.8 消息提醒 — "电子印章业务提供对相关人员的消息推送，包涵添加印章、作废印章和印章授权等操作的通知"
    step("二.8 / 三.6 消息提醒: 企业, 自然人, 经办人")
    for_ent = await messages_with(api, ent_token, "seal_issued", "grant_added", "stamp_applied")
    assert seal_name in for_ent["seal_issued"]["body"], for_ent["seal_issued"]
    assert for_ent["stamp_applied"]["title"] == "印章使用通知" and TITLE in for_ent["stamp_applied"]["body"]
    for_person = await messages_with(api, person_token, "grant_added")
    assert for_person["grant_added"]["title"] == "印章授权通知", for_person
    for_agent = await messages_with(api, agent_token, "agent_added", "seal_issued")
    assert for_agent["agent_added"]["title"] == "经办人添加通知", for_agent
    assert all(m["title"] and m["body"] and m["created_at"] for m in
               [*for_ent.values(), *for_person.values(), *for_agent.values()])
    # read: the unread count goes to zero
    unread = (await api.get("/api/v1/messages", token=ent_token, params={"unread_only": "true"})).json
    assert unread["unread_count"] >= 3 and all(not m["read"] for m in unread["items"]), unread
    first = unread["items"][0]["message_id"]
    assert (await api.post(f"/api/v1/messages/{first}/read", token=ent_token)).status == 204
    assert (await api.post("/api/v1/messages/read-all", token=ent_token)).status == 204
    after = (await api.get("/api/v1/messages", token=ent_token, params={"unread_only": "true"})).json
    assert after["unread_count"] == 0 and after["items"] == [], after

    # 二.7 客服中心 — "您可以拨打客服电话，也可以通过 QQ 加入客服群"
    step("二.7 客服中心")
    support = await api.get("/api/v1/support", token=person_token)
    assert support.status == 200 and support.json["phone"] and support.json["qq_group"], support

    # ---------------------------------------------------------------------------------------
    # 二.4(4) 作废印章 — "点击【作废】按钮，系统需要进行人脸验证确认本人操作，人脸验证成功即印章作废成功。
    # 作废成功后列表中该印章显示为灰色、所属便签为已作废，该印章被授权的所有自然人将看不到且无法使用该印章"
    step("二.4(4) 作废印章 (人脸验证 revoke_seal); 被授权人看不到且无法使用")
    in_flight = await relying.request_pdf_stamp(api, client.token, pdf, title=TITLE + "（三）",
                                                page=1, x=X, y=Y)
    assert in_flight.status == 201, in_flight
    assert (await scan(api, person_token, in_flight.json["qr_payload"])).status == 200  # scanned before
    # 二.8 — "电子印章业务提供对相关人员的消息推送": the grantee's app listens while the seal is revoked
    async with message_stream(platform.gateway_url, person_token) as pushed:
        face = await ids.face_token(api, ent_token, "revoke_seal")
        revoked = await api.post(f"/api/v1/seals/{seal_id}/revocation", token=ent_token,
                                 json={"face_token": face, "reason": "印章信息变更"})
        assert revoked.status == 200, revoked
        answered = time.monotonic()
        told = await pushed.next_message("seal_revoked", within=MESSAGE_DEADLINE)
        waited = time.monotonic() - answered
        print(f"    seal_revoked pushed to the grantee (read {waited:.3f}s after the answer)")
    assert told["title"] == "印章作废通知" and seal_name in told["body"], told
    assert revoked.json["status"] == "revoked" and revoked.json["revoked_at"], revoked
    listed = await api.get("/api/v1/seals", token=ent_token)
    assert [(s["seal_id"], s["status"]) for s in listed.json["items"]] == [(seal_id, "revoked")], listed
    # "被授权的所有自然人将看不到..."
    mine = await api.get("/api/v1/my/enterprises", token=person_token)
    assert [e["enterprise_id"] for e in mine.json["items"]] == [other["enterprise_id"]], mine
    assert (await api.get(f"/api/v1/my/enterprises/{ent_id}/seals", token=person_token)).json["items"] == []
    gone = await api.get(f"/api/v1/my/enterprises/{ent_id}/seals/{seal_id}", token=person_token)
    assert gone.status == 404, gone
    # "...且无法使用该印章": not the request scanned before the revocation...
    refused = await stamp(api, person_token, in_flight.json["request_id"], ent_id, seal_id, NEW_CERT_PASSWORD)
    assert is_problem(refused, 403, "not_authorized") or is_problem(refused, 409, "seal_revoked"), refused
    # ...nor a new one: the scan no longer offers it, and stamping with it is refused
    fresh = await relying.request_pdf_stamp(api, client.token, pdf, title=TITLE + "（四）",
                                            page=1, x=X, y=Y)
    assert fresh.status == 201, fresh
    rescanned = await scan(api, person_token, fresh.json["qr_payload"])
    assert rescanned.status == 200, rescanned
    offered = {s["seal_id"] for c in rescanned.json["choices"] for s in c["seals"]}
    assert offered == {other_seal["seal_id"]}, rescanned
    refused = await stamp(api, person_token, fresh.json["request_id"], ent_id, seal_id, NEW_CERT_PASSWORD)
    assert is_problem(refused, 403, "not_authorized") or is_problem(refused, 409, "seal_revoked"), refused
    for rid in (in_flight.json["request_id"], fresh.json["request_id"]):
        assert (await status_of(api, client.token, rid))["status"] == "pending"
        assert (await api.get(f"/api/v1/stamp-requests/{rid}/result", token=client.token)).status == 409
    records = await api.get("/api/v1/usage-records", token=ent_token)
    assert len(records.json["items"]) == 2, records  # the two stamps before the revocation only
    # 二.8 — "作废印章...的通知": and it stays in the grantee's message list
    listed_messages = await messages_with(api, person_token, "seal_revoked")
    assert listed_messages["seal_revoked"]["message_id"] == told["message_id"], listed_messages
    # the earlier stamp still verifies, and says the seal has been revoked since
    later = await verify(api, result.body)
    assert later.json["result"] == "passed" and later.json["signatures"][0]["seal_status"] == "revoked", later

    # 二.4(5) 印章授权 — "删除被授权人：使用系统删除方式，可以删除被授权人，删除人员后该人员将无法再使用
    # 该电子印章" (the other enterprise withdraws its grant)
    step("二.4(5) 删除被授权人: 无法再使用")
    removed = await api.delete(f"/api/v1/seals/{other_seal['seal_id']}/grants/{other_grant['grant_id']}",
                               token=other_token)
    assert removed.status == 204, removed
    left = await api.get(f"/api/v1/seals/{other_seal['seal_id']}/grants", token=other_token)
    assert left.status == 200 and left.json["items"] == [], left
    assert (await api.get("/api/v1/my/enterprises", token=person_token)).json["items"] == []
    refused = await stamp(api, person_token, fresh.json["request_id"], other["enterprise_id"],
                          other_seal["seal_id"], NEW_CERT_PASSWORD)
    assert is_problem(refused, 403, "not_authorized"), refused
    assert (await status_of(api, client.token, fresh.json["request_id"]))["status"] == "pending"
    withdrawn = await messages_with(api, person_token, "grant_removed")
    assert withdrawn["grant_removed"]["title"], withdrawn

    # ---------------------------------------------------------------------------------------
    # 三.5 个人电子签名 — "设置方式有两种：①手写签名②自动生成...目前只允许用户设置一个电子签名。
    # 未设置时提醒用户新增个人签名"
    step("三.5 个人电子签名: 自动生成, 删除, 手写")
    none = await api.get("/api/v1/my/signature", token=person_token)
    assert none.status == 404, none
    # "选择自动生成，系统根据登录用户姓名信息自动生成图片样式，点击【确认签名】即可生成"
    generated = await api.post("/api/v1/my/signature", token=person_token, json={"method": "generated"})
    assert generated.status == 201 and generated.json["method"] == "generated", generated
    drawn = await api.get("/api/v1/my/signature/image", token=person_token)
    assert drawn.status == 200 and drawn.headers["Content-Type"] == "image/png", drawn
    png(drawn.body)
    # "目前只允许用户设置一个电子签名"
    second_one = await api.post("/api/v1/my/signature", token=person_token,
                                json={"method": "handwritten", "image_png": handwriting()})
    assert is_problem(second_one, 409, "signature_exists"), second_one
    assert (await api.delete("/api/v1/my/signature", token=person_token)).status == 204
    assert (await api.get("/api/v1/my/signature", token=person_token)).status == 404
    # "选择手写签名，需要用户在手写板手写绘制签名，点击【保存】即可生成"
    handwritten = await api.post("/api/v1/my/signature", token=person_token,
                                 json={"method": "handwritten", "image_png": handwriting()})
    assert handwritten.status == 201 and handwritten.json["method"] == "handwritten", handwritten
    current = await api.get("/api/v1/my/signature", token=person_token)
    assert current.status == 200 and current.json["signature_id"] == handwritten.json["signature_id"], current
    png((await api.get(current.json["image_url"], token=person_token)).body)

    # ---------------------------------------------------------------------------------------
    # 二.2(4) 经办人编辑信息 — "可以修改经办人有效期和管理权限"
    step("二.2(4) 经办人编辑, 二.2(5) 经办人修改密码, 二.2(3) 经办人删除")
    new_valid_to = (today + timedelta(days=180)).isoformat()
    edited = await api.patch(f"/api/v1/agents/{agent_id}", token=ent_token,
                             json={"valid_to": new_valid_to, "can_manage": False})
    assert edited.status == 200, edited
    assert edited.json["valid_to"] == new_valid_to and edited.json["can_manage"] is False, edited
    listed = await api.get("/api/v1/agents", token=ent_token)
    assert [(a["valid_to"], a["can_manage"]) for a in listed.json["items"]] == [(new_valid_to, False)], listed
    # 二.2(5) 经办人修改密码 — "经办人再登录时需要使用新密码登录"
    new_password = ids.password()
    put = await api.put(f"/api/v1/agents/{agent_id}/password", token=ent_token,
                        json={"password": new_password, "password_confirm": new_password})
    assert put.status == 204, put
    old_login = await api.post("/api/v1/sessions", json={
        "method": "password", "role": "agent", "username": agent["phone"], "password": agent["password"],
        "enterprise_uscc": uscc})
    assert is_problem(old_login, 401, "invalid_credentials"), old_login
    relogged = await ids.login(api, "agent", agent["phone"], new_password, enterprise_uscc=uscc)
    agent_token = relogged["access_token"]
    assert relogged["principal"]["can_manage"] is False, relogged
    # 二.2(2) — "如果不具有，则不能操作企业电子印章，授权印章等功能" (seals learns of the change by event)
    tried: list[Reply] = []

    async def may_not_grant() -> bool:
        r = await api.post(f"/api/v1/seals/{seal_id}/grants", token=agent_token, json={
            "name": person["name"], "id_type": "resident_id_card", "id_number": person["id_number"],
            "valid_from": today.isoformat(), "valid_to": grant_until.isoformat()})
        tried[:] = [r]
        assert r.status in (403, 409), r  # never a grant (the seal is revoked as well)
        return is_problem(r, 403, "management_permission_required")

    await eventually(may_not_grant, what="seals refusing the agent without the permission",
                     last=lambda: tried)
    # the agents service answers 403 to a non-enterprise caller: a 401 on this path can only come
    # from the gateway refusing the token
    assert (await api.get("/api/v1/agents", token=agent_token)).status == 403
    assert (await api.get("/api/v1/seals", token=agent_token)).status == 200

    # 二.2(3) 经办人删除 — "删除以后经办人无法在登录"; and its session ends at once
    deleted = await api.delete(f"/api/v1/agents/{agent_id}", token=ent_token)
    assert deleted.status == 204, deleted
    answered = time.monotonic()
    last: list[Reply] = []

    async def refused_by_gateway() -> bool:
        r = await api.get("/api/v1/agents", token=agent_token)
        last[:] = [r]
        return r.status == 401

    await eventually(refused_by_gateway, within=1.0, every=0.02,
                     what="the gateway refusing the deleted agent's token", last=lambda: last)
    print(f"    deleted agent's token refused by the gateway after {time.monotonic() - answered:.3f}s")
    assert (await api.get("/api/v1/seals", token=agent_token)).status == 401
    relogin = await api.post("/api/v1/sessions", json={
        "method": "password", "role": "agent", "username": agent["phone"], "password": new_password,
        "enterprise_uscc": uscc})
    assert is_problem(relogin, 401, "invalid_credentials"), relogin
    listed = await api.get("/api/v1/agents", token=ent_token)
    assert agent_id not in {a["agent_id"] for a in listed.json["items"]}, listed
    step("done")
