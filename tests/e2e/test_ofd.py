"""OFD (GB/T 33190) stamping on the whole platform, through the gateway.

A relying system uploads an OFD made by ofdrw (an independent implementation); a person scans
and stamps with the certificate password; the result is an OFD with a GB/T 38540 seal
signature made by the seal's SM2 key (via seals and certs). The platform's verification calls
it valid and recorded; an independent checker (bare asn1crypto + gmalglib, not the platform's
verifier) re-verifies every check value, the data hash, the SM2 signatures and the chain to
the platform's SM2 root; a tampered copy fails; a revoked seal stamps no more.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import zipfile
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.conftest import Platform
from tests.e2e.test_stamping import (
    CERT_PASSWORD,
    client_token,
    create_client,
    grant,
    new_enterprise,
    new_person,
    new_seal,
    revoke_seal,
    scan,
    stamp,
)
from tests.support import gm_independent as gm
from tests.support.api import Api, Reply

pytestmark = pytest.mark.e2e

VECTORS = Path(__file__).resolve().parents[2] / "services/stamping/tests/vectors/ofdrw"
OFD = (VECTORS / "Page5.ofd").read_bytes()
PAGE, X_MM, Y_MM = 2, 120.0, 200.0


async def request_ofd(api: Api, token: str, data: bytes = OFD) -> Reply:
    form = aiohttp.FormData()
    fields = {"title": "关于开展专项检查的通知", "page": str(PAGE), "x": str(X_MM), "y": str(Y_MM)}
    for k, v in fields.items():
        form.add_field(k, v)
    form.add_field("document", data, filename="notice.ofd", content_type="application/ofd")
    return await api.post("/api/v1/stamp-requests", token=token, data=form)


async def verify(api: Api, doc: bytes) -> Reply:
    form = aiohttp.FormData()
    form.add_field("document", doc, filename="stamped.ofd", content_type="application/ofd")
    return await api.post("/api/v1/verifications", data=form)


def tamper(doc: bytes, name: str) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(doc)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            content = src.read(info)
            if info.filename == name:
                i = len(content) // 2
                content = content[:i] + bytes([content[i] ^ 0x20]) + content[i + 1:]
            dst.writestr(info, content)
    return out.getvalue()


async def test_an_ofd_is_stamped_with_sm2_verified_and_independently_reverified(
        api: Api, platform: Platform) -> None:
    enterprise = await new_enterprise(api)
    seal = await new_seal(api, enterprise)
    person = await new_person(api)
    await grant(api, enterprise, seal["seal_id"], person)
    client = create_client(platform, "公文交换系统")
    token = await client_token(api, client)

    created = await request_ofd(api, token)
    assert created.status == 201, created
    req: dict[str, Any] = created.json
    assert req["kind"] == "ofd"
    assert req["document"] == {"sha256": hashlib.sha256(OFD).hexdigest(), "pages": 5, "size": len(OFD)}
    scanned = await scan(api, person, req["qr_payload"])
    assert scanned.status == 200 and scanned.json["kind"] == "ofd", scanned
    wrong = await stamp(api, person, req["request_id"], seal, password="not-my-password")
    assert wrong.status == 403 and wrong.json["code"] == "wrong_certificate_password", wrong
    stamped = await stamp(api, person, req["request_id"], seal, password=CERT_PASSWORD)
    assert stamped.status == 201, stamped
    again = await stamp(api, person, req["request_id"], seal)  # one QR code, one stamp
    assert again.status in (409, 410) or again.json["code"] == "already_stamped", again

    result = await api.get(f"/api/v1/stamp-requests/{req['request_id']}/result", token=token)
    assert result.status == 200 and result.headers["Content-Type"] == "application/ofd", result
    doc = result.body

    # the platform's verification: valid, recorded, attributed from the platform's records
    r = await verify(api, doc)
    assert r.status == 200, r
    assert (r.json["format"], r.json["result"]) == ("ofd", "passed"), r
    (s,) = r.json["signatures"]
    assert s["signature_format"] == "GB/T 38540 V4" and s["algorithm"] == "sm2-sm3"
    assert s["references_ok"] and s["intact"]
    assert s["trusted"] and s["timestamped"] and s["recorded"], s
    assert s["seal_id"] == seal["seal_id"] and s["enterprise_id"] == enterprise.id
    assert s["signer_name"] == person.name and s["seal_status"] == "active"
    records = await api.get("/api/v1/usage-records", token=person.token)
    item = next(i for i in records.json["items"] if i["record_id"] == stamped.json["record_id"])
    assert (item["kind"], item["format"], item["algorithm"]) == ("ofd", "gbt38540", "sm2-sm3")

    # independently: bare asn1crypto + gmalglib, as GB/T 33190 / GB/T 38540 lay it out
    root = gm.load_cert((await api.get("/api/v1/ca/sm2-root.pem")).body)
    issuing = gm.load_cert((await api.get("/api/v1/ca/sm2-issuing.pem")).body)
    (check,) = gm.check_ofd(doc)
    assert check.ok, check
    sig = check.signature
    assert sig is not None and sig.version == 4 and sig.timestamp is not None
    assert gm.chains(gm.load_cert(sig.signer_cert), issuing, root)  # the seal's SM2 certificate
    assert gm.chains(gm.load_cert(sig.seal.maker_cert), issuing, root)  # the seal maker's
    assert sig.seal.es_id == seal["seal_id"].replace("-", "").upper()
    assert sig.seal.certificates == [sig.signer_cert]  # the document names no grantee
    esl = await api.get(f"/api/v1/seals/{seal['seal_id']}/esl", token=enterprise.token)
    assert esl.status == 200 and gm.parse_seal(esl.body).certificates[0] == sig.signer_cert

    # a changed byte in a referenced file, in Signature.xml, in SignedValue.dat: failed
    with zipfile.ZipFile(io.BytesIO(doc)) as z:
        names = z.namelist()
    sig_dir = check.signature_xml_path.rsplit("/", 1)[0]
    page_content = next(n for n in names if n.endswith("Content.xml"))
    for name in (page_content, f"{sig_dir}/Signature.xml", f"{sig_dir}/SignedValue.dat"):
        bad = tamper(doc, name)
        r = await verify(api, bad)
        assert r.status == 200 and r.json["result"] == "failed", (name, r)
        assert not all(c.ok for c in gm.check_ofd(bad)), name

    # revoked: no further OFD stamp with that seal; the earlier one says it was revoked later.
    # CRL and timestamp times are whole seconds, and a revocation in the stamp's own second is
    # (rightly) taken as before it: revoke in a later second, as any real revocation is
    await asyncio.sleep(1.1)
    revoked = await revoke_seal(api, enterprise, seal["seal_id"])
    assert revoked.status == 200, revoked
    req2 = (await request_ofd(api, token)).json
    scanned = await scan(api, person, req2["qr_payload"])
    if scanned.status == 200:
        refused = await stamp(api, person, req2["request_id"], seal)
        assert refused.status in (403, 409), refused
        assert refused.json["code"] in ("seal_revoked", "not_authorized"), refused
    status = await api.get(f"/api/v1/stamp-requests/{req2['request_id']}", token=token)
    assert status.json["status"] == "pending" and status.json["record_id"] is None
    r = await verify(api, doc)
    (s,) = r.json["signatures"]
    assert r.json["result"] == "passed" and s["seal_status"] == "revoked", r
    assert s["revoked_before_stamp"] is False
