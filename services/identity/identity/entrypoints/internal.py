"""Service-to-service endpoints of identity (never routed by the gateway).

Every one requires ``shared.internal`` authentication except ``GET /internal/jwks``
(public keys only). Shapes are listed in services/identity/README.md.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from shared.http import json_response, path_uuid
from shared.internal import require_internal

from ..domain import commands as c
from ..service_layer import agent_logins, face_checks, principals
from .requests import IDENTITY, body


async def consume_face_token(request: web.Request) -> web.Response:
    require_internal(request)
    cmd = await body(request, c.ConsumeFaceToken)
    used = await face_checks.consume(request.app[IDENTITY], cmd.face_token, cmd.subject_id, cmd.purpose)
    return json_response({"face_check_id": str(used.id), "subject_id": str(used.subject_id),
                          "purpose": used.purpose})


async def get_principal(request: web.Request) -> web.Response:
    require_internal(request)
    return json_response(await principals.describe(request.app[IDENTITY], path_uuid(request, "principal_id")))


async def match_person(request: web.Request) -> web.Response:
    require_internal(request)
    cmd = await body(request, c.MatchPerson)
    return json_response(await principals.match_person(request.app[IDENTITY], cmd))


async def revocations(request: web.Request) -> web.Response:
    require_internal(request)
    ident = request.app[IDENTITY]
    # The lifetime tells every holder of the list when an entry can no longer matter.
    return json_response({"items": await principals.recent_revocations(ident),
                          "access_token_ttl_seconds": ident.settings.access_token_ttl_seconds})


async def create_agent_login(request: web.Request) -> web.Response:
    require_internal(request)
    agent_id = path_uuid(request, "agent_id")
    cmd = await body(request, c.CreateAgentLogin)
    created = await agent_logins.create(request.app[IDENTITY], agent_id, cmd)
    return json_response({"agent_id": str(agent_id)}, status=201 if created else 200)


async def update_agent_login(request: web.Request) -> web.Response:
    require_internal(request)
    agent_id = path_uuid(request, "agent_id")
    await agent_logins.update(request.app[IDENTITY], agent_id, await body(request, c.UpdateAgentLogin))
    return json_response({"agent_id": str(agent_id)})


async def set_agent_password(request: web.Request) -> web.Response:
    require_internal(request)
    await agent_logins.set_password(request.app[IDENTITY], path_uuid(request, "agent_id"),
                                    await body(request, c.SetAgentPassword))
    return web.Response(status=204)


async def remove_agent_login(request: web.Request) -> web.Response:
    require_internal(request)
    await agent_logins.remove(request.app[IDENTITY], path_uuid(request, "agent_id"))
    return web.Response(status=204)


def setup_routes(app: web.Application, jwks: Callable[[web.Request], Awaitable[web.Response]]) -> None:
    r = app.router
    r.add_get("/internal/jwks", jwks)
    r.add_get("/internal/revocations", revocations)
    r.add_post("/internal/face-tokens/consume", consume_face_token)
    r.add_get("/internal/principals/{principal_id}", get_principal)
    r.add_post("/internal/persons/match", match_person)
    r.add_put("/internal/agent-logins/{agent_id}", create_agent_login)
    r.add_patch("/internal/agent-logins/{agent_id}", update_agent_login)
    r.add_put("/internal/agent-logins/{agent_id}/password", set_agent_password)
    r.add_delete("/internal/agent-logins/{agent_id}", remove_agent_login)
