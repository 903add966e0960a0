"""Login accounts: who may log in, as what, and what their tokens say.

One account per principal: a natural person, an enterprise account (its id is the
enterprise id) or an agent (its id is the agents service's agent id). An agent logs in only
inside its validity window, by the calendar date in China (both ends inclusive).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Literal

from shared.auth import Principal
from shared.china_time import CHINA_TZ
from shared.lockout import LockState

from .errors import AgentNotValid, InvalidCredentials

Role = Literal["person", "enterprise", "agent"]
Verification = Literal["verified", "pending_verification"]


@dataclass(frozen=True)
class Account:
    id: uuid.UUID
    role: Role
    name: str
    phone: str
    password_hash: str
    id_type: str | None = None
    id_number: str | None = None
    enterprise_id: uuid.UUID | None = None
    enterprise_name: str | None = None
    enterprise_uscc: str | None = None
    legal_representative_name: str | None = None
    can_manage: bool | None = None
    valid_from: date | None = None
    valid_to: date | None = None
    removed: bool = False
    lock: LockState = field(default_factory=LockState)
    verification: Verification = "verified"

    @property
    def verified(self) -> bool:
        return self.verification == "verified"

    def valid_on(self, today: date) -> bool:
        if self.role != "agent":
            return True
        assert self.valid_from is not None and self.valid_to is not None
        return self.valid_from <= today <= self.valid_to

    def ensure_may_log_in(self, today: date) -> None:
        """A removed agent is unknown (401); one outside its window is refused (403)."""
        if self.removed:
            raise InvalidCredentials()
        if not self.valid_on(today):
            raise AgentNotValid(str(self.valid_from), str(self.valid_to))

    def principal(self, session_id: str, issued_at_ms: int) -> Principal:
        return Principal(id=self.id, role=self.role, name=self.name,
                         enterprise_id=self.enterprise_id, enterprise_name=self.enterprise_name,
                         can_manage=self.can_manage if self.role == "agent" else None,
                         session_id=session_id, issued_at=issued_at_ms)

    def access_expiry(self, now: datetime, ttl: timedelta) -> datetime:
        """No token of an agent outlives the last day of its window."""
        expiry = now + ttl
        if self.role == "agent" and self.valid_to is not None:
            end = datetime.combine(self.valid_to + timedelta(days=1), time(), CHINA_TZ)
            expiry = min(expiry, end)
        return expiry


def window_change_ends_sessions(old_from: date, old_to: date, old_manage: bool, new_from: date,
                                new_to: date, new_manage: bool, today: date) -> bool:
    """Whether an agent's current tokens must die: they now claim more than is true.

    Removing the management permission, or moving the window so that today is outside it.
    Granting the permission or widening the window leaves sessions alone (the agent sees the
    new permission at its next login or refresh).
    """
    if old_manage and not new_manage:
        return True
    was_valid = old_from <= today <= old_to
    return was_valid and not (new_from <= today <= new_to)
