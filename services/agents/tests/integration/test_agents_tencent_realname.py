"""Tencent Cloud real-name checks (``ESEAL_REALNAME_PROVIDER=tencent``) against the local fake
Tencent Cloud, which checks every request's TC3-HMAC-SHA256 signature."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import aiohttp
import pytest
from agents.adapters.realname import TencentRealName, realname_verifier, tencent_realname
from agents.config import AgentsSettings
from agents.domain.errors import RealNameProviderUnavailable
from agents.service_layer.ports import IdentityElements, RealNameResult

from tests.support.fakes.tencentcloud import FakeTencentCloud, Person

NAME, ID, PHONE = "李四", "11010519491231002X", "13900000000"
FROM, TO = date(2020, 7, 1), date(2040, 7, 1)


@pytest.fixture
async def fake() -> AsyncIterator[FakeTencentCloud]:
    async with FakeTencentCloud(people=[Person(NAME, ID, PHONE, "20200701", "20400701")]) as server:
        yield server


def verifier(fake: FakeTencentCloud, session: aiohttp.ClientSession, **overrides: Any) -> TencentRealName:
    values: dict[str, Any] = dict(env="test", realname_provider="tencent", tencent_secret_id="AKIDfake",
                                  tencent_secret_key="fake-secret-key", tencent_endpoint=fake.url,
                                  tencent_retries=0)
    values.update(overrides)
    settings = AgentsSettings(**values)
    chosen = realname_verifier(settings.realname_provider, settings.env, "",
                               tencent=lambda: tencent_realname(session, settings))
    assert isinstance(chosen, TencentRealName)
    return chosen


async def test_two_elements_match(fake: FakeTencentCloud, session: aiohttp.ClientSession) -> None:
    assert await verifier(fake, session).verify(NAME, "resident_id_card", ID) == RealNameResult(True)
    assert fake.calls[-1].action == "IdCardVerification"
    assert fake.calls[-1].params == {"IdCard": ID, "Name": NAME}


async def test_two_elements_mismatch_names_the_id_number(fake: FakeTencentCloud,
                                                         session: aiohttp.ClientSession) -> None:
    verdict = await verifier(fake, session).verify("王五", "resident_id_card", ID)
    assert not verdict.verified and verdict.field == "id_number"
    assert NAME not in verdict.reason and ID not in verdict.reason


async def test_three_elements(fake: FakeTencentCloud, session: aiohttp.ClientSession) -> None:
    v = verifier(fake, session)
    assert (await v.verify_phone(NAME, "resident_id_card", ID, PHONE)).verified
    wrong = await v.verify_phone(NAME, "resident_id_card", ID, "13900000009")
    assert (wrong.verified, wrong.field) == (False, "phone")


async def test_four_elements_name_the_kind_that_failed(fake: FakeTencentCloud,
                                                       session: aiohttp.ClientSession) -> None:
    v = verifier(fake, session)
    assert (await v.verify_four(IdentityElements(NAME, "resident_id_card", ID, FROM, TO, PHONE))).verified
    assert [c.action for c in fake.calls] == ["IdCardVerification", "CheckIdNameDate", "PhoneVerification"]
    assert fake.calls[1].params["ValidityBegin"] == "20200701"
    dates = await v.verify_four(IdentityElements(NAME, "resident_id_card", ID, FROM, None, PHONE))
    assert (dates.verified, dates.field) == (False, "id_valid_from")
    assert fake.calls[-1].params["ValidityEnd"] == "00000000"  # long-term
    phone = await v.verify_four(IdentityElements(NAME, "resident_id_card", ID, FROM, TO, "13900000009"))
    assert (phone.verified, phone.field) == (False, "phone")
    unknown = await v.verify_four(
        IdentityElements(NAME, "resident_id_card", "110101199003070011", FROM, TO, PHONE))
    assert (unknown.verified, unknown.field) == (False, "id_number")


async def test_provider_errors_are_unavailable(fake: FakeTencentCloud,
                                               session: aiohttp.ClientSession) -> None:
    fake.refuse_next("IdCardVerification", "FailedOperation.UnKnown")
    with pytest.raises(RealNameProviderUnavailable):
        await verifier(fake, session).verify(NAME, "resident_id_card", ID)
    # Tencent's transient errors, once the retries are spent, are no mismatch either.
    fake.refuse_next("PhoneVerification", "InternalError")
    with pytest.raises(RealNameProviderUnavailable):
        await verifier(fake, session).verify_phone(NAME, "resident_id_card", ID, PHONE)


async def test_a_wrong_key_is_refused_by_the_fake(fake: FakeTencentCloud,
                                                  session: aiohttp.ClientSession) -> None:
    with pytest.raises(RealNameProviderUnavailable):
        await verifier(fake, session, tencent_secret_key="wrong").verify(NAME, "resident_id_card", ID)
    assert fake.refused == ["AuthFailure.SignatureFailure"] and fake.calls == []


def test_tencent_without_secrets_refuses_to_start(fake: FakeTencentCloud) -> None:
    with pytest.raises(RuntimeError, match="ESEAL_REALNAME_PROVIDER=tencent needs ESEAL_TENCENT_SECRET_ID"):
        verifier(fake, None, tencent_secret_id=None)  # type: ignore[arg-type]
    problems = AgentsSettings(env="production", realname_provider="tencent").production_problems()
    assert any("ESEAL_REALNAME_PROVIDER=tencent needs ESEAL_TENCENT_SECRET_KEY" in p for p in problems)
