"""Automatic renewal of seal certificates on the moved clock: a new key pair and certificate
(and SM2 twin) within 30 days of expiry, once even when two rounds race; the old one not
revoked and still found by serial; signatures switch to the new one (also where the old one
was cached); the public ``SealCertificateRenewed``; a revoked seal is never renewed."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from certs.entrypoints.appkeys import CERTS
from certs.service_layer.renewal import renew_expiring_seals, renew_seal
from cryptography import x509

from tests.support import identities
from tests.support.harnesses.certs import CertsHarness

DIGEST = hashlib.sha256(b"a document to seal").digest()


@pytest.fixture(autouse=True)
def _restore_clock(certs: CertsHarness) -> Iterator[None]:
    before = certs.clock.offset
    yield
    certs.clock.offset = before


def _seal_body() -> dict[str, str]:
    name = identities.enterprise_name()
    return {"seal_id": str(uuid.uuid4()), "enterprise_id": str(uuid.uuid4()),
            "enterprise_name": name, "enterprise_uscc": identities.uscc(),
            "seal_name": name + "公章", "seal_type": "official", "seal_type_label": "公章"}


async def _issue(certs: CertsHarness, body: dict[str, str]) -> dict[str, Any]:
    r = await certs.request("POST", "/internal/seal-certificates", internal=True, json=body)
    assert r.status == 201, r
    return dict(r.json)


async def _sign(certs: CertsHarness, seal_id: str) -> Any:
    return await certs.request("POST", f"/internal/seal-certificates/{seal_id}/signatures",
                               internal=True, json={"digest_b64": base64.b64encode(DIGEST).decode()})


def _at(certs: CertsHarness, moment: datetime) -> None:
    certs.clock.offset = moment - datetime.now(UTC)


def _not_after(pem: str) -> datetime:
    return x509.load_pem_x509_certificate(pem.encode()).not_valid_after_utc


async def _renewals(certs: CertsHarness, seal_id: str) -> list[dict[str, Any]]:
    rows = await certs.sql("SELECT data FROM events WHERE type = 'SealCertificateRenewed'"
                           " AND data->>'seal_id' = $1", seal_id)
    return [r["data"] if isinstance(r["data"], dict) else json.loads(r["data"]) for r in rows]


async def test_a_seal_certificate_is_renewed_once_30_days_before_expiry(
        certs: CertsHarness) -> None:
    body = _seal_body()
    seal_id = body["seal_id"]
    first = await _issue(certs, body)
    assert (await _sign(certs, seal_id)).json["serial_number"] == first["serial_number"]  # cached
    old_twin = await certs.request("POST", f"/internal/seal-certificates/{seal_id}/sm2-signatures",
                                   internal=True, json={"digest_b64": base64.b64encode(DIGEST).decode()})
    assert old_twin.status == 200, old_twin  # its SM2 twin kept too
    not_after = _not_after(first["certificate_pem"])
    ctx = certs.app[CERTS]

    _at(certs, not_after - timedelta(days=31))
    assert await renew_seal(ctx, uuid.UUID(seal_id), ctx.clock.now() + ctx.seal_renewal) == 0
    assert await _renewals(certs, seal_id) == []

    _at(certs, not_after - timedelta(days=29))
    horizon = ctx.clock.now() + ctx.seal_renewal
    done = await asyncio.gather(*(renew_seal(ctx, uuid.UUID(seal_id), horizon) for _ in range(3)),
                                renew_expiring_seals(ctx))
    renewals = await _renewals(certs, seal_id)
    assert len(renewals) == 1 and sum(done[:3]) <= 1, (done, renewals)
    await renew_expiring_seals(ctx)  # nothing more to do for it
    assert len(await _renewals(certs, seal_id)) == 1

    event = renewals[0]
    assert event["replaces_serial_number"] == first["serial_number"]
    assert event["replaces_certificate_id"] == first["certificate_id"]
    assert event["serial_number"] != first["serial_number"]
    assert event["chain_pem"] == first["chain_pem"]
    assert not any("key" in k and k != "replaces_certificate_id" for k in event), event  # no key
    new = x509.load_pem_x509_certificate(event["certificate_pem"].encode())
    old = x509.load_pem_x509_certificate(first["certificate_pem"].encode())
    assert new.subject == old.subject
    assert new.public_key() != old.public_key()  # a new key pair
    assert new.not_valid_after_utc > not_after + timedelta(days=4 * 365)

    # signatures now come from the new certificate (the cached reference was the old one)
    r = await _sign(certs, seal_id)
    assert r.status == 200 and r.json["serial_number"] == event["serial_number"], r
    # the old certificate: not revoked, still found by serial (earlier stamps' verification)
    r = await certs.request("GET", f"/internal/seal-certificates/by-serial/{first['serial_number']}",
                            internal=True)
    assert r.status == 200 and r.json["seal_id"] == seal_id and r.json["status"] == "active", r
    r = await certs.request("GET", f"/internal/seal-certificates/by-serial/{event['serial_number']}",
                            internal=True)
    assert r.status == 200 and r.json["seal_id"] == seal_id, r
    crl = x509.load_der_x509_crl((await certs.request("GET", "/api/v1/ca/crl")).body)
    assert crl.get_revoked_certificate_by_serial_number(int(first["serial_number"], 16)) is None
    # the new one has its SM2 twin; a repeated issue request answers the current certificate
    twins = await certs.sql("SELECT serial_number FROM sm2_certificates WHERE certificate_id = $1",
                            uuid.UUID(event["certificate_id"]))
    assert len(twins) == 1
    r = await certs.request("POST", f"/internal/seal-certificates/{seal_id}/sm2-signatures",
                            internal=True, json={"digest_b64": base64.b64encode(DIGEST).decode()})
    assert r.status == 200 and r.json["serial_number"] == twins[0]["serial_number"], r
    assert r.json["serial_number"] != old_twin.json["serial_number"]  # not the kept one
    again = await _issue(certs, body)
    assert again["serial_number"] == event["serial_number"]
    kinds = [r["type"] for r in await certs.sql(
        "SELECT type FROM events WHERE stream_id = $1 ORDER BY position", first["certificate_id"])]
    assert "SealCertificateSuperseded" in kinds and "CertificateRevoked" not in kinds


async def test_a_revoked_seal_certificate_is_never_renewed(certs: CertsHarness) -> None:
    body = _seal_body()
    first = await _issue(certs, body)
    r = await certs.request("POST", f"/internal/seal-certificates/{body['seal_id']}/revocation",
                            internal=True, json={"reason": "seal_revoked"})
    assert r.status == 200, r
    ctx = certs.app[CERTS]
    _at(certs, _not_after(first["certificate_pem"]) - timedelta(days=1))
    assert await renew_seal(ctx, uuid.UUID(body["seal_id"]), ctx.clock.now() + ctx.seal_renewal) == 0
    await renew_expiring_seals(ctx)
    assert await _renewals(certs, body["seal_id"]) == []
    r = await _sign(certs, body["seal_id"])
    assert r.status == 409 and r.json["code"] == "certificate_revoked", r
