"""Who acts for which enterprise (decided in ``domain.access``), and the enterprise's data."""

from __future__ import annotations

import asyncio
import uuid

from shared.auth import Principal
from shared.errors import EsealError, ServiceUnavailable
from shared.logging import get_logger

from ..domain.access import AgentRecord, Operator, decide_operator
from .context import Seals
from .ports import EnterpriseInfo

log = get_logger(__name__)


async def operator(ctx: Seals, principal: Principal, *, manage: bool) -> Operator:
    """Who acts for which enterprise, decided from the agents directory (domain.access).

    An agent the directory does not know yet (its AgentAdded event is in flight) is looked up
    at identity, which the agents service keeps in step synchronously; if that fails too, a
    read goes by the token and a change waits briefly for the event, then gets 503.
    """
    agent = None
    if principal.role == "agent":
        agent = await _agent(ctx, principal.id)
        if agent is None:
            agent = await _agent_from_identity(ctx, principal.id)
        if agent is None and manage:
            agent = await _wait_for_agent(ctx, principal.id)
    return decide_operator(principal, agent, ctx.today(), manage=manage)


async def _agent(ctx: Seals, agent_id: uuid.UUID) -> AgentRecord | None:
    async with ctx.storage.connection() as repo:
        return await repo.agent(agent_id)


async def _agent_from_identity(ctx: Seals, agent_id: uuid.UUID) -> AgentRecord | None:
    try:
        return await ctx.persons.agent(agent_id)
    except EsealError as err:
        log.warning("agent_lookup_failed", agent_id=str(agent_id), problem_code=err.code)
        return None


async def _wait_for_agent(ctx: Seals, agent_id: uuid.UUID) -> AgentRecord | None:
    deadline = asyncio.get_running_loop().time() + ctx.agent_sync_wait
    while asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.1)
        agent = await _agent(ctx, agent_id)
        if agent is not None:
            return agent
    return None


async def enterprise_info(ctx: Seals, enterprise_id: uuid.UUID) -> EnterpriseInfo:
    """The enterprise's registered data: the directory, else identity (then remembered)."""
    async with ctx.storage.connection() as repo:
        info = await repo.enterprise(enterprise_id)
    if info is not None:
        return info
    info = await ctx.persons.enterprise(enterprise_id)
    if info is None:
        raise ServiceUnavailable("the enterprise's registration data is not available yet",
                                 code="enterprise_unknown", headers={"Retry-After": "1"})
    async with ctx.storage.connection() as repo:
        await repo.record_enterprise(info)
    return info


