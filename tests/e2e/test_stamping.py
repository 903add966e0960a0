"""Stamping (电子印章使用) on the whole platform, through the gateway.

A relying system (created with the ops CLI) asks for a stamp; a person scans the QR code,
picks the enterprise and the seal, gives the certificate password; the stamped PDF is a
PAdES B-LT document that pyHanko accepts trusting only the platform root, with the seal
image where it was asked for. Revocation is instant (proved over many concurrent rounds),
one QR code gives one stamp, and every refusal is a clear 4xx that stamps nothing.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import io
import json
import re
import shutil
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from aiohttp import web
from aiohttp.test_utils import TestServer
from PIL import Image
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import DocumentSecurityStore, async_validate_pdf_signature
from stamping.adapters.pdf import as_asn1_cert
from stamping.domain import webhooks

from devstack.stack import ROOT
from shared.china_time import today_in_china
from tests.conftest import Platform
from tests.support import identities as ids
from tests.support.api import Api, Reply
from tests.support.forged_stamp import forged_attribution_pdf
from tests.support.hostile_pdfs import many_pages_pdf, many_signature_fields_pdf
from tests.support.pdf_fixtures import make_test_pdf
from tests.support.polling import eventually

pytestmark = pytest.mark.e2e

CERT_PASSWORD = "Stamp#2026pw"
PAGE, X, Y = 2, 400.0, 250.0


# the world: enterprises, seals, persons, a relying system --------------------------------


@dataclass
class Account:
    id: str
    token: str
    name: str
    body: dict[str, Any]
    role: str = "person"
    logged_in: float = field(default_factory=time.monotonic)

    async def refresh(self, api: Api, older_than: float = 300.0) -> None:
        """Log in again once the access token gets old (a slow run outlives it)."""
        if time.monotonic() - self.logged_in < older_than:
            return
        username = self.body["uscc"] if self.role == "enterprise" else self.body["phone"]
        self.token = (await ids.login(api, self.role, username, self.body["password"]))["access_token"]
        self.logged_in = time.monotonic()


@dataclass
class Client:
    client_id: str
    client_secret: str
    webhook_secret: str
    token: str = ""


@dataclass
class Hooks:
    url: str
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)


async def last_code(api: Api, phone: str) -> str:
    r = await api.get("/api/v1/sandbox/sms", params={"phone": phone})
    assert r.status == 200 and r.json["items"], r
    match = re.search(r"(\d{6})", r.json["items"][0]["text"])
    assert match, r.json["items"][0]
    return match.group(1)


async def activate_certificate(api: Api, who: Account, phone: str, password: str = CERT_PASSWORD) -> None:
    sent = await api.post("/api/v1/certificate/activation-codes", token=who.token)
    assert sent.status == 202, sent
    agreements = (await api.get("/api/v1/agreements")).json["items"]
    r = await api.post("/api/v1/certificate", token=who.token, json={
        "sms_code": await last_code(api, phone), "password": password, "password_confirm": password,
        "accepted_agreements": [{"code": a["code"], "version": a["version"]} for a in agreements]})
    assert r.status == 201, r


async def new_person(api: Api, *, certificate: bool = True) -> Account:
    body = await ids.register_person(api)
    session = await ids.login(api, "person", body["phone"], body["password"])
    who = Account(body["person_id"], session["access_token"], body["name"], body)
    if certificate:
        await activate_certificate(api, who, body["phone"])
    return who


async def new_enterprise(api: Api) -> Account:
    body = await ids.register_enterprise(api)
    session = await ids.login(api, "enterprise", body["uscc"], body["password"])
    who = Account(body["enterprise_id"], session["access_token"], body["name"], body, role="enterprise")
    await activate_certificate(api, who, body["legal_representative"]["phone"])
    return who


async def new_seal(api: Api, enterprise: Account, seal_type: str = "official") -> dict[str, Any]:
    face = await ids.face_token(api, enterprise.token, "issue_seal")
    r = await api.post("/api/v1/seals", token=enterprise.token, json={"type": seal_type, "face_token": face})
    assert r.status == 201, r
    return dict(r.json)


async def revoke_seal(api: Api, enterprise: Account, seal_id: str) -> Reply:
    face = await ids.face_token(api, enterprise.token, "revoke_seal")
    return await api.post(f"/api/v1/seals/{seal_id}/revocation", token=enterprise.token,
                          json={"face_token": face, "reason": "测试作废"})


async def grant(api: Api, enterprise: Account, seal_id: str, person: Account, *,
                valid_from: date | None = None, valid_to: date | None = None) -> dict[str, Any]:
    today = today_in_china()
    body = {"name": person.name, "id_type": "resident_id_card", "id_number": person.body["id_number"],
            "valid_from": (valid_from or today - timedelta(days=1)).isoformat(),
            "valid_to": (valid_to or today + timedelta(days=30)).isoformat()}

    async def attempt() -> Reply | None:  # seals learns of new persons from identity's events
        r = await api.post(f"/api/v1/seals/{seal_id}/grants", token=enterprise.token, json=body)
        return None if r.status == 422 and r.json.get("code") == "person_not_registered" else r

    r = await eventually(attempt, 20, every=0.2)
    assert r.status == 201, r
    return dict(r.json)


def create_client(platform: Platform, name: str) -> Client:
    """The ops CLI, run as ops would, in the stamping service's environment."""
    out = subprocess.run([sys.executable, "-m", "stamping", "create-client", "--name", name, "--json"],
                         cwd=ROOT, env=platform.config.environment("stamping"), capture_output=True,
                         text=True, timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    body = json.loads(out.stdout.strip().splitlines()[-1])
    return Client(body["client_id"], body["client_secret"], body["webhook_secret"])


async def client_token(api: Api, client: Client) -> str:
    basic = base64.b64encode(f"{client.client_id}:{client.client_secret}".encode()).decode()
    r = await api.post("/api/v1/oauth/token", data={"grant_type": "client_credentials"},
                       headers={"Authorization": f"Basic {basic}"})
    assert r.status == 200 and r.json["token_type"] == "Bearer", r
    return str(r.json["access_token"])


@dataclass
class World:
    enterprise: Account
    seal: dict[str, Any]
    person: Account
    client: Client
    hooks: Hooks
    root_pem: bytes
    pdf: bytes = field(default_factory=lambda: make_test_pdf(pages=10))
    client_issued: float = field(default_factory=time.monotonic)


@pytest_asyncio.fixture(scope="module")
async def hooks() -> AsyncIterator[Hooks]:
    h = Hooks("")

    async def receive(request: web.Request) -> web.Response:
        h.received.append((dict(request.headers), await request.read()))
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/eseal-callback", receive)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    h.url = f"http://127.0.0.1:{server.port}/eseal-callback"
    yield h
    await server.close()


@pytest_asyncio.fixture(scope="module")
async def shared_world(api: Api, platform: Platform, hooks: Hooks) -> World:
    enterprise = await new_enterprise(api)
    seal = await new_seal(api, enterprise)
    person = await new_person(api)
    await grant(api, enterprise, seal["seal_id"], person)
    client = create_client(platform, "某某审批系统")
    client.token = await client_token(api, client)
    root = await api.get("/api/v1/ca/root.pem")
    assert root.status == 200
    return World(enterprise, seal, person, client, hooks, root.body)


@pytest_asyncio.fixture
async def world(api: Api, shared_world: World) -> World:
    """The module's world, its access tokens renewed when they get old (slow runs)."""
    w = shared_world
    await w.enterprise.refresh(api)
    await w.person.refresh(api)
    if time.monotonic() - w.client_issued > 1800:
        w.client.token, w.client_issued = await client_token(api, w.client), time.monotonic()
    return w


# helpers of the flow --------------------------------------------------------------------


async def request_pdf(api: Api, token: str, pdf: bytes, *, page: int = PAGE, x: float = X, y: float = Y,
                      title: str = "建设工程规划许可申请表", **extra: str) -> Reply:
    form = aiohttp.FormData()
    for k, v in {"title": title, "page": str(page), "x": str(x), "y": str(y), **extra}.items():
        form.add_field(k, v)
    form.add_field("document", pdf, filename="application.pdf", content_type="application/pdf")
    return await api.post("/api/v1/stamp-requests", token=token, data=form)


async def pending(api: Api, w: World, **extra: str) -> dict[str, Any]:
    r = await request_pdf(api, w.client.token, w.pdf, **extra)
    assert r.status == 201, r
    return dict(r.json)


async def scan(api: Api, who: Account, qr_payload: str) -> Reply:
    return await api.post("/api/v1/scans", token=who.token, json={"qr_payload": qr_payload})


async def stamp(api: Api, who: Account, request_id: str, seal: dict[str, Any], *,
                enterprise_id: str | None = None, password: str = CERT_PASSWORD) -> Reply:
    return await api.post(f"/api/v1/stamp-requests/{request_id}/stamp", token=who.token, json={
        "enterprise_id": enterprise_id or seal["enterprise_id"], "seal_id": seal["seal_id"],
        "certificate_password": password})


async def result(api: Api, w: World, request_id: str) -> Reply:
    return await api.get(f"/api/v1/stamp-requests/{request_id}/result", token=w.client.token)


async def nothing_stamped(api: Api, w: World, request_id: str) -> None:
    r = await api.get(f"/api/v1/stamp-requests/{request_id}", token=w.client.token)
    assert r.status == 200 and r.json["status"] in ("pending", "expired") and r.json["record_id"] is None, r
    assert (await result(api, w, request_id)).status in (409, 410)


async def pyhanko_validation(doc: bytes, root_pem: bytes) -> tuple[Any, DocumentSecurityStore]:
    """pyHanko's validator, offline, trusting only root.pem, revocation data from the DSS."""
    reader = PdfFileReader(io.BytesIO(doc))
    dss = DocumentSecurityStore.read_dss(reader)
    vc = dss.as_validation_context({"trust_roots": [as_asn1_cert(root_pem)], "allow_fetching": False,
                                    "revocation_mode": "hard-fail"})
    return await async_validate_pdf_signature(reader.embedded_signatures[0], vc), dss


async def verify(api: Api, doc: bytes) -> Reply:
    form = aiohttp.FormData()
    form.add_field("document", doc, filename="stamped.pdf", content_type="application/pdf")
    return await api.post("/api/v1/verifications", data=form)


def red_pixels(png: bytes, box: tuple[int, int, int, int]) -> int:
    img = Image.open(io.BytesIO(png)).convert("RGB").crop(box)
    return sum(1 for r, g, b in img.getdata() if r > 150 and g < 110 and b < 110)


def render_page(doc: bytes, page: int) -> bytes:
    """The page at 72 dpi: one pixel per PDF point, origin top-left."""
    out = subprocess.run(["pdftoppm", "-f", str(page), "-l", str(page), "-r", "72", "-png", "-"],
                         input=doc, capture_output=True, check=True, timeout=60)
    return out.stdout


# the whole flow -------------------------------------------------------------------------


async def test_the_whole_flow_gives_a_standard_pades_lt_document(api: Api, world: World) -> None:
    w = world
    req = await pending(api, w, callback_url=w.hooks.url)
    assert req["status"] == "pending" and req["qr_payload"].startswith("eseal://stamp?")
    expires = datetime.fromisoformat(req["expires_at"].replace("Z", "+00:00"))
    assert timedelta(minutes=9) < expires - datetime.now(UTC) <= timedelta(minutes=10, seconds=5)
    png = await api.get(req["qr_png_url"], token=w.client.token)
    assert png.status == 200 and png.headers["Content-Type"] == "image/png"

    scanned = await scan(api, w.person, req["qr_payload"])
    assert scanned.status == 200, scanned
    assert scanned.json["title"] == "建设工程规划许可申请表"
    assert scanned.json["requester"] == {"name": "某某审批系统"}
    assert scanned.json["document"] == {"sha256": hashlib.sha256(w.pdf).hexdigest(), "pages": 10,
                                        "size": len(w.pdf)}
    choice = next(c for c in scanned.json["choices"] if c["enterprise_id"] == w.enterprise.id)
    assert choice["enterprise_name"] == w.enterprise.name
    assert [s["seal_id"] for s in choice["seals"]] == [w.seal["seal_id"]]

    stamped = await stamp(api, w.person, req["request_id"], w.seal)
    assert stamped.status == 201, stamped
    status = await api.get(f"/api/v1/stamp-requests/{req['request_id']}", token=w.client.token)
    assert status.json["status"] == "stamped" and status.json["record_id"] == stamped.json["record_id"]
    doc = await result(api, w, req["request_id"])
    assert doc.status == 200 and doc.headers["Content-Type"] == "application/pdf"

    # pyHanko's validator, trusting only root.pem: intact, trusted, timestamped, B-LT
    status_, dss = await pyhanko_validation(doc.body, w.root_pem)
    assert status_.intact and status_.valid and status_.trusted, status_.pretty_print_details()
    assert status_.timestamp_validity is not None and status_.timestamp_validity.trusted
    assert dss.crls, "revocation information is embedded"
    assert status_.signing_cert.subject.native["common_name"] == w.seal["name"]

    # the seal is visible where it was asked for, and only there
    page = render_page(doc.body, PAGE)
    height = Image.open(io.BytesIO(page)).size[1]
    cx, cy = int(X), int(height - Y)
    assert red_pixels(page, (cx - 55, cy - 55, cx + 55, cy + 55)) > 1500
    assert red_pixels(page, (20, 20, 200, 200)) == 0
    assert red_pixels(render_page(doc.body, 1), (cx - 55, cy - 55, cx + 55, cy + 55)) == 0

    # the platform's own verification agrees and names seal, enterprise, person
    v = await verify(api, doc.body)
    assert v.status == 200 and v.json["result"] == "passed", v
    sig = v.json["signatures"][0]
    assert sig["intact"] and sig["trusted"] and sig["seal_name"] == w.seal["name"]
    assert sig["enterprise_name"] == w.enterprise.name and sig["signer_name"] == w.person.name
    assert sig["seal_status"] == "active" and sig["revoked_at"] is None and not sig["revoked_before_stamp"]
    # attributed from the certificate and the usage record: the platform stamped this document
    assert sig["seal_id"] == w.seal["seal_id"] and sig["stamped_on"] == "document", sig
    assert sig["relying_system"] is None and sig["metadata_mismatches"] == [] and sig["recorded"] is True
    assert w.enterprise.name in sig["signer_certificate"]["subject"]

    # usage records: the enterprise's and the person's
    for token in (w.enterprise.token, w.person.token):
        records = await api.get("/api/v1/usage-records", token=token)
        assert records.status == 200, records
        item = next(i for i in records.json["items"] if i["record_id"] == stamped.json["record_id"])
        assert item["user_name"] == w.person.name and item["enterprise_name"] == w.enterprise.name
        assert item["seal_name"] == w.seal["name"] and item["requester"] == "某某审批系统"
        assert item["document_sha256"] == hashlib.sha256(w.pdf).hexdigest()

    # the signed callback
    async def delivered() -> list[tuple[dict[str, str], bytes]]:
        return [(h, b) for h, b in w.hooks.received if json.loads(b).get("request_id") == req["request_id"]]

    (headers, body), = await eventually(delivered, 20, every=0.2, what="the callback")
    assert webhooks.verify(w.client.webhook_secret, body, headers["X-Eseal-Signature"])
    assert json.loads(body)["event"] == "stamp_request.stamped"


async def test_a_changed_byte_fails_verification(api: Api, world: World) -> None:
    w = world
    req = await pending(api, w)
    assert (await scan(api, w.person, req["qr_payload"])).status == 200
    assert (await stamp(api, w.person, req["request_id"], w.seal)).status == 201
    doc = (await result(api, w, req["request_id"])).body
    i = doc.index(b"Page 2 of the test document")
    tampered = doc[:i] + b"Q" + doc[i + 1:]
    v = await verify(api, tampered)
    assert v.status == 200 and v.json["result"] == "failed"
    assert v.json["signatures"][0]["intact"] is False
    status_, _ = await pyhanko_validation(tampered, w.root_pem)
    assert not status_.intact


async def test_one_qr_code_stamped_twice_at_once_gives_one_stamp(api: Api, world: World) -> None:
    w = world
    other = await new_person(api)
    await grant(api, w.enterprise, w.seal["seal_id"], other)
    req = await pending(api, w)
    for who in (w.person, other):
        assert (await scan(api, who, req["qr_payload"])).status == 200
    replies = await asyncio.gather(stamp(api, w.person, req["request_id"], w.seal),
                                   stamp(api, other, req["request_id"], w.seal),
                                   stamp(api, w.person, req["request_id"], w.seal))
    assert sorted(r.status for r in replies) == [201, 409, 409], replies
    assert all(r.json["code"] == "already_stamped" for r in replies if r.status == 409)
    records = await api.get("/api/v1/usage-records", token=w.enterprise.token)
    assert sum(1 for i in records.json["items"] if i["request_id"] == req["request_id"]) == 1
    again = await scan(api, other, req["qr_payload"])
    assert again.status == 409 and again.json["code"] == "already_stamped"


# revocation -----------------------------------------------------------------------------


async def test_after_revocation_no_stamp_and_earlier_stamps_still_verify(
        api: Api, platform: Platform) -> None:
    enterprise = await new_enterprise(api)
    seal = await new_seal(api, enterprise, "contract")
    person = await new_person(api)
    await grant(api, enterprise, seal["seal_id"], person)
    client = create_client(platform, "合同备案系统")
    client.token = await client_token(api, client)
    w = World(enterprise, seal, person, client, Hooks(""), (await api.get("/api/v1/ca/root.pem")).body)
    before = await pending(api, w)
    assert (await scan(api, person, before["qr_payload"])).status == 200
    assert (await stamp(api, person, before["request_id"], seal)).status == 201
    earlier = (await result(api, w, before["request_id"])).body
    after = await pending(api, w)
    assert (await scan(api, person, after["qr_payload"])).status == 200

    revoked = await revoke_seal(api, enterprise, seal["seal_id"])
    assert revoked.status == 200 and revoked.json["status"] == "revoked", revoked
    r = await stamp(api, person, after["request_id"], seal)
    assert r.status in (403, 409) and r.json["code"] in ("seal_revoked", "not_authorized"), r
    await nothing_stamped(api, w, after["request_id"])

    v = await verify(api, earlier)
    assert v.json["result"] == "passed", v
    sig = v.json["signatures"][0]
    assert sig["seal_status"] == "revoked" and sig["revoked_at"] and sig["revoked_before_stamp"] is False
    assert datetime.fromisoformat(sig["revoked_at"].replace("Z", "+00:00")) > \
        datetime.fromisoformat(sig["signed_at"].replace("Z", "+00:00"))
    status_, _ = await pyhanko_validation(earlier, w.root_pem)
    assert status_.intact and status_.valid


@pytest.mark.parametrize("round_", range(10))
async def test_no_stamp_succeeds_after_the_revocation_was_answered(
        api: Api, platform: Platform, world: World, round_: int) -> None:
    """Stamps in flight while the seal is revoked (even rounds) or the grant deleted (odd)."""
    w = world
    revoke = round_ % 2 == 0
    seal = await new_seal(api, w.enterprise, "finance") if revoke else w.seal
    person = await new_person(api)
    g = await grant(api, w.enterprise, seal["seal_id"], person)
    reqs = [await pending(api, w) for _ in range(8)]
    for req in reqs:
        assert (await scan(api, person, req["qr_payload"])).status == 200
    answered, first_success = asyncio.Event(), asyncio.Event()
    answered_at: list[datetime] = []

    async def attempt(req: dict[str, Any], delay: float) -> tuple[bool, Reply]:
        await asyncio.sleep(delay)
        started_after = answered.is_set()
        reply = await stamp(api, person, req["request_id"], seal)
        if reply.status == 201:
            first_success.set()
        return started_after, reply

    async def withdraw() -> None:
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(first_success.wait(), 20)
        await asyncio.sleep(0.03 * round_)
        if revoke:
            r = await revoke_seal(api, w.enterprise, seal["seal_id"])
        else:
            r = await api.delete(f"/api/v1/seals/{seal['seal_id']}/grants/{g['grant_id']}",
                                 token=w.enterprise.token)
        assert r.status in (200, 204), r
        answered_at.append(datetime.now(UTC))
        answered.set()

    async def after_answer(req: dict[str, Any]) -> tuple[bool, Reply]:
        await answered.wait()
        return await attempt(req, 0)

    outcomes = (await asyncio.gather(withdraw(), *(attempt(r, 0.15 * i) for i, r in enumerate(reqs[:-2])),
                                     *(after_answer(r) for r in reqs[-2:])))[1:]
    assert any(r.status == 201 for _, r in outcomes), "the round proves nothing without a success"
    for (started_after, reply), req in zip(outcomes, reqs, strict=True):
        if started_after:
            assert reply.status in (403, 409), reply
        if reply.status == 201:
            doc = (await result(api, w, req["request_id"])).body
            v = await verify(api, doc)
            assert v.json["result"] == "passed", v
            signed_at = datetime.fromisoformat(v.json["signatures"][0]["signed_at"].replace("Z", "+00:00"))
            assert signed_at < answered_at[0], (signed_at, answered_at)
            assert v.json["signatures"][0]["revoked_before_stamp"] is False
        else:
            assert reply.status in (403, 409), reply
            await nothing_stamped(api, w, req["request_id"])


# refusals -------------------------------------------------------------------------------


async def test_wrong_password_tells_the_tries_left_then_the_right_one_stamps(api: Api, world: World) -> None:
    w = world
    req = await pending(api, w)
    assert (await scan(api, w.person, req["qr_payload"])).status == 200
    wrong = await stamp(api, w.person, req["request_id"], w.seal, password="Not-the-pw1")
    assert wrong.status == 403 and wrong.json["code"] == "wrong_certificate_password", wrong
    assert isinstance(wrong.json["attempts_left"], int) and wrong.json["attempts_left"] >= 1
    await nothing_stamped(api, w, req["request_id"])
    assert (await stamp(api, w.person, req["request_id"], w.seal)).status == 201


async def test_a_locked_certificate_cannot_stamp(api: Api, world: World) -> None:
    w = world
    person = await new_person(api)
    await grant(api, w.enterprise, w.seal["seal_id"], person)
    req = await pending(api, w)
    assert (await scan(api, person, req["qr_payload"])).status == 200
    for _ in range(20):
        r = await stamp(api, person, req["request_id"], w.seal, password="Not-the-pw1")
        if r.status == 423:
            break
        assert r.status == 403 and r.json["code"] == "wrong_certificate_password", r
    assert r.status == 423 and r.json["code"] == "certificate_locked", r
    r = await stamp(api, person, req["request_id"], w.seal)
    assert r.status == 423 and r.json["code"] == "certificate_locked", r
    await nothing_stamped(api, w, req["request_id"])


async def test_an_expired_request_is_gone(api: Api, world: World) -> None:
    w = world
    req = await pending(api, w, expires_in="2")
    assert (await scan(api, w.person, req["qr_payload"])).status == 200
    await asyncio.sleep(2.2)
    r = await stamp(api, w.person, req["request_id"], w.seal)
    assert r.status == 410 and r.json["code"] == "expired", r
    r = await scan(api, w.person, req["qr_payload"])
    assert r.status == 410 and r.json["code"] == "expired", r
    await nothing_stamped(api, w, req["request_id"])

    async def swept() -> bool:
        r = await api.get(f"/api/v1/stamp-requests/{req['request_id']}", token=w.client.token)
        return bool(r.json["status"] == "expired")

    await eventually(swept, 20, every=0.2, what="the sweep")


async def test_seals_that_may_not_be_used_are_refused(api: Api, world: World) -> None:
    w = world
    req = await pending(api, w)
    assert (await scan(api, w.person, req["qr_payload"])).status == 200
    # a seal of another enterprise (the person is even granted it), named for this enterprise
    other = await new_enterprise(api)
    other_seal = await new_seal(api, other)
    await grant(api, other, other_seal["seal_id"], w.person)
    r = await stamp(api, w.person, req["request_id"], other_seal, enterprise_id=w.enterprise.id)
    assert r.status == 403 and r.json["code"] == "not_authorized", r
    # a seal of this enterprise not granted to this person
    invoice = await new_seal(api, w.enterprise, "invoice")
    r = await stamp(api, w.person, req["request_id"], invoice)
    assert r.status == 403 and r.json["code"] == "not_authorized", r
    # a grant not valid yet
    today = today_in_china()
    await grant(api, w.enterprise, invoice["seal_id"], w.person,
                         valid_from=today + timedelta(days=2), valid_to=today + timedelta(days=9))
    r = await stamp(api, w.person, req["request_id"], invoice)
    assert r.status == 403 and r.json["code"] == "not_authorized", r
    # a grant that has ended (shortened into the past)
    legal = await new_seal(api, w.enterprise, "legal_representative")
    ended = await grant(api, w.enterprise, legal["seal_id"], w.person, valid_from=today - timedelta(days=10))
    p = await api.patch(f"/api/v1/seals/{legal['seal_id']}/grants/{ended['grant_id']}",
                        token=w.enterprise.token, json={"valid_to": (today - timedelta(days=2)).isoformat()})
    assert p.status == 200, p
    r = await stamp(api, w.person, req["request_id"], legal)
    assert r.status == 403 and r.json["code"] == "not_authorized", r
    await nothing_stamped(api, w, req["request_id"])
    # the scan offers only what may be used now
    scanned = await scan(api, w.person, req["qr_payload"])
    offered = {s["seal_id"] for c in scanned.json["choices"] for s in c["seals"]}
    assert w.seal["seal_id"] in offered and other_seal["seal_id"] in offered
    assert invoice["seal_id"] not in offered and legal["seal_id"] not in offered


async def test_bad_uploads_are_refused(api: Api, world: World) -> None:
    w = world
    r = await request_pdf(api, w.client.token, b"GIF89a not a pdf at all")
    assert r.status == 422 and r.json["code"] == "not_a_pdf", r
    r = await request_pdf(api, w.client.token, w.pdf, x=590, y=420)
    assert r.status == 422 and r.json["code"] == "position_off_page", r
    r = await request_pdf(api, w.client.token, w.pdf, page=11)
    assert r.status == 422 and r.json["code"] == "page_out_of_range", r
    oversized = w.pdf + b"\n%" + b"0" * (10 * 1024 * 1024)
    r = await request_pdf(api, w.client.token, oversized)
    assert r.status == 413 and r.json["code"] in ("pdf_too_large", "payload_too_large"), r
    r = await request_pdf(api, w.client.token, w.pdf + b"\n%" + b"0" * (13 * 1024 * 1024))
    assert r.status == 413, r  # beyond the gateway's body limit
    r = await request_pdf(api, w.person.token, w.pdf)  # a person is not a relying system
    assert r.status == 403 and r.json["code"] == "client_required", r


async def test_digest_requests_give_a_detached_signature(api: Api, world: World) -> None:
    w = world
    r = await api.post("/api/v1/stamp-requests", token=w.client.token, json={
        "title": "电子公文摘要", "digest_sha256": hashlib.sha256(b"document body").hexdigest()})
    assert r.status == 201, r
    assert (await scan(api, w.person, r.json["qr_payload"])).status == 200
    assert (await stamp(api, w.person, r.json["request_id"], w.seal)).status == 201
    res = await result(api, w, r.json["request_id"])
    assert res.status == 200 and res.headers["Content-Type"] == "application/pkcs7-signature"
    assert res.body[:1] == b"\x30"  # DER


async def test_a_forged_enterprise_in_a_digest_stamped_pdf_is_not_believed(api: Api, world: World) -> None:
    """Issue #11: a relying system writes enterprise B into /EsealStamp, has the PDF's hash
    sealed through a digest request by a person holding enterprise A's seal, and embeds the
    CMS. Verification names A (from the certificate), says "digest" and who sent it, fails."""
    w = world
    other = await new_enterprise(api)
    other_seal = await new_seal(api, other)
    forged = forged_attribution_pdf(
        enterprise_name=other.name, seal_name=other_seal["name"], seal_id=other_seal["seal_id"],
        enterprise_id=other.id, enterprise_uscc=other.body["uscc"], signer_person_name=w.person.name)
    r = await api.post("/api/v1/stamp-requests", token=w.client.token, json={
        "title": "合同摘要", "digest_sha256": forged.digest_sha256})
    assert r.status == 201, r
    assert (await scan(api, w.person, r.json["qr_payload"])).status == 200
    assert (await stamp(api, w.person, r.json["request_id"], w.seal)).status == 201
    cms = await result(api, w, r.json["request_id"])
    assert cms.status == 200, cms
    pdf = await forged.complete(cms.body)

    v = await verify(api, pdf)
    assert v.status == 200 and v.json["result"] == "failed", v
    sig = v.json["signatures"][0]
    assert sig["intact"] and sig["trusted"]  # a genuine seal signature ...
    assert "stamp_metadata_mismatch" in sig["reasons"]  # ... over lies about who sealed
    assert sig["seal_id"] == w.seal["seal_id"] and sig["enterprise_name"] == w.enterprise.name
    assert sig["signer_name"] == w.person.name
    assert sig["stamped_on"] == "digest" and sig["relying_system"] == "某某审批系统"
    assert w.enterprise.name in sig["signer_certificate"]["subject"]
    assert other.name not in json.dumps(v.json, ensure_ascii=False)


async def test_hostile_documents_are_refused_quickly(api: Api) -> None:
    started = time.monotonic()
    v = await verify(api, many_signature_fields_pdf(3000))
    assert v.status == 422 and v.json["code"] == "too_many_signatures", v
    v = await verify(api, many_pages_pdf(2001))
    assert v.status == 422 and v.json["code"] == "too_many_pages", v
    assert time.monotonic() - started < 15
    v = await verify(api, many_pages_pdf(1) + b"%" * (12 * 1024 * 1024))
    assert v.status == 413 and v.json["code"] == "payload_too_large", v


async def test_requests_belong_to_their_client(api: Api, platform: Platform, world: World) -> None:
    w = world
    other = create_client(platform, "另一个系统")
    other.token = await client_token(api, other)
    req = await pending(api, w)
    assert (await api.get(f"/api/v1/stamp-requests/{req['request_id']}", token=other.token)).status == 404
    assert (await api.get(req["qr_png_url"], token=other.token)).status == 404
    base = f"/api/v1/stamp-requests/{req['request_id']}"
    assert (await api.get(f"{base}/result", token=other.token)).status == 404
    bad = await api.post("/api/v1/oauth/token", data={"grant_type": "client_credentials"},
                         headers={"Authorization": "Basic " + base64.b64encode(
                             f"{other.client_id}:wrong".encode()).decode()})
    assert bad.status == 401 and bad.json["code"] == "invalid_client" and "WWW-Authenticate" in bad.headers
    forged = f"eseal://stamp?r={req['request_id']}&t={'A' * 43}"
    r = await scan(api, w.person, forged)
    assert r.status == 404, r


def test_pdftoppm_is_installed() -> None:
    assert shutil.which("pdftoppm"), "poppler-utils is needed to render pages"


def test_the_cli_refuses_an_empty_name(platform: Platform) -> None:
    out = subprocess.run([sys.executable, "-m", "stamping", "create-client", "--name", " "], cwd=ROOT,
                         env=platform.config.environment("stamping"), capture_output=True, text=True,
                         timeout=120)
    assert out.returncode != 0 and "name" in out.stderr
