"""The gateway's route table: generated from the services' routes, committed fresh, and
routing exactly as the hand-kept table it replaced did."""

from __future__ import annotations

import re

import pytest
from gateway import openapi, routegen
from gateway.routes import ROUTES, match

API = "/api/v1"

# The table as it was kept by hand until it was generated (prefix, service, check): every
# path it routed must still reach the same service with the same check.
HAND_KEPT: tuple[tuple[str, str, str], ...] = (
    (f"{API}/persons", "identity", "public"),
    (f"{API}/enterprises", "identity", "public"),
    (f"{API}/enterprises/current/verification", "identity", "user"),
    (f"{API}/sessions/refresh", "identity", "public"),
    (f"{API}/sessions/current", "identity", "user"),
    (f"{API}/sessions", "identity", "public"),
    (f"{API}/me", "identity", "user"),
    (f"{API}/face-checks", "identity", "any"),
    (f"{API}/sandbox/face-checks", "identity", "public"),
    (f"{API}/.well-known/jwks.json", "identity", "public"),
    (f"{API}/agents", "agents", "user"),
    (f"{API}/agreements", "certs", "public"),
    (f"{API}/certificate", "certs", "user"),
    (f"{API}/ca/", "certs", "public"),
    (f"{API}/sandbox/sms", "certs", "public"),
    (f"{API}/seal-types", "seals", "any"),
    (f"{API}/seals", "seals", "user"),
    (f"{API}/my/enterprises", "seals", "user"),
    (f"{API}/my/signature", "seals", "user"),
    (f"{API}/oauth/token", "stamping", "public"),
    (f"{API}/stamp-requests", "stamping", "any"),
    (f"{API}/scans", "stamping", "user"),
    (f"{API}/usage-records", "stamping", "user"),
    (f"{API}/signature-records", "stamping", "user"),
    (f"{API}/approvals", "stamping", "user"),  # 用印审批
    (f"{API}/verifications", "stamping", "public"),
    (f"{API}/messages", "notify", "user"),
    (f"{API}/support", "notify", "public"),
    # added since: subscribers (issue 19)
    (f"{API}/events", "notify", "any"),
    (f"{API}/subscriptions/token", "notify", "public"),
    (f"{API}/subscriptions/deliveries", "notify", "any"),
    # added since: batches (issue 15)
    (f"{API}/stamp-batches", "stamping", "any"),
    (f"{API}/stamp-batches/scans", "stamping", "user"),
)


def hand_kept_match(path: str) -> tuple[str, str] | None:
    for prefix, service, auth in sorted(HAND_KEPT, key=lambda r: len(r[0]), reverse=True):
        p = prefix.rstrip("/")
        if path == p or path.startswith(p + "/"):
            return service, auth
    return None


@pytest.fixture(scope="module")
def routes() -> list[openapi.ApiRoute]:
    return openapi.api_routes()


def test_committed_table_equals_a_fresh_generation(routes: list[openapi.ApiRoute]) -> None:
    fresh = routegen.render(routegen.derive(routes))
    committed = routegen.TABLE_FILE.read_text(encoding="utf-8")
    assert committed == fresh, "stale services/gateway/gateway/route_table.py: run " \
                               "`python -m gateway.routegen` (PYTHONPATH as in the Makefile)"


def test_the_generated_table_routes_as_the_hand_kept_one_did(
        routes: list[openapi.ApiRoute]) -> None:
    concrete = [re.sub(r"{[^}]+}", "00000000-0000-0000-0000-000000000000", r.path)
                for r in routes]
    prefixes = [p for p, _, _ in HAND_KEPT] + [r.prefix for r in ROUTES]
    probes = set(concrete)
    for p in prefixes:
        probes |= {p, p.rstrip("/"), p.rstrip("/") + "/other", p.rstrip("/") + "-other",
                   p.rstrip("/") + "/a/b"}
    probes |= {f"{API}", f"{API}/", f"{API}/nothing", f"{API}/my", f"{API}/my/other",
               f"{API}/sandbox", f"{API}/sandbox/other", f"{API}/.well-known/other",
               f"{API}/oauth", f"{API}/openapi.json"}
    for path in sorted(probes):
        route = match(path)
        assert (None if route is None else (route.service, route.auth)) == \
            hand_kept_match(path), path


@pytest.mark.parametrize(("auths", "check"), [
    ({"user"}, "user"), ({"public"}, "public"), ({"basic"}, "public"),
    ({"public", "basic"}, "public"), ({"client"}, "any"), ({"public|user"}, "any"),
    ({"client", "user"}, "any"), ({"public", "user"}, "any"),
])
def test_gateway_check_from_documented_auth(auths: set[str], check: str) -> None:
    assert routegen.gateway_auth(auths) == check
