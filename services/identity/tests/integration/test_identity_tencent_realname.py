"""The three-element real-name check of registration (``ESEAL_REALNAME_PROVIDER=tencent``:
``PhoneVerification``) against the local fake Tencent Cloud, which checks every request's
TC3-HMAC-SHA256 signature."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from identity.adapters.proofing import (
    TencentRealName,
    business_registry,
    realname_verifier,
    tencent_realname,
)
from identity.config import IdentitySettings
from identity.service_layer.ports import ProofingResult, ProofingUnavailable

from tests.support.fakes.tencentcloud import FakeTencentCloud, Person

NAME, ID, PHONE = "李四", "11010519491231002X", "13900000000"


@pytest.fixture
async def fake() -> AsyncIterator[FakeTencentCloud]:
    server = FakeTencentCloud(people=[Person(NAME, ID, PHONE, "20200701", "20400701")])
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


def verifier(fake: FakeTencentCloud, session: aiohttp.ClientSession, **overrides: Any) -> TencentRealName:
    values: dict[str, Any] = dict(env="test", realname_provider="tencent", tencent_secret_id="AKIDfake",
                                  tencent_secret_key="fake-secret-key", tencent_endpoint=fake.url,
                                  tencent_retries=0)
    values.update(overrides)
    settings = IdentitySettings(**values)
    chosen = realname_verifier(settings.realname_provider, settings.env, "",
                               tencent=lambda: tencent_realname(session, settings))
    assert isinstance(chosen, TencentRealName)
    return chosen


async def test_three_elements_match_in_one_signed_call(fake: FakeTencentCloud,
                                                       session: aiohttp.ClientSession) -> None:
    assert await verifier(fake, session).verify_three(NAME, "resident_id_card", ID, PHONE) == \
        ProofingResult(True)
    assert [c.action for c in fake.calls] == ["PhoneVerification"]
    assert fake.calls[-1].params == {"IdCard": ID, "Name": NAME, "Phone": PHONE}


async def test_a_mismatch_names_the_kind_never_the_values(fake: FakeTencentCloud,
                                                          session: aiohttp.ClientSession) -> None:
    v = verifier(fake, session)
    wrong_phone = await v.verify_three(NAME, "resident_id_card", ID, "13900000009")
    assert (wrong_phone.verified, wrong_phone.field) == (False, "phone")
    unknown = await v.verify_three(NAME, "resident_id_card", "11010519491231003X", PHONE)
    assert not unknown.verified
    for verdict in (wrong_phone, unknown):
        assert NAME not in verdict.reason and ID not in verdict.reason and PHONE not in verdict.reason


async def test_errors_and_unknown_codes_are_no_verdict(fake: FakeTencentCloud,
                                                       session: aiohttp.ClientSession) -> None:
    v = verifier(fake, session)
    fake.refuse_next("PhoneVerification", "FailedOperation.UnKnown")
    with pytest.raises(ProofingUnavailable):
        await v.verify_three(NAME, "resident_id_card", ID, PHONE)
    fake.fail_next("PhoneVerification", 502)
    with pytest.raises(ProofingUnavailable):
        await v.verify_three(NAME, "resident_id_card", ID, PHONE)
    wrong_key = verifier(fake, session, tencent_secret_key="another-key")
    with pytest.raises(ProofingUnavailable):  # AuthFailure.SignatureFailure: no verdict either
        await wrong_key.verify_three(NAME, "resident_id_card", ID, PHONE)
    assert (await v.verify_three(NAME, "resident_id_card", ID, PHONE)).verified


def test_tencent_needs_its_account_and_sandboxes_are_refused_in_production() -> None:
    settings = IdentitySettings(env="test", realname_provider="tencent")  # type: ignore[call-arg]
    assert any("ESEAL_REALNAME_PROVIDER=tencent needs" in p for p in settings.production_problems())
    production = IdentitySettings(env="test", realname_provider="sandbox",  # type: ignore[call-arg]
                                  registry_provider="sandbox")
    assert {"ESEAL_REALNAME_PROVIDER=sandbox", "ESEAL_REGISTRY_PROVIDER=sandbox"} <= \
        set(production.production_problems())
    with pytest.raises(RuntimeError, match="ESEAL_REGISTRY_PROVIDER"):
        business_registry("tencent", "test")
    with pytest.raises(RuntimeError, match="production"):
        realname_verifier("sandbox", "production")
