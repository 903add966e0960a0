"""Size and rate limits through the whole platform: the right status, problem+json, headers.

The gateway's own buckets are covered rule by rule against a tight gateway in
``services/gateway/tests/integration/test_gateway_edges.py`` (this platform raises them a
hundredfold so other tests never trip them). Here: the body limits of the gateway and of the
services behind it, and the services' own limits (identity's login throttle, the SMS resend
interval of certificate activation), as a client sees them through the gateway.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest

from tests.support import identities as ids
from tests.support.api import Api, Reply

pytestmark = pytest.mark.e2e

GATEWAY_LIMIT = 12 * 1024 * 1024  # GatewaySettings.max_body_bytes
SERVICE_LIMIT = 1024 * 1024  # ServiceSettings.max_body_bytes


def assert_problem(reply: Reply, status: int, code: str) -> dict[str, object]:
    assert reply.status == status, reply
    assert reply.headers["Content-Type"].startswith("application/problem+json"), reply.headers
    assert isinstance(reply.json, dict) and reply.json["code"] == code, reply
    assert reply.json["status"] == status
    assert reply.headers.get("X-Request-ID"), "every answer carries a request id"
    return reply.json


async def test_a_body_over_the_gateway_limit_is_413_problem(api: Api) -> None:
    reply = await api.post("/api/v1/verifications", data=b"%PDF-" + b"x" * GATEWAY_LIMIT,
                           headers={"Content-Type": "application/pdf"})
    assert_problem(reply, 413, "payload_too_large")


async def test_a_chunked_body_over_the_gateway_limit_is_413_problem(api: Api) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(GATEWAY_LIMIT // (256 * 1024) + 2):
            yield b"x" * (256 * 1024)

    reply = await api.post("/api/v1/verifications", data=chunks(),
                           headers={"Content-Type": "application/pdf"})
    assert_problem(reply, 413, "payload_too_large")


@pytest.mark.parametrize("path", ["/api/v1/persons", "/api/v1/sessions", "/api/v1/face-checks"])
async def test_a_json_body_over_the_service_limit_is_413_problem_not_a_broken_answer(
        api: Api, path: str) -> None:
    """Within the gateway's limit but over the owning service's: the service's 413 problem
    reaches the client (not a 502/503 because the service stopped reading)."""
    body = json.dumps({"name": "张三", "padding": "x" * (SERVICE_LIMIT + 1024)}).encode()
    reply = await api.post(path, data=body, headers={"Content-Type": "application/json"})
    assert_problem(reply, 413, "payload_too_large")


async def test_login_throttle_of_an_account_is_429_problem_with_retry_after(api: Api) -> None:
    person = await ids.register_person(api)
    login = {"method": "password", "role": "person", "username": person["phone"],
             "password": person["password"]}
    replies = [await api.post("/api/v1/sessions", json=login) for _ in range(12)]
    statuses = [r.status for r in replies]
    assert 429 in statuses and set(statuses) <= {201, 429}, statuses
    refused = replies[statuses.index(429)]
    body = assert_problem(refused, 429, "too_many_attempts")
    assert int(refused.headers["Retry-After"]) >= 1
    assert body["retry_after"] == int(refused.headers["Retry-After"])


async def test_a_second_activation_code_within_the_interval_is_429_with_retry_after(api: Api) -> None:
    person = await ids.register_person(api)
    token = (await ids.login(api, "person", person["phone"], person["password"]))["access_token"]
    first = await api.post("/api/v1/certificate/activation-codes", token=token)
    assert first.status == 202, first
    again = await api.post("/api/v1/certificate/activation-codes", token=token)
    body = assert_problem(again, 429, "resend_too_soon")
    assert 1 <= int(again.headers["Retry-After"]) <= first.json["resend_after_seconds"]
    assert body["retry_after"] == int(again.headers["Retry-After"])
