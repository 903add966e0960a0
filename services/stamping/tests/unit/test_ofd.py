"""OFD: inspection, ofdrw's signed files, our stamping re-checked independently, tampering."""

from __future__ import annotations

import base64
import io
import xml.etree.ElementTree as ET  # our own output only; hostile input goes through the adapter
import zipfile
from datetime import UTC, datetime

import gmalglib
import pytest
from ofd_support import build_pki, ofdrw_user, rewrite, vector
from stamping.adapters.ofd import (
    NotAnOfd,
    OfdError,
    OfdSigningFailed,
    PageOutOfRange,
    PositionOffPage,
    finish_ofd_stamp,
    inspect_ofd,
    is_ofd,
    prepare_ofd_stamp,
    stamp_ofd,
    verify_ofd,
)

from shared.gm.ses import parse_seal
from shared.tests.gm.independent import timestamp_token, verify_v4_signature

OFD = "{http://www.ofdspec.org/2016}"


@pytest.fixture(scope="module")
def pki():
    return build_pki()


def test_inspect_vectors() -> None:
    info = inspect_ofd(vector("Page5.ofd"))
    assert [p.index for p in info.pages] == [1, 2, 3, 4, 5]
    assert all((p.width_mm, p.height_mm) == (210.0, 297.0) for p in info.pages)
    assert info.signatures == ()
    assert len(info.sm3_hex) == 64 and len(info.sha256_hex) == 64
    signed = inspect_ofd(vector("SESV4SignDoc.ofd"))
    assert [(s.id, s.type, s.path) for s in signed.signatures] == [
        ("1", "Seal", "Doc_0/Signs/Sign_0/Signature.xml")
    ]
    assert inspect_ofd(vector("keyword.ofd")).pages[0].width_mm == 283.0
    assert is_ofd(vector("helloworld.ofd"))
    assert not is_ofd(b"%PDF-1.7\n")
    assert not is_ofd(rewrite(vector("helloworld.ofd"), lambda n, c: None if n == "OFD.xml" else c))


# ---- ofdrw's signatures ----


def test_ofdrw_seal_signature_intact_but_untrusted() -> None:
    report = verify_ofd(vector("SESV4SignDoc.ofd"))
    (sig,) = report.signatures
    assert sig.references_ok and sig.data_hash_ok and sig.signature_ok and sig.seal_ok
    assert sig.format == "GB/T 38540 V4" and sig.algorithm == "SM2-with-SM3"
    assert sig.status == "indeterminate" and "signer_not_trusted" in sig.reasons
    assert "seal_maker_not_trusted" in sig.reasons
    assert sig.stamps == [("1", (50.0, 50.0, 40.0, 40.0))]
    assert sig.seal_name == "OFD R&W 测试用印章"
    assert sig.seal_picture_type == "PNG" and sig.seal_picture and sig.seal_picture.startswith(b"\x89PNG")
    assert sig.seal_size_mm == (40, 40)
    assert sig.signer_certificate is not None and "Test Certificate" in sig.signer_certificate.subject


def test_ofdrw_plain_signature_needs_users_certificate() -> None:
    user = ofdrw_user().certificate
    (sig,) = verify_ofd(vector("DigitalSign.ofd"), sign_certificates=[user]).signatures
    assert sig.references_ok and sig.signature_ok and sig.status == "indeterminate"
    (unknown,) = verify_ofd(vector("DigitalSign.ofd")).signatures
    assert unknown.status == "indeterminate" and "signer_unknown" in unknown.reasons
    other = build_pki().signer.certificate
    from shared.gm.x509 import load_certificate

    (wrong,) = verify_ofd(vector("DigitalSign.ofd"), sign_certificates=[load_certificate(other)]).signatures
    assert wrong.status == "failed" and "signature_invalid" in wrong.reasons


def test_keyword_negative_vector_fails_both() -> None:
    report = verify_ofd(vector("keyword.ofd"))
    assert [s.status for s in report.signatures] == ["failed", "failed"]
    assert all("/OFD.xml" in s.failed_references for s in report.signatures)
    assert report.status == "failed"
    # The signatures themselves are intact: it is the edited OFD.xml that breaks them.
    seal, sign = report.signatures
    assert (seal.format, sign.format) == ("GB/T 38540 V4", "GB/T 35275 SignedData")
    assert all(s.data_hash_ok and s.signature_ok for s in report.signatures)
    assert sign.signer_certificate is not None and sign.signer_certificate.serial == "20031000136757"


@pytest.mark.parametrize(
    "part",
    [
        "Doc_0/Pages/Page_0/Content.xml",
        "Doc_0/Signs/Sign_0/Signature.xml",
        "Doc_0/Signs/Sign_0/SignedValue.dat",
        "OFD.xml",
    ],
)
def test_tampered_ofdrw_file_fails(part: str) -> None:
    def flip(name: str, content: bytes) -> bytes:
        if name != part:
            return content
        b = bytearray(content)
        b[len(b) // 2] ^= 0x01
        return bytes(b)

    assert _fails(rewrite(vector("SESV4SignDoc.ofd"), flip))


def _fails(data: bytes, **kw) -> bool:
    """A tampered file either cannot be read as OFD any more (422) or every signature fails."""
    try:
        report = verify_ofd(data, **kw)
    except NotAnOfd:
        return True
    return bool(report.signatures) and all(s.status == "failed" for s in report.signatures)


def test_well_formed_edit_of_ofd_xml_fails() -> None:
    edited = rewrite(
        vector("SESV4SignDoc.ofd"),
        lambda n, c: c.replace(b"2020-04-25", b"2020-04-26") if n == "OFD.xml" else c,
    )
    report = verify_ofd(edited)
    assert report.signatures[0].status == "failed"
    assert report.signatures[0].failed_references == ["/OFD.xml"]


# ---- our own stamping ----


def test_stamp_then_verify_passes_with_our_root(pki) -> None:
    out = stamp_ofd(vector("Page5.ofd"), pki.seal, pki.signer, 3, 120, 200, 42, 42)
    report = verify_ofd(out, trusted_roots=[pki.root], intermediates=[pki.ca])
    (sig,) = report.signatures
    assert sig.status == "passed", sig.reasons
    assert sig.seal_maker_trusted is True
    assert sig.stamps == [("43", (120.0, 200.0, 42.0, 42.0))]  # page 3's ID in Page5.ofd
    assert sig.stamp_pages == {"43": (3, 210.0, 297.0)}  # for the verify page: number and A4 size
    assert report.status == "passed"
    # Without our root: same integrity, indeterminate trust.
    assert verify_ofd(out).signatures[0].status == "indeterminate"
    assert len(inspect_ofd(out).signatures) == 1


def test_our_output_passes_an_independent_check(pki, tmp_path) -> None:
    """Walk the output with zipfile + ElementTree + gmalglib, as GB/T 33190/38540 lay it out."""
    out = stamp_ofd(vector("helloworld.ofd"), pki.seal, pki.signer, 1, 10, 10, 40, 40)
    z = zipfile.ZipFile(io.BytesIO(out))
    ofd = ET.fromstring(z.read("OFD.xml"))
    sigs_loc = ofd.find(f"{OFD}DocBody/{OFD}Signatures").text.lstrip("/")
    sigs = ET.fromstring(z.read(sigs_loc))
    (entry,) = sigs.findall(f"{OFD}Signature")
    assert entry.get("Type") == "Seal"
    sig_path = entry.get("BaseLoc").lstrip("/")
    signature_xml = z.read(sig_path)
    sig = ET.fromstring(signature_xml)
    info = sig.find(f"{OFD}SignedInfo")
    assert info.find(f"{OFD}SignatureMethod").text == "1.2.156.10197.1.501"
    refs = info.find(f"{OFD}References")
    assert refs.get("CheckMethod") == "SM3"
    covered = set()
    for ref in refs.findall(f"{OFD}Reference"):
        name = ref.get("FileRef").lstrip("/")
        covered.add(name)
        assert base64.b64decode(ref.find(f"{OFD}CheckValue").text) == gmalglib.sm3_digest(z.read(name))
    files = {n for n in z.namelist() if not n.endswith("/")}
    value_path = sig.find(f"{OFD}SignedValue").text.lstrip("/")
    assert files - covered == {sigs_loc, sig_path, value_path}  # every other file is covered
    stamp = info.find(f"{OFD}StampAnnot")
    assert (stamp.get("PageRef"), stamp.get("Boundary")) == ("1", "10 10 40 40")
    seal_path = info.find(f"{OFD}Seal/{OFD}BaseLoc").text.lstrip("/")
    assert z.read(seal_path) == pki.seal
    assert verify_v4_signature(z.read(value_path), signature_xml)
    # and OpenSSL's SM2 (a second implementation) agrees on the signer's signature value
    from asn1crypto import core

    from shared.gm.x509 import load_certificate, to_pem
    from shared.tests.gm.independent import openssl_sm2_verify

    ses = core.Sequence.load(z.read(value_path))
    cert_pem = to_pem(load_certificate(bytes(ses[1].native)))
    assert openssl_sm2_verify(cert_pem, ses[0].dump(), ses[3].contents[1:], tmp_path) in (True, None)


def test_stamping_keeps_earlier_signatures_valid(pki) -> None:
    once = stamp_ofd(vector("SESV4SignDoc.ofd"), pki.seal, pki.signer, 1, 120, 50, 40, 40)
    twice = stamp_ofd(once, pki.seal, pki.signer, 1, 120, 150, 40, 40)
    report = verify_ofd(twice, trusted_roots=[pki.root], intermediates=[pki.ca])
    ofdrw, ours1, ours2 = report.signatures
    assert ofdrw.references_ok and ofdrw.signature_ok  # ofdrw's own stays intact
    assert (ours1.status, ours2.status) == ("passed", "passed")
    assert len({s.id for s in report.signatures}) == 3


def _flip(target: str):
    def edit(name: str, content: bytes) -> bytes:
        if name != target:
            return content
        b = bytearray(content)
        b[len(b) // 2] ^= 0x01
        return bytes(b)

    return edit


def test_any_tampered_byte_fails(pki) -> None:
    out = stamp_ofd(vector("helloworld.ofd"), pki.seal, pki.signer, 1, 10, 10, 40, 40)
    names = [n for n in zipfile.ZipFile(io.BytesIO(out)).namelist() if not n.endswith("/")]
    assert "Doc_0/Signs/Sign_0/SignedValue.dat" in names
    for name in names:
        if name == "Doc_0/Signs/Signatures.xml":
            continue  # deliberately unreferenced: it grows with every signature
        assert _fails(rewrite(out, _flip(name)), trusted_roots=[pki.root], intermediates=[pki.ca]), name


def test_positions_and_seal_checked(pki) -> None:
    doc = vector("helloworld.ofd")
    with pytest.raises(PageOutOfRange):
        stamp_ofd(doc, pki.seal, pki.signer, 2, 10, 10, 40, 40)
    with pytest.raises(PositionOffPage):
        stamp_ofd(doc, pki.seal, pki.signer, 1, 180, 10, 40, 40)
    with pytest.raises(PositionOffPage):
        stamp_ofd(doc, pki.seal, pki.signer, 1, -1, 10, 40, 40)
    for bad in (float("nan"), float("inf")):
        with pytest.raises(PositionOffPage):
            stamp_ofd(doc, pki.seal, pki.signer, 1, bad, 10, 40, 40)
        with pytest.raises(PositionOffPage):
            stamp_ofd(doc, pki.seal, pki.signer, 1, 10, 10, bad, 40)
    other = build_pki()
    with pytest.raises(OfdError) as e:
        stamp_ofd(doc, other.seal, pki.signer, 1, 10, 10, 40, 40)  # seal does not list this signer
    assert e.value.code == "seal_invalid"


def test_two_step_signing_refuses_a_bad_signature(pki) -> None:
    prepared = prepare_ofd_stamp(
        vector("helloworld.ofd"), pki.seal, pki.signer.certificate, 1, 10, 10, 40, 40
    )
    with pytest.raises(OfdSigningFailed):
        finish_ofd_stamp(prepared, build_pki().person_key.sign(prepared.tbs))  # someone else's key
    value = pki.person_key.sign(prepared.tbs)
    out = finish_ofd_stamp(prepared, value, timestamp_token=timestamp_token(value))
    (sig,) = verify_ofd(out, trusted_roots=[pki.root], intermediates=[pki.ca]).signatures
    assert sig.status == "passed" and sig.timestamp_present
    bad = finish_ofd_stamp(prepared, value, timestamp_token=timestamp_token(value, wrong=True))
    (sig,) = verify_ofd(bad, trusted_roots=[pki.root], intermediates=[pki.ca]).signatures
    assert sig.status == "failed" and "timestamp_mismatch" in sig.reasons


def test_seal_in_output_is_the_seal_given(pki) -> None:
    out = stamp_ofd(vector("helloworld.ofd"), pki.seal, pki.signer, 1, 10, 10, 40, 40)
    seal = parse_seal(zipfile.ZipFile(io.BytesIO(out)).read("Doc_0/Signs/Sign_0/Seal.esl"))
    assert (seal.picture.width_mm, seal.picture.height_mm) == (42, 42)


def test_signing_time_in_the_past_respects_certificate_validity(pki) -> None:
    out = stamp_ofd(
        vector("helloworld.ofd"),
        pki.seal,
        pki.signer,
        1,
        10,
        10,
        40,
        40,
        signed_at=datetime(2001, 1, 1, tzinfo=UTC),
    )
    (sig,) = verify_ofd(out, trusted_roots=[pki.root], intermediates=[pki.ca]).signatures
    assert sig.status == "indeterminate"  # seal and certificate were not valid then
    assert "seal_expired_at_signing" in sig.reasons


def test_seal_made_by_an_untrusted_maker_is_not_passed(pki) -> None:
    """The signer chains to our root, but the seal was made by a foreign seal maker."""
    from shared.gm.ses import SealPicture, make_seal
    from shared.gm.sm2 import Sm2PrivateKey
    from shared.gm.x509 import create_root, issue_seal_maker_certificate

    rogue_key = Sm2PrivateKey.generate()
    rogue_root = create_root(rogue_key, {"common_name": "rogue"})
    maker_key = Sm2PrivateKey.generate()
    maker = issue_seal_maker_certificate(
        maker_key.public_key, organization="rogue", ca=rogue_root, ca_key=rogue_key
    )
    own = parse_seal(pki.seal)
    forged = make_seal(
        es_id=own.es_id,
        name=own.name,
        seal_type=own.seal_type,
        signer_certificates=[pki.signer.certificate],
        valid_from=own.valid_from,
        valid_to=own.valid_to,
        picture=SealPicture("PNG", own.picture.data, 42, 42),
        maker_key=maker_key,
        maker_certificate=maker.dump(),
    )
    out = stamp_ofd(vector("helloworld.ofd"), forged, pki.signer, 1, 10, 10, 40, 40)
    (sig,) = verify_ofd(out, trusted_roots=[pki.root], intermediates=[pki.ca]).signatures
    assert sig.chain_trusted and sig.seal_maker_trusted is False
    assert sig.status == "indeterminate" and "seal_maker_not_trusted" in sig.reasons


def test_certificate_validity_is_judged_at_the_verifiers_time(pki) -> None:
    """The signing time inside TBS_Sign is the signer's claim: an expired certificate cannot
    pass by carrying an old signing time."""
    out = stamp_ofd(vector("helloworld.ofd"), pki.seal, pki.signer, 1, 10, 10, 40, 40)
    later = datetime.now(UTC).replace(year=datetime.now(UTC).year + 30)
    (sig,) = verify_ofd(out, trusted_roots=[pki.root], intermediates=[pki.ca], at=later).signatures
    assert sig.status == "indeterminate" and "signer_not_trusted" in sig.reasons


def test_content_added_after_signing_is_not_passed(pki) -> None:
    """Document.xml may name an Annotations.xml that does not exist yet: adding it later
    changes what is displayed without touching any referenced file (a shadow attack)."""
    base = rewrite(
        vector("helloworld.ofd"),
        lambda n, c: (
            c.replace(
                b"</ofd:Pages>", b"</ofd:Pages><ofd:Annotations>Annots/Annotations.xml</ofd:Annotations>"
            )
            if n == "Doc_0/Document.xml"
            else c
        ),
    )
    out = stamp_ofd(base, pki.seal, pki.signer, 1, 10, 10, 40, 40)
    assert verify_ofd(out, trusted_roots=[pki.root], intermediates=[pki.ca]).status == "passed"
    shadow = rewrite(out, lambda n, c: c, extra={"Doc_0/Annots/Annotations.xml": b"<ofd:Annotations/>"})
    (sig,) = verify_ofd(shadow, trusted_roots=[pki.root], intermediates=[pki.ca]).signatures
    assert sig.references_ok and sig.signature_ok
    assert sig.status == "indeterminate" and sig.uncovered_files == ["Doc_0/Annots/Annotations.xml"]
    assert "content_not_covered" in sig.reasons
