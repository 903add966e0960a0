"""HTTP routes of the identity service (thin: parse, authorize, call the service layer).

Public (``/api/v1``, through the gateway): registration, sessions, ``/me``, face checks,
the JWKS, and — outside production only — the sandbox face-check verdicts.
Internal (``/internal``, service-to-service auth): see ``internal.py``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from aiohttp import web

from shared.auth import bearer_token, require_principal
from shared.http import json_response, path_uuid, read_json
from shared.service import SETTINGS

from ..adapters.face_provider import face_provider_name
from ..domain import commands as c
from ..domain.fields import field_error, parse_model
from ..service_layer import face_checks, registration, sessions
from . import internal
from .common import IDENTITY, body


def client_ip(request: web.Request) -> str | None:
    """The caller's address: the gateway puts it in X-Forwarded-For (and overwrites any
    value the client sent); identity itself is reachable only inside the cluster."""
    forwarded = request.headers.get("X-Forwarded-For", "").split(",")[0].strip()
    return forwarded or request.remote


async def register_person(request: web.Request) -> web.Response:
    cmd = await body(request, c.RegisterPerson)
    person_id = await registration.register_person(request.app[IDENTITY], cmd)
    return json_response({"person_id": str(person_id)}, status=201)


async def register_enterprise(request: web.Request) -> web.Response:
    ident = request.app[IDENTITY]
    enterprise_id = await registration.register_enterprise(ident, await body(request, c.RegisterEnterprise))
    return json_response({"enterprise_id": str(enterprise_id)}, status=201)


async def create_session(request: web.Request) -> web.Response:
    data = await read_json(request)
    method = data.get("method") if isinstance(data, dict) else None
    ident, ip = request.app[IDENTITY], client_ip(request)
    if method == "face":
        tokens = await sessions.login_with_face(ident, parse_model(c.FaceLogin, data), ip)
    elif method == "password":
        tokens = await sessions.login_with_password(ident, parse_model(c.PasswordLogin, data), ip)
    else:
        raise field_error("method", "login_method", "method must be \"password\" or \"face\"")
    return json_response(tokens.body(), status=201, headers={"Cache-Control": "no-store"})


async def refresh_session(request: web.Request) -> web.Response:
    tokens = await sessions.refresh(request.app[IDENTITY], await body(request, c.RefreshSession))
    return json_response(tokens.body(), status=201, headers={"Cache-Control": "no-store"})


async def end_session(request: web.Request) -> web.Response:
    await sessions.logout(request.app[IDENTITY], await require_principal(request))
    return web.Response(status=204)


async def me(request: web.Request) -> web.Response:
    return json_response(await sessions.me(request.app[IDENTITY], await require_principal(request)))


async def start_face_check(request: web.Request) -> web.Response:
    ident = request.app[IDENTITY]
    cmd = await body(request, c.StartFaceCheck)
    if bearer_token(request) is None:
        started = await face_checks.start_for_login(ident, cmd)
    else:
        principal = await require_principal(request)
        started = await face_checks.start(ident, principal.id, cmd.purpose)
    return json_response(started, status=201)


async def _verdict(request: web.Request, passed: bool) -> dict[str, Any]:
    ttl: timedelta | None = None
    if request.body_exists:
        verdict = await body(request, c.SandboxVerdict)
        ttl = timedelta(seconds=verdict.expires_in_seconds) if verdict.expires_in_seconds else None
    check_id = path_uuid(request, "face_check_id")
    token = await face_checks.record_verdict(request.app[IDENTITY], check_id, passed, ttl)
    return {"face_check_id": str(check_id), "status": "passed" if passed else "failed",
            **({"face_token": token} if token else {})}


async def sandbox_pass(request: web.Request) -> web.Response:
    return json_response(await _verdict(request, True))


async def sandbox_fail(request: web.Request) -> web.Response:
    return json_response(await _verdict(request, False))


async def jwks(request: web.Request) -> web.Response:
    return json_response(request.app[IDENTITY].signer.jwks(),
                         headers={"Cache-Control": "public, max-age=300"})


def setup_routes(app: web.Application) -> None:
    r = app.router
    r.add_post("/api/v1/persons", register_person)
    r.add_post("/api/v1/enterprises", register_enterprise)
    r.add_post("/api/v1/sessions", create_session)
    r.add_post("/api/v1/sessions/refresh", refresh_session)
    r.add_delete("/api/v1/sessions/current", end_session)
    r.add_get("/api/v1/me", me)
    r.add_post("/api/v1/face-checks", start_face_check)
    r.add_get("/api/v1/.well-known/jwks.json", jwks)
    internal.setup_routes(app, jwks)
    settings = app[SETTINGS]
    # Only with the sandbox face provider, which never runs in production: there, 404.
    if face_provider_name(getattr(settings, "face_provider", None), settings.env) == "sandbox":
        r.add_post("/api/v1/sandbox/face-checks/{face_check_id}/pass", sandbox_pass)
        r.add_post("/api/v1/sandbox/face-checks/{face_check_id}/fail", sandbox_fail)
