"""Two open tabs of the app whose access token expires at the same moment both refresh it, and
neither logs the other out: one refresh across the tabs (Web Locks), its tokens shared
(BroadcastChannel). Refreshing twice with the same refresh token would be taken for theft
and end the session (identity's reuse detection)."""

from __future__ import annotations

import asyncio
import json
import re

import pytest
from playwright.async_api import Route, expect

from tests.support.api import Api
from tests.support.identities import register_enterprise

from .conftest import OpenScreen
from .screen import Screen
from .steps import login

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

STORED = "JSON.parse(localStorage.getItem('eseal.session') || '{}')"


async def test_two_tabs_refreshing_at_once_stay_logged_in(api: Api, open_screen: OpenScreen) -> None:
    ent = await register_enterprise(api)
    one = await open_screen("tab-one")
    await login(one, "enterprise", ent["uscc"], ent["password"])
    context = one.page.context
    two = Screen("tab-two", await context.new_page(), one.base_url)  # same browser: shared storage
    two.watch()
    await two.goto("/app/home")
    await expect(two.page).to_have_url(re.compile(r"/app/home$"))
    stale = (await one.page.evaluate(STORED))["access"]
    assert (await two.page.evaluate(STORED))["access"] == stale

    # From now on the token both tabs hold is expired: any API call carrying it gets a 401.
    refreshes: list[str] = []

    async def expire(route: Route) -> None:
        request = route.request
        if request.headers.get("authorization") == f"Bearer {stale}":
            await route.fulfill(status=401, content_type="application/problem+json", body=json.dumps(
                {"status": 401, "code": "token_expired", "title": "Not authenticated",
                 "detail": "the access token has expired"}))
            return
        if request.url.endswith("/api/v1/sessions/refresh"):
            refreshes.append(request.url)
        await route.continue_()

    await context.route("**/api/v1/**", expire)
    for screen in (one, two):
        screen.expect_http(r"/api/v1/", 401)
    # both tabs call the API at the same moment, each with the expired token in memory
    await asyncio.gather(*(s.page.locator("[data-test=tab-messages]").click() for s in (one, two)))

    for screen in (one, two):
        await expect(screen.page).to_have_url(re.compile(r"/app/messages$"))
        await expect(screen.page.get_by_text("暂无消息")).to_be_visible()
    await one.page.wait_for_timeout(1500)  # a late refresh failure would send a tab to /login
    for screen in (one, two):
        await expect(screen.page).to_have_url(re.compile(r"/app/messages$"))
    assert len(refreshes) == 1, refreshes

    fresh = await one.page.evaluate(STORED)
    assert fresh["access"] != stale and (await two.page.evaluate(STORED)) == fresh
    me = await api.get("/api/v1/me", token=fresh["access"])
    assert me.status == 200, me  # identity did not end the session (no refresh token reused)
    assert not two.problems, two.problems
    await two.page.close()
