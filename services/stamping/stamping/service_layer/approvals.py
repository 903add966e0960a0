"""用印审批 (approval before use): a stamp with a seal that requires approval waits for an
approver (docs/STAMPING.md, "Approval before use").

At the stamp call the person's part is done as for any stamp — the claim, the choices, the
certificate password (the person's signature over the authorization, and the personal
signature's revision when the request has ``signature`` placements) — and the request then
waits (``ApprovalRequested``, 202 ``awaiting_approval``). What is kept is the person's
signature VALUE and the document with the person's revision: no key, no password. On approval
the seals are applied exactly as in a stamp (``signing.sign_seals``: seals decides under its row
locks and has certs sign with the custodial seal key), with the approver named to seals, which
signs a seal that requires approval only for one of its approvers (the enforcement is in seals,
the owner of the seal). ``ApprovalGranted`` is appended with the request's ``StampApplied``
events, never alone. A rejection, the approval's expiry (``ESEAL_APPROVAL_TTL_SECONDS``,
default 24 h) or a revocation of the seal or the grant ends the request (``ApprovalRejected``
with its ``cause``) and tells the relying system (callback ``stamp_request.rejected``).
"""

from __future__ import annotations

import asyncio
import base64
import uuid
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, Literal

from shared.auth import Principal
from shared.db import Conn
from shared.errors import EsealError
from shared.logging import get_logger

from ..adapters import repository
from ..adapters.repository import STREAM_TYPE, ApprovalRow, RequestRow
from ..domain import stamp_request as stamp_requests
from ..domain.authorization import StampAuthorization, rfc3339
from ..domain.errors import ApprovalNotFound, ApprovalNotPending, NotAnApprover, StampRequestNotFound
from ..domain.placements import Choice
from . import callbacks
from .context import Stamping
from .ports import PersonSignature, SealAuthority, SealInfo, SealSignature
from .stamp_plan import StampCommand, plan

log = get_logger(__name__)

Cause = Literal["rejected", "expired", "seal_revoked", "grant_revoked"]
BATCH = 50


# the stamp call: the person's part done, the request waits ---------------------------------


async def wait_for_approval(ctx: Stamping, *, request: RequestRow, claim_id: uuid.UUID,
                            person: Principal, enterprise_id: uuid.UUID, seal_id: uuid.UUID | None,
                            choices: Sequence[Choice], seals: dict[uuid.UUID, SealInfo],
                            authorized_at: datetime, document: bytes | None,
                            person_sig: PersonSignature,
                            own_indexes: Sequence[int]) -> tuple[uuid.UUID, datetime]:
    """``ApprovalRequested`` and the waiting state, in one transaction (the claim is kept until
    the approval ends, so nobody else can stamp the request meanwhile)."""
    approval_id = uuid.uuid4()
    now = ctx.clock()
    expires_at = now + timedelta(seconds=ctx.settings.approval_ttl_seconds)
    seal_ids = list(seals)
    approvers = list(dict.fromkeys(a for s in seals.values() if s.approval_required for a in s.approvers))
    signature = {"signature_b64": _b64(person_sig.signature), "algorithm": person_sig.algorithm,
                 "serial_number": person_sig.serial_number,
                 "certificate_pem": person_sig.certificate_pem,
                 "more_b64": [_b64(m) for m in person_sig.more],
                 # an OFD's personal signature: the SM2 twin's (the signature record's, on approval)
                 "sm2_b64": _b64(person_sig.sm2), "sm2_serial_number": person_sig.sm2_serial_number,
                 "sm2_certificate_pem": person_sig.sm2_certificate_pem}
    async with ctx.db.transaction() as uow:
        conn = uow.conn
        current = await repository.get_request(conn, request.request_id, for_update=True)
        if current is None or current.claim_id != claim_id:
            raise ApprovalNotPending("the claim on this request was lost")
        state = await repository.load_request(conn, ctx.store, request.request_id)
        client = await repository.get_client(conn, request.client_id)
        events = stamp_requests.request_approval(
            state, approval_id=approval_id, enterprise_id=enterprise_id, person_id=person.id,
            person_name=person.name, seal_ids=seal_ids, approvers=approvers,
            requester=client.name if client else "", expires_at=expires_at)
        await uow.append(request.request_id, STREAM_TYPE, state.version, events,
                         metadata={"actor": str(person.id), "actor_role": "person"})
        await repository.insert_approval(
            conn, approval_id=approval_id, request_id=request.request_id,
            enterprise_id=enterprise_id, person_id=person.id, person_name=person.name,
            seal_ids=seal_ids, approvers=approvers, requested_at=now, expires_at=expires_at,
            claim_id=claim_id, seal_id=seal_id,
            choices=[{"placement": c.placement, "seal_id": str(c.seal_id)} for c in choices],
            authorized_at=authorized_at, person_signature=signature,
            own_indexes=list(own_indexes), document=document)
        # the claim lasts as long as the approval may (the request's own expiry does not apply)
        await repository.set_claim(conn, request.request_id, claim_id, person.id, expires_at)
    log.info("approval_requested", approval_id=str(approval_id), request_id=str(request.request_id))
    return approval_id, expires_at


def _b64(value: bytes) -> str:
    return base64.b64encode(value).decode()


# the approver's side ---------------------------------------------------------------------------


async def list_pending(ctx: Stamping, approver: Principal) -> list[dict[str, Any]]:
    """The waiting approvals the caller may decide: seals (the owner of the policy) says which
    seals the caller approves now."""
    seal_ids = await ctx.seals.approvable_seals(approver.id)
    if not seal_ids:
        return []
    async with ctx.pool.acquire() as conn:
        rows = await repository.pending_approvals(conn, seal_ids)
        # a request with several seals that require approval is listed to an approver of any;
        # approving it needs approving all of them (seals checks each)
        return [await _view(ctx, conn, r) for r in rows]


async def get(ctx: Stamping, principal: Principal, approval_id: uuid.UUID) -> dict[str, Any]:
    """One approval: for the person who asked, and for its approvers."""
    async with ctx.pool.acquire() as conn:
        row = await repository.get_approval(conn, approval_id)
        if row is None or not await _may_see(ctx, principal, row):
            raise ApprovalNotFound()
        return await _view(ctx, conn, row)


async def _may_see(ctx: Stamping, principal: Principal, row: ApprovalRow) -> bool:
    if principal.role == "person":
        return principal.id == row.person_id
    if principal.role not in ("enterprise", "agent"):
        return False
    if principal.id == row.decided_by:
        return True
    return bool(set(await ctx.seals.approvable_seals(principal.id)) & set(row.seal_ids))


async def document(ctx: Stamping, approver: Principal, approval_id: uuid.UUID) -> tuple[bytes, str]:
    """The document to open (with the person's revision, when there is one) for an approver
    of a waiting approval; anyone else: 404."""
    async with ctx.pool.acquire() as conn:
        row = await repository.get_approval(conn, approval_id)
        if row is None or approver.role == "person" or not await _may_see(ctx, approver, row):
            raise ApprovalNotFound()
        content = await repository.approval_document(conn, approval_id)
        request = await repository.get_request(conn, row.request_id)
    if content is None or request is None:
        raise ApprovalNotFound()
    return content, "application/ofd" if request.kind == "ofd" else "application/pdf"


async def _view(ctx: Stamping, conn: Conn, a: ApprovalRow) -> dict[str, Any]:
    from .requests import placements_view  # the request side's view of placements

    request = await repository.get_request(conn, a.request_id)
    if request is None:
        raise StampRequestNotFound()
    client = await repository.get_client(conn, request.client_id)
    seals = [await ctx.seals.seal(i) for i in a.seal_ids]
    has_document = request.kind in ("pdf", "ofd") and a.status == "pending"
    return {
        "approval_id": str(a.approval_id), "status": a.status, "cause": a.cause,
        "reason": a.reason or None, "request_id": str(a.request_id), "title": request.title,
        "kind": request.kind, "requester": {"name": client.name if client else ""},
        "person": {"person_id": str(a.person_id), "name": a.person_name},
        "enterprise_id": str(a.enterprise_id),
        "seals": [{"seal_id": str(s.seal_id), "name": s.name, "type": s.type,
                   "approval_required": s.approval_required} for s in seals if s is not None],
        "placements": [{k: v for k, v in p.items() if k != "seal_choices"}
                       for p in placements_view(request, [])],
        "choices": a.choices,
        "document": {"sha256": request.document_sha256,
                     "url": f"/api/v1/approvals/{a.approval_id}/document" if has_document else None},
        "requested_at": rfc3339(a.requested_at), "expires_at": rfc3339(a.expires_at),
        "decided_at": rfc3339(a.decided_at) if a.decided_at else None,
        "decided_by": str(a.decided_by) if a.decided_by else None,
    }


async def reject(ctx: Stamping, approver: Principal, approval_id: uuid.UUID, reason: str) -> dict[str, Any]:
    """驳回: an approver ends the request (no face check: nothing is signed)."""
    row = await _pending(ctx, approval_id, approver)
    await _check_approver_only(ctx, approver, row)
    if not await end(ctx, approval_id, "rejected", reason=reason, by=approver.id, respect_lease=True):
        raise ApprovalNotPending("the approval is being decided")
    return await get(ctx, approver, approval_id)


async def _check_approver_only(ctx: Stamping, approver: Principal, row: ApprovalRow) -> None:
    """An approver of the request's seals now (seals says), whatever the seal's state."""
    if not set(await ctx.seals.approvable_seals(approver.id)) & set(row.seal_ids):
        raise NotAnApprover()


async def _pending(ctx: Stamping, approval_id: uuid.UUID, principal: Principal) -> ApprovalRow:
    if principal.role not in ("enterprise", "agent"):
        raise ApprovalNotFound()
    async with ctx.pool.acquire() as conn:
        row = await repository.get_approval(conn, approval_id)
    if row is None:
        raise ApprovalNotFound()
    if row.status != "pending":
        raise ApprovalNotPending(f"the approval is {row.status}", approval_status=row.status,
                                 cause=row.cause)
    if row.expires_at <= ctx.clock():
        await end(ctx, approval_id, "expired")
        raise ApprovalNotPending("the approval expired", approval_status="rejected", cause="expired")
    return row


def _cause_of(err: EsealError) -> Cause | None:
    """A refusal from seals that ends the request: the seal revoked, the grant gone."""
    if err.code in ("seal_revoked", "seal_not_found"):
        return "seal_revoked"
    if err.code == "not_authorized":
        return "grant_revoked"
    return None


async def approve(ctx: Stamping, approver: Principal, approval_id: uuid.UUID,
                  face_token: str) -> dict[str, Any]:
    """批准: seals checks the approver (and uses the face check up), the seal and the grant;
    then the seals are applied as in a stamp, the approver named to seals, and
    ``ApprovalGranted`` is committed with the stamp."""
    from .stamping import apply_approved  # the stamp's signing, shared

    row = await _pending(ctx, approval_id, approver)
    try:
        await ctx.seals.approve_check(approver.id, row.person_id, row.enterprise_id, row.seal_ids,
                                      face_token)
    except EsealError as err:
        cause = _cause_of(err)
        if cause is not None:
            await end(ctx, approval_id, cause)
        raise
    await _lease(ctx, approval_id)
    try:
        async with ctx.pool.acquire() as conn:
            request = await repository.get_request(conn, row.request_id)
            content = await repository.approval_document(conn, approval_id)
        if request is None:
            raise StampRequestNotFound()
        await apply_approved(ctx, _approved_context(ctx, approver.id), row=row, request=request,
                             document=content, approver=approver,
                             authorization=_authorization(row, request),
                             person_sig=_signature(row))
    except EsealError as err:
        cause = _cause_of(err)
        if cause is not None:
            await end(ctx, approval_id, cause)
        else:
            await _unlease(ctx, approval_id)
        raise
    except BaseException:
        await asyncio.shield(_unlease(ctx, approval_id))
        raise
    ctx.callbacks_due.set()
    return await get(ctx, approver, approval_id)


def _authorization(row: ApprovalRow, request: RequestRow) -> StampAuthorization:
    """The authorization the person signed at the stamp call, rebuilt from what it named."""
    uses = plan(request, _command(row))
    return StampAuthorization(row.request_id, request.document_sha256, uses[0].seal_id,
                              row.enterprise_id, row.person_id, row.authorized_at,
                              placements=tuple((u.index, u.seal_id) for u in uses))


def _command(row: ApprovalRow) -> StampCommand:
    return StampCommand(row.enterprise_id, row.seal_id, "", tuple(
        Choice(int(c["placement"]), uuid.UUID(str(c["seal_id"]))) for c in row.choices))


def _signature(row: ApprovalRow) -> PersonSignature:
    sig = row.person_signature or {}
    return PersonSignature(
        signature=base64.b64decode(sig.get("signature_b64", "")),
        algorithm=str(sig.get("algorithm") or ""), serial_number=str(sig.get("serial_number") or ""),
        certificate_pem=str(sig.get("certificate_pem") or ""),
        more=tuple(base64.b64decode(m) for m in sig.get("more_b64", [])),
        sm2=base64.b64decode(sig.get("sm2_b64", "")),
        sm2_serial_number=str(sig.get("sm2_serial_number") or ""),
        sm2_certificate_pem=str(sig.get("sm2_certificate_pem") or ""))


async def _lease(ctx: Stamping, approval_id: uuid.UUID) -> None:
    """One decision at a time (a second approve meanwhile: 409 ``approval_not_pending``)."""
    async with ctx.pool.acquire() as conn:
        done = await repository.lease_approval(conn, approval_id,
                                               float(ctx.settings.stamping_claim_ttl_seconds))
    if not done:
        raise ApprovalNotPending("the approval is being decided")


async def _unlease(ctx: Stamping, approval_id: uuid.UUID) -> None:
    try:
        async with ctx.pool.acquire() as conn:
            await repository.unlease_approval(conn, approval_id)
    except Exception as e:  # noqa: BLE001 - the lease lapses on its own
        log.warning("approval_unlease_failed", approval_id=str(approval_id), error=repr(e)[:200])


async def end(ctx: Stamping, approval_id: uuid.UUID, cause: Cause, *, reason: str = "",
              by: uuid.UUID | None = None, respect_lease: bool = False) -> bool:
    """The request ends unstamped: ``ApprovalRejected``, the approval closed, the claim and the
    document dropped, the relying system's callback queued. False if it was no longer waiting
    (or, with ``respect_lease``, while an approval is being applied: the sweeper and a
    rejection leave it to that approval, which ends it itself if it fails)."""
    now = ctx.clock()
    async with ctx.db.transaction() as uow:
        conn = uow.conn
        row = await repository.get_approval(conn, approval_id, for_update=True)
        if row is None or row.status != "pending":
            return False
        if respect_lease and await repository.approval_being_decided(conn, approval_id):
            return False
        request = await repository.get_request(conn, row.request_id, for_update=True)
        state = await repository.load_request(conn, ctx.store, row.request_id)
        events = stamp_requests.reject(state, enterprise_id=row.enterprise_id, person_id=row.person_id,
                                       cause=cause, at=now, reason=reason, by=by)
        if events:
            await uow.append(row.request_id, STREAM_TYPE, state.version, events, metadata={
                "actor": str(by) if by else "stamping", "actor_role": "approver" if by else "system"})
        await repository.mark_approval_rejected(conn, approval_id, cause, reason, now, by)
        await repository.finish_request(conn, row.request_id)
        if request is not None and request.callback_url:
            await callbacks.queue(conn, request, "stamp_request.rejected", {
                "status": "rejected", "cause": cause, "reason": reason,
                "approval_id": str(approval_id), "rejected_at": rfc3339(now)})
    log.info("approval_ended", approval_id=str(approval_id), cause=cause)
    ctx.callbacks_due.set()
    return True


# the sweeper: expiry, and revocations that cancel ------------------------------------------


async def sweep(ctx: Stamping) -> int:
    """End the approvals that expired, and those whose seal was revoked or whose grant was
    withdrawn meanwhile (asked of seals, which owns both); returns how many ended."""
    async with ctx.pool.acquire() as conn:
        rows = await repository.undecided_approvals(conn, BATCH)
    ended = 0
    now = ctx.clock()
    for row in rows:
        cause: Cause | None = "expired" if row.expires_at <= now else await _revoked(ctx, row)
        if cause is not None and await end(ctx, row.approval_id, cause, respect_lease=True):
            ended += 1
    return ended


async def _revoked(ctx: Stamping, row: ApprovalRow) -> Cause | None:
    choices, seals = await ctx.seals.lookup(row.person_id, row.seal_ids)
    if any(s is None or s.status != "active" for s in seals.values()):
        return "seal_revoked"
    usable = {s.seal_id for e in choices if e.enterprise_id == row.enterprise_id for s in e.seals}
    if not set(row.seal_ids) <= usable:
        return "grant_revoked"
    return None


# seals as the approver's stamp sees them ---------------------------------------------------


class ApprovedSeals:
    """The seal authority for applying an approved request: every seal signature names the
    approver, so seals signs a seal that requires approval (and checks the approver again,
    under its row locks)."""

    def __init__(self, inner: SealAuthority, approver_id: uuid.UUID) -> None:
        self.inner, self.approver_id = inner, approver_id

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def stamp_signature(self, seal_id: uuid.UUID, person_id: uuid.UUID,
                              enterprise_id: uuid.UUID, digest: bytes, *,
                              algorithm: str = "ecdsa-p256-sha256",
                              approver_id: uuid.UUID | None = None,
                              timestamp: bool = False) -> SealSignature:
        return await self.inner.stamp_signature(seal_id, person_id, enterprise_id, digest,
                                                algorithm=algorithm,
                                                approver_id=approver_id or self.approver_id,
                                                timestamp=timestamp)


def _approved_context(ctx: Stamping, approver_id: uuid.UUID) -> Stamping:
    return replace(ctx, seals=ApprovedSeals(ctx.seals, approver_id))  # type: ignore[arg-type]
