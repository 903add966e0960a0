"""Placements on the request side (issue 15), through the gateway: resolved and stored when
the request is made, listed with the usable seals in the scan answer, the stamp call's
choices checked, and the pending document served only to the person who scanned it."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from stamping.domain.placements import TextHit
from stamping.service_layer import requests as request_service

from tests.support.harnesses.stamping import Harness, Person, Reply
from tests.support.text_pdfs import Text, centre, make_text_pdf

pytestmark = pytest.mark.asyncio(loop_scope="session")

SIGN_LINE = Text(350, 150, "甲方（盖章）：")
CONTRACT = make_text_pdf([[Text(72, 760, "合同书")], [Text(72, 700, "第二页")],
                          [SIGN_LINE, Text(72, 400, "盖章处"), Text(350, 400, "盖章处")]])
OFD = (Path(__file__).resolve().parents[1] / "vectors" / "ofdrw" / "helloworld.ofd").read_bytes()


async def _request(h: Harness, token: str, placements: Any = None, *, document: bytes = CONTRACT,
                   **fields: str) -> Reply:
    form = aiohttp.FormData()
    form.add_field("title", "采购合同")
    for k, v in fields.items():
        form.add_field(k, v)
    if placements is not None:
        form.add_field("placements", placements if isinstance(placements, str) else json.dumps(placements))
    form.add_field("document", document, filename="contract.pdf", content_type="application/pdf")
    return await h.call("POST", "/api/v1/stamp-requests", token=token, data=form)


async def _stored(h: Harness, request_id: str) -> list[Any]:
    stored = await h.sql("SELECT placements FROM stamp_requests WHERE request_id = $1",
                         uuid.UUID(request_id))
    return json.loads(stored)


async def test_placements_are_resolved_stored_and_listed_with_the_usable_seals(stamping: Harness) -> None:
    h = stamping
    _, token = await h.new_client()
    r = await _request(h, token, [
        {"kind": "seal", "seal_type": "contract", "keyword": "甲方（盖章）", "offset_x": 60},
        {"kind": "seal", "seal_type": "legal_representative", "page": "last", "x": 500, "y": 150},
        {"kind": "cross_page", "seal_type": "official"},
        {"keyword": "盖章处", "occurrence": "all"},
        {"kind": "signature", "page": 1, "x": 300, "y": 300}])
    assert r.status == 201, r
    x, y = centre(SIGN_LINE, 0, 6)
    assert await _stored(h, r.json["request_id"]) == [
        {"index": 0, "kind": "seal", "seal_type": "contract", "spots": [[3, x + 60, y]]},
        {"index": 1, "kind": "seal", "seal_type": "legal_representative", "spots": [[3, 500.0, 150.0]]},
        {"index": 2, "kind": "cross_page", "seal_type": "official",
         "spots": [[1, None, 421.0], [2, None, 421.0], [3, None, 421.0]]},
        {"index": 3, "kind": "seal", "seal_type": None, "spots": [[3, 90.0, 406.0], [3, 368.0, 406.0]]},
        {"index": 4, "kind": "signature", "seal_type": None, "spots": [[1, 300.0, 300.0]]}]

    enterprise = uuid.uuid4()
    contract = h.seals.add_seal(enterprise, "长春市甲方科技有限公司", type="contract", label="合同专用章")
    official = h.seals.add_seal(enterprise, "长春市甲方科技有限公司", type="official")
    other = h.seals.add_seal(uuid.uuid4(), "吉林省乙方有限公司", type="official")
    person = h.person("韩梅梅")
    for s in (contract, official, other):
        h.seals.grant(person.id, s.seal_id)
    scan = await h.scan(person, r.json["qr_payload"])
    assert scan.status == 200, scan
    assert len(scan.json["choices"]) == 2  # the existing answer is unchanged

    def choice(s: Any) -> dict[str, str]:
        return {"seal_id": str(s.seal_id), "name": s.name, "type": s.type,
                "enterprise_id": str(s.enterprise_id), "enterprise_name": s.enterprise_name}

    listed = scan.json["placements"]
    assert [(p["index"], p["kind"], p["seal_type"], p["unit"]) for p in listed] == [
        (0, "seal", "contract", "pt"), (1, "seal", "legal_representative", "pt"),
        (2, "cross_page", "official", "pt"), (3, "seal", None, "pt"), (4, "signature", None, "pt")]
    assert listed[0]["spots"] == [{"page": 3, "x": x + 60, "y": y}]
    assert listed[2]["spots"][0] == {"page": 1, "x": None, "y": 421.0}
    assert listed[0]["seal_choices"] == [choice(contract)]
    assert listed[1]["seal_choices"] == []  # no name seal granted
    assert sorted(c["seal_id"] for c in listed[2]["seal_choices"]) == sorted(
        [str(official.seal_id), str(other.seal_id)])
    assert len(listed[3]["seal_choices"]) == 3
    assert "seal_choices" not in listed[4]


async def test_the_single_page_x_y_form_is_one_seal_placement(stamping: Harness) -> None:
    h = stamping
    _, token = await h.new_client()
    r = await h.request_pdf(token, page=2, x=300, y=200)
    assert r.status == 201, r
    assert await _stored(h, r.json["request_id"]) == [
        {"index": 0, "kind": "seal", "seal_type": None, "spots": [[2, 300.0, 200.0]]}]
    person = h.person()
    scan = await h.scan(person, r.json["qr_payload"])
    assert scan.json["placements"] == [{"index": 0, "kind": "seal", "seal_type": None, "unit": "pt",
                                        "spots": [{"page": 2, "x": 300.0, "y": 200.0}],
                                        "seal_choices": []}]
    view = await h.call("GET", f"/api/v1/stamp-requests/{r.json['request_id']}", token=token)
    assert view.json["position"] == {"page": 2, "x": 300.0, "y": 200.0}
    assert view.json["placements"] == [{"index": 0, "kind": "seal", "seal_type": None, "unit": "pt",
                                        "spots": [{"page": 2, "x": 300.0, "y": 200.0}]}]


async def test_a_request_of_cross_page_seals_only_has_no_single_position(stamping: Harness) -> None:
    h = stamping
    _, token = await h.new_client()
    r = await _request(h, token, [{"kind": "cross_page", "pages": [1, 2]}])
    assert r.status == 201, r
    view = await h.call("GET", f"/api/v1/stamp-requests/{r.json['request_id']}", token=token)
    assert view.json["position"] is None
    assert view.json["placements"][0]["spots"] == [{"page": 1, "x": None, "y": 421.0},
                                                   {"page": 2, "x": None, "y": 421.0}]


@pytest.mark.parametrize(("placements", "fields", "code", "field"), [
    ([{"keyword": "乙方（盖章）"}], {}, "keyword_not_found", "placements[0].keyword"),
    ([{"page": 1, "x": 300, "y": 300}, {"keyword": "盖章处", "occurrence": 3}], {},
     "keyword_not_found", "placements[1].occurrence"),
    ([{"page": 4, "x": 300, "y": 300}], {}, "page_out_of_range", "placements[0].page"),
    ([{"page": 1, "x": 20, "y": 300}], {}, "position_off_page", "placements[0]"),
    ([{"seal_type": "royal", "page": 1, "x": 300, "y": 300}], {}, "unknown_seal_type",
     "placements[0].seal_type"),
    ([{"kind": "cross_page", "pages": [1, 9]}], {}, "page_out_of_range", "placements[0].page"),
    ([{"kind": "cross_page", "pages": [2]}], {}, "validation_failed", "placements[0].pages"),
    ([{"kind": "seal", "page": 1}], {}, "validation_failed", "placements[0]"),
    ([{"page": 1, "x": 300, "y": 300, "colour": "red"}], {}, "validation_failed",
     "placements[0].colour"),
    ([{"page": 1, "x": 300, "y": 300}] * 21, {}, "validation_failed", "placements"),
    ([], {}, "validation_failed", "placements"),
    ("[{not json", {}, "validation_failed", "placements"),
    ([{"page": 1, "x": 300, "y": 300}], {"page": "1", "x": "300", "y": "300"}, "validation_failed",
     "placements"),
    (None, {"page": "1", "x": "300"}, "validation_failed", "y"),
])
async def test_unusable_placements_are_refused_when_the_request_is_made(
        stamping: Harness, placements: Any, fields: dict[str, str], code: str, field: str) -> None:
    h = stamping
    _, token = await h.new_client()
    r = await _request(h, token, placements, **fields)
    assert r.status == 422, r
    assert r.headers["Content-Type"].startswith("application/problem+json")
    assert r.json["code"] == code, r.json
    assert r.json["errors"][0]["field"] == field, r.json


async def test_a_digest_request_takes_no_placements(stamping: Harness) -> None:
    h = stamping
    _, token = await h.new_client()
    r = await h.call("POST", "/api/v1/stamp-requests", token=token, json={
        "title": "摘要", "digest_sha256": "ab" * 32, "placements": [{"page": 1, "x": 1, "y": 1}]})
    assert r.status == 422 and r.json["errors"][0]["field"] == "placements", r


async def test_ofd_keyword_placements_use_the_ofd_text_search(stamping: Harness,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    h = stamping
    _, token = await h.new_client()
    seen: list[str] = []

    def find(data: bytes, keyword: str) -> list[TextHit]:
        seen.append(keyword)
        return [TextHit(1, 60.0, 70.0)] if keyword == "盖章处" else []

    monkeypatch.setattr(request_service, "find_ofd_text", find)
    r = await _request(h, token, [{"keyword": "盖章处", "seal_type": "legal_representative",
                                   "offset_y": 5}], document=OFD)
    assert r.status == 201 and r.json["kind"] == "ofd", r
    assert await _stored(h, r.json["request_id"]) == [
        {"index": 0, "kind": "seal", "seal_type": "legal_representative", "spots": [[1, 60.0, 75.0]]}]
    scan = await h.scan(h.person(), r.json["qr_payload"])
    assert scan.json["placements"][0]["unit"] == "mm"
    r = await _request(h, token, [{"keyword": "乙方"}], document=OFD)
    assert r.status == 422 and r.json["code"] == "keyword_not_found", r
    assert seen == ["盖章处", "乙方"]


# choices --------------------------------------------------------------------------------


async def _scanned(h: Harness, placements: Any) -> tuple[str, Person, Any]:
    _, token = await h.new_client()
    r = await _request(h, token, placements)
    assert r.status == 201, r
    seal = h.enterprise_seal()
    person = h.person()
    h.seals.grant(person.id, seal.seal_id)
    assert (await h.scan(person, r.json["qr_payload"])).status == 200
    return r.json["request_id"], person, seal


async def _stamp(h: Harness, person: Person, request_id: str, body: dict[str, Any]) -> Reply:
    return await h.call("POST", f"/api/v1/stamp-requests/{request_id}/stamp", token=person.token,
                        json={"certificate_password": "Cert-pass-2026", **body})


async def test_inconsistent_or_malformed_choices_are_refused_before_any_signing(stamping: Harness) -> None:
    h = stamping
    request_id, person, seal = await _scanned(h, [
        {"page": 1, "x": 300, "y": 300}, {"kind": "signature", "page": 2, "x": 300, "y": 300},
        {"kind": "cross_page"}])
    enterprise = str(seal.enterprise_id)
    sid = str(seal.seal_id)
    signatures_before = h.certs.signatures
    for choices in ("all", [{"placement": 0}], [{"placement": "0", "seal_id": sid}],
                    [{"placement": 0, "seal_id": "not-a-uuid"}],
                    [{"placement": 0, "seal_id": sid, "extra": 1}], [{"placement": -1, "seal_id": sid}],
                    [{"placement": 1, "seal_id": sid}],  # a signature takes no seal
                    [{"placement": 7, "seal_id": sid}],  # no such placement
                    [{"placement": 0, "seal_id": sid}, {"placement": 0, "seal_id": sid}],
                    [{"placement": 0, "seal_id": sid}]):  # placement 2 left without a seal
        r = await _stamp(h, person, request_id, {"enterprise_id": enterprise, "choices": choices})
        assert r.status == 422 and r.json["code"] == "invalid_choice", (choices, r)
    assert h.certs.signatures == signatures_before  # no password try was spent
    r = await _stamp(h, person, request_id, {"enterprise_id": enterprise})
    assert r.status == 422 and r.json["errors"][0]["field"] == "seal_id", r


async def test_choices_covering_every_seal_placement_stand_for_the_seal_id(stamping: Harness) -> None:
    h = stamping
    request_id, person, seal = await _scanned(h, [{"page": 1, "x": 300, "y": 300}])
    r = await _stamp(h, person, request_id, {"enterprise_id": str(seal.enterprise_id),
                                             "choices": [{"placement": 0, "seal_id": str(seal.seal_id)}]})
    assert r.status == 201, r


# the pending document ---------------------------------------------------------------------


async def test_the_document_is_served_only_to_the_person_who_scanned_it_while_pending(
        stamping: Harness) -> None:
    h = stamping
    client, token = await h.new_client()
    r = await _request(h, token, [{"page": 1, "x": 300, "y": 300}])
    request_id = r.json["request_id"]
    path = f"/api/v1/stamp-requests/{request_id}/document"
    scanner, stranger = h.person("李雷"), h.person("王五")
    seal = h.enterprise_seal()
    h.seals.grant(scanner.id, seal.seal_id)

    def not_found(reply: Reply) -> None:
        assert reply.status == 404 and reply.json["code"] == "stamp_request_not_found", reply

    not_found(await h.call("GET", path, token=scanner.token))  # not scanned yet
    assert (await h.scan(scanner, r.json["qr_payload"])).status == 200
    got = await h.call("GET", path, token=scanner.token)
    assert got.status == 200 and got.body == CONTRACT, got.status
    assert got.headers["Content-Type"] == "application/pdf"
    assert got.headers["Cache-Control"] == "no-store"
    not_found(await h.call("GET", path, token=stranger.token))
    not_found(await h.call("GET", path, token=token))  # the relying system
    _, enterprise_token = h.signer.enterprise()
    not_found(await h.call("GET", path, token=enterprise_token))
    not_found(await h.call("GET", f"/api/v1/stamp-requests/{uuid.uuid4()}/document", token=scanner.token))
    assert (await h.call("GET", path)).status == 401

    stamped = await h.stamp(scanner, request_id, seal)
    assert stamped.status == 201, stamped
    not_found(await h.call("GET", path, token=scanner.token))


async def test_no_document_for_a_digest_or_an_expired_request(stamping: Harness) -> None:
    h = stamping
    _, token = await h.new_client()
    person = h.person()
    digest = await h.call("POST", "/api/v1/stamp-requests", token=token,
                          json={"title": "摘要", "digest_sha256": "cd" * 32})
    assert (await h.scan(person, digest.json["qr_payload"])).status == 200
    r = await h.call("GET", f"/api/v1/stamp-requests/{digest.json['request_id']}/document",
                     token=person.token)
    assert r.status == 404 and r.json["code"] == "stamp_request_not_found", r

    short = await _request(h, token, [{"page": 1, "x": 300, "y": 300}], expires_in="2")
    assert (await h.scan(person, short.json["qr_payload"])).status == 200
    path = f"/api/v1/stamp-requests/{short.json['request_id']}/document"
    assert (await h.call("GET", path, token=person.token)).status == 200
    await asyncio.sleep(2.2)
    r = await h.call("GET", path, token=person.token)
    assert r.status == 404 and r.json["code"] == "stamp_request_not_found", r


async def test_ofd_keywords_are_found_in_the_ofd_text(stamping: Harness) -> None:
    h = stamping
    _, token = await h.new_client()
    r = await _request(h, token, [{"keyword": "你好", "seal_type": "legal_representative"}],
                       document=OFD)  # its page says 「你好呀，OFD Reader&Writer！」
    assert r.status == 201, r
    [stored] = await _stored(h, r.json["request_id"])
    [[page, x, y]] = stored["spots"]
    assert page == 1 and 30 < x < 40 and 20 < y < 35, stored
    r = await _request(h, token, [{"keyword": "盖章处"}], document=OFD)
    assert r.status == 422 and r.json["code"] == "keyword_not_found", r
