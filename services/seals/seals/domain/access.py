"""Who may look at and change an enterprise's seals, decided from this service's own data.

A token says who is calling; what they may do is decided here, at request time:

* an enterprise account acts for itself (its id is the enterprise id) and may change
  everything;
* an agent must be in the agents directory (fed by agents' events), not removed, inside
  its validity window (China dates, both ends inclusive), and must have the management
  permission to change anything. The token's ``mgr`` claim may be stale: the directory wins.
* an agent the directory does not know yet (its AgentAdded event is still in flight, right
  after it was created) is looked up at identity, which the agents service updates
  synchronously (the service layer does that; the record is used for this request only,
  never stored, so it cannot overtake the events). If identity cannot say either, the agent
  may *read* on the strength of its token, which identity signed for that enterprise, and a
  change waits briefly for the directory, then gets 503 ``agent_not_synchronized``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

from shared.auth import Principal
from shared.errors import Forbidden

from .errors import AgentNotSynchronized, AgentNotValid, ManagementPermissionRequired


@dataclass(frozen=True)
class AgentRecord:
    agent_id: uuid.UUID
    enterprise_id: uuid.UUID
    valid_from: date | None
    valid_to: date | None
    can_manage: bool
    removed: bool


@dataclass(frozen=True)
class Operator:
    """Someone acting for an enterprise: the enterprise account or one of its agents."""

    principal_id: uuid.UUID
    role: str
    enterprise_id: uuid.UUID
    can_manage: bool


def enterprise_of(principal: Principal) -> uuid.UUID:
    """The enterprise a principal's token says it acts for (403 for natural persons)."""
    if principal.role == "enterprise":
        return principal.enterprise_id or principal.id
    if principal.role == "agent" and principal.enterprise_id is not None:
        return principal.enterprise_id
    raise Forbidden("this is for enterprise accounts and their agents", code="role_not_allowed")


def decide_operator(principal: Principal, agent: AgentRecord | None, today: date, *,
                    manage: bool) -> Operator:
    """The operator a request acts as, or the reason it may not act (403/503)."""
    enterprise_id = enterprise_of(principal)
    if principal.role == "enterprise":
        return Operator(principal.id, "enterprise", enterprise_id, True)
    if agent is None:
        if manage:
            raise AgentNotSynchronized()
        return Operator(principal.id, "agent", enterprise_id, False)
    if agent.removed:
        raise AgentNotValid("this agent has been removed by the enterprise")
    if agent.enterprise_id != enterprise_id:
        raise AgentNotValid("this agent does not belong to that enterprise")
    if agent.valid_from is None or agent.valid_to is None \
            or not agent.valid_from <= today <= agent.valid_to:
        raise AgentNotValid("this agent is outside its validity period")
    if manage and not agent.can_manage:
        raise ManagementPermissionRequired()
    return Operator(principal.id, "agent", enterprise_id, agent.can_manage)
