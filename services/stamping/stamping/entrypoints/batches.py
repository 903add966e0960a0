"""HTTP routes of batches (issue 15): one QR code and one certificate password for up to 50
documents (docs/STAMPING.md, "Batches").

Relying systems: ``POST /api/v1/stamp-batches``, ``GET /api/v1/stamp-batches/{id}``.
Persons: ``POST /api/v1/stamp-batches/scans``, ``POST /api/v1/stamp-batches/{id}/stamp``,
``GET /api/v1/stamp-batches/{id}`` (the person who scanned it).
"""

from __future__ import annotations

import contextlib
import json
import re
import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import Annotated, Any, Literal

from aiohttp import BodyPartReader, web
from aiohttp.http_exceptions import BadHttpMessage
from pydantic import BaseModel, Field

from shared.auth import bearer_token, require_principal
from shared.errors import BadRequest, PayloadTooLarge, UnsupportedMediaType, ValidationFailed
from shared.http import ApiModel, documented, json_response, parse_json, path_uuid, read_json, validate

from ..adapters.credentials import is_client_token
from ..adapters.pdf import PdfTooLarge
from ..domain.errors import InvalidChoice
from ..domain.placements import MAX_PLACEMENTS
from ..service_layer import batches, requests
from . import responses as doc
from .http import STAMPING, ChoiceItem, ScanBody, _read_limited, require_client

_DOCUMENT = re.compile(r"^documents\[(\d{1,2})\]$")
_ITEMS_LIMIT = batches.MAX_DOCUMENTS * 64 * 1024


# the API's shapes ----------------------------------------------------------------------


class BatchItem(ApiModel):
    """One document of ``items``: its title and where the stamps go (as a single request)."""

    title: str = Field(min_length=1, max_length=200)
    page: int | None = Field(default=None, ge=1)
    x: float | None = None
    y: float | None = None
    placements: list[Any] | None = Field(default=None, description="as `placements` of POST "
                                                                   "/api/v1/stamp-requests")


class BatchForm(BaseModel):
    """``multipart/form-data``: ``items`` (JSON: one item per document, in order) and the
    files ``documents[0]`` … ``documents[n-1]`` (PDF or OFD, read by content)."""

    items: Annotated[str, Field(description="a JSON list of 1 to 50 {title, placements | "
                                            "page/x/y}; item i describes documents[i]")]
    documents_0: Annotated[bytes, Field(alias="documents[0]", json_schema_extra={
        "contentMediaType": "application/pdf",
        "description": "the first document; documents[1] … documents[49] likewise"})]
    expires_in: int | None = Field(default=None, description="seconds, as for a stamp request")
    callback_url: str | None = Field(default=None, max_length=2048, description=(
        "called (signed, retried, as a request's callbacks) when the batch is finished "
        "(`stamp_batch.finished`) or expired unstamped (`stamp_batch.expired`)"))


class BatchDocumentCreated(BaseModel):
    request_id: uuid.UUID
    title: str
    kind: Literal["pdf", "ofd"]
    document: doc.RequestDocument


class BatchCreated(BaseModel):
    batch_id: uuid.UUID
    status: Literal["pending"]
    qr_payload: str = Field(description="show it as a QR code: one scan for every document")
    expires_at: datetime
    documents: list[BatchDocumentCreated]


class BatchScanDocument(BaseModel):
    request_id: uuid.UUID
    title: str
    kind: Literal["pdf", "ofd"]
    status: Literal["pending", "stamped", "expired"]
    document: dict[str, Any] = Field(description="sha256, pages, size, and `url`: GET it to see "
                                                 "the document")
    placements: list[doc.PlacementView]


class BatchScanView(BaseModel):
    batch_id: uuid.UUID
    expires_at: datetime
    requester: doc.Requester
    choices: list[doc.Choice]
    documents: list[BatchScanDocument]


class BatchDocumentChoice(ApiModel):
    request_id: uuid.UUID
    seal_id: uuid.UUID | None = Field(default=None, description="this document's seal (else "
                                                                "the call's `seal_id`)")
    choices: list[ChoiceItem] | None = Field(default=None, max_length=MAX_PLACEMENTS)


class BatchStampBody(ApiModel):
    enterprise_id: uuid.UUID | None = Field(
        default=None, description="the enterprise whose seals I use; not needed when no "
                                  "document takes a seal (only personal `signature` placements)")
    certificate_password: str = Field(min_length=1, max_length=128)
    seal_id: uuid.UUID | None = Field(default=None, description="the seal of every document "
                                                                "that does not name its own")
    documents: list[BatchDocumentChoice] | None = Field(
        default=None, max_length=batches.MAX_DOCUMENTS,
        description="per document: its seal and per-placement choices, as the single stamp call")


class BatchError(BaseModel):
    code: str
    message: str


class BatchDocumentView(BaseModel):
    request_id: uuid.UUID
    title: str
    kind: Literal["pdf", "ofd"]
    status: Literal["pending", "stamped", "expired"]
    record_id: uuid.UUID | None
    record_ids: list[uuid.UUID] = Field(description="one usage record per seal placement")
    result_url: str | None = Field(description="the relying system's stamped document")
    error: BatchError | None = Field(description="why the batch stamp did not stamp it")


class BatchView(BaseModel):
    batch_id: uuid.UUID
    status: Literal["pending", "scanned", "stamping", "stamped", "partially_stamped", "failed",
                    "expired"]
    created_at: datetime
    expires_at: datetime
    stamped_at: datetime | None
    documents: list[BatchDocumentView]
    callbacks: list[doc.CallbackState] = Field(
        description="the batch's callbacks' delivery state (for its relying system; empty for "
                    "the person)")


NO_BATCH = "no such batch of this client, or scanned by me (`stamp_batch_not_found`)"


# routes --------------------------------------------------------------------------------


@documented(summary="批量盖章请求 / request stamps on up to 50 documents with one QR code",
            tags=("stamping",), auth="client", response=BatchCreated,
            bodies={"multipart/form-data": BatchForm},
            responses={201: "pending: show its QR code to the person who will stamp them all",
                       400: "a malformed multipart body (`invalid_multipart`)",
                       401: doc.CLIENT_AUTH, 403: doc.CLIENTS_ONLY,
                       413: "a document is too large (`pdf_too_large`)",
                       422: "as for one stamp request, with `errors[].field` "
                            "`documents[i]…` naming the document; no documents, more than 50, "
                            "an item without its document or a document without its item; "
                            "a bad callback URL (`callback_url_invalid`)"})
async def create_batch(request: web.Request) -> web.Response:
    ctx = request.app[STAMPING]
    client = await require_client(request)
    if request.content_type != "multipart/form-data":
        raise UnsupportedMediaType("send multipart/form-data: items and documents[i]")
    fields, files = await _read_batch(request, ctx.settings.max_document_bytes)
    raw = fields.get("items")
    try:
        items = json.loads(raw) if raw is not None else None
    except (ValueError, RecursionError):
        items = None
    if not isinstance(items, list) or not 1 <= len(items) <= batches.MAX_DOCUMENTS:
        raise ValidationFailed.field("items", f"a JSON list of 1 to {batches.MAX_DOCUMENTS} items")
    if set(files) != set(range(len(items))):
        raise ValidationFailed.field("documents", "one file documents[i] for each item i")
    docs = []
    for i, raw_item in enumerate(items):
        try:
            item = validate(BatchItem, raw_item if isinstance(raw_item, dict) else {})
            placements = (None if item.placements is None
                          else requests.parse_placements(item.placements))
        except ValidationFailed as e:
            e.errors = [{**err, "field": f"items[{i}].{err.get('field', '')}"} for err in e.errors]
            raise
        docs.append(requests.PdfRequest(title=item.title, document=files[i], page=item.page,
                                        x=item.x, y=item.y, placements=placements))
    expires = fields.get("expires_in")
    try:
        expires_in = int(expires) if expires else None
    except ValueError:
        raise ValidationFailed.field("expires_in", "seconds") from None
    callback_url = fields.get("callback_url") or None
    if callback_url is not None and len(callback_url) > 2048:
        raise ValidationFailed.field("callback_url", "at most 2048 characters")
    body = await batches.create_batch(ctx, client, docs, expires_in, callback_url)
    return json_response(body, status=201, headers={
        "Location": f"{batches.API}/{body['batch_id']}", "Cache-Control": "no-store"})


async def _read_batch(request: web.Request, max_document: int) -> tuple[dict[str, str], dict[int, bytes]]:
    total = batches.MAX_DOCUMENTS * max_document + _ITEMS_LIMIT
    if request.content_length is not None and request.content_length > total:
        raise PdfTooLarge(f"the upload is larger than the {total} byte limit")
    try:
        reader = await request.multipart()
    except (AssertionError, ValueError):
        raise BadRequest("malformed multipart body", code="invalid_multipart") from None
    fields: dict[str, str] = {}
    files: dict[int, bytes] = {}
    with _framing():
        async for part in reader:
            if not isinstance(part, BodyPartReader) or not part.name:
                continue
            m = _DOCUMENT.match(part.name)
            if m and int(m.group(1)) < batches.MAX_DOCUMENTS:
                files[int(m.group(1))] = await _read_limited(part, max_document, PdfTooLarge)
            elif part.name in ("items", "expires_in", "callback_url"):
                fields[part.name] = await _text(part)
            else:
                await part.release()
    return fields, files


@contextlib.contextmanager
def _framing() -> Iterator[None]:
    """A part's broken headers or framing: 400 ``invalid_multipart``."""
    try:
        yield
    except (BadHttpMessage, AssertionError, ValueError):
        raise BadRequest("malformed multipart body", code="invalid_multipart") from None


async def _text(part: BodyPartReader) -> str:
    raw = await _read_limited(part, _ITEMS_LIMIT, PayloadTooLarge)
    try:
        return raw.decode(part.get_charset("utf-8")).strip()
    except (UnicodeDecodeError, LookupError):
        raise BadRequest(f"field {part.name} is not UTF-8 text", code="invalid_multipart") from None


@documented(summary="批量盖章状态 / a batch: each document's status, records and result",
            tags=("stamping",), auth="client", response=BatchView,
            responses={200: "the batch, for its relying system or the person who scanned it",
                       401: doc.CLIENT_AUTH, 404: NO_BATCH})
async def get_batch(request: web.Request) -> web.Response:
    ctx = request.app[STAMPING]
    batch_id = path_uuid(request, "batch_id")
    token = bearer_token(request)
    viewer: Any
    if token is not None and is_client_token(token):
        viewer = await require_client(request)
    else:
        viewer = await require_principal(request)
    body = await batches.get_batch(ctx, viewer, batch_id)
    return json_response(body, headers={"Cache-Control": "no-store"})


@documented(summary="扫一扫（批量） / scan a batch's QR code", tags=("stamping",), body=ScanBody,
            response=BatchScanView,
            responses={200: "the batch's documents, each as a single scan shows it",
                       403: doc.PERSONS_ONLY, 404: "an unknown QR code (`qr_invalid`)",
                       409: "already stamped (`already_stamped`); another person scanned it "
                            "first (`batch_scanned_by_another`)",
                       410: "expired (`expired`)",
                       422: "not an e-seal batch QR code (`qr_unreadable`)"})
async def scan_batch(request: web.Request) -> web.Response:
    person = await require_principal(request, "person")
    cmd = await parse_json(request, ScanBody)
    body = await batches.scan(request.app[STAMPING], person, cmd.qr_payload)
    return json_response(body, headers={"Cache-Control": "no-store"})


@documented(summary="批量盖章 / stamp every document of a batch with one password",
            tags=("stamping",), body=BatchStampBody, response=BatchView,
            responses={200: "done: each document stamped, or its `error` (the others are kept)",
                       403: doc.PERSONS_ONLY + "; wrong certificate password "
                            "(`wrong_certificate_password`: nothing was stamped, the QR code "
                            "still works)",
                       404: NO_BATCH,
                       409: "already stamped (`already_stamped`): the QR code stamps once",
                       410: "expired (`expired`)",
                       422: "choices that do not fit a document (`invalid_choice`, "
                            "`errors[].field` `documents[i]…`)",
                       423: "the certificate is locked (`certificate_locked`)"})
async def stamp_batch(request: web.Request) -> web.Response:
    ctx = request.app[STAMPING]
    person = await require_principal(request, "person")
    batch_id = path_uuid(request, "batch_id")
    data = await read_json(request)
    if not isinstance(data, dict):
        raise ValidationFailed.field("body", "expected a JSON object")
    raw_docs = data.pop("documents", None)
    cmd = validate(BatchStampBody, data)
    if raw_docs is not None and not isinstance(raw_docs, list):
        raise InvalidChoice.field("documents", "a list of {request_id, seal_id?, choices?}")
    chosen = []
    for i, raw in enumerate(raw_docs or []):
        if not isinstance(raw, dict):
            raise InvalidChoice.field(f"documents[{i}]", "{request_id, seal_id?, choices?}")
        choices = requests.parse_choices(raw.pop("choices", None))
        one = validate(BatchDocumentChoice, raw)
        chosen.append(batches.DocumentChoice(one.request_id, one.seal_id, choices))
    body = await batches.stamp(ctx, person, batch_id, batches.BatchStampCommand(
        cmd.enterprise_id, cmd.certificate_password, cmd.seal_id, tuple(chosen)))
    return json_response(body, headers={"Cache-Control": "no-store"})


def setup_routes(app: web.Application) -> None:
    r = app.router
    r.add_post("/api/v1/stamp-batches", create_batch)
    r.add_post("/api/v1/stamp-batches/scans", scan_batch)
    r.add_get("/api/v1/stamp-batches/{batch_id}", get_batch)
    r.add_post("/api/v1/stamp-batches/{batch_id}/stamp", stamp_batch)


__all__ = ["setup_routes"]
