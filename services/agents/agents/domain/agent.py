"""The agent (经办人) aggregate: a fold of its events, and the rules of its commands.

Dates are calendar dates in China. The agent's window is inclusive at both ends; its
status is ``pending`` before ``valid_from``, ``active`` inside, ``expired`` after.

ID document validity (证件有效期) follows the resident ID card: 5, 10 or 20 years, or
long-term (长期). A card reads e.g. 2020.01.01-2030.01.01, so a term of N years ends on
the same month and day N years later (29 February → 28 February in a common year). A card
that has expired, or that starts in the future, is refused.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date
from typing import Literal

from shared.catalog import AgentAdded, AgentPasswordChanged, AgentRemoved, AgentUpdated
from shared.errors import ValidationFailed
from shared.events import DomainEvent
from shared.people.elements import mask

from .commands import AddAgent

Status = Literal["pending", "active", "expired"]
ID_TERMS_YEARS = (5, 10, 20)


@dataclass(frozen=True)
class Agent:
    agent_id: uuid.UUID
    enterprise_id: uuid.UUID
    name: str
    valid_from: date
    valid_to: date
    can_manage: bool
    removed: bool = False
    version: int = 0


def fold(events: Iterable[DomainEvent]) -> Agent | None:
    """The agent as its events leave it (None before it was added)."""
    agent: Agent | None = None
    for ev in events:
        agent = _apply(agent, ev)
    return agent


def _apply(agent: Agent | None, ev: DomainEvent) -> Agent | None:
    if isinstance(ev, AgentAdded):
        return Agent(ev.agent_id, ev.enterprise_id, ev.name, ev.valid_from, ev.valid_to,
                     ev.can_manage, version=1)
    assert agent is not None, "an agent's stream starts with AgentAdded"
    if isinstance(ev, AgentUpdated):
        agent = replace(agent, valid_from=ev.valid_from, valid_to=ev.valid_to, can_manage=ev.can_manage)
    elif isinstance(ev, AgentRemoved):
        agent = replace(agent, removed=True)
    return replace(agent, version=agent.version + 1)


def status(valid_from: date, valid_to: date, today: date) -> Status:
    if today < valid_from:
        return "pending"
    return "active" if today <= valid_to else "expired"


def add_years(start: date, years: int) -> date:
    if start.year + years > date.max.year:
        return date.max  # past the calendar's end: no ID document runs that long
    try:
        return start.replace(year=start.year + years)
    except ValueError:  # 29 February into a common year
        return start.replace(year=start.year + years, day=28)


def _error(field: str, code: str, message: str) -> dict[str, str]:
    return {"field": field, "message": message, "code": code}


def id_validity_errors(valid_from: date, valid_to: date | None, long_term: bool,
                       today: date) -> list[dict[str, str]]:
    """What is wrong with an ID document validity (empty when it is acceptable)."""
    errors = []
    if valid_from > today:
        errors.append(_error("id_valid_from", "id_valid_from_future",
                             "证件有效期开始日期不能晚于今天 / starts in the future"))
    if long_term:
        if valid_to is not None:
            errors.append(_error("id_valid_to", "id_valid_to_with_long_term",
                                 "长期有效的证件不填结束日期 / must be null for a long-term document"))
        return errors
    if valid_to is None:
        errors.append(_error("id_valid_to", "id_valid_to_required",
                             "请选择证件有效期结束日期 / required unless long-term"))
    elif valid_to not in {add_years(valid_from, n) for n in ID_TERMS_YEARS}:
        errors.append(_error("id_valid_to", "id_validity_term",
                             "证件有效期应为5年、10年、20年或长期 /"
                             " must be 5, 10 or 20 years after the start"))
    elif valid_to < today:
        errors.append(_error("id_valid_to", "id_document_expired",
                             "证件已过期 / the ID document has expired"))
    return errors


def window_errors(valid_from: date, valid_to: date, today: date | None,
                  field: str = "valid_to") -> list[dict[str, str]]:
    """The agent's window; ``today`` given: it must not be over already (new agents)."""
    if valid_to < valid_from:
        return [_error(field, "valid_to_before_valid_from",
                       "结束日期早于开始日期 / the end date is before the start date")]
    if today is not None and valid_to < today:
        return [_error("valid_to", "valid_to_past", "经办人有效期已结束 / the window is already over")]
    return []


def refuse(errors: list[dict[str, str]]) -> None:
    if errors:
        raise ValidationFailed("; ".join(f"{e['field']}: {e['message']}" for e in errors), errors=errors)


def added(agent_id: uuid.UUID, enterprise_id: uuid.UUID, operator_id: uuid.UUID,
          cmd: AddAgent) -> AgentAdded:
    """The event of a new agent: masked numbers only, never the password."""
    return AgentAdded(agent_id=agent_id, enterprise_id=enterprise_id, name=cmd.name,
                      valid_from=cmd.valid_from, valid_to=cmd.valid_to, can_manage=cmd.can_manage,
                      added_by=operator_id, id_number_masked=mask(cmd.id_number),
                      phone_masked=mask(cmd.phone), id_type=cmd.id_type,
                      id_valid_from=cmd.id_valid_from, id_valid_to=cmd.id_valid_to,
                      id_long_term=cmd.id_long_term)


def updated(agent: Agent, valid_from: date | None, valid_to: date | None,
            can_manage: bool | None) -> AgentUpdated | None:
    """The update event, or None when nothing changes; refuses an inverted window."""
    new_from = valid_from if valid_from is not None else agent.valid_from
    new_to = valid_to if valid_to is not None else agent.valid_to
    new_manage = can_manage if can_manage is not None else agent.can_manage
    refuse(window_errors(new_from, new_to, None, "valid_to" if valid_to is not None else "valid_from"))
    if (new_from, new_to, new_manage) == (agent.valid_from, agent.valid_to, agent.can_manage):
        return None
    return AgentUpdated(agent_id=agent.agent_id, enterprise_id=agent.enterprise_id,
                        valid_from=new_from, valid_to=new_to, can_manage=new_manage)


def removed(agent: Agent, by: uuid.UUID) -> AgentRemoved:
    return AgentRemoved(agent_id=agent.agent_id, enterprise_id=agent.enterprise_id, removed_by=by)


def password_changed(agent: Agent) -> AgentPasswordChanged:
    return AgentPasswordChanged(agent_id=agent.agent_id, enterprise_id=agent.enterprise_id)
