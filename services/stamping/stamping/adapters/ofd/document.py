"""The structure of an OFD document: OFD.xml → DocBody → Document.xml → pages; signatures."""

from __future__ import annotations

import hashlib
import math
import posixpath
from dataclasses import dataclass

from lxml import etree

from shared.gm.sm3 import sm3

from .errors import NotAnOfd, OfdError, PageOutOfRange, PositionOffPage, TooManyPages
from .package import Limits, OfdPackage, child, children, resolve_loc, text_of

MAX_PAGES = 2000


@dataclass(frozen=True)
class OfdPage:
    index: int  # 1-based, in document order
    id: str  # the Page ID that StampAnnot/@PageRef points to
    path: str
    width_mm: float
    height_mm: float


@dataclass(frozen=True)
class OfdSignatureEntry:
    id: str
    type: str  # "Seal" (electronic seal, SES) or "Sign" (plain digital signature)
    path: str  # Signature.xml


@dataclass(frozen=True)
class OfdInfo:
    doc_id: str | None
    title: str | None
    pages: tuple[OfdPage, ...]
    signatures: tuple[OfdSignatureEntry, ...]
    sm3_hex: str  # of the whole package, as received
    sha256_hex: str  # the same, for the records that already use SHA-256


@dataclass
class OfdDocument:
    """Parsed skeleton shared by inspection, verification and stamping."""

    package: OfdPackage
    ofd_root: etree._Element
    doc_body: etree._Element
    document_path: str
    document: etree._Element
    signatures_path: str | None
    pages: list[OfdPage]
    signatures: list[OfdSignatureEntry]


def _box(text: str | None) -> tuple[float, float] | None:
    if not text:
        return None
    try:
        nums = [float(x) for x in text.split()]
    except ValueError:
        raise NotAnOfd(f"bad box {text!r}") from None
    if len(nums) != 4 or not all(math.isfinite(n) for n in nums) or nums[2] <= 0 or nums[3] <= 0:
        raise NotAnOfd(f"bad box {text!r}")
    if max(abs(n) for n in nums) > 100_000:
        raise NotAnOfd(f"bad box {text!r}")
    return nums[2], nums[3]


def _physical_box(area: etree._Element | None) -> tuple[float, float] | None:
    return _box(text_of(area, "PhysicalBox")) if area is not None else None


def _read_pages(
    pkg: OfdPackage, doc_path: str, max_pages: int, strict_pages: bool
) -> tuple[etree._Element, list[OfdPage]]:
    document = pkg.xml(doc_path)
    doc_dir = posixpath.dirname(doc_path)
    common = child(document, "CommonData")
    default_size = _physical_box(child(common, "PageArea")) if common is not None else None
    pages_el = child(document, "Pages")
    page_els = children(pages_el, "Page") if pages_el is not None else []
    if not page_els:
        raise NotAnOfd("document has no pages")
    if len(page_els) > max_pages:
        raise TooManyPages(f"document has {len(page_els)} pages, limit {max_pages}")
    pages: list[OfdPage] = []
    for i, el in enumerate(page_els, start=1):
        base = el.get("BaseLoc")
        if not base:
            raise NotAnOfd(f"page {i} without BaseLoc")
        path = resolve_loc(base, doc_dir)
        try:
            size = _physical_box(child(pkg.xml(path), "Area")) or default_size
        except NotAnOfd:
            if strict_pages:
                raise
            size = default_size or (0.0, 0.0)
        if size is None:
            raise NotAnOfd(f"page {i} has no size (no PhysicalBox)")
        pages.append(OfdPage(i, el.get("ID") or str(i), path, size[0], size[1]))
    return document, pages


def load_document(
    data: bytes, *, limits: Limits | None = None, max_pages: int = MAX_PAGES, strict_pages: bool = True
) -> OfdDocument:
    """``strict_pages=False`` (verification): an unreadable Document.xml or page does not
    fail the whole read, so tampering is reported by the check values of the signatures."""
    pkg = OfdPackage(data, limits)
    root = pkg.xml("OFD.xml")
    if etree.QName(root).localname != "OFD":
        raise NotAnOfd("OFD.xml root element is not <OFD>")
    bodies = children(root, "DocBody")
    if len(bodies) != 1:
        # Several documents in one package are legal but rare; refusing beats ignoring
        # the signatures of the others.
        raise OfdError("OFD packages with several documents are not supported" if bodies else "no DocBody")
    body = bodies[0]
    doc_root = text_of(body, "DocRoot")
    if not doc_root:
        raise NotAnOfd("DocBody without DocRoot")
    doc_path = resolve_loc(doc_root, "")
    try:
        document, pages = _read_pages(pkg, doc_path, max_pages, strict_pages)
    except NotAnOfd:
        if strict_pages:
            raise
        document, pages = etree.Element("Document"), []
    sig_loc = text_of(body, "Signatures")
    sig_path = resolve_loc(sig_loc, "") if sig_loc else None
    entries: list[OfdSignatureEntry] = []
    if sig_path is not None:
        sigs = pkg.xml(sig_path)
        sig_dir = posixpath.dirname(sig_path)
        for s in children(sigs, "Signature"):
            base = s.get("BaseLoc")
            if not base:
                raise NotAnOfd("Signature entry without BaseLoc")
            entries.append(
                OfdSignatureEntry(s.get("ID") or "", s.get("Type") or "Seal", resolve_loc(base, sig_dir))
            )
    return OfdDocument(pkg, root, body, doc_path, document, sig_path, pages, entries)


def inspect_ofd(data: bytes, *, limits: Limits | None = None, max_pages: int = MAX_PAGES) -> OfdInfo:
    doc = load_document(data, limits=limits, max_pages=max_pages)
    info = child(doc.doc_body, "DocInfo")
    return OfdInfo(
        doc_id=text_of(info, "DocID") if info is not None else None,
        title=text_of(info, "Title") if info is not None else None,
        pages=tuple(doc.pages),
        signatures=tuple(doc.signatures),
        sm3_hex=sm3(data).hex(),
        sha256_hex=hashlib.sha256(data).hexdigest(),
    )


def check_point(info: OfdInfo, page: int, x_mm: float, y_mm: float) -> None:
    """A stamp request's position: the seal's centre, in millimetres from the page's top-left
    corner (OFD's axes), must lie on that page. Whether the whole seal fits is known once the
    seal (its real size) is chosen, at stamping."""
    if not 1 <= page <= len(info.pages):
        raise PageOutOfRange(f"page {page} not in 1..{len(info.pages)}")
    p = info.pages[page - 1]
    if not (math.isfinite(x_mm) and math.isfinite(y_mm)
            and 0 <= x_mm <= p.width_mm and 0 <= y_mm <= p.height_mm):
        raise PositionOffPage(f"({x_mm}, {y_mm}) mm is not on page {page} "
                              f"({p.width_mm}×{p.height_mm} mm)")
