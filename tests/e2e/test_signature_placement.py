"""The personal signature placement on the whole platform, through the gateway (issue 15): a
PDF with a seal placement and a signature placement, one certificate password. The person's
own signature (个人签名, created through the API as the H5 does) is drawn at its spot and
signed with the person's certificate; the seal is signed with the seal's. pyHanko: both
valid and trusted to the platform root. A person without a signature gets 409
``signature_required`` before any password try."""

from __future__ import annotations

import io
import json
import subprocess
from typing import Any

import aiohttp
import pytest
from PIL import Image
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import DocumentSecurityStore, async_validate_pdf_signature
from stamping.adapters.pdf import as_asn1_cert

from tests.conftest import Platform
from tests.e2e.test_stamping import (
    CERT_PASSWORD,
    Account,
    client_token,
    create_client,
    grant,
    new_enterprise,
    new_person,
    new_seal,
    scan,
)
from tests.support.api import Api
from tests.support.pdf_fixtures import make_test_pdf

pytestmark = pytest.mark.e2e

SEAL_AT = (1, 200.0, 300.0)  # page, x, y (points, origin bottom-left)
SIGNATURE_AT = (2, 300.0, 250.0)


def _render(doc: bytes, page: int) -> Image.Image:
    out = subprocess.run(["pdftoppm", "-f", str(page), "-l", str(page), "-r", "72", "-png", "-"],
                         input=doc, capture_output=True, check=True, timeout=60)
    return Image.open(io.BytesIO(out.stdout)).convert("RGB")


def _ink(img: Image.Image, box: tuple[float, float, float, float]) -> int:
    """Non-white pixels in ``box`` (PDF points; 72 dpi: a pixel a point, rows top-down)."""
    x0, y0, x1, y1 = box
    px = img.load()
    return sum(1 for j in range(int(img.height - y1), int(img.height - y0))
               for i in range(int(x0), int(x1)) if sum(px[i, j]) < 600)


async def _request(api: Api, token: str, pdf: bytes) -> dict[str, Any]:
    placements = [{"seal_type": "contract", "page": SEAL_AT[0], "x": SEAL_AT[1], "y": SEAL_AT[2]},
                  {"kind": "signature", "page": SIGNATURE_AT[0], "x": SIGNATURE_AT[1], "y": SIGNATURE_AT[2]}]
    form = aiohttp.FormData()
    form.add_field("title", "签字合同")
    form.add_field("placements", json.dumps(placements))
    form.add_field("document", pdf, filename="contract.pdf", content_type="application/pdf")
    created = await api.post("/api/v1/stamp-requests", token=token, data=form)
    assert created.status == 201, created
    return dict(created.json)


async def _stamp(api: Api, person: Account, enterprise: Account, request_id: str, seal_id: str) -> Any:
    return await api.post(f"/api/v1/stamp-requests/{request_id}/stamp", token=person.token, json={
        "enterprise_id": enterprise.id, "certificate_password": CERT_PASSWORD,
        "choices": [{"placement": 0, "seal_id": seal_id}]})


async def test_the_signature_placement_is_the_persons_signature(api: Api, platform: Platform) -> None:
    enterprise = await new_enterprise(api)
    seal = await new_seal(api, enterprise, "contract")
    person = await new_person(api)
    await grant(api, enterprise, seal["seal_id"], person)
    client = create_client(platform, "签字系统")
    client.token = await client_token(api, client)
    root = await api.get("/api/v1/ca/root.pem")
    assert root.status == 200
    pdf = make_test_pdf(pages=2)

    # no signature yet: the scan says so, the stamp is 409 before any password try
    created = await _request(api, client.token, pdf)
    scanned = await scan(api, person, created["qr_payload"])
    assert scanned.status == 200, scanned
    assert scanned.json["placements"][1]["signature_missing"] is True
    refused = await _stamp(api, person, enterprise, created["request_id"], seal["seal_id"])
    assert refused.status == 409 and refused.json["code"] == "signature_required", refused

    # the person creates their signature (as the H5 leads them to) and comes back
    made = await api.post("/api/v1/my/signature", token=person.token, json={"method": "generated"})
    assert made.status == 201, made
    scanned = await scan(api, person, created["qr_payload"])
    assert scanned.json["placements"][1]["signature_missing"] is False
    stamped = await _stamp(api, person, enterprise, created["request_id"], seal["seal_id"])
    assert stamped.status == 201, stamped
    assert len(stamped.json["record_ids"]) == 1  # the signature is no seal use

    doc = await api.get(f"/api/v1/stamp-requests/{created['request_id']}/result", token=client.token)
    assert doc.status == 200
    reader = PdfFileReader(io.BytesIO(doc.body))
    own, sealed = reader.embedded_signatures
    for sig in (own, sealed):
        vc = DocumentSecurityStore.read_dss(reader).as_validation_context(
            {"trust_roots": [as_asn1_cert(root.body)], "allow_fetching": False,
             "revocation_mode": "hard-fail"})
        status = await async_validate_pdf_signature(sig, vc)
        assert status.intact and status.valid and status.trusted, status.pretty_print_details()
        assert status.bottom_line, status.pretty_print_details()
    cert = await api.get("/api/v1/certificate", token=person.token)
    assert cert.status == 200, cert
    assert format(own.signer_cert.serial_number, "X") == cert.json["serial_number"].upper()
    assert sealed.signer_cert.subject.native["common_name"] == seal["name"]

    # the platform's verification: the person's signature is theirs, the seal the seal's
    form = aiohttp.FormData()
    form.add_field("document", doc.body, filename="signed.pdf", content_type="application/pdf")
    v = await api.post("/api/v1/verifications", data=form)
    assert v.status == 200 and v.json["result"] == "passed", v
    mine, stamp = v.json["signatures"]
    assert mine["kind"] == "signature" and mine["signer_name"] == person.name and mine["recorded"]
    assert stamp["kind"] == "seal" and stamp["seal_id"] == seal["seal_id"]

    # the person's signature record (not a seal use): theirs to list, not the enterprise's
    listed = await api.get("/api/v1/signature-records", token=person.token)
    assert listed.status == 200, listed
    assert [i["request_id"] for i in listed.json["items"]] == [created["request_id"]]
    assert (listed.json["items"][0]["format"], listed.json["items"][0]["algorithm"]) == (
        "pades", "ecdsa-p256-sha256")
    usage = await api.get("/api/v1/usage-records", token=enterprise.token)
    assert [i["seal_id"] for i in usage.json["items"] if i["request_id"] == created["request_id"]] \
        == [seal["seal_id"]]
    denied = await api.get("/api/v1/signature-records", token=enterprise.token)
    assert denied.status == 403, denied

    # rendered: the signature's ink at its spot (and not there before)
    page, x, y = SIGNATURE_AT
    box = (x - 60, y - 30, x + 60, y + 30)
    before, after = _ink(_render(pdf, page), box), _ink(_render(doc.body, page), box)
    assert after > before + 100, (before, after)


async def test_a_request_with_only_signature_placements_is_the_persons_alone(
        api: Api, platform: Platform) -> None:
    """A person signs a document with their 个人签名, no seal: no enterprise, no seal choice,
    one password; a signature record, no usage record; pyHanko trusts it to the root."""
    person = await new_person(api)  # granted no seal, in no enterprise
    made = await api.post("/api/v1/my/signature", token=person.token, json={"method": "generated"})
    assert made.status == 201, made
    client = create_client(platform, "个人签字系统")
    client.token = await client_token(api, client)
    root = await api.get("/api/v1/ca/root.pem")
    assert root.status == 200
    page, x, y = SIGNATURE_AT
    form = aiohttp.FormData()
    form.add_field("title", "个人承诺书")
    form.add_field("placements", json.dumps([{"kind": "signature", "page": page, "x": x, "y": y}]))
    form.add_field("document", make_test_pdf(pages=2), filename="p.pdf", content_type="application/pdf")
    created = await api.post("/api/v1/stamp-requests", token=client.token, data=form)
    assert created.status == 201, created
    request_id = created.json["request_id"]

    scanned = await scan(api, person, created.json["qr_payload"])
    assert scanned.status == 200, scanned
    [placement] = scanned.json["placements"]
    assert placement["kind"] == "signature" and placement["signature_missing"] is False
    assert "seal_choices" not in placement or not placement["seal_choices"], placement
    path = f"/api/v1/stamp-requests/{request_id}/stamp"
    # a seal smuggled into a placement that takes none: refused
    r = await api.post(path, token=person.token, json={
        "certificate_password": CERT_PASSWORD,
        "choices": [{"placement": 0, "seal_id": "00000000-0000-4000-8000-000000000000"}]})
    assert r.status == 422 and r.json["code"] == "invalid_choice", r
    stamped = await api.post(path, token=person.token, json={"certificate_password": CERT_PASSWORD})
    assert stamped.status == 201, stamped
    assert stamped.json["record_ids"] == [] and stamped.json["record_id"]
    again = await api.post(path, token=person.token, json={"certificate_password": CERT_PASSWORD})
    assert again.status == 409 and again.json["code"] == "already_stamped", again

    status = await api.get(f"/api/v1/stamp-requests/{request_id}", token=client.token)
    assert status.json["status"] == "stamped" and status.json["record_id"] == stamped.json["record_id"]
    doc = await api.get(f"/api/v1/stamp-requests/{request_id}/result", token=client.token)
    assert doc.status == 200 and doc.headers["Content-Type"] == "application/pdf", doc
    reader = PdfFileReader(io.BytesIO(doc.body))
    [own] = reader.embedded_signatures
    vc = DocumentSecurityStore.read_dss(reader).as_validation_context(
        {"trust_roots": [as_asn1_cert(root.body)], "allow_fetching": False,
         "revocation_mode": "hard-fail"})
    status_ = await async_validate_pdf_signature(own, vc)
    assert status_.intact and status_.valid and status_.trusted, status_.pretty_print_details()
    assert status_.bottom_line, status_.pretty_print_details()
    cert = await api.get("/api/v1/certificate", token=person.token)
    assert format(own.signer_cert.serial_number, "X") == cert.json["serial_number"].upper()

    # the platform's verification and records: the person's signature, no seal use
    form = aiohttp.FormData()
    form.add_field("document", doc.body, filename="signed.pdf", content_type="application/pdf")
    v = await api.post("/api/v1/verifications", data=form)
    assert v.status == 200 and v.json["result"] == "passed", v
    [mine] = v.json["signatures"]
    assert mine["kind"] == "signature" and mine["signer_name"] == person.name and mine["recorded"]
    listed = await api.get("/api/v1/signature-records", token=person.token)
    assert [i["record_id"] for i in listed.json["items"] if i["request_id"] == request_id] \
        == [stamped.json["record_id"]], listed.json
    usage = await api.get("/api/v1/usage-records", token=person.token)
    assert [i for i in usage.json["items"] if i["request_id"] == request_id] == [], usage.json
    box = (x - 60, y - 30, x + 60, y + 30)
    assert _ink(_render(doc.body, page), box) > 100
