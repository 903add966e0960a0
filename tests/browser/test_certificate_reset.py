"""忘记证书密码 in the H5 app: from the certificate screen (and the password screens) to the
reset screen; the SMS code, the new password twice, the face check; a new certificate. And
更新证书: the SMS code and the current password (a wrong one shown on the field)."""

from __future__ import annotations

import asyncio
import re

import pytest
from playwright.async_api import expect

from shared.internal import internal_token
from tests.conftest import Platform
from tests.support.api import Api
from tests.support.identities import login as api_login
from tests.support.identities import password, register_person

from .conftest import OpenScreen
from .steps import activate_certificate_by_api, login, pass_face_check

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

DEV_INTERNAL_SECRET = "dev-only-internal-secret-change-me-in-production"
NEW_PASSWORD = "Reset#2026pw"


async def move_certs_clock(api: Api, platform: Platform, seconds: int) -> None:
    """The certs sandbox clock (one code per 60 s: the activation's code counts)."""
    headers = {"Authorization": "Internal " + internal_token(DEV_INTERNAL_SECRET, "seals", "certs")}
    for url in platform.internal_urls("certs"):
        r = await api.put(url + "/internal/sandbox/clock", headers=headers,
                          json={"offset_seconds": seconds})
        assert r.status == 200, r


async def reset_sms_code(api: Api, phone: str) -> str:
    for _ in range(50):
        reply = await api.get("/api/v1/sandbox/sms", params={"phone": phone})
        assert reply.status == 200, reply
        items = reply.json["items"]
        if items and "重置" in items[0]["text"]:
            found = re.search(r"\d{6}", items[0]["text"])
            assert found, items[0]
            return found.group(0)
        await asyncio.sleep(0.1)
    raise AssertionError(f"no reset SMS to {phone}")


async def test_forgotten_certificate_password_is_reset_with_sms_and_face_check(
        api: Api, platform: Platform, open_screen: OpenScreen) -> None:
    person = await register_person(api)
    token = (await api_login(api, "person", person["phone"], person["password"]))["access_token"]
    await activate_certificate_by_api(api, token, person["phone"], password())
    old_serial = (await api.get("/api/v1/certificate", token=token)).json["serial_number"]
    await move_certs_clock(api, platform, 61)
    try:
        p = await open_screen("person")
        await login(p, "person", person["phone"], person["password"])

        # the change-password screen offers it too
        await p.goto("/app/certificate/password")
        await expect(p.page.locator("[data-test=cert-forgot-password]")).to_be_visible()

        await p.goto("/app/certificate")
        await p.page.locator("[data-test=cert-forgot-password]").click()
        await expect(p.page).to_have_url(re.compile(r"/app/certificate/reset$"))
        await p.page.locator("[data-test=reset-sms-send]").click()
        code = await reset_sms_code(api, person["phone"])
        await move_certs_clock(api, platform, 0)  # the new certificate and CRL on real time
        await p.page.locator("[data-test=reset-sms-code] input").fill(code)
        await p.page.locator("[data-test=reset-new-password] input").fill(NEW_PASSWORD)
        await p.page.locator("[data-test=reset-new-password-confirm] input").fill(NEW_PASSWORD)
        await p.shot("60-certificate-reset")
        await p.page.locator("[data-test=reset-submit]").click()
        await pass_face_check(p, shot="61-certificate-reset-face")
        await expect(p.page).to_have_url(re.compile(r"/app/certificate(\?updated=1)?$"))

        now = await api.get("/api/v1/certificate", token=token)
        assert now.status == 200 and now.json["serial_number"] != old_serial, now
        await expect(p.page.get_by_text(now.json["serial_number"])).to_be_visible()
        await p.shot("62-certificate-after-reset")
    finally:
        await move_certs_clock(api, platform, 0)


async def renewal_sms_code(api: Api, phone: str) -> str:
    for _ in range(50):
        reply = await api.get("/api/v1/sandbox/sms", params={"phone": phone})
        items = reply.json["items"]
        if items and "更新数字证书" in items[0]["text"]:
            found = re.search(r"\d{6}", items[0]["text"])
            assert found, items[0]
            return found.group(0)
        await asyncio.sleep(0.1)
    raise AssertionError(f"no renewal SMS to {phone}")


async def test_the_certificate_is_renewed_with_sms_code_and_current_password(
        api: Api, platform: Platform, open_screen: OpenScreen) -> None:
    person = await register_person(api)
    token = (await api_login(api, "person", person["phone"], person["password"]))["access_token"]
    cert_password = password()
    await activate_certificate_by_api(api, token, person["phone"], cert_password)
    old_serial = (await api.get("/api/v1/certificate", token=token)).json["serial_number"]
    await move_certs_clock(api, platform, 61)
    try:
        p = await open_screen("person")
        await login(p, "person", person["phone"], person["password"])
        await p.goto("/app/certificate")
        await p.page.locator("[data-test=cert-renew]").click()
        await expect(p.page).to_have_url(re.compile(r"/app/certificate/renew$"))
        await p.page.locator("[data-test=renew-sms-send]").click()
        code = await renewal_sms_code(api, person["phone"])
        await move_certs_clock(api, platform, 0)
        await p.page.locator("[data-test=renew-sms-code] input").fill(code)
        await p.page.locator("[data-test=renew-password] input").fill("Wrong#2026pw")
        p.expect_http(r"/api/v1/certificate/renewal$", 403)  # shown on the field, by design
        await p.page.locator("[data-test=renew-submit]").click()
        await expect(p.page.locator("[data-test=renew-password] .van-field__error-message")).to_be_visible()
        await p.page.locator("[data-test=renew-password] input").fill(cert_password)
        await p.shot("63-certificate-renew")
        await p.page.locator("[data-test=renew-submit]").click()
        await expect(p.page).to_have_url(re.compile(r"/app/certificate(\?updated=1)?$"))
        now = await api.get("/api/v1/certificate", token=token)
        assert now.status == 200 and now.json["serial_number"] != old_serial, now
        await expect(p.page.get_by_text(now.json["serial_number"])).to_be_visible()
    finally:
        await move_certs_clock(api, platform, 0)
