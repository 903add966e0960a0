"""Verifying the signatures of an OFD (GB/T 33190 §18, GB/T 38540 §8.3).

Per signature, in order: the SM3 check value of every referenced file; for seals
(Type="Seal") the SES_Signature (data hash of Signature.xml, signer SM2 signature, seal
maker's signature, signer listed in the seal, Seal.esl identical to the embedded seal, seal
validity at signing time); for plain signatures (Type="Sign") a GB/T 35275 SignedData, or
a bare SM2 signature over Signature.xml checked against candidate certificates. Then the
signer's (and seal maker's) certificate chain against the trust anchors given: a chain to
another root leaves the result ``indeterminate`` while still reporting integrity.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import math
import posixpath
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

from asn1crypto import cms, core, parser, x509
from lxml import etree

from shared.gm import oids
from shared.gm.errors import GmError
from shared.gm.ses import SesSignature, parse_signature, verify_signature
from shared.gm.sm2 import signature_raw_to_der
from shared.gm.sm3 import sm3
from shared.gm.x509 import is_valid_at, load_certificate, public_key_of, verify_certificate

from .document import OfdDocument, OfdSignatureEntry, load_document
from .errors import OfdError
from .package import Limits, child, children, resolve_loc, text_of

Status = Literal["passed", "failed", "indeterminate"]
SM3_NAMES = {"SM3", "sm3", oids.SM3}
MAX_SIGNATURES = 50
# Reasons that leave a signature undecided; any other reason fails it (fail closed).
UNDECIDED_REASONS = frozenset(
    {
        "signer_not_trusted",
        "signer_unknown",
        "seal_expired_at_signing",
        "seal_maker_not_trusted",
        "content_not_covered",
        "unsupported_signature_format",
        "unsupported_algorithm",
        "unsupported_check_method",
    }
)
MAX_CHAIN = 5


@dataclass(frozen=True)
class CertificateSummary:
    subject: str
    serial: str
    issuer: str


@dataclass
class OfdSignatureResult:
    id: str
    type: str
    status: Status = "failed"
    reasons: list[str] = field(default_factory=list)
    format: str = "unknown"  # "GB/T 38540 V4", "GM/T 0031 V1", "SM2 signature"
    algorithm: str = "SM2-with-SM3"
    references_ok: bool = False
    failed_references: list[str] = field(default_factory=list)
    uncovered_files: list[str] = field(default_factory=list)  # present, but no reference covers them
    data_hash_ok: bool | None = None
    signature_ok: bool | None = None
    seal_ok: bool | None = None
    chain_trusted: bool = False
    seal_maker_trusted: bool | None = None  # seals only: the 制章 certificate's chain
    timestamp_present: bool = False  # imprint checked; the TSA's signature is the caller's
    signed_at: datetime | None = None
    signer_certificate: CertificateSummary | None = None
    seal_name: str | None = None
    seal_es_id: str | None = None
    seal_picture_type: str | None = None  # for the verify page: draw it at ``stamps``
    seal_picture: bytes | None = field(default=None, repr=False)
    seal_size_mm: tuple[int, int] | None = None
    # every StampAnnot of the signature, in document order: (PageRef, Boundary in mm)
    stamps: list[tuple[str, tuple[float, float, float, float]]] = field(default_factory=list)
    # parallel to ``stamps``: the StampAnnot's Clip (mm, relative to its Boundary's top-left
    # corner: what shows of the seal picture, e.g. a 骑缝章 strip), None when it shows whole
    stamp_clips: list[tuple[float, float, float, float] | None] = field(default_factory=list)
    # the pages ``stamps`` name: Page ID -> (1-based index, width mm, height mm), to draw them
    stamp_pages: dict[str, tuple[int, float, float]] = field(default_factory=dict)
    # What the platform's records are looked up by (never what the document says about itself):
    # the signer certificate's serial (upper-case hex) and SHA-256, the signature value's SHA-256.
    signer_serial: str = ""
    signer_certificate_sha256: str = ""
    signature_value_sha256: str = ""
    timestamp_token: bytes | None = field(default=None, repr=False)
    signature_value: bytes = field(default=b"", repr=False)


@dataclass(frozen=True)
class OfdVerification:
    signatures: tuple[OfdSignatureResult, ...]

    @property
    def status(self) -> Status:
        if not self.signatures or any(s.status == "failed" for s in self.signatures):
            return "failed"
        return "passed" if all(s.status == "passed" for s in self.signatures) else "indeterminate"


def _summary(cert: x509.Certificate) -> CertificateSummary:
    def name(n: x509.Name) -> str:
        try:
            return str(n.human_friendly)
        except (ValueError, TypeError):
            return str(n.dump().hex())  # deployed certificates with odd attribute encodings

    tbs = cert["tbs_certificate"]
    return CertificateSummary(
        name(tbs["subject"]), format(tbs["serial_number"].native, "x"), name(tbs["issuer"])
    )


def _chain_trusted(
    cert: x509.Certificate,
    roots: Sequence[x509.Certificate],
    intermediates: Sequence[x509.Certificate],
    at: datetime,
) -> bool:
    current = cert
    for _ in range(MAX_CHAIN):
        if not is_valid_at(current, at):
            return False
        for root in roots:
            if verify_certificate(current, root):
                return is_valid_at(root, at)
        parent = next((c for c in intermediates if verify_certificate(current, c) and c.ca), None)
        if parent is None:
            return False
        current = parent
    return False


def _check_references(
    doc: OfdDocument, signed_info: object, sig_dir: str, result: OfdSignatureResult
) -> None:
    refs = child(signed_info, "References")  # type: ignore[arg-type]
    if refs is None or not children(refs, "Reference"):
        result.reasons.append("no_references")
        return
    method = (refs.get("CheckMethod") or "").strip()
    if method not in SM3_NAMES:
        result.reasons.append("unsupported_check_method")
        return
    covered: set[str] = set()
    for ref in children(refs, "Reference"):
        loc = ref.get("FileRef") or ""
        try:
            path = resolve_loc(loc, sig_dir)
            covered.add(path)
            expected = base64.b64decode(text_of(ref, "CheckValue") or "", validate=True)
            actual = sm3(doc.package.read(path)) if doc.package.exists(path) else None
        except (OfdError, binascii.Error, ValueError):
            actual, expected = None, b""
        if actual is None or actual != expected:
            result.failed_references.append(loc)
    if result.failed_references:
        result.reasons.append("reference_mismatch")
    else:
        result.references_ok = True
    # Files no reference protects, apart from signature data (Signatures.xml and the files
    # of each signature's own directory): content added after signing, e.g. an
    # Annotations.xml that Document.xml named but did not exist yet (a shadow attack).
    signature_dirs = {posixpath.dirname(e.path) + "/" for e in doc.signatures}
    result.uncovered_files = [
        name
        for name in doc.package.names()
        if name not in covered
        and name != doc.signatures_path
        and not any(name.startswith(d) for d in signature_dirs)
    ]
    if result.uncovered_files:
        result.reasons.append("content_not_covered")


def _check_seal(
    doc: OfdDocument,
    signed_info: object,
    sig_dir: str,
    signed_value: bytes,
    signature_xml: bytes,
    result: OfdSignatureResult,
    roots: Sequence[x509.Certificate],
    intermediates: Sequence[x509.Certificate],
    now: datetime,
) -> x509.Certificate | None:
    try:
        ses: SesSignature = parse_signature(signed_value)
    except GmError:
        result.reasons.append("signed_value_unreadable")
        return None
    result.format = "GB/T 38540 V4" if ses.version == 4 else "GM/T 0031 V1"
    result.seal_name, result.seal_es_id, result.signed_at = ses.seal.name, ses.seal.es_id, ses.signed_at
    result.timestamp_present = ses.timestamp is not None
    result.timestamp_token, result.signature_value = ses.timestamp, ses.signature
    result.signature_value_sha256 = hashlib.sha256(ses.signature).hexdigest()
    picture = ses.seal.picture
    result.seal_picture_type, result.seal_picture = picture.type, picture.data
    result.seal_size_mm = (picture.width_mm, picture.height_mm)
    check = verify_signature(ses, signature_xml)
    result.data_hash_ok, result.signature_ok = check.data_hash_ok, check.signature_ok
    result.seal_ok = check.seal_signature_ok and check.signer_listed_in_seal
    for ok, reason in (
        (check.data_hash_ok, "data_hash_mismatch"),
        (check.signature_ok, "signature_invalid"),
        (check.seal_signature_ok, "seal_signature_invalid"),
        (check.signer_listed_in_seal, "signer_not_in_seal"),
        (check.timestamp_imprint_ok is not False, "timestamp_mismatch"),
    ):
        if not ok:
            result.reasons.append(reason)
    seal_el = child(signed_info, "Seal")  # type: ignore[arg-type]
    seal_loc = text_of(seal_el, "BaseLoc") if seal_el is not None else None
    if seal_loc:
        try:
            seal_file = doc.package.read(resolve_loc(seal_loc, sig_dir))
        except OfdError:
            seal_file = b""
        if seal_file != ses.seal.der:
            result.seal_ok = False
            result.reasons.append("seal_mismatch")
    if ses.signed_at is not None and not ses.seal.is_valid_at(ses.signed_at):
        result.reasons.append("seal_expired_at_signing")
    try:
        maker = load_certificate(ses.seal.maker_certificate)
        result.seal_maker_trusted = _chain_trusted(maker, roots, intermediates, now)
    except GmError:
        result.seal_maker_trusted = False
    if not result.seal_maker_trusted:
        result.reasons.append("seal_maker_not_trusted")
    try:
        return load_certificate(ses.signer_certificate)
    except GmError:
        return None


def _check_bare_signature(
    signed_value: bytes,
    signature_xml: bytes,
    candidates: Sequence[x509.Certificate],
    result: OfdSignatureResult,
) -> x509.Certificate | None:
    """Type="Sign": a GB/T 35275 SignedData (carries its certificate), or a bare SM2
    signature over Signature.xml checked against the candidate certificates."""
    cms_result = _check_cms_signature(signed_value, signature_xml, result)
    if cms_result is not _NOT_CMS:
        return cms_result  # type: ignore[return-value]
    result.format = "SM2 signature"
    if not candidates:
        result.reasons.append("signer_unknown")
        return None
    for cert in candidates:
        try:
            if public_key_of(cert).verify(signature_xml, signed_value):
                result.signature_ok = True
                return cert
        except GmError:
            continue
    result.signature_ok = False
    result.reasons.append("signature_invalid")
    return None


_NOT_CMS = object()
SIGNED_DATA_OIDS = {"1.2.156.10197.6.1.4.2.2", "1.2.840.113549.1.7.2"}
SM2_SIGNATURE_OIDS = {oids.SM2_WITH_SM3, "1.2.156.10197.1.301.1", oids.SM2_CURVE}


def _check_cms_signature(signed_value: bytes, signature_xml: bytes, result: OfdSignatureResult) -> object:
    """GB/T 35275 SignedData. The content is either Signature.xml (detached or embedded) or,
    as deployed signing plugins write it, SM3(Signature.xml) embedded; the SM2 signature is
    over the content, or over the signed attributes when present (RFC 5652 §5.4)."""
    try:
        outer = parser.parse(signed_value, strict=True)
        oid_part = parser.parse(outer[4])
        content_type = core.ObjectIdentifier.load(parser.emit(*oid_part[:3], oid_part[4])).dotted
    except (ValueError, TypeError):
        return _NOT_CMS
    if content_type not in SIGNED_DATA_OIDS:
        return _NOT_CMS
    result.format = "GB/T 35275 SignedData"
    result.signature_ok = False
    try:
        rest = outer[4][len(oid_part[3]) + len(oid_part[4]) :]
        signed_data = cms.SignedData.load(parser.parse(rest)[4])
        (signer,) = list(signed_data["signer_infos"])
        raw = signed_data["encap_content_info"]["content"]
        native = raw.native  # the OCTET STRING inside [0] EXPLICIT, or None when detached
        if native is not None and not isinstance(native, bytes):
            raise ValueError("SignedData content is not an OCTET STRING")
        content = native
        serial = signer["sid"].chosen["serial_number"].native
        cert = next(
            load_certificate(c.chosen.dump())
            for c in signed_data["certificates"]
            if c.name == "certificate" and c.chosen.serial_number == serial
        )
        algorithm = signer["signature_algorithm"]["algorithm"].dotted
        signature = bytes(signer["signature"].native)
    except (ValueError, TypeError, KeyError, StopIteration, GmError):
        result.reasons.append("signed_value_unreadable")
        return None
    if content is None:
        message = signature_xml
    elif content in (signature_xml, sm3(signature_xml)):
        message = content
    else:
        result.reasons.append("data_hash_mismatch")
        result.data_hash_ok = False
        return cert
    result.data_hash_ok = True
    attrs = signer["signed_attrs"]
    if attrs.native is not None:
        digests = [a["values"][0].native for a in attrs if a["type"].native == "message_digest"]
        if digests != [sm3(message)]:
            result.reasons.append("data_hash_mismatch")
            result.data_hash_ok = False
            return cert
        message = b"\x31" + attrs.dump()[1:]  # signed over the SET OF, not the [0] tag
    key = public_key_of(cert)
    ok = algorithm in SM2_SIGNATURE_OIDS and (
        key.verify(message, signature)
        or (len(signature) == 64 and key.verify(message, signature_raw_to_der(signature)))
    )
    result.signature_ok = ok
    if not ok:
        result.reasons.append("signature_invalid")
    return cert


def _numbers4(text: str | None) -> tuple[float, float, float, float] | None:
    try:
        box = tuple(float(x) for x in (text or "").split())
    except ValueError:
        return None
    if len(box) != 4 or not all(math.isfinite(v) for v in box):
        return None
    return box  # type: ignore[return-value]


def _read_stamps(doc: OfdDocument, signed_info: etree._Element, result: OfdSignatureResult) -> None:
    """Every StampAnnot (one per spot, one per page of a 骑缝章): page, Boundary, Clip. They
    are inside Signature.xml, so the signature covers them; a malformed one is left out."""
    pages = {p.id: p for p in doc.pages}
    for stamp in children(signed_info, "StampAnnot"):
        box = _numbers4(stamp.get("Boundary"))
        if box is None:
            continue
        clip = _numbers4(stamp.get("Clip")) if stamp.get("Clip") is not None else None
        page_ref = stamp.get("PageRef") or ""
        result.stamps.append((page_ref, box))
        result.stamp_clips.append(clip)
        p = pages.get(page_ref)
        if p is not None:
            result.stamp_pages[page_ref] = (p.index, p.width_mm, p.height_mm)


def verify_ofd(
    data: bytes,
    *,
    trusted_roots: Sequence[x509.Certificate] = (),
    intermediates: Sequence[x509.Certificate] = (),
    sign_certificates: Sequence[x509.Certificate] = (),
    at: datetime | None = None,
    limits: Limits | None = None,
) -> OfdVerification:
    """``sign_certificates``: candidates for plain ``Type="Sign"`` signatures, which carry no
    certificate of their own. ``at``: time for certificate validity (default: now). The time
    inside TBS_Sign is the signer's own claim, so it is never used for certificate validity;
    a caller holding a *verified* timestamp passes its time as ``at``."""
    doc = load_document(data, limits=limits, strict_pages=False)
    if len(doc.signatures) > MAX_SIGNATURES:
        raise OfdError(f"more than {MAX_SIGNATURES} signatures", code="too_many_signatures")
    trust = _Trust(tuple(trusted_roots), tuple(intermediates), tuple(sign_certificates),
                   at or datetime.now(UTC))
    results = []
    for entry in doc.signatures:
        result = OfdSignatureResult(entry.id, entry.type)
        results.append(result)
        _check_signature(doc, entry, result, trust)
        crypto_failed = any(r not in UNDECIDED_REASONS for r in result.reasons)
        if crypto_failed:
            result.status = "failed"
        elif result.reasons:
            result.status = "indeterminate"
        else:
            result.status = "passed"
    return OfdVerification(tuple(results))


@dataclass(frozen=True)
class _Trust:
    """What one verification trusts, and when (the arguments of :func:`verify_ofd`)."""

    roots: tuple[x509.Certificate, ...]
    intermediates: tuple[x509.Certificate, ...]
    sign_certificates: tuple[x509.Certificate, ...]
    at: datetime


def _check_signature(doc: OfdDocument, entry: OfdSignatureEntry, result: OfdSignatureResult,
                     trust: _Trust) -> None:
    """One signature of ``doc.signatures``: its files, check values, signed value and
    signer, each failure a reason on ``result`` (the first unreadable part ends the check)."""
    try:
        signature_xml = doc.package.read(entry.path)
        sig_root = doc.package.xml(entry.path)
    except OfdError:
        result.reasons.append("signature_file_missing")
        return
    sig_dir = posixpath.dirname(entry.path)
    signed_info = child(sig_root, "SignedInfo")
    value_loc = text_of(sig_root, "SignedValue")
    if signed_info is None or not value_loc:
        result.reasons.append("signature_file_malformed")
        return
    method = text_of(signed_info, "SignatureMethod")
    if method and method not in (oids.SM2_WITH_SM3, "SM2", "SM3withSM2"):
        result.algorithm = method
        result.reasons.append("unsupported_algorithm")
        return
    _read_stamps(doc, signed_info, result)
    _check_references(doc, signed_info, sig_dir, result)
    try:
        signed_value = doc.package.read(resolve_loc(value_loc, sig_dir))
    except OfdError:
        result.reasons.append("signed_value_missing")
        return
    if entry.type == "Sign":
        cert = _check_bare_signature(signed_value, signature_xml, trust.sign_certificates, result)
    else:
        cert = _check_seal(doc, signed_info, sig_dir, signed_value, signature_xml, result,
                           trust.roots, trust.intermediates, trust.at)
    if cert is not None:
        result.signer_certificate = _summary(cert)
        result.signer_serial = format(int(cert.serial_number), "X")
        result.signer_certificate_sha256 = hashlib.sha256(cert.dump()).hexdigest()
        result.chain_trusted = _chain_trusted(cert, trust.roots, trust.intermediates, trust.at)
        if not result.chain_trusted:
            result.reasons.append("signer_not_trusted")
