"""The personal signature placement (issue 15): the person's own signature (个人签名, kept by
seals) drawn at its spots and signed with the person's certificate, in the first revision;
the seal placements follow. One password entry: the authorization and that revision's digest
are signed in one certs call (one password check, one KDF).

Through the harness (real PostgreSQL, seals and certs faked at the ports).
"""

from __future__ import annotations

import io
import uuid

import aiohttp
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from PIL import Image, ImageDraw
from pyhanko.pdf_utils.reader import PdfFileReader
from stamping.domain import placements as placement_model
from stamping.domain.placements import Placement, Spot
from stamping.entrypoints.http import STAMPING
from stamping.service_layer import stamping as stamping_service
from stamping.service_layer.ports import SealInfo
from stamping.service_layer.stamp_plan import StampCommand

from shared.auth import Principal
from shared.errors import EsealError
from tests.support.harnesses.stamping import CERT_PASSWORD, Harness, Person

ENTERPRISE = "长春市签名科技有限公司"


def handwriting() -> bytes:
    img = Image.new("RGBA", (400, 160), (0, 0, 0, 0))
    ImageDraw.Draw(img).line([(20, 120), (120, 30), (200, 130), (300, 40), (380, 110)],
                             fill=(0, 0, 0, 255), width=10)
    out = io.BytesIO()
    img.save(out, format="PNG")
    return out.getvalue()


PLACEMENTS = [Placement(0, "seal", None, (Spot(1, 200, 300),)),
              Placement(1, "signature", None, (Spot(1, 350, 500), Spot(2, 300, 400)))]


async def _request(h: Harness, token: str, person: Person,
                   placements: list[Placement] = PLACEMENTS) -> tuple[str, dict]:
    r = await h.request_pdf(token)
    assert r.status == 201, r
    request_id = r.json["request_id"]
    async with h.pool.acquire() as conn:
        await conn.execute("UPDATE stamp_requests SET placements = $2::jsonb WHERE request_id = $1",
                           uuid.UUID(request_id), placement_model.to_json(placements))
    scan = await h.scan(person, r.json["qr_payload"])
    assert scan.status == 200, scan
    return request_id, scan.json


async def _stamp(h: Harness, person: Person, request_id: str, seal: SealInfo,
                 password: str = CERT_PASSWORD) -> stamping_service.StampOutcome:
    assert h.app is not None
    principal = Principal(id=person.id, role="person", name=person.name)
    return await stamping_service.stamp(h.app[STAMPING], principal, uuid.UUID(request_id),
                                        StampCommand(
                                            seal.enterprise_id, seal.seal_id, password))


def _setup(h: Harness, name: str) -> tuple[SealInfo, Person]:
    seal = h.seals.add_seal(uuid.uuid4(), ENTERPRISE, type="contract", label="合同专用章")
    person = h.person(name)
    h.seals.grant(person.id, seal.seal_id)
    return seal, person


async def test_the_persons_signature_is_signed_by_their_certificate_with_one_password(
        stamping: Harness) -> None:
    h = stamping
    _client, token = await h.new_client()
    seal, person = _setup(h, "签名人")
    h.seals.person_signatures[person.id] = handwriting()
    request_id, scan = await _request(h, token, person)
    assert [p.get("signature_missing") for p in scan["placements"]] == [None, False]
    calls, seal_sigs = h.certs.calls, h.seals.signatures

    outcome = await _stamp(h, person, request_id, seal)

    assert h.certs.calls - calls == 1  # one password check (one KDF) for both person signatures
    assert h.seals.signatures - seal_sigs == 1
    assert len(outcome.record_ids) == 1  # the signature is no seal use: no usage record
    res = await h.call("GET", f"/api/v1/stamp-requests/{request_id}/result", token=token)
    assert res.status == 200, res
    reader = PdfFileReader(io.BytesIO(res.body), strict=True)
    own, stamp = reader.embedded_signatures
    assert own.field_name == f"eseal-{request_id}-signature"  # the first revision
    person_cert = h.certs.holders[person.id].cert
    assert own.signer_cert.dump() == person_cert.public_bytes(Encoding.DER)
    assert stamp.field_name == f"eseal-{request_id}"
    assert x509.load_der_x509_certificate(stamp.signer_cert.dump()).serial_number != person_cert.serial_number
    # one widget per spot: page 1 and page 2
    widgets = own.sig_field.get("/Kids") or [own.sig_field]
    assert len(widgets) == 2

    form = aiohttp.FormData()
    form.add_field("document", res.body, filename="x.pdf", content_type="application/pdf")
    v = await h.call("POST", "/api/v1/verifications", data=form)
    assert v.status == 200 and v.json["result"] == "passed", v
    mine, sealed = v.json["signatures"]
    assert [s["result"] for s in (mine, sealed)] == ["passed", "passed"], v.json
    assert mine["kind"] == "signature" and mine["recorded"] and mine["signer_name"] == person.name
    assert mine["seal_id"] is None and mine["request_id"] == request_id
    assert sealed["kind"] == "seal" and sealed["seal_id"] == str(seal.seal_id)
    # the person's signature record, not a usage record (not the enterprise's seal usage)
    assert await h.sql("SELECT count(*) FROM usage_records WHERE request_id = $1", uuid.UUID(request_id)) == 1
    assert await h.sql("SELECT placement_indexes FROM signature_records"
                       " WHERE request_id = $1 AND person_id = $2",
                       uuid.UUID(request_id), person.id) == [1]
    # the person lists it among their signature records; a seal-usage list does not have it
    mine_listed = await h.call("GET", "/api/v1/signature-records", token=person.token)
    assert mine_listed.status == 200, mine_listed
    [item] = mine_listed.json["items"]
    assert item["request_id"] == request_id and item["placements"] == [1]
    assert item["user_name"] == person.name and item["document_title"]
    assert int(item["certificate_serial"], 16) == person_cert.serial_number
    usage = await h.call("GET", "/api/v1/usage-records", token=person.token)
    assert [i["seal_id"] for i in usage.json["items"]] == [str(seal.seal_id)]


async def test_without_a_signature_409_before_any_password_try(stamping: Harness) -> None:
    h = stamping
    _client, token = await h.new_client()
    seal, person = _setup(h, "无签名")
    request_id, scan = await _request(h, token, person)
    assert scan["placements"][1]["signature_missing"] is True
    calls = h.certs.calls
    with pytest.raises(EsealError) as e:
        await _stamp(h, person, request_id, seal)
    assert e.value.status == 409 and e.value.code == "signature_required"
    assert h.certs.calls == calls
    # created since (as the H5 leads them to): the same request stamps
    h.seals.person_signatures[person.id] = handwriting()
    await _stamp(h, person, request_id, seal)


async def test_a_wrong_password_counts_once_and_releases_the_request(stamping: Harness) -> None:
    h = stamping
    _client, token = await h.new_client()
    seal, person = _setup(h, "错密码")
    h.seals.person_signatures[person.id] = handwriting()
    request_id, _ = await _request(h, token, person)
    calls = h.certs.calls
    with pytest.raises(EsealError) as e:
        await _stamp(h, person, request_id, seal, password="Wrong-pass-1")
    assert e.value.status == 403 and e.value.code == "wrong_certificate_password"
    assert h.certs.calls - calls == 1 and h.certs.holders[person.id].failures == 1
    r = await h.call("GET", f"/api/v1/stamp-requests/{request_id}", token=token)
    assert r.json["status"] == "pending"
    await _stamp(h, person, request_id, seal)


async def test_a_request_with_only_signature_placements_is_signed_without_a_seal(
        stamping: Harness) -> None:
    h = stamping
    client, token = await h.new_client()
    _seal, person = _setup(h, "只签名")
    h.seals.person_signatures[person.id] = handwriting()
    only = [Placement(0, "signature", None, (Spot(1, 300, 400),))]
    request_id, scan = await _request(h, token, person, only)
    assert [(p["kind"], p.get("seal_choices"), p["signature_missing"])
            for p in scan["placements"]] == [("signature", None, False)]
    path = f"/api/v1/stamp-requests/{request_id}/stamp"
    # a seal chosen for a placement that takes none: refused before any password try
    calls, seal_sigs = h.certs.calls, h.seals.signatures
    r = await h.call("POST", path, token=person.token, json={
        "certificate_password": CERT_PASSWORD, "choices": [{"placement": 0,
                                                            "seal_id": str(_seal.seal_id)}]})
    assert r.status == 422 and r.json["code"] == "invalid_choice", r
    r = await h.call("POST", path, token=person.token, json={"certificate_password": "Wrong-pass-1"})
    assert r.status == 403 and r.json["code"] == "wrong_certificate_password", r
    assert h.certs.calls - calls == 1
    # no enterprise, no seal: the person's password alone
    r = await h.call("POST", path, token=person.token, json={"certificate_password": CERT_PASSWORD})
    assert r.status == 201, r
    assert h.certs.calls - calls == 2 and h.seals.signatures == seal_sigs  # one KDF, no seal
    assert r.json["record_ids"] == []
    record_id = r.json["record_id"]
    assert await h.sql("SELECT record_id FROM signature_records WHERE request_id = $1",
                       uuid.UUID(request_id)) == uuid.UUID(record_id)
    assert await h.sql("SELECT count(*) FROM usage_records WHERE request_id = $1",
                       uuid.UUID(request_id)) == 0
    assert await h.sql("SELECT type FROM events WHERE stream_id = $1 AND version = 2",
                       request_id) == "RequestSigned"
    status = await h.call("GET", f"/api/v1/stamp-requests/{request_id}", token=token)
    assert status.json["status"] == "stamped" and status.json["record_id"] == record_id, status
    res = await h.call("GET", f"/api/v1/stamp-requests/{request_id}/result", token=token)
    assert res.status == 200 and res.headers["Content-Type"] == "application/pdf", res
    [own] = PdfFileReader(io.BytesIO(res.body), strict=True).embedded_signatures
    assert own.field_name == f"eseal-{request_id}-signature"
    assert own.signer_cert.dump() == h.certs.holders[person.id].cert.public_bytes(Encoding.DER)
    form = aiohttp.FormData()
    form.add_field("document", res.body, filename="x.pdf", content_type="application/pdf")
    v = await h.call("POST", "/api/v1/verifications", data=form)
    assert v.status == 200 and v.json["result"] == "passed", v
    [mine] = v.json["signatures"]
    assert mine["kind"] == "signature" and mine["recorded"] and mine["signer_name"] == person.name
    # stamped once
    r = await h.call("POST", path, token=person.token, json={"certificate_password": CERT_PASSWORD})
    assert r.status == 409 and r.json["code"] == "already_stamped", r
    # a request that takes a seal still needs the enterprise and the seal
    request_id, _ = await _request(h, token, person)
    r = await h.call("POST", f"/api/v1/stamp-requests/{request_id}/stamp", token=person.token,
                     json={"certificate_password": CERT_PASSWORD})
    assert r.status == 422 and r.json["errors"][0]["field"] == "enterprise_id", r
    assert client is not None
