"""shared.webhooks: the signature (same scheme as stamping's callbacks) and the URL rule."""

from __future__ import annotations

import socket
from typing import Any

import pytest

from shared import webhooks
from shared.errors import ValidationFailed
from shared.webhooks import GuardedSender, check_url, signature, verify


def test_a_signature_verifies_within_the_replay_window_only() -> None:
    body = b'{"type":"SealRevoked"}'
    header = signature("whsec_x", body, at=1_700_000_000)
    assert header.startswith("t=1700000000,v1=")
    assert verify("whsec_x", body, header, now=1_700_000_100)
    assert not verify("whsec_x", body, header, now=1_700_000_400)  # replayed later
    assert not verify("whsec_y", body, header, now=1_700_000_100)
    assert not verify("whsec_x", body + b" ", header, now=1_700_000_100)
    assert not verify("whsec_x", body, "garbage", now=1_700_000_100)


@pytest.mark.parametrize("url", [
    "https://127.0.0.1/hook", "https://10.1.2.3/hook", "https://[::1]/hook", "https://localhost/x",
    "https://a.localhost/x", "https://169.254.169.254/latest", "https://[::ffff:192.168.1.1]/x",
    "https://user:pw@example.gov.cn/x", "ftp://example.gov.cn/x", "https:///nohost"])
def test_private_and_malformed_urls_are_refused(url: str) -> None:
    with pytest.raises(ValidationFailed):
        check_url(url, field="webhook_url", allow_private=False)


def test_public_urls_pass_and_private_ones_when_allowed() -> None:
    assert check_url("https://example.gov.cn/hook", field="w", allow_private=False)
    assert check_url("http://127.0.0.1:9000/hook", field="w", allow_private=True)
    with pytest.raises(ValidationFailed):
        check_url("http://example.gov.cn/hook", field="w", allow_private=False, https_only=True)



async def test_the_sender_refuses_a_name_resolving_to_a_private_address(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """At delivery time, every address a name resolves to is checked (DNS rebinding)."""
    answers = {"hooks.example.gov.cn": ["202.96.134.133", "10.0.0.7"],
               "public.example.gov.cn": ["202.96.134.133"]}
    asked: list[str] = []

    class Resolver:
        async def resolve(self, host: str, port: int = 0,
                          family: socket.AddressFamily = socket.AF_INET) -> list[dict[str, Any]]:
            asked.append(host)
            return [{"hostname": host, "host": a, "port": port, "family": family, "proto": 0, "flags": 0}
                    for a in answers[host]]

        async def close(self) -> None:
            return None

    monkeypatch.setattr(webhooks, "DefaultResolver", Resolver)
    guard = webhooks._PublicResolver()
    with pytest.raises(OSError, match="private address"):
        await guard.resolve("hooks.example.gov.cn", 443)
    assert [a["host"] for a in await guard.resolve("public.example.gov.cn", 443)] == ["202.96.134.133"]
    sender = GuardedSender(allow_private=False, timeout=5)
    try:
        ok, detail = await sender.post("https://hooks.example.gov.cn/eseal", b"{}", "whsec_x")
        assert not ok and asked[-1] == "hooks.example.gov.cn"  # resolved by the guard, refused
        ok, detail = await sender.post("https://10.0.0.7/eseal", b"{}", "whsec_x")
        assert not ok and detail.startswith("refused")
    finally:
        await sender.close()
