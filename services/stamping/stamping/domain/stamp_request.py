"""The stamp request aggregate: a fold of its events, and the decisions of its commands.

A request's stream (``stamp_request``, id = request id) is ``StampRequested`` followed by at
most one of: the stamp (one ``StampApplied`` + ``UsageRecorded`` per seal placement, appended
together), the person's signature of a request with only ``signature`` placements
(``RequestSigned``: no seal, no usage record) or ``StampRequestExpired``. The event
store's ``(stream_id, version)`` key is what finally makes one request give one stamp: two
writers of version 2 cannot both commit.

The house style (docs/CONVENTIONS.md): the state is frozen and built by ``fold``; a decision
is a function that checks the state and returns the new events, never mutating anything.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal

from shared.catalog import (
    ApprovalGranted,
    ApprovalRejected,
    ApprovalRequested,
    StampApplied,
    StampRequested,
    StampRequestExpired,
)
from shared.events import DomainEvent

from .errors import AlreadyStamped, AwaitingApproval, RequestExpired, StampRejected
from .events import RequestSigned, UsageRecorded

# 用印审批: awaiting_approval (the person's part signed), then stamped (approved: the seals
# applied with ``ApprovalGranted``) or rejected (refused, expired, or a revocation cancelled it)
Status = Literal["pending", "awaiting_approval", "approved", "stamped", "expired", "rejected"]


@dataclass(frozen=True)
class StampRequest:
    request_id: uuid.UUID
    client_id: str = ""
    title: str = ""
    document_sha256: str = ""
    expires_at: datetime | None = None
    status: Status = "pending"
    stamped_at: datetime | None = None
    record_id: uuid.UUID | None = None
    approval_id: uuid.UUID | None = None
    version: int = 0

    @property
    def exists(self) -> bool:
        return self.version > 0

    def is_expired(self, now: datetime) -> bool:
        return self.status == "expired" or (
            self.status == "pending" and self.expires_at is not None and now >= self.expires_at)

    def visible_status(self, now: datetime) -> Status:
        """What callers see: a pending request past its time is expired, swept or not."""
        return "expired" if self.is_expired(now) else self.status


def fold(request_id: uuid.UUID, events: Iterable[DomainEvent]) -> StampRequest:
    """The request as its events leave it (``exists`` is False before ``StampRequested``)."""
    state = StampRequest(request_id)
    for ev in events:
        state = _apply(state, ev)
    return state


def _apply(state: StampRequest, ev: DomainEvent) -> StampRequest:
    if isinstance(ev, StampRequested):
        state = replace(state, client_id=ev.client_id, title=ev.title,
                        document_sha256=ev.document_sha256, expires_at=ev.expires_at)
    elif isinstance(ev, StampApplied):
        # several placements: several in one append; the request's record is the first's
        state = replace(state, status="stamped", stamped_at=state.stamped_at or ev.stamped_at,
                        record_id=state.record_id or ev.record_id)
    elif isinstance(ev, RequestSigned):
        state = replace(state, status="stamped", stamped_at=ev.signed_at, record_id=ev.record_id)
    elif isinstance(ev, StampRequestExpired):
        state = replace(state, status="expired")
    elif isinstance(ev, ApprovalRequested):
        state = replace(state, status="awaiting_approval", approval_id=ev.approval_id)
    elif isinstance(ev, ApprovalGranted):
        state = replace(state, status="approved")
    elif isinstance(ev, ApprovalRejected):
        state = replace(state, status="rejected")
    return replace(state, version=state.version + 1)


# decisions -----------------------------------------------------------------------------


def check_stampable(state: StampRequest, now: datetime) -> None:
    """Raise unless a stamp may start now (pending and unexpired)."""
    if state.status == "stamped":
        raise AlreadyStamped()
    if state.status in ("awaiting_approval", "approved"):
        raise AwaitingApproval()
    if state.status == "rejected":
        raise StampRejected()
    if state.is_expired(now):
        raise RequestExpired()


def expire(state: StampRequest) -> list[DomainEvent]:
    """The sweep's decision: a pending request past its time ends (nothing else does)."""
    if state.status != "pending":
        return []
    return [StampRequestExpired(request_id=state.request_id, client_id=state.client_id)]


@dataclass(frozen=True)
class StampFacts:
    """What one finished stamp was, as the usage record keeps it (names as at that time)."""

    record_id: uuid.UUID
    stamped_at: datetime
    person_id: uuid.UUID
    person_name: str
    enterprise_id: uuid.UUID
    enterprise_name: str
    seal_id: uuid.UUID
    seal_name: str
    seal_type: str
    kind: str  # "pdf" | "digest" | "ofd"
    client_id: str
    requester: str
    authorization: str  # the canonical description the person signed
    person_signature: bytes
    person_signature_algorithm: str
    person_certificate_serial: str
    seal_certificate_serial: str
    result_sha256: str
    seal_signature_sha256: str
    format: str = ""  # "pades" | "cms" | "gbt38540"
    algorithm: str = ""  # the seal signature's: "ecdsa-p256-sha256" | "sm2-sm3"
    placement_index: int = 0  # which seal placement of the request (0 for the single form)


def apply_stamp(state: StampRequest, facts: StampFacts | Sequence[StampFacts]) -> list[DomainEvent]:
    """The commit's decision: a still-pending request takes its stamp, one ``StampApplied`` +
    ``UsageRecorded`` per seal placement (in placement order; each its own record).

    Expiry is checked against the status only: a stamp whose claim began before the request's
    time may finish (the claim, not the clock, decided it could start)."""
    if state.status == "stamped":
        raise AlreadyStamped()
    if state.status == "expired":
        raise RequestExpired()
    if state.status == "awaiting_approval":
        raise AwaitingApproval()  # only ``approve_and_stamp`` applies the seals then
    if state.status == "rejected":
        raise StampRejected()
    each = [facts] if isinstance(facts, StampFacts) else sorted(facts, key=lambda f: f.placement_index)
    if not each:
        raise ValueError("a stamp has at least one seal placement")
    if len({f.record_id for f in each}) != len(each) or len({f.placement_index for f in each}) != len(each):
        raise ValueError("each seal placement is its own record")
    return [ev for f in each for ev in _stamp_events(state, f)]


def apply_signature(state: StampRequest, *, record_id: uuid.UUID, person_id: uuid.UUID,
                    signed_at: datetime, placement_indexes: Sequence[int], certificate_serial: str,
                    signature_sha256: str, result_sha256: str) -> list[DomainEvent]:
    """The commit's decision for a request with only personal signature placements: a
    still-pending request ends signed (``RequestSigned``), as ``apply_stamp`` decides."""
    if state.status == "stamped":
        raise AlreadyStamped()
    if state.status == "expired":
        raise RequestExpired()
    if not placement_indexes:
        raise ValueError("a signature has at least one signature placement")
    return [RequestSigned(record_id=record_id, request_id=state.request_id, person_id=person_id,
                          signed_at=signed_at, client_id=state.client_id,
                          placement_indexes=list(placement_indexes),
                          person_certificate_serial=certificate_serial,
                          signature_sha256=signature_sha256, result_sha256=result_sha256)]


def _stamp_events(state: StampRequest, facts: StampFacts) -> list[DomainEvent]:
    return [
        StampApplied(record_id=facts.record_id, request_id=state.request_id, seal_id=facts.seal_id,
                     enterprise_id=facts.enterprise_id, person_id=facts.person_id,
                     document_sha256=state.document_sha256, stamped_at=facts.stamped_at,
                     client_id=facts.client_id, seal_name=facts.seal_name,
                     document_title=state.title, format=facts.format, algorithm=facts.algorithm),
        UsageRecorded(record_id=facts.record_id, request_id=state.request_id, used_at=facts.stamped_at,
                      person_id=facts.person_id, user_name=facts.person_name,
                      enterprise_id=facts.enterprise_id, enterprise_name=facts.enterprise_name,
                      seal_id=facts.seal_id, seal_name=facts.seal_name, seal_type=facts.seal_type,
                      document_title=state.title, document_sha256=state.document_sha256,
                      kind=facts.kind, client_id=facts.client_id, requester=facts.requester,
                      authorization=facts.authorization,
                      person_signature_b64=base64.b64encode(facts.person_signature).decode(),
                      person_signature_algorithm=facts.person_signature_algorithm,
                      person_certificate_serial=facts.person_certificate_serial,
                      seal_certificate_serial=facts.seal_certificate_serial,
                      result_sha256=facts.result_sha256,
                      seal_signature_sha256=facts.seal_signature_sha256,
                      format=facts.format, algorithm=facts.algorithm,
                      placement_index=facts.placement_index),
    ]


# 用印审批 ------------------------------------------------------------------------------


def request_approval(state: StampRequest, *, approval_id: uuid.UUID, enterprise_id: uuid.UUID,
                     person_id: uuid.UUID, person_name: str, seal_ids: Sequence[uuid.UUID],
                     approvers: Sequence[uuid.UUID], requester: str,
                     expires_at: datetime) -> list[DomainEvent]:
    """The stamp's person part is signed and a seal requires approval: the request waits."""
    if state.status != "pending":
        raise AlreadyStamped() if state.status == "stamped" else AwaitingApproval()
    return [ApprovalRequested(
        approval_id=approval_id, request_id=state.request_id, client_id=state.client_id,
        enterprise_id=enterprise_id, person_id=person_id, person_name=person_name,
        seal_ids=list(seal_ids), approvers=list(approvers), document_title=state.title,
        requester=requester, expires_at=expires_at)]


def approve_and_stamp(state: StampRequest, *, enterprise_id: uuid.UUID, person_id: uuid.UUID,
                      approved_by: uuid.UUID, at: datetime,
                      facts: Sequence[StampFacts]) -> list[DomainEvent]:
    """Approved: ``ApprovalGranted`` and the seals applied, in one append (never one without
    the other)."""
    if state.status != "awaiting_approval" or state.approval_id is None:
        raise StampRejected() if state.status == "rejected" else AlreadyStamped()
    granted = ApprovalGranted(approval_id=state.approval_id, request_id=state.request_id,
                              client_id=state.client_id, enterprise_id=enterprise_id,
                              person_id=person_id, approved_by=approved_by, approved_at=at,
                              document_title=state.title)
    return [granted, *apply_stamp(replace(state, status="approved"), facts)]


def reject(state: StampRequest, *, enterprise_id: uuid.UUID, person_id: uuid.UUID,
           cause: Literal["rejected", "expired", "seal_revoked", "grant_revoked"], at: datetime,
           reason: str = "", by: uuid.UUID | None = None) -> list[DomainEvent]:
    """The request ends unstamped (a waiting one only; otherwise nothing happens)."""
    if state.status != "awaiting_approval" or state.approval_id is None:
        return []
    return [ApprovalRejected(approval_id=state.approval_id, request_id=state.request_id,
                             client_id=state.client_id, enterprise_id=enterprise_id,
                             person_id=person_id, cause=cause, reason=reason, rejected_by=by,
                             rejected_at=at, document_title=state.title)]
