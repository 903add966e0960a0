"""shared.webhooks: the signature (same scheme as stamping's callbacks) and the URL rule."""

from __future__ import annotations

import pytest

from shared.errors import ValidationFailed
from shared.webhooks import check_url, signature, verify


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
