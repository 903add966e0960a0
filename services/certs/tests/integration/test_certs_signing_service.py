"""The internal signing API (docs/INTERNAL_API.md, certs): principal signatures with the
wrong-password counter, password change, seal certificates, revocation and the CRL."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import uuid
from datetime import UTC, datetime, timedelta

import aiohttp
from asn1crypto import cms
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, utils

from tests.support import identities
from tests.support.harnesses.certs import PASSWORD, CertsHarness

DIGEST = hashlib.sha256(b"a document to sign").digest()


def _verifies(pem: str, digest: bytes, signature_b64: str) -> bool:
    cert = x509.load_pem_x509_certificate(pem.encode())
    public_key = cert.public_key()
    assert isinstance(public_key, ec.EllipticCurvePublicKey)
    try:
        public_key.verify(base64.b64decode(signature_b64), digest,
                          ec.ECDSA(utils.Prehashed(hashes.SHA256())))
    except Exception:  # noqa: BLE001
        return False
    return True


def _seal_body(seal_id: uuid.UUID | None = None, **overrides: str) -> dict[str, str]:
    name = identities.enterprise_name()
    body = {"seal_id": str(seal_id or uuid.uuid4()), "enterprise_id": str(uuid.uuid4()),
            "enterprise_name": name, "enterprise_uscc": identities.uscc(),
            "seal_name": name + "合同专用章", "seal_type": "contract", "seal_type_label": "合同专用章"}
    body.update(overrides)
    return body


# --- the platform's own signature and certificates by serial ------------------------------


async def test_the_platform_certificate_signs_and_is_in_the_ca_bundle(certs: CertsHarness) -> None:
    r = await certs.request("POST", "/internal/platform/signatures", internal=True,
                            json={"digest_b64": base64.b64encode(DIGEST).decode()})
    assert r.status == 200, r
    assert _verifies(r.json["certificate_pem"], DIGEST, r.json["signature_b64"])
    ca = await certs.request("GET", "/internal/ca", internal=True)
    assert ca.json["platform_pem"] == r.json["certificate_pem"]
    cert = x509.load_pem_x509_certificate(r.json["certificate_pem"].encode())
    issuing = x509.load_pem_x509_certificate(ca.json["issuing_pem"].encode())
    cert.verify_directly_issued_by(issuing)
    assert r.json["serial_number"] == format(cert.serial_number, "X")
    assert r.json["chain_pem"] == [ca.json["issuing_pem"], ca.json["root_pem"]]
    bad = await certs.request("POST", "/internal/platform/signatures", internal=True,
                              json={"digest_b64": "not a digest"})
    assert bad.status == 422, bad


async def test_certificates_by_serial_give_their_validity_and_mask_id_numbers(certs: CertsHarness) -> None:
    user = certs.person()
    view = await certs.activate(user)
    r = await certs.request("GET", f"/internal/certificates/by-serial/{view['serial_number']}", internal=True)
    assert r.status == 200, r
    assert r.json["owner_type"] == "person" and r.json["status"] == "active"
    assert r.json["serial_number"] == view["serial_number"] and r.json["key_algorithm"] == "ecdsa-p256"
    cert = x509.load_pem_x509_certificate(view["pem"].encode())
    assert r.json["not_after"] == cert.not_valid_after_utc.isoformat().replace("+00:00", "Z")
    assert "serialNumber=**************" in r.json["subject"]
    seal = await certs.request("POST", "/internal/seal-certificates", internal=True, json=_seal_body())
    r = await certs.request("GET", f"/internal/certificates/by-serial/{seal.json['serial_number'].lower()}",
                            internal=True)
    assert r.status == 200 and r.json["owner_type"] == "seal", r
    for unknown in ("ABCDEF0123", "not-hex", "F" * 65):
        r = await certs.request("GET", f"/internal/certificates/by-serial/{unknown}", internal=True)
        assert (r.status, r.json["code"]) == (404, "certificate_not_found"), (unknown, r)


# --- principal signatures ---------------------------------------------------------------


async def test_principal_signature_verifies_with_the_certificate(certs: CertsHarness) -> None:
    user = certs.person()
    view = await certs.activate(user)
    r = await certs.sign(user, DIGEST)
    assert r.status == 200, r
    assert r.json["algorithm"] == "ecdsa-p256-sha256"
    assert r.json["serial_number"] == view["serial_number"]
    assert r.json["certificate_pem"] == view["pem"]
    assert _verifies(view["pem"], DIGEST, r.json["signature_b64"])


async def test_principal_without_certificate(certs: CertsHarness) -> None:
    user = certs.person()
    r = await certs.sign(user, DIGEST)
    assert r.status == 404 and r.json["code"] == "certificate_not_activated", r
    status = await certs.request("GET", f"/internal/principals/{user.id}/certificate", internal=True)
    assert status.json == {"status": "none"}


async def test_bad_digests_are_validation_errors(certs: CertsHarness) -> None:
    user = certs.person()
    await certs.activate(user)
    for digest_b64 in ("not base64!", base64.b64encode(b"short").decode()):
        r = await certs.request("POST", f"/internal/principals/{user.id}/signatures", internal=True,
                                json={"digest_b64": digest_b64, "certificate_password": PASSWORD})
        assert r.status == 422 and r.json["errors"][0]["field"] == "digest_b64", r


async def test_internal_endpoints_need_internal_credentials(certs: CertsHarness) -> None:
    user = certs.person()
    paths = [("GET", f"/internal/principals/{user.id}/certificate"),
             ("POST", f"/internal/principals/{user.id}/signatures"),
             ("POST", "/internal/seal-certificates"), ("GET", "/internal/ca"),
             ("POST", "/internal/tsa"), ("PUT", "/internal/sandbox/clock"),
             ("POST", "/internal/platform/signatures"),
             ("GET", "/internal/certificates/by-serial/0A")]
    for method, path in paths:
        r = await certs.request(method, path, base=certs.direct, json={})
        assert r.status == 401 and r.json["code"] == "internal_auth_required", (path, r)
        r = await certs.request(method, path, base=certs.direct, token=user.token, json={})
        assert r.status == 401, (path, r)
        # valid internal credentials do not open them on the public listener
        hidden = await certs.request(method, path, base=certs.public, internal=True, json={})
        assert hidden.status == 404 and hidden.json["code"] == "not_found", (path, hidden)
    # and the gateway does not route them at all
    r = await certs.request("GET", "/internal/ca", base=certs.gateway)
    assert r.status == 404, r


async def test_five_wrong_passwords_lock_signing_until_the_period_ends(certs: CertsHarness) -> None:
    user = certs.person()
    await certs.activate(user)
    for left in (4, 3, 2, 1):
        r = await certs.sign(user, DIGEST, "Wrong#pass1")
        assert r.status == 403 and r.json["code"] == "wrong_certificate_password", r
        assert r.json["attempts_left"] == left
    r = await certs.sign(user, DIGEST, "Wrong#pass1")
    assert r.status == 423 and r.json["code"] == "certificate_locked", r
    locked_until = datetime.fromisoformat(r.json["locked_until"].replace("Z", "+00:00"))
    assert timedelta(minutes=14) < locked_until - datetime.now(UTC) <= timedelta(minutes=15)
    # locked: even the right password is refused, and so is a password change
    r = await certs.sign(user, DIGEST, PASSWORD)
    assert r.status == 423 and r.json["locked_until"], r
    r = await certs.request("PUT", "/api/v1/certificate/password", token=user.token, json={
        "old_password": PASSWORD, "new_password": "New#pass2026",
        "new_password_confirm": "New#pass2026"})
    assert r.status == 423, r
    status = await certs.request("GET", f"/internal/principals/{user.id}/certificate", internal=True)
    assert status.json["status"] == "locked" and status.json["locked_until"]
    view = await certs.request("GET", "/api/v1/certificate", token=user.token)
    assert view.json["status"] == "locked"

    certs.clock.offset += timedelta(minutes=15, seconds=1)
    try:
        r = await certs.sign(user, DIGEST, PASSWORD)
        assert r.status == 200, r
        # a fresh counter after the lock
        r = await certs.sign(user, DIGEST, "Wrong#pass1")
        assert r.status == 403 and r.json["attempts_left"] == 4, r
        r = await certs.sign(user, DIGEST, PASSWORD)
        assert r.status == 200, r
        r = await certs.sign(user, DIGEST, "Wrong#pass1")
        assert r.status == 403 and r.json["attempts_left"] == 4, r  # success reset the counter
    finally:
        certs.clock.offset -= timedelta(minutes=15, seconds=1)


async def test_parallel_wrong_guesses_cannot_exceed_five(certs: CertsHarness) -> None:
    user = certs.person()
    await certs.activate(user)
    replies = await asyncio.gather(*(certs.sign(user, DIGEST, f"Wrong#{i:04d}") for i in range(12)))
    codes = sorted(r.status for r in replies)
    assert codes == [403] * 4 + [423] * 8, codes
    rows = await certs.sql("SELECT password_failures FROM certificates WHERE owner_id = $1", user.id)
    assert rows[0]["password_failures"] == 5
    rejected = await certs.sql(
        "SELECT count(*) AS n FROM events e JOIN certificates c ON e.stream_id = c.certificate_id::text"
        " WHERE c.owner_id = $1 AND e.type = 'CertificatePasswordRejected'", user.id)
    assert rejected[0]["n"] == 5


async def test_change_password_old_fails_new_signs(certs: CertsHarness) -> None:
    user = certs.person()
    view = await certs.activate(user)
    new = "New#pass2026"
    r = await certs.request("PUT", "/api/v1/certificate/password", token=user.token, json={
        "old_password": "Wrong#pass1", "new_password": new, "new_password_confirm": new})
    assert r.status == 403 and r.json["attempts_left"] == 4, r
    r = await certs.request("PUT", "/api/v1/certificate/password", token=user.token, json={
        "old_password": PASSWORD, "new_password": new, "new_password_confirm": new + "x"})
    assert r.status == 422 and r.json["code"] == "password_mismatch", r
    assert r.json["errors"][0]["field"] == "new_password_confirm"
    r = await certs.request("PUT", "/api/v1/certificate/password", token=user.token, json={
        "old_password": PASSWORD, "new_password": "weakweak", "new_password_confirm": "weakweak"})
    assert r.status == 422 and r.json["code"] == "weak_password", r
    r = await certs.request("PUT", "/api/v1/certificate/password", token=user.token, json={
        "old_password": PASSWORD, "new_password": new, "new_password_confirm": new})
    assert r.status == 204, r

    old = await certs.sign(user, DIGEST, PASSWORD)
    assert old.status == 403 and old.json["code"] == "wrong_certificate_password", old
    fresh = await certs.sign(user, DIGEST, new)
    assert fresh.status == 200, fresh
    assert _verifies(view["pem"], DIGEST, fresh.json["signature_b64"])
    assert fresh.json["serial_number"] == view["serial_number"]  # same key, same certificate


async def test_change_password_without_certificate(certs: CertsHarness) -> None:
    user = certs.person()
    r = await certs.request("PUT", "/api/v1/certificate/password", token=user.token, json={
        "old_password": PASSWORD, "new_password": "New#pass2026",
        "new_password_confirm": "New#pass2026"})
    assert r.status == 404 and r.json["code"] == "certificate_not_activated", r


# --- seal certificates -----------------------------------------------------------------


async def test_seal_certificate_is_idempotent_per_seal(certs: CertsHarness) -> None:
    body = _seal_body()
    first = await certs.request("POST", "/internal/seal-certificates", internal=True, json=body)
    assert first.status == 201, first
    assert set(first.json) >= {"certificate_id", "serial_number", "certificate_pem", "chain_pem"}
    root = await certs.request("GET", "/api/v1/ca/root.pem")
    assert first.json["chain_pem"][1] == root.body.decode()
    again = await certs.request("POST", "/internal/seal-certificates", internal=True, json=body)
    assert again.status == 201 and again.json == first.json
    other = await certs.request("POST", "/internal/seal-certificates", internal=True,
                                json={**body, "seal_name": "另一个章"})
    assert other.status == 409 and other.json["code"] == "seal_certificate_conflict", other

    cert = x509.load_pem_x509_certificate(first.json["certificate_pem"].encode())
    attrs = {a.oid._name: a.value for a in cert.subject}
    assert attrs["commonName"] == body["seal_name"]
    assert attrs["organizationName"] == body["enterprise_name"]
    assert attrs["organizationalUnitName"] == body["seal_type_label"]


async def test_parallel_seal_certificate_requests_make_one(certs: CertsHarness) -> None:
    body = _seal_body()
    replies = await asyncio.gather(*(certs.request("POST", "/internal/seal-certificates",
                                                   internal=True, json=body) for _ in range(5)))
    assert {r.status for r in replies} == {201}
    assert len({r.json["serial_number"] for r in replies}) == 1
    rows = await certs.sql("SELECT 1 FROM certificates WHERE seal_id = $1", uuid.UUID(body["seal_id"]))
    assert len(rows) == 1


async def test_seal_signs_until_revoked_then_its_serial_is_in_the_crl(certs: CertsHarness) -> None:
    body = _seal_body()
    issued = (await certs.request("POST", "/internal/seal-certificates", internal=True, json=body)).json
    seal_id = body["seal_id"]
    digest_b64 = base64.b64encode(DIGEST).decode()
    r = await certs.request("POST", f"/internal/seal-certificates/{seal_id}/signatures",
                            internal=True, json={"digest_b64": digest_b64})
    assert r.status == 200, r
    assert r.json["serial_number"] == issued["serial_number"]
    assert r.json["algorithm"] == "ecdsa-p256-sha256"
    assert _verifies(issued["certificate_pem"], DIGEST, r.json["signature_b64"])

    before = x509.load_der_x509_crl((await certs.request("GET", "/api/v1/ca/crl")).body)
    revoked = await certs.request("POST", f"/internal/seal-certificates/{seal_id}/revocation",
                                  internal=True, json={"reason": "seal_revoked"})
    assert revoked.status == 200, revoked
    assert revoked.json["serial_number"] == issued["serial_number"] and revoked.json["revoked_at"]

    r = await certs.request("POST", f"/internal/seal-certificates/{seal_id}/signatures",
                            internal=True, json={"digest_b64": digest_b64})
    assert r.status == 409 and r.json["code"] == "certificate_revoked", r

    crl_reply = await certs.request("GET", "/api/v1/ca/crl")
    assert crl_reply.status == 200 and crl_reply.headers["Content-Type"] == "application/pkix-crl"
    crl = x509.load_der_x509_crl(crl_reply.body)
    serial = int(issued["serial_number"], 16)
    entry = crl.get_revoked_certificate_by_serial_number(serial)
    assert entry is not None
    reason = entry.extensions.get_extension_for_class(x509.CRLReason).value.reason
    assert reason == x509.ReasonFlags.cessation_of_operation
    number = crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number
    assert number > before.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number
    issuing = x509.load_pem_x509_certificate((await certs.request("GET", "/api/v1/ca/issuing.pem")).body)
    assert crl.is_signature_valid(issuing.public_key())  # type: ignore[arg-type]

    again = await certs.request("POST", f"/internal/seal-certificates/{seal_id}/revocation",
                                internal=True, json={"reason": "seal_revoked"})
    assert again.status == 200 and again.json == revoked.json
    types = [r["type"] for r in await certs.sql(
        "SELECT type FROM events WHERE stream_id = $1 ORDER BY version", issued["certificate_id"])]
    assert types == ["SealCertificateCreated", "CertificateIssued", "Sm2CertificateAdded",
                     "Sm2CertificateIssued", "CertificateRevoked"]


async def test_a_seal_signature_asked_with_a_timestamp_carries_the_tsa_token_over_it(
        certs: CertsHarness) -> None:
    body = _seal_body()
    await certs.request("POST", "/internal/seal-certificates", internal=True, json=body)
    ca = (await certs.request("GET", "/internal/ca", internal=True)).json
    tsa = x509.load_pem_x509_certificate(ca["tsa_pem"].encode())
    for path in ("signatures", "sm2-signatures"):
        r = await certs.request("POST", f"/internal/seal-certificates/{body['seal_id']}/{path}",
                                internal=True, json={"digest_b64": base64.b64encode(DIGEST).decode(),
                                                     "timestamp": True})
        assert r.status == 200, r
        signature = base64.b64decode(r.json["signature_b64"])
        token = cms.ContentInfo.load(base64.b64decode(r.json["timestamp_token_b64"]))
        signed = token["content"]
        tst = signed["encap_content_info"]["content"].parsed
        imprint = tst["message_imprint"]
        assert imprint["hash_algorithm"]["algorithm"].native == "sha256"
        assert imprint["hashed_message"].native == hashlib.sha256(signature).digest()
        # signed by the platform TSA, over the attributes that bind the TSTInfo
        signer = signed["signer_infos"][0]
        tsa.public_key().verify(signer["signature"].native, signer["signed_attrs"].untag().dump(),
                                ec.ECDSA(hashes.SHA256()))  # type: ignore[union-attr, call-arg]
    plain = await certs.request("POST", f"/internal/seal-certificates/{body['seal_id']}/signatures",
                                internal=True, json={"digest_b64": base64.b64encode(DIGEST).decode()})
    assert "timestamp_token_b64" not in plain.json


async def test_unknown_seal(certs: CertsHarness) -> None:
    seal_id = uuid.uuid4()
    r = await certs.request("POST", f"/internal/seal-certificates/{seal_id}/signatures",
                            internal=True, json={"digest_b64": base64.b64encode(DIGEST).decode()})
    assert r.status == 404 and r.json["code"] == "seal_certificate_not_found", r
    r = await certs.request("POST", f"/internal/seal-certificates/{seal_id}/revocation",
                            internal=True, json={"reason": "x"})
    assert r.status == 404, r
    r = await certs.request("POST", "/internal/seal-certificates", internal=True,
                            json=_seal_body(seal_name=" "))
    assert r.status == 422, r


async def test_revocation_waits_for_signatures_in_flight_and_stops_later_ones(
        certs: CertsHarness) -> None:
    """Signatures and the revocation race; every signature answered 200 was made before
    the revocation committed, and none succeeds after the revocation was answered."""
    body = _seal_body()
    await certs.request("POST", "/internal/seal-certificates", internal=True, json=body)
    seal_id = body["seal_id"]
    digest_b64 = base64.b64encode(DIGEST).decode()
    revoked_answered: list[float] = []

    async def signer() -> list[tuple[float, int]]:
        out = []
        loop = asyncio.get_running_loop()
        for _ in range(40):
            started = loop.time()
            r = await certs.request("POST", f"/internal/seal-certificates/{seal_id}/signatures",
                                    internal=True, json={"digest_b64": digest_b64})
            out.append((started, r.status))
        return out

    async def revoker() -> list[tuple[float, int]]:
        await asyncio.sleep(0.05)
        r = await certs.request("POST", f"/internal/seal-certificates/{seal_id}/revocation",
                                internal=True, json={"reason": "seal_revoked"})
        assert r.status == 200
        revoked_answered.append(asyncio.get_running_loop().time())
        return []

    results = await asyncio.gather(*(signer() for _ in range(4)), revoker())
    answered = revoked_answered[0]
    for series in results[:4]:
        statuses = [status for _, status in series]
        assert set(statuses) <= {200, 409}
        assert all(status == 409 for started, status in series if started > answered)
        if 409 in statuses:  # once refused, never accepted again
            assert 200 not in statuses[statuses.index(409):]
    assert any(200 in [s for _, s in series] for series in results[:4])


# --- CA, CRL, TSA ------------------------------------------------------------------------


async def test_ca_bundle_for_validators(certs: CertsHarness) -> None:
    r = await certs.request("GET", "/internal/ca", internal=True)
    assert r.status == 200, r
    root = await certs.request("GET", "/api/v1/ca/root.pem")
    assert r.json["root_pem"] == root.body.decode()
    crl = x509.load_der_x509_crl(base64.b64decode(r.json["crl_b64"]))
    issuing = x509.load_pem_x509_certificate(r.json["issuing_pem"].encode())
    assert crl.issuer == issuing.subject
    arl = x509.load_der_x509_crl(base64.b64decode(r.json["root_crl_b64"]))
    root_cert = x509.load_pem_x509_certificate(root.body)
    assert arl.is_signature_valid(root_cert.public_key())  # type: ignore[arg-type]
    public_arl = await certs.request("GET", "/api/v1/ca/root.crl")
    assert public_arl.status == 200 and x509.load_der_x509_crl(public_arl.body).issuer == root_cert.subject
    # the issuing CA's certificate points at the root's list (hard-fail validators)
    dp = issuing.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    assert dp[0].full_name[0].value.endswith("/api/v1/ca/root.crl")
    tsa = x509.load_pem_x509_certificate(r.json["tsa_pem"].encode())
    tsa.verify_directly_issued_by(issuing)


async def test_sandbox_clock_moves_only_with_internal_credentials(certs: CertsHarness) -> None:
    r = await certs.request("PUT", "/internal/sandbox/clock", internal=True,
                            json={"offset_seconds": 3600})
    try:
        assert r.status == 200 and r.json["offset_seconds"] == 3600, r
        moved = datetime.fromisoformat(r.json["now"].replace("Z", "+00:00"))
        assert moved - datetime.now(UTC) > timedelta(minutes=59)
    finally:
        r = await certs.request("PUT", "/internal/sandbox/clock", internal=True,
                                json={"offset_seconds": 0})
    assert r.status == 200 and r.json["offset_seconds"] == 0


async def test_timestamp_authority_over_http(certs: CertsHarness) -> None:
    from asn1crypto import tsp
    from asn1crypto import x509 as asn1_x509
    from certs.adapters.crypto.tsa import TimeStampResponse
    from pyhanko.sign.validation.generic_cms import validate_tst_signed_data
    from pyhanko.sign.validation.status import TimestampSignatureStatus
    from pyhanko_certvalidator import ValidationContext

    data = b"the stamped document"
    request = tsp.TimeStampReq({
        "version": "v1",
        "message_imprint": {"hash_algorithm": {"algorithm": "sha256"},
                            "hashed_message": hashlib.sha256(data).digest()},
        "nonce": 123456789, "cert_req": True}).dump()
    headers = {"Content-Type": "application/timestamp-query"}
    r = await certs.request("POST", "/internal/tsa", internal=True, data=request, headers=headers)
    assert r.status == 200 and r.headers["Content-Type"] == "application/timestamp-reply", r
    reply = TimeStampResponse.load(r.body)
    assert reply["status"]["status"].native == "granted"
    token = reply["time_stamp_token"]
    tst = token["content"]["encap_content_info"]["content"].parsed
    assert tst["message_imprint"]["hashed_message"].native == hashlib.sha256(data).digest()
    assert tst["nonce"].native == 123456789
    root = await certs.request("GET", "/api/v1/ca/root.pem")
    from cryptography.hazmat.primitives.serialization import Encoding
    root_der = x509.load_pem_x509_certificate(root.body).public_bytes(Encoding.DER)
    ctx = ValidationContext(trust_roots=[asn1_x509.Certificate.load(root_der)], allow_fetching=False,
                            revocation_mode="soft-fail")
    kwargs = await validate_tst_signed_data(token["content"], ctx,
                                            lambda algorithm: hashlib.new(algorithm, data).digest())
    status = TimestampSignatureStatus(**kwargs)
    assert status.valid and status.intact and status.trusted, status

    wrong_type = await certs.request("POST", "/internal/tsa", internal=True, data=request,
                                     headers={"Content-Type": "application/octet-stream"})
    assert wrong_type.status == 415, wrong_type
    garbage = await certs.request("POST", "/internal/tsa", internal=True, data=b"nonsense",
                                  headers=headers)
    assert garbage.status == 200
    assert TimeStampResponse.load(garbage.body)["status"]["status"].native == "rejection"


async def test_http_directory_adapter_reads_identity(certs: CertsHarness) -> None:
    from certs.adapters.directory import IdentityDirectory
    from certs.domain.errors import PrincipalNotFound

    user = certs.person()
    directory = IdentityDirectory(certs.app)
    record = await directory.get(user.id)
    assert record == user.record
    try:
        await directory.get(uuid.uuid4())
    except PrincipalNotFound:
        pass
    else:
        raise AssertionError("an unknown principal must be PrincipalNotFound")


async def test_service_is_ready(certs: CertsHarness) -> None:
    async with aiohttp.ClientSession() as s, s.get(certs.direct + "/readyz") as r:
        assert r.status == 200, await r.text()


async def test_a_seal_certificate_is_found_by_its_serial_and_nothing_else_is(certs: CertsHarness) -> None:
    """Verification attributes a signature from this record, never from the document."""
    body = _seal_body()
    issued = (await certs.request("POST", "/internal/seal-certificates", internal=True, json=body)).json
    serial = issued["serial_number"]
    path = f"/internal/seal-certificates/by-serial/{serial.lower()}"
    r = await certs.request("GET", path, internal=True)
    assert r.status == 200, r
    assert r.json["seal_id"] == body["seal_id"] and r.json["enterprise_id"] == body["enterprise_id"]
    assert r.json["serial_number"] == serial and r.json["status"] == "active"
    cert = x509.load_pem_x509_certificate(issued["certificate_pem"].encode())
    assert r.json["fingerprint_sha256"] == cert.fingerprint(hashes.SHA256()).hex()
    assert (await certs.request("GET", path, base=certs.direct)).status == 401  # internal only
    person = certs.person()
    await certs.activate(person)
    mine = await certs.request("GET", "/api/v1/certificate", token=person.token)
    assert mine.status == 200, mine
    for other in (mine.json["serial_number"], "00", "zz", "1" * 80):
        r = await certs.request("GET", f"/internal/seal-certificates/by-serial/{other}", internal=True)
        assert r.status in (400, 404), (other, r)
        if r.status == 404:
            assert r.json["code"] == "seal_certificate_not_found", r


# --- several digests under one password check (issue 15) ----------------------------------


def _count_unwraps(certs: CertsHarness, monkeypatch: object) -> list[int]:
    """Count the key unwraps (each one KDF over the certificate password)."""
    from certs.entrypoints.appkeys import CERTS

    keys = certs.app[CERTS].keys
    calls = [0]
    real = keys.open_user_key

    async def counted(*args: object, **kw: object) -> object:
        calls[0] += 1
        return await real(*args, **kw)

    monkeypatch.setattr(keys, "open_user_key", counted)  # type: ignore[attr-defined]
    return calls


async def test_several_digests_one_password_check_one_kdf(certs: CertsHarness, monkeypatch: object) -> None:
    user = certs.person()
    view = await certs.activate(user)
    others = [hashlib.sha256(b"revision %d" % i).digest() for i in range(2)]
    unwraps = _count_unwraps(certs, monkeypatch)
    r = await certs.request("POST", f"/internal/principals/{user.id}/signatures", internal=True,
                            json={"digest_b64": base64.b64encode(DIGEST).decode(),
                                  "certificate_password": PASSWORD,
                                  "more_digests_b64": [base64.b64encode(d).decode() for d in others]})
    assert r.status == 200, r
    assert unwraps[0] == 1  # one KDF for the three signatures
    assert _verifies(view["pem"], DIGEST, r.json["signature_b64"])
    assert len(r.json["more_signatures_b64"]) == 2
    for digest, sig in zip(others, r.json["more_signatures_b64"], strict=True):
        assert _verifies(view["pem"], digest, sig)
    # the single form answers as before
    one = await certs.sign(user, DIGEST)
    assert one.status == 200 and "more_signatures_b64" not in one.json, one


async def test_several_digests_with_a_wrong_password_count_once(certs: CertsHarness) -> None:
    user = certs.person()
    await certs.activate(user)
    body = {"digest_b64": base64.b64encode(DIGEST).decode(), "certificate_password": "Wrong#pass1",
            "more_digests_b64": [base64.b64encode(DIGEST).decode()] * 3}
    r = await certs.request("POST", f"/internal/principals/{user.id}/signatures", internal=True, json=body)
    assert r.status == 403 and r.json["code"] == "wrong_certificate_password", r
    assert r.json["attempts_left"] == 4  # one try, however many digests
    r = await certs.request("POST", f"/internal/principals/{user.id}/signatures", internal=True,
                            json={**body, "more_digests_b64": ["not base64!"]})
    assert r.status == 422 and r.json["errors"][0]["field"] == "more_digests_b64", r
    # a batch of 50 documents: its 50 authorizations in one call, and no more
    many = [base64.b64encode(DIGEST).decode()] * 49
    r = await certs.request("POST", f"/internal/principals/{user.id}/signatures", internal=True,
                            json={**body, "certificate_password": PASSWORD, "more_digests_b64": many})
    assert r.status == 200 and len(r.json["more_signatures_b64"]) == 49, r
    r = await certs.request("POST", f"/internal/principals/{user.id}/signatures", internal=True,
                            json={**body, "more_digests_b64": [*many, many[0]]})
    assert r.status == 422 and r.json["errors"][0]["field"] == "more_digests_b64", r
    r = await certs.request("POST", f"/internal/principals/{user.id}/sm2-signatures", internal=True,
                            json={**body, "certificate_password": PASSWORD})
    assert r.status == 422 and r.json["errors"][0]["field"] == "more_digests_b64", r
