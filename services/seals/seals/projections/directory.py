"""The directory: enterprises, persons and agents as their owners' events describe them.

Fed by the consumer (one transaction with the idempotency row per event). Agents' events
may arrive out of order (deliveries run concurrently and are retried): ``record_agent``
keeps the newest stream version's values and never undoes a removal.
"""

from __future__ import annotations

from shared.catalog import AgentAdded, AgentRemoved, AgentUpdated, EnterpriseRegistered, PersonRegistered
from shared.consumer import Handler, handlers_for
from shared.db import Conn
from shared.events import DomainEvent, Envelope

from ..adapters import repository as repo
from ..adapters.ports import EnterpriseInfo


async def on_enterprise_registered(conn: Conn, env: Envelope, ev: DomainEvent) -> None:
    assert isinstance(ev, EnterpriseRegistered)
    await repo.record_enterprise(conn, EnterpriseInfo(ev.enterprise_id, ev.name, ev.uscc,
                                                      ev.legal_representative_name))


async def on_person_registered(conn: Conn, env: Envelope, ev: DomainEvent) -> None:
    assert isinstance(ev, PersonRegistered)
    await repo.record_person(conn, ev.person_id, ev.name, ev.id_number_masked)


async def on_agent_added(conn: Conn, env: Envelope, ev: DomainEvent) -> None:
    assert isinstance(ev, AgentAdded)
    await repo.record_agent(conn, agent_id=ev.agent_id, enterprise_id=ev.enterprise_id,
                            version=env.stream_version, name=ev.name, valid_from=ev.valid_from,
                            valid_to=ev.valid_to, can_manage=ev.can_manage)


async def on_agent_updated(conn: Conn, env: Envelope, ev: DomainEvent) -> None:
    assert isinstance(ev, AgentUpdated)
    await repo.record_agent(conn, agent_id=ev.agent_id, enterprise_id=ev.enterprise_id,
                            version=env.stream_version, valid_from=ev.valid_from,
                            valid_to=ev.valid_to, can_manage=ev.can_manage)


async def on_agent_removed(conn: Conn, env: Envelope, ev: DomainEvent) -> None:
    assert isinstance(ev, AgentRemoved)
    await repo.record_agent(conn, agent_id=ev.agent_id, enterprise_id=ev.enterprise_id,
                            version=env.stream_version, removed=True)


def directory_handlers() -> dict[str, Handler]:
    return handlers_for(
        (EnterpriseRegistered, on_enterprise_registered),
        (PersonRegistered, on_person_registered),
        (AgentAdded, on_agent_added),
        (AgentUpdated, on_agent_updated),
        (AgentRemoved, on_agent_removed),
    )
