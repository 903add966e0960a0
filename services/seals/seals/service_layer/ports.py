"""The ports of the seals service layer: its storage and the services it asks synchronously.

``SealStorage``/``SealRepository``: the seals database (``adapters.repository``, PostgreSQL
through ``shared.unit_of_work``), with the records it answers in. The other services are
small ports: HTTP adapters (``adapters/remote.py``) implement them against identity and
certs (docs/INTERNAL_API.md). Errors are ``EsealError``s: a remote problem keeps its status
and ``code`` (``shared.internal.RemoteError``), an unreachable service is 503. In-memory
fakes: ``tests/support/fakes/seals.py`` (storage) and ``tests/support/harnesses/seals.py``;
``services/seals/tests/integration/test_seals_contract.py`` holds the storage fake and
PostgreSQL to the same checks.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Generic, Literal, Protocol, TypeVar

from shared.events import DomainEvent

from ..domain.access import AgentRecord
from ..domain.grant import Grant, Window
from ..domain.seal import Seal

FacePurpose = Literal["issue_seal", "revoke_seal", "approve_stamp"]


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
    timestamp_token_b64: str = ""  # certs' RFC 3161 token over the signature, when asked for


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

    async def sign(self, seal_id: uuid.UUID, digest: bytes, *, timestamp: bool = False) -> SealSignature:
        """Sign a digest with the seal's key; 409 ``certificate_revoked`` once revoked.
        ``timestamp``: with certs' TSA token over the signature value (when it can make one)."""

    async def sign_sm2(self, seal_id: uuid.UUID, digest: bytes, *, timestamp: bool = False) -> SealSignature:
        """Sign e = SM3(Z‖M) with the seal's SM2 key (GB/T 38540 signatures of OFDs); 409
        ``certificate_revoked`` once revoked. ``timestamp`` as for ``sign``."""

    async def revoke_seal_certificate(self, seal_id: uuid.UUID, reason: str) -> None:
        """Revoke the seal's certificate (safe to repeat)."""

    async def make_esl(self, request: EslRequest) -> bytes:
        """The seal's ``SES_Seal`` V4 DER signed by the seal-making certificate; 409
        ``certificate_revoked`` once the seal certificate is revoked."""


# --- storage ------------------------------------------------------------------------------

# The row lock a read takes: ``share`` (stamping: the row may not change until we commit) or
# ``update`` (revocation, grant changes: wait for every stamping transaction holding a share
# lock, and keep new ones out until we commit).
Lock = Literal["share", "update"] | None


@dataclass(frozen=True)
class SealRow:
    seal_id: uuid.UUID
    enterprise_id: uuid.UUID
    type: str
    name: str
    status: Literal["active", "revoked"]
    image_sha256: str
    certificate_serial: str
    issued_by: uuid.UUID
    created_at: datetime
    revoked_at: datetime | None
    revoked_by: uuid.UUID | None
    revoke_reason: str
    version: int
    approval_required: bool = False  # 用印审批
    approvers: tuple[uuid.UUID, ...] = ()

    def aggregate(self) -> Seal:
        return Seal(self.seal_id, self.enterprise_id, self.type, self.name, self.status,
                    self.version, self.revoked_at, self.approval_required, self.approvers)


@dataclass(frozen=True)
class GrantRow:
    grant_id: uuid.UUID
    seal_id: uuid.UUID
    enterprise_id: uuid.UUID
    person_id: uuid.UUID
    person_name: str
    id_number_masked: str
    valid_from: date
    valid_to: date
    deleted: bool
    granted_by: uuid.UUID
    created_at: datetime
    updated_at: datetime
    version: int

    @property
    def window(self) -> Window:
        return Window(self.valid_from, self.valid_to)

    def aggregate(self) -> Grant:
        return Grant(self.grant_id, self.seal_id, self.enterprise_id, self.person_id,
                     self.window, self.deleted, self.version)


@dataclass(frozen=True)
class SignatureRow:
    signature_id: uuid.UUID
    person_id: uuid.UUID
    method: Literal["handwritten", "generated"]
    image_sha256: str
    created_at: datetime
    version: int


@dataclass(frozen=True)
class GrantedSeal:
    """A seal as a grantee sees it: the seal, its enterprise, and the person's grant."""

    seal: SealRow
    enterprise_name: str
    enterprise_uscc: str
    grant: GrantRow


T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None


class SealRepository(Protocol):
    """The seals database in one unit of work: the streams of seals, grants and signatures
    with their state tables (an inline projection), the blobs, the directory, pending work."""

    # streams
    async def append(self, stream_id: uuid.UUID, stream_type: str, expected_version: int,
                     events: Sequence[DomainEvent], actor: uuid.UUID | None) -> None:
        """Append and fold into the state tables (``ConcurrencyError`` when stale;
        ``GrantExists`` for a second live grant of a seal to a person, ``SealTypeTaken``
        for a second active seal of a type in an enterprise, ``SignatureExists`` for a
        person's second signature)."""

    async def load(self, stream_id: uuid.UUID) -> list[DomainEvent]: ...

    # seals
    async def get_seal(self, seal_id: uuid.UUID, lock: Lock = None) -> SealRow | None: ...

    async def lock_seal_type(self, enterprise_id: uuid.UUID, type_code: str) -> None:
        """Until the transaction ends, others applying for this type in the enterprise wait."""

    async def active_seal_of_type(self, enterprise_id: uuid.UUID, type_code: str) -> SealRow | None: ...

    async def list_seals(self, enterprise_id: uuid.UUID, *, limit: int,
                         after: tuple[datetime, uuid.UUID] | None) -> Page[SealRow]:
        """Newest first."""

    async def approvable_seals(self, principal_id: uuid.UUID) -> list[SealRow]: ...

    async def enterprise_seals(self, enterprise_id: uuid.UUID) -> list[SealRow]:
        """Oldest first, revoked ones too."""

    async def insert_seal_blobs(self, seal_id: uuid.UUID, png: bytes, sha256: str,
                                certificate: SealCertificate) -> None: ...

    async def seal_image(self, seal_id: uuid.UUID) -> tuple[bytes, str] | None: ...

    async def seal_certificate(self, seal_id: uuid.UUID) -> SealCertificate | None: ...

    async def stamp_esl(self, seal_id: uuid.UUID, certificate_serial: str) -> bytes | None:
        """The stamp's SES_Seal kept for this seal certificate (None: none yet, or made for an
        earlier certificate)."""

    async def keep_stamp_esl(self, seal_id: uuid.UUID, certificate_serial: str, der: bytes) -> None:
        """Keep (or replace) the seal's stamp SES_Seal, made for this certificate."""

    # grants
    async def get_grant(self, grant_id: uuid.UUID, lock: Lock = None) -> GrantRow | None: ...

    async def live_grant(self, seal_id: uuid.UUID, person_id: uuid.UUID,
                         lock: Lock = None) -> GrantRow | None:
        """The person's grant of the seal not deleted (at most one)."""

    async def list_grants(self, seal_id: uuid.UUID, *, limit: int,
                          after: tuple[datetime, uuid.UUID] | None) -> Page[GrantRow]:
        """The seal's live grants, oldest first."""

    async def usable_grantees(self, seal_id: uuid.UUID, today: date) -> list[uuid.UUID]:
        """Persons whose live grant of the seal covers ``today``: who may use it now."""

    async def granted_seals(self, person_id: uuid.UUID, today: date, *,
                            enterprise_id: uuid.UUID | None = None, seal_id: uuid.UUID | None = None,
                            usable_only: bool = False) -> list[GrantedSeal]:
        """Active seals granted to a person by a live grant not over yet (pending ones too,
        unless ``usable_only``: then only grants whose window covers ``today``)."""

    # personal signatures
    async def live_signature(self, person_id: uuid.UUID, lock: Lock = None) -> SignatureRow | None: ...

    async def insert_signature_image(self, signature_id: uuid.UUID, png: bytes, sha256: str) -> None: ...

    async def delete_signature_image(self, signature_id: uuid.UUID) -> None: ...

    async def signature_image(self, signature_id: uuid.UUID) -> tuple[bytes, str] | None: ...

    # the directory (other services' events)
    async def enterprise(self, enterprise_id: uuid.UUID) -> EnterpriseInfo | None: ...

    async def person_name(self, person_id: uuid.UUID) -> str | None: ...

    async def agent(self, agent_id: uuid.UUID) -> AgentRecord | None: ...

    async def record_enterprise(self, info: EnterpriseInfo) -> None:
        """Remember what identity answered, until the enterprise's events arrive."""

    async def record_person(self, person_id: uuid.UUID, name: str) -> None:
        """Remember a person's name identity answered (a known masked ID number stays)."""

    # pending certificate revocations
    async def add_pending_revocation(self, seal_id: uuid.UUID, reason: str) -> None: ...

    async def done_pending_revocation(self, seal_id: uuid.UUID) -> None: ...

    async def due_pending_revocations(self, limit: int) -> list[tuple[uuid.UUID, str]]:
        """Claims due rows (another replica skips them while we hold the transaction)."""

    async def postpone_pending_revocation(self, seal_id: uuid.UUID, error: str) -> None: ...


class SealStorage(Protocol):
    """Where repositories come from: in a transaction (commands) or not (queries)."""

    def transaction(self) -> AbstractAsyncContextManager[SealRepository]:
        """Everything done through the repository commits together, or nothing does."""

    def connection(self) -> AbstractAsyncContextManager[SealRepository]:
        """Reads (and single statements), no transaction."""
