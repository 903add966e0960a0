"""Several placements, one password (issue 15, the signing side): a signature per seal
placement, each its own usage record, one person signature over all of them.

Through the harness (real PostgreSQL, seals and certs faked at the ports). The request's
placements are written into its row as the request side stores them; the stamp call goes
through the service layer with the person's per-placement choices.
"""

from __future__ import annotations

import io
import json
import uuid
from pathlib import Path

import aiohttp
import pytest
from pyhanko.pdf_utils.reader import PdfFileReader
from stamping.domain import placements as placement_model
from stamping.domain.placements import Choice, Placement, Spot
from stamping.entrypoints.http import STAMPING
from stamping.service_layer import stamping as stamping_service
from stamping.service_layer.ports import SealInfo
from stamping.service_layer.stamp_plan import StampCommand

from shared.auth import Principal
from shared.errors import EsealError
from tests.support.harnesses.stamping import CERT_PASSWORD, Harness, Person, count_tsa_requests
from tests.support.pdf_fixtures import make_seal_png

ENTERPRISE = "长春市多章科技有限公司"
OFD = (Path(__file__).resolve().parents[1] / "vectors" / "ofdrw" / "helloworld.ofd").read_bytes()


async def _request(h: Harness, token: str, person: Person, placements: list[Placement]) -> str:
    r = await h.request_pdf(token)
    assert r.status == 201, r
    request_id = r.json["request_id"]
    async with h.pool.acquire() as conn:
        await conn.execute("UPDATE stamp_requests SET placements = $2::jsonb WHERE request_id = $1",
                           uuid.UUID(request_id), placement_model.to_json(placements))
    assert (await h.scan(person, r.json["qr_payload"])).status == 200
    return request_id


async def _stamp(h: Harness, person: Person, request_id: str, seal: SealInfo,
                 choices: tuple[Choice, ...] = ()) -> stamping_service.StampOutcome:
    assert h.app is not None
    principal = Principal(id=person.id, role="person", name=person.name)
    return await stamping_service.stamp(h.app[STAMPING], principal, uuid.UUID(request_id),
                                        StampCommand(
                                            seal.enterprise_id, seal.seal_id, CERT_PASSWORD, choices))


def _seals(h: Harness) -> tuple[SealInfo, SealInfo]:
    contract = h.seals.add_seal(uuid.uuid4(), ENTERPRISE, type="contract", label="合同专用章")
    name_seal = h.seals.add_seal(contract.enterprise_id, ENTERPRISE, "张三印", type="legal_representative",
                                 label="法定代表人名章", shape="square", width_mm=20, height_mm=20,
                                 image=make_seal_png(160))
    return contract, name_seal


async def _verify(h: Harness, data: bytes) -> dict:
    form = aiohttp.FormData()
    form.add_field("document", data, filename="x.pdf", content_type="application/pdf")
    r = await h.call("POST", "/api/v1/verifications", data=form)
    assert r.status == 200, r
    return r.json


async def test_every_seal_placement_is_a_signature_and_a_record(
        stamping: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    h = stamping
    tsa_asked = count_tsa_requests(h, monkeypatch)
    _client, token = await h.new_client()
    contract, name_seal = _seals(h)
    person = h.person("张三")
    h.seals.grant(person.id, contract.seal_id)
    h.seals.grant(person.id, name_seal.seal_id)
    placements = [
        Placement(0, "seal", "contract", (Spot(1, 200, 300), Spot(3, 300, 500))),
        Placement(1, "seal", "legal_representative", (Spot(3, 450, 500),)),
        Placement(2, "cross_page", None, (Spot(1, None, 400), Spot(2, None, 400), Spot(3, None, 400))),
    ]
    request_id = await _request(h, token, person, placements)
    kdf_before, seals_before, tokens_before = h.certs.signatures, h.seals.signatures, h.seals.timestamps

    outcome = await _stamp(h, person, request_id, contract, (Choice(1, name_seal.seal_id),))

    assert h.certs.signatures - kdf_before == 1  # one password entry, one person signature
    assert h.seals.signatures - seals_before == 3  # one seal signature per seal placement
    # each signature's timestamp token came with it: no round trip of its own to the TSA
    assert h.seals.timestamps - tokens_before == 3 and tsa_asked == []
    assert len(outcome.record_ids) == 3 and outcome.record_id == outcome.record_ids[0]
    rows = await h.sql("SELECT json_agg(json_build_object('record_id', record_id, 'seal_id', seal_id,"
                       " 'placement_index', placement_index, 'authorization', authorization_text)"
                       " ORDER BY placement_index) FROM usage_records WHERE request_id = $1",
                       uuid.UUID(request_id))
    records = rows if isinstance(rows, list) else json.loads(rows)  # the pool decodes json
    assert [r["placement_index"] for r in records] == [0, 1, 2]
    assert [r["record_id"] for r in records] == [str(i) for i in outcome.record_ids]
    assert [r["seal_id"] for r in records] == [str(contract.seal_id), str(name_seal.seal_id),
                                               str(contract.seal_id)]
    # the one text the person signed names every (placement, seal) pair
    authorization = json.loads(records[0]["authorization"])
    assert authorization["placements"] == [
        {"index": 0, "seal_id": str(contract.seal_id)}, {"index": 1, "seal_id": str(name_seal.seal_id)},
        {"index": 2, "seal_id": str(contract.seal_id)}]
    assert {r["authorization"] for r in records} == {records[0]["authorization"]}
    assert await h.sql("SELECT record_id FROM request_status WHERE request_id = $1",
                       uuid.UUID(request_id)) == outcome.record_ids[0]

    r = await h.call("GET", f"/api/v1/stamp-requests/{request_id}", token=token)
    assert r.status == 200 and r.json["status"] == "stamped"
    assert r.json["record_id"] == str(outcome.record_ids[0])
    res = await h.call("GET", f"/api/v1/stamp-requests/{request_id}/result", token=token)
    assert res.status == 200, res
    reader = PdfFileReader(io.BytesIO(res.body), strict=True)
    assert len(reader.embedded_signatures) == 3

    # verification: every signature passes and is attributed to its own record
    report = await _verify(h, res.body)
    assert report["result"] == "passed", report
    sigs = report["signatures"]
    assert [s["result"] for s in sigs] == ["passed"] * 3, sigs
    assert all(s["recorded"] for s in sigs)
    assert [s["seal_id"] for s in sigs] == [str(contract.seal_id), str(name_seal.seal_id),
                                            str(contract.seal_id)]


async def test_the_name_seal_is_drawn_at_its_real_size(stamping: Harness) -> None:
    h = stamping
    _client, token = await h.new_client()
    contract, name_seal = _seals(h)
    person = h.person("李四")
    h.seals.grant(person.id, name_seal.seal_id)
    request_id = await _request(h, token, person,
                                [Placement(0, "seal", "legal_representative", (Spot(2, 300, 300),))])
    await _stamp(h, person, request_id, name_seal)
    res = await h.call("GET", f"/api/v1/stamp-requests/{request_id}/result", token=token)
    reader = PdfFileReader(io.BytesIO(res.body), strict=True)
    [sig] = reader.embedded_signatures
    rect = [float(v) for v in sig.sig_field["/Rect"]]
    mm = 72 / 25.4
    assert rect[2] - rect[0] == pytest.approx(20 * mm, abs=0.01)  # /Rect is written rounded
    assert rect[3] - rect[1] == pytest.approx(20 * mm, abs=0.01)
    assert (rect[0] + rect[2]) / 2 == pytest.approx(300, abs=0.01)


async def test_a_seal_of_another_type_or_a_signature_placement_is_refused_before_the_password(
        stamping: Harness) -> None:
    h = stamping
    _client, token = await h.new_client()
    contract, name_seal = _seals(h)
    person = h.person("王五")
    h.seals.grant(person.id, contract.seal_id)
    h.seals.grant(person.id, name_seal.seal_id)
    kdf_before = h.certs.signatures
    wrong_type = await _request(h, token, person,
                                [Placement(0, "seal", "legal_representative", (Spot(1, 300, 300),))])
    with pytest.raises(EsealError) as e:
        await _stamp(h, person, wrong_type, contract)
    assert e.value.status == 422 and e.value.code == "invalid_choice"
    signature = await _request(h, token, person, [
        Placement(0, "seal", None, (Spot(1, 300, 300),)),
        Placement(1, "signature", None, (Spot(1, 300, 500),))])
    with pytest.raises(EsealError) as e:  # the person has no 个人签名 (issue 15)
        await _stamp(h, person, signature, contract)
    assert e.value.status == 409 and e.value.code == "signature_required"
    assert h.certs.signatures == kdf_before  # no password try spent
    # the claim was released: the request is still pending and stampable once it fits
    r = await h.call("GET", f"/api/v1/stamp-requests/{wrong_type}", token=token)
    assert r.json["status"] == "pending"
    await _stamp(h, person, wrong_type, name_seal)


async def test_a_single_placement_signs_as_before(stamping: Harness) -> None:
    """The legacy page/x/y request: one signature named as before, the single-seal text."""
    h = stamping
    _client, token = await h.new_client()
    seal = h.enterprise_seal()
    person = h.person("赵六")
    h.seals.grant(person.id, seal.seal_id)
    r = await h.request_pdf(token)
    assert (await h.scan(person, r.json["qr_payload"])).status == 200
    s = await h.stamp(person, r.json["request_id"], seal)
    assert s.status == 201, s
    text = await h.sql("SELECT authorization_text FROM usage_records WHERE request_id = $1",
                       uuid.UUID(r.json["request_id"]))
    assert "placements" not in json.loads(text)
    res = await h.call("GET", f"/api/v1/stamp-requests/{r.json['request_id']}/result", token=token)
    [sig] = PdfFileReader(io.BytesIO(res.body), strict=True).embedded_signatures
    assert sig.field_name == f"eseal-{r.json['request_id']}"


async def test_an_ofd_gets_a_signature_per_seal_placement(stamping: Harness) -> None:
    """OFD: one GB/T 38540 signature per seal placement, each over the previous output, one
    StampAnnot per spot (the 骑缝章 one per page); each verifies and has its own record."""
    h = stamping
    _client, token = await h.new_client("OFD 多章审批系统")
    contract, name_seal = _seals(h)
    person = h.person("韩梅梅")
    h.seals.grant(person.id, contract.seal_id)
    h.seals.grant(person.id, name_seal.seal_id)
    ofd = OFD
    form = aiohttp.FormData()
    for k, v in (("title", "OFD 合同"), ("page", "1"), ("x", "60"), ("y", "60")):
        form.add_field(k, v)
    form.add_field("document", ofd, filename="doc.ofd", content_type="application/ofd")
    r = await h.call("POST", "/api/v1/stamp-requests", token=token, data=form)
    assert r.status == 201 and r.json["kind"] == "ofd", r
    request_id = r.json["request_id"]
    placements = [Placement(0, "seal", None, (Spot(1, 60, 60), Spot(1, 120, 200))),
                  Placement(1, "seal", "legal_representative", (Spot(1, 150, 60),)),
                  Placement(2, "cross_page", None, (Spot(1, None, 150),))]
    async with h.pool.acquire() as conn:
        await conn.execute("UPDATE stamp_requests SET placements = $2::jsonb WHERE request_id = $1",
                           uuid.UUID(request_id), placement_model.to_json(placements))
    assert (await h.scan(person, r.json["qr_payload"])).status == 200
    outcome = await _stamp(h, person, request_id, contract, (Choice(1, name_seal.seal_id),))
    assert len(outcome.record_ids) == 3
    res = await h.call("GET", f"/api/v1/stamp-requests/{request_id}/result", token=token)
    assert res.status == 200 and res.headers["Content-Type"] == "application/ofd"
    form = aiohttp.FormData()
    form.add_field("document", res.body, filename="x.bin", content_type="application/octet-stream")
    v = await h.call("POST", "/api/v1/verifications", data=form)
    assert v.status == 200 and v.json["result"] == "passed", v
    sigs = v.json["signatures"]
    assert [s["result"] for s in sigs] == ["passed"] * 3, sigs
    assert all(s["recorded"] for s in sigs)
    assert sorted(s["seal_id"] for s in sigs) == sorted(
        [str(contract.seal_id), str(name_seal.seal_id), str(contract.seal_id)])
    assert await h.sql("SELECT count(*) FROM usage_records WHERE request_id = $1",
                       uuid.UUID(request_id)) == 3
