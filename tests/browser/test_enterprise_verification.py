"""An enterprise registered but not yet verified: its certificate screen asks for the legal
representative's face check first (no activation code is sent before it); once the face
check passed, the code is sent and the certificate is activated as usual."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import expect

from tests.support.api import Api
from tests.support.identities import login as api_login
from tests.support.identities import password, register_enterprise

from .conftest import OpenScreen
from .steps import activate_certificate, login, pass_face_check

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


async def test_the_legal_representative_passes_the_face_check_before_the_certificate(
        api: Api, open_screen: OpenScreen) -> None:
    ent = await register_enterprise(api, verified=False)
    e = await open_screen("enterprise")
    await login(e, "enterprise", ent["uscc"], ent["password"])
    await e.goto("/app/certificate/activate")
    verify = e.page.locator("[data-test=enterprise-verify]")
    await expect(verify).to_be_visible()
    await expect(e.page.locator("[data-test=cert-activate]")).to_have_count(0)
    await e.shot("01-enterprise-verification")

    await e.page.locator("[data-test=enterprise-verify-start]").click()
    await pass_face_check(e)
    await expect(verify).to_be_hidden()
    await activate_certificate(e, ent["legal_representative"]["phone"], password())
    await expect(e.page).not_to_have_url(re.compile(r"/certificate/activate"))
    token = (await api_login(api, "enterprise", ent["uscc"], ent["password"]))["access_token"]
    me = await api.get("/api/v1/me", token=token)
    assert me.json["verification"] == "verified" and me.json["certificate_status"] == "active", me
