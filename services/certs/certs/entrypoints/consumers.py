"""Events of other services that certs acts on.

``agents.AgentRemoved``: an agent's certificate names the enterprise it acted for; once the
enterprise removes the agent, that binding is void, so the certificate is revoked
(reason affiliationChanged) and the CRL re-issued.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

from aiohttp import web

from certs.adapters import repository as repo
from certs.service_layer.seals import revoke_certificate
from shared.catalog import AgentRemoved
from shared.consumer import Handler, handlers_for
from shared.db import Conn
from shared.events import DomainEvent, Envelope
from shared.logging import get_logger

from .appkeys import CERTS, CERTS_READY

log = get_logger(__name__)


def handlers(app: web.Application) -> Mapping[str, Handler]:
    async def agent_removed(conn: Conn, envelope: Envelope, event: DomainEvent) -> None:
        assert isinstance(event, AgentRemoved)
        # the consumer may start before the CA is loaded (cleanup contexts run in order)
        await asyncio.wait_for(app[CERTS_READY].wait(), timeout=60)
        certs = app[CERTS]
        row = await repo.active_agent_certificate(conn, event.agent_id, for_update=True)
        if row is None:
            return
        await revoke_certificate(certs, certs.within(conn), row["certificate_id"], "affiliation_changed",
                                 certs.clock.now())
        log.info("agent_certificate_revoked", agent_id=str(event.agent_id),
                 serial_number=row["serial_number"])

    return handlers_for((AgentRemoved, agent_removed))
