"""HTTP routes of the agents service (thin: parse, authorize, call the service layer)."""

from __future__ import annotations

from typing import TypeVar

from aiohttp import web
from pydantic import BaseModel, Field

from shared import cursors
from shared.auth import require_principal
from shared.http import ApiModel, documented, json_response, path_uuid, read_json
from shared.people.fields import parse_model

from ..domain.commands import AddAgent, ChangePassword, UpdateAgent
from ..service_layer import handlers as h
from ..service_layer.context import Agents
from .schemas import AgentPage, AgentView

AGENTS = web.AppKey("agents", Agents)
ENTERPRISE_ONLY = "only the enterprise account manages agents (`enterprise_only`)"
NO_AGENT = "no such agent of the caller's enterprise (`agent_not_found`)"
M = TypeVar("M", bound=BaseModel)


class ListQuery(ApiModel):
    limit: int = Field(default=50, ge=1, le=100)
    cursor: str | None = Field(default=None, max_length=200)


async def body(request: web.Request, model: type[M]) -> M:
    return parse_model(model, await read_json(request))


@documented(summary="经办人列表 / list the enterprise's agents", tags=("agents",),
            query=ListQuery, response=AgentPage,
            responses={200: "a page of agents", 422: cursors.DOCUMENTED,
                       403: ENTERPRISE_ONLY})
async def list_agents(request: web.Request) -> web.Response:
    principal = await require_principal(request)
    h.require_enterprise(principal)
    query = parse_model(ListQuery, dict(request.query))
    return json_response(await h.list_agents(request.app[AGENTS], principal, query.limit, query.cursor))


@documented(summary="添加经办人 / add an agent (face check `add_agent`)", tags=("agents",),
            body=AddAgent, response=AgentView,
            responses={201: "added", 403: ENTERPRISE_ONLY,
                       409: "an agent with this ID number or phone exists (`agent_exists`); "
                            "the face token was used (`face_token_used`)",
                       410: "the face token expired (`face_token_expired`)",
                       422: "identity elements not verified (`identity_verification_failed`), "
                            "invalid face token"})
async def add_agent(request: web.Request) -> web.Response:
    principal = await require_principal(request)
    h.require_enterprise(principal)  # 403 before reading what a non-manager sent
    agent = await h.add_agent(request.app[AGENTS], principal, await body(request, AddAgent))
    return json_response(agent, status=201)


@documented(summary="经办人详情 / one agent", tags=("agents",), response=AgentView,
            responses={200: "the agent", 403: ENTERPRISE_ONLY, 404: NO_AGENT})
async def get_agent(request: web.Request) -> web.Response:
    principal = await require_principal(request)
    return json_response(await h.get_agent(request.app[AGENTS], principal, path_uuid(request, "agent_id")))


@documented(summary="修改经办人有效期或管理权限 / change an agent's validity or permission",
            tags=("agents",), body=UpdateAgent, response=AgentView,
            responses={200: "the changed agent", 403: ENTERPRISE_ONLY,
                       404: NO_AGENT})
async def update_agent(request: web.Request) -> web.Response:
    principal = await require_principal(request)
    agent_id = path_uuid(request, "agent_id")
    cmd = await body(request, UpdateAgent)
    return json_response(await h.update_agent(request.app[AGENTS], principal, agent_id, cmd))


@documented(summary="删除经办人 / remove an agent (its sessions end)", tags=("agents",),
            responses={204: "removed; it can no longer log in", 403: ENTERPRISE_ONLY,
                       404: NO_AGENT})
async def remove_agent(request: web.Request) -> web.Response:
    principal = await require_principal(request)
    await h.remove_agent(request.app[AGENTS], principal, path_uuid(request, "agent_id"))
    return web.Response(status=204)


@documented(summary="重置经办人密码 / set an agent's password", tags=("agents",),
            body=ChangePassword,
            responses={204: "changed; the old password and the agent's sessions stop working",
                       403: ENTERPRISE_ONLY, 404: NO_AGENT})
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
