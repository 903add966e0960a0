"""Face checks with Tencent Cloud 慧眼 H5 (``ESEAL_FACE_PROVIDER=tencent``): real identity
in-process (its own database) against the local fake Tencent Cloud, which checks every
request's TC3-HMAC-SHA256 signature.

start → the provider's page (``url``) → back → ``POST /api/v1/face-checks/{id}/result``:
identity fetches the verdict with the BizToken it kept and matches it to the person.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from aiohttp.test_utils import TestServer
from identity.adapters.face_provider import TencentFaceProvider, tencent_face_provider
from identity.bootstrap import MIGRATIONS, IdentitySettings, create_app
from identity.domain.errors import FaceProviderUnavailable
from identity.domain.face import FacePerson, start

from devstack.stack import delete_vhost, drop_databases, ensure_vhost
from shared.listeners import add_internal_site
from shared.service import prepare_database
from tests.support import identities as ids
from tests.support.api import Api
from tests.support.fakes.tencentcloud import FakeTencentCloud

RETURN_URL = "https://eseal.example.gov.cn/h5/face-return?face_check_id={face_check_id}"


@dataclass
class Stack:
    api: Api
    internal: str
    fake: FakeTencentCloud
    settings: IdentitySettings


def tencent_settings(fake: FakeTencentCloud, **overrides: Any) -> IdentitySettings:
    values: dict[str, Any] = dict(
        env="test", face_provider="tencent", tencent_secret_id="AKIDfake",
        tencent_secret_key="fake-secret-key", tencent_endpoint=fake.url, tencent_retries=0,
        tencent_face_rule_id="1", tencent_face_redirect_url=RETURN_URL, test_fast_kdf=True)
    values.update(overrides)
    return IdentitySettings(**values)


@pytest_asyncio.fixture(scope="module")
async def stack() -> AsyncIterator[Stack]:
    fake = FakeTencentCloud()
    await fake.start()
    run = uuid.uuid4().hex[:8]
    vhost, prefix = f"eseal_tcface_{run}", f"eseal_tf{run}_"
    ensure_vhost(vhost)
    settings = tencent_settings(fake, db_prefix=prefix, db_pool_max=4,
                                amqp_url=f"amqp://guest:guest@127.0.0.1:5672/{vhost}")
    await prepare_database(settings, MIGRATIONS)
    server = TestServer(create_app(settings), host="127.0.0.1")
    await server.start_server()
    assert server.runner is not None
    internal = await add_internal_site(server.runner)
    api = Api(f"http://127.0.0.1:{server.port}")
    try:
        yield Stack(api, internal, fake, settings)
    finally:
        await api.close()
        await server.close()
        await drop_databases(prefix)
        delete_vhost(vhost)
        await fake.stop()


async def _start_login_check(stack: Stack, person: dict[str, Any]) -> dict[str, Any]:
    r = await stack.api.post("/api/v1/face-checks", json={
        "purpose": "login", "role": "person", "username": person["id_number"]})
    assert r.status == 201, r
    return dict(r.json)


def _biz_token(stack: Stack, started: dict[str, Any]) -> str:
    token = started["url"].rsplit("/", 1)[1]
    assert token in stack.fake.faces
    return str(token)


async def test_a_face_login_through_tencent(stack: Stack) -> None:
    person = await ids.register_person(stack.api)
    started = await _start_login_check(stack, person)
    assert started["provider"] == "tencent" and started["url"].startswith(stack.fake.url)
    session = stack.fake.faces[_biz_token(stack, started)]
    assert (session.name, session.id_card) == (person["name"], person["id_number"])
    assert session.redirect_url == RETURN_URL.replace("{face_check_id}", started["face_check_id"])
    result_path = f"/api/v1/face-checks/{started['face_check_id']}/result"

    pending = await stack.api.post(result_path)
    assert pending.status == 200 and pending.json["status"] == "pending", pending

    stack.fake.finish_face(_biz_token(stack, started))
    passed = await stack.api.post(result_path)
    assert passed.status == 200 and passed.json["status"] == "passed" and passed.json["face_token"]
    again = await stack.api.post(result_path)
    assert again.json == {"face_check_id": started["face_check_id"], "status": "passed"}  # shown once

    login = await stack.api.post("/api/v1/sessions", json={
        "method": "face", "role": "person", "username": person["id_number"],
        "face_token": passed.json["face_token"]})
    assert login.status == 201, login


async def test_a_pass_for_someone_else_fails_the_check(stack: Stack) -> None:
    person = await ids.register_person(stack.api)
    started = await _start_login_check(stack, person)
    # Tencent verified another person (say, the H5 page was fed other elements): refused.
    stack.fake.finish_face(_biz_token(stack, started), name="冒名者", id_card=ids.id_number())
    r = await stack.api.post(f"/api/v1/face-checks/{started['face_check_id']}/result",
                             params={"token": _biz_token(stack, started), "passed": "1"})
    assert r.status == 200 and r.json["status"] == "failed" and "face_token" not in r.json


async def test_a_liveness_failure_fails_the_check(stack: Stack) -> None:
    person = await ids.register_person(stack.api)
    started = await _start_login_check(stack, person)
    stack.fake.finish_face(_biz_token(stack, started), passed=False)
    r = await stack.api.post(f"/api/v1/face-checks/{started['face_check_id']}/result")
    assert r.json["status"] == "failed"


async def test_provider_errors_are_503(stack: Stack) -> None:
    person = await ids.register_person(stack.api)
    stack.fake.refuse_next("DetectAuth", "FailedOperation.RuleNotFound")
    r = await stack.api.post("/api/v1/face-checks", json={
        "purpose": "login", "role": "person", "username": person["id_number"]})
    assert r.status == 503 and r.json["code"] == "face_provider_unavailable", r
    started = await _start_login_check(stack, person)
    stack.fake.refuse_next("GetDetectInfoEnhanced", "InternalError")
    r = await stack.api.post(f"/api/v1/face-checks/{started['face_check_id']}/result")
    assert r.status == 503 and r.json["code"] == "face_provider_unavailable", r


async def test_an_unknown_check_is_404(stack: Stack) -> None:
    r = await stack.api.post(f"/api/v1/face-checks/{uuid.uuid4()}/result")
    assert r.status == 404


async def test_readyz_names_the_provider_never_the_secrets(stack: Stack) -> None:
    async with aiohttp.ClientSession() as s, s.get(stack.internal + "/readyz") as r:
        body = await r.json()
        raw = await r.text()
    assert r.status == 200 and body["status"] == "ready", body
    face = body["providers"]["face"]
    assert face["provider"] == "tencent" and face["service"] == "faceid"
    assert face["endpoint"] == stack.fake.url + "/" and face["region"] == "ap-guangzhou"
    assert "fake-secret-key" not in raw and "AKIDfake" not in raw


async def test_metrics_count_the_calls(stack: Stack) -> None:
    async with aiohttp.ClientSession() as s, s.get(stack.internal + "/metrics") as r:
        text = await r.text()
    calls = 'eseal_provider_calls_total{action="DetectAuth",outcome="ok",provider="tencent",service="faceid"}'
    assert calls in text
    assert "eseal_provider_call_seconds_bucket" in text


async def test_a_wrong_key_is_refused_by_the_fake(stack: Stack) -> None:
    async with aiohttp.ClientSession() as session:
        provider = tencent_face_provider(session, tencent_settings(stack.fake, tencent_secret_key="wrong"))
        assert isinstance(provider, TencentFaceProvider)
        check = start(uuid.uuid4(), uuid.uuid4(), "login", datetime.now(UTC), timedelta(minutes=5))
        refused_before = len(stack.fake.refused)
        with pytest.raises(FaceProviderUnavailable):
            await provider.begin(check, FacePerson("张三", ids.id_number()))
    assert stack.fake.refused[refused_before:] == ["AuthFailure.SignatureFailure"]


def test_tencent_without_its_settings_refuses_to_start() -> None:
    fake = FakeTencentCloud(url="http://127.0.0.1:9")
    with pytest.raises(RuntimeError, match="ESEAL_FACE_PROVIDER=tencent needs ESEAL_TENCENT_SECRET_KEY"):
        tencent_face_provider(None, tencent_settings(fake, tencent_secret_key=None))  # type: ignore[arg-type]
    with pytest.raises(RuntimeError, match="ESEAL_TENCENT_FACE_RULE_ID"):
        tencent_face_provider(None, tencent_settings(fake, tencent_face_rule_id=None))  # type: ignore[arg-type]
    problems = IdentitySettings(env="production", face_provider="tencent").production_problems()
    assert "ESEAL_FACE_PROVIDER=tencent needs ESEAL_TENCENT_SECRET_ID (or ESEAL_TENCENT_SECRET_ID_FILE)" \
        in problems
