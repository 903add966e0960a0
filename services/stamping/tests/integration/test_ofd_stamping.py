"""OFD through stamping's API: upload (told apart by content), scan, stamp with the seal's SM2
key (asked of seals), timestamp, usage record; public verification of the result, of
ofdrw's signed files (intact, issuer untrusted) and of tampered copies."""

from __future__ import annotations

import base64
import hashlib
import io
import zipfile
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from shared.gm.ses import parse_signature, timestamp_covers, verify_signature
from shared.gm.x509 import load_certificate, public_key_of
from tests.support.harnesses.stamping import Harness, Reply, count_tsa_requests

VECTORS = Path(__file__).resolve().parents[1] / "vectors" / "ofdrw"


def vector(name: str) -> bytes:
    return (VECTORS / name).read_bytes()


OFD = vector("helloworld.ofd")


async def _request(h: Harness, token: str, data: bytes = OFD, *, page: int = 1, x: float = 60,
                   y: float = 60, filename: str = "doc.pdf") -> Reply:
    form = aiohttp.FormData()
    for k, v in (("title", "OFD 公文"), ("page", str(page)), ("x", str(x)), ("y", str(y))):
        form.add_field(k, v)
    # the name and type say PDF: the content decides
    form.add_field("document", data, filename=filename, content_type="application/pdf")
    return await h.call("POST", "/api/v1/stamp-requests", token=token, data=form)


async def _verify(h: Harness, data: bytes) -> Reply:
    form = aiohttp.FormData()
    form.add_field("document", data, filename="x.bin", content_type="application/octet-stream")
    return await h.call("POST", "/api/v1/verifications", data=form)


def _edit(data: bytes, name: str, change: Any) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            content = src.read(info)
            dst.writestr(info, change(content) if info.filename == name else content)
    return out.getvalue()


def _flip(content: bytes) -> bytes:
    i = len(content) // 2
    return content[:i] + bytes([content[i] ^ 0x01]) + content[i + 1:]


async def test_ofd_stamp_end_to_end_with_sm2_seal_and_verification(
        stamping: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    h = stamping
    tsa_asked = count_tsa_requests(h, monkeypatch)
    _, token = await h.new_client("OFD 审批系统")
    created = await _request(h, token)
    assert created.status == 201, created
    req = created.json
    assert req["kind"] == "ofd"
    assert req["document"] == {"sha256": hashlib.sha256(OFD).hexdigest(), "pages": 1, "size": len(OFD)}
    seal, person = h.enterprise_seal(), h.person("韩梅梅")
    h.seals.grant(person.id, seal.seal_id)
    scanned = await h.scan(person, req["qr_payload"])
    assert scanned.status == 200 and scanned.json["kind"] == "ofd", scanned
    # what the person's screen shows: the title, the pages and the hash of the OFD
    assert scanned.json["title"] == req["title"]
    assert scanned.json["document"] == req["document"]
    stamped = await h.stamp(person, req["request_id"], seal)
    assert stamped.status == 201, stamped

    result = await h.call("GET", f"/api/v1/stamp-requests/{req['request_id']}/result", token=token)
    assert result.status == 200 and result.headers["Content-Type"] == "application/ofd"
    assert result.headers["Content-Disposition"].endswith('.ofd"')
    doc = result.body
    with zipfile.ZipFile(io.BytesIO(doc)) as z:
        names = z.namelist()
        sig_dir = next(n.rsplit("/", 1)[0] for n in names if n.endswith("/SignedValue.dat"))
        signed_value = z.read(f"{sig_dir}/SignedValue.dat")
        signature_xml = z.read(f"{sig_dir}/Signature.xml")
    assert any(n.endswith("Signs/Signatures.xml") for n in names)
    ses = parse_signature(signed_value)
    assert ses.version == 4 and ses.timestamp is not None
    assert verify_signature(ses, signature_xml).ok
    # the token came with the seal signature (one round trip): the TSA was not asked apart
    assert tsa_asked == [] and h.seals.timestamps >= 1
    assert timestamp_covers(ses.timestamp, ses.signature)
    fake = h.seals.seals[seal.seal_id]
    assert ses.signer_certificate == fake.sm2_cert  # the SEAL's SM2 key signed
    assert public_key_of(load_certificate(ses.signer_certificate)).verify(ses.tbs, ses.signature)
    assert b"StampAnnot" in signature_xml and b'Boundary="40 40 40 40"' in signature_xml

    records = await h.call("GET", "/api/v1/usage-records", token=person.token)
    item = next(i for i in records.json["items"] if i["record_id"] == stamped.json["record_id"])
    assert (item["kind"], item["format"], item["algorithm"]) == ("ofd", "gbt38540", "sm2-sm3")

    r = await _verify(h, doc)
    assert r.status == 200, r
    assert r.json["format"] == "ofd" and r.json["result"] == "passed", r
    s = r.json["signatures"][0]
    assert s["algorithm"] == "sm2-sm3"
    assert s["signature_format"] == "GB/T 38540 V4" and s["references_ok"] is True
    assert s["trusted"] and s["intact"] and s["timestamped"] and s["signed_at_source"] == "timestamp"
    assert s["recorded"] and s["seal_id"] == str(seal.seal_id) and s["signer_name"] == "韩梅梅"
    assert s["seal_status"] == "active" and s["revoked_before_stamp"] is False
    # what the verify page draws: the page (number, size) and the picture the document embeds
    assert s["stamps"] == [{"page_ref": s["stamps"][0]["page_ref"], "boundary_mm": [40, 40, 40, 40],
                            "page": 1, "page_size_mm": s["stamps"][0]["page_size_mm"],
                            "clip_mm": None}]
    assert s["stamps"][0]["page_size_mm"] and all(v > 0 for v in s["stamps"][0]["page_size_mm"])
    assert s["seal_picture_mm"] == [40, 40]
    embedded = ses.seal.picture  # the SES_Seal inside the signature
    assert s["seal_picture"] == "data:image/png;base64," + base64.b64encode(embedded.data).decode()

    # a changed byte in a referenced file, in Signature.xml, in SignedValue.dat: failed
    content_file = next(n for n in names if n.endswith("Content.xml"))
    for name in (content_file, f"{sig_dir}/Signature.xml", f"{sig_dir}/SignedValue.dat"):
        bad = await _verify(h, _edit(doc, name, _flip))
        assert bad.status == 200 and bad.json["result"] == "failed", (name, bad)

    # revoked afterwards: the stamp still passes and says so; new OFD stamps are refused
    await h.seals.revoke(seal.seal_id)
    r = await _verify(h, doc)
    assert r.json["result"] == "passed", r
    s = r.json["signatures"][0]
    assert s["seal_status"] == "revoked" and s["revoked_before_stamp"] is False
    req2 = (await _request(h, token)).json
    assert (await h.scan(person, req2["qr_payload"])).status == 200
    refused = await h.stamp(person, req2["request_id"], seal)
    assert refused.status in (403, 409), refused
    assert refused.json["code"] in ("seal_revoked", "not_authorized")


async def test_ofdrw_signatures_are_intact_but_untrusted_and_keyword_fails(stamping: Harness) -> None:
    h = stamping
    r = await _verify(h, vector("SESV4SignDoc.ofd"))
    assert r.status == 200 and r.json["format"] == "ofd", r
    assert r.json["result"] == "indeterminate", r
    for s in r.json["signatures"]:
        assert s["references_ok"] is True and s["intact"] is True and s["trusted"] is False
        assert "signer_not_trusted" in s["reasons"] and s["recorded"] is False
        assert "not_a_seal_certificate" not in s["reasons"]
    # a bare SM2 signature carries no certificate: intact references, signer unknown here
    r = await _verify(h, vector("DigitalSign.ofd"))
    assert r.status == 200 and r.json["result"] == "indeterminate", r
    (s,) = r.json["signatures"]
    assert s["references_ok"] is True and "signer_unknown" in s["reasons"] and s["recorded"] is False
    r = await _verify(h, vector("keyword.ofd"))
    assert r.json["result"] == "failed"
    assert len(r.json["signatures"]) == 2 and all(s["result"] == "failed" for s in r.json["signatures"])


async def test_bad_ofd_uploads_are_refused_with_stable_codes(stamping: Harness) -> None:
    h = stamping
    _, token = await h.new_client()
    zip_without_ofd = io.BytesIO()
    with zipfile.ZipFile(zip_without_ofd, "w") as z:
        z.writestr("readme.txt", "hello")
    r = await _request(h, token, zip_without_ofd.getvalue())  # not an OFD: read as a PDF
    assert r.status == 422 and r.json["code"] == "not_a_pdf", r
    broken = io.BytesIO()
    with zipfile.ZipFile(broken, "w") as z:
        z.writestr("OFD.xml", "<not-ofd/>")
    r = await _request(h, token, broken.getvalue())
    assert r.status == 422 and r.json["code"] == "not_an_ofd", r
    r = await _request(h, token, page=9)
    assert r.status == 422 and r.json["code"] == "page_out_of_range", r
    r = await _request(h, token, x=500)
    assert r.status == 422 and r.json["code"] == "position_off_page", r
    traversal = io.BytesIO(OFD)
    with zipfile.ZipFile(traversal, "a") as z:
        z.writestr("../evil.xml", "<x/>")  # attack input
    r = await _request(h, token, traversal.getvalue())
    assert r.status == 422 and r.json["code"] == "ofd_unsafe", r
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z, zipfile.ZipFile(io.BytesIO(OFD)) as src:
        for info in src.infolist():
            z.writestr(info.filename, src.read(info))
        z.writestr("Doc_0/Res/big.bin", b"\0" * (300 * 1024 * 1024))
    r = await _request(h, token, bomb.getvalue())
    assert r.status == 422 and r.json["code"] == "document_too_complex", r
    assert await h.sql("SELECT count(*) FROM stamp_requests WHERE client_id = "
                       "(SELECT client_id FROM clients ORDER BY created_at DESC LIMIT 1)") == 0
