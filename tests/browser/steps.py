"""What a person does in the app, as reusable steps; and set-up done through the API.

Steps find elements by what the user reads (texts, labels) where that is unambiguous, and
by ``data-test`` hooks otherwise. Set-up through the API stands for earlier sessions of the
same people (registration has no screen: the manual has none).
"""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

from playwright.async_api import expect

from devstack.stack import ROOT
from shared.china_time import today_in_china
from tests.conftest import Platform
from tests.support.api import Api
from tests.support.identities import face_token, register_person
from tests.support.identities import login as api_login
from tests.support.identities import password as new_password

from .screen import Screen

# --- in the app ------------------------------------------------------------------------


async def login(screen: Screen, role: str, username: str, password: str, uscc: str | None = None) -> None:
    page = screen.page
    await screen.goto("/app/login")
    await page.get_by_role("tab", name={"person": "个人用户", "enterprise": "企业法人",
                                        "agent": "经办人"}[role]).click()
    if uscc:
        await page.get_by_placeholder("请输入企业统一社会信用代码").fill(uscc)
    await page.locator("input[name=username]").fill(username)
    await page.locator("input[name=password]").fill(password)
    await page.locator("[data-test=login-submit]").click()
    await expect(page).to_have_url(re.compile(r"/app/home$"))


async def pass_face_check(screen: Screen, shot: str | None = None) -> None:
    """The sandbox's simulated 人脸识别: wait for the step, then let it pass."""
    face = screen.page.locator("[data-test=face-check]")
    await expect(face).to_be_visible()
    await expect(face.locator("[data-test=face-fail]")).to_be_enabled()  # the check has started
    if shot:
        await screen.shot(shot)
    await face.locator("[data-test=face-pass]").click()
    await expect(face).to_be_hidden()


async def activate_certificate(screen: Screen, phone: str, password: str, shot: str | None = None) -> None:
    """On 数字证书激活: read the sandbox SMS, set the certificate password, accept, 激活."""
    page = screen.page
    await expect(page).to_have_url(re.compile(r"/app/certificate/activate"))
    await expect(page.locator("[data-test=sms-send]")).to_contain_text("s 后重发")  # sent automatically
    await page.locator("[data-test=sandbox-sms]").click()
    await page.locator("[data-test=sandbox-sms-phone] input").fill(phone)
    await page.locator("[data-test=sandbox-sms-query]").click()
    await page.locator("[data-test=sandbox-sms-use]").first.click()
    await expect(page.locator("[data-test=sms-code] input")).to_have_value(re.compile(r"^\d{6}$"))
    await page.locator("[data-test=cert-password] input").fill(password)
    await page.locator("[data-test=cert-password-confirm] input").fill(password)
    boxes = page.locator("[data-test^=agree-]")
    for i in range(await boxes.count()):
        await boxes.nth(i).click()
    if shot:
        await screen.shot(shot)
    await page.locator("[data-test=cert-activate]").click()
    await expect(page).not_to_have_url(re.compile(r"/certificate/activate"))


async def enter_certificate_password(screen: Screen, password: str, *, says: str | None = None,
                                     sent_to: str | None = None) -> dict[str, Any] | None:
    """The stamp screens' certificate-password dialog: the password, then 确定. ``says``: a
    text the dialog must show first; ``sent_to``: a URL pattern of the call the submit makes,
    whose JSON body is answered."""
    dialog = screen.page.locator("[data-test=stamp-password-dialog]")
    if says is not None:
        await expect(dialog).to_contain_text(says)
    await dialog.locator("[data-test=stamp-password] input").fill(password)
    submit = dialog.locator("[data-test=stamp-submit]")
    if sent_to is None:
        await submit.click()
        return None
    async with screen.page.expect_request(re.compile(sent_to)) as sent:
        await submit.click()
    body: dict[str, Any] = json.loads((await sent.value).post_data or "{}")
    return body


async def pick_in_wheel(screen: Screen, *texts: str) -> None:
    """In the open Vant picker: tap an option in each column (``""`` keeps it), confirm."""
    popup = screen.page.locator(".van-popup:visible").last
    columns = popup.locator(".van-picker-column")
    for i, text in enumerate(texts):
        if text:
            await columns.nth(i).locator(".van-picker-column__item", has_text=text).first.click()
            await screen.page.wait_for_timeout(400)  # the wheel settles
    await popup.locator(".van-picker__confirm").click()
    await expect(popup).to_be_hidden()


async def toast_gone(screen: Screen) -> None:
    await expect(screen.page.locator(".van-toast:visible")).to_have_count(0, timeout=5000)


# --- set-up through the API ------------------------------------------------------------


async def sms_code(api: Api, phone: str) -> str:
    for _ in range(50):
        reply = await api.get("/api/v1/sandbox/sms", params={"phone": phone})
        assert reply.status == 200, reply
        if reply.json["items"]:
            found = re.search(r"\d{6}", reply.json["items"][0]["text"])
            assert found, reply.json
            return found.group(0)
        await asyncio.sleep(0.1)
    raise AssertionError(f"no SMS to {phone}")


async def activate_certificate_by_api(api: Api, token: str, phone: str, password: str) -> None:
    sent = await api.post("/api/v1/certificate/activation-codes", token=token)
    assert sent.status == 202, sent
    agreements = (await api.get("/api/v1/agreements")).json["items"]
    reply = await api.post("/api/v1/certificate", token=token, json={
        "sms_code": await sms_code(api, phone), "password": password, "password_confirm": password,
        "accepted_agreements": [{"code": a["code"], "version": a["version"]} for a in agreements]})
    assert reply.status == 201, reply


async def person_with_signature(api: Api) -> tuple[dict[str, Any], str, str]:
    """A person in no enterprise (granted no seal) with an activated certificate and a
    generated 个人签名: the person, their token and their certificate password."""
    person = await register_person(api)
    token = (await api_login(api, "person", person["phone"], person["password"]))["access_token"]
    cert_pw = new_password()
    await activate_certificate_by_api(api, token, person["phone"], cert_pw)
    made = await api.post("/api/v1/my/signature", token=token, json={"method": "generated"})
    assert made.status == 201, made
    return person, token, cert_pw


async def issue_seal_by_api(api: Api, token: str, seal_type: str) -> dict[str, Any]:
    types = {t["code"]: t for t in (await api.get("/api/v1/seal-types", token=token)).json["items"]}
    reply = await api.post("/api/v1/seals", token=token, json={
        "type": seal_type, "name": types[seal_type]["default_name"],
        "face_token": await face_token(api, token, "issue_seal")})
    assert reply.status == 201, reply
    return dict(reply.json)


async def grant_by_api(api: Api, token: str, seal_id: str, person: dict[str, Any]) -> dict[str, Any]:
    today = today_in_china()
    reply = await api.post(f"/api/v1/seals/{seal_id}/grants", token=token, json={
        "name": person["name"], "id_type": "resident_id_card", "id_number": person["id_number"],
        "valid_from": today.isoformat(), "valid_to": (today + timedelta(days=180)).isoformat()})
    assert reply.status == 201, reply
    return dict(reply.json)


def create_relying_client(platform: Platform, name: str) -> dict[str, str]:
    """Ops create relying systems with the stamping CLI; so does this test."""
    out = subprocess.run([sys.executable, "-m", "stamping", "create-client", "--name", name, "--json"],
                         cwd=ROOT, env=platform.config.environment("stamping"), check=True,
                         capture_output=True, text=True, timeout=60)
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def contract_pdf(path: Path, title: str = "Service Contract") -> Path:
    path.write_bytes(contract_pdf_bytes(title))
    return path


def contract_pdf_bytes(title: str = "Service Contract") -> bytes:
    """A two-page A4 contract with some text (standard Helvetica, nothing to embed)."""
    pages = [[title, "Party A: the enterprise holding the seal.", "Party B: a relying system.",
              "1. Services as described in the annex.", "2. Fees payable within 30 days."],
             [title + " (continued)", "3. This contract takes effect when sealed."]]
    objects = ["<< /Type /Catalog /Pages 2 0 R >>", "",
               "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    kids = []
    for lines in pages:
        ops = ["BT /F1 18 Tf 72 760 Td", f"({lines[0]}) Tj", "/F1 11 Tf 0 -32 Td"]
        ops += [f"({line}) Tj 0 -18 Td" for line in lines[1:]] + ["ET"]
        stream = "\n".join(ops)
        objects.append(f"<< /Length {len(stream)} >>\nstream\n{stream}\nendstream")
        objects.append(f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
                       f"/Resources << /Font << /F1 3 0 R >> >> /Contents {len(objects)} 0 R >>")
        kids.append(f"{len(objects)} 0 R")
    objects[1] = f"<< /Type /Pages /Kids [{' '.join(kids)}] /Count {len(kids)} >>"
    out, offsets = "%PDF-1.7\n", []
    for i, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{i} 0 obj\n{body}\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n"
    out += "".join(f"{o:010d} 00000 n \n" for o in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n"
    return out.encode("latin-1")
