"""Stamping: PAdES B-LT with a remote key, visible seal, metadata bound, standard validator accepts."""

from __future__ import annotations

import asyncio
import hashlib
import io
import subprocess
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from asn1crypto import cms
from PIL import Image
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import (
    DocumentSecurityStore,
    SignatureCoverageLevel,
    async_validate_detached_cms,
    async_validate_pdf_signature,
)
from pyhanko_certvalidator import ValidationContext
from stamping.adapters.pdf import (
    DEFAULT_SEAL_SIZE_PT,
    NotAPdf,
    PageOutOfRange,
    PositionOffPage,
    SealCertificateInvalid,
    SignatureFieldExists,
    StampMetadata,
    StampSigningError,
    as_asn1_cert,
    offline_validation_context,
    raw_stamp_in_process,
    sign_detached_digest,
    stamp_pdf,
    verify_pdf,
)

from tests.support.pdf_fixtures import (
    LocalDigestSigner,
    build_test_pki,
    make_seal_png,
    make_test_pdf,
)

PAGE, X, Y = 2, 300.0, 200.0  # page 2 of 10, A4


@pytest.fixture(scope="module")
def pki():
    return build_test_pki()


@pytest.fixture(scope="module")
def pdf():
    return make_test_pdf(pages=10)


@pytest.fixture(scope="module")
def seal_png():
    return make_seal_png()


def _metadata(**over) -> StampMetadata:
    base: dict[str, Any] = {
        "seal_id": "seal-7f3a",
        "seal_name": "测试科技有限公司公章",
        "seal_type": "公章",
        "enterprise_name": "测试科技有限公司",
        "enterprise_uscc": "91110000MA00TEST0X",
        "signer_person_name": "张三",
        "signer_person_id": "person-0001",
        "stamped_at": datetime(2025, 3, 1, 9, 30, tzinfo=UTC),
        "request_id": "req-42",
        "person_signature_b64": "MEUCIQD0bGVnYWxseS1ib3VuZA==",
    }
    base.update(over)
    return StampMetadata(**base)


def _lt_context(pki, crls=None):
    return offline_validation_context(
        [pki.root_cert], crls=pki.crls if crls is None else crls, other_certs=pki.chain
    )


async def _stamp(pki, pdf, seal_png, *, signer=None, page=PAGE, x=X, y=Y, metadata=None, crls=None, **kw):
    return await stamp_pdf(
        pdf,
        page=page,
        x=x,
        y=y,
        seal_png=seal_png,
        seal_size_pt=DEFAULT_SEAL_SIZE_PT,
        signer=signer or LocalDigestSigner(pki.seal_key),
        chain=pki.chain,
        timestamper=pki.timestamper(),
        validation_context_for_lt=_lt_context(pki, crls),
        metadata=metadata or _metadata(),
        location="浙江省杭州市",
        **kw,
    )


@pytest.fixture(scope="module")
def stamped(pki, pdf, seal_png):
    return asyncio.run(_stamp(pki, pdf, seal_png))


def _root_only_context(pki, reader=None) -> ValidationContext:
    kwargs: dict[str, Any] = {
        "trust_roots": [as_asn1_cert(pki.root_cert)],
        "allow_fetching": False,
        "revocation_mode": "hard-fail",
    }
    if reader is None:
        return ValidationContext(**kwargs)
    return DocumentSecurityStore.read_dss(reader).as_validation_context(kwargs)


async def test_pyhanko_validator_accepts_b_lt_signature(pki, stamped):
    reader = PdfFileReader(io.BytesIO(stamped), strict=True)
    [sig] = reader.embedded_signatures
    assert sig.sig_object["/SubFilter"] == "/ETSI.CAdES.detached"
    status = await async_validate_pdf_signature(sig, _root_only_context(pki, reader))
    assert status.intact and status.valid and status.trusted
    assert status.bottom_line
    assert status.coverage == SignatureCoverageLevel.ENTIRE_FILE  # DSS is in the signed revision
    ts = status.timestamp_validity
    assert ts is not None and ts.intact and ts.valid and ts.trusted
    # B-LT: the DSS carries the chain and both CRLs (root's and issuing CA's).
    dss = DocumentSecurityStore.read_dss(reader)
    assert len(dss.crls) == 2
    dss_certs = {c.sha256 for c in dss.load_certs()}
    for cert in (pki.seal_cert, pki.issuing_cert, pki.tsa_cert):
        assert as_asn1_cert(cert).sha256 in dss_certs


async def test_validation_needs_no_network_and_only_the_root(pki, stamped):
    # Same check without handing any CRL in: all revocation data comes from the file.
    report = await verify_pdf(stamped, trust_roots=[pki.root_cert])
    assert report.result == "passed", report.reasons
    [sig] = report.signatures
    assert sig.level == "B-LT" and sig.timestamped and sig.coverage == "entire_file"


async def test_seal_key_is_used_only_through_the_port(pki, pdf, seal_png):
    signer = LocalDigestSigner(pki.seal_key)
    await _stamp(pki, pdf, seal_png, signer=signer)
    assert signer.calls == 1  # size estimation uses a placeholder, not the key


async def test_metadata_is_bound_inside_the_signed_range(stamped):
    reader = PdfFileReader(io.BytesIO(stamped), strict=True)
    [sig] = reader.embedded_signatures
    assert "/EsealStamp" in sig.sig_object
    assert "张三" in str(sig.sig_object["/Reason"])
    assert "测试科技有限公司" in str(sig.sig_object["/Name"])
    # Everything but /Contents is signed: the key must lie outside the gap.
    _start, len1, start2, _ = [int(v) for v in sig.byte_range]
    pos = stamped.index(b"/EsealStamp")
    assert pos < len1 or pos >= start2


async def test_metadata_round_trips_through_verify(pki, stamped):
    report = await verify_pdf(stamped, trust_roots=[pki.root_cert])
    [sig] = report.signatures
    assert sig.stamp == _metadata()
    assert sig.signed_at_source == "timestamp"
    assert abs(sig.signed_at - datetime.now(UTC)) < timedelta(minutes=5)
    assert "测试科技有限公司公章" in sig.signer_subject


def _render(pdf_bytes: bytes, page: int, tmp_path, dpi: int = 72) -> Image.Image:
    src, out = tmp_path / f"in-{page}.pdf", tmp_path / f"page-{page}"
    src.write_bytes(pdf_bytes)
    subprocess.run(
        ["pdftoppm", "-r", str(dpi), "-f", str(page), "-l", str(page), "-png", "-singlefile",
         str(src), str(out)],
        capture_output=True,
        check=True,
    )
    with Image.open(f"{out}.png") as img:
        return img.convert("RGB")


def _red_pixels(img: Image.Image) -> list[tuple[int, int]]:
    rgb = list(img.getdata())
    return [
        (i, j)
        for j in range(img.height)
        for i in range(img.width)
        if (p := rgb[j * img.width + i])[0] > 150 and p[1] < 90 and p[2] < 90
    ]


async def test_seal_is_drawn_at_the_requested_place(stamped, tmp_path):
    img = _render(stamped, PAGE, tmp_path)  # 72 dpi: one pixel per point; image rows run top-down
    half = DEFAULT_SEAL_SIZE_PT / 2
    left, right = X - half, X + half
    top, bottom = img.height - (Y + half), img.height - (Y - half)
    red = _red_pixels(img)
    assert len(red) > 500, "seal image not visible"
    outside = [(i, j) for i, j in red if not (left - 2 <= i <= right + 2 and top - 2 <= j <= bottom + 2)]
    assert outside == []
    # The seal fills its square (ring touches all four sides), so it is scaled, not tiny.
    xs, ys = [i for i, _ in red], [j for _, j in red]
    assert max(xs) - min(xs) > 0.9 * DEFAULT_SEAL_SIZE_PT
    assert max(ys) - min(ys) > 0.9 * DEFAULT_SEAL_SIZE_PT
    # ...and only on the requested page.
    assert _red_pixels(_render(stamped, PAGE + 1, tmp_path)) == []


async def test_changed_byte_in_page_content_fails(pki, stamped):
    tampered = bytearray(stamped)
    pos = tampered.index(b"(Page 3 of")
    tampered[pos + 6] = ord("4")
    report = await verify_pdf(bytes(tampered), trust_roots=[pki.root_cert])
    assert report.result == "failed"
    assert report.signatures[0].intact is False
    assert "digest_mismatch" in report.signatures[0].reasons


async def test_changed_byte_in_bound_metadata_fails(pki, stamped):
    tampered = bytearray(stamped)
    pos = tampered.index(b"/EsealStamp")
    # The JSON is a UTF-16BE literal string, ASCII written as "\000c"; turn the
    # person id "person-0001" into "qerson-0001": still a valid PDF string.
    needle = b"".join(b"\\000" + bytes([c]) for c in b"person")
    i = tampered.index(needle, pos) + 4
    assert tampered[i] == ord("p")
    tampered[i] = ord("q")
    report = await verify_pdf(bytes(tampered), trust_roots=[pki.root_cert])
    assert report.result == "failed"
    assert not report.signatures[0].intact


async def test_second_stamp_keeps_first_valid(pki, stamped, seal_png):
    twice = await _stamp(
        pki, stamped, seal_png, page=5, x=200, y=300, metadata=_metadata(request_id="req-43"),
        field_name="second",
    )
    report = await verify_pdf(twice, trust_roots=[pki.root_cert])
    assert report.result == "passed", report.reasons
    first, second = report.signatures
    assert first.coverage == "revision_then_permitted_updates"
    assert second.coverage == "entire_file"
    assert {first.stamp.request_id, second.stamp.request_id} == {"req-42", "req-43"}


async def test_off_page_and_bad_page_refused(pki, pdf, seal_png):
    with pytest.raises(PositionOffPage) as e:
        await _stamp(pki, pdf, seal_png, x=5, y=5)
    assert e.value.code == "position_off_page"
    with pytest.raises(PageOutOfRange) as e:
        await _stamp(pki, pdf, seal_png, page=11)
    assert e.value.code == "page_out_of_range"


async def test_non_pdf_refused(pki, seal_png):
    with pytest.raises(NotAPdf) as e:
        await _stamp(pki, b"<html>not a pdf</html>", seal_png)
    assert e.value.code == "not_a_pdf"


async def test_wrong_signature_from_remote_signer_is_rejected(pki, pdf, seal_png):
    from cryptography.hazmat.primitives.asymmetric import ec

    impostor = LocalDigestSigner(ec.generate_private_key(ec.SECP256R1()))
    with pytest.raises(StampSigningError) as e:
        await _stamp(pki, pdf, seal_png, signer=impostor)
    assert e.value.code == "signing_failed"


async def test_missing_crl_refuses_to_stamp(pki, pdf, seal_png):
    # hard-fail: without the issuing CA's CRL there is no B-LT, so no stamp.
    with pytest.raises(SealCertificateInvalid) as e:
        await _stamp(pki, pdf, seal_png, crls=[pki.root_crl])
    assert e.value.code == "seal_certificate_invalid"


async def test_revoked_seal_certificate_cannot_stamp(pki, pdf, seal_png):
    crl = pki.issue_crl({pki.seal_cert.serial_number: datetime.now(UTC) - timedelta(hours=1)})
    with pytest.raises(SealCertificateInvalid):
        await _stamp(pki, pdf, seal_png, crls=[pki.root_crl, crl])


async def test_detached_cms_over_digest(pki):
    document = b"any document bytes, e.g. an OFD file" * 100
    der = await sign_detached_digest(
        hashlib.sha256(document).digest(), LocalDigestSigner(pki.seal_key), pki.chain, pki.timestamper()
    )
    content = cms.ContentInfo.load(der)
    assert content["content_type"].native == "signed_data"
    signed_data = content["content"]
    assert signed_data["encap_content_info"]["content"].native is None  # detached
    signed_attrs = signed_data["signer_infos"][0]["signed_attrs"]
    assert "signing_time" in {a["type"].native for a in signed_attrs}
    vc = _lt_context(pki)
    status = await async_validate_detached_cms(document, signed_data, signer_validation_context=vc)
    assert status.intact and status.valid and status.trusted
    assert status.timestamp_validity is not None and status.timestamp_validity.trusted
    bad = await async_validate_detached_cms(document + b"!", signed_data,
                                            signer_validation_context=_lt_context(pki))
    assert not bad.intact


async def test_detached_cms_rejects_wrong_digest_size(pki):
    with pytest.raises(ValueError):
        await sign_detached_digest(b"short", LocalDigestSigner(pki.seal_key), pki.chain, None)


async def test_in_process_baseline_signs_same_appearance(pki, pdf, seal_png):
    out = await raw_stamp_in_process(pdf, seal_png, pki.seal_key, pki.chain, pki.timestamper())
    reader = PdfFileReader(io.BytesIO(out), strict=True)
    [sig] = reader.embedded_signatures
    # B-T only (no validation context given), so check trust in soft-fail mode.
    vc = ValidationContext(trust_roots=[as_asn1_cert(pki.root_cert)], allow_fetching=False)
    status = await async_validate_pdf_signature(sig, vc)
    assert status.intact and status.valid and status.trusted


def test_metadata_refuses_id_card_numbers():
    with pytest.raises(ValueError):
        _metadata(signer_person_id="11010519491231002X")
    with pytest.raises(ValueError):
        _metadata(stamped_at=datetime(2025, 1, 1))  # naive time


async def test_existing_field_name_is_refused(pki, stamped, seal_png):
    # A second stamp must never reuse (and so misplace into) an existing field.
    with pytest.raises(SignatureFieldExists) as e:
        await _stamp(pki, stamped, seal_png)  # same request id -> same field name
    assert e.value.code == "signature_field_exists"


async def test_untrusted_tsa_refused(pki, pdf, seal_png):
    foreign = build_test_pki()  # TSA chaining to another root
    with pytest.raises(StampSigningError) as e:
        await stamp_pdf(
            pdf, page=1, x=300, y=300, seal_png=seal_png,
            signer=LocalDigestSigner(pki.seal_key), chain=pki.chain,
            timestamper=foreign.timestamper(), validation_context_for_lt=_lt_context(pki),
            metadata=_metadata(request_id="req-tsa"),
        )
    assert e.value.code == "signing_failed"
