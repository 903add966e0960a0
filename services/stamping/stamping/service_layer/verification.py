"""Public verification of a stamped PDF or OFD (验章).

pyHanko validates every signature offline, trusting only the platform root, with the
revocation data embedded in the document plus the platform's current CRLs (fetched fresh:
a revocation answered a moment ago must show). That runs in verification's own worker
processes, with caps on signatures and pages and a deadline (``adapters.verifier``).

Who sealed is never taken from the document. The ``/EsealStamp`` JSON in the signature
dictionary is chosen by whoever prepared the PDF: with a *digest* stamp request the platform
signs a hash of bytes it never saw, so a relying system can write any enterprise there and
still get a genuine seal signature over it. What is shown comes from:

1. the **signing certificate**: its serial is looked up in certs' record of seal
   certificates (serial → seal, enterprise; the fingerprint must match). Not one of ours →
   ``failed`` / ``not_a_seal_certificate`` (a person's certificate chains to the same root);
2. the **usage record** the platform wrote when it made that signature, found by the SHA-256
   of the signature value (unique per stamp; never by the request id the document names).
   None → ``failed`` / ``stamp_not_recorded``
   (a seal signature made outside the stamping flow). The record says whether the platform
   stamped a document it saw (``stamped_on: "document"``) or only a digest
   (``"digest"``, with the relying system's name), and the names at stamping time;
3. **seals** for the seal's status now and when it was revoked.

A signature by the platform's own sealing certificate (the evidence report, 出证报告, see
``service_layer/evidence.py``) is no seal's: recognised by the certificate itself (the one
certs' CA bundle names, same serial and fingerprint), it is reported with ``kind``
``platform`` and the platform as ``signer_name``.

If the ``/EsealStamp`` JSON disagrees with any of that, the signature is ``failed`` with
``stamp_metadata_mismatch`` and the fields that disagree.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from shared.logging import get_logger

from ..adapters import repository
from ..adapters.ofd.jobs import OfdReport, OfdSignatureCheck, verify_ofd_document
from ..adapters.pdf import SignatureReport, VerificationReport
from ..adapters.pdf.jobs import Refusal, verify_document
from ..domain.authorization import rfc3339
from .context import Stamping
from .ports import SealCertificate, SealInfo
from .requests import is_ofd_upload

log = get_logger(__name__)

NOT_A_SEAL_CERTIFICATE = "not_a_seal_certificate"
STAMP_NOT_RECORDED = "stamp_not_recorded"
STAMP_METADATA_MISMATCH = "stamp_metadata_mismatch"
PLATFORM_SIGNER = "电子印章平台"


@dataclass(frozen=True)
class UsageRecord:
    request_id: str
    person_id: str
    user_name: str
    enterprise_id: uuid.UUID
    enterprise_name: str
    seal_id: uuid.UUID
    seal_name: str
    seal_type: str
    kind: str  # "pdf" | "digest"
    requester: str
    person_signature_b64: str
    seal_certificate_serial: str
    seal_signature_sha256: str | None
    used_at: datetime


@dataclass(frozen=True)
class Facts:
    """What the platform itself knows about one signature."""

    certificate: SealCertificate | None
    record: UsageRecord | None
    seal: SealInfo | None
    # not a seal's: a person's own signature the platform made for a stamp's signature
    # placements (issue 15), found by its value's fingerprint and its certificate's serial
    personal: SignatureRecord | None = None
    # the platform's own signature (its sealing certificate: an evidence report)
    platform: bool = False


@dataclass(frozen=True)
class SignatureRecord:
    request_id: str
    person_id: str
    user_name: str
    certificate_serial: str
    signature_sha256: str


async def verify(ctx: Stamping, document: bytes) -> dict[str, Any]:
    if is_ofd_upload(document):
        return await verify_ofd(ctx, document)
    ca = await ctx.ca.current(fresh=True)
    s = ctx.settings
    outcome = await ctx.verifier.run(
        verify_document, document, [ca.root.public_bytes(Encoding.DER)],
        [c.public_bytes(Encoding.DER) for c in ca.crls], s.max_document_bytes,
        s.pdf_max_signatures, s.pdf_max_pages)
    if isinstance(outcome, Refusal):
        raise outcome.error()
    report: VerificationReport = outcome
    facts = await _facts(ctx, report.signatures, ca.platform)
    signatures = [_signature(sig, fact) for sig, fact in zip(report.signatures, facts, strict=True)]
    for b in signatures:
        b.update(algorithm="ecdsa-p256-sha256" if b["signer_certificate"] else None,
                 signature_format="PAdES", references_ok=None, failed_references=[])
    if not signatures:
        return {"result": report.result, "reasons": report.reasons, "format": "pdf",
                "document_sha256": report.document_sha256, "signatures": []}
    return _overall("pdf", report.document_sha256, signatures)


def _overall(fmt: str, document_sha256: str, signatures: list[dict[str, Any]]) -> dict[str, Any]:
    results = [b["result"] for b in signatures]
    result = "failed" if "failed" in results else "indeterminate" if "indeterminate" in results else "passed"
    reasons = sorted({f"{b['field_name']}:{r}" for b in signatures for r in b["reasons"]})
    return {"result": result, "reasons": reasons, "format": fmt, "document_sha256": document_sha256,
            "signatures": signatures}


# OFD -------------------------------------------------------------------------------------


async def verify_ofd(ctx: Stamping, document: bytes) -> dict[str, Any]:
    """GB/T 38540 signatures of an OFD: integrity and the SM2 checks in a worker, trusted only
    up to the platform's SM2 root; then attribution exactly as for a PDF (certs' record of the
    SM2 certificate, the usage record of the signature value, seals for revocation). A
    signature chaining elsewhere (another platform's seal) is ``indeterminate``: intact or not
    is still reported, but nobody on this platform is named."""
    ca = await ctx.ca.current(fresh=True)
    sm2 = ca.sm2
    tsa = ca.tsa.public_bytes(Encoding.DER) if ca.tsa is not None else None
    outcome = await ctx.verifier.run(
        verify_ofd_document, document, [sm2.root] if sm2 else [],
        [sm2.issuing, sm2.seal_maker] if sm2 else [], sm2.crl if sm2 else None, tsa,
        ctx.settings.pdf_max_signatures)
    if isinstance(outcome, Refusal):
        raise outcome.error()
    report: OfdReport = outcome
    reports = [_as_report(c) for c in report.signatures]
    facts = await _facts(ctx, reports)
    signatures = []
    for check, rep, fact in zip(report.signatures, reports, facts, strict=True):
        body = _signature(rep, fact, attribute=rep.trusted)
        r = check.result
        if (body["revoked_before_stamp"] and rep.trusted and body["result"] != "failed"):
            body["result"] = "failed"
            body["reasons"].append("seal_revoked_before_stamp")
        # the API's names ("sm2-sm3" like "ecdsa-p256-sha256"); an unsupported one as written
        algorithm = "sm2-sm3" if r.algorithm == "SM2-with-SM3" else r.algorithm
        body.update(algorithm=algorithm, signature_format=r.format, references_ok=r.references_ok,
                    failed_references=r.failed_references,
                    seal_picture_mm=list(r.seal_size_mm) if r.seal_size_mm else None,
                    seal_picture=_picture_url(r.seal_picture_type, r.seal_picture),
                    stamps=[_stamp(page, box, r.stamp_pages.get(page), clip)
                            for (page, box), clip in zip(r.stamps, r.stamp_clips, strict=True)])
        signatures.append(body)
    if not signatures:
        return {"result": "failed", "reasons": ["no_signatures"], "format": "ofd",
                "document_sha256": report.document_sha256, "signatures": []}
    return _overall("ofd", report.document_sha256, signatures)


# SES_Seal picture types a browser draws as they are (an "ofd" vector picture is not drawn)
_RASTER = {"PNG": "image/png", "JPG": "image/jpeg", "JPEG": "image/jpeg", "GIF": "image/gif",
           "BMP": "image/bmp"}


def _picture_url(kind: str | None, picture: bytes | None) -> str | None:
    """The seal picture the document itself embeds (a data: URL), for the verify page to draw
    at the stamp's position; it says what the document shows, not who stamped it."""
    media = _RASTER.get((kind or "").upper())
    if media is None or not picture:
        return None
    return f"data:{media};base64,{base64.b64encode(picture).decode()}"


def _stamp(page_ref: str, box: tuple[float, ...], page: tuple[int, float, float] | None,
           clip: tuple[float, ...] | None) -> dict[str, Any]:
    return {"page_ref": page_ref, "boundary_mm": list(box), "page": page[0] if page else None,
            "page_size_mm": [page[1], page[2]] if page else None,
            "clip_mm": list(clip) if clip else None}


def _as_report(c: OfdSignatureCheck) -> SignatureReport:
    """An OFD signature in the shape the attribution below reads."""
    r = c.result
    cert = r.signer_certificate
    intact = r.references_ok and r.data_hash_ok is not False and "seal_mismatch" not in r.reasons
    return SignatureReport(
        field_name=r.id, result=r.status, reasons=list(r.reasons), intact=bool(intact),
        valid=bool(r.signature_ok), trusted=r.chain_trusted and not c.revoked, revoked=c.revoked,
        timestamped=c.signed_at_source == "timestamp", signed_at=c.signed_at,
        signed_at_source=c.signed_at_source,  # type: ignore[arg-type]
        coverage="entire_file" if r.references_ok and not r.uncovered_files else "modified",
        level=r.format, signer_subject=cert.subject if cert else "",
        signer_cert_sha256=r.signer_certificate_sha256, stamp=None,
        signer_serial=r.signer_serial, signer_issuer=cert.issuer if cert else "",
        signer_subject_rfc4514=cert.subject if cert else "",
        signature_value_sha256=r.signature_value_sha256)


# what the platform knows ------------------------------------------------------------------


def _is_platform(s: SignatureReport, platform: x509.Certificate | None) -> bool:
    if platform is None or not s.signer_serial:
        return False
    der = platform.public_bytes(Encoding.DER)
    return (_same_serial(s.signer_serial, format(platform.serial_number, "X"))
            and s.signer_cert_sha256 == hashlib.sha256(der).hexdigest())


async def _facts(ctx: Stamping, signatures: list[SignatureReport],
                 platform: x509.Certificate | None = None) -> list[Facts]:
    serials = list(dict.fromkeys(s.signer_serial for s in signatures if s.signer_serial))
    certs = dict(zip(serials, await asyncio.gather(*(_certificate(ctx, n) for n in serials)), strict=True))
    records = await _records(ctx, signatures)
    personal = await _signature_records(ctx, [s for s in signatures if certs.get(s.signer_serial) is None])
    seal_ids = list(dict.fromkeys(c.seal_id for c in certs.values() if c is not None))
    seals = dict(zip(seal_ids, await asyncio.gather(*(_seal(ctx, i) for i in seal_ids)), strict=True))
    out = []
    for s in signatures:
        cert = certs.get(s.signer_serial)
        if cert is not None and cert.fingerprint_sha256 and cert.fingerprint_sha256 != s.signer_cert_sha256:
            cert = None  # same serial, another certificate: not ours
        record = _record_for(s, cert, records)
        out.append(Facts(cert, record, seals.get(cert.seal_id) if cert else None,
                         None if cert is not None else _personal_for(s, personal),
                         platform=cert is None and _is_platform(s, platform)))
    return out


async def _signature_records(ctx: Stamping, signatures: list[SignatureReport]) -> list[SignatureRecord]:
    fingerprints = [s.signature_value_sha256 for s in signatures if s.signature_value_sha256]
    if not fingerprints:
        return []
    async with ctx.db.connection() as uow:
        rows = await repository.signature_records_by_fingerprints(uow.conn, fingerprints)
    return [SignatureRecord(str(r["request_id"]), str(r["person_id"]), r["user_name"],
                            r["certificate_serial"], r["signature_sha256"]) for r in rows]


def _personal_for(s: SignatureReport, records: list[SignatureRecord]) -> SignatureRecord | None:
    """The person's signature record of this very signature value and certificate."""
    for r in records:
        if (r.signature_sha256 == s.signature_value_sha256
                and _same_serial(r.certificate_serial, s.signer_serial)):
            return r
    return None


def _same_serial(a: str, b: str) -> bool:
    try:
        return int(a, 16) == int(b, 16)
    except ValueError:
        return False


async def _certificate(ctx: Stamping, serial: str) -> SealCertificate | None:
    return await ctx.seal_certificates.by_serial(serial)  # certs down: 503, never a guess


async def _seal(ctx: Stamping, seal_id: uuid.UUID) -> SealInfo | None:
    try:
        return await ctx.seals.seal(seal_id)
    except Exception as e:  # noqa: BLE001 - the status is then "unknown", the verdict stands
        log.warning("seal_status_unavailable", seal_id=str(seal_id), error=repr(e)[:200])
        return None




async def _records(ctx: Stamping, signatures: list[SignatureReport]) -> list[UsageRecord]:
    """Usage records by signature-value fingerprint only: a request id the document names
    could be any other stamp's (records older than the fingerprint column get theirs from
    ``python -m stamping backfill-signature-fingerprints``)."""
    fingerprints = [s.signature_value_sha256 for s in signatures if s.signature_value_sha256]
    if not fingerprints:
        return []
    async with ctx.db.connection() as uow:
        rows = await repository.records_by_fingerprints(uow.conn, fingerprints)
    return [UsageRecord(
        request_id=str(r["request_id"]), person_id=str(r["person_id"]), user_name=r["user_name"],
        enterprise_id=r["enterprise_id"], enterprise_name=r["enterprise_name"], seal_id=r["seal_id"],
        seal_name=r["seal_name"], seal_type=r["seal_type"], kind=r["kind"], requester=r["requester"],
        person_signature_b64=r["person_signature_b64"],
        seal_certificate_serial=r["seal_certificate_serial"],
        seal_signature_sha256=r["seal_signature_sha256"], used_at=r["used_at"]) for r in rows]


def _record_for(s: SignatureReport, cert: SealCertificate | None,
                records: list[UsageRecord]) -> UsageRecord | None:
    if cert is None:
        return None
    for r in records:
        if r.seal_signature_sha256 != s.signature_value_sha256:
            continue
        # the record must be of this very certificate's seal
        if r.seal_id == cert.seal_id and r.seal_certificate_serial.upper() == cert.serial_number.upper():
            return r
    return None


# the report ------------------------------------------------------------------------------


def _mismatches(s: SignatureReport, f: Facts) -> list[str]:
    """The /EsealStamp fields that disagree with the certificate, the record or seals."""
    stamp = s.stamp
    if stamp is None or f.certificate is None:
        return []
    wrong = []
    if stamp.seal_id != str(f.certificate.seal_id):
        wrong.append("seal_id")
    if stamp.enterprise_id and stamp.enterprise_id != str(f.certificate.enterprise_id):
        wrong.append("enterprise_id")
    if f.record is not None:
        r = f.record
        checks = {"request_id": (stamp.request_id, r.request_id),
                  "signer_person_id": (stamp.signer_person_id, r.person_id),
                  "signer_person_name": (stamp.signer_person_name, r.user_name),
                  "enterprise_name": (stamp.enterprise_name, r.enterprise_name),
                  "seal_name": (stamp.seal_name, r.seal_name)}
        if stamp.seal_type_code:
            checks["seal_type_code"] = (stamp.seal_type_code, r.seal_type)
        if r.person_signature_b64:
            checks["person_signature_b64"] = (stamp.person_signature_b64, r.person_signature_b64)
        wrong += [k for k, (claimed, true) in checks.items() if claimed != true]
    if f.seal is not None and stamp.enterprise_uscc != f.seal.enterprise_uscc:
        wrong.append("enterprise_uscc")
    return wrong


def _signature(s: SignatureReport, f: Facts, *, attribute: bool = True) -> dict[str, Any]:
    """``attribute``: judge who signed (a PDF always; an OFD when it chains to the platform's
    SM2 root — a foreign signer's record cannot be here, and it stays ``indeterminate``)."""
    cert, record, seal = f.certificate, f.record, f.seal
    reasons = list(s.reasons)
    failed = s.result == "failed"
    mismatched: list[str] = []
    if s.signer_serial and attribute and (f.personal is not None or f.platform):
        pass  # the person's own signature as recorded, or the platform's: nothing to attribute
    elif s.signer_serial and attribute:  # readable: judge who signed
        if cert is None:
            reasons.append(NOT_A_SEAL_CERTIFICATE)
            failed = True
        elif record is None:
            reasons.append(STAMP_NOT_RECORDED)
            failed = True
        mismatched = _mismatches(s, f)
        if mismatched:
            reasons.append(STAMP_METADATA_MISMATCH)
            failed = True
    result = "failed" if failed else s.result
    # seals' revocation time is exact; certs' is in whole seconds (the CRL's precision)
    revoked_at: datetime | None = None
    if seal is not None and seal.status == "revoked":
        revoked_at = seal.revoked_at
    elif cert is not None and cert.status == "revoked":
        revoked_at = cert.revoked_at
    revoked_before = bool(s.revoked) or (
        revoked_at is not None and (s.signed_at is None or revoked_at <= s.signed_at))
    stamped_on = None if record is None else ("digest" if record.kind == "digest" else "document")
    return {
        "field_name": s.field_name,
        "result": result,
        "reasons": reasons,
        "intact": s.intact,
        "trusted": s.trusted,
        "timestamped": s.timestamped,
        "level": s.level,
        "coverage": s.coverage,
        "signed_at": rfc3339(s.signed_at) if s.signed_at else None,
        "signed_at_source": s.signed_at_source,
        "signer_subject": s.signer_subject,
        "signer_certificate": {"subject": s.signer_subject_rfc4514 or s.signer_subject,
                               "serial": s.signer_serial, "issuer": s.signer_issuer}
        if s.signer_serial else None,
        # attributed from certs' record of the certificate and the platform's usage record
        "seal_id": str(cert.seal_id) if cert else None,
        "enterprise_id": str(cert.enterprise_id) if cert else None,
        "seal_name": record.seal_name if record else (seal.name if seal else None),
        "seal_type": record.seal_type if record else (seal.type if seal else None),
        "seal_type_label": seal.type_label if seal else None,
        "enterprise_name": record.enterprise_name if record else (seal.enterprise_name if seal else None),
        "enterprise_uscc": seal.enterprise_uscc if seal else None,
        "signer_name": record.user_name if record else (
            f.personal.user_name if f.personal else PLATFORM_SIGNER if f.platform else None),
        "request_id": record.request_id if record else (f.personal.request_id if f.personal else None),
        "stamped_on": stamped_on,
        "relying_system": record.requester if record and stamped_on == "digest" else None,
        "metadata_mismatches": mismatched,
        "seal_status": _seal_status(cert, seal, revoked_at),
        "revoked_at": rfc3339(revoked_at) if revoked_at else None,
        "revoked_before_stamp": revoked_before,
        "recorded": record is not None or f.personal is not None,
        # "signature": a person's own signature (a stamp's signature placement), no seal's;
        # "platform": the platform's own (an evidence report)
        "kind": "signature" if f.personal is not None else "platform" if f.platform else "seal",
    }


def _seal_status(cert: SealCertificate | None, seal: SealInfo | None, revoked_at: datetime | None) -> str:
    if cert is None:
        return "unknown"
    if seal is not None:
        return seal.status
    return "revoked" if revoked_at else "unknown"
