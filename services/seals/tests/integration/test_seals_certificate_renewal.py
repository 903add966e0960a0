"""certs' ``SealCertificateRenewed`` switches the seal to the new certificate and chain: the
next stamp signature answers them. Applying it again, or an older renewal arriving after a
newer one, changes nothing; a renewal of another seal touches no other seal."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from seals.projections.certificates import certificate_handlers

from shared.catalog import SealCertificateRenewed
from shared.events import Envelope, utcnow
from tests.support.harnesses.seals import Seals


def _renewed(seal_id: str, enterprise_id: uuid.UUID, serial: str, years: int,
             replaces: str = "0") -> SealCertificateRenewed:
    now = datetime.now(UTC)
    return SealCertificateRenewed(
        certificate_id=uuid.uuid4(), seal_id=uuid.UUID(seal_id), enterprise_id=enterprise_id,
        serial_number=serial, not_before=now, not_after=now + timedelta(days=365 * years),
        fingerprint_sha256="ab" * 32,
        certificate_pem=f"-----BEGIN CERTIFICATE-----\n{serial}\n-----END CERTIFICATE-----\n",
        chain_pem=["issuing-2", "root"], replaces_certificate_id=uuid.uuid4(),
        replaces_serial_number=replaces, renewed_at=now)


async def _deliver(seals: Seals, event: SealCertificateRenewed) -> None:
    env = Envelope(event_id=uuid.uuid4(), type=event.event_type, stream_type=event.stream_type,
                   stream_id=str(event.certificate_id), stream_version=5, occurred_at=utcnow(),
                   producer=event.producer, data=event.model_dump(mode="json"))
    handler = certificate_handlers()[env.routing_key]
    assert env.routing_key == "certs.SealCertificateRenewed"
    async with seals.pool.acquire() as conn, conn.transaction():
        await handler(conn, env, event)


async def test_a_renewed_seal_certificate_is_what_new_stamps_use(seals: Seals) -> None:
    e = await seals.enterprise()
    p = await seals.person()
    seal_id = (await seals.issue(e, "contract")).json["seal_id"]
    other_id = (await seals.issue(e, "finance")).json["seal_id"]
    await seals.grant(e, seal_id, p)
    before = await seals.stamp(seal_id, p, e)
    assert before.status == 200, before
    other_before = await seals.internal("GET", f"/internal/seals/{other_id}")

    five = _renewed(seal_id, e.id, "AA01", 5, replaces=before.json["serial_number"])
    await _deliver(seals, five)
    after = await seals.stamp(seal_id, p, e)
    assert after.status == 200, after
    assert after.json["certificate_pem"] == five.certificate_pem
    assert after.json["chain_pem"] == ["issuing-2", "root"]
    assert after.json["certificate_pem"] != before.json["certificate_pem"]
    record = await seals.internal("GET", f"/internal/seals/{seal_id}")
    assert record.json["certificate_pem"] == five.certificate_pem
    assert record.json["certificate_serial"] == "AA01"

    await _deliver(seals, five)  # again: nothing changes
    older = _renewed(seal_id, e.id, "AA00", 4)  # an older renewal arriving late
    await _deliver(seals, older)
    again = await seals.stamp(seal_id, p, e)
    assert again.json["certificate_pem"] == five.certificate_pem

    ten = _renewed(seal_id, e.id, "AA02", 10)  # the next one
    await _deliver(seals, ten)
    assert (await seals.stamp(seal_id, p, e)).json["certificate_pem"] == ten.certificate_pem
    assert (await seals.internal("GET", f"/internal/seals/{other_id}")).json == other_before.json

    unknown = _renewed(str(uuid.uuid4()), e.id, "AA03", 5)  # no such seal here: ignored
    await _deliver(seals, unknown)


async def test_the_stamp_esl_is_made_once_per_seal_certificate(seals: Seals) -> None:
    """An OFD stamp's SES_Seal is kept per seal certificate: the next stamp reuses it, a
    renewal makes a new one; the use check runs on every request (a stranger, a revoked seal)."""
    e = await seals.enterprise()
    p = await seals.person()
    seal_id = (await seals.issue(e, "contract")).json["seal_id"]
    await seals.grant(e, seal_id, p)
    body = {"person_id": str(p.person_id), "enterprise_id": str(e.id)}
    path = f"/internal/seals/{seal_id}/stamp-esl"
    made_before = len(seals.ca.esl_requests)

    first = await seals.internal("POST", path, json=body)
    again = await seals.internal("POST", path, json=body)
    assert first.status == again.status == 200, (first, again)
    assert again.json["seal_b64"] == first.json["seal_b64"]
    assert len(seals.ca.esl_requests) == made_before + 1  # certs was asked once

    stranger = await seals.person()
    refused = await seals.internal("POST", path, json={**body, "person_id": str(stranger.person_id)})
    assert (refused.status, refused.json["code"]) == (403, "not_authorized")

    stamped = await seals.stamp(seal_id, p, e)
    await _deliver(seals, _renewed(seal_id, e.id, "BB02", 5, replaces=stamped.json["serial_number"]))
    renewed = await seals.internal("POST", path, json=body)
    assert renewed.status == 200, renewed
    assert len(seals.ca.esl_requests) == made_before + 2  # made again for the new certificate

    await seals.revoke(e, seal_id)
    gone = await seals.internal("POST", path, json=body)
    assert gone.status in (403, 409) and gone.json["code"] in ("seal_revoked", "not_authorized"), gone
