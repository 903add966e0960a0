"""The other services seals asks synchronously, as small ports.

HTTP adapters (``adapters/remote.py``) implement them against identity and certs
(docs/INTERNAL_API.md); tests use fakes. Errors are ``EsealError``s: a remote problem keeps
its status and ``code`` (``shared.internal.RemoteError``), an unreachable service is 503.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, Protocol

from ..domain.access import AgentRecord

FacePurpose = Literal["issue_seal", "revoke_seal"]


class FaceTokens(Protocol):
    async def consume(self, face_token: str, subject_id: uuid.UUID, purpose: FacePurpose) -> None:
        """Use a face token once for ``subject_id`` doing ``purpose``; raises if refused."""


@dataclass(frozen=True)
class MatchedPerson:
    person_id: uuid.UUID
    name: str


@dataclass(frozen=True)
class EnterpriseInfo:
    enterprise_id: uuid.UUID
    name: str
    uscc: str
    legal_representative_name: str


class PersonRegistry(Protocol):
    async def match(self, name: str, id_type: str, id_number: str) -> MatchedPerson:
        """The registered person with this name and ID; 422 ``person_not_registered``."""

    async def person_name(self, person_id: uuid.UUID) -> str | None:
        """A registered person's name (None if identity does not know them)."""

    async def enterprise(self, enterprise_id: uuid.UUID) -> EnterpriseInfo | None:
        """An enterprise account's registered data (None if unknown)."""

    async def agent(self, agent_id: uuid.UUID) -> AgentRecord | None:
        """An agent login as identity keeps it (the agents service updates it synchronously);
        asked only while agents' events have not reached seals yet. None if unknown."""


@dataclass(frozen=True)
class SealCertificateRequest:
    seal_id: uuid.UUID
    enterprise_id: uuid.UUID
    enterprise_name: str
    enterprise_uscc: str
    seal_name: str
    seal_type: str
    seal_type_label: str


@dataclass(frozen=True)
class SealCertificate:
    certificate_id: str
    serial_number: str
    certificate_pem: str
    chain_pem: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class SealSignature:
    signature_b64: str
    algorithm: str
    serial_number: str
    # SM2 signatures name their certificate (the seal's SM2 twin) and its chain; for ECDSA
    # seals answers with the seal certificate it keeps.
    certificate_pem: str = ""
    chain_pem: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class EslRequest:
    """A seal as GB/T 38540 describes it; certs adds the certificates and signs it."""

    seal_id: uuid.UUID
    name: str
    seal_type: int  # 1 organisation seal, 2 personal seal (GB/T 38540 property.type)
    picture_png: bytes
    width_mm: int
    height_mm: int
    created_at: datetime
    signer_principal_ids: list[uuid.UUID]


CertificateStatus = Literal["none", "active", "locked"]


class CertificateAuthority(Protocol):
    async def certificate_status(self, principal_id: uuid.UUID) -> CertificateStatus:
        """Whether a principal has activated its personal certificate."""

    async def issue_seal_certificate(self, request: SealCertificateRequest) -> SealCertificate:
        """A certificate and key for a seal (idempotent per seal id)."""

    async def sign(self, seal_id: uuid.UUID, digest: bytes) -> SealSignature:
        """Sign a digest with the seal's key; 409 ``certificate_revoked`` once revoked."""

    async def sign_sm2(self, seal_id: uuid.UUID, digest: bytes) -> SealSignature:
        """Sign e = SM3(Z‖M) with the seal's SM2 key (GB/T 38540 signatures of OFDs); 409
        ``certificate_revoked`` once revoked."""

    async def revoke_seal_certificate(self, seal_id: uuid.UUID, reason: str) -> None:
        """Revoke the seal's certificate (safe to repeat)."""

    async def make_esl(self, request: EslRequest) -> bytes:
        """The seal's ``SES_Seal`` V4 DER signed by the seal-making certificate; 409
        ``certificate_revoked`` once the seal certificate is revoked."""
