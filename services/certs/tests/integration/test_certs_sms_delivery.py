"""Delivery reports (回执) of the SMS codes through the gateway: a code sent through Tencent
Cloud (the local fake, signatures checked), the fake reports it failed, the pull marks it
failed and counts it, and ``GET /api/v1/certificate/codes/latest`` tells the person."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import asyncpg
import pytest
from certs.adapters.sms import SmsDeliveries, e164, tencent_sms
from certs.config import CertsSettings
from certs.entrypoints.appkeys import CERTS
from prometheus_client import REGISTRY

from shared.people.elements import mask
from tests.support.fakes.tencentcloud import FakeTencentCloud
from tests.support.harnesses.certs import CertsHarness

LATEST = "/api/v1/certificate/codes/latest"


@pytest.fixture
async def fake() -> AsyncIterator[FakeTencentCloud]:
    server = FakeTencentCloud()
    await server.start()
    yield server
    await server.stop()


def _failed() -> float:
    return REGISTRY.get_sample_value("eseal_sms_delivery_total", {"outcome": "failed"}) or 0.0


async def test_a_code_that_did_not_arrive_is_reported_failed_and_counted(
        certs: CertsHarness, fake: FakeTencentCloud) -> None:
    pool = await asyncpg.create_pool(certs.settings.database_url, min_size=0, max_size=2)
    service = certs.app[CERTS]
    sandbox = service.sms
    try:
        async with aiohttp.ClientSession() as session:
            sender = tencent_sms(session, CertsSettings(
                env="test", sms_provider="tencent", tencent_secret_id="AKIDfake",
                tencent_secret_key="fake-secret-key", tencent_endpoint=fake.url,
                tencent_sms_sdk_app_id="1400000001", tencent_sms_sign_name="吉事办",
                tencent_sms_template_activation_code="1234567", tencent_sms_template_reset_code="1234568",
                tencent_sms_template_renewal_code="1234569",
                tencent_sms_template_expiry_reminder="1234570", tencent_retries=0),
                SmsDeliveries(pool))
            service.sms = sender
            user = certs.person()
            assert user.record.phone
            fake.sms_report_failures[e164(user.record.phone)] = "MK:0001"
            assert (await certs.send_code(user)).status == 202
            r = await certs.request("GET", LATEST, token=user.token)
            assert r.status == 200 and r.json["delivery"] == "sent", r
            assert r.json["resend_suggested"] is False and r.json["used"] is False
            before = _failed()
            assert await sender.pull_once() == 1
            assert _failed() == before + 1
            r = await certs.request("GET", LATEST, token=user.token)
            assert r.status == 200 and r.json["delivery"] == "failed", r
            assert r.json["resend_suggested"] is True
            assert "MK:0001" not in r.body.decode() and user.record.phone not in r.body.decode()
            # Someone else sees nothing of it; without a token, nothing at all.
            other = certs.person()
            r = await certs.request("GET", LATEST, token=other.token)
            assert r.status == 404 and r.json["code"] == "code_not_found", r
            r = await certs.request("GET", LATEST)
            assert r.status == 401, r
            # this person's message (other test files share the harness's database)
            stored = await certs.sql(
                "SELECT d.* FROM sms_deliveries d JOIN activation_codes c ON c.sms_serial_no = d.serial_no"
                " WHERE d.phone_masked = $1", mask(user.record.phone))
            assert len(stored) == 1 and stored[0]["status"] == "failed"
            assert user.record.phone not in str(stored)
    finally:
        service.sms = sandbox
        await pool.close()


async def test_a_provider_without_reports_says_unknown(certs: CertsHarness) -> None:
    user = certs.person()
    assert (await certs.send_code(user)).status == 202
    r = await certs.request("GET", LATEST, token=user.token)
    assert r.status == 200 and r.json["delivery"] == "unknown" and not r.json["resend_suggested"], r
