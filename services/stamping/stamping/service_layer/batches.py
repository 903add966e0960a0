"""Batches (issue 15): several documents, one QR code, one certificate password.

A relying system sends up to ``MAX_DOCUMENTS`` documents; each becomes an ordinary stamp
request (created, checked and its placements resolved exactly as ``POST
/api/v1/stamp-requests`` does: ``requests.create_pdf_request`` / ``create_ofd_request``), tied
to the batch. The batch has the one QR token (only its SHA-256 is stored); the requests'
own tokens are never shown, so the batch's QR code is the only way to them.

The person scans the batch (the first person to scan it keeps it), which counts as scanning
each of its requests (so each document can be opened), and stamps them all in one call:

1. Every document's choices are checked (422 ``invalid_choice`` naming ``documents[i]``)
   before anything else.
2. The batch is claimed (``used_at``): its QR code stamps once.
3. ONE certs call signs every document's authorization (``more_digests``): one password
   check, one KDF, one count toward the lockout. A wrong password releases the claim (the
   person may retry) and nothing was signed.
4. Each document is then stamped by the ordinary stamp (``stamping.stamp``), with its
   person signature already made and its pre-check run on seals' answers asked once for the
   batch (the person's choices, each chosen seal's details; asked while certs runs the KDF);
   its re-check after the timestamp and its seal signature ask seals for that document. It
   commits on its own: a document that fails (a seal
   revoked meanwhile, a signing error, an expired request) is noted with its error and the
   others go on. A document with a personal ``signature`` placement needs its revision's
   digest signed too, which only exists once that revision is prepared: that document makes
   its own certs call (a second KDF, for that document only). Up to ``BATCH_CONCURRENCY``
   documents are stamped at once, so one's round trips to seals and certs overlap another's
   PDF work (the stamping worker threads still bound the PDF work itself).

A relying system that gave the batch a ``callback_url`` is called once the batch is finished
(``stamp_batch.finished``: every document stamped or failed, with each one's outcome), or
when it expired before it was stamped (``stamp_batch.expired``, by the expiry sweeper); the
callback shares the requests' outbox (``callbacks.py``: signed, retried, the same URL rules).
"""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared.auth import Principal
from shared.errors import EsealError, ValidationFailed
from shared.logging import get_logger

from ..adapters import repository
from ..adapters.repository import BatchItem as Item
from ..adapters.repository import BatchRow, Client
from ..domain import qr, rules
from ..domain.authorization import StampAuthorization, rfc3339
from ..domain.errors import (
    AlreadyStamped,
    BatchScannedByAnother,
    InvalidChoice,
    QrInvalid,
    RequestExpired,
    StampBatchNotFound,
)
from ..domain.placements import Choice
from . import callbacks, requests, stamp_plan, stamping
from .context import Stamping
from .ports import PersonSignature, PrincipalSigner

log = get_logger(__name__)

MAX_DOCUMENTS = 50
BATCH_CONCURRENCY = 4  # documents of one batch stamped at once (see ``stamp``)
_PASSWORD_REFUSED = ("wrong_certificate_password", "certificate_locked")
API = "/api/v1/stamp-batches"


# the relying system --------------------------------------------------------------------


async def create_batch(ctx: Stamping, client: Client, documents: Sequence[requests.PdfRequest],
                       expires_in: int | None = None, callback_url: str | None = None,
                       ) -> dict[str, Any]:
    """Each document an ordinary request (a refusal names ``documents[i]``), then the batch."""
    if not 1 <= len(documents) <= MAX_DOCUMENTS:
        raise ValidationFailed.field("documents", f"1 to {MAX_DOCUMENTS} documents")
    if callback_url:  # the single request's rule (422 callback_url_invalid), before anything is made
        rules.check_callback_url(callback_url,
                                 allow_private=ctx.settings.callbacks_may_reach_private_addresses)
    lifetime = requests._lifetime(ctx, expires_in)  # noqa: SLF001 - the request side's rule
    now = ctx.clock()
    created = []
    for i, doc in enumerate(documents):
        doc = dataclasses.replace(doc, expires_in=int(lifetime.total_seconds()), callback_url=None)
        create = (requests.create_ofd_request if requests.is_ofd_upload(doc.document)
                  else requests.create_pdf_request)
        try:
            created.append(await create(ctx, client, doc))
        except EsealError as e:
            # the documents before it stay unreachable requests (no token was ever shown) and expire
            e.errors = [{**err, "field": f"documents[{i}].{err.get('field', '')}".rstrip("."),
                         "document": str(i)} for err in e.errors] or [
                {"field": f"documents[{i}]", "message": str(e), "document": str(i)}]
            raise
    token = qr.new_token()
    batch_id = uuid.uuid4()
    expires_at = now + lifetime
    async with ctx.db.transaction() as uow:
        await repository.insert_batch(uow.conn, batch_id, client.client_id, qr.token_hash(token),
                                      expires_at, now, callback_url or None,
                                      [uuid.UUID(c["request_id"]) for c in created])
    return {
        "batch_id": str(batch_id), "status": "pending",
        "qr_payload": str(qr.BatchQrPayload(batch_id, token)), "expires_at": rfc3339(expires_at),
        "documents": [{"request_id": c["request_id"], "title": c["title"], "kind": c["kind"],
                       "document": c["document"]} for c in created],
    }


def _status(batch: BatchRow, documents: Sequence[dict[str, Any]], now: datetime) -> str:
    if batch.finished_at is not None:
        stamped = sum(d["status"] == "stamped" for d in documents)
        return ("stamped" if stamped == len(documents)
                else "failed" if stamped == 0 else "partially_stamped")
    if batch.used_at is not None:
        return "stamping"
    if now >= batch.expires_at:
        return "expired"
    return "scanned" if batch.scanned_by is not None else "pending"


async def get_batch(ctx: Stamping, viewer: Client | Principal, batch_id: uuid.UUID) -> dict[str, Any]:
    """The batch for its relying system, or for the person who scanned it; for anyone else
    there is no such batch. Each document: its request's status, its usage records' ids, its
    result (the relying system's ``result_url``), and, if the batch stamp failed it, why."""
    async with ctx.pool.acquire() as conn:
        batch = await repository.get_batch(conn, batch_id)
        if batch is None or not (
                (isinstance(viewer, Client) and batch.client_id == viewer.client_id)
                or (isinstance(viewer, Principal) and viewer.role == "person"
                    and batch.scanned_by == viewer.id)):
            raise StampBatchNotFound()
        view = await _view(ctx, conn, batch, ctx.clock())
        # the relying system's own callbacks' delivery state, as for a request
        view["callbacks"] = [{"event": c["event"], "status": c["status"], "attempts": c["attempts"]}
                             for c in await repository.batch_callback_summary(conn, batch_id)
                             ] if isinstance(viewer, Client) else []
    return view


async def _view(ctx: Stamping, conn: Any, batch: BatchRow, now: datetime) -> dict[str, Any]:
    documents = []
    for item in await repository.batch_items(conn, batch.batch_id):
        row = await repository.get_request(conn, item.request_id)
        assert row is not None
        state = await repository.load_request(conn, ctx.store, item.request_id)
        status = state.visible_status(now)
        record_ids = [str(r) for r in await repository.usage_record_ids(conn, item.request_id)
                      ] if status == "stamped" else []
        documents.append({
            "request_id": str(item.request_id), "title": row.title, "kind": row.kind,
            "status": status,
            "record_id": str(state.record_id) if state.record_id else None,
            "record_ids": record_ids,
            "result_url": f"/api/v1/stamp-requests/{item.request_id}/result"
                          if status == "stamped" else None,
            "error": ({"code": item.error_code, "message": item.error_message or ""}
                      if item.error_code else None)})
    return {"batch_id": str(batch.batch_id), "status": _status(batch, documents, now),
            "created_at": rfc3339(batch.created_at), "expires_at": rfc3339(batch.expires_at),
            "stamped_at": rfc3339(batch.used_at) if batch.finished_at and batch.used_at else None,
            "documents": documents}


async def _finish(ctx: Stamping, batch_id: uuid.UUID, now: datetime) -> None:
    """The batch is done (each document stamped or failed); its callback, in the same
    transaction (``stamp_batch.finished``: the batch's status and each document's outcome)."""
    async with ctx.db.transaction() as uow:
        conn = uow.conn
        await repository.finish_batch(conn, batch_id)
        batch = await repository.get_batch(conn, batch_id)
        assert batch is not None
        if batch.callback_url:
            view = await _view(ctx, conn, batch, now)
            view["requested_at"] = view.pop("created_at")
            view.pop("batch_id")
            await callbacks.queue_batch(conn, batch_id, batch.client_id, batch.callback_url,
                                        "stamp_batch.finished", view)
    if batch.callback_url:
        ctx.callbacks_due.set()


async def expire_due(ctx: Stamping, limit: int) -> int:
    """``stamp_batch.expired`` for batches with a callback that expired before they were
    stamped, each once (``expired_at``; other replicas skip the locked rows)."""
    async with ctx.db.transaction() as uow:
        conn = uow.conn
        rows = await repository.lock_expired_batches(conn, limit)
        for r in rows:
            await repository.mark_batch_expired(conn, r["batch_id"])
            await callbacks.queue_batch(conn, r["batch_id"], r["client_id"], r["callback_url"],
                                        "stamp_batch.expired", {
                                            "status": "expired", "requested_at": rfc3339(r["created_at"]),
                                            "expires_at": rfc3339(r["expires_at"])})
    if rows:
        ctx.callbacks_due.set()
    return len(rows)


# the person ----------------------------------------------------------------------------


async def scan(ctx: Stamping, person: Principal, qr_payload: str) -> dict[str, Any]:
    """The batch's documents as a single scan shows each (title, pages, placements and the
    seals usable at each); the first person to scan keeps the batch."""
    payload = qr.parse_batch(qr_payload)
    now = ctx.clock()
    async with ctx.db.transaction() as uow:
        conn = uow.conn
        batch = await repository.get_batch(conn, payload.batch_id, for_update=True)
        if batch is None or not qr.token_matches(payload.token, batch.token_hash):
            raise QrInvalid()
        if batch.used_at is not None:
            raise AlreadyStamped("the batch has been stamped")
        if now >= batch.expires_at:
            raise RequestExpired()
        if batch.scanned_by not in (None, person.id):
            raise BatchScannedByAnother()
        await repository.set_batch_scanner(conn, batch.batch_id, person.id)
        items = await repository.batch_items(conn, batch.batch_id)
        rows = []
        for item in items:
            await repository.record_scan(conn, ctx.store, item.request_id, person.id, now,
                                         batch.batch_id)
            row = await repository.get_request(conn, item.request_id)
            assert row is not None
            state = await repository.load_request(conn, ctx.store, item.request_id)
            rows.append((row, state.visible_status(now)))
        client = await repository.get_client(conn, batch.client_id)
    choices = await ctx.seals.choices(person.id)
    has_signature = None
    documents = []
    for row, status in rows:
        view = requests.placements_view(row, choices)
        if any(i["kind"] == "signature" for i in view):
            if has_signature is None:
                has_signature = await ctx.seals.person_signature(person.id) is not None
            for i in view:
                if i["kind"] == "signature":
                    i["signature_missing"] = not has_signature
        documents.append({
            "request_id": str(row.request_id), "title": row.title, "kind": row.kind,
            "status": status,
            "document": {"sha256": row.document_sha256, "pages": row.pages, "size": row.document_size,
                         "url": f"/api/v1/stamp-requests/{row.request_id}/document"},
            "placements": view})
    return {
        "batch_id": str(batch.batch_id), "expires_at": rfc3339(batch.expires_at),
        "requester": {"name": client.name if client else ""},
        "choices": [{"enterprise_id": str(e.enterprise_id), "enterprise_name": e.enterprise_name,
                     "seals": [{"seal_id": str(s.seal_id), "name": s.name, "type": s.type}
                               for s in e.seals]} for e in choices],
        "documents": documents,
    }


@dataclass(frozen=True)
class DocumentChoice:
    request_id: uuid.UUID
    seal_id: uuid.UUID | None = None
    choices: tuple[Choice, ...] = ()


@dataclass(frozen=True)
class BatchStampCommand:
    # None only when no document takes a seal (every placement a personal signature)
    enterprise_id: uuid.UUID | None
    certificate_password: str
    seal_id: uuid.UUID | None = None  # every document's seal unless it names its own
    documents: tuple[DocumentChoice, ...] = ()


class _Presigned:
    """The person's signer for one batch: the authorizations signed in the batch's one certs
    call are answered from it; anything else (a document whose authorization came out
    otherwise, a signature placement's revision) goes to certs."""

    def __init__(self, real: PrincipalSigner, signed: dict[bytes, PersonSignature]) -> None:
        self.real, self.signed = real, signed

    async def sign(self, principal_id: uuid.UUID, digest: bytes, password: str, *,
                   more_digests: Sequence[bytes] = (),
                   sm2_digest: bytes | None = None) -> PersonSignature:
        if not more_digests and sm2_digest is None and digest in self.signed:
            return self.signed[digest]
        return await self.real.sign(principal_id, digest, password, more_digests=more_digests,
                                    sm2_digest=sm2_digest)

    async def sign_sm2(self, principal_id: uuid.UUID, digest: bytes, password: str) -> PersonSignature:
        return await self.real.sign_sm2(principal_id, digest, password)

    async def personal_seal(self, principal_id: uuid.UUID, picture_png: bytes, width_mm: int,
                            height_mm: int) -> bytes:
        return await self.real.personal_seal(principal_id, picture_png, width_mm, height_mm)

    async def certificate(self, principal_id: uuid.UUID) -> str | None:
        return await self.real.certificate(principal_id)


async def stamp(ctx: Stamping, person: Principal, batch_id: uuid.UUID,
                cmd: BatchStampCommand) -> dict[str, Any]:
    now = ctx.clock()
    async with ctx.pool.acquire() as conn:
        batch = await repository.get_batch(conn, batch_id)
        if batch is None or batch.scanned_by != person.id:
            raise StampBatchNotFound()
        items = await repository.batch_items(conn, batch_id)
        rows = {i.request_id: await repository.get_request(conn, i.request_id) for i in items}
    if batch.used_at is not None:
        raise AlreadyStamped("the batch has been stamped")
    if now >= batch.expires_at:
        raise RequestExpired()
    named = {d.request_id: d for d in cmd.documents}
    unknown = set(named) - set(rows)
    if unknown or len(named) != len(cmd.documents):
        raise InvalidChoice.field("documents", "each of the batch's documents at most once")
    commands: dict[uuid.UUID, stamp_plan.StampCommand] = {}
    digests: list[bytes] = []
    seal_ids: list[uuid.UUID] = []
    for i, item in enumerate(items):
        row = rows[item.request_id]
        assert row is not None
        choice = named.get(item.request_id, DocumentChoice(item.request_id))
        try:
            seal_id = await requests.check_choices(ctx, person.id, item.request_id,
                                                   choice.seal_id or cmd.seal_id, choice.choices)
            if seal_id is None and await requests.takes_seal(ctx, person.id, item.request_id):
                raise InvalidChoice.field("seal_id", "no seal for this document")
            one = stamp_plan.StampCommand(cmd.enterprise_id, seal_id, cmd.certificate_password,
                                        choice.choices)
            uses = stamp_plan.plan(row, one)
            if uses:  # a seal to use: the enterprise is named (422 before anything is claimed)
                stamp_plan.enterprise_of(one)
        except InvalidChoice as e:
            e.errors = [{**err, "field": f"documents[{i}].{err.get('field', '')}",
                         "document": str(i)} for err in e.errors]
            raise
        commands[item.request_id] = one
        if not uses:  # only personal signatures: nothing to authorise, its own certs call
            continue
        seal_ids.extend(u.seal_id for u in uses)
        digests.append(StampAuthorization(
            row.request_id, row.document_sha256, uses[0].seal_id,
            stamp_plan.enterprise_of(one), person.id,
            now, placements=tuple((u.index, u.seal_id) for u in uses)).digest())
    async with ctx.pool.acquire() as conn:  # the QR code stamps once
        claimed = await repository.claim_batch(conn, batch_id, now, person.id)
    if not claimed:
        raise AlreadyStamped("the batch has been stamped")
    signed: dict[bytes, PersonSignature] = {}
    # The pre-check's questions to seals (the person's choices, each chosen seal's details)
    # asked once for the whole batch, while certs runs the KDF: each document's pre-check runs
    # every check on these answers; its re-check after the timestamp asks seals again, and
    # seals decides each seal signature under its locks, so a seal revoked meanwhile still
    # fails the documents stamped after.
    lookup = asyncio.create_task(_look_up(ctx, person.id, seal_ids)) if digests else None
    try:  # one password check, one KDF, for every document
        if digests:
            sig = await ctx.signer.sign(person.id, digests[0], cmd.certificate_password,
                                        more_digests=digests[1:])
            values = (sig.signature, *sig.more)
            signed = {d: PersonSignature(v, sig.algorithm, sig.serial_number, sig.certificate_pem)
                      for d, v in zip(digests, values, strict=True)}
    except BaseException:
        if lookup is not None:
            lookup.cancel()
        await _unclaim(ctx, batch_id)
        raise
    prechecked = await lookup if lookup is not None else None
    doc_ctx = dataclasses.replace(ctx, signer=_Presigned(ctx.signer, signed), clock=lambda: now)
    rest = items
    if not digests:
        # only personal signatures: the first document's own certs call is the password check;
        # refused there, nothing was signed, so the claim is released and the QR code still works
        try:
            await stamping.stamp(doc_ctx, person, items[0].request_id, commands[items[0].request_id])
        except EsealError as e:
            if e.code in _PASSWORD_REFUSED:
                await _unclaim(ctx, batch_id)
                raise
            await _note_failure(ctx, batch_id, items[0], e.code, str(e))
        rest = items[1:]
    # Several documents at once: one document's round trips to seals and certs (authorization,
    # seal signature, TSA, recheck) overlap another's PDF work, which the worker threads bound.
    limit = asyncio.Semaphore(BATCH_CONCURRENCY)

    async def bounded(item: Item) -> None:
        async with limit:
            await _stamp_document(doc_ctx, person, batch_id, item, commands[item.request_id],
                                  prechecked)

    await asyncio.gather(*(bounded(item) for item in rest))
    await _finish(ctx, batch_id, now)
    return await get_batch(ctx, person, batch_id)


async def _look_up(ctx: Stamping, person_id: uuid.UUID,
                   seal_ids: Sequence[uuid.UUID]) -> stamp_plan.SealLookup | None:
    """The batch's pre-check lookups; None if seals did not answer (each document then asks
    on its own, as a single stamp does, and fails on its own if seals still does not)."""
    try:
        return await stamping.look_up(ctx, person_id, seal_ids)
    except Exception as e:  # noqa: BLE001 - the documents ask again and note their own failure
        log.warning("batch_precheck_lookup_failed", error=repr(e)[:200])
        return None


async def _stamp_document(ctx: Stamping, person: Principal, batch_id: uuid.UUID, item: Item,
                          command: stamp_plan.StampCommand,
                          prechecked: stamp_plan.SealLookup | None = None) -> None:
    """One document stamped as a single request; its failure is noted, never raised (the
    batch's other documents go on)."""
    try:
        await stamping.stamp(ctx, person, item.request_id, command, prechecked=prechecked)
    except EsealError as e:
        await _note_failure(ctx, batch_id, item, e.code, str(e))
    except Exception as e:  # noqa: BLE001 - one document's failure must not lose the others
        log.exception("batch_document_failed", batch_id=str(batch_id), request_id=str(item.request_id))
        await _note_failure(ctx, batch_id, item, "signing_failed", type(e).__name__)


async def _note_failure(ctx: Stamping, batch_id: uuid.UUID, item: Item, code: str, message: str) -> None:
    async with ctx.pool.acquire() as conn:
        await repository.note_batch_failure(conn, batch_id, item.position, code, message[:500])


async def _unclaim(ctx: Stamping, batch_id: uuid.UUID) -> None:
    async with ctx.pool.acquire() as conn:
        await repository.unclaim_batch(conn, batch_id)


__all__ = ["MAX_DOCUMENTS", "BatchStampCommand", "DocumentChoice", "create_batch", "get_batch",
           "scan", "stamp"]
