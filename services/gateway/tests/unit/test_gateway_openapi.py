"""The committed OpenAPI document: fresh, valid OpenAPI 3.1, complete, and served."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from aiohttp.test_utils import make_mocked_request
from gateway import openapi
from gateway.limits import default_rules
from gateway.routes import match
from openapi_spec_validator import OpenAPIV31SpecValidator

METHODS = ("get", "put", "post", "patch", "delete")


@pytest.fixture(scope="module")
def routes() -> list[openapi.ApiRoute]:
    return openapi.api_routes()


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return json.loads(openapi.DOCUMENT.read_text(encoding="utf-8"))


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(method, path, op) for path, item in document["paths"].items()
            for method, op in item.items() if method in METHODS]


def test_committed_document_equals_a_fresh_generation(routes: list[openapi.ApiRoute]) -> None:
    fresh = openapi.render(openapi.generate(routes))
    committed = openapi.DOCUMENT.read_text(encoding="utf-8")
    assert committed == fresh, "stale services/gateway/gateway/openapi.json: run " \
                               "`python -m gateway.openapi` (PYTHONPATH as in the Makefile)"


def test_document_is_valid_openapi_3_1(document: dict[str, Any]) -> None:
    assert document["openapi"].startswith("3.1")
    errors = [str(e) for e in OpenAPIV31SpecValidator(document).iter_errors()]
    assert errors == []


def test_every_public_route_of_every_service_is_documented_and_nothing_else(
        routes: list[openapi.ApiRoute], document: dict[str, Any]) -> None:
    served = {(r.method.lower(), r.path) for r in routes}
    documented = {(m, p) for m, p, _ in operations(document)}
    assert served - documented == set(), "routes missing from the document"
    assert documented - served == set(), "documented operations that no service serves"
    assert {r.service for r in routes} == set(openapi.SERVICES), "a service has no public route"


def test_every_documented_path_is_routed_by_the_gateway_to_its_owner(
        routes: list[openapi.ApiRoute]) -> None:
    for r in routes:
        if r.service == "gateway":
            continue
        owner = match(r.path)
        assert owner is not None and owner.service == r.service, r


def test_every_handler_carries_documented_facts(routes: list[openapi.ApiRoute]) -> None:
    missing = [f"{r.service}: {r.method} {r.path}" for r in routes if r.facts is None]
    assert missing == []


def test_every_operation_has_a_summary_a_tag_a_success_and_an_error_response(
        document: dict[str, Any]) -> None:
    tag_names = {t["name"] for t in document["tags"]}
    ids = set()
    for method, path, op in operations(document):
        where = f"{method.upper()} {path}"
        assert op.get("summary"), where
        assert op["tags"] and set(op["tags"]) <= tag_names, where
        assert op["operationId"] not in ids, where
        ids.add(op["operationId"])
        statuses = [int(s) for s in op["responses"]]
        assert any(200 <= s < 300 for s in statuses), where
        assert any(s >= 400 for s in statuses), where


def test_tags_are_named_in_chinese_and_english(document: dict[str, Any]) -> None:
    for tag in document["tags"]:
        assert re.search(r"[\u4e00-\u9fff]", tag["name"]) and re.search(r"[A-Za-z]", tag["name"])
        assert tag["description"]


def test_every_error_is_the_shared_problem_schema(document: dict[str, Any]) -> None:
    problem = document["components"]["schemas"]["Problem"]
    assert set(problem["required"]) >= {"type", "title", "status", "detail", "code"}
    assert problem["properties"]["errors"]["items"]["required"] == ["field", "message"]
    for method, path, op in operations(document):
        for status, answer in op["responses"].items():
            if int(status) >= 400:
                assert answer["content"] == {"application/problem+json": {
                    "schema": {"$ref": "#/components/schemas/Problem"}}}, (method, path, status)


def test_authenticated_operations_declare_their_scheme_and_401(document: dict[str, Any]) -> None:
    schemes = document["components"]["securitySchemes"]
    assert schemes["userBearer"] == {**schemes["userBearer"], "type": "http", "scheme": "bearer",
                                     "bearerFormat": "JWT"}
    assert schemes["clientBasic"]["scheme"] == "basic"
    for method, path, op in operations(document):
        for requirement in op["security"]:
            assert set(requirement) <= set(schemes), (method, path)
        if op["security"] and {} not in op["security"]:
            assert "401" in op["responses"], (method, path)
    assert document["paths"]["/api/v1/me"]["get"]["security"] == [{"userBearer": []}]
    assert document["paths"]["/api/v1/support"]["get"]["security"] == []


def test_no_operation_documented_as_anonymous_sits_behind_the_gateways_token_check(
        document: dict[str, Any]) -> None:
    for method, path, op in operations(document):
        route = match(path)
        anonymous = op["security"] == [] or {} in op["security"]
        if route is not None and route.auth == "user":
            assert not anonymous, (method, path, "the gateway answers 401 without a token")


def test_each_rate_limit_rule_is_documented_as_429_with_retry_after(document: dict[str, Any]) -> None:
    limited: dict[str, list[dict[str, Any]]] = {}
    for _, _, op in operations(document):
        if "x-rate-limit" in op:
            limited.setdefault(op["x-rate-limit"], []).append(op)
    assert set(limited) == {rule.name for rule in default_rules()}
    for ops in limited.values():
        for op in ops:
            header = op["responses"]["429"]["headers"]["Retry-After"]
            assert header["required"] is True and header["schema"]["type"] == "integer"


def test_bodies_and_answers_are_component_schemas(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    refs = set(re.findall(r'"#/components/schemas/([^"]+)"', json.dumps(document)))
    assert refs <= set(schemas), "dangling $ref"
    login = document["paths"]["/api/v1/sessions"]["post"]
    assert login["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Login"}
    assert {"400", "413", "415", "422", "429"} <= set(login["responses"])
    agents = document["paths"]["/api/v1/agents"]["get"]
    assert {p["name"] for p in agents["parameters"]} == {"limit", "cursor"}
    assert agents["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/AgentPage"}


def test_path_parameters_are_declared(document: dict[str, Any]) -> None:
    for method, path, op in operations(document):
        names = set(re.findall(r"{([^}]+)}", path))
        declared = {p["name"] for p in op.get("parameters", ()) if p["in"] == "path"}
        assert names == declared, (method, path)
        if names:
            assert "404" in op["responses"], (method, path)


def test_sandbox_operations_say_they_exist_only_outside_production(document: dict[str, Any]) -> None:
    sandbox = [(m, p, op) for m, p, op in operations(document) if p.startswith("/api/v1/sandbox/")]
    assert sandbox
    for _, _, op in sandbox:
        assert op["x-sandbox"] is True and "production" in op["description"]


async def test_the_gateway_serves_the_committed_document() -> None:
    from gateway.bootstrap import create_gateway
    from gateway.config import GatewaySettings

    app = create_gateway(GatewaySettings())
    request = make_mocked_request("GET", "/api/v1/openapi.json", app=app)
    match_info = await app.router.resolve(request)
    assert match_info.handler is openapi.serve_document  # not the proxy's catch-all
    response = await openapi.serve_document(request)
    assert response.status == 200 and response.content_type == "application/json"
    assert response.body == openapi.DOCUMENT.read_bytes()


def test_every_operation_documents_the_gateways_400_refusals(document: dict[str, Any]) -> None:
    for path, method, op in operations(document):
        text = op["responses"]["400"]["description"]
        for code in ("invalid_path", "duplicate_authorization", "invalid_framing"):
            assert code in text, (method, path, code)
