"""Input checks: only strict, unencrypted, non-empty PDFs within the size limit; seal must fit."""

from __future__ import annotations

import hashlib
from io import BytesIO

import pytest
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.generic import pdf_name
from pyhanko.pdf_utils.writer import PageObject, PdfFileWriter
from stamping.adapters.pdf import (
    DEFAULT_SEAL_SIZE_PT,
    NotAPdf,
    PageOutOfRange,
    PdfEncrypted,
    PdfTooLarge,
    PositionOffPage,
    check_position,
    inspect_pdf,
)

from shared.errors import EsealError
from tests.support.pdf_fixtures import A4, make_test_pdf

MB = 1024 * 1024


def _pdf_with_box(media_box, crop_box=None) -> bytes:
    w = PdfFileWriter()
    page = PageObject(w.add_object(generic.StreamObject(stream_data=b"")), media_box)
    if crop_box is not None:
        page[pdf_name("/CropBox")] = generic.ArrayObject(map(generic.FloatObject, crop_box))
    w.insert_page(page)
    out = BytesIO()
    w.write(out)
    return out.getvalue()


def test_inspect_multi_page_pdf():
    data = make_test_pdf(pages=4)
    info = inspect_pdf(data, max_bytes=MB)
    assert info.pages == 4
    assert info.page_sizes == [A4] * 4
    assert info.sha256 == hashlib.sha256(data).hexdigest()


def test_default_seal_size_is_42_mm():
    assert DEFAULT_SEAL_SIZE_PT == pytest.approx(119.06, abs=0.01)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"hello world",
        b"%PDF-1.7\n%garbage that is not a document\n%%EOF\n",
        b"PK\x03\x04 a zip file",
    ],
)
def test_not_a_pdf(data):
    with pytest.raises(NotAPdf) as e:
        inspect_pdf(data, max_bytes=MB)
    assert e.value.code == "not_a_pdf"
    assert isinstance(e.value, EsealError) and e.value.status == 422


def test_truncated_pdf_is_not_a_pdf():
    data = make_test_pdf(pages=2)
    with pytest.raises(NotAPdf):
        inspect_pdf(data[: len(data) // 2], max_bytes=MB)


def test_pdf_without_pages_is_not_a_pdf():
    w = PdfFileWriter()
    out = BytesIO()
    w.write(out)
    with pytest.raises(NotAPdf):
        inspect_pdf(out.getvalue(), max_bytes=MB)


def test_too_large():
    data = make_test_pdf(pages=1)
    with pytest.raises(PdfTooLarge) as e:
        inspect_pdf(data, max_bytes=len(data) - 1)
    assert e.value.code == "pdf_too_large" and e.value.status == 413


def test_encrypted_pdf_refused():
    w = PdfFileWriter()
    w.insert_page(PageObject(w.add_object(generic.StreamObject(stream_data=b"")), (0, 0, *A4)))
    w.encrypt("owner-secret", "user-secret")
    out = BytesIO()
    w.write(out)
    with pytest.raises(PdfEncrypted) as e:
        inspect_pdf(out.getvalue(), max_bytes=MB)
    assert e.value.code == "pdf_encrypted"


def test_position_inside_page_gives_square_rect():
    info = inspect_pdf(make_test_pdf(pages=2), max_bytes=MB)
    rect = check_position(info, 2, 300, 200, 100)
    assert rect == (250, 150, 350, 250)


@pytest.mark.parametrize(
    "x,y",
    [
        (10, 400),  # sticks out left
        (590, 400),  # right
        (300, 10),  # bottom
        (300, 840),  # top
        (-300, -300),
        (10_000, 400),
    ],
)
def test_position_off_page(x, y):
    info = inspect_pdf(make_test_pdf(pages=1), max_bytes=MB)
    with pytest.raises(PositionOffPage) as e:
        check_position(info, 1, x, y, DEFAULT_SEAL_SIZE_PT)
    assert e.value.code == "position_off_page"


def test_seal_exactly_in_corner_fits():
    info = inspect_pdf(make_test_pdf(pages=1), max_bytes=MB)
    half = DEFAULT_SEAL_SIZE_PT / 2
    check_position(info, 1, half, half, DEFAULT_SEAL_SIZE_PT)
    check_position(info, 1, A4[0] - half, A4[1] - half, DEFAULT_SEAL_SIZE_PT)


@pytest.mark.parametrize("page", [0, -1, 3])
def test_page_out_of_range(page):
    info = inspect_pdf(make_test_pdf(pages=2), max_bytes=MB)
    with pytest.raises(PageOutOfRange) as e:
        check_position(info, page, 300, 300)
    assert e.value.code == "page_out_of_range"


def test_coordinates_are_relative_to_visible_box():
    # MediaBox not at the origin and a smaller CropBox: (x, y) counts from the
    # crop box's lower-left corner; the returned rect is in user space.
    data = _pdf_with_box((100, 100, 700, 900), crop_box=(150, 120, 650, 820))
    info = inspect_pdf(data, max_bytes=MB)
    assert info.page_sizes == [(500, 700)]
    assert check_position(info, 1, 60, 60, 100) == (160, 130, 260, 230)
    with pytest.raises(PositionOffPage):
        check_position(info, 1, 480, 60, 100)
