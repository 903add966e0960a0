"""The grant (授权) aggregate: a person may use a seal inside a window of days; a fold of its
events, the rules of its commands, and the decision whether a stamp may be made.

Pure: no I/O, time is passed in. Dates are calendar dates in China (Asia/Shanghai, UTC+8
all year): a grant valid 2026-01-01..2026-01-31 may be used from midnight on the 1st to
midnight after the 31st, Beijing time, both ends inclusive.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date
from typing import Literal

from shared.catalog import AuthorizationGranted, AuthorizationRevoked, AuthorizationUpdated
from shared.events import DomainEvent

from . import errors
from .seal import Seal

GrantStatus = Literal["pending", "active", "expired"]


@dataclass(frozen=True)
class Window:
    """A validity window of whole days, both ends inclusive."""

    valid_from: date
    valid_to: date

    def __post_init__(self) -> None:
        if self.valid_to < self.valid_from:
            raise errors.InvalidWindow.ends_before_start()

    def status(self, today: date) -> GrantStatus:
        if today < self.valid_from:
            return "pending"
        if today > self.valid_to:
            return "expired"
        return "active"

    def covers(self, today: date) -> bool:
        return self.status(today) == "active"


@dataclass(frozen=True)
class Grant:
    grant_id: uuid.UUID
    seal_id: uuid.UUID
    enterprise_id: uuid.UUID
    person_id: uuid.UUID
    window: Window
    deleted: bool
    version: int


def fold(events: Iterable[DomainEvent]) -> Grant | None:
    """The grant as its events leave it (None before it was granted)."""
    grant: Grant | None = None
    for version, ev in enumerate(events, start=1):
        grant = _apply(grant, ev, version)
    return grant


def _apply(grant: Grant | None, ev: DomainEvent, version: int) -> Grant | None:
    if isinstance(ev, AuthorizationGranted):
        return Grant(ev.grant_id, ev.seal_id, ev.enterprise_id, ev.person_id,
                     Window(ev.valid_from, ev.valid_to), False, version)
    if grant is None:
        return None
    if isinstance(ev, AuthorizationUpdated):
        return replace(grant, window=Window(ev.valid_from, ev.valid_to), version=version)
    if isinstance(ev, AuthorizationRevoked):
        return replace(grant, deleted=True, version=version)
    return replace(grant, version=version)


def usable(grant: Grant, today: date) -> bool:
    return not grant.deleted and grant.window.covers(today)


def grant_authorization(*, grant_id: uuid.UUID, seal: Seal, person_id: uuid.UUID, window: Window,
                        today: date, granted_by: uuid.UUID, person_name: str,
                        id_number_masked: str) -> AuthorizationGranted:
    """A new grant: only on an active seal, and not one that is over before it is made."""
    if not seal.active:
        raise errors.SealRevoked()
    if window.valid_to < today:
        raise errors.InvalidWindow.already_over()
    return AuthorizationGranted(grant_id=grant_id, seal_id=seal.seal_id,
                                enterprise_id=seal.enterprise_id, person_id=person_id,
                                valid_from=window.valid_from, valid_to=window.valid_to,
                                granted_by=granted_by, person_name=person_name,
                                id_number_masked=id_number_masked)


def change_window(grant: Grant, *, seal: Seal, valid_from: date | None,
                  valid_to: date | None) -> AuthorizationUpdated | None:
    """New validity for a live grant of an active seal; None when nothing changes.

    Shortening is allowed down to ending the grant (valid_to in the past): that is how an
    enterprise stops a grant without deleting its record.
    """
    if grant.deleted:
        raise errors.GrantNotFound()
    if not seal.active:
        raise errors.SealRevoked()
    window = Window(valid_from or grant.window.valid_from, valid_to or grant.window.valid_to)
    if window == grant.window:
        return None
    return AuthorizationUpdated(grant_id=grant.grant_id, seal_id=grant.seal_id,
                                enterprise_id=grant.enterprise_id, person_id=grant.person_id,
                                valid_from=window.valid_from, valid_to=window.valid_to)


def revoke_grant(grant: Grant, *, by: uuid.UUID) -> AuthorizationRevoked:
    if grant.deleted:
        raise errors.GrantNotFound()
    return AuthorizationRevoked(grant_id=grant.grant_id, seal_id=grant.seal_id,
                                enterprise_id=grant.enterprise_id, person_id=grant.person_id,
                                revoked_by=by)


def check_stamp(seal: Seal | None, grant: Grant | None, *, enterprise_id: uuid.UUID,
                today: date) -> Seal:
    """Whether a person may stamp with ``seal`` for ``enterprise_id`` today.

    ``grant`` is the person's live grant on the seal (None if there is none). Revoked:
    409 seal_revoked; anything else amiss: 403 not_authorized (an unknown seal, another
    enterprise's seal and a missing grant look alike on purpose).
    """
    if seal is None or seal.enterprise_id != enterprise_id:
        raise errors.NotAuthorized()
    if not seal.active:
        raise errors.SealRevoked()
    if grant is None or grant.deleted or grant.seal_id != seal.seal_id:
        raise errors.NotAuthorized()
    status = grant.window.status(today)
    if status == "pending":
        raise errors.NotAuthorized(f"the authorization starts on {grant.window.valid_from}")
    if status == "expired":
        raise errors.NotAuthorized(f"the authorization ended on {grant.window.valid_to}")
    return seal
