"""OFD errors with stable codes (the PDF adapter's codes where the meaning is the same)."""

from __future__ import annotations

from shared.errors import EsealError


class OfdError(EsealError):
    status, code, title = 422, "ofd_invalid", "Unusable OFD"


class NotAnOfd(OfdError):
    code, title = "not_an_ofd", "Not a well-formed OFD package"


class UnsafeOfd(OfdError):
    """Path traversal, DTDs/entities, encrypted or duplicated entries: refused, never guessed."""

    code, title = "ofd_unsafe", "OFD package refused for safety"


class OfdTooComplex(OfdError):
    """Too many entries or an expansion beyond the limits (zip bomb)."""

    code, title = "document_too_complex", "Document too complex"


class TooManyPages(OfdError):
    code, title = "too_many_pages", "Too many pages"


class PageOutOfRange(OfdError):
    code, title = "page_out_of_range", "Page out of range"


class PositionOffPage(OfdError):
    code, title = "position_off_page", "Seal position is off the page"
