"""Every service process starts, migrates its own database and answers /readyz."""

from __future__ import annotations

import asyncpg
import pytest

from devstack.stack import SERVICES
from tests.conftest import Platform
from tests.support.api import Api

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("service", SERVICES)
async def test_service_is_ready_with_health_and_metrics(api: Api, platform: Platform, service: str) -> None:
    base, internal = platform.url(service), platform.internal_url(service)
    for listener in (base, internal):  # probes may use either listener
        assert (await api.get(listener + "/healthz")).status == 200
        ready = await api.get(listener + "/readyz")
        assert ready.status == 200, ready
    metrics = await api.get(internal + "/metrics")
    assert metrics.status == 200 and b"python_info" in metrics.body


@pytest.mark.parametrize("service", SERVICES)
async def test_public_listener_hides_metrics_and_internal_endpoints(api: Api, platform: Platform,
                                                                    service: str) -> None:
    base = platform.url(service)
    for path in ("/metrics", "/internal/jwks", "/internal/revocations", "/INTERNAL/jwks",
                 "//internal/jwks", "/metrics/"):
        r = await api.get(base + path)
        # an empty segment is refused by the path check (400) before the listener guard (404)
        expected = (400, "invalid_path") if path.startswith("//") else (404, "not_found")
        assert (r.status, r.json["code"]) == expected, (path, r)
    # and the internal listener serves no public API
    assert (await api.get(platform.internal_url(service) + "/api/v1/me")).status == 404


@pytest.mark.parametrize("service", [s for s in SERVICES if s != "gateway"])
async def test_each_service_has_its_own_migrated_database(platform: Platform, service: str) -> None:
    conn = await asyncpg.connect(f"postgresql://postgres@127.0.0.1:5432/{platform.config.db_prefix}{service}")
    try:
        names = {r["name"] for r in await conn.fetch("SELECT name FROM schema_migrations")}
        assert "sql/0000_eventstore.sql" in names
        assert await conn.fetchval("SELECT to_regclass('events') IS NOT NULL")
    finally:
        await conn.close()


async def test_gateway_answers_problem_json_for_unknown_paths(api: Api) -> None:
    r = await api.get("/api/v1/no-such-thing")
    assert r.status == 404
    assert r.headers["Content-Type"].startswith("application/problem+json")
    assert r.json["code"] == "not_found"
    assert r.headers.get("X-Request-ID")
