"""The ports stamping depends on; adapters talk to seals and certs, fakes stand in for tests.

- ``SealAuthority`` (seals): what a person may use now, seal details and image, the seal as
  GB/T 38540 data (``SES_Seal``, for OFD stamps), and the authoritative stamp signature
  (seals checks the seal and the grant under row locks and has certs sign with the seal's
  ECDSA key, or its SM2 twin for an OFD: that is what makes revocation instant).
- ``PrincipalSigner`` (certs): the person's own signature, unlocked by the certificate
  password; certs counts wrong passwords and locks the key.
- ``CaMaterial`` (certs): root, issuing CA and TSA certificates and the current CRLs.
- ``SealCertificates`` (certs): which seal and enterprise a seal certificate (by serial)
  belongs to; what verification shows, never what a document says about itself.
- The timestamper is pyHanko's own port, ``pyhanko.sign.timestamps.TimeStamper``.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from cryptography import x509


@dataclass(frozen=True)
class SealChoice:
    seal_id: uuid.UUID
    name: str
    type: str


@dataclass(frozen=True)
class EnterpriseChoice:
    enterprise_id: uuid.UUID
    enterprise_name: str
    seals: list[SealChoice]


@dataclass(frozen=True)
class SealInfo:
    seal_id: uuid.UUID
    enterprise_id: uuid.UUID
    enterprise_name: str
    enterprise_uscc: str
    name: str
    type: str
    type_label: str
    status: str  # "active" | "revoked"
    revoked_at: datetime | None
    certificate_serial: str
    # The seal certificate first, then its issuing CA (and root); empty if seals does not say.
    chain_pem: list[str] = field(default_factory=list)
    # The impression's real size (seals' catalogue); an older seals that does not say: 42 mm round.
    shape: str = "round"
    width_mm: float = 42.0
    height_mm: float = 42.0
    # 用印审批: a stamp with the seal waits for one of ``approvers`` (seals enforces it)
    approval_required: bool = False
    approvers: tuple[uuid.UUID, ...] = ()


@dataclass(frozen=True)
class SealSignature:
    signature: bytes
    algorithm: str
    serial_number: str
    certificate_pem: str
    chain_pem: list[str]
    seal: SealInfo
    # certs' RFC 3161 token over SHA-256(signature), asked for with it (b"": none came)
    timestamp_token: bytes = b""


@dataclass(frozen=True)
class PersonSignature:
    signature: bytes
    algorithm: str
    serial_number: str
    certificate_pem: str
    more: tuple[bytes, ...] = ()  # the signatures of ``more_digests``, in order
    # an OFD's personal signature placements (GB/T 38540): the SM2 twin's signature of
    # ``sm2_digest`` in the same password check, and that certificate
    sm2: bytes = b""
    sm2_serial_number: str = ""
    sm2_certificate_pem: str = ""

    def own(self) -> tuple[bytes, str]:
        """The personal signature placements' signature value and its certificate's serial
        (what the signature record keeps): the SM2 one on an OFD, else ``more[0]``."""
        if self.sm2:
            return self.sm2, self.sm2_serial_number
        return self.more[0], self.serial_number


@dataclass(frozen=True)
class Sm2Ca:
    """The SM2 hierarchy (DER): what an OFD signature may chain to, and its CRL."""

    root: bytes
    issuing: bytes
    seal_maker: bytes
    crl: bytes | None = None


@dataclass(frozen=True)
class CaBundle:
    root: x509.Certificate
    issuing: x509.Certificate
    tsa: x509.Certificate | None
    crls: list[x509.CertificateRevocationList]
    sm2: Sm2Ca | None = None
    # the platform's own sealing certificate (signs the evidence reports); None from an older certs
    platform: x509.Certificate | None = None


@dataclass(frozen=True)
class SealCertificate:
    seal_id: uuid.UUID
    enterprise_id: uuid.UUID
    serial_number: str  # upper-case hex
    subject: str
    issuer: str
    fingerprint_sha256: str  # of the DER certificate
    status: str  # "active" | "revoked"
    revoked_at: datetime | None


class SealCertificates(Protocol):
    async def by_serial(self, serial_number: str) -> SealCertificate | None: ...


class SealAuthority(Protocol):
    async def choices(self, person_id: uuid.UUID) -> list[EnterpriseChoice]: ...

    async def lookup(self, person_id: uuid.UUID, seal_ids: Sequence[uuid.UUID],
                     ) -> tuple[list[EnterpriseChoice], dict[uuid.UUID, SealInfo | None]]:
        """``choices`` and each seal's ``seal`` (None: no such seal), in one round trip."""

    async def seal(self, seal_id: uuid.UUID) -> SealInfo | None: ...

    async def seal_image(self, seal_id: uuid.UUID) -> bytes: ...

    async def person_signature(self, person_id: uuid.UUID) -> bytes | None:
        """The person's own signature (个人签名) as a PNG; None when the person has none."""

    async def stamp_signature(self, seal_id: uuid.UUID, person_id: uuid.UUID,
                              enterprise_id: uuid.UUID, digest: bytes, *,
                              algorithm: str = "ecdsa-p256-sha256",
                              approver_id: uuid.UUID | None = None,
                              timestamp: bool = False) -> SealSignature:
        """``algorithm`` "sm2-sm3": ``digest`` is e = SM3(Z‖TBS_Sign), signed by the SM2 twin.
        ``approver_id``: who approved (a seal that requires approval signs only with it).
        ``timestamp``: the TSA token over the signature value in the same answer (when the
        TSA can make one), saving the signature timestamp's own round trip."""

    async def approve_check(self, approver_id: uuid.UUID, person_id: uuid.UUID,
                            enterprise_id: uuid.UUID, seal_ids: Sequence[uuid.UUID],
                            face_token: str | None) -> None:
        """用印审批: raises unless the approver may approve these seals' use by the person now
        (the seal active, the grant valid); uses the face token up when given."""

    async def approvable_seals(self, approver_id: uuid.UUID) -> list[uuid.UUID]:
        """用印审批: the seals whose stamps ``approver_id`` may approve now."""

    async def stamp_esl(self, seal_id: uuid.UUID, person_id: uuid.UUID,
                        enterprise_id: uuid.UUID, *, certificate_serial: str = "") -> bytes:
        """The seal's ``SES_Seal`` (DER) for a person who may use it now; its first (only)
        listed certificate is the seal's own SM2 certificate, which signs the OFD.
        ``certificate_serial``: the seal's certificate as this stamp's pre-check read it
        (which checked the person may use the seal now); an ``SES_Seal`` already had for
        that certificate may be answered without asking seals again."""


class PrincipalSigner(Protocol):
    async def sign(self, principal_id: uuid.UUID, digest: bytes, password: str, *,
                   more_digests: Sequence[bytes] = (),
                   sm2_digest: bytes | None = None) -> PersonSignature:
        """``digest`` and ``more_digests`` signed under ONE password check (one KDF in certs,
        one count toward the lockout); ``sm2_digest`` (e = SM3(Z‖M)) by the SM2 twin in that
        same check (``PersonSignature.sm2``)."""

    async def sign_sm2(self, principal_id: uuid.UUID, digest: bytes, password: str) -> PersonSignature:
        """``digest`` (e = SM3(Z‖M)) signed by the SM2 twin alone (an OFD with personal
        signatures only): ``signature`` and ``sm2`` are that signature."""

    async def personal_seal(self, principal_id: uuid.UUID, picture_png: bytes, width_mm: int,
                            height_mm: int) -> bytes:
        """The person's own ``SES_Seal`` (DER, 个人印章) listing the person's SM2 certificate."""

    async def certificate(self, principal_id: uuid.UUID) -> str | None:
        """The principal's active certificate (PEM), None without one."""


@dataclass(frozen=True)
class CertificateInfo:
    """A user's or a seal's certificate as certs keeps it (subject with ID numbers masked)."""

    owner_type: str  # "person" | "enterprise" | "agent" | "seal"
    serial_number: str
    subject: str
    issuer: str
    not_before: datetime
    not_after: datetime
    status: str  # "active" | "revoked"
    revoked_at: datetime | None
    key_algorithm: str  # "ecdsa-p256" | "sm2"


@dataclass(frozen=True)
class PlatformSignature:
    signature: bytes
    serial_number: str
    certificate_pem: str


class PlatformCertificates(Protocol):
    """certs, for what the platform issues in its own name (the evidence report)."""

    async def platform_sign(self, digest: bytes) -> PlatformSignature:
        """The platform's sealing certificate signs ``digest`` (SHA-256)."""

    async def certificate_by_serial(self, serial_number: str) -> CertificateInfo | None: ...


class CaMaterial(Protocol):
    async def current(self, *, fresh: bool = False) -> CaBundle: ...
