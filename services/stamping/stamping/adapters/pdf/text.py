"""Finding a keyword's occurrences in a PDF (keyword placements, issue 15).

Text extraction is pdfminer.six's: it decodes CJK fonts through their ``/ToUnicode`` CMaps
(and the predefined CMaps of non-embedded CID fonts such as ``STSong-Light`` with
``UniGB-UCS2-H``), and its layout analysis groups the characters into lines by where they
are drawn, not by the operators that draw them, so a keyword split across ``Tj``/``TJ``
operators (as word processors write 「甲方（盖章）」) is still one run of text.

Each line's characters are joined, whitespace dropped (a keyword is matched ignoring the
spaces a PDF may put between CJK characters), and every occurrence reported as the centre of
the bounding box of its characters, in the stamp's coordinates: points from the bottom-left
corner of the page's visible box (CropBox, else MediaBox), unrotated, as ``check_position``.
A keyword broken over two lines is not found.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from io import BytesIO
from typing import Any

from ...domain.placements import TextHit
from .validation import PdfError


class TextUnreadable(PdfError):
    code, title = "keyword_not_found", "The document's text could not be read"


@dataclass(frozen=True)
class _Line:
    page: int
    text: str
    boxes: tuple[tuple[float, float, float, float], ...]  # per character of ``text``


class PdfText:
    """A PDF's text lines, read once (on the first search), searched for any keyword."""

    def __init__(self, data: bytes, origins: Sequence[tuple[float, float]]) -> None:
        self._data = data
        self._origins = origins
        self._lines: list[_Line] | None = None

    def find(self, keyword: str) -> list[TextHit]:
        """Every occurrence of ``keyword`` in document order (page, then top to bottom, left
        to right), whitespace ignored."""
        needle = "".join(keyword.split())
        if not needle:
            return []
        if self._lines is None:
            try:
                self._lines = _read_lines(self._data, self._origins)
            except (PdfError, ImportError):  # a missing pdfminer is the platform's fault
                raise
            except Exception as e:  # pdfminer raises many types on odd input
                raise TextUnreadable(
                    f"the document's text could not be read ({type(e).__name__})") from e
        hits: list[TextHit] = []
        for line in self._lines:
            start = line.text.find(needle)
            while start != -1:
                matched = line.boxes[start:start + len(needle)]
                x0 = min(b[0] for b in matched)
                y0 = min(b[1] for b in matched)
                x1 = max(b[2] for b in matched)
                y1 = max(b[3] for b in matched)
                hits.append(TextHit(line.page, round((x0 + x1) / 2, 2), round((y0 + y1) / 2, 2)))
                start = line.text.find(needle, start + 1)
        return sorted(hits, key=lambda h: (h.page, -h.y, h.x))


def find_text(data: bytes, keyword: str, *, origins: Sequence[tuple[float, float]]) -> list[TextHit]:
    """``keyword``'s occurrences; ``origins``: each page's visible-box lower-left corner
    (``PdfInfo.page_origins``)."""
    return PdfText(data, origins).find(keyword)


def _read_lines(data: bytes, origins: Sequence[tuple[float, float]]) -> list[_Line]:
    # Imported here: only requests with a keyword placement pay for loading pdfminer.
    from pdfminer.converter import PDFPageAggregator
    from pdfminer.layout import LAParams
    from pdfminer.pdfdocument import PDFDocument
    from pdfminer.pdfinterp import PDFPageInterpreter, PDFResourceManager
    from pdfminer.pdfpage import PDFPage
    from pdfminer.pdfparser import PDFParser

    logging.getLogger("pdfminer").setLevel(logging.ERROR)  # it warns of every odd font
    document = PDFDocument(PDFParser(BytesIO(data)))
    manager = PDFResourceManager(caching=True)
    device = PDFPageAggregator(manager, laparams=LAParams())
    interpreter = PDFPageInterpreter(manager, device)
    lines: list[_Line] = []
    for number, page in enumerate(PDFPage.create_pages(document), start=1):
        if number > len(origins):
            break
        page.rotate = 0  # positions are in the unrotated page space, as the stamp's
        interpreter.process_page(page)
        # pdfminer's coordinates start at the MediaBox's lower-left corner; ours at the
        # visible box's.
        dx = float(page.mediabox[0]) - origins[number - 1][0]
        dy = float(page.mediabox[1]) - origins[number - 1][1]
        for chars in _lines(device.get_result()):
            text, boxes = [], []
            for c in chars:  # a character may decode to several (a ligature): one box each
                for ch in c.get_text():
                    text.append(ch)
                    boxes.append((c.x0 + dx, c.y0 + dy, c.x1 + dx, c.y1 + dy))
            lines.append(_Line(number, "".join(text), tuple(boxes)))
    return lines


def _lines(layout: Any) -> Iterator[list[Any]]:
    """The characters of each text line of a page, whitespace left out."""
    from pdfminer.layout import LTChar, LTTextLine

    stack = [layout]
    while stack:
        item = stack.pop()
        if isinstance(item, LTTextLine):
            chars = [c for c in item if isinstance(c, LTChar) and c.get_text().strip()]
            if chars:
                yield chars
        elif hasattr(item, "__iter__"):
            stack.extend(reversed(list(item)))
