"""HTTP routes of the stamping service (thin: parse, authorize, call the service layer).

Relying systems (client tokens): ``POST /api/v1/oauth/token``, ``POST /api/v1/stamp-requests``,
``GET /api/v1/stamp-requests/{id}``, ``…/qr.png``, ``…/result``.
Persons (identity tokens): ``POST /api/v1/scans``, ``GET /api/v1/stamp-requests/{id}/document``,
``POST /api/v1/stamp-requests/{id}/stamp``.
Users: ``GET /api/v1/usage-records``, ``GET /api/v1/usage-records/export`` (the enterprise),
``GET /api/v1/usage-records/{id}/evidence.pdf`` (the enterprise and the person: 出证报告).
Public: ``POST /api/v1/verifications``.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import uuid
from collections.abc import Coroutine
from datetime import datetime
from typing import Any, Literal, TypeVar
from urllib.parse import parse_qs, unquote_plus

from aiohttp import BodyPartReader, web
from aiohttp.http_exceptions import BadHttpMessage
from pydantic import AwareDatetime, Field

from shared import cursors
from shared.auth import bearer_token, require_principal
from shared.china_time import CHINA_TZ
from shared.errors import (
    BadRequest,
    EsealError,
    NotAuthenticated,
    PayloadTooLarge,
    UnsupportedMediaType,
    ValidationFailed,
)
from shared.http import (
    ApiModel,
    documented,
    json_response,
    parse_json,
    path_uuid,
    read_json,
    validate,
)

from ..adapters import usage_export
from ..adapters.credentials import is_client_token
from ..adapters.pdf import PdfTooLarge
from ..adapters.repository import Client
from ..domain.authorization import rfc3339
from ..domain.errors import ClientRequired, OAuthError, StampRequestNotFound
from ..domain.placements import MAX_PLACEMENTS
from ..service_layer import clients, evidence, requests, stamp_plan, stamping, usage, verification
from ..service_layer.context import Stamping
from . import responses as doc

STAMPING = web.AppKey("stamping", Stamping)
T = TypeVar("T")
DISCONNECT_POLL_SECONDS = 0.2
_TEXT_FIELD_LIMIT = 4096
_PLACEMENTS_LIMIT = 64 * 1024  # MAX_PLACEMENTS items, each with a keyword of up to 50 characters


# auth -------------------------------------------------------------------------------


async def require_client(request: web.Request) -> Client:
    token = bearer_token(request)
    if token is None:
        raise NotAuthenticated("a client access token is required (POST /api/v1/oauth/token)",
                               headers={"WWW-Authenticate": 'Bearer realm="eseal"'})
    if not is_client_token(token):
        raise ClientRequired()
    return await clients.authenticate(request.app[STAMPING], token)


def _basic_credentials(request: web.Request) -> tuple[str | None, str | None]:
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "basic" or not value:
        return None, None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None, None
    client_id, sep, secret = decoded.partition(":")
    if not sep:
        return None, None
    # RFC 6749 §2.3.1: both parts are form-urlencoded before Basic encoding.
    return unquote_plus(client_id), unquote_plus(secret)


# relying systems ----------------------------------------------------------------------


@documented(summary="盖章系统取令牌 / a relying system's access token (client credentials)",
            tags=("stamping",), auth="basic", response=doc.ClientToken,
            bodies={"application/x-www-form-urlencoded": doc.TokenForm,
                    "application/json": doc.TokenForm},
            responses={200: "the token (OAuth2 client credentials, RFC 6749 §4.4)",
                       400: "no or another grant_type (`unsupported_grant_type`, "
                            "`invalid_request`)",
                       401: "unknown client or wrong secret (`invalid_client`)"})
async def token(request: web.Request) -> web.Response:
    client_id, secret = _basic_credentials(request)
    grant_type = await _grant_type(request)
    body = await clients.issue_token(request.app[STAMPING], client_id, secret, grant_type)
    return json_response(body, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})


async def _grant_type(request: web.Request) -> str | None:
    if not request.body_exists:
        return None
    if request.content_type == "application/x-www-form-urlencoded":
        raw = await request.read()
        try:
            form = parse_qs(raw.decode("utf-8"), keep_blank_values=True)
        except UnicodeDecodeError:
            raise OAuthError("invalid_request", "the form is not UTF-8") from None
        values = form.get("grant_type", [])
    elif request.content_type == "application/json":
        data = await read_json(request)
        given = data.get("grant_type") if isinstance(data, dict) else None
        values = [str(given)] if given else []
    else:
        raise OAuthError("invalid_request", "send application/x-www-form-urlencoded or JSON")
    if len(values) > 1:
        raise OAuthError("invalid_request", "grant_type given more than once")
    return str(values[0]) if values else None


class DigestRequestBody(ApiModel):
    title: str = Field(min_length=1, max_length=200)
    digest_sha256: str = Field(min_length=64, max_length=64)
    callback_url: str | None = Field(default=None, max_length=2048)
    expires_in: int | None = None
    placements: list[Any] | None = Field(default=None, description="refused: a digest has no "
                                                                     "pages to place stamps on")


class PdfFields(ApiModel):
    title: str = Field(min_length=1, max_length=200)
    page: int | None = Field(default=None, ge=1)
    x: float | None = None
    y: float | None = None
    callback_url: str | None = Field(default=None, max_length=2048)
    expires_in: int | None = None
    placements: str | None = None  # JSON, parsed by requests.parse_placements


@documented(summary="发起盖章请求 / request a stamp: a PDF or an OFD (multipart) or a digest (JSON)",
            tags=("stamping",), auth="client", response=doc.StampRequestCreated,
            bodies={"multipart/form-data": doc.PdfRequestForm,
                    "application/json": DigestRequestBody},
            responses={201: "pending: show its QR code to the person who will stamp",
                       400: "a malformed multipart body (`invalid_multipart`)",
                       401: doc.CLIENT_AUTH, 403: doc.CLIENTS_ONLY,
                       413: "the PDF is too large (`pdf_too_large`)",
                       422: "not a usable PDF (`not_a_pdf`) or OFD (`not_an_ofd`, `ofd_unsafe`, "
                            "`document_too_complex`, `too_many_pages`), a page or position "
                            "outside it (`page_out_of_range`, `position_off_page`), a keyword "
                            "that does not occur (`keyword_not_found`), an unknown seal type "
                            "(`unknown_seal_type`), both page/x/y and placements, placements "
                            "on a digest, a bad digest or callback URL (`callback_url_invalid`); "
                            "`errors` names the placement (`placements[i]`)"})
async def create_request(request: web.Request) -> web.Response:
    ctx = request.app[STAMPING]
    client = await require_client(request)
    if request.content_type == "application/json":
        cmd = await parse_json(request, DigestRequestBody)
        if cmd.placements is not None:
            raise _missing("placements", "a digest request takes no placements")
        body = await requests.create_digest_request(ctx, client, requests.DigestRequest(
            title=cmd.title, digest_sha256=cmd.digest_sha256, callback_url=cmd.callback_url,
            expires_in=cmd.expires_in))
    elif request.content_type == "multipart/form-data":
        fields, document = await _read_multipart(request, ctx.settings.max_document_bytes)
        if document is None:
            raise _missing("document", "attach the PDF as the multipart field 'document'")
        pdf = validate(PdfFields, {k: v for k, v in fields.items() if v != "" or k == "title"})
        placements = None if pdf.placements is None else requests.parse_placements(pdf.placements)
        create = (requests.create_ofd_request if requests.is_ofd_upload(document)
                  else requests.create_pdf_request)
        body = await create(ctx, client, requests.PdfRequest(
            title=pdf.title, document=document, page=pdf.page, x=pdf.x, y=pdf.y,
            callback_url=pdf.callback_url, expires_in=pdf.expires_in, placements=placements))
    else:
        raise UnsupportedMediaType("send multipart/form-data (a PDF) or application/json (a digest)")
    return json_response(body, status=201,
                         headers={"Location": f"/api/v1/stamp-requests/{body['request_id']}",
                                  "Cache-Control": "no-store"})


def _missing(field: str, message: str) -> ValidationFailed:
    return ValidationFailed.field(field, message)


async def _read_multipart(request: web.Request, max_document: int) -> tuple[dict[str, str], bytes | None]:
    """Text fields and the ``document`` file; the file is refused as soon as it is too big."""
    if request.content_length is not None and request.content_length > max_document + 256 * 1024:
        raise PdfTooLarge(f"the upload is larger than the {max_document} byte limit")
    try:
        reader = await request.multipart()
    except (AssertionError, ValueError):
        raise BadRequest("malformed multipart body", code="invalid_multipart") from None
    fields: dict[str, str] = {}
    document: bytes | None = None
    try:
        async for part in reader:
            if not isinstance(part, BodyPartReader) or not part.name:
                continue
            if part.name == "document":
                document = await _read_limited(part, max_document, PdfTooLarge)
            elif part.name in PdfFields.model_fields:
                limit = _PLACEMENTS_LIMIT if part.name == "placements" else _TEXT_FIELD_LIMIT
                raw = await _read_limited(part, limit, PayloadTooLarge)
                try:
                    fields[part.name] = raw.decode(part.get_charset("utf-8")).strip()
                except (UnicodeDecodeError, LookupError):
                    raise BadRequest(f"field {part.name} is not UTF-8 text",
                                     code="invalid_multipart") from None
            else:
                await part.release()
    except (BadHttpMessage, AssertionError, ValueError):  # a part's headers or framing are broken
        raise BadRequest("malformed multipart body", code="invalid_multipart") from None
    return fields, document


async def _read_limited(part: BodyPartReader, limit: int, error: type[Exception]) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while chunk := await part.read_chunk(256 * 1024):
        size += len(chunk)
        if size > limit:
            raise error(f"{part.name} is larger than the {limit} byte limit")  # type: ignore[call-arg]
        chunks.append(chunk)
    return b"".join(chunks)


@documented(summary="盖章请求状态 / a stamp request's state", tags=("stamping",), auth="client",
            response=doc.StampRequestView,
            responses={200: "the request", 401: doc.CLIENT_AUTH, 403: doc.CLIENTS_ONLY,
                       404: doc.NO_REQUEST})
async def get_request(request: web.Request) -> web.Response:
    client = await require_client(request)
    body = await requests.get_request(request.app[STAMPING], client, path_uuid(request, "request_id"))
    return json_response(body, headers={"Cache-Control": "no-store"})


@documented(summary="盖章二维码 / the request's QR code", tags=("stamping",), auth="client",
            query=doc.QrQuery, content_type="image/png",
            responses={200: "PNG", 401: doc.CLIENT_AUTH, 403: doc.CLIENTS_ONLY,
                       404: doc.NO_REQUEST + "; an unknown QR token (`qr_invalid`)",
                       409: "already stamped (`already_stamped`)",
                       410: "expired (`expired`)"})
async def qr_png(request: web.Request) -> web.Response:
    client = await require_client(request)
    png = await requests.qr_image(request.app[STAMPING], client, path_uuid(request, "request_id"),
                                  request.query.get("t"))
    return web.Response(body=png, content_type="image/png", headers={"Cache-Control": "no-store"})


@documented(summary="盖章结果 / the stamped PDF or OFD, or the detached signature of a digest",
            tags=("stamping",), auth="client",
            content_type="application/pdf, application/ofd, application/pkcs7-signature",
            responses={200: "the stamped PDF (`application/pdf`), the stamped OFD "
                            "(`application/ofd`) or, for a digest request, the "
                            "CMS signature (`application/pkcs7-signature`)",
                       401: doc.CLIENT_AUTH, 403: doc.CLIENTS_ONLY, 404: doc.NO_REQUEST,
                       409: "not stamped yet (`stamp_pending`)", 410: "expired (`expired`)"})
async def result(request: web.Request) -> web.Response:
    client = await require_client(request)
    r = await requests.result(request.app[STAMPING], client, path_uuid(request, "request_id"))
    return web.Response(body=r.content, headers={
        "Content-Type": r.content_type, "ETag": f'"{r.sha256}"',
        "Content-Disposition": f'attachment; filename="{r.filename}"',
        "X-Eseal-Record-Id": str(r.record_id), "Cache-Control": "no-store"})


# persons ----------------------------------------------------------------------------


class ScanBody(ApiModel):
    qr_payload: str = Field(min_length=1, max_length=1024)


class ChoiceItem(ApiModel):
    placement: int = Field(ge=0, description="the placement's `index` (in the scan answer)")
    seal_id: uuid.UUID


class StampBody(ApiModel):
    enterprise_id: uuid.UUID | None = Field(
        default=None, description="the enterprise whose seals I use; not needed (ignored) when "
                                  "the request has only personal `signature` placements")
    seal_id: uuid.UUID | None = Field(
        default=None, description="the seal of every seal placement not named in `choices`; "
                                  "may be left out when `choices` names them all")
    certificate_password: str = Field(min_length=1, max_length=128)
    choices: list[ChoiceItem] | None = Field(
        default=None, max_length=MAX_PLACEMENTS,
        description="the seal for each placement that takes one (`invalid_choice` if a "
                    "placement is unknown, takes no seal, is named twice or left without one)")


@documented(summary="扫一扫 / scan a stamp request's QR code", tags=("stamping",), body=ScanBody,
            response=doc.ScanView,
            responses={200: "the request and the seals I may stamp it with",
                       403: doc.PERSONS_ONLY, 404: "an unknown QR code (`qr_invalid`)",
                       409: "already stamped (`already_stamped`)", 410: "expired (`expired`)",
                       422: "not an e-seal QR code (`qr_unreadable`)"})
async def scan(request: web.Request) -> web.Response:
    person = await require_principal(request, "person")
    cmd = await parse_json(request, ScanBody)
    body = await stamping.scan(request.app[STAMPING], person, cmd.qr_payload)
    return json_response(body, headers={"Cache-Control": "no-store"})


@documented(summary="盖章 / stamp the request with a seal granted to me", tags=("stamping",),
            body=StampBody, response=doc.Stamped,
            responses={201: "stamped: the usage record",
                       202: "用印审批: a chosen seal requires approval; the person's part is "
                            "signed and the request waits (`{status: \"awaiting_approval\", "
                            "approval_id, expires_at, approval_url}`)",
                       403: doc.PERSONS_ONLY + "; the seal is not granted to me now "
                            "(`not_authorized`); scan first (`scan_required`); wrong certificate "
                            "password (`wrong_certificate_password`, `attempts_left`)",
                       404: "no such request (`stamp_request_not_found`)",
                       409: "already stamped (`already_stamped`); waiting for approval "
                            "(`awaiting_approval`) or not approved (`approval_rejected`); the "
                            "seal is revoked "
                            "(`seal_revoked`); a signature placement and I have no personal "
                            "signature (`signature_required`), or, on an OFD, a certificate "
                            "older than SM2 (`sm2_certificate_pending`)",
                       410: "expired (`expired`)",
                       422: "choices that do not fit the request's placements "
                            "(`invalid_choice`)",
                       423: "the certificate is locked (`certificate_locked`)"})
async def stamp(request: web.Request) -> web.Response:
    ctx = request.app[STAMPING]
    person = await require_principal(request, "person")
    request_id = path_uuid(request, "request_id")
    data = await read_json(request)
    if not isinstance(data, dict):
        raise _missing("body", "expected a JSON object")
    # choices are checked on their own: a malformed list is 422 invalid_choice
    choices = requests.parse_choices(data.pop("choices", None))
    cmd = validate(StampBody, data)
    seal_id = await requests.check_choices(ctx, person.id, request_id, cmd.seal_id, choices)
    if await requests.takes_seal(ctx, person.id, request_id):
        if cmd.enterprise_id is None:
            raise _missing("enterprise_id", "required")
        if seal_id is None:
            raise _missing("seal_id", "required (or choose a seal for every placement in choices)")
    outcome = await stamping.stamp(ctx, person, request_id, stamp_plan.StampCommand(
        cmd.enterprise_id, seal_id, cmd.certificate_password, choices))
    if outcome.approval_id is not None:  # 用印审批: the person's part is signed; it waits
        return json_response({"status": "awaiting_approval", "approval_id": str(outcome.approval_id),
                              "request_id": str(request_id),
                              "expires_at": rfc3339(outcome.approval_expires_at or outcome.stamped_at),
                              "approval_url": f"/api/v1/approvals/{outcome.approval_id}"},
                             status=202, headers={"Server-Timing": outcome.timings.header()})
    return json_response({"record_id": str(outcome.record_id),
                          "record_ids": [str(i) for i in outcome.record_ids],
                          "request_id": str(request_id),
                          "stamped_at": rfc3339(outcome.stamped_at)}, status=201,
                         headers={"Server-Timing": outcome.timings.header()})


@documented(summary="待盖章文件 / the document to stamp, for the person who scanned it",
            tags=("stamping",), content_type="application/pdf, application/ofd",
            responses={200: "the uploaded PDF (`application/pdf`) or OFD (`application/ofd`), "
                            "while the request is pending, to the person who scanned it",
                       401: "no or an invalid access token",
                       404: "no such pending document request scanned by me "
                            "(`stamp_request_not_found`): also for another person's, a "
                            "digest, a stamped or an expired request"})
async def document(request: web.Request) -> web.Response:
    token = bearer_token(request)
    if token is not None and is_client_token(token):
        raise StampRequestNotFound()  # a relying system reads its request, not this
    principal = await require_principal(request)
    request_id = path_uuid(request, "request_id")
    if principal.role != "person":
        raise StampRequestNotFound()
    doc_ = await requests.pending_document(request.app[STAMPING], principal.id, request_id)
    return web.Response(body=doc_.content, headers={
        "Content-Type": doc_.content_type, "Cache-Control": "no-store",
        "Content-Disposition": f'inline; filename="{doc_.filename}"',
        "X-Content-Type-Options": "nosniff"})


# users ------------------------------------------------------------------------------


class UsageParams(ApiModel):
    from_: AwareDatetime | None = Field(default=None, alias="from")
    to: AwareDatetime | None = None
    seal_id: uuid.UUID | None = None
    limit: int = Field(default=usage.DEFAULT_LIMIT, ge=1, le=usage.MAX_LIMIT)
    cursor: str | None = Field(default=None, max_length=200)


@documented(summary="使用记录 / usage records (the last 3 months)", tags=("usage",),
            query=UsageParams, response=doc.UsagePage,
            responses={200: "an enterprise sees its seals' records, a person their own",
                       422: cursors.DOCUMENTED})
async def usage_records(request: web.Request) -> web.Response:
    principal = await require_principal(request)
    q = validate(UsageParams, _query(request))
    body = await usage.list_records(request.app[STAMPING], principal, usage.UsageQuery(
        since=q.from_, until=q.to, seal_id=q.seal_id, limit=q.limit, cursor=q.cursor))
    return json_response(body, headers={"Cache-Control": "no-store"})


class ExportParams(ApiModel):
    from_: AwareDatetime | None = Field(default=None, alias="from")
    to: AwareDatetime | None = None
    seal_id: uuid.UUID | None = None
    format: Literal["csv", "xlsx"] = "csv"


@documented(summary="导出使用记录 / export the enterprise's usage records (CSV or XLSX, the last 3 months)",
            tags=("usage",), query=ExportParams,
            content_type=f"{usage_export.CSV_TYPE}, {usage_export.XLSX_TYPE}",
            responses={200: "the enterprise's seals' records in the window (same `from`, `to`, "
                            "`seal_id` as the list), newest first, streamed: `format=csv` (default) "
                            "UTF-8 with a BOM, `format=xlsx` a workbook; Chinese headers, China "
                            "time; a cell that starts with `=`, `+`, `-` or `@` is prefixed with "
                            "`'`; `Content-Disposition` names the file (RFC 5987 `filename*`)",
                       403: "a person (`role_not_allowed`) or an agent without the management "
                            "permission (`management_permission_required`)",
                       422: "a bad from, to, seal_id or format (`validation_failed`)"})
async def export_usage_records(request: web.Request) -> web.StreamResponse:
    principal = await require_principal(request)
    q = validate(ExportParams, _query(request))
    job = usage.export(request.app[STAMPING], principal, usage.UsageQuery(
        since=q.from_, until=q.to, seal_id=q.seal_id))
    span = (f"{job.start.astimezone(CHINA_TZ):%Y%m%d}-{job.end.astimezone(CHINA_TZ):%Y%m%d}")
    headers = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff",
               "Content-Disposition": usage_export.content_disposition(
                   f"印章使用记录_{span}.{q.format}", f"usage-records_{span}.{q.format}")}
    resp = web.StreamResponse(headers=headers)
    if q.format == "csv":
        resp.content_type, resp.charset = "text/csv", "utf-8"
        await resp.prepare(request)
        async for chunk in usage_export.csv_chunks(job.pages()):
            await resp.write(chunk)
    else:
        workbook = await usage_export.xlsx_file(job.pages())
        with workbook:
            resp.content_type = usage_export.XLSX_TYPE
            await resp.prepare(request)
            for chunk in usage_export.file_chunks(workbook):
                await resp.write(chunk)
    await resp.write_eof()
    return resp


@documented(summary="出证报告 / the evidence report of a usage record (PDF, sealed by the platform)",
            tags=("usage",), content_type="application/pdf",
            responses={200: "a PDF in Chinese: the document's title and SHA-256, the relying system, "
                            "the person and the seal (ID numbers masked), the timeline (request "
                            "created, QR scanned, password entered, approval, stamped, timestamp) "
                            "each line naming the event behind it, the certificates with serials and "
                            "validity, the verification result now; signed (PAdES B-LT) by the "
                            "platform's own certificate, so `POST /api/v1/verifications` shows it "
                            "`passed` with `kind` `platform`",
                       404: "no such record, or not yours: the enterprise of the seal (its account, "
                            "its agents with the management permission) and the person who stamped "
                            "get it, anyone else `usage_record_not_found`",
                       503: "the platform's sealing certificate is unavailable (`evidence_unavailable`)"})
async def usage_record_evidence(request: web.Request) -> web.Response:
    principal = await require_principal(request)
    report = await evidence.evidence_report(request.app[STAMPING], principal,
                                            path_uuid(request, "record_id"))
    name = f"evidence-{report.record_id}.pdf"
    return web.Response(body=report.content, content_type="application/pdf", headers={
        "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff",
        "Content-Disposition": usage_export.content_disposition(f"出证报告_{report.record_id}.pdf", name)})


class SignatureParams(ApiModel):
    from_: AwareDatetime | None = Field(default=None, alias="from")
    to: AwareDatetime | None = None
    limit: int = Field(default=usage.DEFAULT_LIMIT, ge=1, le=usage.MAX_LIMIT)
    cursor: str | None = Field(default=None, max_length=200)


@documented(summary="签名记录 / my signature records: my personal signature in stamps (the last 3 months)",
            tags=("usage",), query=SignatureParams, response=doc.SignaturePage,
            responses={200: "my own signatures made for stamps' signature placements, newest first",
                       403: doc.PERSONS_ONLY, 422: cursors.DOCUMENTED})
async def signature_records(request: web.Request) -> web.Response:
    principal = await require_principal(request, "person")
    q = validate(SignatureParams, _query(request))
    body = await usage.list_signatures(request.app[STAMPING], principal, usage.UsageQuery(
        since=q.from_, until=q.to, limit=q.limit, cursor=q.cursor))
    return json_response(body, headers={"Cache-Control": "no-store"})


def _query(request: web.Request) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in request.query.items():
        if k in ("from", "to") and len(v) == 10:  # a date: the start of that day (UTC)
            try:
                v = datetime.fromisoformat(v + "T00:00:00+00:00").isoformat()
            except ValueError:
                pass
        out[k] = v
    return out


# public -----------------------------------------------------------------------------


@documented(summary="验章 / verify a stamped PDF or OFD", tags=("verification",), auth="public",
            response=doc.VerificationReport,
            bodies={"multipart/form-data": doc.VerificationForm, "application/pdf": None,
                    "application/ofd": None},
            responses={200: "each signature: intact, trusted, which seal, enterprise and person "
                            "(from the signing certificate and the platform's usage record, never "
                            "from the document), stamped on the document or on a digest, when, "
                            "and whether the seal was revoked before; `format` `pdf` (PAdES, "
                            "ECDSA) or `ofd` (GB/T 38540, SM2: trusted only up to the platform's "
                            "SM2 root, any other root is `indeterminate`), each signature's "
                            "`algorithm`",
                       400: "a malformed multipart body (`invalid_multipart`)",
                       413: "the document is over the size limit",
                       422: "no document, not a PDF (`not_a_pdf`), not a well-formed or safe OFD "
                            "(`not_an_ofd`, `ofd_unsafe`), `too_many_signatures`, "
                            "`too_many_pages`, `document_too_complex` (not verified within the "
                            "deadline)",
                       503: "too many verifications at once (`verification_busy`)"})
async def verify(request: web.Request) -> web.Response:
    ctx = request.app[STAMPING]
    limit = ctx.settings.max_document_bytes
    if request.content_length is not None and request.content_length > limit + 256 * 1024:
        raise PayloadTooLarge(f"the document is larger than {limit} bytes")
    if request.content_type == "multipart/form-data":
        try:
            _, document = await _read_multipart(request, limit)
        except PdfTooLarge as e:
            raise PayloadTooLarge(str(e)) from None
    elif request.content_type in ("application/pdf", "application/ofd"):
        document = await request.read()
        if len(document) > limit:
            raise PayloadTooLarge(f"the document is larger than {limit} bytes")
    else:
        raise UnsupportedMediaType("send multipart/form-data with a 'document' field")
    if document is None:
        raise _missing("document", "attach the PDF as the multipart field 'document'")
    return json_response(await _unless_disconnected(request, verification.verify(ctx, document)))


class ClientClosedRequest(EsealError):
    status, code, title = 499, "client_closed_request", "The client closed the request"


async def _unless_disconnected(request: web.Request, work: Coroutine[Any, Any, T]) -> T:
    """Run ``work``; if the client goes away first, cancel it (the verification worker is
    killed) instead of finishing a job nobody will read. aiohttp does not cancel handlers on
    disconnect by default, so the connection is watched."""
    task = asyncio.ensure_future(work)
    try:
        while True:
            done, _ = await asyncio.wait({task}, timeout=DISCONNECT_POLL_SECONDS)
            if done:
                return task.result()
            transport = request.transport
            if transport is None or transport.is_closing():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
                raise ClientClosedRequest("the client went away; the verification was stopped")
    finally:
        if not task.done():  # this handler itself was cancelled
            task.cancel()


def setup_routes(app: web.Application) -> None:
    r = app.router
    r.add_post("/api/v1/oauth/token", token)
    r.add_post("/api/v1/stamp-requests", create_request)
    r.add_get("/api/v1/stamp-requests/{request_id}", get_request)
    r.add_get("/api/v1/stamp-requests/{request_id}/qr.png", qr_png)
    r.add_get("/api/v1/stamp-requests/{request_id}/result", result)
    r.add_post("/api/v1/stamp-requests/{request_id}/stamp", stamp)
    r.add_get("/api/v1/stamp-requests/{request_id}/document", document)
    r.add_post("/api/v1/scans", scan)
    r.add_get("/api/v1/usage-records", usage_records)
    r.add_get("/api/v1/usage-records/export", export_usage_records)
    r.add_get("/api/v1/usage-records/{record_id}/evidence.pdf", usage_record_evidence)
    r.add_get("/api/v1/signature-records", signature_records)
    r.add_post("/api/v1/verifications", verify)
    from . import approvals, batches  # noqa: PLC0415 - their routes build on these
    batches.setup_routes(app)
    approvals.setup_routes(app)


__all__ = ["STAMPING", "setup_routes"]
