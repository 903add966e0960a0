"""OFD placements (issue 15): several StampAnnots per signature, the 骑缝章 (Clip per page, as
ofdrw's RidingStampPos writes it), keyword search in the text, and verification of all of it
by the platform's verifier and by the independent checker (tests/support/gm_independent.py)."""

from __future__ import annotations

import io
import re
import zipfile

import pytest
from ofd_support import build_pki, rewrite, vector
from stamping.adapters.ofd import (
    OfdError,
    OfdSigningFailed,
    PageOutOfRange,
    PositionOffPage,
    StampBox,
    boxes_for_spots,
    cross_page_boxes,
    find_text,
    inspect_ofd,
    prepare_ofd_stamps,
    stamp_ofd_boxes,
    verify_ofd,
)
from stamping.domain.placements import Spot, TextHit

from tests.support import gm_independent as gm

PAGE_IDS = ["1", "21", "43", "63", "83"]  # Page5.ofd's Page IDs, pages 1..5


@pytest.fixture(scope="module")
def pki():
    return build_pki()


def _verify(pki, data: bytes):
    return verify_ofd(data, trusted_roots=[pki.root], intermediates=[pki.ca])


def _read(data: bytes, name: str) -> str:
    return zipfile.ZipFile(io.BytesIO(data)).read(name).decode()


def _annots(data: bytes, signature_xml: str) -> list[dict[str, str]]:
    xml = _read(data, signature_xml)
    return [dict(re.findall(r'(\w+)="([^"]*)"', a)) for a in re.findall(r"<ofd:StampAnnot ([^>]*)/>", xml)]


def _max_sign_id(data: bytes) -> int:
    sigs = _read(data, "Doc_0/Signs/Signatures.xml")
    return int(re.search(r"<ofd:MaxSignId>(\d+)</ofd:MaxSignId>", sigs)[1])


def _all_ids(data: bytes) -> list[int]:
    """Signature IDs and StampAnnot IDs: one ID space (GB/T 33190 §18.1, MaxSignId)."""
    sigs = _read(data, "Doc_0/Signs/Signatures.xml")
    ids = [int(i) for i in re.findall(r'<ofd:Signature ID="(\d+)"', sigs)]
    for loc in re.findall(r'BaseLoc="/([^"]+)"', sigs):
        ids += [int(a["ID"]) for a in _annots(data, loc)]
    return ids


# ---- several stamp boxes, one signature ----


def test_three_annots_one_signature(pki) -> None:
    boxes = [StampBox.centred(1, 60, 60, 42, 42), StampBox.centred(3, 105, 150, 42, 42),
             StampBox(5, 10, 240, 20, 20)]
    out = stamp_ofd_boxes(vector("Page5.ofd"), pki.seal, pki.signer, boxes)
    (sig,) = _verify(pki, out).signatures
    assert sig.status == "passed", sig.reasons
    assert sig.stamps == [("1", (39.0, 39.0, 42.0, 42.0)), ("43", (84.0, 129.0, 42.0, 42.0)),
                          ("83", (10.0, 240.0, 20.0, 20.0))]
    assert sig.stamp_clips == [None, None, None]
    assert sig.stamp_pages == {"1": (1, 210.0, 297.0), "43": (3, 210.0, 297.0), "83": (5, 210.0, 297.0)}
    annots = _annots(out, "Doc_0/Signs/Sign_0/Signature.xml")
    assert [a["ID"] for a in annots] == ["2", "3", "4"]  # the signature is 1
    assert [a["PageRef"] for a in annots] == ["1", "43", "83"]
    assert _max_sign_id(out) == 4
    (check,) = gm.check_ofd(out)
    assert check.ok, check
    assert [(s.page, s.boundary, s.clip) for s in check.stamps] == [
        (1, (39.0, 39.0, 42.0, 42.0), None), (3, (84.0, 129.0, 42.0, 42.0), None),
        (5, (10.0, 240.0, 20.0, 20.0), None)]


# ---- 骑缝章 ----


def test_cross_page_boxes_are_ofdrw_riding_stamps() -> None:
    """Boundary = the whole seal, shifted so its i-th strip is at the right edge; Clip = that
    strip, relative to the Boundary (ofdrw's RidingStampPos for Side.Right)."""
    boxes = cross_page_boxes([(1, 210.0), (2, 210.0), (3, 297.0)], 100.0, 42.0, 30.0)
    assert [(b.page, b.x_mm, b.y_mm, b.width_mm, b.height_mm) for b in boxes] == [
        (1, 196.0, 85.0, 42.0, 30.0), (2, 182.0, 85.0, 42.0, 30.0), (3, 255.0, 85.0, 42.0, 30.0)]
    assert [b.clip for b in boxes] == [(0.0, 0.0, 14.0, 30.0), (14.0, 0.0, 14.0, 30.0),
                                       (28.0, 0.0, 14.0, 30.0)]
    assert [b.visible for b in boxes] == [(196.0, 85.0, 14.0, 30.0), (196.0, 85.0, 14.0, 30.0),
                                          (283.0, 85.0, 14.0, 30.0)]
    assert cross_page_boxes([], 100.0, 42.0, 42.0) == []


def test_boxes_for_spots(pki) -> None:
    pages = inspect_ofd(vector("Page5.ofd")).pages
    seal = boxes_for_spots(pages, [Spot(2, 100, 50), Spot(4, 30, 280)], 40, 30)
    assert seal == [StampBox(2, 80, 35, 40, 30), StampBox(4, 10, 265, 40, 30)]
    strips = boxes_for_spots(pages, [Spot(p, None, 150) for p in (1, 2, 3, 4, 5)], 42, 42)
    assert [b.page for b in strips] == [1, 2, 3, 4, 5]
    assert all(b.visible[0] == pytest.approx(210 - 8.4) and b.visible[2] == pytest.approx(8.4)
               for b in strips)
    with pytest.raises(PageOutOfRange):
        boxes_for_spots(pages, [Spot(6, None, 150)], 42, 42)


def test_cross_page_seal_over_all_pages(pki) -> None:
    pages = inspect_ofd(vector("Page5.ofd")).pages
    boxes = boxes_for_spots(pages, [Spot(p.index, None, 148.5) for p in pages], 42, 42)
    out = stamp_ofd_boxes(vector("Page5.ofd"), pki.seal, pki.signer, boxes)
    (sig,) = _verify(pki, out).signatures
    assert sig.status == "passed", sig.reasons
    assert [page for page, _ in sig.stamps] == PAGE_IDS
    strip = 42 / 5
    for i, ((_, box), clip) in enumerate(zip(sig.stamps, sig.stamp_clips, strict=True)):
        assert box == pytest.approx((210 - strip * (i + 1), 127.5, 42, 42), abs=1e-3)
        assert clip == pytest.approx((strip * i, 0, strip, 42), abs=1e-3)
    annots = _annots(out, "Doc_0/Signs/Sign_0/Signature.xml")
    assert annots[0]["Boundary"] == "201.6 127.5 42 42" and annots[0]["Clip"] == "0 0 8.4 42"
    assert annots[4]["Boundary"] == "168 127.5 42 42" and annots[4]["Clip"] == "33.6 0 8.4 42"
    assert [a["ID"] for a in annots] == ["2", "3", "4", "5", "6"] and _max_sign_id(out) == 6
    (check,) = gm.check_ofd(out)
    assert check.ok, check
    assert [s.page for s in check.stamps] == [1, 2, 3, 4, 5]
    visible = [s.visible for s in check.stamps]
    assert all(v[0] + v[2] == pytest.approx(210) for v in visible)  # at the right edge
    assert sum(v[2] for v in visible) == pytest.approx(42)  # the strips make the whole seal
    assert len({round(v[1], 3) for v in visible}) == 1  # all at the same height
    # the strips, side by side, are the seal: each Clip starts where the previous ended
    assert [round(s.clip[0], 3) for s in check.stamps] == [round(strip * i, 3) for i in range(5)]


def test_stamped_twice(pki) -> None:
    """Three annots, then a 骑缝章 over that output: both intact, IDs never reused."""
    once = stamp_ofd_boxes(vector("Page5.ofd"), pki.seal, pki.signer,
                           [StampBox.centred(p, 105, 60, 42, 42) for p in (1, 2, 5)])
    pages = inspect_ofd(once).pages
    twice = stamp_ofd_boxes(once, pki.seal, pki.signer,
                            boxes_for_spots(pages, [Spot(p.index, None, 200) for p in pages], 42, 42))
    report = _verify(pki, twice)
    first, second = report.signatures
    assert (first.status, second.status) == ("passed", "passed"), (first.reasons, second.reasons)
    assert report.status == "passed"
    assert (len(first.stamps), len(second.stamps)) == (3, 5)
    assert first.stamp_clips == [None] * 3 and all(c is not None for c in second.stamp_clips)
    ids = _all_ids(twice)
    assert sorted(ids) == list(range(1, 11))  # 1 + 3 annots, then 5 + 5 annots
    assert _max_sign_id(twice) == 10
    checks = gm.check_ofd(twice)
    assert [c.ok for c in checks] == [True, True]
    assert [len(c.stamps) for c in checks] == [3, 5]
    # a third signature, a plain seal, after both
    thrice = stamp_ofd_boxes(twice, pki.seal, pki.signer, [StampBox.centred(3, 100, 250, 20, 20)])
    assert [s.status for s in _verify(pki, thrice).signatures] == ["passed"] * 3
    assert sorted(_all_ids(thrice)) == list(range(1, 13))
    assert all(c.ok for c in gm.check_ofd(thrice))


def test_tampered_clip_or_boundary_fails(pki) -> None:
    pages = inspect_ofd(vector("Page5.ofd")).pages
    out = stamp_ofd_boxes(vector("Page5.ofd"), pki.seal, pki.signer,
                          boxes_for_spots(pages, [Spot(p.index, None, 150) for p in pages], 42, 42))
    sig_xml = "Doc_0/Signs/Sign_0/Signature.xml"
    for old, new in ((b'Clip="0 0 8.4 42"', b'Clip="0 0 42 42"'),
                     (b'Boundary="201.6 129 42 42"', b'Boundary="201.6 10 42 42"')):
        assert old in zipfile.ZipFile(io.BytesIO(out)).read(sig_xml)
        bad = rewrite(out, lambda n, c, o=old, w=new: c.replace(o, w) if n == sig_xml else c)
        (sig,) = _verify(pki, bad).signatures
        assert sig.status == "failed" and "data_hash_mismatch" in sig.reasons
        (check,) = gm.check_ofd(bad)
        assert not check.ok and not check.data_hash_ok


def test_box_checks(pki) -> None:
    doc = vector("helloworld.ofd")  # one A4 page

    def prepare(*boxes: StampBox):
        return prepare_ofd_stamps(doc, pki.seal, pki.signer.certificate, list(boxes))

    # a clipped box may run off the page as long as what shows is on it (a 骑缝章 strip)
    assert prepare(StampBox(1, 200, 10, 42, 42, (0, 0, 10, 42))).tbs
    with pytest.raises(PositionOffPage):
        prepare(StampBox(1, 200, 10, 42, 42, (20, 0, 10, 42)))  # the strip shown is off the page
    with pytest.raises(PositionOffPage):
        prepare(StampBox(1, 10, 10, 42, 42, (40, 0, 10, 42)))  # the clip is outside the seal
    with pytest.raises(PositionOffPage):
        prepare(StampBox(1, 10, 10, 42, 42, (0, 0, 0, 42)))
    with pytest.raises(PositionOffPage):
        prepare(StampBox(1, 10, 10, 42, 42, (0, 0, float("nan"), 42)))
    with pytest.raises(PositionOffPage):
        prepare(StampBox(1, 10, 10, 42, 42), StampBox(1, 180, 10, 42, 42))  # the second is off
    with pytest.raises(PageOutOfRange):
        prepare(StampBox(1, 10, 10, 42, 42), StampBox(2, 10, 10, 42, 42))
    with pytest.raises(PositionOffPage):
        prepare()


# ---- keywords ----


def test_find_text_in_ofdrw_vectors() -> None:
    # helloworld: one TextCode, DeltaX per glyph (Boundary 31.7 25.4, Y 3, size 3)
    assert find_text(vector("helloworld.ofd"), "OFD Reader") == [TextHit(1, 51.2, 27.35)]
    assert find_text(vector("helloworld.ofd"), "ofdreader") == [TextHit(1, 51.2, 27.35)]  # case, space
    assert find_text(vector("helloworld.ofd"), "你好") == [TextHit(1, 34.7, 27.35)]
    # keyword.ofd (another vendor's writer): "g n v" deltas, a TextCode wrapping onto a second
    # line by a negative DeltaX and a DeltaY, text over a template
    doc = vector("keyword.ofd")
    (hit,) = find_text(doc, "泰安分行")
    assert hit.page == 1 and hit.x == pytest.approx(191.7523 + 14 * 4.2333, abs=0.01)
    (first_line,) = find_text(doc, "鑫源小区")
    (second_line,) = find_text(doc, "601室")
    assert second_line.y - first_line.y == pytest.approx(4.2333, abs=0.01)
    assert find_text(doc, "鲁(2020)泰安市") != []  # （…） in the document, (…) asked
    assert find_text(doc, "不在文中") == []
    assert find_text(vector("Page5.ofd"), "盖章") == []  # no text at all
    assert find_text(doc, "  ") == []


SPLIT_PAGE = """<?xml version="1.0" encoding="UTF-8"?>
<ofd:Page xmlns:ofd="http://www.ofdspec.org/2016"><ofd:Content><ofd:Layer ID="900">
<ofd:TextObject ID="901" Boundary="20 100 40 10" Font="3" Size="5"><ofd:TextCode X="0" Y="5"
 DeltaX="5 5">甲方（</ofd:TextCode><ofd:TextCode DeltaX="5">盖章</ofd:TextCode></ofd:TextObject>
<ofd:PageBlock ID="902"><ofd:TextObject ID="903" Boundary="50 100.2 20 10" Font="3" Size="5">
<ofd:TextCode X="0" Y="4.8">）</ofd:TextCode></ofd:TextObject></ofd:PageBlock>
<ofd:TextObject ID="904" Boundary="150 100 40 10" Font="3" Size="5"><ofd:TextCode X="0" Y="5"
 DeltaX="g 2 5">乙方：</ofd:TextCode></ofd:TextObject>
<ofd:TextObject ID="905" Boundary="100 200 50 20" CTM="2 0 0 2 0 0" Font="3" Size="3">
<ofd:TextCode X="0" Y="3" DeltaX="3 3">盖章处</ofd:TextCode></ofd:TextObject>
</ofd:Layer></ofd:Content></ofd:Page>"""


def _with_text() -> bytes:
    """Page5.ofd with text on page 3 (ID 43): 「甲方（盖章）」 split over two TextCodes (the
    second without X: it goes on from the first) and a second TextObject in a PageBlock, on the
    same line a little lower; 「盖章处」 drawn at twice its size by a CTM."""
    return rewrite(vector("Page5.ofd"),
                   lambda n, c: SPLIT_PAGE.encode() if n == "Doc_0/Pages/Page_2/Content.xml" else c)


def test_find_text_split_over_elements() -> None:
    doc = _with_text()
    expected = TextHit(3, 37.5, 103.25)  # glyphs 20..55 mm, baseline 105, size 5
    assert find_text(doc, "甲方（盖章）") == [expected]
    assert find_text(doc, "甲方(盖章)") == [expected]
    assert find_text(doc, "盖章") == [TextHit(3, 40.0, 103.25), TextHit(3, 106.0, 203.9)]
    assert find_text(doc, "盖章处") == [TextHit(3, 109.0, 203.9)]  # 100..118 mm, baseline 206
    assert find_text(doc, "）乙方") == []  # 95 mm apart on the line: not one run of text


def test_keyword_to_stamp(pki) -> None:
    """A keyword placement end to end on the OFD side: found, boxed at the seal's size,
    stamped, verified; the seal's centre is the keyword's."""
    doc = _with_text()
    (hit,) = find_text(doc, "甲方（盖章）")
    boxes = boxes_for_spots(inspect_ofd(doc).pages, [Spot(hit.page, hit.x, hit.y)], 42, 42)
    out = stamp_ofd_boxes(doc, pki.seal, pki.signer, boxes)
    (sig,) = _verify(pki, out).signatures
    assert sig.status == "passed" and sig.stamps == [("43", (16.5, 82.25, 42.0, 42.0))]
    assert all(c.ok for c in gm.check_ofd(out))


def test_find_text_hostile_deltas() -> None:
    page = SPLIT_PAGE.replace('DeltaX="5 5"', 'DeltaX="g 999999999999 5 x g 9 nan"')
    doc = rewrite(vector("Page5.ofd"),
                  lambda n, c: page.encode() if n == "Doc_0/Pages/Page_2/Content.xml" else c)
    assert find_text(doc, "甲方（盖章）") == [TextHit(3, 37.5, 103.25)]
    bad = rewrite(vector("Page5.ofd"),
                  lambda n, c: b"<!DOCTYPE x><x/>" if n == "Doc_0/Pages/Page_2/Content.xml" else c)
    with pytest.raises(OfdError):
        find_text(bad, "x")


def test_placement_signed_in_two_steps_as_the_service_does(pki) -> None:
    """What the signing side calls: the seal's facts, one prepare per placement from its
    spots, the signature made elsewhere over TBS_Sign, checked, then the package written."""
    from stamping.adapters.ofd import finish_ofd_stamp, prepare_ofd_placement
    from stamping.adapters.ofd import remote_signing as remote

    facts = remote.seal_facts(pki.seal)
    assert (facts.signer_certificate, facts.width_mm, facts.height_mm) == (pki.signer.certificate, 42, 42)
    doc = vector("Page5.ofd")
    seal = prepare_ofd_placement(doc, pki.seal, facts.signer_certificate,
                                 [Spot(1, 60, 60), Spot(2, 60, 60)], 40, 30)
    first = finish_ofd_stamp(seal, pki.person_key.sign(seal.tbs))
    strips = prepare_ofd_placement(first, pki.seal, facts.signer_certificate,
                                   [Spot(p, None, 100) for p in (2, 3, 4)], facts.width_mm, facts.height_mm)
    value = pki.person_key.sign(strips.tbs)
    remote.check_signature(strips, facts.signer_certificate, value)
    with pytest.raises(OfdSigningFailed):  # made with another certificate than the seal lists
        remote.check_signature(strips, pki.ca.dump(), value)
    with pytest.raises(OfdSigningFailed):  # a faulty signer's value is never written
        finish_ofd_stamp(strips, pki.person_key.sign(seal.tbs))
    assert len(remote.digest_to_sign(strips)) == 32
    out = finish_ofd_stamp(strips, value)
    with zipfile.ZipFile(io.BytesIO(out)) as z:  # binary signature parts stored, XML deflated
        methods = {i.filename.rsplit("/", 1)[-1]: i.compress_type for i in z.infolist()}
    assert methods["SignedValue.dat"] == methods["Seal.esl"] == zipfile.ZIP_STORED
    assert methods["Signature.xml"] == methods["Signatures.xml"] == zipfile.ZIP_DEFLATED
    a, b = _verify(pki, out).signatures
    assert (a.status, b.status) == ("passed", "passed")
    assert a.stamps == [("1", (40.0, 45.0, 40.0, 30.0)), ("21", (40.0, 45.0, 40.0, 30.0))]
    assert [p for p, _ in b.stamps] == ["21", "43", "63"] and b.stamp_clips[2] == (28.0, 0.0, 14.0, 42.0)
    assert all(c.ok for c in gm.check_ofd(out))
    with pytest.raises(PositionOffPage):  # a centre too close to the edge for the seal's size
        prepare_ofd_placement(doc, pki.seal, facts.signer_certificate, [Spot(1, 205, 60)], 42, 42)
    with pytest.raises(PositionOffPage):
        prepare_ofd_placement(doc, pki.seal, facts.signer_certificate, [], 42, 42)
