"""Verify stamped PDFs with pyHanko's validator, offline, trusting only given roots.

Outcome rules (per signature, then for the document):
- ``failed``: bytes changed (digest mismatch), bad signature value or timestamp
  token, certificate revoked before the signature was timestamped, content
  changed after signing (pyHanko diff analysis: modification level OTHER or a
  DocMDP violation), or an unreadable signature. A PDF without any signature is
  ``failed`` with reason ``no_signatures``: the caller asked whether the document
  carries a valid seal, and it does not.
- ``indeterminate``: intact, but trust cannot be established (no path to the
  roots, missing/stale revocation data, untrusted timestamp), or annotations
  were added after signing (not content tampering, but not clean either).
- ``passed``: intact, valid, trusted; later revisions only add signatures,
  form fields or validation data.

Revocation data comes from the document's DSS (plus any CRLs the caller passes).
A signature is first checked "now"; if that fails only on trust and a trusted
signature timestamp exists, it is re-checked at the timestamp time (PAdES-LT
semantics: a seal revoked after stamping does not void earlier stamps).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from cryptography import x509
from cryptography.x509.oid import NameOID
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.diff_analysis import ModificationLevel
from pyhanko.sign.fields import enumerate_sig_fields
from pyhanko.sign.validation import (
    DocumentSecurityStore,
    EmbeddedPdfSignature,
    PdfSignatureStatus,
    SignatureCoverageLevel,
    async_validate_pdf_signature,
)
from pyhanko.sign.validation.errors import NoDSSFoundError
from pyhanko_certvalidator import ValidationContext

from .limits import DEFAULT_MAX_PAGES, DEFAULT_MAX_SIGNATURES, TooManySignatures, check_limits
from .metadata import SIG_DICT_KEY, StampMetadata
from .pki import CertLike, CrlLike, as_asn1_cert, as_asn1_crl
from .validation import DEFAULT_MAX_PDF_BYTES, open_strict_reader

log = logging.getLogger(__name__)

Outcome = Literal["passed", "failed", "indeterminate"]


@dataclass(frozen=True)
class SignatureReport:
    field_name: str
    result: Outcome
    reasons: list[str]
    intact: bool  # the signed byte ranges hash to the signed digest
    valid: bool  # the signature value verifies with the signer's key
    trusted: bool  # chains to a trust root and not revoked at the validation time
    revoked: bool
    timestamped: bool  # a signature timestamp token is present and trusted
    signed_at: datetime | None  # timestamp time if any, else the signer-claimed time
    signed_at_source: Literal["timestamp", "signer_claim"] | None
    # "entire_file" | "revision_then_permitted_updates" | "revision_then_annotations" | "modified"
    coverage: str
    level: str  # PAdES baseline level reached: "B-B", "B-T" or "B-LT"
    signer_subject: str
    signer_cert_sha256: str
    stamp: StampMetadata | None  # the /EsealStamp details, if present and readable
    validated_at_timestamp: bool = False
    # The signing certificate as the platform names it (RFC 4514, serial in upper-case hex)
    # and a fingerprint of the signature value: what the platform's records are looked up by.
    signer_serial: str = ""
    signer_issuer: str = ""
    signer_subject_rfc4514: str = ""
    signature_value_sha256: str = ""


@dataclass(frozen=True)
class VerificationReport:
    result: Outcome
    reasons: list[str]
    document_sha256: str
    signatures: list[SignatureReport] = field(default_factory=list)


async def verify_pdf(
    data: bytes,
    *,
    trust_roots: Iterable[CertLike],
    crls: Iterable[CrlLike] = (),
    max_bytes: int = DEFAULT_MAX_PDF_BYTES,
    max_signatures: int = DEFAULT_MAX_SIGNATURES,
    max_pages: int = DEFAULT_MAX_PAGES,
) -> VerificationReport:
    """Verify every signature of ``data``; raises ``NotAPdf`` etc. for unusable input and
    ``TooManySignatures`` / ``TooManyPages`` before validating anything if over the caps."""
    reader = open_strict_reader(data, max_bytes)
    check_limits(reader, max_signatures=max_signatures, max_pages=max_pages)
    digest = hashlib.sha256(data).hexdigest()
    roots = [as_asn1_cert(c) for c in trust_roots]
    extra_crls = [as_asn1_crl(c) for c in crls]
    dss, has_revinfo = _read_dss(reader)
    reports: list[SignatureReport] = []
    for fq_name, _, sig_field in enumerate_sig_fields(reader, filled_status=True):
        if len(reports) >= max_signatures:  # the count above missed some (odd trees): still capped
            raise TooManySignatures(f"the document has more than {max_signatures} signatures")
        reports.append(await _verify_field(reader, fq_name, sig_field, roots, extra_crls, dss, has_revinfo))
    if not reports:
        return VerificationReport("failed", ["no_signatures"], digest)
    return VerificationReport(_worst(r.result for r in reports), _document_reasons(reports), digest, reports)


def _read_dss(reader: PdfFileReader) -> tuple[DocumentSecurityStore | None, bool]:
    try:
        dss = DocumentSecurityStore.read_dss(reader)
    except NoDSSFoundError:
        return None, False
    return dss, bool(dss.crls or dss.ocsps)


def _validation_context(
    roots: list[Any], extra_crls: list[Any], dss: DocumentSecurityStore | None,
    moment: datetime | None = None,
) -> ValidationContext:
    kwargs: dict[str, Any] = {
        "trust_roots": roots,
        "crls": list(extra_crls),
        "allow_fetching": False,
        "revocation_mode": "hard-fail",
    }
    if moment is not None:
        # Point-in-time check at the timestamp; revocation data gathered later
        # (the DSS) still speaks about that moment.
        kwargs.update(moment=moment, retroactive_revinfo=True)
    if dss is None:
        return ValidationContext(**kwargs)
    return dss.as_validation_context(kwargs)


async def _verify_field(
    reader: PdfFileReader, fq_name: str, sig_field: Any, roots: list[Any], extra_crls: list[Any],
    dss: DocumentSecurityStore | None, has_revinfo: bool,
) -> SignatureReport:
    try:
        embedded = EmbeddedPdfSignature(reader, sig_field, fq_name)
        status = await async_validate_pdf_signature(embedded, _validation_context(roots, extra_crls, dss))
    except Exception as e:  # noqa: BLE001 - any parse failure of a hostile signature is a "failed" verdict
        log.info("signature %s unreadable: %s", fq_name, e)
        return _unreadable(fq_name, type(e).__name__)
    at_ts = False
    ts = status.timestamp_validity
    if _trust_only_problem(status) and ts is not None and ts.trusted:
        try:
            retry = await async_validate_pdf_signature(
                embedded, _validation_context(roots, extra_crls, dss, moment=ts.timestamp)
            )
        except Exception as e:  # noqa: BLE001 - keep the first verdict
            log.info("point-in-time check of %s failed: %s", fq_name, e)
        else:
            if retry.trusted:
                status, at_ts = retry, True
    return _report(fq_name, embedded, status, has_revinfo, at_ts)


def _trust_only_problem(status: PdfSignatureStatus) -> bool:
    return status.intact and status.valid and not status.trusted


def _report(
    fq_name: str, embedded: EmbeddedPdfSignature, status: PdfSignatureStatus, has_revinfo: bool, at_ts: bool
) -> SignatureReport:
    ts = status.timestamp_validity
    timestamped = False
    signed_at: datetime | None = status.signer_reported_dt
    source: Literal["timestamp", "signer_claim"] | None = "signer_claim" if signed_at else None
    if ts is not None and ts.intact and ts.valid and ts.trusted:
        timestamped, signed_at, source = True, ts.timestamp, "timestamp"
    coverage = _coverage(status)
    stamp, stamp_problem = _read_stamp(embedded)
    result, reasons = _judge(status, coverage, stamp_problem)
    level = "B-B" if ts is None else ("B-LT" if has_revinfo else "B-T")
    cert = status.signing_cert
    return SignatureReport(
        field_name=fq_name,
        result=result,
        reasons=reasons,
        intact=status.intact,
        valid=status.valid,
        trusted=status.trusted,
        revoked=status.revoked,
        timestamped=timestamped,
        signed_at=signed_at,
        signed_at_source=source,
        coverage=coverage,
        level=level,
        signer_subject=cert.subject.human_friendly,
        signer_cert_sha256=cert.sha256.hex(),
        stamp=stamp,
        validated_at_timestamp=at_ts,
        signer_serial=format(cert.serial_number, "X"),
        signer_issuer=_rfc4514(cert, "issuer"),
        signer_subject_rfc4514=_rfc4514(cert, "subject"),
        signature_value_sha256=_signature_value_sha256(embedded),
    )


_NAMES = {NameOID.SERIAL_NUMBER: "serialNumber", NameOID.ORGANIZATION_IDENTIFIER: "organizationIdentifier"}


def _rfc4514(cert: Any, which: str) -> str:
    """As certs writes names; personal ID numbers (serialNumber) masked but for 4 characters."""
    try:
        loaded = x509.load_der_x509_certificate(cert.dump())
        name: x509.Name = getattr(loaded, which)
    except Exception:  # noqa: BLE001 - asn1crypto parsed it; cryptography may be stricter
        return str(getattr(cert, which).human_friendly)
    masked = x509.Name([x509.RelativeDistinguishedName([
        x509.NameAttribute(a.oid, "*" * max(0, len(str(a.value)) - 4) + str(a.value)[-4:])
        if a.oid == NameOID.SERIAL_NUMBER else a for a in rdn]) for rdn in name.rdns])
    return masked.rfc4514_string(_NAMES)


def _signature_value_sha256(embedded: EmbeddedPdfSignature) -> str:
    try:
        value = embedded.signer_info["signature"].native
    except Exception:  # noqa: BLE001
        return ""
    return hashlib.sha256(value).hexdigest() if isinstance(value, bytes) else ""


def _coverage(status: PdfSignatureStatus) -> str:
    if status.coverage == SignatureCoverageLevel.ENTIRE_FILE:
        return "entire_file"
    if status.coverage != SignatureCoverageLevel.ENTIRE_REVISION or status.docmdp_ok is False:
        return "modified"
    level = status.modification_level
    if level is None or level == ModificationLevel.OTHER:
        return "modified"
    if level == ModificationLevel.ANNOTATIONS:
        return "revision_then_annotations"
    return "revision_then_permitted_updates"  # LTA_UPDATES / FORM_FILLING: more seals, DSS


def _judge(status: PdfSignatureStatus, coverage: str, stamp_problem: str | None) -> tuple[Outcome, list[str]]:
    failed: list[str] = []
    doubtful: list[str] = []
    if not status.intact:
        failed.append("digest_mismatch")
    elif not status.valid:
        failed.append("bad_signature")
    if coverage == "modified":
        failed.append("modified_after_signing")
    elif coverage == "revision_then_annotations":
        doubtful.append("annotations_added_after_signing")
    if status.revoked:
        failed.append("certificate_revoked")
    elif status.intact and status.valid and not status.trusted:
        doubtful.append("untrusted_or_no_revocation_info")
    ts = status.timestamp_validity
    if ts is not None:
        if not (ts.intact and ts.valid):
            failed.append("bad_timestamp")
        elif not ts.trusted:
            doubtful.append("untrusted_timestamp")
    if stamp_problem:
        doubtful.append(stamp_problem)
    if failed:
        return "failed", failed + doubtful
    if doubtful:
        return "indeterminate", doubtful
    return "passed", []


def _read_stamp(embedded: EmbeddedPdfSignature) -> tuple[StampMetadata | None, str | None]:
    # sig_object is the signature dictionary of the signed revision: a later
    # rewrite of it would already have failed the coverage check.
    raw = embedded.sig_object.get(SIG_DICT_KEY)
    if raw is None:
        return None, None  # a foreign signature, not one of our seals
    try:
        return StampMetadata.from_json(str(raw)), None
    except (ValueError, TypeError, KeyError):
        return None, "stamp_metadata_unreadable"


def _unreadable(fq_name: str, why: str) -> SignatureReport:
    return SignatureReport(
        field_name=fq_name, result="failed", reasons=["signature_unreadable", why],
        intact=False, valid=False, trusted=False, revoked=False, timestamped=False,
        signed_at=None, signed_at_source=None, coverage="modified", level="B-B",
        signer_subject="", signer_cert_sha256="", stamp=None,
    )


def _worst(results: Iterable[Outcome]) -> Outcome:
    results = list(results)
    if "failed" in results:
        return "failed"
    if "indeterminate" in results:
        return "indeterminate"
    return "passed"


def _document_reasons(reports: list[SignatureReport]) -> list[str]:
    return sorted({f"{r.field_name}:{reason}" for r in reports for reason in r.reasons})
