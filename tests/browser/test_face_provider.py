"""人脸识别 with a real provider's H5 flow (Tencent Cloud 慧眼, ``ESEAL_FACE_PROVIDER=tencent``)
on a phone: a platform of this module's own whose identity talks to the local fake Tencent
Cloud (which checks every request's signature). The app goes to the provider's page (the
DetectAuth ``Url``); the page sends the browser back to /app/face/return with
``token=<BizToken>``; identity fetches the verdict server-side and the app resumes the
operation — here 人脸识别登录 — or shows the failure with 重新识别.
The same platform sends certs' SMS codes through Tencent: a code whose delivery report (回执)
says it did not arrive is told on the screen; and checks enterprises at registration against
Tencent's 企业四要素核验 (``ESEAL_REGISTRY_PROVIDER=tencent``)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import pytest_asyncio
from agents.domain.agent import add_years
from playwright.async_api import Page, expect

from shared.china_time import today_in_china
from tests.conftest import Platform, start_platform
from tests.support.api import Api
from tests.support.fakes.tencentcloud import Enterprise, FakeTencentCloud, Person
from tests.support.identities import enterprise, password, person
from tests.support.identities import login as api_login
from tests.support.oidc_provider import OidcProvider
from tests.support.otlp import OtlpReceiver

from .conftest import OpenScreen
from .steps import login, pick_in_wheel

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

STORED = "JSON.parse(localStorage.getItem('eseal.session') || '{}')"


@pytest.fixture(scope="module")
def tencent() -> Iterator[FakeTencentCloud]:
    fake = FakeTencentCloud().start_in_thread()
    yield fake
    fake.stop_thread()


@pytest.fixture(scope="module")
def platform(trace_receiver: OtlpReceiver, oidc_provider: OidcProvider,
             tencent: FakeTencentCloud) -> Iterator[Platform]:
    """This module's platform (one process per service): face checks through Tencent Cloud."""
    def env(gateway: str) -> dict[str, str]:
        back = f"{gateway}/app/face/return?face_check_id={{face_check_id}}"
        return {"ESEAL_FACE_PROVIDER": "tencent", "ESEAL_TENCENT_SECRET_ID": "AKIDfake",
                "ESEAL_TENCENT_SECRET_KEY": "fake-secret-key", "ESEAL_TENCENT_ENDPOINT": tencent.url,
                "ESEAL_TENCENT_FACE_RULE_ID": "1",
                "ESEAL_TENCENT_FACE_REDIRECT_URL": back,
                # certs' codes through Tencent SMS too, its delivery reports pulled every second
                "ESEAL_SMS_PROVIDER": "tencent", "ESEAL_TENCENT_SMS_SDK_APP_ID": "1400000001",
                "ESEAL_TENCENT_SMS_SIGN_NAME": "吉事办",
                "ESEAL_TENCENT_SMS_TEMPLATE_ACTIVATION_CODE": "1000001",
                "ESEAL_TENCENT_SMS_TEMPLATE_RESET_CODE": "1000002",
                "ESEAL_TENCENT_SMS_TEMPLATE_RENEWAL_CODE": "1000003",
                "ESEAL_TENCENT_SMS_TEMPLATE_EXPIRY_REMINDER": "1000004",
                "ESEAL_TENCENT_SMS_PULL_INTERVAL": "1",
                # persons and enterprises proofed at registration by Tencent Cloud too
                "ESEAL_REALNAME_PROVIDER": "tencent", "ESEAL_REGISTRY_PROVIDER": "tencent"}

    with start_platform(trace_receiver, oidc_provider, extra_env=env, replicas=1) as started:
        yield started


@pytest_asyncio.fixture(scope="module")
async def api(platform: Platform) -> AsyncIterator[Api]:
    client = Api(platform.gateway_url)
    yield client
    await client.close()


async def register_known_person(api: Api, tencent: FakeTencentCloud) -> dict[str, Any]:
    """A person the fake's identity records know (name, ID number, phone), registered: the
    three-element check at registration (``PhoneVerification``) confirms them."""
    body = person()
    tencent.people.append(Person(body["name"], body["id_number"], body["phone"]))
    reply = await api.post("/api/v1/persons", json=body)
    assert reply.status == 201 and reply.json["verification"] == "verified", reply
    return {**body, "person_id": reply.json["person_id"]}


async def start_face_login(page: Page, base_url: str, id_number: str) -> None:
    await page.goto(base_url + "/app/login?redirect=%2Fmine")
    await page.get_by_role("tab", name="个人用户").click()
    await page.locator("[data-test=method-face]").click()
    await page.locator("input[name=username]").fill(id_number)
    await page.locator("[data-test=login-submit]").click()


async def test_a_person_logs_in_by_face_through_the_provider_page(
        api: Api, open_screen: OpenScreen, tencent: FakeTencentCloud) -> None:
    person = await register_known_person(api, tencent)
    screen = await open_screen("face-provider-login")
    page = screen.page
    await start_face_login(page, screen.base_url, person["id_number"])

    # the provider's page, for this person (identity sent the name and ID number, not the app)
    await expect(page).to_have_url(re.compile(re.escape(tencent.url) + r"/h5/[0-9A-F-]+$"))
    token = page.url.rsplit("/", 1)[1]
    assert tencent.faces[token].id_card == person["id_number"]
    await page.locator("[data-test=tencent-pass]").click()

    # back through /app/face/return: the login resumes and lands where it was going
    await expect(page).to_have_url(re.compile(r"/app/mine$"))
    stored = await page.evaluate(STORED)
    assert stored["principal"]["id"] == person["person_id"]
    assert await page.evaluate("sessionStorage.getItem('eseal.face.pending')") is None
    await screen.shot("face-provider-logged-in")


async def test_a_failed_verdict_says_so_and_offers_another_try(
        api: Api, open_screen: OpenScreen, tencent: FakeTencentCloud) -> None:
    person = await register_known_person(api, tencent)
    screen = await open_screen("face-provider-failed")
    page = screen.page
    await start_face_login(page, screen.base_url, person["id_number"])
    await expect(page).to_have_url(re.compile(re.escape(tencent.url) + r"/h5/"))
    await page.locator("[data-test=tencent-fail]").click()

    problem = page.locator("[data-test=face-return-problem]")
    await expect(problem).to_contain_text("人脸识别未通过")
    await expect(problem).to_contain_text("人脸识别登录")
    assert await page.evaluate(STORED) == {}  # nobody is logged in
    await screen.shot("face-provider-failed")

    # 重新识别: a new check at the provider, which passes this time
    await page.locator("[data-test=face-return-retry]").click()
    await expect(page).to_have_url(re.compile(re.escape(tencent.url) + r"/h5/"))
    await page.locator("[data-test=tencent-pass]").click()
    await expect(page).to_have_url(re.compile(r"/app/mine$"))
    assert (await page.evaluate(STORED))["principal"]["id"] == person["person_id"]


async def test_a_code_that_did_not_reach_the_phone_is_told_on_the_screen(
        api: Api, open_screen: OpenScreen, tencent: FakeTencentCloud) -> None:
    person = await register_known_person(api, tencent)
    tencent.sms_report_failures["+86" + person["phone"]] = "MK:0001"
    screen = await open_screen("sms-undelivered")
    screen.expect_http(r"/api/v1/sandbox/sms\?", 404)  # the app's sandbox probe: SMS is Tencent here
    page = screen.page
    await login(screen, "person", person["id_number"], person["password"])
    await screen.goto("/app/certificate/activate")
    await expect(page.locator("[data-test=sms-send]")).to_contain_text("s 后重发")  # sent automatically
    # certs pulled the report; the screen asks about the code (every 10 s) and tells the person
    notice = page.locator("[data-test=sms-undelivered]")
    await expect(notice).to_contain_text("验证码短信未能送达", timeout=40_000)
    assert [m["template_id"] for m in tencent.sms if m["phone"] == "+86" + person["phone"]] == ["1000001"]
    await screen.shot("sms-undelivered")


async def register_known_enterprise(api: Api, tencent: FakeTencentCloud) -> dict[str, Any]:
    """An enterprise the fake registry knows, registered (not yet face-verified)."""
    body = enterprise()
    rep = body["legal_representative"]
    tencent.enterprises.append(Enterprise(body["name"], body["uscc"], rep["name"], rep["id_number"]))
    reply = await api.post("/api/v1/enterprises", json=body)
    assert reply.status == 201, reply
    return {**body, "enterprise_id": reply.json["enterprise_id"]}


async def test_a_signed_in_enterprise_verifies_its_legal_representative_at_the_provider(
        api: Api, open_screen: OpenScreen, tencent: FakeTencentCloud) -> None:
    """A signed-in operation (法定代表人人脸核验 on the certificate screen) leaves the app for
    the provider's page and resumes where it was: identity asked Tencent about the legal
    representative, fetched the verdict itself, and the enterprise is verified."""
    ent = await register_known_enterprise(api, tencent)
    screen = await open_screen("face-provider-enterprise")
    screen.expect_http(r"/api/v1/sandbox/sms\?", 404)  # the app's sandbox probe: SMS is Tencent here
    page = screen.page
    await login(screen, "enterprise", ent["uscc"], ent["password"])
    await screen.goto("/app/certificate/activate")
    await page.locator("[data-test=enterprise-verify-start]").click()

    await expect(page).to_have_url(re.compile(re.escape(tencent.url) + r"/h5/[0-9A-F-]+$"))
    token = page.url.rsplit("/", 1)[1]
    rep = ent["legal_representative"]
    assert (tencent.faces[token].name, tencent.faces[token].id_card) == (rep["name"], rep["id_number"])
    await page.locator("[data-test=tencent-pass]").click()

    await expect(page).to_have_url(re.compile(r"/app/certificate/activate"))
    await expect(page.locator("[data-test=enterprise-verify]")).to_be_hidden()
    await screen.shot("face-provider-enterprise-verified")
    session = await api_login(api, "enterprise", ent["uscc"], ent["password"])
    me = await api.get("/api/v1/me", token=session["access_token"])
    assert me.json["verification"] == "verified", me


async def test_an_enterprise_registers_only_as_the_registry_knows_it(
        api: Api, tencent: FakeTencentCloud) -> None:
    """Through the gateway: identity asks Tencent's 企业四要素核验 before writing anything; a
    legal representative the registry does not know is 422 naming only the element."""
    body = enterprise()
    rep = body["legal_representative"]
    tencent.enterprises.append(Enterprise(body["name"], body["uscc"], rep["name"], rep["id_number"]))

    other_id_number = enterprise()["legal_representative"]["id_number"]
    wrong = {**body, "legal_representative": {**rep, "id_number": other_id_number}}
    refused = await api.post("/api/v1/enterprises", json=wrong)
    assert refused.status == 422 and refused.json["code"] == "registry_mismatch", refused
    assert [e["field"] for e in refused.json["errors"]] == ["legal_representative.id_number"]
    assert rep["name"].encode() not in refused.body and rep["id_number"].encode() not in refused.body

    registered = await api.post("/api/v1/enterprises", json=body)
    assert registered.status == 201, registered
    checks = [c.params for c in tencent.calls
              if c.action == "VerifyBizLicenseEnterprise4" and c.params["CreditCode"] == body["uscc"]]
    assert checks == [{**checks[-1], "IdNum": other_id_number},
                      {"CreditCode": body["uscc"], "EntName": body["name"], "LrName": rep["name"],
                       "IdNum": rep["id_number"]}]


async def test_a_person_is_proofed_by_tencent_and_a_pending_one_at_the_next_login(
        api: Api, tencent: FakeTencentCloud) -> None:
    """Registration's three-element check through the gateway: a phone that is not the
    person's is refused naming only the element; while Tencent cannot answer the account is
    registered pending and cannot log in; the next login asks again and lets the person in."""
    body = person()
    tencent.people.append(Person(body["name"], body["id_number"], body["phone"]))
    login = {"method": "password", "role": "person", "username": body["phone"], "password": body["password"]}

    wrong = await api.post("/api/v1/persons", json={**body, "phone": person()["phone"]})
    assert wrong.status == 422 and wrong.json["code"] == "realname_mismatch", wrong
    assert [e["field"] for e in wrong.json["errors"]] == ["phone"]
    assert body["id_number"].encode() not in wrong.body

    for _ in range(3):  # the first try and both retries (ESEAL_TENCENT_RETRIES)
        tencent.fail_next("PhoneVerification", 502)
    pending = await api.post("/api/v1/persons", json=body)
    assert pending.status == 201 and pending.json["verification"] == "pending_verification", pending
    for _ in range(3):
        tencent.fail_next("PhoneVerification", 502)
    refused = await api.post("/api/v1/sessions", json=login)
    assert refused.status == 403 and refused.json["code"] == "account_pending_verification", refused

    session = await api.post("/api/v1/sessions", json=login)  # Tencent answers again
    assert session.status == 201 and session.json["principal"]["id"] == pending.json["person_id"], session
    me = await api.get("/api/v1/me", token=session.json["access_token"])
    assert me.json["verification"] == "verified", me


async def test_an_agent_is_added_through_the_provider_page_and_its_four_elements_at_tencent(
        api: Api, open_screen: OpenScreen, tencent: FakeTencentCloud) -> None:
    """添加经办人 signed in: the face check leaves for the provider's page; back, the form is
    restored (never the passwords), and the submit checks the agent's four elements at Tencent."""
    ent = await register_known_enterprise(api, tencent)
    agent = person()
    today = today_in_china()
    ten_years = add_years(today, 10)  # the term's end as the form and agents compute it (29 Feb → 28)
    tencent.people.append(Person(agent["name"], agent["id_number"], agent["phone"],
                                 today.strftime("%Y%m%d"), ten_years.strftime("%Y%m%d")))

    screen = await open_screen("face-provider-agent")
    page = screen.page
    await login(screen, "enterprise", ent["uscc"], ent["password"])
    await screen.goto("/app/agents")
    await page.locator("[data-test=agent-add]").click()
    await page.locator("[data-test=agent-name] input").fill(agent["name"])
    await page.locator("[data-test=agent-id-number] input").fill(agent["id_number"])
    await page.locator("[data-test=agent-id-from]").click()
    await pick_in_wheel(screen)  # issued today; the 10-year term fills the end
    await page.locator("[data-test=agent-phone] input").fill(agent["phone"])
    secret = password()
    for field in ("agent-password", "agent-password-confirm"):
        await page.locator(f"[data-test={field}] input").fill(secret)
    await page.locator("[data-test=agent-valid-to]").click()
    await pick_in_wheel(screen, f"{today.year + 1}年")
    await page.locator("[data-test=agent-submit]").click()

    await expect(page).to_have_url(re.compile(re.escape(tencent.url) + r"/h5/[0-9A-F-]+$"))
    await page.locator("[data-test=tencent-pass]").click()
    await expect(page).to_have_url(re.compile(r"/app/agents/new"))
    await expect(page.locator("[data-test=agent-name] input")).to_have_value(agent["name"])
    await expect(page.locator("[data-test=agent-password] input")).to_have_value("")
    for field in ("agent-password", "agent-password-confirm"):
        await page.locator(f"[data-test={field}] input").fill(secret)
    await page.locator("[data-test=agent-submit]").click()

    await expect(page).to_have_url(re.compile(r"/app/agents$"))
    await expect(page.locator(".agent", has_text=agent["name"])).to_be_visible()
    await screen.shot("face-provider-agent-added")
    checked = {c.action for c in tencent.calls if c.params.get("IdCard") == agent["id_number"]}
    assert {"CheckIdNameDate", "PhoneVerification"} <= checked, checked
