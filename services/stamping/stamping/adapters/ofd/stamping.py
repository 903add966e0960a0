"""Adding a GB/T 38540 seal signature to an OFD (GB/T 33190 §18).

Layout written, next to any existing signatures (which stay valid: no file they reference
is changed; Signatures.xml is never referenced, as it must grow with every signature):
- ``Doc_N/Signs/Signatures.xml`` gains ``<Signature ID Type="Seal" BaseLoc>``;
- ``Doc_N/Signs/Sign_k/Seal.esl`` — the SES_Seal;
- ``Doc_N/Signs/Sign_k/Signature.xml`` — References (SM3 of every other file, base64),
  StampAnnot at the page/position in millimetres, Seal location;
- ``Doc_N/Signs/Sign_k/SignedValue.dat`` — SES_Signature V4 over Signature.xml.
Signing is two-step (prepare → signature → finish) so the key can stay in the signing
service; :func:`stamp_ofd` runs both steps with an in-process signer.
"""

from __future__ import annotations

import base64
import io
import math
import posixpath
import re
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from lxml import etree

from shared.gm import oids
from shared.gm.errors import GmError
from shared.gm.ses import Sm2Signer, assemble_signature, build_tbs_sign, parse_seal
from shared.gm.sm3 import sm3

from .document import OfdDocument, load_document
from .errors import OfdError, PageOutOfRange, PositionOffPage
from .package import OFD_NS, Limits, child, children

PROVIDER = {"ProviderName": "eseal", "Company": "eseal", "Version": "1.0"}


class OfdSigner(Protocol):
    """The signer's certificate (DER) and an SM2-with-SM3 signing function (DER out)."""

    @property
    def certificate(self) -> bytes: ...

    def sign(self, message: bytes) -> bytes: ...


class OfdSigningFailed(OfdError):
    status, code, title = 502, "signing_failed", "Signing failed"


@dataclass(frozen=True)
class PreparedOfdStamp:
    """Everything but the signature value; ``tbs`` is what the signer's key must sign."""

    original: bytes = field(repr=False)
    new_files: dict[str, bytes] = field(repr=False)  # changed or added parts
    signed_value_path: str
    signer_certificate: bytes = field(repr=False)
    tbs: bytes = field(repr=False)


def _q(name: str, ns: str = OFD_NS) -> str:
    return f"{{{ns}}}{name}"


def _xml_bytes(root: etree._Element) -> bytes:
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


def _next_id(doc: OfdDocument, signatures_root: etree._Element | None) -> int:
    numbers = [0]
    for entry in doc.signatures:
        numbers += [int(n) for n in re.findall(r"\d+", entry.id)[:1]]
    if signatures_root is not None:
        max_el = child(signatures_root, "MaxSignId")
        if max_el is not None and max_el.text:
            numbers += [int(n) for n in re.findall(r"\d+", max_el.text)[:1]]
    return max(numbers) + 1


def _check_position(doc: OfdDocument, page: int, box: tuple[float, float, float, float]) -> str:
    if not 1 <= page <= len(doc.pages):
        raise PageOutOfRange(f"page {page} not in 1..{len(doc.pages)}")
    p = doc.pages[page - 1]
    x, y, w, h = box
    if not all(math.isfinite(v) for v in box):
        raise PositionOffPage(f"seal box {box} is not a finite position")
    if w <= 0 or h <= 0 or x < 0 or y < 0 or x + w > p.width_mm + 1e-6 or y + h > p.height_mm + 1e-6:
        raise PositionOffPage(f"seal box {box} is not inside page {page} ({p.width_mm}×{p.height_mm} mm)")
    return p.id


def _fmt(v: float) -> str:
    return f"{v:.3f}".rstrip("0").rstrip(".")


def prepare_ofd_stamp(
    data: bytes,
    seal_esl_der: bytes,
    signer_certificate: bytes,
    page: int,
    x_mm: float,
    y_mm: float,
    width_mm: float,
    height_mm: float,
    *,
    signed_at: datetime | None = None,
    limits: Limits | None = None,
) -> PreparedOfdStamp:
    doc = load_document(data, limits=limits)
    _check_seal(seal_esl_der, signer_certificate)
    page_id = _check_position(doc, page, (x_mm, y_mm, width_mm, height_mm))
    when = (signed_at or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    new_files: dict[str, bytes] = {}
    sigs_path, sigs_root = _signatures_list(doc, new_files)
    sign_id = _next_id(doc, sigs_root)
    sign_dir = _new_sign_dir(doc, posixpath.dirname(sigs_path))
    seal_path = f"{sign_dir}/Seal.esl"
    signature_path = f"{sign_dir}/Signature.xml"
    value_path = f"{sign_dir}/SignedValue.dat"
    _declare_signature(sigs_root, sign_id, signature_path)
    new_files[sigs_path] = _xml_bytes(sigs_root)
    new_files[seal_path] = seal_esl_der

    # References: every file as it will be in the output, except Signatures.xml (it grows)
    # and this signature's own Signature.xml / SignedValue.dat.
    refs: list[tuple[str, bytes]] = []
    for name in doc.package.names():
        if name in (sigs_path, signature_path, value_path):
            continue
        content = new_files.get(name)
        refs.append((name, content if content is not None else doc.package.read(name)))
    refs.append((seal_path, seal_esl_der))
    boundary = " ".join(_fmt(v) for v in (x_mm, y_mm, width_mm, height_mm))
    signature_xml = _signature_xml(refs, when, sign_id, page_id, boundary, seal_path, value_path)
    new_files[signature_path] = signature_xml
    try:
        tbs = build_tbs_sign(
            seal_der=seal_esl_der,
            signed_data=signature_xml,
            property_info="/" + signature_path,
            signer_certificate=signer_certificate,
            signed_at=when,
        )
    except (GmError, ValueError) as e:
        raise OfdError(f"cannot sign with this seal/certificate: {e}", code="seal_invalid") from None
    return PreparedOfdStamp(data, new_files, value_path, signer_certificate, tbs)


def _check_seal(seal_esl_der: bytes, signer_certificate: bytes) -> None:
    try:
        seal = parse_seal(seal_esl_der)
    except GmError as e:
        raise OfdError(f"seal unusable: {e.detail}", code="seal_invalid") from None
    if not seal.allows(signer_certificate):
        raise OfdError("the seal does not list the signer's certificate", code="seal_invalid")


def _signatures_list(doc: OfdDocument, new_files: dict[str, bytes]) -> tuple[str, etree._Element]:
    """Signatures.xml: the existing one (it grows), or a new one declared in OFD.xml."""
    if doc.signatures_path is not None:
        return doc.signatures_path, doc.package.xml(doc.signatures_path)
    sigs_path = posixpath.join(posixpath.dirname(doc.document_path), "Signs", "Signatures.xml")
    sigs_root = etree.Element(_q("Signatures"), nsmap={"ofd": OFD_NS})
    ofd_root = doc.package.xml("OFD.xml")
    body = children(ofd_root, "DocBody")[0]
    decl = etree.Element(_q("Signatures", etree.QName(body).namespace or OFD_NS))
    decl.text = "/" + sigs_path
    # Schema order: DocInfo, DocRoot, Versions, Signatures. (lxml elements without
    # children are falsy, hence the explicit None checks.)
    anchor = child(body, "Versions")
    if anchor is None:
        anchor = child(body, "DocRoot")
    if anchor is None:
        raise OfdError("DocBody without DocRoot")
    anchor.addnext(decl)
    new_files["OFD.xml"] = _xml_bytes(ofd_root)
    return sigs_path, sigs_root


def _new_sign_dir(doc: OfdDocument, sigs_dir: str) -> str:
    """Sign_<k>, the first k no file of the package is under."""
    k = 0
    while any(n.startswith(posixpath.join(sigs_dir, f"Sign_{k}") + "/") for n in doc.package.names()):
        k += 1
    return posixpath.join(sigs_dir, f"Sign_{k}")


def _declare_signature(sigs_root: etree._Element, sign_id: int, signature_path: str) -> None:
    """The new signature's entry in Signatures.xml, and MaxSignId moved past it and its annotation."""
    ns = etree.QName(sigs_root).namespace or OFD_NS
    entry = etree.Element(_q("Signature", ns), ID=str(sign_id), Type="Seal", BaseLoc="/" + signature_path)
    existing = children(sigs_root, "Signature")
    if existing:
        existing[-1].addnext(entry)  # after the last one: the file keeps its own element order
    else:
        sigs_root.append(entry)
    max_el = child(sigs_root, "MaxSignId")
    if max_el is None:
        max_el = etree.Element(_q("MaxSignId", ns))
        sigs_root.insert(0, max_el)
    max_el.text = str(sign_id + 1)


def _signature_xml(refs: list[tuple[str, bytes]], when: datetime, sign_id: int, page_id: str,
                   boundary: str, seal_path: str, value_path: str) -> bytes:
    """Signature.xml: SM3 check values of ``refs``, the stamp's annotation, the seal's location."""
    sig = etree.Element(_q("Signature"), nsmap={"ofd": OFD_NS})
    info = etree.SubElement(sig, _q("SignedInfo"))
    etree.SubElement(info, _q("Provider"), **PROVIDER)
    etree.SubElement(info, _q("SignatureMethod")).text = oids.SM2_WITH_SM3
    etree.SubElement(info, _q("SignatureDateTime")).text = when.strftime("%Y-%m-%dT%H:%M:%SZ")
    references = etree.SubElement(info, _q("References"), CheckMethod="SM3")
    for name, content in refs:
        ref = etree.SubElement(references, _q("Reference"), FileRef="/" + name)
        etree.SubElement(ref, _q("CheckValue")).text = base64.b64encode(sm3(content)).decode()
    etree.SubElement(info, _q("StampAnnot"), ID=str(sign_id + 1), PageRef=page_id, Boundary=boundary)
    seal_el = etree.SubElement(info, _q("Seal"))
    etree.SubElement(seal_el, _q("BaseLoc")).text = "/" + seal_path
    etree.SubElement(sig, _q("SignedValue")).text = "/" + value_path
    return _xml_bytes(sig)


def finish_ofd_stamp(
    prepared: PreparedOfdStamp, signature: bytes, *, timestamp_token: bytes | None = None
) -> bytes:
    try:
        signed_value = assemble_signature(
            tbs_der=prepared.tbs,
            signer_certificate=prepared.signer_certificate,
            signature=signature,
            timestamp_token=timestamp_token,
        )
    except (GmError, ValueError) as e:
        raise OfdSigningFailed(f"signature unusable: {e}") from None
    files = dict(prepared.new_files)
    files[prepared.signed_value_path] = signed_value
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(prepared.original)) as src,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst,
    ):
        for info in src.infolist():
            if info.filename.endswith("/"):
                dst.writestr(info, b"")
                continue
            content = files.pop(info.filename, None)
            target = zipfile.ZipInfo(info.filename, date_time=info.date_time)
            target.compress_type = zipfile.ZIP_DEFLATED
            dst.writestr(target, content if content is not None else src.read(info))
        for name, content in files.items():
            dst.writestr(
                zipfile.ZipInfo(name, date_time=datetime.now(UTC).timetuple()[:6]),
                content,
                compress_type=zipfile.ZIP_DEFLATED,
            )
    return out.getvalue()


def stamp_ofd(
    data: bytes,
    seal_esl_der: bytes,
    signer: OfdSigner,
    page: int,
    x_mm: float,
    y_mm: float,
    width_mm: float,
    height_mm: float,
    *,
    signed_at: datetime | None = None,
    timestamp: TimestampHook | None = None,
    limits: Limits | None = None,
) -> bytes:
    prepared = prepare_ofd_stamp(
        data,
        seal_esl_der,
        signer.certificate,
        page,
        x_mm,
        y_mm,
        width_mm,
        height_mm,
        signed_at=signed_at,
        limits=limits,
    )
    value = signer.sign(prepared.tbs)
    return finish_ofd_stamp(prepared, value, timestamp_token=timestamp(value) if timestamp else None)


class TimestampHook(Protocol):
    def __call__(self, signature: bytes) -> bytes: ...


@dataclass(frozen=True)
class LocalOfdSigner:
    """In-process signer (tests, benchmarks); production signs in the signing service."""

    key: Sm2Signer = field(repr=False)
    certificate: bytes = field(repr=False)

    def sign(self, message: bytes) -> bytes:
        return self.key.sign(message)
