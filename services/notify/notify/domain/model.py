"""What notify's rules work with: message drafts and the directory entries they read (pure)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Literal, get_args

Kind = Literal[
    "seal_issued", "seal_revoked",
    "grant_added", "grant_updated", "grant_removed",
    "agent_added", "agent_removed",
    "stamp_applied",
    "approval_requested", "approval_granted", "approval_rejected",
]
KINDS: tuple[str, ...] = get_args(Kind)


@dataclass(frozen=True)
class Draft:
    """One message to be written for one recipient (a principal id)."""

    recipient_id: uuid.UUID
    kind: Kind
    title: str
    body: str


@dataclass(frozen=True)
class AgentEntry:
    agent_id: uuid.UUID
    can_manage: bool
    removed: bool
    valid_from: date | None
    valid_to: date | None


@dataclass(frozen=True)
class GrantEntry:
    grant_id: uuid.UUID
    person_id: uuid.UUID
    revoked: bool
    revoked_correlation: str
    valid_to: date | None


@dataclass(frozen=True)
class Names:
    """Display names known to the directory; ``None`` when not (yet) known."""

    enterprise: str | None = None
    seal: str | None = None
    person: str | None = None
