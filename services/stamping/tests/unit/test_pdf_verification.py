"""verify_pdf: outcome rules (passed / failed / indeterminate), revocation timing, later updates."""

from __future__ import annotations

import asyncio
import io
from datetime import UTC, datetime, timedelta

import pytest
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.generic import pdf_name
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from stamping.adapters.pdf import (
    NotAPdf,
    StampMetadata,
    offline_validation_context,
    raw_stamp_in_process,
    stamp_pdf,
    verify_pdf,
)

from tests.support.pdf_fixtures import (
    LocalDigestSigner,
    build_test_pki,
    make_seal_png,
    make_test_pdf,
)

NOW = datetime.now(UTC).replace(microsecond=0)
TS_AT = NOW - timedelta(hours=2)  # the TSA's time for every stamp in this module


@pytest.fixture(scope="module")
def pki():
    return build_test_pki()


def _metadata() -> StampMetadata:
    return StampMetadata(
        seal_id="seal-1",
        seal_name="测试科技有限公司合同专用章",
        seal_type="合同专用章",
        enterprise_name="测试科技有限公司",
        enterprise_uscc="91110000MA00TEST0X",
        signer_person_name="李四",
        signer_person_id="person-0002",
        stamped_at=NOW,
        request_id="req-v1",
        person_signature_b64="c2lnbmF0dXJl",
    )


async def _stamp(pki, pdf=None) -> bytes:
    return await stamp_pdf(
        pdf or make_test_pdf(pages=3),
        page=1,
        x=400,
        y=150,
        seal_png=make_seal_png(200),
        signer=LocalDigestSigner(pki.seal_key),
        chain=pki.chain,
        timestamper=pki.timestamper(fixed_dt=TS_AT),
        validation_context_for_lt=offline_validation_context(
            [pki.root_cert], crls=pki.crls, other_certs=pki.chain),
        metadata=_metadata(),
    )


@pytest.fixture(scope="module")
def stamped(pki):
    return asyncio.run(_stamp(pki))


async def test_passed_with_timestamp_time(pki, stamped):
    report = await verify_pdf(stamped, trust_roots=[pki.root_cert])
    assert report.result == "passed" and report.reasons == []
    [sig] = report.signatures
    assert sig.signed_at == TS_AT and sig.signed_at_source == "timestamp"
    assert sig.stamp.seal_type == "合同专用章" and sig.stamp.signer_person_name == "李四"
    assert not sig.validated_at_timestamp


async def test_no_signatures_is_failed(pki):
    report = await verify_pdf(make_test_pdf(pages=1), trust_roots=[pki.root_cert])
    assert report.result == "failed" and report.reasons == ["no_signatures"]
    assert report.signatures == []


async def test_non_pdf_raises(pki):
    with pytest.raises(NotAPdf):
        await verify_pdf(b"GIF89a....", trust_roots=[pki.root_cert])


async def test_other_root_is_indeterminate(pki, stamped):
    stranger = build_test_pki()
    report = await verify_pdf(stamped, trust_roots=[stranger.root_cert])
    assert report.result == "indeterminate"
    [sig] = report.signatures
    assert sig.intact and sig.valid and not sig.trusted


async def test_revoked_after_stamping_still_passes_at_timestamp_time(pki, stamped):
    later = pki.issue_crl({pki.seal_cert.serial_number: TS_AT + timedelta(minutes=30)})
    report = await verify_pdf(stamped, trust_roots=[pki.root_cert], crls=[later])
    assert report.result == "passed", report.reasons
    assert report.signatures[0].validated_at_timestamp


async def test_revoked_before_stamping_fails(pki, stamped):
    earlier = pki.issue_crl({pki.seal_cert.serial_number: TS_AT - timedelta(minutes=30)})
    report = await verify_pdf(stamped, trust_roots=[pki.root_cert], crls=[earlier])
    assert report.result == "failed"
    assert report.signatures[0].revoked
    assert "certificate_revoked" in report.signatures[0].reasons


def _append_update(pdf: bytes, change) -> bytes:
    w = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=True)
    change(w)
    out = io.BytesIO()
    w.write(out)
    return out.getvalue()


async def test_content_changed_in_later_revision_fails(pki, stamped):
    def replace_page_text(w):
        page_ref = w.find_page_for_modification(0)[0]
        page = page_ref.get_object()
        page[pdf_name("/Contents")] = w.add_object(
            generic.StreamObject(stream_data=b"BT /F1 24 Tf 72 700 Td (Pay 1,000,000) Tj ET")
        )
        w.update_container(page)

    report = await verify_pdf(_append_update(stamped, replace_page_text), trust_roots=[pki.root_cert])
    assert report.result == "failed"
    [sig] = report.signatures
    assert sig.intact  # the signed revision itself is untouched...
    # ...but the document changed
    assert sig.coverage == "modified" and "modified_after_signing" in sig.reasons


async def test_annotation_added_later_is_indeterminate(pki, stamped):
    def add_note(w):
        page_ref = w.find_page_for_modification(0)[0]
        page = page_ref.get_object()
        annot = w.add_object(
            generic.DictionaryObject(
                {
                    pdf_name("/Type"): pdf_name("/Annot"),
                    pdf_name("/Subtype"): pdf_name("/Text"),
                    pdf_name("/Rect"): generic.ArrayObject(map(generic.FloatObject, (10, 10, 30, 30))),
                    pdf_name("/Contents"): generic.TextStringObject("note"),
                }
            )
        )
        annots = page.get("/Annots", generic.ArrayObject())
        annots.append(annot)
        page[pdf_name("/Annots")] = annots
        w.update_container(page)

    report = await verify_pdf(_append_update(stamped, add_note), trust_roots=[pki.root_cert])
    [sig] = report.signatures
    assert sig.intact and sig.trusted
    assert report.result in ("indeterminate", "failed")
    assert report.result != "passed"


async def test_b_t_signature_without_dss_needs_crls(pki):
    # The in-process baseline embeds no revocation data: with hard-fail and no
    # CRLs trust cannot be established; handing the CRLs in makes it pass.
    out = await raw_stamp_in_process(make_test_pdf(pages=1), make_seal_png(200), pki.seal_key, pki.chain,
                                     pki.timestamper())
    bare = await verify_pdf(out, trust_roots=[pki.root_cert])
    assert bare.result == "indeterminate"
    assert bare.signatures[0].level == "B-T" and bare.signatures[0].stamp is None
    with_crls = await verify_pdf(out, trust_roots=[pki.root_cert], crls=pki.crls)
    assert with_crls.result == "passed", with_crls.reasons
