"""PDFs built to make a verifier work too hard (issue #11, "bounded work").

Written byte by byte (a correct cross-reference table, nothing else clever) so that building
thousands of fields or pages takes milliseconds and no PDF library smooths anything over.

- ``many_signature_fields_pdf(n)``: one page, ``n`` signature fields, each filled with a
  signature dictionary (a placeholder CMS a verifier has to open and reject one by one).
- ``many_pages_pdf(n)``: ``n`` pages sharing one content stream.
- ``many_revisions_pdf(pdf, n)``: ``n`` incremental updates after a (signed) PDF: slow to verify.
"""

from __future__ import annotations

from collections.abc import Sequence
from io import BytesIO


def _pdf(objects: Sequence[bytes]) -> bytes:
    """Objects 1..N (object 1 is the catalog) with a classic xref table."""
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


_CONTENT = b"BT /F1 24 Tf 72 700 Td (hostile test document) Tj ET"
_FONT = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"


def _content_stream() -> bytes:
    return b"<< /Length %d >>\nstream\n" % len(_CONTENT) + _CONTENT + b"\nendstream"


def many_signature_fields_pdf(n: int, *, filled: bool = True) -> bytes:
    """One page with ``n`` signature fields (widgets), each filled with a signature dict."""
    # 1 catalog, 2 pages, 3 page, 4 content, 5 font, 6 signature value, 7.. fields
    first_field = 7
    refs = b" ".join(b"%d 0 R" % (first_field + i) for i in range(n))
    sig_value = (b"<< /Type /Sig /Filter /Adobe.PPKLite /SubFilter /ETSI.CAdES.detached "
                 b"/ByteRange [0 100 200 100] /Contents <" + b"30" + b"00" * 511 + b"> >>")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R /AcroForm << /Fields [" + refs + b"] /SigFlags 3 >> >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> /Annots [" + refs + b"] >>",
        _content_stream(),
        _FONT,
        sig_value,
    ]
    for i in range(n):
        value = b" /V 6 0 R" if filled else b""
        objects.append(b"<< /Type /Annot /Subtype /Widget /FT /Sig /T (sig%d) /F 132 /P 3 0 R "
                       b"/Rect [0 0 0 0]%s >>" % (i, value))
    return _pdf(objects)


def many_pages_pdf(n: int) -> bytes:
    """``n`` pages (one shared content stream), a flat page tree with the true /Count."""
    # 1 catalog, 2 pages, 3 content, 4 font, 5.. pages
    first_page = 5
    kids = b" ".join(b"%d 0 R" % (first_page + i) for i in range(n))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [" + kids + b"] /Count %d >>" % n,
        _content_stream(),
        _FONT,
    ]
    page = (b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 3 0 R "
            b"/Resources << /Font << /F1 4 0 R >> >> >>")
    objects.extend(page for _ in range(n))
    return _pdf(objects)


def many_revisions_pdf(pdf: bytes, n: int) -> bytes:
    """``pdf`` (say, a signed one) with ``n`` incremental updates appended after it: each one
    is a revision a verifier's difference analysis walks, so the verification gets slow."""
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    for i in range(n):
        writer = IncrementalPdfFileWriter(BytesIO(pdf))
        revision = generic.DictionaryObject({generic.NameObject("/Revision"): generic.NumberObject(i)})
        writer.add_object(revision)
        writer.update_root()
        out = BytesIO()
        writer.write(out)
        pdf = out.getvalue()
    return pdf


__all__ = ["many_pages_pdf", "many_revisions_pdf", "many_signature_fields_pdf"]
