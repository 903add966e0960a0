"""Command and query handlers of the agents service (经办人管理).

Only an enterprise account manages its agents. Objects are looked up within the caller's
enterprise first, so another enterprise's agent is a 404 for everyone (its existence is not
revealed); then a person or an agent (with or without the management permission) is
refused with 403.

Each command appends to the agent's stream (optimistic concurrency on its version), keeps
the list and the identity-element table in the same transaction (one unit of work: the
``AgentStorage`` port, ``adapters.repository`` on PostgreSQL), and calls identity's
internal agent-login endpoint *before committing*: if identity refuses or is unreachable,
nothing is committed here; when the API answers, identity has already applied the change
(a removed agent cannot log in, its sessions have ended).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from shared import cursors
from shared.auth import Principal
from shared.errors import Forbidden
from shared.logging import get_logger

from ..domain import agent as rules
from ..domain.agent import Agent
from ..domain.commands import AddAgent, ChangePassword, UpdateAgent
from ..domain.errors import AgentExists, AgentNotFound, IdentityVerificationFailed
from .context import Agents
from .ports import AgentRepository, IdentityElements

log = get_logger(__name__)


# authorization ------------------------------------------------------------------------


def require_enterprise(principal: Principal) -> uuid.UUID:
    if principal.role != "enterprise" or principal.enterprise_id is None:
        raise Forbidden("经办人管理仅限企业法人账号 / only the enterprise account manages agents",
                        code="enterprise_only")
    return principal.enterprise_id


async def _owned(repo: AgentRepository, principal: Principal, agent_id: uuid.UUID) -> Agent:
    """The caller's enterprise's live agent (404 otherwise), then the role check (403)."""
    if principal.enterprise_id is None:
        require_enterprise(principal)
    agent = await repo.get(agent_id)
    if agent is None or agent.removed or agent.enterprise_id != principal.enterprise_id:
        raise AgentNotFound()
    require_enterprise(principal)
    return agent


# commands -----------------------------------------------------------------------------


async def add_agent(ctx: Agents, operator: Principal, cmd: AddAgent) -> dict[str, Any]:
    enterprise_id = require_enterprise(operator)
    today = ctx.today()
    rules.refuse(rules.id_validity_errors(cmd.id_valid_from, cmd.id_valid_to, cmd.id_long_term, today)
                 + rules.window_errors(cmd.valid_from, cmd.valid_to, today))
    async with ctx.storage.connection() as repo:
        taken = await repo.taken_field(enterprise_id, cmd.id_number, cmd.phone)
    if taken:
        raise AgentExists(taken)  # before the face token is used up
    verdict = await ctx.realname.verify_four(IdentityElements(
        cmd.name, cmd.id_type, cmd.id_number, cmd.id_valid_from,
        None if cmd.id_long_term else cmd.id_valid_to, cmd.phone))
    if not verdict.verified:
        raise IdentityVerificationFailed(verdict.field, verdict.reason)
    await ctx.identity.consume_face_token(cmd.face_token, operator.id, "add_agent")
    agent_id = uuid.uuid4()
    await _commit_new_agent(ctx, agent_id, enterprise_id, operator.id, cmd)
    return await get_agent(ctx, operator, agent_id)


async def _commit_new_agent(ctx: Agents, agent_id: uuid.UUID, enterprise_id: uuid.UUID,
                            operator_id: uuid.UUID, cmd: AddAgent) -> None:
    added = rules.added(agent_id, enterprise_id, operator_id, cmd)
    login_requested = False
    try:
        async with ctx.storage.transaction() as repo:
            await repo.append(agent_id, 0, [added])
            await repo.insert_elements(agent_id, enterprise_id, cmd.id_number, cmd.phone)  # AgentExists
            login_requested = True
            await ctx.identity.create_login(agent_id, _login(enterprise_id, cmd))
    except BaseException:
        # Nothing was committed here, but identity may have created the login (e.g. it
        # answered after our timeout): take it back. Removing an unknown login is a no-op.
        if login_requested:
            await _forget_login(ctx, agent_id)
        raise


def _login(enterprise_id: uuid.UUID, cmd: AddAgent) -> dict[str, Any]:
    return {"enterprise_id": str(enterprise_id), "name": cmd.name, "id_type": cmd.id_type,
            "id_number": cmd.id_number, "phone": cmd.phone, "password": cmd.password,
            "valid_from": str(cmd.valid_from), "valid_to": str(cmd.valid_to),
            "can_manage": cmd.can_manage}


async def _forget_login(ctx: Agents, agent_id: uuid.UUID) -> None:
    try:
        await ctx.identity.remove_login(agent_id)
    except Exception as exc:  # noqa: BLE001 - logged; the login has no agent behind it
        log.error("orphan_agent_login", agent_id=str(agent_id), error=repr(exc))


async def update_agent(ctx: Agents, operator: Principal, agent_id: uuid.UUID,
                       cmd: UpdateAgent) -> dict[str, Any]:
    async with ctx.storage.transaction() as repo:
        agent = await _owned(repo, operator, agent_id)
        event = rules.updated(agent, cmd.valid_from, cmd.valid_to, cmd.can_manage)
        if event is not None:
            await repo.append(agent_id, agent.version, [event])
            await ctx.identity.update_login(agent_id, event.valid_from, event.valid_to, event.can_manage)
    return await get_agent(ctx, operator, agent_id)


async def remove_agent(ctx: Agents, operator: Principal, agent_id: uuid.UUID) -> None:
    async with ctx.storage.transaction() as repo:
        agent = await _owned(repo, operator, agent_id)
        await repo.append(agent_id, agent.version, [rules.removed(agent, operator.id)])
        await repo.release_elements(agent_id)
        await ctx.identity.remove_login(agent_id)


async def change_password(ctx: Agents, operator: Principal, agent_id: uuid.UUID, cmd: ChangePassword) -> None:
    async with ctx.storage.transaction() as repo:
        agent = await _owned(repo, operator, agent_id)
        await repo.append(agent_id, agent.version, [rules.password_changed(agent)])
        await ctx.identity.set_password(agent_id, cmd.password)


# queries ------------------------------------------------------------------------------


def view(row: Mapping[str, Any], today: date) -> dict[str, Any]:
    def day(d: date | None) -> str | None:
        return None if d is None else d.isoformat()

    return {
        "agent_id": str(row["agent_id"]), "name": row["name"], "id_type": row["id_type"],
        "id_number_masked": row["id_number_masked"], "phone_masked": row["phone_masked"],
        "id_valid_from": day(row["id_valid_from"]), "id_valid_to": day(row["id_valid_to"]),
        "id_long_term": row["id_long_term"], "valid_from": day(row["valid_from"]),
        "valid_to": day(row["valid_to"]), "can_manage": row["can_manage"],
        "status": rules.status(row["valid_from"], row["valid_to"], today),
    }


async def get_agent(ctx: Agents, operator: Principal, agent_id: uuid.UUID) -> dict[str, Any]:
    async with ctx.storage.connection() as repo:
        await _owned(repo, operator, agent_id)
        row = await repo.list_row(agent_id)
    if row is None:
        raise AgentNotFound()
    return view(row, ctx.today())


async def list_agents(ctx: Agents, operator: Principal, limit: int, cursor: str | None) -> dict[str, Any]:
    enterprise_id = require_enterprise(operator)
    async with ctx.storage.connection() as repo:
        rows = await repo.list_page(enterprise_id, limit + 1, _decode_cursor(cursor))
    today = ctx.today()
    more = len(rows) > limit
    rows = rows[:limit]
    return {"items": [view(r, today) for r in rows],
            "next_cursor": _encode_cursor(rows[-1]) if more else None}


def _encode_cursor(row: Mapping[str, Any]) -> str:
    return cursors.encode(row["added_at"], row["agent_id"])


def _decode_cursor(cursor: str | None) -> tuple[datetime, uuid.UUID] | None:
    if not cursor:
        return None
    added_at, agent_id = cursors.decode(cursor, datetime, uuid.UUID)
    return added_at, agent_id
