"""Caps on what one PDF may ask of us, checked before any signature is validated.

A verifier that opens every signature field of an upload does work proportional to what the
uploader chose; these caps make it proportional to what we chose. Counting is itself bounded:
the form tree walk visits at most ``MAX_FORM_NODES`` nodes.
"""

from __future__ import annotations

from typing import Any

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.reader import PdfFileReader

from .validation import NotAPdf, PdfError

DEFAULT_MAX_SIGNATURES = 50
DEFAULT_MAX_PAGES = 2000
MAX_FORM_NODES = 20_000
_MAX_DEPTH = 32


class TooManySignatures(PdfError):
    code, title = "too_many_signatures", "Too many signature fields"


class TooManyPages(PdfError):
    code, title = "too_many_pages", "Too many pages"


class DocumentTooComplex(PdfError):
    code, title = "document_too_complex", "The document is too complex to process"


def page_count(reader: PdfFileReader) -> int:
    try:
        count = reader.root["/Pages"]["/Count"]
    except Exception as e:  # noqa: BLE001 - a hostile catalog raises anything
        raise NotAPdf(f"no readable page tree: {type(e).__name__}") from e
    if not isinstance(count, int) or count < 0:
        raise NotAPdf("the page count is not a number")
    return int(count)


def signature_field_count(reader: PdfFileReader, stop_after: int) -> int:
    """Signature fields in the form (``/FT /Sig``, inherited too); stops past ``stop_after``."""
    try:
        form = reader.root.get("/AcroForm")
        roots = form.get("/Fields") if isinstance(form, generic.DictionaryObject) else None
    except Exception as e:  # noqa: BLE001
        raise NotAPdf(f"unreadable form: {type(e).__name__}") from e
    if not isinstance(roots, generic.ArrayObject):
        return 0
    # Walk fields and their kids once. A field is terminal if its kids are widgets (no /T)
    # or it has none (field and widget merged); a terminal /Sig field counts once.
    count, visited = 0, 0
    counted: set[int] = set()
    stack: list[tuple[Any, Any, int, int | None]] = [(r, None, 0, None) for r in roots]
    while stack:
        ref, inherited_ft, depth, parent = stack.pop()
        visited += 1
        if visited > MAX_FORM_NODES or depth > _MAX_DEPTH:
            raise DocumentTooComplex("the form has too many fields or is nested too deeply")
        try:
            node = ref.get_object()
        except Exception:  # noqa: BLE001, S112 - a dangling reference is not a field
            continue
        if not isinstance(node, generic.DictionaryObject):
            continue
        if "/T" not in node:  # a widget: its parent is the (terminal) field
            if parent is not None and inherited_ft == "/Sig" and parent not in counted:
                counted.add(parent)
                count += 1
        else:
            ft = node.get("/FT", inherited_ft)
            kids = node.get("/Kids")
            if isinstance(kids, generic.ArrayObject) and len(kids) > 0:
                stack.extend((k, ft, depth + 1, visited) for k in kids)
            elif ft == "/Sig":
                count += 1
        if count > stop_after:
            return count
    return count


def check_limits(reader: PdfFileReader, *, max_signatures: int, max_pages: int) -> None:
    pages = page_count(reader)
    if pages > max_pages:
        raise TooManyPages(f"the document has {pages} pages; at most {max_pages} are accepted",
                           max_pages=max_pages)
    fields = signature_field_count(reader, max_signatures)
    if fields > max_signatures:
        raise TooManySignatures(f"the document has more than {max_signatures} signature fields",
                                max_signatures=max_signatures)
