"""The OpenAPI 3.1 document of the public API, generated from the services' own routes.

Each service's application is built (``create_app(settings)``: routes registered, nothing
started: no cleanup context runs, no database or broker is touched), its ``/api/v1`` routes
are walked, and the facts that ``shared.http.documented`` attached to each handler
(``handler.__openapi__``) become one operation. Pydantic models become JSON Schema in
``components/schemas`` (``$ref``); every error is the shared ``Problem`` (RFC 9457).

What the generator adds from what the gateway knows:
- ``401`` on every authenticated operation, ``429`` with ``Retry-After`` where a rate limit
  applies (``limits.default_rules``), ``413``/``415``/``400``/``422`` where a body is read,
  ``422`` where a query is parsed, ``404`` where the path names an object, ``503`` when the
  owning service is unavailable;
- security: ``userBearer`` (identity's JWT), ``clientBearer`` (a relying system's token),
  ``clientBasic`` (``client_id:client_secret`` for ``/oauth/token``); ``auth`` may combine
  alternatives with ``|`` (``"public|user"``: anonymous or with a token);
- a note on ``/api/v1/sandbox/...``: these exist only outside production.

``content_type`` of ``documented``: a ``multipart/...`` or form type describes the request
body (the ``body`` model then lists the form's fields); any other type describes the
success answer (``image/png``, ``application/pdf``, ``text/event-stream``...).

``python -m gateway.openapi`` writes ``gateway/openapi.json`` (committed; the gateway serves
it at ``GET /api/v1/openapi.json``) and refreshes the gateway's route table
(``gateway.routegen``, from the same routes) and the operation table of ``docs/API.md``
(``gateway.apidoc``); ``--check`` exits 1 when the committed file is stale.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import json
import os
import re
import sys
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web
from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from shared.errors import ServiceUnavailable
from shared.http import documented

from .limits import default_rules
from .routes import match

__all__ = ["DOCUMENT", "SERVICES", "TAGS", "ApiRoute", "api_routes", "generate", "main",
           "serve_document"]

DOCUMENT = Path(__file__).resolve().parent / "openapi.json"
API_PREFIX = "/api/v1"
SERVICES = ("identity", "agents", "certs", "seals", "stamping", "notify", "gateway")
REF_TEMPLATE = "#/components/schemas/{model}"
PROBLEM_JSON = "application/problem+json"
METHOD_ORDER = ("get", "put", "post", "patch", "delete")

# Tag keys used in ``documented(tags=...)`` → (name shown: Chinese + English, description).
TAGS: dict[str, tuple[str, str]] = {
    "identity": ("统一身份认证 Identity", "注册与当前用户 / registration of persons and "
                 "enterprises, the logged-in principal"),
    "sessions": ("登录会话 Sessions", "密码或人脸登录、刷新、退出 / login by password or face, "
                 "refresh, logout"),
    "face-checks": ("人脸验证 Face checks", "敏感操作前的人脸核验 / face checks bound to a "
                    "subject and purpose; the token is valid 5 minutes, usable once"),
    "agents": ("经办人管理 Agents", "企业账号管理经办人 / the enterprise account's agents"),
    "certificates": ("数字证书 Certificates", "证书激活、查看、改密 / activation, details, "
                     "certificate password"),
    "ca": ("证书颁发机构 Certificate authority", "平台根证书与吊销列表 / the platform CA's "
           "certificates and CRLs"),
    "seals": ("我的印章 Seals", "企业印章的申请、查看、注销 / an enterprise's seals"),
    "grants": ("印章授权 Grants", "授权自然人使用印章 / authorizations of natural persons "
               "to use a seal"),
    "my-seals": ("自然人印章 My seals", "授权给我的企业与印章 / enterprises and seals "
                 "granted to me"),
    "signature": ("个人签名 Personal signature", "自然人的个人签名 / a person's one signature"),
    "stamping": ("电子印章使用 Stamping", "盖章请求、扫码、盖章 / stamp requests by relying "
                 "systems, scanning and stamping in the app"),
    "usage": ("使用记录 Usage records", "印章使用记录（近三个月） / usage records of the "
              "last 3 months"),
    "verification": ("验章 Verification", "验证已盖章文档 / verification of stamped documents"),
    "approvals": ("用印审批 Approvals", "用印审批：审批人批准或驳回盖章 / approval before a seal is applied"),
    "messages": ("消息提醒 Messages", "消息列表、已读、推送 / messages, read state, push"),
    "events": ("事件订阅 Events", "其他政务系统订阅平台事件：令牌、补取、推送记录、事件目录 / "
               "subscribers (other government systems): token, catch-up feed, webhook "
               "deliveries, the event catalogue"),
    "support": ("客服中心 Support", "客服电话与QQ群 / customer service contacts"),
    "sandbox": ("沙箱 Sandbox", "仅在开发与测试环境存在 / only when ESEAL_ENV is development "
                "or test (404 in production): drive the sandbox face and SMS providers"),
    "platform": ("平台 Platform", "接口文档与密钥 / this document and the token keys"),
}

SECURITY_SCHEMES: dict[str, dict[str, Any]] = {
    "userBearer": {
        "type": "http", "scheme": "bearer", "bearerFormat": "JWT",
        "description": "用户访问令牌 / a person's, enterprise account's or agent's access token "
                       "from `POST /api/v1/sessions` (ES256 JWT, short-lived; refresh with "
                       "`POST /api/v1/sessions/refresh`).",
    },
    "clientBearer": {
        "type": "http", "scheme": "bearer",
        "description": "盖章系统令牌 / a relying system's access token from "
                       "`POST /api/v1/oauth/token` (OAuth2 client credentials).",
    },
    "clientBasic": {
        "type": "http", "scheme": "basic",
        "description": "盖章系统凭据 / HTTP Basic `client_id:client_secret` of a relying system "
                       "(created by ops with the stamping CLI).",
    },
}
AUTH_SCHEMES = {"user": "userBearer", "client": "clientBearer", "basic": "clientBasic"}

PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "title": "Problem",
    "description": "RFC 9457 problem details. `code` is stable (snake_case) for clients to "
                   "branch on; some problems add fields (`retry_after`, `attempts_left`...).",
    "required": ["type", "title", "status", "detail", "code"],
    "properties": {
        "type": {"type": "string", "format": "uri"},
        "title": {"type": "string"},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "detail": {"type": "string"},
        "code": {"type": "string", "pattern": "^[a-z0-9_]+$"},
        "errors": {
            "type": "array",
            "description": "The refused fields (validation failures).",
            "items": {
                "type": "object",
                "required": ["field", "message"],
                "properties": {
                    "field": {"type": "string",
                              "description": "dotted path, e.g. `legal_representative.phone`"},
                    "message": {"type": "string"},
                    "code": {"type": "string"},
                },
            },
        },
    },
}

# Errors the generator adds where they apply, with the codes a client sees.
STANDARD_ERRORS: dict[int, str] = {
    400: "请求体不是合法 JSON / the body is not valid JSON (`invalid_json`)",
    401: "未登录或令牌无效 / missing, invalid, expired or revoked credentials "
         "(`not_authenticated`, `token_revoked`...)",
    404: "不存在（含其他企业的对象） / no such object, also for another enterprise's "
         "(`not_found`...)",
    413: "请求体过大 / the body is too large (`payload_too_large`)",
    415: "不支持的内容类型 / the body has the wrong content type (`unsupported_media_type`)",
    422: "字段校验失败 / refused fields, listed in `errors` (`validation_failed`...)",
    429: "请求过于频繁 / rate limited (`rate_limited`); retry after `Retry-After` seconds",
    503: "服务暂不可用 / the owning service is unavailable (`service_unavailable`), or has not "
         "loaded the revocation list yet (`revocations_unavailable`); retry",
}
# Answered by the gateway before any service sees the request, on every operation.
REQUEST_REFUSED = ("请求被网关拒绝 / the request is refused before routing: an ambiguous path "
                   "(`invalid_path`: `.`/`..` segments, encoded `/` or `\\`, NUL, double "
                   "encoding, invalid UTF-8), more than one `Authorization` header "
                   "(`duplicate_authorization`), ambiguous message framing (`invalid_framing`)")
SUCCESS_DESCRIPTIONS = {200: "OK", 201: "Created", 202: "Accepted", 204: "No content"}
FORM_TYPES = ("multipart/", "application/x-www-form-urlencoded")
SANDBOX_NOTE = ("**沙箱接口 / sandbox endpoint**: exists only when `ESEAL_ENV` is "
                "`development` or `test`; in production it is absent (404).")

INFO = {
    "title": "eseal 电子印章 API",
    "version": "1.0.0",
    "summary": "The public API of the electronic-seal platform, behind its gateway.",
    "description": (
        "The mobile client, the web pages and relying systems (盖章系统) call this API "
        "through the gateway; every path is under `/api/v1`.\n\n"
        "- JSON bodies in UTF-8; times RFC 3339 UTC; dates `YYYY-MM-DD`; ids are UUIDs.\n"
        "- Errors are `application/problem+json` (RFC 9457) with a stable `code` and, for "
        "refused fields, `errors: [{field, message}]`.\n"
        "- Lists: `{items, next_cursor}` with `?limit=` (≤ 100) and `?cursor=` (opaque; one "
        "the list did not give out is 422 `invalid_cursor`).\n"
        "- Every answer carries `X-Request-ID` (the caller's, when it sent one).\n"
        "- Login, face checks, SMS codes, registration, scanning, stamping, verification "
        "and relying systems' token requests "
        "are rate limited: 429 with `Retry-After`.\n"
        "- Endpoints under `/api/v1/sandbox/` exist only outside production.\n"
        "- The gateway answers 400 before routing to an ambiguous path (`invalid_path`), "
        "a second `Authorization` header (`duplicate_authorization`) or ambiguous framing "
        "(`invalid_framing`)."
    ),
}


@dataclass(frozen=True)
class ApiRoute:
    """One public operation of one service, as its application registers it."""

    service: str
    method: str  # upper case
    path: str  # with {parameters}
    handler: Any

    @property
    def facts(self) -> dict[str, Any] | None:
        return getattr(self.handler, "__openapi__", None)


@contextlib.contextmanager
def _clean_environment() -> Iterator[None]:
    """Build apps from defaults only: the document must not depend on who generates it."""
    saved = dict(os.environ)
    try:
        for key in [k for k in os.environ if k.startswith("ESEAL_")]:
            del os.environ[key]
        os.environ["ESEAL_ENV"] = "development"  # sandbox routes are registered (documented)
        os.environ["ESEAL_MASTER_KEY"] = "A" * 43 + "="  # silence the development-key warning
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def build_app(service: str) -> web.Application:
    """The service's application with its routes, not started."""
    if service == "gateway":
        from .bootstrap import create_gateway
        from .config import GatewaySettings

        return create_gateway(GatewaySettings())
    bootstrap = importlib.import_module(f"{service}.bootstrap")
    hint = typing.get_type_hints(bootstrap.create_app)["settings"]
    settings_cls = next(a for a in typing.get_args(hint) if a is not type(None)) \
        if typing.get_args(hint) else hint
    app: web.Application = bootstrap.create_app(settings_cls())
    return app


def api_routes(services: tuple[str, ...] = SERVICES) -> list[ApiRoute]:
    """Every public route (method + path) of the given services, gateway's proxy excluded."""
    from .proxy import forward

    found: list[ApiRoute] = []
    with _clean_environment():
        for service in services:
            app = build_app(service)
            for route in app.router.routes():
                resource = route.resource
                if resource is None or route.method in ("HEAD", "OPTIONS"):
                    continue
                path = resource.canonical
                if not path.startswith(API_PREFIX + "/") or route.handler is forward:
                    continue
                if route.method == "*":
                    raise ValueError(f"{service}: {path} accepts any method; register each one")
                found.append(ApiRoute(service, route.method, path, route.handler))
    return found


def _path_parameters(path: str) -> list[dict[str, Any]]:
    params = []
    for name in re.findall(r"{([^}:]+)(?::[^}]*)?}", path):
        schema: dict[str, Any] = {"type": "string"}
        if name.endswith("_id"):
            schema["format"] = "uuid"
        params.append({"name": name, "in": "path", "required": True, "schema": schema})
    return params


def _rate_rule(method: str, path: str) -> str | None:
    concrete = re.sub(r"{[^}]+}", "00000000-0000-0000-0000-000000000000", path)
    for rule in default_rules():
        if rule.method == method and rule.path.match(concrete):
            return rule.name
    return None


def _problem(description: str) -> dict[str, Any]:
    return {"description": description,
            "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}}


def _security(auth: str) -> list[dict[str, list[str]]]:
    out: list[dict[str, list[str]]] = []
    for alternative in auth.split("|"):
        alternative = alternative.strip()
        if alternative == "public":
            out.append({})
        elif alternative in AUTH_SCHEMES:
            out.append({AUTH_SCHEMES[alternative]: []})
        else:
            raise ValueError(f"unknown auth {alternative!r}: user, client, basic or public")
    return [] if out == [{}] else out  # [] : no credentials at all


class _Schemas:
    """All pydantic models of the document, generated at once so their names agree."""

    def __init__(self, routes: list[ApiRoute]) -> None:
        inputs: set[tuple[type[BaseModel], JsonSchemaMode]] = set()
        for r in routes:
            facts = r.facts or {}
            modes: tuple[tuple[str, JsonSchemaMode], ...] = (
                ("body", "validation"), ("query", "validation"), ("response", "serialization"))
            for key, mode in modes:
                if facts.get(key) is not None:
                    inputs.add((facts[key], mode))
            inputs.update((m, "validation") for m in (facts.get("bodies") or {}).values() if m)
        ordered = sorted(inputs, key=lambda m: (m[0].__module__, m[0].__qualname__, m[1]))
        refs, top = models_json_schema(ordered, ref_template=REF_TEMPLATE)
        self.refs = refs
        self.defs: dict[str, Any] = top.get("$defs", {})

    def ref(self, model: type[BaseModel], mode: str) -> dict[str, Any]:
        return dict(self.refs[(model, mode)])  # type: ignore[index]

    def resolve(self, model: type[BaseModel], mode: str) -> dict[str, Any]:
        name = self.ref(model, mode)["$ref"].rsplit("/", 1)[-1]
        return dict(self.defs[name])


def _query_parameters(schemas: _Schemas, model: type[BaseModel]) -> list[dict[str, Any]]:
    schema = schemas.resolve(model, "validation")
    required = set(schema.get("required", ()))
    params = []
    for name, prop in schema.get("properties", {}).items():
        prop = _not_null(dict(prop))  # an absent parameter is the null
        description = prop.pop("description", None)
        prop.pop("title", None)
        param: dict[str, Any] = {"name": name, "in": "query", "required": name in required,
                                 "schema": prop}
        if description:
            param["description"] = description
        params.append(param)
    return params


def _not_null(schema: dict[str, Any]) -> dict[str, Any]:
    options = [o for o in schema.get("anyOf", ()) if o != {"type": "null"}]
    if "anyOf" in schema and len(options) == 1:
        rest = {k: v for k, v in schema.items() if k != "anyOf"}
        schema = {**options[0], **rest}
    if schema.get("default", 0) is None:
        del schema["default"]
    return schema


def _body_required(schemas: _Schemas, model: type[BaseModel]) -> bool:
    schema = schemas.resolve(model, "validation")
    return schema.get("type") != "object" or bool(schema.get("required"))


def _operation(route: ApiRoute, schemas: _Schemas) -> dict[str, Any]:
    """One operation: who may call it, what it takes, what it answers (successes, then problems)."""
    facts = _checked_facts(route)
    content_type: str | None = facts["content_type"]
    form = content_type is not None and content_type.startswith(FORM_TYPES)
    sandbox = route.path.startswith(f"{API_PREFIX}/sandbox/")
    op: dict[str, Any] = {
        "operationId": f"{route.service}_{route.handler.__name__}",
        "summary": facts["summary"],
        "tags": [TAGS[t][0] for t in facts["tags"]],
    }
    if sandbox:
        op["description"] = SANDBOX_NOTE
    params = _path_parameters(route.path)
    if facts["query"] is not None:
        params += _query_parameters(schemas, facts["query"])
    if params:
        op["parameters"] = params
    op["security"] = _security(facts["auth"])
    errors = _general_errors(facts, op, params, sandbox)
    bodies: dict[str, type[BaseModel] | None] = dict(facts.get("bodies") or {})
    if not bodies and (facts["body"] is not None or form):
        bodies = {content_type if form else "application/json": facts["body"]}  # type: ignore[dict-item]
    if bodies:
        op["requestBody"] = _request_body(bodies, schemas)
        errors.update({413: STANDARD_ERRORS[413], 415: STANDARD_ERRORS[415],
                       422: STANDARD_ERRORS[422]})
        if any(_is_json(t) for t in bodies):
            errors[400] = STANDARD_ERRORS[400]
    errors[400] = f"{errors[400]}; {REQUEST_REFUSED}" if 400 in errors else REQUEST_REFUSED
    errors[503] = STANDARD_ERRORS[503]
    rule = _rate_rule(route.method, route.path)
    answer_types = [] if content_type is None or form else [t.strip() for t in content_type.split(",")]
    if rule is not None:
        op["x-rate-limit"] = rule
    op["responses"] = _responses(facts, schemas, answer_types, errors, rule)
    if sandbox:
        op["x-sandbox"] = True
    return op


def _checked_facts(route: ApiRoute) -> dict[str, Any]:
    """The handler's ``@documented`` facts; an undocumented or mis-tagged route stops the build."""
    facts = route.facts
    if facts is None:
        raise ValueError(f"{route.service}: {route.method} {route.path} "
                         f"({route.handler.__qualname__}) has no @documented facts")
    unknown = [t for t in facts["tags"] if t not in TAGS]
    if unknown or not facts["tags"]:
        raise ValueError(f"{route.method} {route.path}: tags {unknown or '(none)'}; "
                         f"known: {', '.join(TAGS)}")
    return dict(facts)


def _general_errors(facts: dict[str, Any], op: dict[str, Any], params: list[dict[str, Any]],
                    sandbox: bool) -> dict[int, str]:
    """The problems any operation of this shape can answer (query, path, authentication)."""
    errors: dict[int, str] = {}
    if facts["query"] is not None:
        errors[422] = STANDARD_ERRORS[422]
    if any(p["in"] == "path" for p in params):
        errors[404] = STANDARD_ERRORS[404]
    if op["security"] and {} not in op["security"]:
        errors[401] = STANDARD_ERRORS[401]
    if sandbox:
        errors[404] = "生产环境不存在 / absent in production; or no such object"
    return errors


def _responses(facts: dict[str, Any], schemas: _Schemas, answer_types: list[str],
               errors: dict[int, str], rule: str | None) -> dict[str, Any]:
    declared: dict[int, str] = {int(k): v for k, v in facts["responses"].items()}
    successes = sorted(s for s in declared if 200 <= s < 300) or [200]
    responses: dict[str, Any] = {}
    for status in successes:
        answer: dict[str, Any] = {"description": declared.get(status, SUCCESS_DESCRIPTIONS.get(status, "OK"))}
        if status != 204:
            if answer_types:
                answer["content"] = {t: _answer_media(t) for t in answer_types}
            elif facts["response"] is not None:
                answer["content"] = {"application/json": {
                    "schema": schemas.ref(facts["response"], "serialization")}}
        responses[str(status)] = answer
    for status, text in sorted(declared.items()):
        if 300 <= status < 400:  # e.g. 304 to a conditional request: no body
            responses[str(status)] = {"description": text}
        elif status >= 400:  # the operation's own reasons first, then the general ones
            errors[status] = f"{text}; {errors[status]}" if status in errors else text
    if rule is not None:
        errors.setdefault(429, STANDARD_ERRORS[429])
    for status in sorted(errors):
        responses[str(status)] = _problem(errors[status])
    if rule is not None:
        responses["429"]["headers"] = {"Retry-After": {
            "description": "seconds until a new request is allowed",
            "schema": {"type": "integer", "minimum": 1}, "required": True}}
    return responses


def _is_json(content_type: str) -> bool:
    return content_type == "application/json" or content_type.endswith("+json")


def _answer_media(content_type: str) -> dict[str, Any]:
    if content_type == "text/event-stream":
        return {}  # a stream of events, described in words
    if _is_json(content_type):
        return {"schema": {"type": "object"}}
    if content_type.startswith("text/"):
        return {"schema": {"type": "string"}}
    return {"schema": {"type": "string", "contentMediaType": content_type}}


def _request_body(bodies: dict[str, type[BaseModel] | None], schemas: _Schemas) -> dict[str, Any]:
    """JSON bodies and forms from their models (files in a form get an ``encoding``); a
    model-less type is that type's raw bytes (``application/pdf``)."""
    content: dict[str, Any] = {}
    required = False
    for media, model in bodies.items():
        if model is None:
            content[media] = {"schema": {"type": "string", "contentMediaType": media}}
            required = True
            continue
        entry: dict[str, Any] = {"schema": schemas.ref(model, "validation")}
        if media.startswith("multipart/"):
            files = {name: prop.get("contentMediaType", "application/octet-stream")
                     for name, prop in schemas.resolve(model, "validation").get("properties", {}).items()
                     if prop.get("format") == "binary" or "contentMediaType" in prop}
            if files:
                entry["encoding"] = {name: {"contentType": ctype} for name, ctype in files.items()}
        content[media] = entry
        required = required or media.startswith(FORM_TYPES) or _body_required(schemas, model)
    return {"required": required, "content": content}


def generate(routes: list[ApiRoute] | None = None) -> dict[str, Any]:
    """The whole document (a plain dict, ready for ``json.dumps``)."""
    routes = api_routes() if routes is None else routes
    schemas = _Schemas(routes)
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        owner = match(route.path)
        if route.service != "gateway" and (owner is None or owner.service != route.service):
            raise ValueError(f"{route.path} is served by {route.service} but the gateway "
                             f"routes it to {owner.service if owner else 'nothing'}")
        paths.setdefault(route.path, {})[route.method.lower()] = _operation(route, schemas)
    used_tags = {t for ops in paths.values() for op in ops.values() for t in op["tags"]}
    components = {
        "schemas": {"Problem": PROBLEM_SCHEMA, **dict(sorted(schemas.defs.items()))},
        "securitySchemes": SECURITY_SCHEMES,
    }
    document = {
        "openapi": "3.1.0",
        "info": INFO,
        "jsonSchemaDialect": "https://spec.openapis.org/oas/3.1/dialect/base",
        "tags": [{"name": name, "description": description}
                 for name, description in TAGS.values() if name in used_tags],
        "paths": {path: {m: ops[m] for m in METHOD_ORDER if m in ops}
                  for path, ops in sorted(paths.items())},
        "components": components,
    }
    return _prune_unused(document)


def _prune_unused(document: dict[str, Any]) -> dict[str, Any]:
    """Drop component schemas nothing refers to (query models are inlined as parameters)."""
    schemas = document["components"]["schemas"]
    while True:
        text = json.dumps({k: v for k, v in document.items() if k != "components"}) \
            + json.dumps(schemas)
        used = set(re.findall(r'"#/components/schemas/([^"]+)"', text))
        unused = [name for name in schemas if name not in used and name != "Problem"]
        if not unused:
            return document
        for name in unused:
            del schemas[name]


@documented(summary="接口文档 / this OpenAPI 3.1 document", tags=("platform",), auth="public",
            content_type="application/json", responses={200: "the OpenAPI document"})
async def serve_document(request: web.Request) -> web.Response:
    """The committed document (read once per process)."""
    return web.Response(body=_document_bytes(), content_type="application/json",
                        charset="utf-8", headers={"Cache-Control": "public, max-age=300"})


@functools.cache
def _document_bytes() -> bytes:
    try:
        return DOCUMENT.read_bytes()
    except OSError:
        raise ServiceUnavailable("the API document is missing from this build",
                                 code="openapi_missing") from None


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, ensure_ascii=False, indent=2) + "\n"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    try:
        text = render(generate())
    except ValueError as exc:  # an undocumented or misdocumented route: say which
        print(f"cannot generate the API document: {exc}", file=sys.stderr)
        return 2
    if "--check" in args:
        current = DOCUMENT.read_text(encoding="utf-8") if DOCUMENT.exists() else ""
        if current != text:
            print(f"{DOCUMENT} is stale: run `python -m gateway.openapi`", file=sys.stderr)
            return 1
        return 0
    DOCUMENT.write_text(text, encoding="utf-8")
    print(f"wrote {DOCUMENT} ({len(text):,} bytes)")
    # The gateway's route table comes from the same routes, docs/API.md's operation table
    # from this document: keep them in step.
    from . import apidoc, routegen
    return routegen.main([]) or (apidoc.main([]) if apidoc.API_DOC.exists() else 0)


if __name__ == "__main__":
    raise SystemExit(main())
