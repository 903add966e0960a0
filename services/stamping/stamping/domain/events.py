"""Stamping's private events (never published; they feed its own read models).

The public ones (``StampRequested``, ``StampApplied``, ``StampRequestExpired``) are in
``shared.catalog``. ``RequestScanned`` records each scan of a request's QR code (the
evidence report's "QR scanned" line names it). ``UsageRecorded`` is appended together with
``StampApplied`` and carries
what the usage record (印章使用记录) shows and keeps: the names as they were at the time of
the stamp, and the person's own signature over the request. It holds no secret.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from shared.events import DomainEvent, event


@event("UsageRecorded", producer="stamping", stream_type="stamp_request", public=False)
class UsageRecorded(DomainEvent):
    record_id: uuid.UUID
    request_id: uuid.UUID
    used_at: datetime
    person_id: uuid.UUID
    user_name: str
    enterprise_id: uuid.UUID
    enterprise_name: str
    seal_id: uuid.UUID
    seal_name: str
    seal_type: str
    document_title: str
    document_sha256: str
    kind: str  # "pdf" | "digest" | "ofd"
    client_id: str
    requester: str  # the relying system's name
    authorization: str  # the canonical description the person signed
    person_signature_b64: str
    person_signature_algorithm: str
    person_certificate_serial: str
    seal_certificate_serial: str
    result_sha256: str
    # SHA-256 (hex) of the seal's raw signature value: how verification finds this record
    # from a signed document. Empty in events written before it existed.
    seal_signature_sha256: str = ""
    # The signature's format ("pades" | "cms" | "gbt38540") and algorithm ("ecdsa-p256-sha256"
    # | "sm2-sm3"); empty in events written before OFD.
    format: str = ""
    algorithm: str = ""
    # Which seal placement of the request this record is (issue 15): 0 for the single form and
    # for events written before placements.
    placement_index: int = 0


SCAN_STREAM = "stamp_scan"


@event("RequestScanned", producer="stamping", stream_type=SCAN_STREAM, public=False)
class RequestScanned(DomainEvent):
    """A person scanned a request's QR code (or the batch's that holds it). Each scan is a
    stream of its own (id ``scan_id``, one event), never the request's: a scan must not move
    the request's version, which is what lets only one stamp commit."""

    scan_id: uuid.UUID
    request_id: uuid.UUID
    person_id: uuid.UUID
    scanned_at: datetime
    batch_id: uuid.UUID | None = None


@event("RequestSigned", producer="stamping", stream_type="stamp_request", public=False)
class RequestSigned(DomainEvent):
    """A request with only personal ``signature`` placements (issue 15) was signed by the
    person: no seal was used, so no ``StampApplied`` and no usage record; it ends the request
    as a stamp does (version 2 of the stream). ``record_id`` is the signature record's."""

    record_id: uuid.UUID
    request_id: uuid.UUID
    person_id: uuid.UUID
    signed_at: datetime
    client_id: str
    placement_indexes: list[int]
    person_certificate_serial: str
    signature_sha256: str  # of the person's signature value in the document
    result_sha256: str
