"""The internal surface is not on the public door.

Contract: every service serves ``/internal/*``, ``/metrics``, ``/healthz`` and ``/readyz`` on a
second listener (public port + 1000 by default); the public listener (what the gateway forwards to)
answers 404 for ``/internal/*`` and ``/metrics`` even to a caller holding valid internal
credentials. On the internal listener ``/internal/*`` still needs the internal secret.
"""

from __future__ import annotations

import uuid

import pytest

from shared.internal import internal_token
from shared.settings import ServiceSettings
from tests.conftest import Platform
from tests.support import rawhttp

from .conftest import HOST, internal_port

pytestmark = pytest.mark.e2e

SERVICES = ("gateway", "identity", "agents", "certs", "seals", "stamping", "notify")
# One readable internal endpoint per service that has any (identity's /internal/jwks holds
# public keys only and is deliberately open on the internal listener).
INTERNAL_GET = {
    "identity": "/internal/revocations",
    "certs": "/internal/ca",
    "seals": f"/internal/enterprises/{uuid.uuid4()}/seals",
}
ANY_INTERNAL = (
    "/internal/jwks",
    "/internal/revocations",
    "/internal/ca",
    "/internal/sandbox/clock",
    f"/internal/seals/{uuid.uuid4()}",
    "/internal/anything",
)


def secret(platform: Platform, service: str) -> str:
    env = platform.config.environment(service)
    return env.get("ESEAL_INTERNAL_SECRET") or ServiceSettings().internal_secret.get_secret_value()


def credentials(platform: Platform, service: str) -> list[tuple[str, str]]:
    return [("Authorization", "Internal " + internal_token(secret(platform, service), "gateway", service))]


@pytest.mark.parametrize("service", SERVICES)
@pytest.mark.parametrize("path", ["/metrics", *ANY_INTERNAL])
async def test_public_listener_hides_internal_paths(platform: Platform, service: str, path: str) -> None:
    port = platform.config.port(service)
    for headers in ([], credentials(platform, service)):
        r = await rawhttp.get(HOST, port, path, headers=headers)
        assert r.status == 404, (service, path, bool(headers), r)
        assert b"# TYPE" not in r.body and b'"keys"' not in r.body


@pytest.mark.parametrize("service", SERVICES)
async def test_internal_listener_serves_probes_and_metrics(platform: Platform, service: str) -> None:
    port = internal_port(platform, service)
    for path in ("/healthz", "/readyz"):
        r = await rawhttp.get(HOST, port, path)
        assert r.status == 200, (service, path, r)
    r = await rawhttp.get(HOST, port, "/metrics")
    assert r.status == 200 and b"# TYPE" in r.body, (service, r)


@pytest.mark.parametrize("service", sorted(INTERNAL_GET))
async def test_internal_endpoints_need_the_internal_secret(platform: Platform, service: str) -> None:
    port, path = internal_port(platform, service), INTERNAL_GET[service]
    anonymous = await rawhttp.get(HOST, port, path)
    assert anonymous.status == 401 and anonymous.code == "internal_auth_required", anonymous
    forged = [
        ("Authorization", "Internal " + internal_token("not-the-secret-" + "x" * 32, "gateway", service))
    ]
    assert (await rawhttp.get(HOST, port, path, headers=forged)).status == 401
    wrong_audience = [
        ("Authorization", "Internal " + internal_token(secret(platform, service), "gateway", "notify"))
    ]
    assert (await rawhttp.get(HOST, port, path, headers=wrong_audience)).status == 401
    user = await rawhttp.get(HOST, port, path, headers=[("Authorization", "Bearer x.y.z")])
    assert user.status == 401, user
    ok = await rawhttp.get(HOST, port, path, headers=credentials(platform, service))
    assert ok.status == 200, (service, ok)


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
async def test_public_probes_still_answer(platform: Platform, path: str) -> None:
    """Health and readiness stay on the public port too (probes may use either)."""
    for service in SERVICES:
        r = await rawhttp.get(HOST, platform.config.port(service), path)
        assert r.status == 200, (service, path, r)
