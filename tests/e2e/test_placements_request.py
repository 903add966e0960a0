"""Placements on the request side (issue 15) on the whole platform, through the gateway: a
request with several placements is resolved when made (keywords found in a CJK PDF, pages
and sizes checked), the scan answer lists them with the seals usable for each (by type), the
stamp call's choices are checked before anything is signed, and the document to stamp is
served only to the person who scanned the request, while it is pending."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import aiohttp
import pytest
import pytest_asyncio

from tests.conftest import Platform
from tests.e2e.test_stamping import (
    Account,
    Client,
    client_token,
    create_client,
    grant,
    new_enterprise,
    new_person,
    new_seal,
    scan,
    stamp,
)
from tests.support.api import Api, Reply
from tests.support.text_pdfs import Text, centre, make_text_pdf

pytestmark = pytest.mark.e2e

SIGN_LINE = Text(320, 160, "甲方（盖章）：")
CONTRACT = make_text_pdf([[Text(72, 760, "采购合同")], [Text(72, 700, "第二条")],
                          [SIGN_LINE, Text(72, 400, "盖章处")]], font="stsong")


class World:
    def __init__(self, enterprise: Account, official: dict[str, Any], contract: dict[str, Any],
                 person: Account, client: Client) -> None:
        self.enterprise, self.official, self.contract = enterprise, official, contract
        self.person, self.client = person, client


@pytest_asyncio.fixture(scope="module")
async def world(api: Api, platform: Platform) -> World:
    enterprise = await new_enterprise(api)
    official = await new_seal(api, enterprise, "official")
    contract = await new_seal(api, enterprise, "contract")
    person = await new_person(api)
    await grant(api, enterprise, official["seal_id"], person)
    await grant(api, enterprise, contract["seal_id"], person)
    client = create_client(platform, "合同管理系统")
    client.token = await client_token(api, client)
    return World(enterprise, official, contract, person, client)


async def request(api: Api, w: World, placements: str | None = None, *, document: bytes = CONTRACT,
                  **fields: str) -> Reply:
    form = aiohttp.FormData()
    form.add_field("title", "采购合同")
    for k, v in fields.items():
        form.add_field(k, v)
    if placements is not None:
        form.add_field("placements", placements)
    form.add_field("document", document, filename="contract.pdf", content_type="application/pdf")
    return await api.post("/api/v1/stamp-requests", token=w.client.token, data=form)


async def test_placements_are_resolved_and_the_scan_lists_the_seals_for_each(api: Api, world: World) -> None:
    w = world
    r = await request(api, w, '[{"seal_type": "contract", "keyword": "甲方（盖章）", "offset_x": 70},'
                              ' {"kind": "cross_page", "seal_type": "official", "y": 400},'
                              ' {"kind": "signature", "page": "last", "x": 150, "y": 200},'
                              ' {"keyword": "盖章处", "page": 3}]')
    assert r.status == 201, r
    scanned = await scan(api, w.person, r.json["qr_payload"])
    assert scanned.status == 200, scanned
    assert scanned.json["choices"] and scanned.json["kind"] == "pdf"  # the answer it had
    p = scanned.json["placements"]
    x, y = centre(SIGN_LINE, 0, 6)
    assert [(i["index"], i["kind"], i["seal_type"], i["unit"]) for i in p] == [
        (0, "seal", "contract", "pt"), (1, "cross_page", "official", "pt"),
        (2, "signature", None, "pt"), (3, "seal", None, "pt")]
    assert p[0]["spots"] == [{"page": 3, "x": x + 70, "y": y}]
    assert p[1]["spots"] == [{"page": n, "x": None, "y": 400.0} for n in (1, 2, 3)]
    assert p[2]["spots"] == [{"page": 3, "x": 150.0, "y": 200.0}]
    assert p[3]["spots"] == [{"page": 3, "x": 90.0, "y": 406.0}]
    assert [c["seal_id"] for c in p[0]["seal_choices"]] == [w.contract["seal_id"]]
    assert [c["seal_id"] for c in p[1]["seal_choices"]] == [w.official["seal_id"]]
    assert p[1]["seal_choices"][0]["enterprise_id"] == w.enterprise.id
    assert "seal_choices" not in p[2]
    assert sorted(c["seal_id"] for c in p[3]["seal_choices"]) == sorted(
        [w.official["seal_id"], w.contract["seal_id"]])

    # choices that do not fit the placements: refused before any password is tried
    bad = await api.post(f"/api/v1/stamp-requests/{r.json['request_id']}/stamp", token=w.person.token, json={
        "enterprise_id": w.enterprise.id, "certificate_password": "wrong-on-purpose",
        "choices": [{"placement": 2, "seal_id": w.contract["seal_id"]}]})
    assert bad.status == 422 and bad.json["code"] == "invalid_choice", bad


@pytest.mark.parametrize(("placements", "code", "field"), [
    ('[{"keyword": "乙方（盖章）"}]', "keyword_not_found", "placements[0].keyword"),
    ('[{"page": 1, "x": 300, "y": 300}, {"page": 9, "x": 300, "y": 300}]', "page_out_of_range",
     "placements[1].page"),
    ('[{"seal_type": "invoice", "page": 1, "x": 30, "y": 300}]', "position_off_page", "placements[0]"),
    ('[{"seal_type": "seal_of_state", "page": 1, "x": 300, "y": 300}]', "unknown_seal_type",
     "placements[0].seal_type"),
])
async def test_unusable_placements_are_refused_when_the_request_is_made(
        api: Api, world: World, placements: str, code: str, field: str) -> None:
    r = await request(api, world, placements)
    assert r.status == 422 and r.json["code"] == code, r
    assert r.json["errors"][0]["field"] == field, r


async def test_page_x_y_and_placements_together_are_refused(api: Api, world: World) -> None:
    r = await request(api, world, '[{"page": 1, "x": 300, "y": 300}]', page="1", x="300", y="300")
    assert r.status == 422, r


async def test_the_document_is_only_for_the_person_who_scanned_it_while_pending(
        api: Api, world: World) -> None:
    w = world
    r = await request(api, w, page="1", x="300", y="300")
    assert r.status == 201, r
    path = f"/api/v1/stamp-requests/{r.json['request_id']}/document"
    stranger = await new_person(api, certificate=False)

    def hidden(reply: Reply) -> None:
        assert reply.status == 404 and reply.json["code"] == "stamp_request_not_found", reply

    hidden(await api.get(path, token=w.person.token))  # not scanned yet
    assert (await scan(api, w.person, r.json["qr_payload"])).status == 200
    got = await api.get(path, token=w.person.token)
    assert got.status == 200 and got.body == CONTRACT, got.status
    assert got.headers["Content-Type"] == "application/pdf"
    assert got.headers["Cache-Control"] == "no-store"
    hidden(await api.get(path, token=stranger.token))
    assert (await scan(api, stranger, r.json["qr_payload"])).status == 200  # scanning is not stamping
    assert (await api.get(path, token=stranger.token)).status == 200  # …but it is seeing
    hidden(await api.get(path, token=w.enterprise.token))
    hidden(await api.get(path, token=w.client.token))
    hidden(await api.get(f"/api/v1/stamp-requests/{uuid.uuid4()}/document", token=w.person.token))
    assert (await api.get(path)).status == 401

    stamped = await stamp(api, w.person, r.json["request_id"], w.official)
    assert stamped.status == 201, stamped
    hidden(await api.get(path, token=w.person.token))


async def test_no_document_once_expired_nor_for_a_digest(api: Api, world: World) -> None:
    w = world
    r = await request(api, w, page="1", x="300", y="300", expires_in="2")
    assert (await scan(api, w.person, r.json["qr_payload"])).status == 200
    path = f"/api/v1/stamp-requests/{r.json['request_id']}/document"
    assert (await api.get(path, token=w.person.token)).status == 200
    await asyncio.sleep(2.5)
    r2 = await api.get(path, token=w.person.token)
    assert r2.status == 404 and r2.json["code"] == "stamp_request_not_found", r2

    digest = await api.post("/api/v1/stamp-requests", token=w.client.token,
                            json={"title": "摘要", "digest_sha256": "ef" * 32})
    assert (await scan(api, w.person, digest.json["qr_payload"])).status == 200
    r3 = await api.get(f"/api/v1/stamp-requests/{digest.json['request_id']}/document",
                       token=w.person.token)
    assert r3.status == 404 and r3.json["code"] == "stamp_request_not_found", r3
    refused = await api.post("/api/v1/stamp-requests", token=w.client.token, json={
        "title": "摘要", "digest_sha256": "ef" * 32, "placements": [{"page": 1, "x": 1, "y": 1}]})
    assert refused.status == 422, refused
