"""HTTP routes of the agents service (thin: parse, authorize, call the service layer)."""

from __future__ import annotations

from typing import TypeVar

from aiohttp import web
from pydantic import BaseModel, Field

from shared.auth import require_principal
from shared.http import ApiModel, json_response, path_uuid, read_json

from ..domain.commands import AddAgent, ChangePassword, UpdateAgent
from ..domain.elements import parse_model
from ..service_layer import handlers as h

AGENTS = web.AppKey("agents", h.Agents)
M = TypeVar("M", bound=BaseModel)


class ListQuery(ApiModel):
    limit: int = Field(default=50, ge=1, le=100)
    cursor: str | None = Field(default=None, max_length=200)


async def body(request: web.Request, model: type[M]) -> M:
    return parse_model(model, await read_json(request))


async def list_agents(request: web.Request) -> web.Response:
    principal = await require_principal(request)
    h.require_enterprise(principal)
    query = parse_model(ListQuery, dict(request.query))
    return json_response(await h.list_agents(request.app[AGENTS], principal, query.limit, query.cursor))


async def add_agent(request: web.Request) -> web.Response:
    principal = await require_principal(request)
    h.require_enterprise(principal)  # 403 before reading what a non-manager sent
    agent = await h.add_agent(request.app[AGENTS], principal, await body(request, AddAgent))
    return json_response(agent, status=201)


async def get_agent(request: web.Request) -> web.Response:
    principal = await require_principal(request)
    return json_response(await h.get_agent(request.app[AGENTS], principal, path_uuid(request, "agent_id")))


async def update_agent(request: web.Request) -> web.Response:
    principal = await require_principal(request)
    agent_id = path_uuid(request, "agent_id")
    cmd = await body(request, UpdateAgent)
    return json_response(await h.update_agent(request.app[AGENTS], principal, agent_id, cmd))


async def remove_agent(request: web.Request) -> web.Response:
    principal = await require_principal(request)
    await h.remove_agent(request.app[AGENTS], principal, path_uuid(request, "agent_id"))
    return web.Response(status=204)


async def change_password(request: web.Request) -> web.Response:
    principal = await require_principal(request)
    agent_id = path_uuid(request, "agent_id")
    cmd = await body(request, ChangePassword)
    await h.change_password(request.app[AGENTS], principal, agent_id, cmd)
    return web.Response(status=204)


def setup_routes(app: web.Application) -> None:
    r = app.router
    r.add_get("/api/v1/agents", list_agents)
    r.add_post("/api/v1/agents", add_agent)
    r.add_get("/api/v1/agents/{agent_id}", get_agent)
    r.add_patch("/api/v1/agents/{agent_id}", update_agent)
    r.add_delete("/api/v1/agents/{agent_id}", remove_agent)
    r.add_put("/api/v1/agents/{agent_id}/password", change_password)
