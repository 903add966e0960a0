# mypy: disable-error-code="no-untyped-call"
"""PDFs with Chinese text where a test knows exactly where every character is drawn.

Two kinds of CJK font, as real documents have them, neither embedding a font program (text
extraction needs none):
- ``tounicode``: a Type0 font, Identity-H, whose ``/ToUnicode`` CMap maps each 2-byte code
  to a character (what word processors write for embedded subset fonts);
- ``stsong``: the non-embedded ``STSong-Light`` with the predefined ``UniGB-UCS2-H`` CMap.

Each character is drawn by its own ``Tj`` (``split``, so a keyword is split across
operators), else the line by one ``TJ``.
Every glyph is ``size`` points wide (the fonts' default width 1000), starting at (x, y).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from io import BytesIO

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.generic import pdf_name
from pyhanko.pdf_utils.writer import PageObject, PdfFileWriter

A4 = (595.0, 842.0)

_TO_UNICODE = b"""/CIDInit /ProcSet findresource begin
12 dict begin
begincmap
/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def
/CMapName /Adobe-Identity-UCS def
/CMapType 2 def
1 begincodespacerange
<0000> <FFFF>
endcodespacerange
1 beginbfrange
<0000> <FFFF> <0000>
endbfrange
endcmap
CMapName currentdict /CMap defineresource pop
end
end
"""


@dataclass(frozen=True)
class Text:
    x: float  # where the first glyph starts (its left edge, on the baseline)
    y: float
    text: str
    size: float = 12.0
    split: bool = True  # one Tj per character (else one TJ with a kerning between each)


def centre(t: Text, start: int, length: int) -> tuple[float, float]:
    """Centre of characters ``start``..``start+length`` as text extraction boxes them (no
    font descriptor here, so a glyph's box is its advance wide, baseline to baseline + size)."""
    x0 = t.x + start * t.size
    return x0 + length * t.size / 2, t.y + t.size / 2


def _font(writer: PdfFileWriter, kind: str) -> generic.IndirectObject:
    if kind == "stsong":
        descendant = generic.DictionaryObject({
            pdf_name("/Type"): pdf_name("/Font"), pdf_name("/Subtype"): pdf_name("/CIDFontType0"),
            pdf_name("/BaseFont"): pdf_name("/STSong-Light"),
            pdf_name("/CIDSystemInfo"): generic.DictionaryObject({
                pdf_name("/Registry"): generic.TextStringObject("Adobe"),
                pdf_name("/Ordering"): generic.TextStringObject("GB1"),
                pdf_name("/Supplement"): generic.NumberObject(2)}),
            pdf_name("/DW"): generic.NumberObject(1000)})
        return writer.add_object(generic.DictionaryObject({
            pdf_name("/Type"): pdf_name("/Font"), pdf_name("/Subtype"): pdf_name("/Type0"),
            pdf_name("/BaseFont"): pdf_name("/STSong-Light"),
            pdf_name("/Encoding"): pdf_name("/UniGB-UCS2-H"),
            pdf_name("/DescendantFonts"): generic.ArrayObject([writer.add_object(descendant)])}))
    descendant = generic.DictionaryObject({
        pdf_name("/Type"): pdf_name("/Font"), pdf_name("/Subtype"): pdf_name("/CIDFontType2"),
        pdf_name("/BaseFont"): pdf_name("/SimSun"),
        pdf_name("/CIDSystemInfo"): generic.DictionaryObject({
            pdf_name("/Registry"): generic.TextStringObject("Adobe"),
            pdf_name("/Ordering"): generic.TextStringObject("Identity"),
            pdf_name("/Supplement"): generic.NumberObject(0)}),
        pdf_name("/DW"): generic.NumberObject(1000),
        pdf_name("/CIDToGIDMap"): pdf_name("/Identity")})
    cmap = writer.add_object(generic.StreamObject(stream_data=_TO_UNICODE))
    return writer.add_object(generic.DictionaryObject({
        pdf_name("/Type"): pdf_name("/Font"), pdf_name("/Subtype"): pdf_name("/Type0"),
        pdf_name("/BaseFont"): pdf_name("/SimSun"), pdf_name("/Encoding"): pdf_name("/Identity-H"),
        pdf_name("/DescendantFonts"): generic.ArrayObject([writer.add_object(descendant)]),
        pdf_name("/ToUnicode"): cmap}))


def _hex(ch: str) -> bytes:
    return b"<%04X>" % ord(ch)


def _draw(t: Text) -> bytes:
    ops = b"BT /F1 %.2f Tf %.2f %.2f Td " % (t.size, t.x, t.y)
    if t.split:
        ops += b" ".join(_hex(ch) + b" Tj" for ch in t.text)
    else:
        ops += b"[" + b" 0 ".join(_hex(ch) for ch in t.text) + b"] TJ"
    return ops + b" ET\n"


def make_text_pdf(pages: Sequence[Sequence[Text]], *, size: tuple[float, float] = A4,
                  font: str = "tounicode",
                  crop: tuple[float, float, float, float] | None = None) -> bytes:
    """One page per item of ``pages``, each with its texts."""
    writer = PdfFileWriter()
    font_ref = _font(writer, font)
    for texts in pages:
        stream = generic.StreamObject(stream_data=b"".join(_draw(t) for t in texts) or b"% empty\n")
        resources = generic.DictionaryObject(
            {pdf_name("/Font"): generic.DictionaryObject({pdf_name("/F1"): font_ref})})
        page = PageObject(writer.add_object(stream), (0, 0, size[0], size[1]), resources)
        if crop is not None:
            page[pdf_name("/CropBox")] = generic.ArrayObject(generic.FloatObject(v) for v in crop)
        writer.insert_page(page)
    out = BytesIO()
    writer.write(out)
    return out.getvalue()
