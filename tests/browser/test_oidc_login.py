"""统一身份认证 login on a phone (375×667): the login screen offers it because the platform is
configured with a provider (the local OpenID Connect provider of tests/conftest.py); a tap
goes to the provider, which sends the browser back to /app/login/oidc, and the app lands on
the home screen logged in. Someone the platform does not know is told to register first."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.async_api import expect

from tests.support.api import Api
from tests.support.identities import id_number, register_person
from tests.support.oidc_provider import OidcProvider, User

from .conftest import OpenScreen

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

STORED = "JSON.parse(localStorage.getItem('eseal.session') || '{}')"


async def test_a_person_logs_in_through_the_unified_identity_platform(
        api: Api, open_screen: OpenScreen, oidc_provider: OidcProvider) -> None:
    person = await register_person(api)
    oidc_provider.reset(User(sub=f"browser-{uuid.uuid4().hex}", id_number=person["id_number"]))
    try:
        screen = await open_screen("oidc-person")
        page = screen.page
        await screen.goto("/app/login")
        button = page.locator("[data-test=login-oidc]")
        await expect(button).to_be_visible()
        await expect(button).to_have_text(re.compile("统一身份认证登录"))
        box = await button.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 375
        await screen.shot("oidc-login-screen")

        await button.click()
        await expect(page).to_have_url(re.compile(r"/app/home$"))
        stored = await page.evaluate(STORED)
        assert stored["principal"]["id"] == person["person_id"]
        await expect(page.get_by_text(person["name"]).first).to_be_visible()
        await screen.shot("oidc-logged-in-home")
    finally:
        oidc_provider.reset()


async def test_someone_without_an_account_is_told_to_register(
        open_screen: OpenScreen, oidc_provider: OidcProvider) -> None:
    oidc_provider.reset(User(sub=f"browser-{uuid.uuid4().hex}", id_number=id_number()))
    try:
        screen = await open_screen("oidc-stranger")
        screen.expect_http(r"/api/v1/sessions/oidc/callback$", 404)
        page = screen.page
        await screen.goto("/app/login")
        await page.locator("[data-test=login-oidc]").click()
        problem = page.locator("[data-test=oidc-problem]")
        await expect(problem).to_contain_text("请先注册")
        assert await page.evaluate(STORED) == {}  # nobody is logged in
        await page.locator("[data-test=oidc-back]").click()
        await expect(page).to_have_url(re.compile(r"/app/login$"))
    finally:
        oidc_provider.reset()
