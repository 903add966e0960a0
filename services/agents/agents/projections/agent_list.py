"""The enterprise's agent list (projection of the agent events), applied inline.

Rebuildable: ``python -m agents rebuild-projection agent_list``.
"""

from __future__ import annotations

import asyncpg

from shared.catalog import AgentAdded, AgentRemoved, AgentUpdated
from shared.eventstore import StoredEvent
from shared.projections import Projection


class AgentListProjection(Projection):
    name = "agent_list"
    tables = ("agent_list",)

    async def apply(self, conn: asyncpg.Connection, event: StoredEvent) -> None:
        ev = event.decode()
        if isinstance(ev, AgentAdded):
            await conn.execute(
                "INSERT INTO agent_list (agent_id, enterprise_id, name, id_type, id_number_masked,"
                " phone_masked, id_valid_from, id_valid_to, id_long_term, valid_from, valid_to,"
                " can_manage, added_by, added_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14)"
                " ON CONFLICT (agent_id) DO NOTHING",
                ev.agent_id, ev.enterprise_id, ev.name, ev.id_type, ev.id_number_masked, ev.phone_masked,
                ev.id_valid_from, ev.id_valid_to, ev.id_long_term, ev.valid_from, ev.valid_to,
                ev.can_manage, ev.added_by, event.occurred_at)
        elif isinstance(ev, AgentUpdated):
            await conn.execute("UPDATE agent_list SET valid_from = $2, valid_to = $3, can_manage = $4"
                               " WHERE agent_id = $1", ev.agent_id, ev.valid_from, ev.valid_to, ev.can_manage)
        elif isinstance(ev, AgentRemoved):
            await conn.execute("UPDATE agent_list SET removed_at = $2 WHERE agent_id = $1",
                               ev.agent_id, event.occurred_at)
