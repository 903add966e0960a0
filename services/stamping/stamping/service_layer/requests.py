"""Stamp requests from relying systems: create, poll, QR image, result."""

from __future__ import annotations

import io
import json
import uuid
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from pydantic import ValidationError

from shared.catalog import StampRequested
from shared.errors import ValidationFailed

from ..adapters import ofd, repository
from ..adapters.ofd import text as ofd_text
from ..adapters.pdf import PdfInfo, check_limits, check_position
from ..adapters.pdf.text import PdfText
from ..adapters.pdf.validation import describe_pdf, open_strict_reader
from ..adapters.qr_image import qr_png
from ..adapters.repository import STREAM_TYPE, Client, RequestRow
from ..domain import placements as placement_model
from ..domain import qr, rules
from ..domain.authorization import rfc3339
from ..domain.errors import (
    AlreadyStamped,
    InvalidChoice,
    QrInvalid,
    RequestExpired,
    StampPending,
    StampRequestNotFound,
)
from ..domain.placements import MAX_PLACEMENTS, Choice, Placement, PlacementSpec, TextHit, chosen_seals
from ..domain.resolve import Pages, resolve
from ..domain.stamp_request import StampRequest
from .context import Stamping
from .ports import EnterpriseChoice

API = "/api/v1/stamp-requests"


@dataclass(frozen=True)
class PdfRequest:
    """A PDF or OFD request: either the single ``page/x/y`` (one seal placement) or
    ``placements`` (issue 15), never both."""

    title: str
    document: bytes
    page: int | None = None
    x: float | None = None
    y: float | None = None
    callback_url: str | None = None
    expires_in: int | None = None
    placements: tuple[PlacementSpec, ...] | None = None


def parse_placements(raw: Any) -> tuple[PlacementSpec, ...]:
    """The ``placements`` field (a JSON text in a multipart form, or already a list)."""
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except (ValueError, RecursionError):
            raise _field("placements", "a JSON list of placements") from None
    if not isinstance(raw, list):
        raise _field("placements", "a JSON list of placements")
    if not 1 <= len(raw) <= MAX_PLACEMENTS:
        raise _field("placements", f"1 to {MAX_PLACEMENTS} placements")
    specs = []
    for i, item in enumerate(raw):
        try:
            specs.append(PlacementSpec.model_validate(item))
        except ValidationError as e:
            errors = [{"field": f"placements[{i}]" + "".join(f".{p}" for p in err["loc"]
                                                              if isinstance(p, str)),
                       "message": err["msg"], "index": str(i)} for err in e.errors()]
            raise ValidationFailed("; ".join(f"{x['field']}: {x['message']}" for x in errors[:5]),
                                   errors=errors) from None
    return tuple(specs)


def _legacy_position(cmd: PdfRequest) -> tuple[int, float, float] | None:
    given = [v is not None for v in (cmd.page, cmd.x, cmd.y)]
    if cmd.placements is not None:
        if any(given):
            raise ValidationFailed.field("placements", "page/x/y or placements, not both")
        return None
    if not all(given):
        missing = next(n for n, g in zip(("page", "x", "y"), given, strict=True) if not g)
        raise _field(missing, "required (or give placements)")
    assert cmd.page is not None and cmd.x is not None and cmd.y is not None
    return cmd.page, cmd.x, cmd.y


def find_ofd_text(data: bytes, keyword: str) -> list[TextHit]:
    """OFD keyword search (the OFD side's adapters/ofd/text.py), behind a name a test can
    stand in for."""
    return ofd_text.find_text(data, keyword)


def is_ofd_upload(document: bytes) -> bool:
    """Told apart by content, never by name: a ZIP package with ``OFD.xml`` at its root is an
    OFD (then read strictly: an unsafe or oversized package is refused as an OFD); anything
    else is read as a PDF."""
    if not document.startswith(b"PK\x03\x04"):
        return False
    try:
        with zipfile.ZipFile(io.BytesIO(document)) as z:
            return "OFD.xml" in z.namelist()
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, UnicodeDecodeError):
        return False


@dataclass(frozen=True)
class DigestRequest:
    title: str
    digest_sha256: str
    callback_url: str | None = None
    expires_in: int | None = None


def _field(name: str, message: str) -> ValidationFailed:
    return ValidationFailed.field(name, message)


def _lifetime(ctx: Stamping, expires_in: int | None) -> timedelta:
    s = ctx.settings
    if expires_in is None:
        return timedelta(seconds=min(s.stamp_request_ttl_seconds, s.stamp_request_max_ttl_seconds))
    if not 1 <= expires_in <= s.stamp_request_max_ttl_seconds:
        raise _field("expires_in", f"between 1 and {s.stamp_request_max_ttl_seconds} seconds")
    return timedelta(seconds=expires_in)


def _common(ctx: Stamping, title: str, callback_url: str | None) -> tuple[str, str | None]:
    title = title.strip()
    if not 1 <= len(title) <= rules.MAX_TITLE:
        raise _field("title", f"1 to {rules.MAX_TITLE} characters")
    if callback_url:
        allow_private = ctx.settings.callbacks_may_reach_private_addresses
        rules.check_callback_url(callback_url, allow_private=allow_private)
    return title, callback_url or None


async def create_pdf_request(ctx: Stamping, client: Client, cmd: PdfRequest) -> dict[str, Any]:
    title, callback = _common(ctx, cmd.title, cmd.callback_url)
    lifetime = _lifetime(ctx, cmd.expires_in)
    max_bytes = ctx.settings.max_document_bytes
    position = _legacy_position(cmd)

    async def inspect() -> tuple[PdfInfo, list[Placement]]:
        reader = open_strict_reader(cmd.document, max_bytes)
        # the same caps as verification: the stamped document must stay verifiable
        check_limits(reader, max_signatures=ctx.settings.pdf_max_signatures,
                     max_pages=ctx.settings.pdf_max_pages)
        info = describe_pdf(reader, cmd.document)
        if position is not None:
            check_position(info, *position)
            return info, placement_model.legacy(*position)
        assert cmd.placements is not None
        # the text is read (pdfminer) only if a placement names a keyword
        text = PdfText(cmd.document, info.page_origins)
        return info, resolve(cmd.placements, Pages("pt", info.page_sizes), text.find)

    info, placements = await ctx.workers.run(inspect)
    return await _create(ctx, client, kind="pdf", title=title, sha256=info.sha256, callback=callback,
                         lifetime=lifetime, document=cmd.document, size=len(cmd.document),
                         pages=info.pages, placements=placements)


async def create_ofd_request(ctx: Stamping, client: Client, cmd: PdfRequest) -> dict[str, Any]:
    """An OFD (GB/T 33190): coordinates are millimetres, the seal's centre, y from the top edge."""
    title, callback = _common(ctx, cmd.title, cmd.callback_url)
    lifetime = _lifetime(ctx, cmd.expires_in)
    position = _legacy_position(cmd)

    async def inspect() -> tuple[ofd.OfdInfo, list[Placement]]:
        # zip-bomb and entry limits, safe XML, pages (same cap as PDFs)
        info = ofd.inspect_ofd(cmd.document, max_pages=ctx.settings.pdf_max_pages)
        if len(info.signatures) >= ctx.settings.pdf_max_signatures:
            raise ofd.OfdError(f"already {len(info.signatures)} signatures", code="too_many_signatures")
        if position is not None:
            ofd.check_point(info, *position)
            return info, placement_model.legacy(*position)
        assert cmd.placements is not None
        pages = Pages("mm", [(p.width_mm, p.height_mm) for p in info.pages])
        return info, resolve(cmd.placements, pages, lambda k: find_ofd_text(cmd.document, k))

    info, placements = await ctx.workers.run(inspect)
    return await _create(ctx, client, kind="ofd", title=title, sha256=info.sha256_hex,
                         callback=callback, lifetime=lifetime, document=cmd.document,
                         size=len(cmd.document), pages=len(info.pages), placements=placements)


async def create_digest_request(ctx: Stamping, client: Client, cmd: DigestRequest) -> dict[str, Any]:
    title, callback = _common(ctx, cmd.title, cmd.callback_url)
    digest = cmd.digest_sha256.strip().lower()
    if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        raise _field("digest_sha256", "64 hexadecimal characters (a SHA-256 digest)")
    return await _create(ctx, client, kind="digest", title=title, sha256=digest, callback=callback,
                         lifetime=_lifetime(ctx, cmd.expires_in))


async def _create(ctx: Stamping, client: Client, *, kind: str, title: str, sha256: str,
                  callback: str | None, lifetime: timedelta, document: bytes | None = None,
                  size: int | None = None, pages: int | None = None,
                  placements: Sequence[Placement] = ()) -> dict[str, Any]:
    now = ctx.clock()
    # The page/x/y columns keep the first positioned spot (what older readers and the
    # request's ``position`` show; none if only 骑缝章); the placements hold them all.
    first = next((s for p in placements for s in p.spots if s.x is not None), None)
    page, x, y = (first.page, first.x, first.y) if first is not None else (None, None, None)
    token = qr.new_token()
    row = RequestRow(request_id=uuid.uuid4(), client_id=client.client_id, kind=kind, title=title,
                     document_sha256=sha256, document_size=size, pages=pages, page=page, x=x, y=y,
                     callback_url=callback, token_hash=qr.token_hash(token), expires_at=now + lifetime,
                     created_at=now, claim_id=None, claimed_by=None, claimed_until=None,
                     placements=tuple(placements))
    event = StampRequested(request_id=row.request_id, client_id=str(client.client_id), title=title,
                           document_sha256=sha256, expires_at=row.expires_at)
    async with ctx.db.transaction() as uow:
        await uow.append(row.request_id, STREAM_TYPE, 0, [event],
                         metadata={"actor": str(client.client_id), "actor_role": "client"})
        await repository.insert_request(uow.conn, row, document)
    payload = str(qr.QrPayload(row.request_id, token))
    return {
        "request_id": str(row.request_id), "status": "pending", "kind": kind,
        "qr_payload": payload, "qr_png_url": f"{API}/{row.request_id}/qr.png?t={token}",
        "expires_at": rfc3339(row.expires_at), "title": title,
        "document": _document(row),
    }


def _document(row: RequestRow) -> dict[str, Any]:
    doc: dict[str, Any] = {"sha256": row.document_sha256}
    if row.kind in ("pdf", "ofd"):
        doc.update(pages=row.pages, size=row.document_size)
    return doc


async def _owned(ctx: Stamping, client: Client, request_id: uuid.UUID) -> tuple[RequestRow, StampRequest]:
    async with ctx.pool.acquire() as conn:
        row = await repository.get_request(conn, request_id)
        if row is None or row.client_id != client.client_id:
            raise StampRequestNotFound()  # another client's request does not exist for you
        return row, await repository.load_request(conn, ctx.store, request_id)


async def get_request(ctx: Stamping, client: Client, request_id: uuid.UUID) -> dict[str, Any]:
    row, state = await _owned(ctx, client, request_id)
    async with ctx.pool.acquire() as conn:
        callbacks = await repository.callback_summary(conn, request_id)
    status = state.visible_status(ctx.clock())
    body: dict[str, Any] = {
        "request_id": str(request_id), "status": status, "kind": row.kind, "title": row.title,
        "document": _document(row), "created_at": rfc3339(row.created_at),
        "expires_at": rfc3339(row.expires_at),
        "stamped_at": rfc3339(state.stamped_at) if state.stamped_at else None,
        "record_id": str(state.record_id) if state.record_id else None,
        "result_url": f"{API}/{request_id}/result" if status == "stamped" else None,
        "callbacks": [{"event": c["event"], "status": c["status"], "attempts": c["attempts"]}
                      for c in callbacks],
    }
    if row.kind in ("pdf", "ofd"):
        body["position"] = ({"page": row.page, "x": row.x, "y": row.y}
                            if row.page is not None else None)
        body["placements"] = placements_view(row, None)
    return body


async def qr_image(ctx: Stamping, client: Client, request_id: uuid.UUID, token: str | None) -> bytes:
    row, state = await _owned(ctx, client, request_id)
    if not token or not qr.token_matches(token, row.token_hash):
        raise QrInvalid("the qr_png_url's token does not match this request")
    if state.status == "stamped":
        raise AlreadyStamped()
    if state.is_expired(ctx.clock()):
        raise RequestExpired()
    return qr_png(str(qr.QrPayload(request_id, token)))


@dataclass(frozen=True)
class Result:
    content: bytes
    content_type: str
    sha256: str
    record_id: uuid.UUID
    filename: str


async def result(ctx: Stamping, client: Client, request_id: uuid.UUID) -> Result:
    row, state = await _owned(ctx, client, request_id)
    if state.status != "stamped":
        if state.is_expired(ctx.clock()):
            raise RequestExpired()
        raise StampPending()
    async with ctx.pool.acquire() as conn:
        r = await repository.result(conn, request_id)
    assert r is not None, "a stamped request has a result"
    ext = {"pdf": "pdf", "ofd": "ofd"}.get(row.kind, "p7s")
    content = bytes(r["content"])
    return Result(content, r["content_type"], r["sha256"], r["record_id"], f"{request_id}.{ext}")



# the person's side of placements (issue 15) ----------------------------------------------


def placements_view(row: RequestRow,
                    usable: Sequence[EnterpriseChoice] | None) -> list[dict[str, Any]]:
    """Where each stamp goes (the request's and the scan's ``placements``) and, in the scan
    answer, for a placement that takes a seal, the seals the person may use now (``usable``,
    the scan's ``choices``), those of the placement's seal type when it names one."""
    unit = "mm" if row.kind == "ofd" else "pt"
    out = []
    for p in row.placements:
        item: dict[str, Any] = {
            "index": p.index, "kind": p.kind, "seal_type": p.seal_type, "unit": unit,
            "spots": [{"page": s.page, "x": s.x, "y": s.y} for s in p.spots]}
        if p.takes_seal and usable is not None:
            item["seal_choices"] = [
                {"seal_id": str(s.seal_id), "name": s.name, "type": s.type,
                 "enterprise_id": str(e.enterprise_id), "enterprise_name": e.enterprise_name}
                for e in usable for s in e.seals if p.seal_type is None or s.type == p.seal_type]
        out.append(item)
    return out


def parse_choices(raw: Any) -> tuple[Choice, ...]:
    """The stamp call's ``choices``: ``[{placement: int, seal_id: uuid}]``; any other shape
    is 422 ``invalid_choice``."""
    if raw is None:
        return ()
    if not isinstance(raw, list) or len(raw) > MAX_PLACEMENTS:
        raise InvalidChoice.field("choices", f"a list of at most {MAX_PLACEMENTS} "
                                  "{placement, seal_id} items")
    out = []
    for i, item in enumerate(raw):
        ok = (isinstance(item, dict) and set(item) == {"placement", "seal_id"}
              and type(item["placement"]) is int and item["placement"] >= 0
              and isinstance(item["seal_id"], str))
        try:
            seal_id = uuid.UUID(item["seal_id"]) if ok else None
        except ValueError:
            seal_id = None
        if seal_id is None:
            raise InvalidChoice.field(f"choices[{i}]", "{placement: index, seal_id: uuid}")
        out.append(Choice(item["placement"], seal_id))
    return tuple(out)


async def check_choices(ctx: Stamping, person_id: uuid.UUID, request_id: uuid.UUID,
                        seal_id: uuid.UUID | None, choices: Sequence[Choice]) -> uuid.UUID | None:
    """Before anything is signed: the choices fit the request's placements (each names a
    placement that takes a seal, none twice, every such placement has a seal, from its
    choice or the call's ``seal_id``), else 422 ``invalid_choice``. Returns the seal of the
    first seal placement (the call's ``seal_id`` when it gives one). A request that does not
    exist for this person is left to the stamp call to refuse (404 or 403 ``scan_required``)."""
    if not choices:
        return seal_id  # the single seal_id form, as before (required: checked by the caller)
    async with ctx.pool.acquire() as conn:
        row = await repository.get_request(conn, request_id)
        if row is None or not await repository.has_scanned(conn, request_id, person_id):
            return seal_id
    if row.kind == "digest":
        if choices:
            raise InvalidChoice.field("choices", "a digest request has no placements")
        return seal_id
    try:
        picked = chosen_seals(row.placements, choices, seal_id)
    except ValueError as e:
        raise InvalidChoice.field("choices", str(e)) from None
    if seal_id is not None:
        return seal_id
    return picked[min(picked)] if picked else None


async def takes_seal(ctx: Stamping, person_id: uuid.UUID, request_id: uuid.UUID) -> bool:
    """Whether the stamp call needs an enterprise and a seal: every request does but one with
    only personal ``signature`` placements (issue 15). A request that does not exist for this
    person counts as taking one (the stamp call then refuses it as before)."""
    async with ctx.pool.acquire() as conn:
        row = await repository.get_request(conn, request_id)
        if row is None or not await repository.has_scanned(conn, request_id, person_id):
            return True
    return row.kind == "digest" or not row.placements or any(p.takes_seal for p in row.placements)


@dataclass(frozen=True)
class PendingDocument:
    content: bytes
    content_type: str
    filename: str


async def pending_document(ctx: Stamping, person_id: uuid.UUID,
                           request_id: uuid.UUID) -> PendingDocument:
    """The uploaded PDF or OFD, for the person who scanned the request, while it is pending;
    for anyone else, and for a digest, stamped or expired request, no such request."""
    async with ctx.pool.acquire() as conn:
        row = await repository.get_request(conn, request_id)
        if (row is None or row.kind not in ("pdf", "ofd")
                or not await repository.has_scanned(conn, request_id, person_id)):
            raise StampRequestNotFound()
        state = await repository.load_request(conn, ctx.store, request_id)
        if state.visible_status(ctx.clock()) != "pending":
            raise StampRequestNotFound()
        content = await repository.document(conn, request_id)
    if content is None:
        raise StampRequestNotFound()
    content_type = "application/ofd" if row.kind == "ofd" else "application/pdf"
    return PendingDocument(bytes(content), content_type, f"{request_id}.{row.kind}")
