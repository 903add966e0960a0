"""Agent logins, driven synchronously by the agents service (``/internal/agent-logins``).

agents calls these inside its own transaction and commits only if identity answered, so
that when ``DELETE /api/v1/agents/{id}`` returns, the agent can no longer log in and the
``SessionsRevoked`` that kills its tokens is committed (the gateway applies it within
milliseconds). Every call is idempotent: agents may retry after a timeout.
"""

from __future__ import annotations

import uuid

from shared.errors import NotFound, ValidationFailed
from shared.lockout import LockState
from shared.people.elements import mask

from ..domain.accounts import Account, window_change_ends_sessions
from ..domain.commands import CreateAgentLogin, SetAgentPassword, UpdateAgentLogin
from ..domain.errors import AgentLoginConflict
from ..domain.events import (
    AgentLoginCreated,
    AgentLoginPasswordChanged,
    AgentLoginRemoved,
    AgentLoginUpdated,
)
from .context import Identity
from .ports import AccountConflict, IdentityRepository
from .revocation import end_all_sessions


async def create(ctx: Identity, agent_id: uuid.UUID, cmd: CreateAgentLogin) -> bool:
    """Create the login; False if this very login already exists (a retry)."""
    async with ctx.storage.connection() as repo:
        enterprise = await repo.find_enterprise(cmd.enterprise_id)
        existing = await repo.get_account(agent_id)
    if enterprise is None:
        raise ValidationFailed.field("enterprise_id", "no such enterprise account",
                                     code="enterprise_not_found")
    if existing is not None:
        same = existing.enterprise_id == cmd.enterprise_id and existing.phone == cmd.phone
        if same and not existing.removed:
            return False
        raise AgentLoginConflict("agent_id")
    account = Account(
        id=agent_id, role="agent", name=cmd.name, phone=cmd.phone,
        password_hash=await ctx.passwords.hash(cmd.password), id_type=cmd.id_type,
        id_number=cmd.id_number, enterprise_id=enterprise.id, enterprise_name=enterprise.name,
        enterprise_uscc=enterprise.enterprise_uscc, can_manage=cmd.can_manage,
        valid_from=cmd.valid_from, valid_to=cmd.valid_to)
    created = AgentLoginCreated(agent_id=agent_id, enterprise_id=enterprise.id,
                                valid_from=cmd.valid_from, valid_to=cmd.valid_to,
                                can_manage=cmd.can_manage, phone_masked=mask(cmd.phone))
    try:
        async with ctx.storage.transaction() as repo:
            await repo.append(f"login-{agent_id}", "login", 0, [created])
            await repo.insert_account(account)
            await repo.set_login_version(agent_id, 1)
    except AccountConflict:
        raise AgentLoginConflict("phone") from None
    return True


async def _locked_agent(repo: IdentityRepository, agent_id: uuid.UUID) -> Account | None:
    account = await repo.get_account(agent_id, for_update=True)
    return account if account is not None and account.role == "agent" else None


async def update(ctx: Identity, agent_id: uuid.UUID, cmd: UpdateAgentLogin) -> None:
    async with ctx.storage.transaction() as repo:
        agent = await _locked_agent(repo, agent_id)
        if agent is None or agent.removed:
            raise NotFound("no such agent login", code="agent_not_found")
        assert agent.valid_from and agent.valid_to and agent.can_manage is not None
        wanted = (cmd.valid_from, cmd.valid_to, cmd.can_manage)
        if (agent.valid_from, agent.valid_to, agent.can_manage) == wanted:
            return
        updated = AgentLoginUpdated(agent_id=agent_id, valid_from=cmd.valid_from, valid_to=cmd.valid_to,
                                    can_manage=cmd.can_manage)
        if window_change_ends_sessions(agent.valid_from, agent.valid_to, agent.can_manage,
                                       cmd.valid_from, cmd.valid_to, cmd.can_manage, ctx.today()):
            await end_all_sessions(ctx, repo, agent_id, "agent_updated", [updated])
        else:
            await repo.append_login(agent_id, [updated])
        await repo.update_agent(agent_id, valid_from=cmd.valid_from, valid_to=cmd.valid_to,
                                can_manage=cmd.can_manage)


async def set_password(ctx: Identity, agent_id: uuid.UUID, cmd: SetAgentPassword) -> None:
    """New password: the old one stops working and every session of the agent ends."""
    password_hash = await ctx.passwords.hash(cmd.password)
    async with ctx.storage.transaction() as repo:
        agent = await _locked_agent(repo, agent_id)
        if agent is None or agent.removed:
            raise NotFound("no such agent login", code="agent_not_found")
        await end_all_sessions(ctx, repo, agent_id, "password_changed",
                               [AgentLoginPasswordChanged(agent_id=agent_id)])
        await repo.update_agent(agent_id, password_hash=password_hash)
        await repo.save_lock(agent_id, LockState())


async def remove(ctx: Identity, agent_id: uuid.UUID) -> None:
    """The agent can no longer log in and its tokens die; removing twice is fine."""
    async with ctx.storage.transaction() as repo:
        await remove_within(ctx, repo, agent_id)


async def remove_within(ctx: Identity, repo: IdentityRepository, agent_id: uuid.UUID) -> None:
    """``remove`` in a transaction the caller holds. An event consumer must use this one: taking
    a second pooled connection while holding its own deadlocks once every connection is held
    by a consumer waiting for another (it hung identity under load)."""
    agent = await _locked_agent(repo, agent_id)
    if agent is None or agent.removed:
        return
    await end_all_sessions(ctx, repo, agent_id, "agent_removed", [AgentLoginRemoved(agent_id=agent_id)])
    await repo.update_agent(agent_id, removed_at=ctx.clock())
