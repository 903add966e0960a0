"""Adding a GB/T 38540 seal signature to an OFD (GB/T 33190 §18).

Layout written, next to any existing signatures (which stay valid: no file they reference
is changed; Signatures.xml is never referenced, as it must grow with every signature):
- ``Doc_N/Signs/Signatures.xml`` gains ``<Signature ID Type="Seal" BaseLoc>``;
- ``Doc_N/Signs/Sign_k/Seal.esl`` — the SES_Seal;
- ``Doc_N/Signs/Sign_k/Signature.xml`` — References (SM3 of every other file, base64),
  one StampAnnot per :class:`StampBox` (page, Boundary in millimetres, and for a 骑缝章 strip
  a Clip), Seal location;
- ``Doc_N/Signs/Sign_k/SignedValue.dat`` — SES_Signature V4 over Signature.xml.
One seal placement = one signature: its spots (``keyword`` occurrence "all") and the strips
of a 骑缝章 are StampAnnots of that one signature, so it is one stamp in the usage records
and one signature in the verification, whose ``stamps`` lists every annot. IDs: the
signature takes the next free ID, its annots the IDs after it, and ``MaxSignId`` moves past
the last (signatures and annots share one ID space, as ofdrw's SignIDProvider counts).
Signing is two-step (prepare → signature → finish) so the key can stay in the signing
service; :func:`stamp_ofd` / :func:`stamp_ofd_boxes` run both steps with an in-process signer.
"""

from __future__ import annotations

import base64
import io
import math
import posixpath
import re
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from lxml import etree

from shared.gm import oids
from shared.gm.errors import GmError
from shared.gm.ses import Sm2Signer, assemble_signature, build_tbs_sign, parse_seal
from shared.gm.sm3 import sm3

from ...domain.placements import Spot
from .document import OfdDocument, OfdPage, load_document
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


MAX_BOXES = 2000  # StampAnnots in one signature: a 骑缝章 over every page of the longest document


@dataclass(frozen=True)
class StampBox:
    """One StampAnnot of a signature (GB/T 33190 §18.2.2), in millimetres from the top-left
    corner of page ``page`` (1-based), OFD's axes.

    ``(x_mm, y_mm, width_mm, height_mm)`` is the StampAnnot's ``Boundary``: (x_mm, y_mm) is the
    *top-left corner* of the box the whole seal picture is drawn into, width/height the seal's
    size (use :meth:`centred` from a request's centre). ``clip``, when given, is the
    StampAnnot's ``Clip``: the part of the picture that shows, in millimetres relative to the
    Boundary's top-left corner, as ofdrw writes and renders it (``RidingStampPos``;
    ``AWTMaker``: picture scaled into Boundary, clipped to Boundary origin + Clip). A 骑缝章
    strip is a full-size Boundary, shifted so that its i-th strip sits at the page's right edge,
    with the Clip selecting that strip (see :func:`cross_page_boxes`).
    """

    page: int
    x_mm: float
    y_mm: float
    width_mm: float
    height_mm: float
    clip: tuple[float, float, float, float] | None = None

    @classmethod
    def centred(cls, page: int, centre_x_mm: float, centre_y_mm: float,
                width_mm: float, height_mm: float) -> StampBox:
        return cls(page, centre_x_mm - width_mm / 2, centre_y_mm - height_mm / 2, width_mm, height_mm)

    @property
    def visible(self) -> tuple[float, float, float, float]:
        """What shows on the page: (x, y, w, h) in mm from its top-left corner."""
        if self.clip is None:
            return (self.x_mm, self.y_mm, self.width_mm, self.height_mm)
        cx, cy, cw, ch = self.clip
        return (self.x_mm + cx, self.y_mm + cy, cw, ch)


def cross_page_boxes(pages: Sequence[tuple[int, float]], centre_y_mm: float,
                     width_mm: float, height_mm: float) -> list[StampBox]:
    """A 骑缝章 over ``pages`` ((1-based page number, page width mm) each, in the order the
    strips go): the seal cut into N equal vertical strips, strip i (from the left) shown at
    the right edge of the i-th page, every strip at the same height (its centre at
    ``centre_y_mm``), so that the pages fanned out show the whole seal."""
    n = len(pages)
    if n == 0:
        return []
    strip = width_mm / n
    top = centre_y_mm - height_mm / 2
    return [StampBox(page, page_width - strip * (i + 1), top, width_mm, height_mm,
                     (strip * i, 0.0, strip, height_mm))
            for i, (page, page_width) in enumerate(pages)]


def boxes_for_spots(pages: Sequence[OfdPage], spots: Sequence[Spot],
                    width_mm: float, height_mm: float) -> list[StampBox]:
    """A placement's resolved spots (centres in mm, top-left origin) as StampBoxes at the
    seal's size: a spot with an x is a seal centred there; the spots without one are the
    strips of one 骑缝章, in the order given. ``pages``: ``inspect_ofd(...).pages``."""
    by_number = {p.index: p for p in pages}
    boxes: list[StampBox] = []
    strips: list[tuple[int, float]] = []
    strip_y: float | None = None
    for spot in spots:
        if spot.x is not None:
            boxes.append(StampBox.centred(spot.page, spot.x, spot.y, width_mm, height_mm))
            continue
        page = by_number.get(spot.page)
        if page is None:
            raise PageOutOfRange(f"page {spot.page} not in 1..{len(pages)}")
        strips.append((spot.page, page.width_mm))
        strip_y = spot.y if strip_y is None else strip_y
    if strips:
        assert strip_y is not None
        boxes += cross_page_boxes(strips, strip_y, width_mm, height_mm)
    return boxes


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


def _check_box(doc: OfdDocument, box: StampBox) -> str:
    """The page's ID, after checking that what the box shows lies on that page: the whole
    Boundary, or for a clipped box the Clip (the Boundary of a 骑缝章 strip runs off the page)."""
    if not 1 <= box.page <= len(doc.pages):
        raise PageOutOfRange(f"page {box.page} not in 1..{len(doc.pages)}")
    p = doc.pages[box.page - 1]
    values = (box.x_mm, box.y_mm, box.width_mm, box.height_mm, *(box.clip or ()))
    if not all(math.isfinite(v) for v in values):
        raise PositionOffPage(f"seal box {box} is not a finite position")
    if box.width_mm <= 0 or box.height_mm <= 0:
        raise PositionOffPage(f"seal box {box} has no size")
    if box.clip is not None:
        cx, cy, cw, ch = box.clip
        if (cw <= 0 or ch <= 0 or cx < -_EPS or cy < -_EPS
                or cx + cw > box.width_mm + _EPS or cy + ch > box.height_mm + _EPS):
            raise PositionOffPage(f"clip {box.clip} is not inside the seal's box {box}")
    x, y, w, h = box.visible
    if x < -_EPS or y < -_EPS or x + w > p.width_mm + _EPS or y + h > p.height_mm + _EPS:
        raise PositionOffPage(f"seal box {(x, y, w, h)} is not inside page {box.page} "
                              f"({p.width_mm}×{p.height_mm} mm)")
    return p.id


_EPS = 1e-6


def _fmt(v: float) -> str:
    text = f"{v:.3f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _box_text(box: tuple[float, float, float, float]) -> str:
    return " ".join(_fmt(v) for v in box)


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
    """One StampAnnot, its Boundary's top-left corner at (x_mm, y_mm): :func:`prepare_ofd_stamps`
    with one box."""
    return prepare_ofd_stamps(data, seal_esl_der, signer_certificate,
                              [StampBox(page, x_mm, y_mm, width_mm, height_mm)],
                              signed_at=signed_at, limits=limits)


def prepare_ofd_stamps(
    data: bytes,
    seal_esl_der: bytes,
    signer_certificate: bytes,
    boxes: Sequence[StampBox],
    *,
    signed_at: datetime | None = None,
    limits: Limits | None = None,
) -> PreparedOfdStamp:
    """One seal signature whose appearance is a StampAnnot per box (several spots of one
    placement, or the strips of a 骑缝章), each with its own ID, PageRef, Boundary and Clip."""
    doc = load_document(data, limits=limits)
    return _prepare(doc, data, seal_esl_der, signer_certificate, boxes, signed_at)


def prepare_ofd_placement(
    data: bytes,
    seal_esl_der: bytes,
    signer_certificate: bytes,
    spots: Sequence[Spot],
    width_mm: float,
    height_mm: float,
    *,
    signed_at: datetime | None = None,
    limits: Limits | None = None,
) -> PreparedOfdStamp:
    """One seal placement's signature straight from its resolved spots (centres in mm from
    the page's top-left; x None = the strips of a 骑缝章) at the seal's size:
    :func:`boxes_for_spots` over the document's own pages, then :func:`prepare_ofd_stamps`."""
    doc = load_document(data, limits=limits)
    boxes = boxes_for_spots(doc.pages, spots, width_mm, height_mm)
    return _prepare(doc, data, seal_esl_der, signer_certificate, boxes, signed_at)


def _prepare(doc: OfdDocument, data: bytes, seal_esl_der: bytes, signer_certificate: bytes,
             boxes: Sequence[StampBox], signed_at: datetime | None) -> PreparedOfdStamp:
    if not boxes:
        raise PositionOffPage("a seal signature needs at least one stamp box")
    if len(boxes) > MAX_BOXES:
        raise PositionOffPage(f"more than {MAX_BOXES} stamp boxes in one signature")
    _check_seal(seal_esl_der, signer_certificate)
    annots = [(_check_box(doc, box), box) for box in boxes]
    when = (signed_at or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    new_files: dict[str, bytes] = {}
    sigs_path, sigs_root = _signatures_list(doc, new_files)
    sign_id = _next_id(doc, sigs_root)
    sign_dir = _new_sign_dir(doc, posixpath.dirname(sigs_path))
    seal_path = f"{sign_dir}/Seal.esl"
    signature_path = f"{sign_dir}/Signature.xml"
    value_path = f"{sign_dir}/SignedValue.dat"
    _declare_signature(sigs_root, sign_id, len(annots), signature_path)
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
    signature_xml = _signature_xml(refs, when, sign_id, annots, seal_path, value_path)
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


def _declare_signature(sigs_root: etree._Element, sign_id: int, annots: int, signature_path: str) -> None:
    """The new signature's entry in Signatures.xml, and MaxSignId moved past it and its
    ``annots`` StampAnnots (IDs sign_id+1 … sign_id+annots: one ID space, GB/T 33190 §18.1)."""
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
    max_el.text = str(sign_id + annots)


def _signature_xml(refs: list[tuple[str, bytes]], when: datetime, sign_id: int,
                   annots: Sequence[tuple[str, StampBox]], seal_path: str, value_path: str) -> bytes:
    """Signature.xml: SM3 check values of ``refs``, the stamp's annotations (page ID, box),
    the seal's location."""
    sig = etree.Element(_q("Signature"), nsmap={"ofd": OFD_NS})
    info = etree.SubElement(sig, _q("SignedInfo"))
    etree.SubElement(info, _q("Provider"), **PROVIDER)
    etree.SubElement(info, _q("SignatureMethod")).text = oids.SM2_WITH_SM3
    etree.SubElement(info, _q("SignatureDateTime")).text = when.strftime("%Y-%m-%dT%H:%M:%SZ")
    references = etree.SubElement(info, _q("References"), CheckMethod="SM3")
    for name, content in refs:
        ref = etree.SubElement(references, _q("Reference"), FileRef="/" + name)
        etree.SubElement(ref, _q("CheckValue")).text = base64.b64encode(sm3(content)).decode()
    for k, (page_id, box) in enumerate(annots, start=1):
        annot = etree.SubElement(info, _q("StampAnnot"), ID=str(sign_id + k), PageRef=page_id,
                                 Boundary=_box_text((box.x_mm, box.y_mm, box.width_mm, box.height_mm)))
        if box.clip is not None:
            annot.set("Clip", _box_text(box.clip))
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
                compress_type=_compression(name),
            )
    return out.getvalue()


def _compression(name: str) -> int:
    """The signature's binary parts are stored as they are: Seal.esl and SignedValue.dat
    are mostly the seal's PNG (deflated already), so deflating them again (twice per stamp,
    ~170 KB) cost ~3 ms for a few bytes; the XML is deflated."""
    return zipfile.ZIP_STORED if name.endswith((".esl", ".dat")) else zipfile.ZIP_DEFLATED


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


def stamp_ofd_boxes(
    data: bytes,
    seal_esl_der: bytes,
    signer: OfdSigner,
    boxes: Sequence[StampBox],
    *,
    signed_at: datetime | None = None,
    timestamp: TimestampHook | None = None,
    limits: Limits | None = None,
) -> bytes:
    """:func:`prepare_ofd_stamps` and :func:`finish_ofd_stamp` with an in-process signer (tests,
    benchmarks)."""
    prepared = prepare_ofd_stamps(data, seal_esl_der, signer.certificate, boxes,
                                  signed_at=signed_at, limits=limits)
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
