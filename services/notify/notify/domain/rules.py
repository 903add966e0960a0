"""Who is told what about each event (pure: the directory's entries come in as arguments).

Recipients are principal ids: an enterprise account's id is its ``enterprise_id``, an
agent's its ``agent_id``, a natural person's its ``person_id``.

- seal issued: the enterprise account and its managing agents
- seal revoked: those, and every current grantee of the seal
- grant added / changed / removed: the person, and the enterprise account
- agent added / removed: the agent
- stamp applied: the enterprise account
- approval requested (用印审批): the seal's approvers; granted or rejected: the person

"Managing agents" are agents with the management permission, not removed, whose validity
has not ended on the day of the event (China time); agents whose window starts later are
included (they will see the seal once they can log in). "Current grantees" hold a grant of
the seal that is not deleted and has not ended on the day of the revocation, or whose grant
was deleted by the revocation command itself (same correlation id).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import date, datetime

from shared.catalog import (
    AgentAdded,
    AgentRemoved,
    ApprovalGranted,
    ApprovalRejected,
    ApprovalRequested,
    AuthorizationGranted,
    AuthorizationRevoked,
    AuthorizationUpdated,
    SealIssued,
    SealRevoked,
    StampApplied,
)

from . import texts
from .model import AgentEntry, Draft, GrantEntry, Kind, Names

# recipient selection ------------------------------------------------------------------


def managing_agents(agents: Iterable[AgentEntry], on: date) -> list[uuid.UUID]:
    return [a.agent_id for a in agents
            if a.can_manage and not a.removed and (a.valid_to is None or a.valid_to >= on)]


def current_grantees(grants: Iterable[GrantEntry], on: date, correlation_id: str = "") -> list[uuid.UUID]:
    def counts(g: GrantEntry) -> bool:
        if g.revoked:
            return bool(correlation_id) and g.revoked_correlation == correlation_id
        return g.valid_to is None or g.valid_to >= on

    return [g.person_id for g in grants if counts(g)]


def _drafts(recipients: Iterable[uuid.UUID], kind: Kind, text: texts.Text) -> list[Draft]:
    title, body = text
    return [Draft(r, kind, title, body) for r in recipients]


def unique(drafts: Iterable[Draft]) -> list[Draft]:
    """One message per recipient and event: the first draft for a recipient wins."""
    seen: set[uuid.UUID] = set()
    out = []
    for d in drafts:
        if d.recipient_id not in seen:
            seen.add(d.recipient_id)
            out.append(d)
    return out


# one function per event ---------------------------------------------------------------


def seal_issued(ev: SealIssued, occurred_at: datetime, agents: Sequence[AgentEntry]) -> list[Draft]:
    audience = [ev.enterprise_id, *managing_agents(agents, texts.local_date(occurred_at))]
    return unique(_drafts(audience, "seal_issued", texts.seal_issued(ev.name, occurred_at)))


def seal_revoked(ev: SealRevoked, names: Names, agents: Sequence[AgentEntry],
                 grants: Sequence[GrantEntry], correlation_id: str = "") -> list[Draft]:
    on = texts.local_date(ev.revoked_at)
    enterprise = [ev.enterprise_id, *managing_agents(agents, on)]
    grantees = current_grantees(grants, on, correlation_id)
    return unique([
        *_drafts(enterprise, "seal_revoked",
                 texts.seal_revoked_for_enterprise(names.seal, ev.revoked_at)),
        *_drafts(grantees, "seal_revoked",
                 texts.seal_revoked_for_grantee(names.enterprise, names.seal, ev.revoked_at)),
    ])


def grant_added(ev: AuthorizationGranted, names: Names) -> list[Draft]:
    person_name = ev.person_name or names.person
    return unique([
        *_drafts([ev.person_id], "grant_added", texts.grant_added_for_person(
            names.enterprise, names.seal, ev.valid_from, ev.valid_to)),
        *_drafts([ev.enterprise_id], "grant_added", texts.grant_added_for_enterprise(
            person_name, names.seal, ev.valid_from, ev.valid_to)),
    ])


def grant_updated(ev: AuthorizationUpdated, names: Names) -> list[Draft]:
    return unique([
        *_drafts([ev.person_id], "grant_updated", texts.grant_updated_for_person(
            names.enterprise, names.seal, ev.valid_from, ev.valid_to)),
        *_drafts([ev.enterprise_id], "grant_updated", texts.grant_updated_for_enterprise(
            names.person, names.seal, ev.valid_from, ev.valid_to)),
    ])


def grant_removed(ev: AuthorizationRevoked, names: Names, *, by_seal_revocation: bool = False) -> list[Draft]:
    """Nothing when the grant went with its seal: the seal_revoked message says it already."""
    if by_seal_revocation:
        return []
    return unique([
        *_drafts([ev.person_id], "grant_removed",
                 texts.grant_removed_for_person(names.enterprise, names.seal)),
        *_drafts([ev.enterprise_id], "grant_removed",
                 texts.grant_removed_for_enterprise(names.person, names.seal)),
    ])


def agent_added(ev: AgentAdded, names: Names) -> list[Draft]:
    return _drafts([ev.agent_id], "agent_added",
                   texts.agent_added(names.enterprise, ev.valid_from, ev.valid_to, ev.can_manage))


def agent_removed(ev: AgentRemoved, names: Names) -> list[Draft]:
    return _drafts([ev.agent_id], "agent_removed", texts.agent_removed(names.enterprise))


def stamp_applied(ev: StampApplied, names: Names) -> list[Draft]:
    seal_name = ev.seal_name or names.seal
    return _drafts([ev.enterprise_id], "stamp_applied", texts.stamp_applied(
        seal_name, names.person, ev.document_title, ev.stamped_at))


def approval_requested(ev: ApprovalRequested) -> list[Draft]:
    return unique(_drafts(ev.approvers, "approval_requested", texts.approval_requested(
        ev.person_name, ev.document_title, ev.requester, ev.expires_at)))


def approval_granted(ev: ApprovalGranted) -> list[Draft]:
    return _drafts([ev.person_id], "approval_granted",
                   texts.approval_granted(ev.document_title, ev.approved_at))


def approval_rejected(ev: ApprovalRejected) -> list[Draft]:
    return _drafts([ev.person_id], "approval_rejected",
                   texts.approval_rejected(ev.document_title, ev.cause, ev.reason))
