"""Shapes of the stamping API's bodies and answers, for the OpenAPI document that the gateway
generates. Documentation only: the handlers parse and build the bodies themselves."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field


class TokenForm(BaseModel):
    grant_type: Literal["client_credentials"]


class ClientToken(BaseModel):
    access_token: str
    token_type: Literal["Bearer"]
    expires_in: int = Field(description="seconds")


class PdfRequestForm(BaseModel):
    """``multipart/form-data``: the PDF or OFD and where to put the seal. The format is read
    from the content (an OFD is a ZIP package with ``OFD.xml``), never from the file name."""

    document: Annotated[bytes, Field(json_schema_extra={
        "contentMediaType": "application/pdf",
        "description": "a PDF, or an OFD (GB/T 33190; stamped to GB/T 38540 with SM2)"})]
    title: str = Field(min_length=1, max_length=200)
    page: int | None = Field(default=None, ge=1, description="1-based page number (the single "
                                                              "seal form; or give placements)")
    x: float | None = Field(default=None, description="PDF: points from the left edge, the "
                                                      "seal's centre. OFD: millimetres from the "
                                                      "page's left edge, the seal's centre")
    y: float | None = Field(default=None, description="PDF: points from the bottom edge, the "
                                                      "seal's centre. OFD: millimetres from the "
                                                      "page's top edge (OFD's own axis), the "
                                                      "seal's centre")
    placements: str | None = Field(default=None, description=(
        "instead of page/x/y: a JSON list of up to 20 placements (PlacementSpec, see "
        "docs/STAMPING.md), each resolved when the request is made"),
        json_schema_extra={"contentMediaType": "application/json"})
    callback_url: str | None = Field(default=None, max_length=2048)
    expires_in: int | None = Field(default=None, description="seconds the QR code stays valid")


class PlacementSpec(BaseModel):
    """One item of ``placements`` (the form field's JSON): a seal at (x, y) on a page or at a
    keyword's occurrences, the person's signature, or a cross-page seal (骑缝章) at the right
    edge of some pages. Units and origin are the format's: PDF points from the bottom-left
    corner, OFD millimetres from the top-left corner; (x, y) is the stamp's centre."""

    kind: Literal["seal", "signature", "cross_page"] = "seal"
    seal_type: str | None = Field(default=None, description="a seal type code (`official`, "
                                  "`contract`, `finance`, `hr`, `invoice`, "
                                  "`legal_representative`); omitted: the person chooses")
    page: int | Literal["last"] | None = None
    x: float | None = None
    y: float | None = Field(default=None, description="cross_page: the height of the strips "
                                                      "(default: the middle of the page)")
    keyword: str | None = Field(default=None, max_length=50, description="instead of x/y: the "
                                "stamp is centred on the keyword's text (whitespace ignored)")
    occurrence: int | Literal["all"] = Field(default=1, description="which occurrence (1-based) "
                                             "or every one (one signature drawn at each)")
    offset_x: float = 0.0
    offset_y: float = 0.0
    pages: Literal["all"] | list[int] | None = Field(default=None, description="cross_page: the "
                                                     "pages (at least 2; default all)")


class VerificationForm(BaseModel):
    """``multipart/form-data`` with the PDF or OFD to verify (told apart by content)."""

    document: Annotated[bytes, Field(json_schema_extra={"contentMediaType": "application/pdf"})]


class QrQuery(BaseModel):
    t: str | None = Field(default=None, max_length=512,
                          description="the token in `qr_png_url` (the QR code of that token)")


class RequestDocument(BaseModel):
    sha256: str
    pages: int | None = Field(default=None, description="PDF and OFD requests")
    size: int | None = Field(default=None, description="PDF and OFD requests: bytes")


class StampRequestCreated(BaseModel):
    request_id: uuid.UUID
    status: Literal["pending"]
    kind: Literal["pdf", "digest", "ofd"]
    qr_payload: str = Field(description="what the QR code says; the app scans it")
    qr_png_url: str
    expires_at: datetime
    title: str
    document: RequestDocument


class Position(BaseModel):
    page: int
    x: float
    y: float


class CallbackState(BaseModel):
    event: str
    status: str
    attempts: int


class StampRequestView(BaseModel):
    request_id: uuid.UUID
    status: Literal["pending", "awaiting_approval", "stamped", "expired", "rejected"]
    kind: Literal["pdf", "digest", "ofd"]
    title: str
    document: RequestDocument
    created_at: datetime
    expires_at: datetime
    stamped_at: datetime | None
    record_id: uuid.UUID | None
    result_url: str | None
    callbacks: list[CallbackState]
    position: Position | None = Field(default=None, description="PDF (points) and OFD "
                                                                "(millimetres) requests: the "
                                                                "first placement's position")
    placements: list[PlacementView] | None = Field(default=None, description="PDF and OFD "
                                                   "requests: where the stamps go (no "
                                                   "seal_choices here)")


class Requester(BaseModel):
    name: str


class ChoiceSeal(BaseModel):
    seal_id: uuid.UUID
    name: str
    type: str


class Choice(BaseModel):
    enterprise_id: uuid.UUID
    enterprise_name: str
    seals: list[ChoiceSeal]


class SpotView(BaseModel):
    page: int
    x: float | None = Field(description="null for a cross-page strip (at the right edge)")
    y: float


class PlacementSealChoice(BaseModel):
    seal_id: uuid.UUID
    name: str
    type: str
    enterprise_id: uuid.UUID
    enterprise_name: str


class PlacementView(BaseModel):
    index: int = Field(description="what `choices[].placement` of the stamp call names")
    kind: Literal["seal", "signature", "cross_page"]
    seal_type: str | None
    unit: Literal["pt", "mm"] = Field(description="pt: PDF, origin bottom-left; mm: OFD, origin "
                                                  "top-left; (x, y) the stamp's centre")
    spots: list[SpotView]
    seal_choices: list[PlacementSealChoice] | None = Field(
        default=None, description="seal and cross_page placements: the seals I may use there "
                                  "now (of its seal_type when it names one)")
    signature_missing: bool | None = Field(
        default=None, description="signature placements: true when I have no personal signature "
                                  "(个人签名) yet; the stamp call is then 409 `signature_required`")


class ScanView(BaseModel):
    request_id: uuid.UUID
    title: str
    kind: Literal["pdf", "digest", "ofd"]
    requester: Requester
    document: RequestDocument
    expires_at: datetime
    choices: list[Choice] = Field(description="the enterprises and seals I may stamp with")
    placements: list[PlacementView] = Field(description="where the stamps go (empty for a "
                                                        "digest)")


class Stamped(BaseModel):
    record_id: uuid.UUID = Field(description="the usage record of the first seal placement (a "
                                             "request with only personal signature "
                                             "placements: its signature record)")
    record_ids: list[uuid.UUID] = Field(description="one usage record per seal placement, in "
                                                    "placement order (none without one)")
    request_id: uuid.UUID
    stamped_at: datetime


class UsageRecord(BaseModel):
    record_id: uuid.UUID
    used_at: datetime
    user_name: str
    enterprise_id: uuid.UUID
    enterprise_name: str
    seal_id: uuid.UUID
    seal_name: str
    seal_type: str
    document_title: str
    document_sha256: str
    kind: Literal["pdf", "digest", "ofd"]
    requester: str
    request_id: uuid.UUID
    format: Literal["pades", "cms", "gbt38540"] | None = Field(
        default=None, description="the signature's format (null for records older than OFD)")
    algorithm: Literal["ecdsa-p256-sha256", "sm2-sm3"] | None = Field(
        default=None, description="the seal signature's algorithm (null for older records)")


class UsagePage(BaseModel):
    items: list[UsageRecord]
    from_: datetime = Field(alias="from")
    to: datetime
    next_cursor: str | None


class SignatureRecord(BaseModel):
    """A personal signature the person made in a stamp (its signature placements)."""

    record_id: uuid.UUID
    signed_at: datetime
    user_name: str
    request_id: uuid.UUID
    document_title: str
    document_sha256: str
    requester: str
    placements: list[int] = Field(description="the request's signature placements it signed")
    certificate_serial: str = Field(description="my certificate that signed it")
    format: Literal["pades", "gbt38540"] = Field(
        description="PAdES on a PDF; GB/T 38540 (with my own 个人印章 SES_Seal) on an OFD")
    algorithm: Literal["ecdsa-p256-sha256", "sm2-sm3"] = Field(
        description="ECDSA P-256 on a PDF; SM2 with SM3 (my certificate's SM2 twin) on an OFD")


class SignaturePage(BaseModel):
    items: list[SignatureRecord]
    from_: datetime = Field(alias="from")
    to: datetime
    next_cursor: str | None


class SignerCertificate(BaseModel):
    subject: str = Field(description="RFC 4514, as the certificate says")
    serial: str = Field(description="upper-case hex")
    issuer: str


class OfdStamp(BaseModel):
    page_ref: str = Field(description="the OFD Page ID")
    boundary_mm: list[float] = Field(description="x, y, width, height in mm from the page's "
                                                 "top-left corner")
    page: int | None = Field(default=None, description="the page's number (1-based), if found")
    page_size_mm: list[float] | None = Field(default=None, description="the page's width and "
                                                                       "height in mm, if found")
    clip_mm: list[float] | None = Field(
        default=None, description="x, y, width, height in mm from the boundary's top-left "
                                  "corner: the part of the seal that shows (a 骑缝章's strip)")


class SignatureCheck(BaseModel):
    """Seal, enterprise and signer come from the signing certificate (certs' record of it) and
    the platform's usage record of that signature, never from the document's own metadata."""

    field_name: str | None
    result: str
    reasons: list[str]
    intact: bool
    trusted: bool
    timestamped: bool
    level: str | None
    coverage: str | None
    signed_at: datetime | None
    signed_at_source: str | None
    signer_subject: str | None
    signer_certificate: SignerCertificate | None
    seal_id: uuid.UUID | None
    enterprise_id: uuid.UUID | None
    seal_name: str | None
    seal_type: str | None
    seal_type_label: str | None
    enterprise_name: str | None
    enterprise_uscc: str | None
    signer_name: str | None
    request_id: str | None
    stamped_on: Literal["document", "digest"] | None = Field(
        description="`document`: the platform stamped a PDF it saw; `digest`: it signed a hash a "
                    "relying system sent (it never saw the document); null: no usage record")
    relying_system: str | None = Field(description="for digest stamps: the relying system's name")
    metadata_mismatches: list[str] = Field(
        description="/EsealStamp fields that disagree with the certificate or the record "
                    "(then `stamp_metadata_mismatch` in reasons)")
    seal_status: str
    revoked_at: datetime | None
    revoked_before_stamp: bool
    recorded: bool
    kind: Literal["seal", "signature", "platform"] = Field(
        default="seal", description="`signature`: a person's own signature the platform made "
                                    "for a stamp's signature placement (its signature record; "
                                    "no seal, the person in `signer_name`); `platform`: the "
                                    "platform's own sealing certificate (an evidence report, "
                                    "出证报告; the platform in `signer_name`)")
    algorithm: Literal["ecdsa-p256-sha256", "sm2-sm3"] | str | None = Field(
        default=None, description="the signature's algorithm as the document states it")
    signature_format: str | None = Field(
        default=None, description="OFD: `GB/T 38540 V4`, `GM/T 0031 V1`, `GB/T 35275 SignedData`"
                                  ", `SM2 signature`; PDF: `PAdES`")
    references_ok: bool | None = Field(
        default=None, description="OFD: every referenced file's SM3 check value matches")
    failed_references: list[str] = Field(
        default_factory=list, description="OFD: the files whose check value does not match")
    seal_picture_mm: list[int] | None = Field(
        default=None, description="OFD: the seal picture's real width and height in mm")
    seal_picture: str | None = Field(
        default=None, description="OFD: the seal picture embedded in the document, as a `data:` URL "
                                  "(raster pictures up to 256 KiB); what the document shows, not who "
                                  "stamped it")
    stamps: list[OfdStamp] | None = Field(
        default=None, description="OFD: where the seal is drawn (StampAnnot)")


class VerificationReport(BaseModel):
    result: Literal["passed", "failed", "indeterminate"]
    reasons: list[str]
    format: Literal["pdf", "ofd"] = Field(default="pdf", description="the document's format")
    document_sha256: str
    signatures: list[SignatureCheck]


# Reasons shared by several operations (the OpenAPI document's 401/403/404 descriptions).
CLIENT_AUTH = ("a relying system's token is required, valid and of an enabled client "
                "(`not_authenticated`, `invalid_token`)")
CLIENTS_ONLY = "for relying systems (`client_required`)"
NO_REQUEST = "no such stamp request of this client (`stamp_request_not_found`)"
PERSONS_ONLY = "for natural persons (`role_not_allowed`)"
