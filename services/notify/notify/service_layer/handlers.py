"""Handlers of other services' public events.

Each runs inside the consumer's transaction that also writes the (consumer, event_id)
tracking row, so an event handled twice has no second effect. A handler folds the event into
the directory, reads what the rules need, asks the rules for drafts and writes them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

import asyncpg

from shared import agent_directory
from shared.catalog import (
    AgentAdded,
    AgentRemoved,
    AgentUpdated,
    ApprovalGranted,
    ApprovalRejected,
    ApprovalRequested,
    AuthorizationGranted,
    AuthorizationRevoked,
    AuthorizationUpdated,
    EnterpriseRegistered,
    PersonRegistered,
    SealIssued,
    SealRevoked,
    StampApplied,
)
from shared.consumer import Handler, handlers_for
from shared.events import DomainEvent, Envelope

from ..adapters import repository as inbox
from ..domain import rules
from ..projections import directory

E = TypeVar("E", bound=DomainEvent)
Typed = Callable[[asyncpg.Connection, Envelope, E], Awaitable[None]]


# identity ---------------------------------------------------------------------------


async def on_enterprise_registered(conn: asyncpg.Connection, env: Envelope, ev: EnterpriseRegistered) -> None:
    await agent_directory.project(conn, env, ev)


async def on_person_registered(conn: asyncpg.Connection, env: Envelope, ev: PersonRegistered) -> None:
    await agent_directory.project(conn, env, ev)


# agents -----------------------------------------------------------------------------


async def on_agent_added(conn: asyncpg.Connection, env: Envelope, ev: AgentAdded) -> None:
    await agent_directory.project(conn, env, ev)
    names = await directory.names(conn, enterprise_id=ev.enterprise_id)
    await inbox.deliver(conn, env.event_id, rules.agent_added(ev, names))


async def on_agent_updated(conn: asyncpg.Connection, env: Envelope, ev: AgentUpdated) -> None:
    await agent_directory.project(conn, env, ev)


async def on_agent_removed(conn: asyncpg.Connection, env: Envelope, ev: AgentRemoved) -> None:
    await agent_directory.project(conn, env, ev)
    names = await directory.names(conn, enterprise_id=ev.enterprise_id)
    await inbox.deliver(conn, env.event_id, rules.agent_removed(ev, names))


# seals ------------------------------------------------------------------------------


async def on_seal_issued(conn: asyncpg.Connection, env: Envelope, ev: SealIssued) -> None:
    await directory.record_seal(conn, seal_id=ev.seal_id, enterprise_id=ev.enterprise_id,
                                version=env.stream_version, name=ev.name, seal_type=ev.type)
    agents = await directory.agents_of(conn, ev.enterprise_id)
    await inbox.deliver(conn, env.event_id, rules.seal_issued(ev, env.occurred_at, agents))


async def on_seal_revoked(conn: asyncpg.Connection, env: Envelope, ev: SealRevoked) -> None:
    await directory.record_seal(conn, seal_id=ev.seal_id, enterprise_id=ev.enterprise_id,
                                version=env.stream_version, revoked=True,
                                correlation_id=env.correlation_id)
    names = await directory.names(conn, enterprise_id=ev.enterprise_id, seal_id=ev.seal_id)
    agents = await directory.agents_of(conn, ev.enterprise_id)
    grants = await directory.grants_of(conn, ev.seal_id)
    await inbox.deliver(conn, env.event_id,
                        rules.seal_revoked(ev, names, agents, grants, env.correlation_id))


async def on_grant_added(conn: asyncpg.Connection, env: Envelope, ev: AuthorizationGranted) -> None:
    await directory.record_grant(conn, grant_id=ev.grant_id, seal_id=ev.seal_id,
                                 enterprise_id=ev.enterprise_id, person_id=ev.person_id,
                                 version=env.stream_version, valid_from=ev.valid_from,
                                 valid_to=ev.valid_to)
    await directory.remember_person(conn, ev.person_id, ev.person_name)
    names = await directory.names(conn, enterprise_id=ev.enterprise_id, seal_id=ev.seal_id,
                                  person_id=ev.person_id)
    await inbox.deliver(conn, env.event_id, rules.grant_added(ev, names))


async def on_grant_updated(conn: asyncpg.Connection, env: Envelope, ev: AuthorizationUpdated) -> None:
    await directory.record_grant(conn, grant_id=ev.grant_id, seal_id=ev.seal_id,
                                 enterprise_id=ev.enterprise_id, person_id=ev.person_id,
                                 version=env.stream_version, valid_from=ev.valid_from,
                                 valid_to=ev.valid_to)
    names = await directory.names(conn, enterprise_id=ev.enterprise_id, seal_id=ev.seal_id,
                                  person_id=ev.person_id)
    await inbox.deliver(conn, env.event_id, rules.grant_updated(ev, names))


async def on_grant_removed(conn: asyncpg.Connection, env: Envelope, ev: AuthorizationRevoked) -> None:
    await directory.record_grant(conn, grant_id=ev.grant_id, seal_id=ev.seal_id,
                                 enterprise_id=ev.enterprise_id, person_id=ev.person_id,
                                 version=env.stream_version, revoked=True,
                                 correlation_id=env.correlation_id)
    revoked_by = await directory.seal_revocation_correlation(conn, ev.seal_id)
    with_seal = bool(env.correlation_id) and revoked_by == env.correlation_id
    names = await directory.names(conn, enterprise_id=ev.enterprise_id, seal_id=ev.seal_id,
                                  person_id=ev.person_id)
    await inbox.deliver(conn, env.event_id,
                        rules.grant_removed(ev, names, by_seal_revocation=with_seal))


# stamping ---------------------------------------------------------------------------


async def on_stamp_applied(conn: asyncpg.Connection, env: Envelope, ev: StampApplied) -> None:
    names = await directory.names(conn, enterprise_id=ev.enterprise_id, seal_id=ev.seal_id,
                                  person_id=ev.person_id)
    await inbox.deliver(conn, env.event_id, rules.stamp_applied(ev, names))


async def on_approval_requested(conn: asyncpg.Connection, env: Envelope, ev: ApprovalRequested) -> None:
    await inbox.deliver(conn, env.event_id, rules.approval_requested(ev))


async def on_approval_granted(conn: asyncpg.Connection, env: Envelope, ev: ApprovalGranted) -> None:
    await inbox.deliver(conn, env.event_id, rules.approval_granted(ev))


async def on_approval_rejected(conn: asyncpg.Connection, env: Envelope, ev: ApprovalRejected) -> None:
    await inbox.deliver(conn, env.event_id, rules.approval_rejected(ev))


def _h(fn: Typed[E]) -> Handler:
    return fn  # type: ignore[return-value]  # each handler receives the event type it is bound to


def event_handlers() -> dict[str, Handler]:
    """Routing key -> handler, for the consumer (``notify.events`` queue)."""
    return handlers_for(
        (EnterpriseRegistered, _h(on_enterprise_registered)),
        (PersonRegistered, _h(on_person_registered)),
        (AgentAdded, _h(on_agent_added)),
        (AgentUpdated, _h(on_agent_updated)),
        (AgentRemoved, _h(on_agent_removed)),
        (SealIssued, _h(on_seal_issued)),
        (SealRevoked, _h(on_seal_revoked)),
        (AuthorizationGranted, _h(on_grant_added)),
        (AuthorizationUpdated, _h(on_grant_updated)),
        (AuthorizationRevoked, _h(on_grant_removed)),
        (StampApplied, _h(on_stamp_applied)),
        (ApprovalRequested, _h(on_approval_requested)),
        (ApprovalGranted, _h(on_approval_granted)),
        (ApprovalRejected, _h(on_approval_rejected)),
    )

