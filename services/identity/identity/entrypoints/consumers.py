"""Events identity consumes from other services.

* ``certs.CertificateIssued`` / ``CertificateRevoked``: the ``certificate_status`` that
  ``GET /me`` shows for a person, enterprise account or agent.
* ``agents.AgentRemoved``: a safety net. agents removes the login synchronously before it
  commits; should that call have been lost after agents committed, the event removes it.
"""

from __future__ import annotations

from collections.abc import Mapping

import asyncpg
from aiohttp import web

from shared.catalog import AgentRemoved, CertificateIssued, CertificateRevoked
from shared.consumer import Handler, handlers_for
from shared.events import DomainEvent, Envelope

from ..adapters.repository import PgIdentityRepository, PgIdentityStorage
from ..service_layer import agent_logins
from .requests import IDENTITY

_PRINCIPAL_OWNERS = {"person", "enterprise", "agent"}


def handlers(app: web.Application) -> Mapping[str, Handler]:
    def repo(conn: asyncpg.Connection) -> PgIdentityRepository:  # the consumer's transaction
        storage = app[IDENTITY].storage
        assert isinstance(storage, PgIdentityStorage)
        return storage.within(conn)

    async def certificate_issued(conn: asyncpg.Connection, _: Envelope, ev: DomainEvent) -> None:
        assert isinstance(ev, CertificateIssued)
        if ev.owner_type in _PRINCIPAL_OWNERS:
            await repo(conn).set_certificate_status(ev.owner_id, "active", ev.certificate_id)

    async def certificate_revoked(conn: asyncpg.Connection, _: Envelope, ev: DomainEvent) -> None:
        assert isinstance(ev, CertificateRevoked)
        if ev.owner_type in _PRINCIPAL_OWNERS and ev.owner_id is not None:
            # a reset or renewal's revocation may come after its successor's issue: then the
            # current certificate is another one and nothing changes
            await repo(conn).set_certificate_status(ev.owner_id, "none", ev.certificate_id)

    async def agent_removed(conn: asyncpg.Connection, _: Envelope, ev: DomainEvent) -> None:
        assert isinstance(ev, AgentRemoved)
        await agent_logins.remove_within(app[IDENTITY], repo(conn), ev.agent_id)  # idempotent

    return handlers_for((CertificateIssued, certificate_issued),
                        (CertificateRevoked, certificate_revoked),
                        (AgentRemoved, agent_removed))
