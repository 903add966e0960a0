"""Where a signature's seal is drawn (issue 15): real sizes, several spots per signature,
the 骑缝章's strips at the right edge; signatures over signatures stay valid."""

from __future__ import annotations

import io
import subprocess
from datetime import UTC, datetime
from typing import Any

import pytest
from PIL import Image
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import DocumentSecurityStore, async_validate_pdf_signature
from pyhanko_certvalidator import ValidationContext
from stamping.adapters.pdf import (
    PositionOffPage,
    StampMetadata,
    as_asn1_cert,
    check_position,
    inspect_pdf,
    offline_validation_context,
    stamp_pdf,
    verify_pdf,
)
from stamping.adapters.pdf.signing import Mark, cut_strips, layout_marks, seal_box_pt
from stamping.adapters.pdf.validation import check_right_edge

from tests.support.pdf_fixtures import LocalDigestSigner, build_test_pki, make_seal_png, make_test_pdf

MM = 72 / 25.4


def _png(width_px: int, height_px: int, dpi: float | None = None) -> bytes:
    img = Image.new("RGBA", (width_px, height_px), (220, 20, 30, 255))
    out = io.BytesIO()
    img.save(out, format="PNG", **({"dpi": (dpi, dpi)} if dpi else {}))
    return out.getvalue()


def test_check_position_takes_width_and_height():
    info = inspect_pdf(make_test_pdf(pages=1))
    assert check_position(info, 1, 300, 200, 40 * MM, 30 * MM) == pytest.approx(
        (300 - 20 * MM, 200 - 15 * MM, 300 + 20 * MM, 200 + 15 * MM))
    # square by default, as before
    assert check_position(info, 1, 300, 200, 100) == (250, 150, 350, 250)
    with pytest.raises(PositionOffPage):
        check_position(info, 1, 300, 10, 40 * MM, 30 * MM)
    check_position(info, 1, 300, 16 * MM, 40 * MM, 30 * MM)  # a 30 mm high oval fits at 16 mm


def test_right_edge_strip_is_flush_with_the_page():
    info = inspect_pdf(make_test_pdf(pages=2))
    w, _h = info.page_sizes[1]
    assert check_right_edge(info, 2, 400, 20, 119) == pytest.approx((w - 20, 400 - 59.5, w, 400 + 59.5))
    with pytest.raises(PositionOffPage):
        check_right_edge(info, 2, 20, 20, 119)


@pytest.mark.parametrize("n", [1, 2, 3, 7, 10])
def test_strips_cover_the_seal_exactly(n):
    image = Image.new("RGBA", (401, 300))
    strips = cut_strips(image, n)
    assert len(strips) == n
    assert sum(s.width for s, _ in strips) == 401
    assert max(s.width for s, _ in strips) - min(s.width for s, _ in strips) <= 1
    assert sum(f for _, f in strips) == pytest.approx(1.0)
    assert all(s.height == 300 for s, _ in strips)


def test_seal_box_is_the_pngs_own_size_when_it_says_so():
    # seals' PNG: the ink plus 0.5 mm a side, its dpi stating its size (16 px/mm here)
    dpi = 16 * 25.4
    w, h = seal_box_pt(_png(21 * 16, 21 * 16, dpi), 20, 20)
    assert w == pytest.approx(21 * MM) and h == pytest.approx(21 * MM)
    w, h = seal_box_pt(_png(41 * 16, 31 * 16, dpi), 40, 30)
    assert (w, h) == pytest.approx((41 * MM, 31 * MM))
    # no dpi, or one that does not fit the seal's size: exactly the seal's size
    assert seal_box_pt(_png(400, 400), 20, 20) == pytest.approx((20 * MM, 20 * MM))
    assert seal_box_pt(_png(400, 400, 72), 20, 20) == pytest.approx((20 * MM, 20 * MM))


def test_layout_puts_strips_at_the_right_edge_of_each_page():
    info = inspect_pdf(make_test_pdf(pages=3))
    seal = Image.new("RGBA", (300, 300))
    marks = [Mark(p, None, 400) for p in (1, 2, 3)]
    out = layout_marks(info, marks, seal, 120, 120)
    assert [a.page for a in out] == [1, 2, 3]
    assert sum(a.box[2] - a.box[0] for a in out) == pytest.approx(120)
    for a in out:
        assert a.box[2] == pytest.approx(info.page_sizes[a.page - 1][0])
        assert (a.box[1], a.box[3]) == pytest.approx((340, 460))
    both = layout_marks(info, [Mark(1, 200, 300), Mark(3, 300, 500)], seal, 60, 40)
    assert [a.box for a in both] == [(170, 280, 230, 320), (270, 480, 330, 520)]


# signing -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pki():
    return build_test_pki()


def _metadata(request_id: str = "req-m") -> StampMetadata:
    return StampMetadata(
        seal_id="seal-1", seal_name="测试科技有限公司合同专用章", seal_type="合同专用章",
        enterprise_name="测试科技有限公司", enterprise_uscc="91110000MA00TEST0X",
        signer_person_name="张三", signer_person_id="person-0001",
        stamped_at=datetime(2025, 3, 1, 9, 30, tzinfo=UTC), request_id=request_id,
        person_signature_b64="")


async def _stamp(pki, pdf: bytes, marks: list[Mark], field: str, png: bytes) -> bytes:
    return await stamp_pdf(
        pdf, marks=marks, seal_png=png, seal_size_pt=119.0,
        signer=LocalDigestSigner(pki.seal_key), chain=pki.chain, timestamper=pki.timestamper(),
        validation_context_for_lt=offline_validation_context([pki.root_cert], crls=pki.crls,
                                                             other_certs=pki.chain),
        metadata=_metadata(), field_name=field)


@pytest.fixture(scope="module")
async def signed_twice(pki):
    pdf = make_test_pdf(pages=3)
    once = await _stamp(pki, pdf, [Mark(1, 200, 300), Mark(3, 300, 500)], "eseal-a", make_seal_png(300))
    # solid ink, so that the strips' widths can be measured to the pixel
    return await _stamp(pki, once, [Mark(p, None, 400) for p in (1, 2, 3)], "eseal-b", _png(300, 300))


async def test_every_signature_is_valid_and_trusted(pki, signed_twice):
    reader = PdfFileReader(io.BytesIO(signed_twice), strict=True)
    sigs = reader.embedded_signatures
    assert len(sigs) == 2
    kwargs: dict[str, Any] = {"trust_roots": [as_asn1_cert(pki.root_cert)], "allow_fetching": False,
                              "revocation_mode": "hard-fail"}
    for sig in sigs:
        context: ValidationContext = DocumentSecurityStore.read_dss(reader).as_validation_context(kwargs)
        status = await async_validate_pdf_signature(sig, context)
        assert status.intact and status.valid and status.trusted
        assert status.bottom_line, status.pretty_print_details()  # the widgets are form filling
    report = await verify_pdf(signed_twice, trust_roots=[pki.root_cert])
    assert report.result == "passed", report.reasons
    assert [s.result for s in report.signatures] == ["passed", "passed"]


def _render(pdf: bytes, page: int, tmp_path, dpi: int = 72) -> Image.Image:
    src, out = tmp_path / "in.pdf", tmp_path / f"p{page}-{dpi}"
    src.write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", str(dpi), "-f", str(page), "-l", str(page), "-png", "-singlefile",
                    str(src), str(out)], capture_output=True, check=True)
    with Image.open(f"{out}.png") as img:
        return img.convert("RGB")


def _red(img: Image.Image) -> list[tuple[int, int]]:
    px = img.load()
    return [(i, j) for j in range(img.height) for i in range(img.width)
            if (p := px[i, j])[0] > 150 and p[1] < 90 and p[2] < 90]


async def test_spots_and_strips_are_drawn(signed_twice, tmp_path):
    widths = []
    for page in (1, 2, 3):
        img = _render(signed_twice, page, tmp_path)
        red = _red(img)
        strip = [(i, j) for i, j in red if i >= img.width - 60]
        assert strip, f"no strip on page {page}"
        xs, ys = [i for i, _ in strip], [j for _, j in strip]
        assert max(xs) == img.width - 1  # flush with the edge
        assert img.height - 460 - 2 <= min(ys) and max(ys) <= img.height - 340 + 2
        fine = _render(signed_twice, page, tmp_path, 288)  # 4 px a point: strips measured finely
        edge = fine.crop((fine.width - 240, 0, fine.width, fine.height))
        widths.append(240 - min(i for i, _ in _red(edge)))
        if page == 1:
            spot = [(i, j) for i, j in red if 140 <= i <= 260 and img.height - 360 <= j <= img.height - 240]
            assert len(spot) > 300
        if page == 3:
            spot = [(i, j) for i, j in red if 240 <= i <= 360 and img.height - 560 <= j <= img.height - 440]
            assert len(spot) > 300
        if page == 2:
            assert [p for p in red if p[0] < img.width - 60] == []
    assert abs(sum(widths) / 4 - 119) <= 1, widths  # the seal's width, within a point


def test_only_the_ink_must_fit_the_page():
    """A seal whose ink just fits (what the request side checked) is drawn with its image's
    transparent margin reaching past the edge, rather than refused at stamping time."""
    info = inspect_pdf(make_test_pdf(pages=1))
    seal = Image.new("RGBA", (43, 43))
    ink, drawn = 42 * MM, 43 * MM
    [a] = layout_marks(info, [Mark(1, ink / 2, 300)], seal, drawn, drawn, (ink, ink))
    x, half = ink / 2, drawn / 2
    assert a.box == pytest.approx((x - half, 300 - half, x + half, 300 + half))
    with pytest.raises(PositionOffPage):
        layout_marks(info, [Mark(1, ink / 2, 300)], seal, drawn, drawn)
    [s] = layout_marks(info, [Mark(1, None, ink / 2)], seal, drawn, drawn, (ink, ink))
    assert s.box[3] - s.box[1] == pytest.approx(drawn)
