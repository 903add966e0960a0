"""The TC3-HMAC-SHA256 signer against Tencent Cloud's documented worked example, and the
client against the local fake server (which recomputes every signature)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
from prometheus_client import REGISTRY

from shared.providers.tencentcloud import (
    Credentials,
    TencentCloudClient,
    TencentCloudError,
    TencentCloudSettings,
    TencentCloudUnavailable,
    authorization,
    canonical_request,
    parse_authorization,
    sha256_hex,
    signature,
    string_to_sign,
)
from tests.support.fakes.tencentcloud import FakeTencentCloud, Person

# "Signature v3", section "TC3-HMAC-SHA256": CVM DescribeInstances in ap-guangzhou, signed
# at 1551113065 with the documentation's example key.
DOC_KEY = "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE"
DOC_PAYLOAD = b'{"Limit": 1, "Filters": [{"Values": ["\\u672a\\u547d\\u540d"], "Name": "instance-name"}]}'
DOC_HEADERS = {"content-type": "application/json; charset=utf-8", "host": "cvm.tencentcloudapi.com"}


def test_signature_matches_the_documented_example() -> None:
    assert sha256_hex(DOC_PAYLOAD) == "35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064"
    canonical = canonical_request("POST", DOC_HEADERS, "content-type;host", DOC_PAYLOAD)
    assert canonical == ("POST\n/\n\ncontent-type:application/json; charset=utf-8\n"
                         "host:cvm.tencentcloudapi.com\n\ncontent-type;host\n"
                         "35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064")
    assert string_to_sign(1551113065, "cvm", canonical) == (
        "TC3-HMAC-SHA256\n1551113065\n2019-02-25/cvm/tc3_request\n"
        "5ffe6a04c0664d6b969fab9a13bdab201d63ee709638e2749d62a09ca18d7031")
    assert signature(DOC_KEY, 1551113065, "cvm", canonical) == \
        "72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168"
    header = authorization("AKIDEXAMPLE", DOC_KEY, "cvm", 1551113065, DOC_HEADERS, DOC_PAYLOAD,
                           signed_headers="content-type;host")
    assert header == ("TC3-HMAC-SHA256 Credential=AKIDEXAMPLE/2019-02-25/cvm/tc3_request, "
                      "SignedHeaders=content-type;host, "
                      "Signature=72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168")
    parsed = parse_authorization(header)
    assert parsed is not None and (parsed.secret_id, parsed.date, parsed.service) == \
        ("AKIDEXAMPLE", "2019-02-25", "cvm")


def test_credential_scope_uses_the_utc_date() -> None:
    # 2019-02-26 00:44:25 in China is still 2019-02-25 in UTC (the documentation's warning).
    assert "2019-02-25/cvm/tc3_request" in string_to_sign(1551113065, "cvm", "x")


@pytest.fixture
async def fake() -> AsyncIterator[FakeTencentCloud]:
    async with FakeTencentCloud(people=[Person("张三", "110101199003070011", "13800000000")]) as server:
        yield server


def client(session: aiohttp.ClientSession, fake: FakeTencentCloud, key: str = "fake-secret-key",
           retries: int = 2) -> TencentCloudClient:
    return TencentCloudClient(session, Credentials("AKIDfake", key), service="faceid",
                              version="2018-03-01", region="ap-guangzhou", endpoint=fake.url,
                              retries=retries, backoff=0.0)


def metric(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_a_signed_call_is_answered(fake: FakeTencentCloud, session: aiohttp.ClientSession) -> None:
    response = await client(session, fake).call(
        "IdCardVerification", {"IdCard": "110101199003070011", "Name": "张三"}, idempotent=True)
    assert response["Result"] == "0" and response["RequestId"]
    headers = fake.calls[-1].headers
    assert headers["x-tc-action"] == "IdCardVerification" and headers["x-tc-version"] == "2018-03-01"
    assert headers["x-tc-region"] == "ap-guangzhou" and headers["x-tc-timestamp"].isdigit()
    assert "SignedHeaders=content-type;host;x-tc-action" in headers["authorization"]


async def test_a_wrong_key_is_refused_by_the_fake(fake: FakeTencentCloud,
                                                  session: aiohttp.ClientSession) -> None:
    labels = {"provider": "tencent", "service": "faceid", "action": "IdCardVerification"}
    before = metric("eseal_provider_failures_total", **labels, reason="AuthFailure.SignatureFailure")
    with pytest.raises(TencentCloudError) as refused:
        await client(session, fake, key="not-the-key").call(
            "IdCardVerification", {"IdCard": "110101199003070011", "Name": "张三"}, idempotent=True)
    assert refused.value.code == "AuthFailure.SignatureFailure"
    assert fake.refused == ["AuthFailure.SignatureFailure"] and fake.calls == []
    assert metric("eseal_provider_failures_total", **labels,
                  reason="AuthFailure.SignatureFailure") == before + 1


async def test_an_expired_timestamp_is_refused(fake: FakeTencentCloud,
                                               session: aiohttp.ClientSession) -> None:
    c = TencentCloudClient(session, Credentials("AKIDfake", "fake-secret-key"), service="faceid",
                           version="2018-03-01", region="ap-guangzhou", endpoint=fake.url,
                           clock=lambda: 1551113065.0)
    with pytest.raises(TencentCloudError, match="AuthFailure.SignatureExpire"):
        await c.call("IdCardVerification", {}, idempotent=True)


async def test_idempotent_calls_are_retried_after_transient_failures(
        fake: FakeTencentCloud, session: aiohttp.ClientSession) -> None:
    fake.fail_next("IdCardVerification", 502)
    fake.refuse_next("IdCardVerification", "InternalError")
    response = await client(session, fake).call(
        "IdCardVerification", {"IdCard": "110101199003070011", "Name": "张三"}, idempotent=True)
    assert response["Result"] == "0" and len(fake.calls) == 3


async def test_other_calls_are_not_retried_once_they_reached_tencent(
        fake: FakeTencentCloud, session: aiohttp.ClientSession) -> None:
    fake.fail_next("DetectAuth", 502)
    with pytest.raises(TencentCloudUnavailable):
        await client(session, fake).call("DetectAuth", {"RuleId": "1"}, idempotent=False)
    assert len(fake.calls) == 1


async def test_no_server_is_unavailable_after_the_retries(session: aiohttp.ClientSession) -> None:
    c = TencentCloudClient(session, Credentials("AKIDfake", "k"), service="sms", version="2021-01-11",
                           region="ap-guangzhou", endpoint="http://127.0.0.1:9", retries=1, backoff=0.0)
    with pytest.raises(TencentCloudUnavailable, match="connect"):
        await c.call("SendSms", {}, idempotent=False)


def test_describe_names_no_secret() -> None:
    c = TencentCloudClient(None, Credentials("AKIDsecretid", "the-secret-key"),  # type: ignore[arg-type]
                           service="sms", version="2021-01-11", region="ap-beijing")
    assert c.describe() == {"provider": "tencent", "service": "sms", "version": "2021-01-11",
                            "region": "ap-beijing", "endpoint": "https://sms.tencentcloudapi.com/"}
    assert "the-secret-key" not in repr(c.__dict__)


def test_settings_read_secrets_from_files_and_refuse_without(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("ESEAL_TENCENT_SECRET_ID", raising=False)
    monkeypatch.delenv("ESEAL_TENCENT_SECRET_KEY", raising=False)
    empty = TencentCloudSettings(env="test")
    with pytest.raises(RuntimeError, match="ESEAL_SMS_PROVIDER=tencent needs ESEAL_TENCENT_SECRET_ID"):
        empty.tencent_credentials("ESEAL_SMS_PROVIDER")
    assert len(empty.tencent_problems("ESEAL_SMS_PROVIDER")) == 2
    (tmp_path / "id").write_text("AKIDfromfile\n")
    (tmp_path / "key").write_text("key-from-file\n")
    s = TencentCloudSettings(env="test", tencent_secret_id_file=tmp_path / "id",
                             tencent_secret_key_file=tmp_path / "key")
    assert s.tencent_credentials("ESEAL_SMS_PROVIDER") == Credentials("AKIDfromfile", "key-from-file")
    assert "key-from-file" not in repr(s.tencent_credentials("x"))
    assert s.tencent_problems("ESEAL_SMS_PROVIDER") == []
