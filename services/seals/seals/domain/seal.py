"""The seal (印章) aggregate: a fold of its events, and the rules of its commands.

Pure: no I/O, time is passed in. A revoked (作废) seal stays revoked.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal

from shared.catalog import SealApprovalPolicySet, SealIssued
from shared.catalog import SealRevoked as SealRevokedEvent
from shared.events import DomainEvent

from . import errors

SealStatus = Literal["active", "revoked"]


@dataclass(frozen=True)
class Seal:
    seal_id: uuid.UUID
    enterprise_id: uuid.UUID
    type: str
    name: str
    status: SealStatus
    version: int
    revoked_at: datetime | None = None
    approval_required: bool = False  # 用印审批
    approvers: tuple[uuid.UUID, ...] = ()

    @property
    def active(self) -> bool:
        return self.status == "active"


def fold(events: Iterable[DomainEvent]) -> Seal | None:
    """The seal as its events leave it (None before it was issued)."""
    seal: Seal | None = None
    for version, ev in enumerate(events, start=1):
        seal = _apply(seal, ev, version)
    return seal


def _apply(seal: Seal | None, ev: DomainEvent, version: int) -> Seal | None:
    if isinstance(ev, SealIssued):
        return Seal(ev.seal_id, ev.enterprise_id, ev.type, ev.name, "active", version)
    if seal is None:
        return None
    if isinstance(ev, SealRevokedEvent):
        return replace(seal, status="revoked", revoked_at=ev.revoked_at, version=version)
    if isinstance(ev, SealApprovalPolicySet):
        return replace(seal, approval_required=ev.approval_required, approvers=tuple(ev.approvers),
                       version=version)
    return replace(seal, version=version)


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


def set_approval_policy(seal: Seal, *, required: bool, approvers: Iterable[uuid.UUID],
                        by: uuid.UUID) -> SealApprovalPolicySet:
    """用印审批 on or off. Approval required with nobody to approve is refused (422); whether
    each approver may approve (the enterprise account, or its agents with the management
    permission) the service layer checks against the directory. A revoked seal: 409."""
    if not seal.active:
        raise errors.SealRevoked()
    chosen = list(dict.fromkeys(approvers))
    if required and not chosen:
        raise errors.InvalidApprovers("approval_required needs at least one approver")
    return SealApprovalPolicySet(seal_id=seal.seal_id, enterprise_id=seal.enterprise_id,
                                 approval_required=required, approvers=chosen, set_by=by)
