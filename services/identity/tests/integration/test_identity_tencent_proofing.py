"""Proofing at registration on Tencent Cloud: the three-element real-name check of a person
(``ESEAL_REALNAME_PROVIDER=tencent``: ``PhoneVerification``) and the enterprise's 企业四要素核验
(``ESEAL_REGISTRY_PROVIDER=tencent``: ``VerifyBizLicenseEnterprise4``), against the local fake
Tencent Cloud, which checks every request's TC3-HMAC-SHA256 signature."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from identity.adapters.proofing import (
    TencentRealName,
    TencentRegistry,
    business_registry,
    realname_verifier,
    tencent_realname,
    tencent_registry,
)
from identity.config import IdentitySettings
from identity.service_layer.ports import ProofingResult, ProofingUnavailable

from tests.support.fakes.tencentcloud import Enterprise, FakeTencentCloud, Person

NAME, ID, PHONE = "李四", "11010519491231002X", "13900000000"
ENTERPRISE, USCC = "吉林省示例科技有限公司", "91220101MA0Y2K8L3B"


@pytest.fixture
async def fake() -> AsyncIterator[FakeTencentCloud]:
    async with FakeTencentCloud(people=[Person(NAME, ID, PHONE, "20200701", "20400701")],
                              enterprises=[Enterprise(ENTERPRISE, USCC, NAME, ID)]) as server:
        yield server


def settings_for(fake: FakeTencentCloud, **overrides: Any) -> IdentitySettings:
    values: dict[str, Any] = dict(env="test", realname_provider="tencent", registry_provider="tencent",
                                  tencent_secret_id="AKIDfake", tencent_secret_key="fake-secret-key",
                                  tencent_endpoint=fake.url, tencent_retries=0)
    values.update(overrides)
    return IdentitySettings(**values)


def verifier(fake: FakeTencentCloud, session: aiohttp.ClientSession, **overrides: Any) -> TencentRealName:
    settings = settings_for(fake, **overrides)
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


def registry(fake: FakeTencentCloud, session: aiohttp.ClientSession, **overrides: Any) -> TencentRegistry:
    settings = settings_for(fake, **overrides)
    chosen = business_registry(settings.registry_provider, settings.env, "",
                               tencent=lambda: tencent_registry(session, settings))
    assert isinstance(chosen, TencentRegistry)
    return chosen


async def test_the_four_enterprise_elements_match_in_one_signed_call(fake: FakeTencentCloud,
                                                                     session: aiohttp.ClientSession) -> None:
    assert await registry(fake, session).verify_enterprise(ENTERPRISE, USCC, NAME, ID) == ProofingResult(True)
    assert [c.action for c in fake.calls] == ["VerifyBizLicenseEnterprise4"]
    assert fake.calls[-1].params == {"CreditCode": USCC, "EntName": ENTERPRISE, "LrName": NAME, "IdNum": ID}
    assert registry(fake, session).describe()["service"] == "ocr"


@pytest.mark.parametrize(("enterprise", "uscc", "representative", "id_number", "field"), [
    (ENTERPRISE, "91220101MA0Y2K8L4X", NAME, ID, "uscc"),
    ("吉林省另一家有限公司", USCC, NAME, ID, "name"),
    (ENTERPRISE, USCC, "王五", ID, "legal_representative.name"),
    (ENTERPRISE, USCC, NAME, "110105194912310037", "legal_representative.id_number"),
])
async def test_an_enterprise_mismatch_names_the_element_never_the_values(
        fake: FakeTencentCloud, session: aiohttp.ClientSession, enterprise: str, uscc: str,
        representative: str, id_number: str, field: str) -> None:
    verdict = await registry(fake, session).verify_enterprise(enterprise, uscc, representative, id_number)
    assert (verdict.verified, verdict.field) == (False, field)
    for value in (ENTERPRISE, USCC, NAME, ID):
        assert value not in verdict.reason


async def test_registry_errors_and_answers_without_a_verdict_are_unavailable(
        fake: FakeTencentCloud, session: aiohttp.ClientSession) -> None:
    r = registry(fake, session)
    fake.refuse_next("VerifyBizLicenseEnterprise4", "FailedOperation.UnKnown")
    with pytest.raises(ProofingUnavailable):
        await r.verify_enterprise(ENTERPRISE, USCC, NAME, ID)
    fake.fail_next("VerifyBizLicenseEnterprise4", 502)
    with pytest.raises(ProofingUnavailable):
        await r.verify_enterprise(ENTERPRISE, USCC, NAME, ID)
    with pytest.raises(ProofingUnavailable):  # the fake refuses the signature of another key
        await registry(fake, session, tencent_secret_key="another-key").verify_enterprise(
            ENTERPRISE, USCC, NAME, ID)
    assert fake.refused[-1] == "AuthFailure.SignatureFailure"
    assert (await r.verify_enterprise(ENTERPRISE, USCC, NAME, ID)).verified


def test_tencent_needs_its_account_and_sandboxes_are_refused_in_production() -> None:
    settings = IdentitySettings(env="test", realname_provider="tencent",  # type: ignore[call-arg]
                                registry_provider="tencent")
    assert any("ESEAL_REALNAME_PROVIDER=tencent needs" in p for p in settings.production_problems())
    assert any("ESEAL_REGISTRY_PROVIDER=tencent needs" in p for p in settings.production_problems())
    production = IdentitySettings(env="test", realname_provider="sandbox",  # type: ignore[call-arg]
                                  registry_provider="sandbox")
    assert {"ESEAL_REALNAME_PROVIDER=sandbox", "ESEAL_REGISTRY_PROVIDER=sandbox"} <= \
        set(production.production_problems())
    with pytest.raises(RuntimeError, match="ESEAL_REGISTRY_PROVIDER"):
        business_registry("tencent", "test")  # chosen but not wired
    with pytest.raises(RuntimeError, match="ESEAL_REGISTRY_PROVIDER"):
        business_registry("registry.example", "test")
    with pytest.raises(RuntimeError, match="production"):
        realname_verifier("sandbox", "production")
