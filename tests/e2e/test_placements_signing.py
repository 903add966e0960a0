"""Several placements signed on the whole platform, through the gateway (issue 15, the signing
side): a contract seal, the legal representative's 20 mm name seal and a 骑缝章 over every
page, all with one certificate password. The result has one PAdES B-LT signature per seal
placement, each valid and trusted to the platform root; rendered, each seal is where its
placement says, at its real size, and the 骑缝章's strips sit at the right edge of every page
and add up to the seal; each seal placement is one usage record."""

from __future__ import annotations

import io
import json
import subprocess
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from PIL import Image
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import DocumentSecurityStore, async_validate_pdf_signature
from stamping.adapters.pdf import as_asn1_cert

from tests.conftest import Platform
from tests.e2e.test_stamping import (
    CERT_PASSWORD,
    Account,
    Client,
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

MM = 72 / 25.4
PAGES = 3
CONTRACT_AT = (1, 200.0, 300.0)  # page, x, y (points, origin bottom-left)
NAME_AT = (3, 400.0, 200.0)
STRIP_Y = 450.0


class World:
    def __init__(self, enterprise: Account, seals: dict[str, dict[str, Any]], person: Account,
                 client: Client, root_pem: bytes) -> None:
        self.enterprise, self.seals, self.person = enterprise, seals, person
        self.client, self.root_pem = client, root_pem


@pytest_asyncio.fixture(scope="module")
async def world(api: Api, platform: Platform) -> World:
    enterprise = await new_enterprise(api)
    seals = {t: await new_seal(api, enterprise, t) for t in ("contract", "legal_representative", "official")}
    person = await new_person(api)
    for seal in seals.values():
        await grant(api, enterprise, seal["seal_id"], person)
    client = create_client(platform, "合同签署系统")
    client.token = await client_token(api, client)
    root = await api.get("/api/v1/ca/root.pem")
    assert root.status == 200
    return World(enterprise, seals, person, client, root.body)


def _render(doc: bytes, page: int, dpi: int) -> Image.Image:
    out = subprocess.run(["pdftoppm", "-f", str(page), "-l", str(page), "-r", str(dpi), "-png", "-"],
                         input=doc, capture_output=True, check=True, timeout=60)
    return Image.open(io.BytesIO(out.stdout)).convert("RGB")


def _red(img: Image.Image) -> list[tuple[int, int]]:
    px = img.load()
    return [(i, j) for j in range(img.height) for i in range(img.width)
            if (p := px[i, j])[0] > 150 and p[1] < 110 and p[2] < 110]


def _inside(points: list[tuple[int, int]], box: tuple[float, float, float, float]) -> list[tuple[int, int]]:
    x0, y0, x1, y1 = box
    return [(i, j) for i, j in points if x0 <= i <= x1 and y0 <= j <= y1]


async def test_every_seal_placement_is_signed_drawn_and_recorded(api: Api, world: World) -> None:
    w = world
    pdf = make_test_pdf(pages=PAGES)
    placements = [
        {"seal_type": "contract", "page": CONTRACT_AT[0], "x": CONTRACT_AT[1], "y": CONTRACT_AT[2]},
        {"seal_type": "legal_representative", "page": NAME_AT[0], "x": NAME_AT[1], "y": NAME_AT[2]},
        {"kind": "cross_page", "seal_type": "official", "pages": "all", "y": STRIP_Y},
    ]
    form = aiohttp.FormData()
    form.add_field("title", "三方合同")
    form.add_field("placements", json.dumps(placements))
    form.add_field("document", pdf, filename="contract.pdf", content_type="application/pdf")
    created = await api.post("/api/v1/stamp-requests", token=w.client.token, data=form)
    assert created.status == 201, created
    request_id = created.json["request_id"]
    scanned = await scan(api, w.person, created.json["qr_payload"])
    assert scanned.status == 200, scanned

    chosen = [w.seals["contract"], w.seals["legal_representative"], w.seals["official"]]
    stamped = await api.post(f"/api/v1/stamp-requests/{request_id}/stamp", token=w.person.token, json={
        "enterprise_id": w.enterprise.id, "certificate_password": CERT_PASSWORD,
        "choices": [{"placement": i, "seal_id": s["seal_id"]} for i, s in enumerate(chosen)]})
    assert stamped.status == 201, stamped
    record_ids = stamped.json["record_ids"]
    assert len(record_ids) == 3 and stamped.json["record_id"] == record_ids[0]

    doc = await api.get(f"/api/v1/stamp-requests/{request_id}/result", token=w.client.token)
    assert doc.status == 200 and doc.headers["Content-Type"] == "application/pdf"

    # pyHanko, trusting only root.pem, revocation data from the document: every signature
    reader = PdfFileReader(io.BytesIO(doc.body))
    sigs = reader.embedded_signatures
    assert len(sigs) == 3
    for sig, seal in zip(sigs, chosen, strict=True):
        vc = DocumentSecurityStore.read_dss(reader).as_validation_context(
            {"trust_roots": [as_asn1_cert(w.root_pem)], "allow_fetching": False,
             "revocation_mode": "hard-fail"})
        status = await async_validate_pdf_signature(sig, vc)
        assert status.intact and status.valid and status.trusted, status.pretty_print_details()
        assert status.bottom_line, status.pretty_print_details()
        assert status.signing_cert.subject.native["common_name"] == seal["name"]

    # the platform's verification: each signature passes and is its own record
    form = aiohttp.FormData()
    form.add_field("document", doc.body, filename="stamped.pdf", content_type="application/pdf")
    v = await api.post("/api/v1/verifications", data=form)
    assert v.status == 200 and v.json["result"] == "passed", v
    assert [s["seal_id"] for s in v.json["signatures"]] == [s["seal_id"] for s in chosen]
    assert all(s["recorded"] and s["result"] == "passed" for s in v.json["signatures"])

    # rendered (72 dpi: a pixel a point, rows top-down): each seal where its placement says
    pages = {n: _render(doc.body, n, 72) for n in range(1, PAGES + 1)}
    page, x, y = CONTRACT_AT
    img = pages[page]
    half = 43 * MM / 2  # the 42 mm seal with its 0.5 mm margins
    contract_red = _inside(_red(img), (x - half - 1, img.height - y - half - 1, x + half + 1,
                                       img.height - y + half + 1))
    assert len(contract_red) > 500
    page, x, y = NAME_AT
    img = pages[page]
    r = 15 * MM  # a box larger than the seal: it must not spill out, nor be 42 mm
    name_red = _inside(_red(img), (x - r, img.height - y - r, x + r, img.height - y + r))
    assert len(name_red) > 100
    xs, ys = [i for i, _ in name_red], [j for _, j in name_red]
    # a 20 mm name seal prints ~20 mm (not at the 42 mm of before)
    assert abs((max(xs) - min(xs) + 1) - 20 * MM) <= 2, (min(xs), max(xs))
    assert abs((max(ys) - min(ys) + 1) - 20 * MM) <= 2, (min(ys), max(ys))

    # the 骑缝章: a strip at the right edge of every page, at the same height, and the strips'
    # ink, side by side, is as wide as the seal (measured at 288 dpi: 4 px a point)
    widths = []
    for n in range(1, PAGES + 1):
        fine = _render(doc.body, n, 288)
        edge = fine.crop((fine.width - 4 * 60, 0, fine.width, fine.height))
        strip = _red(edge)
        assert strip, f"no strip on page {n}"
        sx, sy = [i for i, _ in strip], [j for _, j in strip]
        top, bottom = (fine.height - 4 * (STRIP_Y + 22 * MM), fine.height - 4 * (STRIP_Y - 22 * MM))
        assert top <= min(sy) and max(sy) <= bottom, (n, min(sy), max(sy))
        if n < PAGES:
            assert max(sx) >= edge.width - 2, f"the strip on page {n} is not flush with the edge"
        widths.append(max(sx) - min(sx) + 1)
    assert abs(sum(widths) / 4 - 42 * MM) <= 1, widths  # the official seal is 42 mm across

    # usage records: one per seal placement, each its own seal
    records = await api.get("/api/v1/usage-records", token=w.enterprise.token)
    assert records.status == 200, records
    mine = [i for i in records.json["items"] if i["request_id"] == request_id]
    assert sorted(i["record_id"] for i in mine) == sorted(record_ids)
    assert sorted(i["seal_id"] for i in mine) == sorted(s["seal_id"] for s in chosen)
