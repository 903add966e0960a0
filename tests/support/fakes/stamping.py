"""Fakes of stamping's ports, over an in-process test PKI.

They behave like seals and certs as docs/INTERNAL_API.md describes them: seals decides a
stamp signature under a lock that revocation also takes (so once ``revoke`` has returned no
signature relying on the seal is made), certs counts wrong certificate passwords and locks
the key, the CA's CRL lists revoked seal certificates.
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed
from cryptography.hazmat.primitives.serialization import Encoding
from stamping.service_layer.ports import (
    CaBundle,
    EnterpriseChoice,
    PersonSignature,
    SealCertificate,
    SealChoice,
    SealInfo,
    SealSignature,
    Sm2Ca,
)

from shared.china_time import today_in_china
from shared.gm import ses as gm_ses
from shared.gm import x509 as gm_x509
from shared.gm.sm2 import Sm2PrivateKey
from shared.internal import RemoteError
from tests.support.pdf_fixtures import ISSUING_CRL_URL, TestPki, _cert, _name, make_seal_png

MAX_PASSWORD_ATTEMPTS = 5


def remote(status: int, code: str, detail: str = "", **extra: object) -> RemoteError:
    err = RemoteError(detail or code, code=code, **extra)
    err.status = status
    return err


def _pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(Encoding.PEM).decode()


def _issue(pki: TestPki, subject: x509.Name, key: ec.EllipticCurvePrivateKey) -> x509.Certificate:
    return _cert(subject, key.public_key(), pki.issuing_cert.subject, pki.issuing_key, ca=False,
                 key_usage={"digital_signature": True, "content_commitment": True},
                 crl_url=ISSUING_CRL_URL, not_before=datetime.now(UTC) - timedelta(days=1), days=365)


class Sm2Pki:
    """certs' SM2 hierarchy: root, issuing CA, seal maker (real SM2, ``shared.gm``)."""

    def __init__(self) -> None:
        self.root_key, self.issuing_key, self.maker_key = (Sm2PrivateKey.generate() for _ in range(3))
        self.root = gm_x509.create_root(self.root_key, {"country_name": "CN", "common_name": "test SM2 root"})
        self.issuing = gm_x509.create_issuing_ca(
            self.issuing_key.public_key, {"country_name": "CN", "common_name": "test SM2 CA"},
            self.root, self.root_key)
        self.maker = gm_x509.issue_seal_maker_certificate(
            self.maker_key.public_key, organization="test platform", ca=self.issuing,
            ca_key=self.issuing_key)

    def seal_certificate(self, key: Sm2PrivateKey, name: str, enterprise: str, seal_id: uuid.UUID) -> bytes:
        return bytes(gm_x509.issue_seal_certificate(
            key.public_key, seal_name=name, enterprise_name=enterprise, seal_id=str(seal_id),
            ca=self.issuing, ca_key=self.issuing_key).dump())

    def crl(self, revoked: dict[int, datetime], number: int) -> bytes:
        entries = [gm_x509.RevokedEntry(serial, at) for serial, at in revoked.items()]
        return bytes(gm_x509.build_crl(self.issuing, self.issuing_key, entries, crl_number=number).dump())

    def ca(self, revoked: dict[int, datetime], number: int) -> Sm2Ca:
        return Sm2Ca(root=bytes(self.root.dump()), issuing=bytes(self.issuing.dump()),
                     seal_maker=bytes(self.maker.dump()), crl=self.crl(revoked, number))


@dataclass
class FakeSeal:
    info: SealInfo
    key: ec.EllipticCurvePrivateKey
    cert: x509.Certificate
    image: bytes
    sm2_key: Sm2PrivateKey | None = None
    sm2_cert: bytes = b""  # DER


@dataclass
class Grant:
    valid_from: date
    valid_to: date


@dataclass
class FakeCa:
    pki: TestPki
    revoked: dict[int, datetime] = field(default_factory=dict)
    crl_number: int = 1
    _crl: x509.CertificateRevocationList | None = None
    fetches: int = 0
    sm2: Sm2Pki = field(default_factory=Sm2Pki)
    sm2_revoked: dict[int, datetime] = field(default_factory=dict)

    def revoke(self, serial: int, at: datetime) -> None:
        # A CRL carries whole seconds, pyHanko's dummy TSA microseconds (certs' TSA whole
        # seconds, like the CRL): rounding the revocation up keeps a stamp timestamped
        # earlier in the same second valid, as it is on the platform.
        self.revoked[serial] = at.replace(microsecond=0) + timedelta(seconds=1 if at.microsecond else 0)
        self.crl_number += 1
        self._crl = self.pki.issue_crl(self.revoked, number=self.crl_number)

    async def current(self, *, fresh: bool = False) -> CaBundle:
        self.fetches += 1
        return CaBundle(root=self.pki.root_cert, issuing=self.pki.issuing_cert, tsa=self.pki.tsa_cert,
                        crls=[self.pki.root_crl, self._crl or self.pki.issuing_crl],
                        sm2=self.sm2.ca(self.sm2_revoked, self.crl_number))


class FakeSeals:
    def __init__(self, pki: TestPki, ca: FakeCa) -> None:
        self.pki, self.ca = pki, ca
        self.seals: dict[uuid.UUID, FakeSeal] = {}
        self.grants: dict[tuple[uuid.UUID, uuid.UUID], Grant] = {}
        self.lock = asyncio.Lock()  # seals' row locks on the seal and the grant
        self.lookups = 0  # round trips of choices + seal details (pre-check, re-check)
        self.signatures = 0
        self.timestamps = 0  # TSA tokens made with a seal signature (``timestamp=True``)
        self._timestamper = pki.timestamper()
        self._image = make_seal_png(200)
        self.today: date | None = None
        self.serial_lookups = 0
        self.person_signatures: dict[uuid.UUID, bytes] = {}  # 个人签名 PNGs (issue 15)

    def add_seal(self, enterprise_id: uuid.UUID, enterprise_name: str, name: str | None = None, *,
                 type: str = "official", label: str = "法定名称章", shape: str = "round",
                 width_mm: float = 42.0, height_mm: float = 42.0, image: bytes | None = None) -> SealInfo:
        seal_id = uuid.uuid4()
        key = ec.generate_private_key(ec.SECP256R1())
        cert = _issue(self.pki, _name(name or f"{enterprise_name}{label}", org=enterprise_name,
                                      uscc="91220102MA00000000"), key)
        info = SealInfo(seal_id=seal_id, enterprise_id=enterprise_id, enterprise_name=enterprise_name,
                        enterprise_uscc="91220102MA00000000", name=name or f"{enterprise_name}{label}",
                        type=type, type_label=label, status="active", revoked_at=None,
                        certificate_serial=format(cert.serial_number, "x"),
                        chain_pem=[_pem(cert), _pem(self.pki.issuing_cert), _pem(self.pki.root_cert)],
                        shape=shape, width_mm=width_mm, height_mm=height_mm)
        sm2_key = Sm2PrivateKey.generate()
        sm2_cert = self.ca.sm2.seal_certificate(sm2_key, info.name, enterprise_name, seal_id)
        self.seals[seal_id] = FakeSeal(info, key, cert, image or self._image, sm2_key, sm2_cert)
        return info

    def grant(self, person_id: uuid.UUID, seal_id: uuid.UUID, *, valid_from: date | None = None,
              valid_to: date | None = None) -> None:
        today = self._today()
        self.grants[(person_id, seal_id)] = Grant(valid_from or today - timedelta(days=1),
                                                  valid_to or today + timedelta(days=30))

    async def delete_grant(self, person_id: uuid.UUID, seal_id: uuid.UUID) -> None:
        async with self.lock:
            self.grants.pop((person_id, seal_id), None)

    async def revoke(self, seal_id: uuid.UUID) -> datetime:
        async with self.lock:
            seal = self.seals[seal_id]
            at = datetime.now(UTC)
            seal.info = replace(seal.info, status="revoked", revoked_at=at)
            self.ca.revoke(seal.cert.serial_number, at)
            serial = int(gm_x509.load_certificate(seal.sm2_cert).serial_number)
            self.ca.sm2_revoked[serial] = self.ca.revoked[seal.cert.serial_number]
            return at

    def _today(self) -> date:
        return self.today or today_in_china()

    def _usable(self, person_id: uuid.UUID, seal: FakeSeal) -> bool:
        g = self.grants.get((person_id, seal.info.seal_id))
        return seal.info.status == "active" and g is not None and g.valid_from <= self._today() <= g.valid_to

    async def choices(self, person_id: uuid.UUID) -> list[EnterpriseChoice]:
        by_enterprise: dict[uuid.UUID, EnterpriseChoice] = {}
        for seal in self.seals.values():
            if self._usable(person_id, seal):
                e = by_enterprise.setdefault(seal.info.enterprise_id, EnterpriseChoice(
                    seal.info.enterprise_id, seal.info.enterprise_name, []))
                e.seals.append(SealChoice(seal.info.seal_id, seal.info.name, seal.info.type))
        return list(by_enterprise.values())

    async def seal(self, seal_id: uuid.UUID) -> SealInfo | None:
        seal = self.seals.get(seal_id)
        return seal.info if seal else None

    async def lookup(self, person_id: uuid.UUID, seal_ids: Sequence[uuid.UUID],
                     ) -> tuple[list[EnterpriseChoice], dict[uuid.UUID, SealInfo | None]]:
        self.lookups += 1
        return await self.choices(person_id), {i: await self.seal(i) for i in dict.fromkeys(seal_ids)}

    async def by_serial(self, serial_number: str) -> SealCertificate | None:
        """certs' ``SealCertificates`` port (the fake seals hold the seal certificates)."""
        self.serial_lookups += 1
        for seal in self.seals.values():
            sm2 = gm_x509.load_certificate(seal.sm2_cert)
            if format(int(sm2.serial_number), "X") == serial_number.upper():
                return SealCertificate(
                    seal_id=seal.info.seal_id, enterprise_id=seal.info.enterprise_id,
                    serial_number=format(int(sm2.serial_number), "X"), subject="", issuer="",
                    fingerprint_sha256=hashlib.sha256(seal.sm2_cert).hexdigest(),
                    status=seal.info.status, revoked_at=seal.info.revoked_at)
            if format(seal.cert.serial_number, "X") == serial_number.upper():
                return SealCertificate(
                    seal_id=seal.info.seal_id, enterprise_id=seal.info.enterprise_id,
                    serial_number=format(seal.cert.serial_number, "X"),
                    subject=seal.cert.subject.rfc4514_string(), issuer=seal.cert.issuer.rfc4514_string(),
                    fingerprint_sha256=seal.cert.fingerprint(hashes.SHA256()).hex(),
                    status=seal.info.status, revoked_at=seal.info.revoked_at)
        return None

    async def person_signature(self, person_id: uuid.UUID) -> bytes | None:
        return self.person_signatures.get(person_id)

    async def seal_image(self, seal_id: uuid.UUID) -> bytes:
        return self.seals[seal_id].image

    async def stamp_esl(self, seal_id: uuid.UUID, person_id: uuid.UUID,
                        enterprise_id: uuid.UUID, *, certificate_serial: str = "") -> bytes:
        """What seals + certs make: the seal's SM2 certificate first, signed by the maker."""
        seal = self.seals.get(seal_id)
        if seal is None or seal.info.enterprise_id != enterprise_id or not self._usable(person_id, seal):
            if seal is not None and seal.info.status != "active":
                raise remote(409, "seal_revoked")
            raise remote(403, "not_authorized")
        now = datetime.now(UTC).replace(microsecond=0)
        return gm_ses.make_seal(
            es_id=seal_id.hex.upper(), name=seal.info.name, seal_type=1,
            signer_certificates=[seal.sm2_cert], valid_from=now - timedelta(days=1),
            valid_to=now + timedelta(days=365),
            picture=gm_ses.SealPicture("PNG", seal.image, 40, 40),
            maker_key=self.ca.sm2.maker_key, maker_certificate=bytes(self.ca.sm2.maker.dump()),
            created_at=now)

    async def stamp_signature(self, seal_id: uuid.UUID, person_id: uuid.UUID,
                              enterprise_id: uuid.UUID, digest: bytes, *,
                              algorithm: str = "ecdsa-p256-sha256",
                              approver_id: uuid.UUID | None = None,
                              timestamp: bool = False) -> SealSignature:
        made = await self._stamp_signature(seal_id, person_id, enterprise_id, digest, algorithm, approver_id)
        if not timestamp:
            return made
        self.timestamps += 1  # as certs: the test TSA's token over SHA-256(signature)
        token = await self._timestamper.async_timestamp(hashlib.sha256(made.signature).digest(), "sha256")
        return replace(made, timestamp_token=token.dump())

    async def _stamp_signature(self, seal_id: uuid.UUID, person_id: uuid.UUID, enterprise_id: uuid.UUID,
                               digest: bytes, algorithm: str, approver_id: uuid.UUID | None) -> SealSignature:
        async with self.lock:
            seal = self.seals.get(seal_id)
            if seal is None or seal.info.enterprise_id != enterprise_id:
                raise remote(403, "not_authorized")
            if seal.info.status != "active":
                raise remote(409, "seal_revoked")
            if not self._usable(person_id, seal):
                raise remote(403, "not_authorized")
            if seal.info.approval_required and approver_id not in seal.info.approvers:
                raise remote(403, "approval_required" if approver_id is None else "not_an_approver")
            self.signatures += 1
            if algorithm == "sm2-sm3":
                assert seal.sm2_key is not None
                pem = gm_x509.to_pem(gm_x509.load_certificate(seal.sm2_cert)).decode()
                return SealSignature(
                    signature=seal.sm2_key.sign_digest(digest), algorithm="sm2-sm3",
                    serial_number=format(int(gm_x509.load_certificate(seal.sm2_cert).serial_number), "X"),
                    certificate_pem=pem, chain_pem=[], seal=seal.info)
            signature = seal.key.sign(digest, ec.ECDSA(Prehashed(hashes.SHA256())))
            return SealSignature(signature=signature, algorithm="ecdsa-p256-sha256",
                                 serial_number=seal.info.certificate_serial,
                                 certificate_pem=seal.info.chain_pem[0], chain_pem=seal.info.chain_pem[1:],
                                 seal=seal.info)

    async def approve_check(self, approver_id: uuid.UUID, person_id: uuid.UUID,
                            enterprise_id: uuid.UUID, seal_ids: Sequence[uuid.UUID],
                            face_token: str | None) -> None:
        for seal_id in seal_ids:
            seal = self.seals.get(seal_id)
            if seal is None or seal.info.status != "active":
                raise remote(409, "seal_revoked")
            if seal.info.approval_required and approver_id not in seal.info.approvers:
                raise remote(403, "not_an_approver")
            if not self._usable(person_id, seal):
                raise remote(403, "not_authorized")

    async def approvable_seals(self, approver_id: uuid.UUID) -> list[uuid.UUID]:
        return [i for i, s in self.seals.items()
                if s.info.approval_required and s.info.status == "active"
                and approver_id in s.info.approvers]


@dataclass
class Holder:
    key: ec.EllipticCurvePrivateKey
    cert: x509.Certificate
    password: str
    failures: int = 0
    locked_until: datetime | None = None


class FakeCerts:
    """``PrincipalSigner``: one certificate per person, wrong passwords counted."""

    def __init__(self, pki: TestPki) -> None:
        self.pki = pki
        self.holders: dict[uuid.UUID, Holder] = {}
        self.signatures = 0
        self.calls = 0

    def enroll(self, person_id: uuid.UUID, name: str, password: str) -> x509.Certificate:
        key = ec.generate_private_key(ec.SECP256R1())
        cert = _issue(self.pki, _name(name, org="persons"), key)
        self.holders[person_id] = Holder(key, cert, password)
        return cert

    async def certificate(self, principal_id: uuid.UUID) -> str | None:
        h = self.holders.get(principal_id)
        return _pem(h.cert) if h is not None else None

    async def sign(self, principal_id: uuid.UUID, digest: bytes, password: str, *,
                   more_digests: Sequence[bytes] = (),
                   sm2_digest: bytes | None = None) -> PersonSignature:
        self.calls += 1  # one password check (one KDF in certs) per call, however many digests
        if sm2_digest is not None:  # the fake's holders have no SM2 twin, as before SM2
            raise remote(409, "sm2_certificate_pending")
        if len(more_digests) > 49:  # certs' limit (MAX_MORE_DIGESTS): a batch of 50 documents
            raise remote(422, "validation_failed")
        h = self.holders.get(principal_id)
        if h is None:
            raise remote(404, "certificate_not_activated")
        now = datetime.now(UTC)
        if h.locked_until and h.locked_until > now:
            raise remote(423, "certificate_locked", locked_until=h.locked_until.isoformat())
        if password != h.password:
            h.failures += 1
            if h.failures >= MAX_PASSWORD_ATTEMPTS:
                h.locked_until, h.failures = now + timedelta(minutes=30), 0
                raise remote(423, "certificate_locked", locked_until=h.locked_until.isoformat())
            raise remote(403, "wrong_certificate_password", attempts_left=MAX_PASSWORD_ATTEMPTS - h.failures)
        h.failures = 0
        self.signatures += 1
        def one(d: bytes) -> bytes:
            return h.key.sign(d, ec.ECDSA(Prehashed(hashes.SHA256())))
        return PersonSignature(signature=one(digest),
                               algorithm="ecdsa-p256-sha256", serial_number=format(h.cert.serial_number, "x"),
                               certificate_pem=_pem(h.cert), more=tuple(one(d) for d in more_digests))

    async def sign_sm2(self, principal_id: uuid.UUID, digest: bytes, password: str) -> PersonSignature:
        raise remote(409, "sm2_certificate_pending")  # no SM2 twin here (the real one: e2e tests)

    async def personal_seal(self, principal_id: uuid.UUID, picture_png: bytes, width_mm: int,
                            height_mm: int) -> bytes:
        raise remote(409, "sm2_certificate_pending")
