"""Seals, grants and personal signatures: aggregates folded from their events, and the rules
that decide which new events a command produces. Pure: no I/O, time is passed in.

Dates are calendar dates in China (Asia/Shanghai, UTC+8 all year): a grant valid
2026-01-01..2026-01-31 may be used from midnight on the 1st to midnight after the 31st,
Beijing time, both ends inclusive.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Literal

from shared.catalog import (
    AuthorizationGranted,
    AuthorizationRevoked,
    AuthorizationUpdated,
    PersonalSignatureCreated,
    PersonalSignatureDeleted,
    SealIssued,
)
from shared.catalog import SealRevoked as SealRevokedEvent
from shared.events import DomainEvent

from . import errors

GrantStatus = Literal["pending", "active", "expired"]
SealStatus = Literal["active", "revoked"]
SignatureMethod = Literal["handwritten", "generated"]


# --- validity windows ---------------------------------------------------------------------


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


# --- seals --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Seal:
    seal_id: uuid.UUID
    enterprise_id: uuid.UUID
    type: str
    name: str
    status: SealStatus
    version: int
    revoked_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.status == "active"

    @staticmethod
    def fold(events: Iterable[DomainEvent]) -> Seal | None:
        seal: Seal | None = None
        for version, ev in enumerate(events, start=1):
            if isinstance(ev, SealIssued):
                seal = Seal(ev.seal_id, ev.enterprise_id, ev.type, ev.name, "active", version)
            elif isinstance(ev, SealRevokedEvent) and seal is not None:
                seal = replace(seal, status="revoked", revoked_at=ev.revoked_at, version=version)
            elif seal is not None:
                seal = replace(seal, version=version)
        return seal


def issue_seal(*, seal_id: uuid.UUID, enterprise_id: uuid.UUID, type_code: str, name: str,
               image_sha256: str, certificate_serial: str, issued_by: uuid.UUID) -> SealIssued:
    return SealIssued(seal_id=seal_id, enterprise_id=enterprise_id, type=type_code, name=name,
                      image_sha256=image_sha256, certificate_serial=certificate_serial,
                      issued_by=issued_by)


def revoke_seal(seal: Seal, *, by: uuid.UUID, at: datetime, reason: str) -> SealRevokedEvent:
    """作废: final. A revoked seal cannot be revoked again (409 seal_revoked)."""
    if not seal.active:
        raise errors.SealRevoked()
    return SealRevokedEvent(seal_id=seal.seal_id, enterprise_id=seal.enterprise_id,
                            revoked_by=by, revoked_at=at, reason=reason)


# --- grants -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Grant:
    grant_id: uuid.UUID
    seal_id: uuid.UUID
    enterprise_id: uuid.UUID
    person_id: uuid.UUID
    window: Window
    deleted: bool
    version: int

    @staticmethod
    def fold(events: Iterable[DomainEvent]) -> Grant | None:
        grant: Grant | None = None
        for version, ev in enumerate(events, start=1):
            if isinstance(ev, AuthorizationGranted):
                grant = Grant(ev.grant_id, ev.seal_id, ev.enterprise_id, ev.person_id,
                              Window(ev.valid_from, ev.valid_to), False, version)
            elif grant is None:
                continue
            elif isinstance(ev, AuthorizationUpdated):
                grant = replace(grant, window=Window(ev.valid_from, ev.valid_to), version=version)
            elif isinstance(ev, AuthorizationRevoked):
                grant = replace(grant, deleted=True, version=version)
            else:
                grant = replace(grant, version=version)
        return grant

    def usable(self, today: date) -> bool:
        return not self.deleted and self.window.covers(today)


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


# --- stamping decision ------------------------------------------------------------------


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


# --- personal signatures ------------------------------------------------------------------


@dataclass(frozen=True)
class Signature:
    signature_id: uuid.UUID
    person_id: uuid.UUID
    method: SignatureMethod
    deleted: bool
    version: int

    @staticmethod
    def fold(events: Iterable[DomainEvent]) -> Signature | None:
        sig: Signature | None = None
        for version, ev in enumerate(events, start=1):
            if isinstance(ev, PersonalSignatureCreated):
                sig = Signature(ev.signature_id, ev.person_id, ev.method, False, version)
            elif isinstance(ev, PersonalSignatureDeleted) and sig is not None:
                sig = replace(sig, deleted=True, version=version)
            elif sig is not None:
                sig = replace(sig, version=version)
        return sig


def create_signature(*, signature_id: uuid.UUID, person_id: uuid.UUID,
                     method: SignatureMethod, image_sha256: str) -> PersonalSignatureCreated:
    return PersonalSignatureCreated(signature_id=signature_id, person_id=person_id, method=method,
                                    image_sha256=image_sha256)


def delete_signature(sig: Signature) -> PersonalSignatureDeleted:
    if sig.deleted:
        raise errors.SignatureNotFound()
    return PersonalSignatureDeleted(signature_id=sig.signature_id, person_id=sig.person_id)

