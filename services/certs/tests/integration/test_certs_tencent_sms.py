"""Tencent Cloud SMS (``ESEAL_SMS_PROVIDER=tencent``) against the local fake Tencent Cloud,
which checks every request's TC3-HMAC-SHA256 signature."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import aiohttp
import asyncpg
import pytest
from certs.adapters.sms import SmsDeliveries, TencentSms, message_kind, tencent_sms
from certs.config import CertsSettings
from certs.service_layer.activation import SMS_TEXT
from certs.service_layer.expiry import SMS_TEXT as EXPIRY_TEXT
from certs.service_layer.reissue import SMS_TEXTS as REISSUE_TEXTS
from prometheus_client import REGISTRY

from shared.errors import ServiceUnavailable
from shared.production import check_settings
from shared.providers.tencentcloud import TencentCloudError
from tests.support.fakes.tencentcloud import FakeTencentCloud
from tests.support.harnesses.certs import CertsHarness

TEXT = SMS_TEXT.format(code="402913", minutes=10)
SENT_AT = datetime(2026, 12, 4, 8, 0, tzinfo=UTC)


@pytest.fixture
async def fake() -> AsyncIterator[FakeTencentCloud]:
    async with FakeTencentCloud() as server:
        yield server


def settings(fake: FakeTencentCloud, **overrides: Any) -> CertsSettings:
    values: dict[str, Any] = dict(
        env="test", sms_provider="tencent", tencent_secret_id="AKIDfake",
        tencent_secret_key="fake-secret-key", tencent_endpoint=fake.url, tencent_region="ap-beijing",
        tencent_sms_sdk_app_id="1400000001", tencent_sms_sign_name="吉事办",
        tencent_sms_template_activation_code="1234567", tencent_sms_template_reset_code="1234568",
        tencent_sms_template_renewal_code="1234569", tencent_sms_template_expiry_reminder="1234570",
        tencent_retries=1)
    values.update(overrides)
    return CertsSettings(**values)


def sender(fake: FakeTencentCloud, session: aiohttp.ClientSession, **overrides: Any) -> TencentSms:
    return tencent_sms(session, settings(fake, **overrides))


def test_the_activation_text_is_read_back_into_its_template_parameters() -> None:
    assert message_kind(TEXT) == ("activation_code", ["402913", "10"])
    assert message_kind("something else") is None


async def test_a_message_goes_out_with_template_sign_and_app(fake: FakeTencentCloud,
                                                             session: aiohttp.ClientSession) -> None:
    await sender(fake, session).send("13800000000", TEXT, SENT_AT)
    [sent] = fake.sms
    assert sent["phone"] == "+8613800000000" and sent["template_id"] == "1234567"
    assert sent["params"] == ["402913", "10"] and sent["sign_name"] == "吉事办"
    assert sent["sdk_app_id"] == "1400000001" and sent["serial_no"]
    assert fake.calls[0].headers["x-tc-region"] == "ap-beijing"
    assert fake.calls[0].headers["x-tc-version"] == "2021-01-11"


async def test_every_message_certs_sends_goes_out_with_its_own_template(
        fake: FakeTencentCloud, session: aiohttp.ClientSession) -> None:
    """Reset and renewal codes and the expiry reminders too: a message without a template
    could not be sent through Tencent at all."""
    texts = {"1234568": (REISSUE_TEXTS["reset"].format(code="111222", minutes=10), ["111222", "10"]),
             "1234569": (REISSUE_TEXTS["renewal"].format(code="333444", minutes=10), ["333444", "10"]),
             "1234570": (EXPIRY_TEXT.format(date="2027-01-31", days=7), ["2027-01-31", "7"])}
    for text, _ in texts.values():
        await sender(fake, session).send("13800000009", text, SENT_AT)
    assert {s["template_id"]: s["params"] for s in fake.sms} == {t: p for t, (_, p) in texts.items()}


async def test_a_retry_carries_the_same_session_context(fake: FakeTencentCloud,
                                                        session: aiohttp.ClientSession) -> None:
    fake.fail_next("SendSms", 502)
    await sender(fake, session).send("13800000001", TEXT, SENT_AT)
    assert len(fake.calls) == 2 and len(fake.sms) == 1
    first, second = (c.params["SessionContext"] for c in fake.calls)
    assert first == second and first


async def test_a_number_tencent_does_not_accept_is_a_delivery_failure(
        fake: FakeTencentCloud, session: aiohttp.ClientSession) -> None:
    fake.sms_failures["+8613800000002"] = "LimitExceeded.PhoneNumberDailyLimit"
    with pytest.raises(ServiceUnavailable) as failed:
        await sender(fake, session).send("13800000002", TEXT, SENT_AT)
    assert failed.value.code == "sms_unavailable"
    assert failed.value.extra["provider_code"] == "LimitExceeded.PhoneNumberDailyLimit"
    assert fake.sms == []


async def test_a_provider_error_is_sms_unavailable(fake: FakeTencentCloud,
                                                   session: aiohttp.ClientSession) -> None:
    fake.refuse_next("SendSms", "FailedOperation.TemplateIncorrectOrUnapproved")
    with pytest.raises(ServiceUnavailable) as failed:
        await sender(fake, session).send("13800000003", TEXT, SENT_AT)
    assert failed.value.code == "sms_unavailable" and len(fake.calls) == 1


async def test_a_wrong_key_is_refused_by_the_fake(fake: FakeTencentCloud,
                                                  session: aiohttp.ClientSession) -> None:
    with pytest.raises(ServiceUnavailable):
        await sender(fake, session, tencent_secret_key="wrong-key").send("13800000004", TEXT, SENT_AT)
    assert fake.refused == ["AuthFailure.SignatureFailure"] and fake.sms == []


async def test_missing_settings_refuse_to_start(fake: FakeTencentCloud,
                                                session: aiohttp.ClientSession) -> None:
    with pytest.raises(RuntimeError, match="ESEAL_TENCENT_SECRET_KEY"):
        sender(fake, session, tencent_secret_key=None)
    with pytest.raises(RuntimeError, match="ESEAL_TENCENT_SMS_TEMPLATE_ACTIVATION_CODE"):
        sender(fake, session, tencent_sms_template_activation_code=None)
    with pytest.raises(RuntimeError, match="ESEAL_TENCENT_SMS_TEMPLATE_EXPIRY_REMINDER"):
        sender(fake, session, tencent_sms_template_expiry_reminder=None)


def test_production_refuses_tencent_without_its_secrets(fake: FakeTencentCloud,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    s = settings(fake, env="production", tencent_secret_key=None, tencent_endpoint=None)
    problems = s.production_problems()
    assert "ESEAL_SMS_PROVIDER=tencent needs ESEAL_TENCENT_SECRET_KEY (or ESEAL_TENCENT_SECRET_KEY_FILE)" \
        in problems
    with pytest.raises(SystemExit):
        check_settings(s)
    assert "fake-secret-key" not in capsys.readouterr().err


def test_the_description_names_no_secret(fake: FakeTencentCloud) -> None:
    described = tencent_sms(None, settings(fake)).describe()  # type: ignore[arg-type]
    assert described["provider"] == "tencent" and described["region"] == "ap-beijing"
    assert described["endpoint"] == fake.url + "/" and described["sdk_app_id"] == "1400000001"
    assert "fake-secret-key" not in str(described) and "AKIDfake" not in str(described)


# --- delivery reports (回执, PullSmsSendStatus) -----------------------------------------------


async def test_delivery_reports_are_pulled_once_each(fake: FakeTencentCloud,
                                                     session: aiohttp.ClientSession) -> None:
    fake.sms_report_failures["+8613800000006"] = "MK:0001"
    s = sender(fake, session)
    await s.send("13800000005", TEXT, SENT_AT)
    await s.send("13800000006", TEXT, SENT_AT)
    reports = await s.pull_statuses()
    assert [r["ReportStatus"] for r in reports] == ["SUCCESS", "FAIL"]
    assert reports[1]["Description"] == "MK:0001"
    assert reports[0]["SerialNo"] == fake.sms[0]["serial_no"]
    pull = next(c for c in fake.calls if c.action == "PullSmsSendStatus")
    assert pull.params == {"Limit": 100, "SmsSdkAppId": "1400000001"}
    assert await s.pull_statuses() == []


async def test_a_pull_with_a_wrong_signature_is_refused(fake: FakeTencentCloud,
                                                        session: aiohttp.ClientSession) -> None:
    await sender(fake, session).send("13800000007", TEXT, SENT_AT)
    with pytest.raises(TencentCloudError):
        await sender(fake, session, tencent_secret_key="wrong-key").pull_statuses()
    assert fake.refused == ["AuthFailure.SignatureFailure"]
    assert len(await sender(fake, session).pull_statuses()) == 1  # nothing handed out


async def test_a_failed_delivery_is_recorded_counted_and_logged_without_the_phone(
        certs: CertsHarness, fake: FakeTencentCloud, session: aiohttp.ClientSession,
        capsys: pytest.CaptureFixture[str]) -> None:
    pool = await asyncpg.create_pool(certs.settings.database_url, min_size=0, max_size=2)
    try:
        deliveries = SmsDeliveries(pool)
        s = tencent_sms(session, settings(fake), deliveries)
        fake.sms_report_failures["+8613800000008"] = "MK:0001"
        await s.send("13800000008", TEXT, SENT_AT)
        await s.send("13800000009", TEXT, SENT_AT)
        failed_serial, delivered_serial = (m["serial_no"] for m in fake.sms)
        row = await deliveries.get(failed_serial)
        assert row is not None and row["status"] == "sent" and row["kind"] == "activation_code"
        assert row["phone_masked"] == "*******0008"
        failed_before = _counted("failed")
        delivered_before = _counted("delivered")
        capsys.readouterr()
        assert await s.pull_once() == 2
        failed = await deliveries.get(failed_serial)
        assert failed is not None and failed["status"] == "failed" and failed["report_code"] == "MK:0001"
        delivered = await deliveries.get(delivered_serial)
        assert delivered is not None and delivered["status"] == "delivered"
        assert _counted("failed") == failed_before + 1
        assert _counted("delivered") == delivered_before + 1
        logged = capsys.readouterr()
        out = logged.out + logged.err
        assert "sms_delivery_failed" in out
        assert "13800000008" not in out and "402913" not in out
        # Nothing left to pull, and a report given twice counts once.
        assert await s.pull_once() == 0
        assert await deliveries.report(failed_serial, delivered=False, code="MK:0001",
                                       description="") is None
        stored = await pool.fetch("SELECT * FROM sms_deliveries")
        assert "402913" not in str(stored) and "13800000008" not in str(stored)
    finally:
        await pool.close()


async def test_only_one_replica_pulls_at_a_time(certs: CertsHarness, fake: FakeTencentCloud,
                                                session: aiohttp.ClientSession) -> None:
    pool = await asyncpg.create_pool(certs.settings.database_url, min_size=0, max_size=2)
    try:
        deliveries = SmsDeliveries(pool)
        s = tencent_sms(session, settings(fake), deliveries)
        await s.send("13800000010", TEXT, SENT_AT)
        async with deliveries.pull_lock() as held:
            assert held
            assert await tencent_sms(session, settings(fake), SmsDeliveries(pool)).pull_once() == 0
        assert not [c for c in fake.calls if c.action == "PullSmsSendStatus"]
        assert await s.pull_once() == 1
    finally:
        await pool.close()


def _counted(outcome: str) -> float:
    return REGISTRY.get_sample_value("eseal_sms_delivery_total", {"outcome": outcome}) or 0.0
