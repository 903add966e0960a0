"""aiohttp app factory and request helpers shared by every service.

``create_app`` gives each service ``/healthz``, ``/readyz`` (every readiness check passes),
``/metrics`` (internal listener only: ``shared.listeners``), request ids, access metrics and
the mapping of every error to ``application/problem+json``.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, TypeVar

import asyncpg
import structlog
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic_core import to_json

from . import context, listeners, tracing
from .errors import (
    BadRequest,
    EsealError,
    PayloadTooLarge,
    ServiceUnavailable,
    UnsupportedMediaType,
    ValidationFailed,
)
from .logging import get_logger
from .metrics import HTTP_LATENCY, HTTP_REQUESTS
from .parse_errors import install as _problems_for_parse_errors
from .paths import path_guard

log = get_logger(__name__)

PROBLEM_JSON = "application/problem+json"
REQUEST_ID_HEADER = "X-Request-ID"
ReadinessCheck = Callable[[], Awaitable[bool]]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
READINESS = web.AppKey("readiness", list)
# What ``/readyz`` reports of each external provider port (``add_provider``): never secrets.
PROVIDERS = web.AppKey("providers", dict)
REQUEST_ID = web.RequestKey("request_id", str)
M = TypeVar("M", bound=BaseModel)


class ApiModel(BaseModel):
    """Base for request bodies: unknown fields are refused, strings trimmed."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


def json_response(data: Any, *, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(body=to_json(data), status=status, content_type="application/json",
                        headers=headers)


def problem_response(err: EsealError) -> web.Response:
    resp = web.Response(body=json.dumps(err.to_problem(), ensure_ascii=False, default=str),
                        status=err.status, content_type=PROBLEM_JSON, headers=err.headers)
    return resp


def field_errors(exc: ValidationError) -> list[dict[str, str]]:
    out = []
    for e in exc.errors():
        loc = ".".join(str(p) for p in e["loc"] if p != "__root__") or "body"
        out.append({"field": loc, "message": e["msg"]})
    return out


def unstorable_text(data: Any) -> tuple[str, str] | None:
    """The first string (key or value, at any depth) that PostgreSQL cannot store as text or
    jsonb, with its dotted path: a NUL character, or a lone surrogate (not UTF-8 encodable)."""
    stack: list[tuple[str, Any]] = [("", data)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, str):
            if "\x00" in value:
                return path or "body", "contains a NUL character"
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                return path or "body", "is not valid Unicode text"
        elif isinstance(value, dict):
            for key, item in value.items():
                where = f"{path}.{key}" if path else str(key)
                stack += [(where, key), (where, item)]
        elif isinstance(value, list):
            stack += [(f"{path}.{i}" if path else str(i), item) for i, item in enumerate(value)]
    return None


def _refuse_unstorable_text(data: Any) -> None:
    if (found := unstorable_text(data)) is not None:
        raise ValidationFailed.field(*found, code="invalid_text")


def validate(model: type[M], data: Any) -> M:
    _refuse_unstorable_text(data)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = field_errors(exc)
        raise ValidationFailed(
            "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5]), errors=errors
        ) from None


async def read_json(request: web.Request) -> Any:
    ctype = request.content_type
    if ctype not in ("application/json", "application/merge-patch+json"):
        raise UnsupportedMediaType("expected application/json")
    raw = await request.read()
    try:
        data = json.loads(raw or b"null")
    except (ValueError, UnicodeDecodeError, RecursionError):  # nesting too deep to decode
        raise BadRequest("the body is not valid JSON", code="invalid_json") from None
    _refuse_unstorable_text(data)
    return data


async def parse_json(request: web.Request, model: type[M]) -> M:
    """Read and validate a JSON body; field problems become 422 with ``errors``."""
    data = await read_json(request)
    if not isinstance(data, dict):
        raise ValidationFailed.field("body", "expected a JSON object")
    return validate(model, data)


def parse_query(request: web.Request, model: type[M]) -> M:
    return validate(model, dict(request.query))


def _route_name(request: web.Request) -> str:
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else "unmatched"


@web.middleware
async def request_context(request: web.Request, handler: Handler) -> web.StreamResponse:
    rid = request.headers.get(REQUEST_ID_HEADER) or uuid.uuid4().hex
    if len(rid) > 128 or not rid.replace("-", "").isalnum():
        rid = uuid.uuid4().hex
    request[REQUEST_ID] = rid
    token = context.request_id.set(rid)
    structlog.contextvars.bind_contextvars(request_id=rid)
    started = time.perf_counter()
    status = 500
    route = _route_name(request)
    try:
        with tracing.server_span(request.method, route, request.headers) as span:
            resp = await _with_problems(request, handler)
            status = resp.status
            tracing.end_server_span(span, status)
        return resp
    finally:
        HTTP_REQUESTS.labels(request.method, route, str(status)).inc()
        HTTP_LATENCY.labels(request.method, route).observe(time.perf_counter() - started)
        structlog.contextvars.unbind_contextvars("request_id")
        context.request_id.reset(token)


async def _with_problems(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except EsealError as err:
        if err.status >= 500:
            log.warning("request_failed", code=err.code, detail=err.detail)
        return problem_response(err)
    except (asyncpg.TooManyConnectionsError, asyncpg.CannotConnectNowError,
            asyncpg.ConnectionDoesNotExistError, ConnectionRefusedError) as exc:
        # The database is overloaded or restarting: a retryable 503, not a bug.
        log.warning("database_unavailable", error=repr(exc)[:200])
        return problem_response(ServiceUnavailable("the database is temporarily unavailable",
                                                   code="database_unavailable",
                                                   headers={"Retry-After": "1"}))
    except web.HTTPRequestEntityTooLarge:
        return problem_response(PayloadTooLarge("the request body is too large"))
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status, "http_error")
        http_problem = EsealError(exc.reason, code=code)
        http_problem.status, http_problem.title = exc.status, exc.reason
        return problem_response(http_problem)
    except Exception:  # noqa: BLE001 - a bug: logged with its trace, never leaked
        log.exception("unhandled_error", path=request.path)
        bug = EsealError("an internal error occurred", code="internal_error")
        bug.status, bug.title = 500, "Internal server error"
        return problem_response(bug)


async def healthz(_: web.Request) -> web.Response:
    return json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    failing = []
    for name, check in request.app[READINESS]:
        try:
            ok = await check()
        except Exception:  # noqa: BLE001 - any failure means not ready
            ok = False
        if not ok:
            failing.append(name)
    if failing:
        err = EsealError(f"not ready: {', '.join(failing)}", code="not_ready", failing=failing)
        err.status, err.title = 503, "Not ready"
        if request.app[PROVIDERS]:
            err.extra["providers"] = request.app[PROVIDERS]
        return problem_response(err)
    if request.app[PROVIDERS]:
        return json_response({"status": "ready", "providers": request.app[PROVIDERS]})
    return json_response({"status": "ready"})


async def metrics(_: web.Request) -> web.Response:
    return web.Response(body=generate_latest(), headers={"Content-Type": CONTENT_TYPE_LATEST})


async def _add_request_id(request: web.Request, response: web.StreamResponse) -> None:
    # A signal, not the middleware: streamed responses send their headers before returning.
    if rid := request.get(REQUEST_ID):
        response.headers[REQUEST_ID_HEADER] = rid


def create_app(*, max_body_bytes: int = 1024 * 1024,
               middlewares: Iterable[Any] = ()) -> web.Application:
    """A bare application with the platform's middlewares and operational endpoints.

    ``path_guard`` runs first after the request context (which renders its 400): no service
    acts on a path the gateway could have read differently (see ``shared.paths``).
    """
    app = web.Application(client_max_size=max_body_bytes,
                          middlewares=[request_context, path_guard, *middlewares])
    app[READINESS] = []
    app[PROVIDERS] = {}
    listeners.install(app, position=2)  # after path_guard: /internal/*, /metrics only inside
    _problems_for_parse_errors()  # requests the HTTP parser refuses: problem+json too
    app.on_response_prepare.append(_add_request_id)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)
    return app


def add_readiness_check(app: web.Application, name: str, check: ReadinessCheck) -> None:
    app[READINESS].append((name, check))


def add_provider(app: web.Application, port: str, description: dict[str, str]) -> None:
    """Report on ``/readyz`` which provider serves ``port`` (face, realname, sms) and how it
    is reached: provider name, region, endpoint — configuration, never credentials."""
    app[PROVIDERS][port] = dict(description)


def path_uuid(request: web.Request, name: str) -> uuid.UUID:
    """A UUID from the path; anything else is a plain 404 (never a 500)."""
    from .errors import NotFound

    try:
        return uuid.UUID(request.match_info[name])
    except ValueError:
        raise NotFound(f"no such {name.removesuffix('_id')}") from None


def documented(*, summary: str, tags: tuple[str, ...] = (), body: type[BaseModel] | None = None,
               query: type[BaseModel] | None = None, response: type[BaseModel] | None = None,
               responses: dict[int, str] | None = None, auth: str = "user",
               content_type: str | None = None,
               bodies: dict[str, type[BaseModel] | None] | None = None) -> Callable[[Any], Any]:
    """Attach OpenAPI facts to a handler; the gateway's generator reads them.

    ``auth`` is ``user`` (bearer access token), ``client`` (relying system), ``basic``
    (client credentials) or ``public``. ``content_type`` documents non-JSON bodies
    (``multipart/form-data``) or non-JSON answers (``image/png``). ``bodies`` documents an
    operation that takes more than one kind of body: content type → model of its fields
    (``None``: the raw bytes of that type, e.g. ``application/pdf``).
    """

    def attach(handler: Any) -> Any:
        handler.__openapi__ = {
            "summary": summary, "tags": list(tags), "body": body, "query": query,
            "response": response, "responses": dict(responses or {}), "auth": auth,
            "content_type": content_type, "bodies": dict(bodies or {}),
        }
        return handler

    return attach
