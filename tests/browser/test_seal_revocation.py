"""作废印章: the enterprise revokes a seal after a face check; its list shows it grey and
tagged 已作废, and the person it was granted to no longer sees it."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import expect

from tests.support.api import Api
from tests.support.identities import login as api_login
from tests.support.identities import password, register_enterprise, register_person
from tests.support.polling import eventually

from .conftest import OpenScreen
from .steps import (
    activate_certificate_by_api,
    grant_by_api,
    issue_seal_by_api,
    login,
    pass_face_check,
)

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


async def test_a_revoked_seal_turns_grey_and_leaves_the_persons_list(
        api: Api, open_screen: OpenScreen) -> None:
    ent, person = await register_enterprise(api), await register_person(api)
    ent_token = (await api_login(api, "enterprise", ent["uscc"], ent["password"]))["access_token"]
    await activate_certificate_by_api(api, ent_token, ent["legal_representative"]["phone"], password())
    contract = await issue_seal_by_api(api, ent_token, "contract")
    official = await issue_seal_by_api(api, ent_token, "official")
    for seal in (contract, official):
        await grant_by_api(api, ent_token, seal["seal_id"], person)
    person_token = (await api_login(api, "person", person["phone"], person["password"]))["access_token"]
    await activate_certificate_by_api(api, person_token, person["phone"], password())

    async def granted_types() -> set[str]:
        enterprises = (await api.get("/api/v1/my/enterprises", token=person_token)).json["items"]
        if not enterprises:
            return set()
        seals = await api.get(f"/api/v1/my/enterprises/{enterprises[0]['enterprise_id']}/seals",
                              token=person_token)
        return {s["type"] for s in seals.json["items"]}

    async def person_sees(expected: set[str]) -> bool:
        return await granted_types() == expected

    assert await eventually(lambda: person_sees({"contract", "official"}), 15, every=0.2,
                            what="the person seeing both seals")

    p = await open_screen("person")
    await login(p, "person", person["phone"], person["password"])
    await p.goto("/app/my-seals")
    await expect(p.page.locator("[data-test=my-seal-contract]")).to_be_visible()
    await expect(p.page.locator("[data-test=my-seal-official]")).to_be_visible()

    e = await open_screen("enterprise")
    await login(e, "enterprise", ent["uscc"], ent["password"])
    await e.goto("/app/seals")
    await e.page.locator("[data-test=seal-contract]").click()
    await e.page.locator("[data-test=seal-revoke]").click()
    dialog = e.page.locator(".van-dialog")
    await expect(dialog).to_contain_text("作废")
    await e.shot("40-seal-revoke-confirm")
    await dialog.get_by_role("button", name="确定作废").click()
    await pass_face_check(e)
    await expect(e.page.locator("[data-test=seal-detail-revoked]")).to_be_visible()
    await expect(e.page.locator("[data-test=seal-grants]")).to_have_count(0)  # nothing to grant any more
    await e.shot("41-seal-revoked-detail")

    await e.goto("/app/seals")
    revoked = e.page.locator("[data-test=seal-contract]")
    await expect(revoked).to_have_attribute("data-status", "revoked")
    await expect(revoked.locator("[data-test=seal-revoked-tag]")).to_have_text("已作废")
    grey = await revoked.locator("img").evaluate("img => getComputedStyle(img).filter")
    assert "grayscale(1)" in grey
    await expect(e.page.locator("[data-test=seal-official]")).to_have_attribute("data-status", "active")
    await e.shot("42-seal-list-with-revoked")

    # the person's list follows (the grant view is updated from the SealRevoked event)
    assert await eventually(lambda: person_sees({"official"}), 15, every=0.2,
                            what="the revoked seal leaving the person's list")
    await p.page.reload()
    await expect(p.page.locator("[data-test=my-seal-official]")).to_be_visible()
    await expect(p.page.locator("[data-test=my-seal-contract]")).to_have_count(0)
    await p.shot("43-my-seals-after-revocation")


async def test_the_person_logs_in_with_the_sandbox_face_check(api: Api, open_screen: OpenScreen) -> None:
    person = await register_person(api)
    p = await open_screen("person")
    await p.goto("/app/login")
    await p.page.locator("[data-test=method-face]").click()
    await p.page.locator("input[name=username]").fill(person["id_number"])
    await expect(p.page.locator("input[name=password]")).to_have_count(0)
    await p.page.locator("[data-test=login-submit]").click()
    await pass_face_check(p, shot="44-face-login")
    await expect(p.page).to_have_url(re.compile(r"/app/home$"))
    await expect(p.page.get_by_text(f"您好，{person['name']}")).to_be_visible()
