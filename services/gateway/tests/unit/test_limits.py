from __future__ import annotations

from gateway.limits import RateLimiter, default_rules
from gateway.routes import match


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_login_bucket_refuses_after_its_burst_and_refills_with_time() -> None:
    clock = Clock()
    limiter = RateLimiter(default_rules(), clock)
    rule = limiter.rule_for("POST", "/api/v1/sessions")
    assert rule is not None and rule.name == "login"
    assert all(limiter.take(rule, "1.2.3.4") == 0 for _ in range(rule.capacity))
    wait = limiter.take(rule, "1.2.3.4")
    assert wait > 0
    assert limiter.take(rule, "5.6.7.8") == 0  # another client has its own bucket
    clock.now += wait + 0.01
    assert limiter.take(rule, "1.2.3.4") == 0


def test_only_the_listed_endpoints_are_limited() -> None:
    limiter = RateLimiter(default_rules())
    assert limiter.rule_for("GET", "/api/v1/sessions") is None
    assert limiter.rule_for("GET", "/api/v1/seals") is None
    assert limiter.rule_for("POST", "/api/v1/stamp-requests/abc/stamp").name == "stamp"  # type: ignore[union-attr]
    assert limiter.rule_for("POST", "/api/v1/stamp-batches/abc/stamp").name == "stamp"  # type: ignore[union-attr]
    assert limiter.rule_for("POST", "/api/v1/stamp-batches/scans").name == "scan"  # type: ignore[union-attr]
    assert limiter.rule_for("POST", "/api/v1/stamp-batches").name == "stamp_request"  # type: ignore[union-attr]
    assert limiter.rule_for("POST", "/api/v1/certificate/activation-codes").name == "sms_code"  # type: ignore[union-attr]


def test_unified_identity_login_shares_the_login_bucket() -> None:
    limiter = RateLimiter(default_rules())
    for path in ("/api/v1/sessions/oidc/start", "/api/v1/sessions/oidc/callback"):
        assert limiter.rule_for("POST", path).name == "login"  # type: ignore[union-attr]
    assert limiter.rule_for("GET", "/api/v1/sessions/oidc") is None
    assert match("/api/v1/sessions/oidc/callback").auth == "public"  # type: ignore[union-attr]


def test_routes_match_by_longest_prefix_on_segment_boundaries() -> None:
    assert match("/api/v1/sessions/current").auth == "user"  # type: ignore[union-attr]
    assert match("/api/v1/sessions").auth == "public"  # type: ignore[union-attr]
    assert match("/api/v1/seals/123/grants").service == "seals"  # type: ignore[union-attr]
    assert match("/api/v1/seal-types").service == "seals"  # type: ignore[union-attr]
    assert match("/api/v1/sealsx") is None
    assert match("/api/v1/ca/root.pem").service == "certs"  # type: ignore[union-attr]
    assert match("/internal/jwks") is None
