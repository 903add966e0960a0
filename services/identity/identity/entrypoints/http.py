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
from shared.http import documented, json_response, path_uuid, read_json
from shared.people.fields import field_error, parse_model
from shared.service import SETTINGS

from ..adapters.face_provider import face_provider_name
from ..domain import commands as c
from ..service_layer import face_checks, oidc, proofing, registration, sessions
from . import internal
from . import schemas as doc
from .requests import IDENTITY, body


def client_ip(request: web.Request) -> str | None:
    """The caller's address: the gateway puts it in X-Forwarded-For (and overwrites any
    value the client sent); identity itself is reachable only inside the cluster."""
    forwarded = request.headers.get("X-Forwarded-For", "").split(",")[0].strip()
    return forwarded or request.remote


@documented(summary="注册自然人 / register a natural person", tags=("identity",),
            body=c.RegisterPerson, response=doc.PersonRegistered, auth="public",
            responses={201: "registered: `verified`, or `pending_verification` when the real-name "
                            "provider could not answer (the person logs in once it can)",
                       409: "already registered (`already_registered`)",
                       422: "an element is refused (ID number check digit, phone, password rule); "
                            "the three-element real-name check refused (`realname_mismatch`, "
                            "field `name`, `id_number` or `phone`)"})
async def register_person(request: web.Request) -> web.Response:
    cmd = await body(request, c.RegisterPerson)
    done = await registration.register_person(request.app[IDENTITY], cmd)
    return json_response({"person_id": str(done.id), "verification": done.verification}, status=201)


@documented(summary="注册企业法人 / register an enterprise account", tags=("identity",),
            body=c.RegisterEnterprise, response=doc.EnterpriseRegistered, auth="public",
            responses={201: "registered, `pending_verification` until the legal representative's "
                            "face check", 409: "already registered (`already_registered`)",
                       422: "an element is refused (USCC check character, legal representative); "
                            "the business registry refused (`registry_mismatch`, field `name`, "
                            "`uscc` or `legal_representative.name`)",
                       503: "the business registry could not answer; nothing registered "
                            "(`registry_unavailable`)"})
async def register_enterprise(request: web.Request) -> web.Response:
    ident = request.app[IDENTITY]
    done = await registration.register_enterprise(ident, await body(request, c.RegisterEnterprise))
    return json_response({"enterprise_id": str(done.id), "verification": done.verification}, status=201)


@documented(summary="企业法定代表人人脸核验 / verify the enterprise by its legal representative's face",
            tags=("identity",), body=c.VerifyEnterprise, response=doc.EnterpriseVerificationDone,
            responses={200: "verified: certs may now activate the enterprise's certificate",
                       403: "not an enterprise account (`not_an_enterprise`); the face token is "
                            "another's or for another purpose (`face_token_mismatch`)",
                       409: "verified already (`already_verified`); the face token was used "
                            "(`face_token_used`)",
                       410: "the face token expired (`face_token_expired`)",
                       422: "unknown face token (`face_token_invalid`)"})
async def verify_enterprise(request: web.Request) -> web.Response:
    principal = await require_principal(request)
    cmd = await body(request, c.VerifyEnterprise)
    return json_response(await proofing.verify_enterprise(request.app[IDENTITY], principal.id,
                                                          principal.role, cmd.face_token))


@documented(summary="登录（密码或人脸） / log in by password or face", tags=("sessions",),
            body=doc.Login, response=doc.SessionTokens, auth="public",
            responses={201: "logged in", 401: "wrong username or password (`invalid_credentials`)",
                       403: "an agent outside its validity window (`agent_not_valid`); a person "
                            "whose real-name check is still pending (`account_pending_verification`:"
                            " the check was retried and the provider is still unavailable)",
                       422: "a pending person's retried real-name check refused (`realname_mismatch`)",
                       410: "the face token expired (`face_token_expired`)",
                       409: "the face token was used (`face_token_used`)",
                       423: "locked after repeated failures (`account_locked`)"})
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


@documented(summary="统一身份认证登录是否可用 / whether unified identity login is offered",
            tags=("sessions",), response=doc.OidcStatus, auth="public",
            responses={200: "enabled, and the login button's text"})
async def oidc_status(request: web.Request) -> web.Response:
    return json_response(oidc.status(request.app[IDENTITY]), headers={"Cache-Control": "no-cache"})


@documented(summary="发起统一身份认证登录 / start a login at the unified identity platform (OIDC)",
            tags=("sessions",), response=doc.OidcStarted, auth="public",
            responses={201: "go to `authorization_url`; the provider returns to the H5 callback page",
                       404: "not configured here (`oidc_disabled`)",
                       502: "the provider cannot be reached (`oidc_provider_unavailable`)"})
async def oidc_start(request: web.Request) -> web.Response:
    started = await oidc.start(request.app[IDENTITY])
    return json_response(started, status=201, headers={"Cache-Control": "no-store"})


@documented(summary="统一身份认证登录回调 / finish the login with the provider's code and state",
            tags=("sessions",), body=c.OidcCallback, response=doc.SessionTokens, auth="public",
            responses={201: "logged in (the same answer as a password login)",
                       400: "unknown or expired state (`oidc_state_invalid`)",
                       401: "the provider's answer is refused (`oidc_login_refused`, with `reason`)",
                       403: "an agent outside its validity window (`agent_not_valid`); a person "
                            "whose real-name check is still pending (`account_pending_verification`:"
                            " the check was retried and the provider is still unavailable)",
                       422: "a pending person's retried real-name check refused (`realname_mismatch`)",
                       404: "no registered person has the provider's identity number (`account_not_found`);"
                            " not configured (`oidc_disabled`)",
                       409: "the state was used already (`oidc_state_used`); the account is bound to"
                            " another identity (`oidc_account_bound`)",
                       502: "the provider cannot be reached (`oidc_provider_unavailable`)"})
async def oidc_callback(request: web.Request) -> web.Response:
    ident = request.app[IDENTITY]
    tokens = await oidc.callback(ident, await body(request, c.OidcCallback), client_ip(request))
    return json_response(tokens.body(), status=201, headers={"Cache-Control": "no-store"})


@documented(summary="刷新令牌 / refresh the session's tokens", tags=("sessions",),
            body=c.RefreshSession, response=doc.SessionTokens, auth="public",
            responses={201: "new tokens (the refresh token rotates)",
                       401: "unknown, used or expired refresh token (`invalid_refresh_token`)"})
async def refresh_session(request: web.Request) -> web.Response:
    tokens = await sessions.refresh(request.app[IDENTITY], await body(request, c.RefreshSession))
    return json_response(tokens.body(), status=201, headers={"Cache-Control": "no-store"})


@documented(summary="退出登录 / log out (end this session)", tags=("sessions",),
            responses={204: "the session ended; its tokens stop working"})
async def end_session(request: web.Request) -> web.Response:
    await sessions.logout(request.app[IDENTITY], await require_principal(request))
    return web.Response(status=204)


@documented(summary="当前用户 / the logged-in principal", tags=("identity",),
            response=doc.Me, responses={200: "the principal"})
async def me(request: web.Request) -> web.Response:
    return json_response(await sessions.me(request.app[IDENTITY], await require_principal(request)))


@documented(summary="发起人脸验证 / start a face check", tags=("face-checks",),
            body=c.StartFaceCheck, response=doc.FaceCheckStarted, auth="public|user",
            responses={201: "started; run it with the provider, then use its token",
                       422: "anonymous checks are for `login` only, with role and username",
                       503: "no face provider is configured (`face_provider_unavailable`)"})
async def start_face_check(request: web.Request) -> web.Response:
    ident = request.app[IDENTITY]
    cmd = await body(request, c.StartFaceCheck)
    if bearer_token(request) is None:
        started = await face_checks.start_for_login(ident, cmd)
    else:
        principal = await require_principal(request)
        started = await face_checks.start(ident, principal.id, cmd.purpose)
    return json_response(started, status=201)


@documented(summary="取回人脸验证结果 / the face check's result, fetched from the provider",
            tags=("face-checks",), response=doc.FaceCheckResult, auth="public",
            responses={200: "passed (with the face token, shown once), failed, or still pending",
                       404: "no such face check", 410: "expired (`face_check_expired`)",
                       409: "a concurrent request recorded the verdict first (`face_check_finished`)",
                       503: "the face provider is unavailable (`face_provider_unavailable`)"})
async def face_check_result(request: web.Request) -> web.Response:
    """Back from the provider's page; nothing the browser brings back is trusted."""
    check_id = path_uuid(request, "face_check_id")
    return json_response(await face_checks.fetch_result(request.app[IDENTITY], check_id))


async def _verdict(request: web.Request, passed: bool) -> dict[str, Any]:
    ttl: timedelta | None = None
    if request.body_exists:
        verdict = await body(request, c.SandboxVerdict)
        ttl = timedelta(seconds=verdict.expires_in_seconds) if verdict.expires_in_seconds else None
    check_id = path_uuid(request, "face_check_id")
    token = await face_checks.record_verdict(request.app[IDENTITY], check_id, passed, ttl)
    return {"face_check_id": str(check_id), "status": "passed" if passed else "failed",
            **({"face_token": token} if token else {})}


@documented(summary="沙箱：人脸验证通过 / sandbox: pass a face check", tags=("sandbox",),
            body=c.SandboxVerdict, response=doc.FaceCheckVerdict, auth="public",
            responses={200: "passed, with the face token", 404: "no such face check",
                       409: "already finished (`face_check_finished`)",
                       410: "expired (`face_check_expired`)"})
async def sandbox_pass(request: web.Request) -> web.Response:
    return json_response(await _verdict(request, True))


@documented(summary="沙箱：人脸验证失败 / sandbox: fail a face check", tags=("sandbox",),
            body=c.SandboxVerdict, response=doc.FaceCheckVerdict, auth="public",
            responses={200: "failed", 404: "no such face check",
                       409: "already finished (`face_check_finished`)",
                       410: "expired (`face_check_expired`)"})
async def sandbox_fail(request: web.Request) -> web.Response:
    return json_response(await _verdict(request, False))


@documented(summary="令牌公钥 / the keys that sign access tokens (JWKS)", tags=("platform",),
            response=doc.Jwks, auth="public", responses={200: "the JSON Web Key Set"})
async def jwks(request: web.Request) -> web.Response:
    return json_response(request.app[IDENTITY].signer.jwks(),
                         headers={"Cache-Control": "public, max-age=300"})


def setup_routes(app: web.Application) -> None:
    r = app.router
    r.add_post("/api/v1/persons", register_person)
    r.add_post("/api/v1/enterprises", register_enterprise)
    r.add_post("/api/v1/enterprises/current/verification", verify_enterprise)
    r.add_post("/api/v1/sessions", create_session)
    r.add_post("/api/v1/sessions/refresh", refresh_session)
    r.add_get("/api/v1/sessions/oidc", oidc_status)
    r.add_post("/api/v1/sessions/oidc/start", oidc_start)
    r.add_post("/api/v1/sessions/oidc/callback", oidc_callback)
    r.add_delete("/api/v1/sessions/current", end_session)
    r.add_get("/api/v1/me", me)
    r.add_post("/api/v1/face-checks", start_face_check)
    r.add_post("/api/v1/face-checks/{face_check_id}/result", face_check_result)
    r.add_get("/api/v1/.well-known/jwks.json", jwks)
    internal.setup_routes(app, jwks)
    settings = app[SETTINGS]
    # Only with the sandbox face provider, which never runs in production: there, 404.
    if face_provider_name(getattr(settings, "face_provider", None), settings.env) == "sandbox":
        r.add_post("/api/v1/sandbox/face-checks/{face_check_id}/pass", sandbox_pass)
        r.add_post("/api/v1/sandbox/face-checks/{face_check_id}/fail", sandbox_fail)
