"""The person's side: scan a QR code, then stamp with the chosen seals (电子印章使用).

A request has one or more seal placements (issue 15; the single ``page/x/y`` form is one);
each gets its own signature by the seal the person chose for it, and each is one stamp: one
``StampApplied``, one usage record. One stamp call, in order:
1. **Claim** the request (row lock; pending, unexpired, scanned by this person, not being
   stamped) and note the claim. A second concurrent attempt gets 409 ``already_stamped``.
   Any later failure releases the claim, so a wrong password can be retried.
2. **Plan and pre-check**: every seal placement with its seal (422 ``invalid_choice`` if the
   choices do not fit, or a seal is not of the type the placement names; a personal
   ``signature`` placement on an OFD: 422 ``signature_placement_unsupported``), and with seals
   that every chosen seal is among the person's choices now (no password attempt is spent on
   a seal that cannot be used). A request with only personal ``signature`` placements uses no
   seal: no authorization, its one signature is the person's, ended by ``RequestSigned``.
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
import base64
import dataclasses
import hashlib
import io
import time
import uuid
from collections.abc import Awaitable, Callable, Coroutine, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
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
from shared.gm.x509 import load_certificate
from shared.logging import get_logger

from ..adapters import ofd, repository
from ..adapters.ofd import remote_signing as ofd_signing
from ..adapters.pdf import StampMetadata, offline_validation_context, sign_detached_digest, stamp_pdf
from ..adapters.pdf.remote_signing import PersonDigestSigner, RecordingTimeStamper, SealDigestSigner
from ..adapters.pdf.signing import PT_PER_MM, Mark, seal_box_pt
from ..adapters.pdf_processes import PdfStampJob, der
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
    SignaturePlacementUnsupported,
    SignatureRequired,
    StampRequestNotFound,
)
from ..domain.placements import Choice, Placement, Spot, chosen_seals
from ..domain.resolve import SIGNATURE_MM
from . import approvals, callbacks
from .context import Stamping
from .ports import CaBundle, PersonSignature, SealInfo, SealSignature

log = get_logger(__name__)


@dataclass(frozen=True)
class StampCommand:
    # None only for a request with only personal signature placements (no seal is used)
    enterprise_id: uuid.UUID | None
    seal_id: uuid.UUID | None
    certificate_password: str
    # The person's seal for each placement that takes one (issue 15); a placement not named
    # here gets ``seal_id``.
    choices: tuple[Choice, ...] = ()


@dataclass
class Timings:
    """Phases of one stamp in ms (sent as ``Server-Timing``; the benchmark reads it)."""

    phases: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.phases[name] = self.phases.get(name, 0.0) + (time.perf_counter() - started) * 1000

    def header(self) -> str:
        return ", ".join(f"{k};dur={v:.1f}" for k, v in self.phases.items())


@dataclass(frozen=True)
class Claim:
    claim_id: uuid.UUID
    row: RequestRow
    document: bytes | None
    client_id: uuid.UUID


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


async def stamp(ctx: Stamping, person: Principal, request_id: uuid.UUID, cmd: StampCommand) -> StampOutcome:
    timings = Timings()
    with timings.phase("claim"):
        claim = await _claim(ctx, person.id, request_id)
    try:
        uses = _plan(claim.row, cmd)
        signature_spots = _signature_spots(claim.row)
        with timings.phase("authorize"):
            seals = await _precheck(ctx, person.id, cmd, uses) if uses else {}
            own = await _own_signature(ctx, person.id) if signature_spots else None
        now = ctx.clock()
        # Only personal signatures (no seal used): nothing to authorise; the person's own
        # PAdES signature of the document is the act itself.
        authorization = StampAuthorization(
            request_id, claim.row.document_sha256, uses[0].seal_id, _enterprise(cmd), person.id,
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
                                                           cmd.certificate_password, timings, revision))
        try:
            with timings.phase("sign"):
                document = claim.document
                if own is not None and revision is not None:
                    document = await _sign_own(ctx, claim, person, own, signature_spots, now,
                                               revision, person_sig)
                if authorization is None:  # only personal signatures: their revision is all
                    assert document is not None
                    signed = Signed(document, "application/pdf", [])
                else:
                    signed = await _sign(ctx, claim, document, person, cmd, uses, seals, now,
                                         authorization, person_sig, timings)
        except BaseException as e:
            if revision is not None and not revision.done():
                person_sig.cancel()  # its digest never came: no password was tried
            person_error = await _settle(person_sig)
            if person_error is not None and not isinstance(e, asyncio.CancelledError):
                raise person_error from None  # a wrong password says more than what it stopped
            raise
        with timings.phase("recheck"):
            if signed.made:
                await _recheck(ctx, person.id, cmd, signed.made)
        with timings.phase("commit"):
            own_indexes = _own_indexes(claim.row) if own is not None else []
            if authorization is None:
                signature_id = await _commit_signature(ctx, claim, person, signed, now,
                                                       person_sig.result(), own_indexes)
            else:
                record_ids = await _commit(ctx, claim, person, signed, now, authorization,
                                           person_sig.result(), own_indexes)
    except BaseException:
        await asyncio.shield(_release(ctx, claim))
        raise
    ctx.callbacks_due.set()
    if authorization is None:  # no usage record: the request's record is the signature record
        return StampOutcome(signature_id, now, timings, ())
    return StampOutcome(record_ids[0], now, timings, tuple(record_ids))


def _enterprise(cmd: StampCommand) -> uuid.UUID:
    if cmd.enterprise_id is None:
        raise InvalidChoice.field("enterprise_id", "required: the request has seal placements")
    return cmd.enterprise_id


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
                                                       cmd.certificate_password, timings, revision))
    document = claim.document
    try:
        with timings.phase("sign"):
            if own is not None and revision is not None:
                document = await _sign_own(ctx, claim, person, own, signature_spots, now,
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
            enterprise_id=_enterprise(cmd), seal_id=cmd.seal_id, choices=cmd.choices, seals=seals,
            authorized_at=now, document=document, person_sig=sig,
            own_indexes=_own_indexes(claim.row) if own is not None else [])
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
    uses = _plan(request, cmd)
    seal_ids = list(dict.fromkeys(u.seal_id for u in uses))
    found = await _seals(ctx, seal_ids)
    seals: dict[uuid.UUID, SealInfo] = {}
    for seal_id, seal in zip(seal_ids, found, strict=True):
        seal_use.check_before_signing(await ctx.seals.choices(row.person_id), seal,
                                      row.enterprise_id, seal_id)
        assert seal is not None
        seals[seal_id] = seal
    claim = Claim(row.claim_id, request, document, request.client_id)

    async def stored() -> PersonSignature:
        return person_sig

    done = asyncio.create_task(stored())
    now = ctx.clock()
    signed = await _sign(approved, claim, document, person, cmd, uses, seals, now, authorization,
                         done, timings)
    await _recheck(ctx, person.id, cmd, signed.made)
    return await _commit(ctx, claim, person, signed, now, authorization, person_sig,
                         list(row.own_indexes), approved_by=approver, approval_id=row.approval_id)


@dataclass(frozen=True)
class Use:
    """One seal placement of the request and the seal the person chose for it (a digest
    request: one, without a placement)."""

    index: int
    placement: Placement | None
    seal_id: uuid.UUID


def _plan(row: RequestRow, cmd: StampCommand) -> list[Use]:
    """The request's seal placements in index order, each with its seal (422 when the choices
    do not fit), before any password try."""
    if row.kind == "digest" or not row.placements:
        if cmd.choices:
            raise InvalidChoice.field("choices", "a digest request has no placements")
        if cmd.seal_id is None:
            raise InvalidChoice.field("seal_id", "required: the request takes a seal")
        _enterprise(cmd)
        return [Use(0, None, cmd.seal_id)]
    try:
        picked = chosen_seals(row.placements, cmd.choices, cmd.seal_id)
    except ValueError as e:
        raise InvalidChoice.field("choices", str(e)) from None
    uses = [Use(p.index, p, picked[p.index]) for p in sorted(row.placements, key=lambda p: p.index)
            if p.takes_seal]
    if uses:
        _enterprise(cmd)
    return uses


def _signature_spots(row: RequestRow) -> list[Spot]:
    """Every spot of the request's ``signature`` placements (the person's own signature), in
    placement order: one PAdES signature by the person's certificate draws it at all of them.
    422 ``signature_placement_unsupported`` before any password try on an OFD (GB/T 38540
    signs with a seal's ``SES_Seal``, docs/STAMPING.md). A request may have only signature
    placements: then no seal is used at all."""
    own = [p for p in sorted(row.placements, key=lambda p: p.index) if p.kind == "signature"]
    if not own or row.kind == "digest":
        return []
    if row.kind != "pdf":
        raise SignaturePlacementUnsupported(
            f"placement {own[0].index} is a personal signature, which an OFD document cannot "
            "carry here (GB/T 38540 signs with a seal)")
    return [s for p in own for s in p.spots]


def _own_indexes(row: RequestRow) -> list[int]:
    return sorted(p.index for p in row.placements if p.kind == "signature")


@dataclass(frozen=True)
class OwnSignature:
    """The person's signature picture and certificate, for the request's signature placements."""

    image: bytes
    certificate_pem: str


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
                            revision: asyncio.Future[bytes] | None = None) -> PersonSignature:
    """The person's signature over the authorization and, with signature placements, over
    their revision's digest (``revision``, once prepared): one certs call, one password.
    Without an authorization (only signature placements, no seal) the revision's digest alone;
    ``more[0]`` is then that same signature, as it is the revision's in the other case."""
    more = [await revision] if revision is not None else []
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
        row = await repository.get_request(conn, request_id, for_update=True)
        if row is None:
            raise StampRequestNotFound()
        if not await repository.has_scanned(conn, request_id, person_id):
            raise ScanRequired()
        state = await repository.load_request(conn, ctx.store, request_id)
        stamp_requests.check_stampable(state, now)
        if row.claim_id is not None and row.claimed_until is not None and row.claimed_until > now:
            raise AlreadyStamped("the request is being stamped", stamp_in_progress=True)
        claim_id = uuid.uuid4()
        until = now + timedelta(seconds=ctx.settings.stamping_claim_ttl_seconds)
        await repository.set_claim(conn, request_id, claim_id, person_id, until)
        document = await repository.document(conn, request_id) if row.kind in ("pdf", "ofd") else None
    return Claim(claim_id, row, document, row.client_id)


async def _release(ctx: Stamping, claim: Claim) -> None:
    try:
        async with ctx.pool.acquire() as conn:
            await repository.release_claim(conn, claim.row.request_id, claim.claim_id)
    except Exception as e:  # noqa: BLE001 - the claim then lapses on its own (claimed_until)
        log.warning("claim_release_failed", request_id=str(claim.row.request_id), error=repr(e)[:200])


async def _precheck(ctx: Stamping, person_id: uuid.UUID, cmd: StampCommand,
                    uses: Sequence[Use]) -> dict[uuid.UUID, SealInfo]:
    """Every chosen seal is among the person's choices for the enterprise now, and of the type
    its placement asks for; their details, by seal id."""
    seal_ids = list(dict.fromkeys(u.seal_id for u in uses))
    choices, found = await asyncio.gather(ctx.seals.choices(person_id), _seals(ctx, seal_ids))
    seals: dict[uuid.UUID, SealInfo] = {}
    for seal_id, seal in zip(seal_ids, found, strict=True):
        seal_use.check_before_signing(choices, seal, _enterprise(cmd), seal_id)
        assert seal is not None
        seals[seal_id] = seal
    for u in uses:
        wanted = u.placement.seal_type if u.placement is not None else None
        if wanted is not None and seals[u.seal_id].type != wanted:
            raise InvalidChoice.field("choices", f"placement {u.index} takes a {wanted} seal")
    return seals


async def _seals(ctx: Stamping, seal_ids: Sequence[uuid.UUID]) -> list[SealInfo | None]:
    return list(await asyncio.gather(*(ctx.seals.seal(i) for i in seal_ids)))


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


PADES, CMS, GBT38540 = "pades", "cms", "gbt38540"  # the stamp's format (usage records, events)
ECDSA, SM2 = "ecdsa-p256-sha256", "sm2-sm3"


@dataclass(frozen=True)
class Made:
    """One seal placement's signature."""

    index: int  # the placement's
    seal: SealInfo
    seal_signature: SealSignature
    signed_at: datetime | None  # the signature timestamp
    format: str = PADES

    @property
    def algorithm(self) -> str:
        return SM2 if self.format == GBT38540 else ECDSA


@dataclass(frozen=True)
class Signed:
    """The stamped document: one signature per seal placement, in placement order."""

    content: bytes
    content_type: str
    made: list[Made]


async def _sign_own(ctx: Stamping, claim: Claim, person: Principal, own: OwnSignature,
                    spots: Sequence[Spot], now: datetime, revision: asyncio.Future[bytes],
                    person_sig: asyncio.Task[PersonSignature]) -> bytes:
    """The person's own signature at every spot of the signature placements: one PAdES B-LT
    signature by the person's certificate, the first revision over the uploaded document (the
    seals' revisions follow). Its digest joins the authorization's in the one certs call."""
    row = claim.row
    assert claim.document is not None
    loop = asyncio.get_running_loop()

    async def sign_revision(digest: bytes) -> bytes:  # on the main loop
        revision.set_result(digest)
        return (await asyncio.shield(person_sig)).more[0]

    signer = PersonDigestSigner(sign_revision, loop)
    ca = await ctx.ca.current()
    cert = x509.load_pem_x509_certificate(own.certificate_pem.encode())
    chain = [cert] + [c for c in (ca.issuing, ca.root) if c != cert]
    width_pt, height_pt = _signature_box_pt(own.image)
    pdf = document = claim.document

    async def job() -> bytes:
        return await stamp_pdf(
            pdf, marks=[Mark(s.page, s.x, s.y) for s in spots], seal_png=own.image,
            seal_size_pt=width_pt, seal_height_pt=height_pt, signer=signer, chain=chain,
            timestamper=RecordingTimeStamper(ctx.timestamper), validation_context_for_lt=_lt_context(ca),
            metadata=None, field_name=f"eseal-{row.request_id}-signature", signer_name=person.name,
            reason=f"{person.name} 签名", max_bytes=max(len(document), ctx.settings.max_document_bytes))
    try:
        return await ctx.workers.run(job)
    except BaseException:
        if signer.error is not None:
            raise signer.error from None  # certs' answer (403 wrong_certificate_password …)
        raise


def _signature_box_pt(png: bytes) -> tuple[float, float]:
    """The signature picture scaled, keeping its proportions, into the box the request side
    left for it (``SIGNATURE_MM``), in points."""
    from PIL import Image  # noqa: PLC0415 - only a signature placement needs it

    with Image.open(io.BytesIO(png)) as image:
        w, h = image.size
    box_w, box_h = (v * PT_PER_MM for v in SIGNATURE_MM)
    scale = min(box_w / w, box_h / h)
    return w * scale, h * scale


async def _sign(ctx: Stamping, claim: Claim, document: bytes | None, person: Principal, cmd: StampCommand,
                uses: Sequence[Use], seals: dict[uuid.UUID, SealInfo], now: datetime,
                authorization: StampAuthorization, person_sig: asyncio.Task[PersonSignature],
                timings: Timings) -> Signed:
    """The document signed once per seal placement, each signature over the previous output;
    the person's signature is bound into each as soon as it is ready."""
    row = claim.row

    def metadata(seal: SealInfo, sig: PersonSignature | None) -> StampMetadata:
        return _stamp_metadata(seal, person, now, row.request_id, authorization, sig)

    def signed_metadata(seal: SealInfo) -> Callable[[], Coroutine[Any, Any, StampMetadata]]:
        async def final() -> StampMetadata:  # on the main loop
            with timings.phase("person_wait"):
                return metadata(seal, await asyncio.shield(person_sig))
        return final

    content = document
    made: list[Made] = []
    content_type = ""
    for use in uses:
        seal = seals[use.seal_id]
        if row.kind == "ofd":
            assert content is not None
            content, one = await _sign_ofd(ctx, row, content, use, person, cmd, seal, now,
                                           signed_metadata(seal), timings)
            content_type = "application/ofd"
        else:
            content, one, content_type = await _sign_cms(
                ctx, row, content, use, person, cmd, seal, metadata(seal, None), signed_metadata(seal))
        made.append(one)
    assert content is not None
    return Signed(content, content_type, made)


def _stamp_metadata(seal: SealInfo, person: Principal, now: datetime, request_id: uuid.UUID,
                    authorization: StampAuthorization, sig: PersonSignature | None) -> StampMetadata:
    """What the signature dictionary binds: the seal, the person, the grant, the person's signature."""
    return StampMetadata(
        seal_id=str(seal.seal_id), seal_name=seal.name, seal_type=seal.type_label,
        enterprise_name=seal.enterprise_name, enterprise_uscc=seal.enterprise_uscc,
        signer_person_name=person.name, signer_person_id=str(person.id), stamped_at=now,
        request_id=str(request_id),
        person_signature_b64=base64.b64encode(sig.signature).decode() if sig else "",
        authorization=authorization.canonical(),
        person_signature_algorithm=sig.algorithm if sig else "",
        person_certificate_serial=sig.serial_number if sig else "",
        enterprise_id=str(seal.enterprise_id), seal_type_code=seal.type)


def _field_name(request_id: uuid.UUID, index: int) -> str:
    """The signature field of a placement (the single form's name of before for placement 0)."""
    return f"eseal-{request_id}" if index == 0 else f"eseal-{request_id}-{index}"


async def _sign_cms(ctx: Stamping, row: RequestRow, document: bytes | None, use: Use,
                    person: Principal, cmd: StampCommand, seal: SealInfo, draft: StampMetadata,
                    signed_metadata: Callable[[], Coroutine[Any, Any, StampMetadata]],
                    ) -> tuple[bytes, Made, str]:
    """PAdES B-LT on a PDF (one revision over ``document``), or a detached CMS over a relying
    system's digest, in a worker; the seal's ECDSA signature comes from seals (which decides
    under its locks and has certs sign)."""
    loop = asyncio.get_running_loop()
    signer = SealDigestSigner(ctx.seals.stamp_signature, loop, use.seal_id, person.id, _enterprise(cmd))
    stamper = RecordingTimeStamper(ctx.timestamper)
    ca = await ctx.ca.current()
    chain = _chain(seal, ca)
    if row.kind == "pdf":
        assert document is not None and use.placement is not None
        image = await ctx.seals.seal_image(use.seal_id)
        width_pt, height_pt = seal_box_pt(image, seal.width_mm, seal.height_mm)
        # what must fit the page: the seal itself, as the request side checked it
        ink = (seal.width_mm * PT_PER_MM, seal.height_mm * PT_PER_MM)
        # issue 18: the whole pyHanko run in a worker process (threads without processes)
        roots, crls, others = _lt_material(ca)
        stamp_job = PdfStampJob(
            pdf=document, marks=tuple(Mark(s.page, s.x, s.y) for s in use.placement.spots),
            seal_png=image, seal_size_pt=width_pt, seal_height_pt=height_pt, fit_pt=ink,
            chain_der=der(chain), roots_der=roots, crls_der=crls, others_der=others, metadata=draft,
            field_name=_field_name(row.request_id, use.index), final_metadata=True,
            max_bytes=max(len(document), ctx.settings.max_document_bytes))

        def run() -> Awaitable[bytes]:
            return ctx.workers.stamp(stamp_job, signer=signer, timestamper=stamper,
                                     final_metadata=signed_metadata)
        content_type = "application/pdf"
    else:
        digest = bytes.fromhex(row.document_sha256)
        await signed_metadata()  # the person signs first; a detached signature has nothing to prepare

        async def job() -> bytes:
            return await sign_detached_digest(digest, signer, chain, stamper)

        def run() -> Awaitable[bytes]:
            return ctx.workers.run(job)
        content_type = "application/pkcs7-signature"
    try:
        content = await run()
    except BaseException:
        if signer.error is not None:
            raise signer.error from None  # seals' answer (403 not_authorized, 409 seal_revoked …)
        raise
    assert signer.result is not None
    fmt = PADES if row.kind == "pdf" else CMS
    return content, Made(use.index, seal, signer.result, stamper.signed_at(), fmt), content_type


async def _sign_ofd(ctx: Stamping, row: RequestRow, document: bytes, use: Use, person: Principal,
                    cmd: StampCommand, seal: SealInfo, now: datetime,
                    person_signed: Callable[[], Awaitable[Any]],
                    timings: Timings) -> tuple[bytes, Made]:
    """GB/T 38540 on an OFD: the seal's ``SES_Seal`` from seals, Signature.xml prepared here,
    the seal's SM2 signature over TBS_Sign from seals (which decides under its locks and has
    certs sign), an RFC 3161 token over the signature value, then the package is written."""
    assert use.placement is not None
    spots = use.placement.spots
    with timings.phase("ofd_esl"):  # sub-phases of "sign", for the benchmark (bench/bench_ofd.py)
        esl = await ctx.seals.stamp_esl(use.seal_id, person.id, _enterprise(cmd))

    async def prepare() -> ofd.PreparedOfdStamp:
        # one StampAnnot per spot (a 骑缝章: one per page, clipped to its strip), at the size
        # the seal's own SES_Seal states for its picture
        facts = ofd_signing.seal_facts(esl)
        return ofd.prepare_ofd_placement(document, esl, facts.signer_certificate, spots,
                                         facts.width_mm, facts.height_mm, signed_at=now)

    with timings.phase("ofd_prepare"):
        prepared = await ctx.workers.run(prepare)
    await person_signed()  # the person's signature first, as for a PDF
    with timings.phase("seal_signature"):
        signature = await ctx.seals.stamp_signature(
            use.seal_id, person.id, _enterprise(cmd), ofd_signing.digest_to_sign(prepared),
            algorithm=SM2)
        ofd_signing.check_signature(prepared, _der(signature.certificate_pem), signature.signature)
    stamper = RecordingTimeStamper(ctx.timestamper)
    # GB/T 38540 §7.2.3: the timestamp is over the signature value (imprint SHA-256: what the
    # platform TSA answers; verifiers read the imprint's algorithm from the token)
    with timings.phase("timestamp"):
        token = await stamper.async_timestamp(hashlib.sha256(signature.signature).digest(), "sha256")

    async def finish() -> bytes:
        return ofd.finish_ofd_stamp(prepared, signature.signature, timestamp_token=token.dump())

    with timings.phase("ofd_finish"):
        content = await ctx.workers.run(finish)
    return content, Made(use.index, seal, signature, stamper.signed_at(), GBT38540)


def _der(certificate_pem: str) -> bytes:
    if not certificate_pem:
        raise EsealError("seals did not name the signing certificate", code="signing_failed")
    return bytes(load_certificate(certificate_pem.encode()).dump())


def _chain(seal: SealInfo, ca: CaBundle) -> list[x509.Certificate]:
    if not seal.chain_pem:
        raise EsealError("seals did not give the seal's certificate", code="seal_certificate_unavailable")
    certs = [x509.load_pem_x509_certificate(p.encode()) for p in seal.chain_pem]
    if not any(c == ca.issuing for c in certs):
        certs.append(ca.issuing)
    if not any(c == ca.root for c in certs):
        certs.append(ca.root)
    return certs


def _lt_material(ca: CaBundle) -> tuple[tuple[bytes, ...], tuple[bytes, ...], tuple[bytes, ...]]:
    """``_lt_context`` as DER for a worker process: roots, CRLs, other certificates."""
    others = [ca.issuing] + ([ca.tsa] if ca.tsa is not None else [])
    return der([ca.root]), der(ca.crls), der(others)


def _lt_context(ca: CaBundle) -> Any:
    others = [ca.issuing] + ([ca.tsa] if ca.tsa is not None else [])
    return offline_validation_context([ca.root], crls=ca.crls, other_certs=others)


async def _recheck(ctx: Stamping, person_id: uuid.UUID, cmd: StampCommand,
                   made: Sequence[Made]) -> None:
    """After the timestamps: was a seal revoked, or a grant withdrawn, before its signature's?"""
    seal_ids = list(dict.fromkeys(m.seal.seal_id for m in made))
    choices, now = await asyncio.gather(ctx.seals.choices(person_id), _seals(ctx, seal_ids))
    standing = dict(zip(seal_ids, now, strict=True))
    for m in made:
        seal_use.check_after_timestamp(choices, standing[m.seal.seal_id], _enterprise(cmd),
                                       m.seal.seal_id, m.signed_at)


async def _commit(ctx: Stamping, claim: Claim, person: Principal, signed: Signed,
                  now: datetime, authorization: StampAuthorization,
                  person_sig: PersonSignature, own_indexes: list[int], *,
                  approved_by: Principal | None = None,
                  approval_id: uuid.UUID | None = None) -> list[uuid.UUID]:
    """One transaction: a StampApplied + UsageRecorded per seal placement (each its own
    record), the person's signature record for the signature placements (``own_indexes``;
    no seal use, so no usage record), the result (under the first record's id), the callback.
    用印审批 (``approved_by``): ``ApprovalGranted`` first, in the same append."""
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
                certificate_serial=person_sig.serial_number,
                signature_sha256=hashlib.sha256(person_sig.more[0]).hexdigest(),
                requester=client.name if client else "", signed_at=now)
        await _finish(conn, row, record_ids[0], signed, result_sha, now)
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
    signature_sha = hashlib.sha256(person_sig.more[0]).hexdigest()
    async with ctx.db.transaction() as uow:
        conn = uow.conn
        state, client = await _still_claimed(ctx, conn, claim)
        events = stamp_requests.apply_signature(
            state, record_id=record_id, person_id=person.id, signed_at=now,
            placement_indexes=own_indexes, certificate_serial=person_sig.serial_number,
            signature_sha256=signature_sha, result_sha256=result_sha)
        await uow.append(row.request_id, STREAM_TYPE, state.version, events,
                         metadata={"actor": str(person.id), "actor_role": "person"})
        await repository.insert_signature_record(
            conn, record_id=record_id, request_id=row.request_id, person_id=person.id,
            user_name=person.name, placement_indexes=own_indexes,
            certificate_serial=person_sig.serial_number, signature_sha256=signature_sha,
            requester=client.name if client else "", signed_at=now)
        await _finish(conn, row, record_id, signed, result_sha, now)
    return record_id


async def _still_claimed(ctx: Stamping, conn: Conn,
                         claim: Claim) -> tuple[stamp_requests.StampRequest, Client | None]:
    """Inside the commit's transaction: the request, locked, still under this claim (else
    409 ``already_stamped``), its state and the client that sent it."""
    current = await repository.get_request(conn, claim.row.request_id, for_update=True)
    if current is None or current.claim_id != claim.claim_id:
        raise AlreadyStamped("the claim on this request was lost")
    state = await repository.load_request(conn, ctx.store, claim.row.request_id)
    return state, await repository.get_client(conn, claim.client_id)


async def _finish(conn: Conn, row: RequestRow, record_id: uuid.UUID, signed: Signed,
                  result_sha: str, now: datetime) -> None:
    """The end of a commit: the result under ``record_id``, the request finished, the
    client's callback queued."""
    await repository.insert_result(conn, row.request_id, record_id, signed.content_type,
                                   signed.content, result_sha)
    await repository.finish_request(conn, row.request_id)
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
