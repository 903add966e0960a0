"""The person's side: scan a QR code, then stamp with the chosen seals (电子印章使用).

A request has one or more seal placements (issue 15; the single ``page/x/y`` form is one);
each gets its own signature by the seal the person chose for it, and each is one stamp: one
``StampApplied``, one usage record. One stamp call, in order:
1. **Claim** the request (row lock; pending, unexpired, scanned by this person, not being
   stamped) and note the claim. A second concurrent attempt gets 409 ``already_stamped``.
   Any later failure releases the claim, so a wrong password can be retried.
2. **Plan and pre-check**: every seal placement with its seal (422 ``invalid_choice`` if the
   choices do not fit, or a seal is not of the type the placement names), and with seals
   that every chosen seal is among the person's choices now (no password attempt is spent on
   a seal that cannot be used; a batch asks seals these questions once for all its documents,
   and each document's pre-check runs on those answers). A request with only personal
   ``signature`` placements uses no seal: no authorization, its one signature is the
   person's, ended by ``RequestSigned``.
3. The **person's signature**, once for the whole request, over the canonical request
   description (listing every (placement, seal) pair when there are several), made by certs
   with the certificate password (403 ``wrong_certificate_password`` / 423
   ``certificate_locked`` pass through). It runs while the first signature is prepared
   (chain and revocation checks, size estimate): the KDF that unlocks the person's key costs
   as much as that preparation.
4. The **seal signatures**, one per seal placement in index order, each over the previous
   output, each asked for only once the person's signature is there: PAdES B-LT in its own
   incremental revision for a PDF (every spot of the placement a widget of its signature
   field, a 骑缝章's strips at the right edge of its pages), GB/T 38540 for an OFD (a
   StampAnnot per spot), a detached CMS for a digest; each raw signature comes from seals,
   which decides under row locks and has certs sign. Revocation is instant because nothing
   but that call can produce a seal signature.
5. **Re-check** after the signature timestamps: a seal revoked, or a grant withdrawn, before
   its signature's timestamp fails the stamp (closes the gap between seals' answer and the TSA).
   Always asked of seals for this stamp, never from a batch's answers.
6. **Commit** in one transaction: a ``StampApplied`` + ``UsageRecorded`` per seal placement
   appended (version 2 on of the stream: the event store lets exactly one writer have it),
   result stored, claim cleared, token used up, upload dropped, callback queued.

Why one signature per placement rather than one over all: each seal is a different key (and
the 法定代表人名章 another seal than the 合同专用章), a PAdES signature has exactly one signer,
and a usage record is one seal's use; a placement's several spots are one seal's one use, so
they share its signature.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import uuid
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

from shared.auth import Principal
from shared.db import Conn
from shared.errors import EsealError
from shared.logging import get_logger

from ..adapters import repository
from ..adapters.repository import STREAM_TYPE, Client, RequestRow
from ..domain import qr, seal_use
from ..domain import stamp_request as stamp_requests
from ..domain.authorization import StampAuthorization, rfc3339
from ..domain.errors import (
    AlreadyStamped,
    CertificateRequired,
    InvalidChoice,
    QrInvalid,
    ScanRequired,
    SignatureRequired,
    StampRequestNotFound,
)
from ..domain.placements import Spot
from . import approvals, callbacks, stamp_plan
from .context import Stamping
from .ports import PersonSignature, SealInfo
from .signing import Made, Signed, sign_own, sign_seals
from .stamp_plan import (
    Claim,
    OwnSignature,
    SealLookup,
    StampCommand,
    Timings,
    Use,
    enterprise_of,
    plan,
)

log = get_logger(__name__)


@dataclass(frozen=True)
class StampOutcome:
    record_id: uuid.UUID  # the first seal placement's
    stamped_at: datetime
    timings: Timings
    record_ids: tuple[uuid.UUID, ...] = ()  # one per seal placement, in placement order
    # 用印审批: the request waits for an approver (202); no record yet
    approval_id: uuid.UUID | None = None
    approval_expires_at: datetime | None = None


# scan -------------------------------------------------------------------------------


async def scan(ctx: Stamping, person: Principal, qr_payload: str) -> dict[str, Any]:
    from .requests import placements_view  # the request side's view (issue 15)

    payload = qr.parse(qr_payload)
    now = ctx.clock()
    async with ctx.pool.acquire() as conn:
        row = await repository.get_request(conn, payload.request_id)
        if row is None or not qr.token_matches(payload.token, row.token_hash):
            raise QrInvalid()
        state = await repository.load_request(conn, ctx.store, row.request_id)
        stamp_requests.check_stampable(state, now)
        async with conn.transaction():
            await repository.record_scan(conn, ctx.store, row.request_id, person.id, now)
        client = await repository.get_client(conn, row.client_id)
    choices = await ctx.seals.choices(person.id)
    document: dict[str, Any] = {"sha256": row.document_sha256}
    if row.kind in ("pdf", "ofd"):
        document.update(pages=row.pages, size=row.document_size)
    return {
        "request_id": str(row.request_id), "title": row.title, "kind": row.kind,
        "requester": {"name": client.name if client else ""}, "document": document,
        "expires_at": rfc3339(row.expires_at),
        "choices": [{"enterprise_id": str(e.enterprise_id), "enterprise_name": e.enterprise_name,
                     "seals": [{"seal_id": str(s.seal_id), "name": s.name, "type": s.type}
                               for s in e.seals]}
                    for e in choices],
        # issue 15: where each stamp goes, and per seal placement the seals usable there
        "placements": await _with_signature_state(ctx, person.id, placements_view(row, choices)),
    }


async def _with_signature_state(ctx: Stamping, person_id: uuid.UUID,
                                items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A ``signature`` placement says whether the person still has to create their signature
    (``signature_missing``: the stamp call would answer 409 ``signature_required``)."""
    if any(i["kind"] == "signature" for i in items):
        missing = await ctx.seals.person_signature(person_id) is None
        for i in items:
            if i["kind"] == "signature":
                i["signature_missing"] = missing
    return items


# stamp ------------------------------------------------------------------------------


async def stamp(ctx: Stamping, person: Principal, request_id: uuid.UUID, cmd: StampCommand, *,
                prechecked: SealLookup | None = None) -> StampOutcome:
    """``prechecked``: what seals answered for the pre-check, asked once for a whole batch
    (every check still runs on it; a seal it lacks is asked for). The re-check after the
    timestamp asks seals again whatever it holds."""
    timings = Timings()
    # seals' answer for the seals the call names is asked while the request is claimed (the
    # pre-check runs on it once the claim says which placements use which seal)
    asked = _ask_seals(ctx, person.id, cmd) if prechecked is None else None
    try:
        with timings.phase("claim"):
            claim = await _claim(ctx, person.id, request_id)
    except BaseException:
        await _settle_quietly(asked)
        raise
    try:
        uses = plan(claim.row, cmd)
        signature_spots = stamp_plan.signature_spots(claim.row)
        with timings.phase("authorize"):
            if asked is not None:
                prechecked = await _answered(asked)
            seals = await _precheck(ctx, person.id, cmd, uses, prechecked) if uses else {}
            own = await _own_signature(ctx, person.id) if signature_spots else None
        now = ctx.clock()
        # Only personal signatures (no seal used): nothing to authorise; the person's own
        # PAdES signature of the document is the act itself.
        authorization = StampAuthorization(
            request_id, claim.row.document_sha256, uses[0].seal_id, enterprise_of(cmd), person.id,
            now, placements=tuple((u.index, u.seal_id) for u in uses)) if uses else None
        if authorization is not None and any(s.approval_required for s in seals.values()):
            return await _await_approval(ctx, claim, person, cmd, seals, own, signature_spots, now,
                                         authorization, timings)
        # The person's signature (certs, a memory-hard KDF) runs while the PDF is prepared;
        # the seal signature is only asked for once it is there. One for the whole request:
        # with signature placements, it waits for their revision's digest and signs both in
        # one certs call (one password check, one KDF).
        revision: asyncio.Future[bytes] | None = (
            asyncio.get_running_loop().create_future() if own is not None else None)
        person_sig = asyncio.create_task(_person_signature(ctx, person.id, authorization,
                                                           cmd.certificate_password, timings, revision,
                                                           sm2=claim.row.kind == "ofd"))
        try:
            with timings.phase("sign"):
                document = claim.document
                if own is not None and revision is not None:
                    document = await sign_own(ctx, claim, person, own, signature_spots, now,
                                              revision, person_sig)
                if authorization is None:  # only personal signatures: their revision is all
                    assert document is not None
                    signed = Signed(document, "application/ofd" if claim.row.kind == "ofd"
                                    else "application/pdf", [])
                else:
                    signed = await sign_seals(ctx, claim, document, person, cmd, uses, seals, now,
                                              authorization, person_sig, timings)
        except BaseException as e:
            if revision is not None and not revision.done():
                person_sig.cancel()  # its digest never came: no password was tried
            person_error = await _settle(person_sig)
            if person_error is not None and not isinstance(e, asyncio.CancelledError):
                raise person_error from None  # a wrong password says more than what it stopped
            raise
        with timings.phase("commit"):
            own_indexes = stamp_plan.own_indexes(claim.row) if own is not None else []
            if authorization is None:
                signature_id = await _commit_signature(ctx, claim, person, signed, now,
                                                       person_sig.result(), own_indexes)
            else:
                record_ids = await _commit_rechecked(ctx, claim, person, cmd, signed, now, authorization,
                                                     person_sig.result(), own_indexes, timings)
    except BaseException:
        await _settle_quietly(asked)
        await asyncio.shield(_release(ctx, claim))
        raise
    ctx.callbacks_due.set()
    if authorization is None:  # no usage record: the request's record is the signature record
        return StampOutcome(signature_id, now, timings, ())
    return StampOutcome(record_ids[0], now, timings, tuple(record_ids))


async def _await_approval(ctx: Stamping, claim: Claim, person: Principal, cmd: StampCommand,
                          seals: dict[uuid.UUID, SealInfo], own: OwnSignature | None,
                          signature_spots: Sequence[Spot], now: datetime,
                          authorization: StampAuthorization, timings: Timings) -> StampOutcome:
    """用印审批: a chosen seal requires approval. The person's part is signed now (the password
    tried, the authorization signed, the personal signature's revision made); the seals are
    applied on approval (``apply_approved``)."""
    revision: asyncio.Future[bytes] | None = (
        asyncio.get_running_loop().create_future() if own is not None else None)
    person_sig = asyncio.create_task(_person_signature(ctx, person.id, authorization,
                                                       cmd.certificate_password, timings, revision,
                                                       sm2=claim.row.kind == "ofd"))
    document = claim.document
    try:
        with timings.phase("sign"):
            if own is not None and revision is not None:
                document = await sign_own(ctx, claim, person, own, signature_spots, now,
                                          revision, person_sig)
            sig = await asyncio.shield(person_sig)
    except BaseException as e:
        if revision is not None and not revision.done():
            person_sig.cancel()
        person_error = await _settle(person_sig)
        if person_error is not None and not isinstance(e, asyncio.CancelledError):
            raise person_error from None
        raise
    with timings.phase("commit"):
        approval_id, expires_at = await approvals.wait_for_approval(
            ctx, request=claim.row, claim_id=claim.claim_id, person=person,
            enterprise_id=enterprise_of(cmd), seal_id=cmd.seal_id, choices=cmd.choices, seals=seals,
            authorized_at=now, document=document, person_sig=sig,
            own_indexes=stamp_plan.own_indexes(claim.row) if own is not None else [])
    return StampOutcome(uuid.UUID(int=0), now, timings, (), approval_id, expires_at)


async def apply_approved(ctx: Stamping, approved: Stamping, *, row: repository.ApprovalRow,
                         request: RequestRow, document: bytes | None, approver: Principal,
                         authorization: StampAuthorization, person_sig: PersonSignature) -> list[uuid.UUID]:
    """用印审批: the seals of an approved request applied as in a stamp (``approved``: the
    context whose seal authority names the approver to seals), then committed with
    ``ApprovalGranted``."""
    timings = Timings()
    person = Principal(id=row.person_id, role="person", name=row.person_name)
    cmd = approvals._command(row)
    uses = plan(request, cmd)
    now_standing = await look_up(ctx, row.person_id, [u.seal_id for u in uses])
    seals: dict[uuid.UUID, SealInfo] = {}
    for seal_id, seal in now_standing.seals.items():
        seal_use.check_before_signing(now_standing.choices, seal, row.enterprise_id, seal_id)
        assert seal is not None
        seals[seal_id] = seal
    claim = Claim(row.claim_id, request, document, request.client_id)

    async def stored() -> PersonSignature:
        return person_sig

    done = asyncio.create_task(stored())
    now = ctx.clock()
    signed = await sign_seals(approved, claim, document, person, cmd, uses, seals, now, authorization,
                              done, timings)
    await _recheck(ctx, person.id, cmd, signed.made)
    return await _commit(ctx, claim, person, signed, now, authorization, person_sig,
                         list(row.own_indexes), approved_by=approver, approval_id=row.approval_id)


async def _own_signature(ctx: Stamping, person_id: uuid.UUID) -> OwnSignature:
    """409 ``signature_required`` without a 个人签名 (404 ``certificate_not_activated``
    without a certificate), before any password try."""
    image, pem = await asyncio.gather(ctx.seals.person_signature(person_id),
                                      ctx.signer.certificate(person_id))
    if image is None:
        raise SignatureRequired("the request asks for your personal signature: create it first")
    if pem is None:
        raise CertificateRequired("your certificate signs your signature: activate it first")
    return OwnSignature(image, pem)


async def _person_signature(ctx: Stamping, person_id: uuid.UUID,
                            authorization: StampAuthorization | None, password: str,
                            timings: Timings,
                            revision: asyncio.Future[bytes] | None = None, *,
                            sm2: bool = False) -> PersonSignature:
    """The person's signature over the authorization and, with signature placements, over
    their revision's digest (``revision``, once prepared): one certs call, one password.
    Without an authorization (only signature placements, no seal) the revision's digest alone;
    ``more[0]`` is then that same signature, as it is the revision's in the other case.
    ``sm2`` (an OFD): the revision's digest is e = SM3(Z‖TBS_Sign), signed by the SM2 twin
    (``PersonSignature.sm2``; checked against TBS_Sign where it is written)."""
    more = [await revision] if revision is not None else []
    if sm2 and more:
        with timings.phase("person_signature"):
            if authorization is None:
                return await ctx.signer.sign_sm2(person_id, more[0], password)
            sig = await ctx.signer.sign(person_id, authorization.digest(), password,
                                        sm2_digest=more[0])
        _check_person_signature(sig.certificate_pem, sig.signature, authorization.digest())
        return sig
    if authorization is None:
        assert len(more) == 1
        with timings.phase("person_signature"):
            sig = await ctx.signer.sign(person_id, more[0], password)
        _check_person_signature(sig.certificate_pem, sig.signature, more[0])
        return dataclasses.replace(sig, more=(sig.signature,))
    with timings.phase("person_signature"):
        sig = await ctx.signer.sign(person_id, authorization.digest(), password, more_digests=more)
    _check_person_signature(sig.certificate_pem, sig.signature, authorization.digest())
    for digest, value in zip(more, sig.more, strict=True):
        _check_person_signature(sig.certificate_pem, value, digest)
    return sig


async def _settle(task: asyncio.Task[PersonSignature]) -> BaseException | None:
    """Let the person's signature finish (a password try is counted either way)."""
    try:
        await asyncio.shield(task)
    except asyncio.CancelledError:
        if not task.done():
            raise
    except BaseException as e:  # noqa: BLE001 - returned to the caller, which decides
        return e
    return None


async def _claim(ctx: Stamping, person_id: uuid.UUID, request_id: uuid.UUID) -> Claim:
    now = ctx.clock()
    async with ctx.pool.acquire() as conn, conn.transaction():
        found = await repository.request_to_claim(conn, request_id, person_id)
        if found is None:
            raise StampRequestNotFound()
        row, scanned, document = found
        if not scanned:
            raise ScanRequired()
        state = await repository.load_request(conn, ctx.store, request_id)
        stamp_requests.check_stampable(state, now)
        if row.claim_id is not None and row.claimed_until is not None and row.claimed_until > now:
            raise AlreadyStamped("the request is being stamped", stamp_in_progress=True)
        claim_id = uuid.uuid4()
        until = now + timedelta(seconds=ctx.settings.stamping_claim_ttl_seconds)
        await repository.set_claim(conn, request_id, claim_id, person_id, until)
    return Claim(claim_id, row, document, row.client_id)


async def _release(ctx: Stamping, claim: Claim) -> None:
    try:
        async with ctx.pool.acquire() as conn:
            await repository.release_claim(conn, claim.row.request_id, claim.claim_id)
    except Exception as e:  # noqa: BLE001 - the claim then lapses on its own (claimed_until)
        log.warning("claim_release_failed", request_id=str(claim.row.request_id), error=repr(e)[:200])


async def look_up(ctx: Stamping, person_id: uuid.UUID, seal_ids: Sequence[uuid.UUID]) -> SealLookup:
    """The person's choices and the seals' details, from seals now (one round trip)."""
    choices, found = await ctx.seals.lookup(person_id, seal_ids)
    return SealLookup(choices, found)


def _ask_seals(ctx: Stamping, person_id: uuid.UUID,
               cmd: StampCommand) -> asyncio.Task[SealLookup | None] | None:
    """seals' answer (choices and details) for the seals the stamp call names, started now."""
    seal_ids = list(dict.fromkeys([*([cmd.seal_id] if cmd.seal_id else []),
                                   *(c.seal_id for c in cmd.choices)]))
    if not seal_ids:
        return None

    async def ask() -> SealLookup | None:
        return await look_up(ctx, person_id, seal_ids)
    return asyncio.create_task(ask())


async def _answered(asked: asyncio.Task[SealLookup | None] | None) -> SealLookup | None:
    return await asked if asked is not None else None


async def _settle_quietly(asked: asyncio.Task[SealLookup | None] | None) -> None:
    """The stamp failed: the early question's answer (or error) is not wanted any more."""
    if asked is not None:
        asked.cancel()
        await asyncio.gather(asked, return_exceptions=True)


async def _precheck(ctx: Stamping, person_id: uuid.UUID, cmd: StampCommand,
                    uses: Sequence[Use], prechecked: SealLookup | None = None,
                    ) -> dict[uuid.UUID, SealInfo]:
    """Every chosen seal is among the person's choices for the enterprise now, and of the type
    its placement asks for; their details, by seal id. ``prechecked``: seals' answers already
    asked for (a batch's), used when they cover every chosen seal."""
    seal_ids = list(dict.fromkeys(u.seal_id for u in uses))
    lookup = prechecked
    if lookup is None or any(i not in lookup.seals for i in seal_ids):
        lookup = await look_up(ctx, person_id, seal_ids)
    seals: dict[uuid.UUID, SealInfo] = {}
    for seal_id in seal_ids:
        seal = lookup.seals[seal_id]
        seal_use.check_before_signing(lookup.choices, seal, enterprise_of(cmd), seal_id)
        assert seal is not None
        seals[seal_id] = seal
    for u in uses:
        wanted = u.placement.seal_type if u.placement is not None else None
        if wanted is not None and seals[u.seal_id].type != wanted:
            raise InvalidChoice.field("choices", f"placement {u.index} takes a {wanted} seal")
    return seals


def _check_person_signature(certificate_pem: str, signature: bytes, digest: bytes) -> None:
    """Defensive: never bind a person signature that does not verify into a document."""
    if not certificate_pem:
        return
    key = x509.load_pem_x509_certificate(certificate_pem.encode()).public_key()
    try:
        if isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, digest, ec.ECDSA(Prehashed(hashes.SHA256())))
    except InvalidSignature:
        raise EsealError("the person's signature does not verify", code="signing_failed") from None


async def _commit_rechecked(ctx: Stamping, claim: Claim, person: Principal, cmd: StampCommand,
                            signed: Signed, now: datetime, authorization: StampAuthorization,
                            person_sig: PersonSignature, own_indexes: list[int],
                            timings: Timings) -> list[uuid.UUID]:
    """``_commit`` with the re-check (seals) running beside its writes, which commit only
    once it passed: the round trip no longer adds to the stamp's time."""

    async def recheck() -> None:
        with timings.phase("recheck"):
            await _recheck(ctx, person.id, cmd, signed.made)

    checked = asyncio.create_task(recheck())
    try:
        return await _commit(ctx, claim, person, signed, now, authorization, person_sig, own_indexes,
                             checked=checked)
    finally:
        checked.cancel()  # nothing once it is done
        await asyncio.gather(checked, return_exceptions=True)  # its error is _commit's, never lost


async def _recheck(ctx: Stamping, person_id: uuid.UUID, cmd: StampCommand,
                   made: Sequence[Made]) -> None:
    """After the timestamps: was a seal revoked, or a grant withdrawn, before its signature's?"""
    now = await look_up(ctx, person_id, [m.seal.seal_id for m in made])
    for m in made:
        seal_use.check_after_timestamp(now.choices, now.seals[m.seal.seal_id], enterprise_of(cmd),
                                       m.seal.seal_id, m.signed_at)


async def _commit(ctx: Stamping, claim: Claim, person: Principal, signed: Signed,
                  now: datetime, authorization: StampAuthorization,
                  person_sig: PersonSignature, own_indexes: list[int], *,
                  approved_by: Principal | None = None,
                  approval_id: uuid.UUID | None = None,
                  checked: Awaitable[None] | None = None) -> list[uuid.UUID]:
    """One transaction: a StampApplied + UsageRecorded per seal placement (each its own
    record), the person's signature record for the signature placements (``own_indexes``;
    no seal use, so no usage record), the result (under the first record's id), the callback.
    用印审批 (``approved_by``): ``ApprovalGranted`` first, in the same append. ``checked``:
    the re-check, running meanwhile; nothing commits unless it passes."""
    row = claim.row
    record_ids = [uuid.uuid4() for _ in signed.made]
    result_sha = hashlib.sha256(signed.content).hexdigest()
    async with ctx.db.transaction() as uow:
        conn = uow.conn
        state, client = await _still_claimed(ctx, conn, claim)
        facts = [_facts(record_id, now, person, made, row, str(claim.client_id),
                        client.name if client else "", authorization, person_sig, result_sha)
                 for record_id, made in zip(record_ids, signed.made, strict=True)]
        if approved_by is not None and approval_id is not None:
            events = stamp_requests.approve_and_stamp(
                state, enterprise_id=facts[0].enterprise_id, person_id=person.id,
                approved_by=approved_by.id, at=now, facts=facts)
            await uow.append(row.request_id, STREAM_TYPE, state.version, events,
                             metadata={"actor": str(approved_by.id), "actor_role": approved_by.role})
            await repository.mark_approval_granted(conn, approval_id, approved_by.id, now)
        else:
            events = stamp_requests.apply_stamp(state, facts)
            await uow.append(row.request_id, STREAM_TYPE, state.version, events,
                             metadata={"actor": str(person.id), "actor_role": "person"})
        if own_indexes:
            await repository.insert_signature_record(
                conn, record_id=uuid.uuid4(), request_id=row.request_id, person_id=person.id,
                user_name=person.name, placement_indexes=own_indexes,
                certificate_serial=person_sig.own()[1],
                signature_sha256=hashlib.sha256(person_sig.own()[0]).hexdigest(),
                requester=client.name if client else "", signed_at=now)
        await _finish(conn, row, record_ids[0], signed, result_sha, now)
        if checked is not None:
            await checked  # raises (409 seal_revoked …): the transaction rolls back
    return record_ids


async def _commit_signature(ctx: Stamping, claim: Claim, person: Principal, signed: Signed,
                            now: datetime, person_sig: PersonSignature,
                            own_indexes: list[int]) -> uuid.UUID:
    """A request with only personal signature placements, in one transaction: its
    ``RequestSigned`` (no seal used: no ``StampApplied``, no usage record), the signature
    record (whose id is the request's ``record_id``), the result, the callback."""
    row = claim.row
    record_id = uuid.uuid4()
    result_sha = hashlib.sha256(signed.content).hexdigest()
    own_value, own_serial = person_sig.own()
    signature_sha = hashlib.sha256(own_value).hexdigest()
    async with ctx.db.transaction() as uow:
        conn = uow.conn
        state, client = await _still_claimed(ctx, conn, claim)
        events = stamp_requests.apply_signature(
            state, record_id=record_id, person_id=person.id, signed_at=now,
            placement_indexes=own_indexes, certificate_serial=own_serial,
            signature_sha256=signature_sha, result_sha256=result_sha)
        await uow.append(row.request_id, STREAM_TYPE, state.version, events,
                         metadata={"actor": str(person.id), "actor_role": "person"})
        await repository.insert_signature_record(
            conn, record_id=record_id, request_id=row.request_id, person_id=person.id,
            user_name=person.name, placement_indexes=own_indexes,
            certificate_serial=own_serial, signature_sha256=signature_sha,
            requester=client.name if client else "", signed_at=now)
        await _finish(conn, row, record_id, signed, result_sha, now)
    return record_id


async def _still_claimed(ctx: Stamping, conn: Conn,
                         claim: Claim) -> tuple[stamp_requests.StampRequest, Client | None]:
    """Inside the commit's transaction: the request, locked, still under this claim (else
    409 ``already_stamped``), its state and the client that sent it."""
    found = await repository.request_to_commit(conn, claim.row.request_id)
    if found is None or found[0].claim_id != claim.claim_id:
        raise AlreadyStamped("the claim on this request was lost")
    state = await repository.load_request(conn, ctx.store, claim.row.request_id)
    return state, found[1]


async def _finish(conn: Conn, row: RequestRow, record_id: uuid.UUID, signed: Signed,
                  result_sha: str, now: datetime) -> None:
    """The end of a commit: the result under ``record_id``, the request finished, the
    client's callback queued."""
    await repository.store_result_and_finish(conn, row.request_id, record_id, signed.content_type,
                                             signed.content, result_sha)
    if row.callback_url:
        await callbacks.queue(conn, row, "stamp_request.stamped", {
            "status": "stamped", "record_id": str(record_id), "stamped_at": rfc3339(now),
            "result_url": f"/api/v1/stamp-requests/{row.request_id}/result",
            "result_sha256": result_sha, "content_type": signed.content_type})


def _facts(record_id: uuid.UUID, now: datetime, person: Principal, made: Made,
           row: RequestRow, client_id: str, requester: str, authorization: StampAuthorization,
           person_sig: PersonSignature, result_sha: str) -> stamp_requests.StampFacts:
    """The usage record's facts: the seal as seals signed it (its names at that moment)."""
    signed, seal = made.seal_signature.seal, made.seal
    return stamp_requests.StampFacts(
        record_id=record_id, stamped_at=now, person_id=person.id, person_name=person.name,
        enterprise_id=signed.enterprise_id,
        enterprise_name=signed.enterprise_name or seal.enterprise_name,
        seal_id=seal.seal_id, seal_name=signed.name or seal.name, seal_type=signed.type or seal.type,
        kind=row.kind, client_id=client_id, requester=requester,
        authorization=authorization.canonical(), person_signature=person_sig.signature,
        person_signature_algorithm=person_sig.algorithm,
        person_certificate_serial=person_sig.serial_number,
        seal_certificate_serial=made.seal_signature.serial_number, result_sha256=result_sha,
        seal_signature_sha256=hashlib.sha256(made.seal_signature.signature).hexdigest(),
        format=made.format, algorithm=made.algorithm, placement_index=made.index)
