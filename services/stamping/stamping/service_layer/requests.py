"""Stamp requests from relying systems: create, poll, QR image, result."""

from __future__ import annotations

import io
import uuid
import zipfile
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from shared.catalog import StampRequested
from shared.errors import ValidationFailed

from ..adapters import ofd, repository
from ..adapters.pdf import PdfInfo, check_limits, check_position
from ..adapters.pdf.validation import describe_pdf, open_strict_reader
from ..adapters.qr_image import qr_png
from ..adapters.repository import STREAM_TYPE, Client, RequestRow
from ..domain import qr, rules
from ..domain.authorization import rfc3339
from ..domain.errors import AlreadyStamped, QrInvalid, RequestExpired, StampPending, StampRequestNotFound
from ..domain.stamp_request import StampRequest
from ..projections import apply_inline
from .context import Stamping

API = "/api/v1/stamp-requests"


@dataclass(frozen=True)
class PdfRequest:
    title: str
    document: bytes
    page: int
    x: float
    y: float
    callback_url: str | None = None
    expires_in: int | None = None


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

    async def inspect() -> PdfInfo:
        reader = open_strict_reader(cmd.document, max_bytes)
        # the same caps as verification: the stamped document must stay verifiable
        check_limits(reader, max_signatures=ctx.settings.pdf_max_signatures,
                     max_pages=ctx.settings.pdf_max_pages)
        return describe_pdf(reader, cmd.document)

    info = await ctx.workers.run(inspect)
    check_position(info, cmd.page, cmd.x, cmd.y)
    return await _create(ctx, client, kind="pdf", title=title, sha256=info.sha256, callback=callback,
                         lifetime=lifetime, document=cmd.document, size=len(cmd.document),
                         pages=info.pages, page=cmd.page, x=cmd.x, y=cmd.y)


async def create_ofd_request(ctx: Stamping, client: Client, cmd: PdfRequest) -> dict[str, Any]:
    """An OFD (GB/T 33190): page/x/y are millimetres, the seal's centre, y from the top edge."""
    title, callback = _common(ctx, cmd.title, cmd.callback_url)
    lifetime = _lifetime(ctx, cmd.expires_in)

    async def inspect() -> ofd.OfdInfo:
        # zip-bomb and entry limits, safe XML, pages (same cap as PDFs)
        return ofd.inspect_ofd(cmd.document, max_pages=ctx.settings.pdf_max_pages)

    info = await ctx.workers.run(inspect)
    if len(info.signatures) >= ctx.settings.pdf_max_signatures:
        raise ofd.OfdError(f"already {len(info.signatures)} signatures", code="too_many_signatures")
    ofd.check_point(info, cmd.page, cmd.x, cmd.y)
    return await _create(ctx, client, kind="ofd", title=title, sha256=info.sha256_hex,
                         callback=callback, lifetime=lifetime, document=cmd.document,
                         size=len(cmd.document), pages=len(info.pages), page=cmd.page,
                         x=cmd.x, y=cmd.y)


async def create_digest_request(ctx: Stamping, client: Client, cmd: DigestRequest) -> dict[str, Any]:
    title, callback = _common(ctx, cmd.title, cmd.callback_url)
    digest = cmd.digest_sha256.strip().lower()
    if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        raise _field("digest_sha256", "64 hexadecimal characters (a SHA-256 digest)")
    return await _create(ctx, client, kind="digest", title=title, sha256=digest, callback=callback,
                         lifetime=_lifetime(ctx, cmd.expires_in))


async def _create(ctx: Stamping, client: Client, *, kind: str, title: str, sha256: str,
                  callback: str | None, lifetime: timedelta, document: bytes | None = None,
                  size: int | None = None, pages: int | None = None, page: int | None = None,
                  x: float | None = None, y: float | None = None) -> dict[str, Any]:
    now = ctx.clock()
    token = qr.new_token()
    row = RequestRow(request_id=uuid.uuid4(), client_id=client.client_id, kind=kind, title=title,
                     document_sha256=sha256, document_size=size, pages=pages, page=page, x=x, y=y,
                     callback_url=callback, token_hash=qr.token_hash(token), expires_at=now + lifetime,
                     created_at=now, claim_id=None, claimed_by=None, claimed_until=None)
    event = StampRequested(request_id=row.request_id, client_id=str(client.client_id), title=title,
                           document_sha256=sha256, expires_at=row.expires_at)
    async with ctx.pool.acquire() as conn, conn.transaction():
        stored = await ctx.store.append(conn, row.request_id, STREAM_TYPE, 0, [event],
                                        metadata={"actor": str(client.client_id), "actor_role": "client"})
        await apply_inline(conn, stored)
        await repository.insert_request(conn, row, document)
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
        body["position"] = {"page": row.page, "x": row.x, "y": row.y}
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

