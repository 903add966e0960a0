"""Input checks for PDFs before anything is signed or verified.

pyHanko only signs strict, well-formed files, so we refuse anything else up front
with a stable error code instead of failing half-way through a signing session.
Coordinates follow PDF conventions: points (1/72 in), origin at the bottom-left
corner of the page's visible box (CropBox, else MediaBox).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from io import BytesIO
from typing import Any

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.reader import PdfFileReader

from shared.errors import EsealError

# 42 mm, the usual diameter of an official round seal (公章), in points.
DEFAULT_SEAL_SIZE_PT = 42 / 25.4 * 72  # ≈ 119.06
DEFAULT_MAX_PDF_BYTES = 50 * 1024 * 1024
# A page tree deeper than this is hostile, not a document.
_MAX_TREE_DEPTH = 64


class PdfError(EsealError):
    status, code, title = 422, "pdf_invalid", "Unusable PDF"


class NotAPdf(PdfError):
    code, title = "not_a_pdf", "Not a well-formed PDF"


class PdfTooLarge(PdfError):
    status, code, title = 413, "pdf_too_large", "PDF too large"


class PdfEncrypted(PdfError):
    code, title = "pdf_encrypted", "Encrypted PDFs cannot be stamped"


class PageOutOfRange(PdfError):
    code, title = "page_out_of_range", "Page out of range"


class PositionOffPage(PdfError):
    code, title = "position_off_page", "Seal does not fit on the page"


class SignatureFieldExists(PdfError):
    status, code, title = 409, "signature_field_exists", "Signature field name already used"


Box = tuple[float, float, float, float]  # llx, lly, urx, ury


@dataclass(frozen=True)
class PdfInfo:
    pages: int
    page_sizes: list[tuple[float, float]]  # (width, height) of each page's visible box
    sha256: str  # hex digest of the exact bytes inspected
    # Lower-left corner of each visible box in user space; needed to turn
    # page-relative coordinates into the numbers written into /Rect.
    page_origins: list[tuple[float, float]]


def inspect_pdf(data: bytes, max_bytes: int = DEFAULT_MAX_PDF_BYTES) -> PdfInfo:
    """Parse ``data`` strictly and describe its pages, or raise a ``PdfError``."""
    return describe_pdf(open_strict_reader(data, max_bytes), data)


def describe_pdf(reader: PdfFileReader, data: bytes) -> PdfInfo:
    """``PdfInfo`` for an already opened reader over ``data`` (avoids a second parse)."""
    boxes = _page_boxes(reader)
    return PdfInfo(
        pages=len(boxes),
        page_sizes=[(b[2] - b[0], b[3] - b[1]) for b in boxes],
        sha256=hashlib.sha256(data).hexdigest(),
        page_origins=[(b[0], b[1]) for b in boxes],
    )


def open_strict_reader(data: bytes, max_bytes: int = DEFAULT_MAX_PDF_BYTES) -> PdfFileReader:
    """Return a strict pyHanko reader over ``data`` (size, header, encryption checked)."""
    if len(data) > max_bytes:
        raise PdfTooLarge(f"PDF is {len(data)} bytes, the limit is {max_bytes}")
    # The header may legally be preceded by junk, but a document we produce and
    # sign must start cleanly; refusing early also avoids parsing random uploads.
    if not data.startswith(b"%PDF-"):
        raise NotAPdf("missing %PDF- header")
    try:
        reader = PdfFileReader(BytesIO(data), strict=True)
        encrypted = reader.encrypted
    except Exception as e:  # pyHanko raises many types on garbage input
        raise NotAPdf(f"unreadable PDF: {type(e).__name__}") from e
    if encrypted:
        raise PdfEncrypted()
    if reader.xrefs.hybrid_xrefs_present:
        # pyHanko refuses to sign these in strict mode; say so before we start.
        raise NotAPdf("hybrid-reference PDFs are not supported")
    return reader


def check_position(
    info: PdfInfo, page: int, x: float, y: float, seal_size_pt: float = DEFAULT_SEAL_SIZE_PT,
    height_pt: float | None = None,
) -> Box:
    """Check the seal box (``seal_size_pt`` wide, ``height_pt`` high, default square) centred
    at (x, y) on 1-based ``page`` fits the page.

    Returns the box as a rectangle in the page's user space (ready for /Rect).
    A page's /Rotate is not applied: (x, y) are in the unrotated page space,
    which is also the space the seal image is drawn in.
    """
    height = seal_size_pt if height_pt is None else height_pt
    if not 1 <= page <= info.pages:
        raise PageOutOfRange(f"page {page} not in 1..{info.pages}")
    if not (seal_size_pt > 0 and height > 0):
        raise PositionOffPage("seal size must be positive")
    page_w, page_h = info.page_sizes[page - 1]
    half_w, half_h = seal_size_pt / 2, height / 2
    if not (half_w <= x <= page_w - half_w and half_h <= y <= page_h - half_h):
        raise PositionOffPage(
            f"a {seal_size_pt:.1f} x {height:.1f} pt seal centred at ({x}, {y}) does not fit "
            f"on page {page} ({page_w:.1f} x {page_h:.1f} pt)"
        )
    ox, oy = info.page_origins[page - 1]
    return (ox + x - half_w, oy + y - half_h, ox + x + half_w, oy + y + half_h)


def check_right_edge(info: PdfInfo, page: int, y: float, width_pt: float, height_pt: float) -> Box:
    """A cross-page strip ``width_pt`` wide: flush with the right edge of ``page``, centred
    at height ``y``; the rectangle in the page's user space, or a refusal if it does not fit."""
    if not 1 <= page <= info.pages:
        raise PageOutOfRange(f"page {page} not in 1..{info.pages}")
    page_w, page_h = info.page_sizes[page - 1]
    if not (0 < width_pt <= page_w and height_pt > 0):
        raise PositionOffPage(f"a {width_pt:.1f} pt strip does not fit on page {page}")
    half_h = height_pt / 2
    if not half_h <= y <= page_h - half_h:
        raise PositionOffPage(
            f"a {height_pt:.1f} pt high strip centred at height {y} does not fit "
            f"on page {page} ({page_w:.1f} x {page_h:.1f} pt)"
        )
    ox, oy = info.page_origins[page - 1]
    return (ox + page_w - width_pt, oy + y - half_h, ox + page_w, oy + y + half_h)


def _page_boxes(reader: PdfFileReader) -> list[Box]:
    try:
        pages_root = reader.root["/Pages"]
        boxes = list(_walk_pages(pages_root, inherited={}, depth=0, seen=set()))
    except PdfError:
        raise
    except Exception as e:
        raise NotAPdf(f"broken page tree: {type(e).__name__}") from e
    if not boxes:
        raise NotAPdf("document has no pages")
    return boxes


def _walk_pages(
    node: generic.DictionaryObject, inherited: dict[str, Any], depth: int, seen: set[tuple[int, int]]
) -> Iterator[Box]:
    # Own walk (instead of trusting /Count) so a lying or cyclic tree is refused.
    if depth > _MAX_TREE_DEPTH:
        raise NotAPdf("page tree too deep")
    inherited = {
        key: node[key] if key in node else inherited.get(key)
        for key in ("/MediaBox", "/CropBox")
    }
    node_type = node.get("/Type")
    if node_type == "/Pages" or (node_type is None and "/Kids" in node):
        for kid in node["/Kids"]:  # list iteration yields raw references
            if isinstance(kid, generic.IndirectObject):
                ref = (kid.idnum, kid.generation)
                if ref in seen:
                    raise NotAPdf("cyclic page tree")
                seen.add(ref)
            yield from _walk_pages(kid.get_object(), inherited, depth + 1, seen)
        return
    yield _visible_box(inherited)


def _visible_box(inherited: dict[str, Any]) -> Box:
    media = inherited.get("/MediaBox")
    if media is None:
        raise NotAPdf("page without /MediaBox")
    box = _normalise(media)
    crop = inherited.get("/CropBox")
    if crop is not None:
        c = _normalise(crop)
        # The visible area is the crop box clipped to the media box.
        box = (max(box[0], c[0]), max(box[1], c[1]), min(box[2], c[2]), min(box[3], c[3]))
    if box[2] - box[0] <= 0 or box[3] - box[1] <= 0:
        raise NotAPdf("page with an empty box")
    return box


def _normalise(arr: Iterable[Any]) -> Box:
    x1, y1, x2, y2 = (float(v) for v in arr)
    return (min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2))
