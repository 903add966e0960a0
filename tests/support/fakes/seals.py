"""A fake of the seals service's storage port (``seals.service_layer.ports.SealStorage``).

``FakeSealStorage`` keeps the streams, the state rows folded from them (as the inline
projection ``SealsState`` does), the blobs, the directory and the pending revocations in
memory. A transaction works on a copy that replaces the state only when its block ends
without an exception, like a database transaction; row locks are not modelled (one event
loop, no concurrent writers). The unique indexes of the state tables are:
``GrantExists``, ``SealTypeTaken`` and ``SignatureExists`` as ``PgSealRepository`` raises them.
``services/seals/tests/integration/test_seals_contract.py`` holds it and PostgreSQL to the
same checks.
"""

from __future__ import annotations

import contextlib
import copy
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import TypeVar

from seals.domain.access import AgentRecord
from seals.domain.errors import GrantExists, SealTypeTaken, SignatureExists
from seals.service_layer.ports import (
    EnterpriseInfo,
    GrantedSeal,
    GrantRow,
    Lock,
    Page,
    SealCertificate,
    SealRow,
    SignatureRow,
)

from shared import cursors
from shared.catalog import (
    AuthorizationGranted,
    AuthorizationRevoked,
    AuthorizationUpdated,
    PersonalSignatureCreated,
    PersonalSignatureDeleted,
    SealIssued,
    SealRevoked,
)
from shared.errors import ConcurrencyError
from shared.events import DomainEvent

T = TypeVar("T")


@dataclass
class _Pending:
    reason: str
    next_try: datetime
    attempts: int = 0
    last_error: str = ""


@dataclass
class SealState:
    streams: dict[uuid.UUID, list[DomainEvent]] = field(default_factory=dict)
    seals: dict[uuid.UUID, SealRow] = field(default_factory=dict)
    grants: dict[uuid.UUID, GrantRow] = field(default_factory=dict)
    signatures: dict[uuid.UUID, SignatureRow] = field(default_factory=dict)
    deleted_signatures: set[uuid.UUID] = field(default_factory=set)
    seal_images: dict[uuid.UUID, tuple[bytes, str]] = field(default_factory=dict)
    seal_certificates: dict[uuid.UUID, SealCertificate] = field(default_factory=dict)
    stamp_esls: dict[uuid.UUID, tuple[str, bytes]] = field(default_factory=dict)
    signature_images: dict[uuid.UUID, tuple[bytes, str]] = field(default_factory=dict)
    enterprises: dict[uuid.UUID, EnterpriseInfo] = field(default_factory=dict)
    persons: dict[uuid.UUID, str] = field(default_factory=dict)
    agents: dict[uuid.UUID, AgentRecord] = field(default_factory=dict)  # seed as the consumer would
    pending: dict[uuid.UUID, _Pending] = field(default_factory=dict)
    last_time: datetime = datetime(2026, 1, 1, tzinfo=UTC)

    def now(self) -> datetime:
        """Strictly increasing, as events' occurred_at in one database in practice are."""
        self.last_time = max(datetime.now(UTC), self.last_time + timedelta(microseconds=1))
        return self.last_time


def _page(items: list[T], limit: int, key: tuple[str, str]) -> Page[T]:
    shown = items[:limit]
    if len(items) <= limit:
        return Page(shown, None)
    last = shown[-1]
    return Page(shown, cursors.encode(getattr(last, key[0]), getattr(last, key[1])))


class FakeSealRepository:
    def __init__(self, state: SealState) -> None:
        self.state = state

    # --- streams --------------------------------------------------------------------------

    async def append(self, stream_id: uuid.UUID, stream_type: str, expected_version: int,
                     events: Sequence[DomainEvent], actor: uuid.UUID | None) -> None:
        stream = self.state.streams.setdefault(stream_id, [])
        if len(stream) != expected_version:
            raise ConcurrencyError(f"stream {stream_id} is at {len(stream)}, not {expected_version}")
        for ev in events:
            stream.append(ev)
            self._project(ev, len(stream))

    def _project(self, ev: DomainEvent, version: int) -> None:  # noqa: C901 - one branch per event
        s, at = self.state, self.state.now()
        if isinstance(ev, SealIssued):
            if any(r.enterprise_id == ev.enterprise_id and r.type == ev.type and r.status == "active"
                   for r in s.seals.values()):
                raise SealTypeTaken(ev.type)
            s.seals.setdefault(ev.seal_id, SealRow(
                ev.seal_id, ev.enterprise_id, ev.type, ev.name, "active", ev.image_sha256,
                ev.certificate_serial, ev.issued_by, at, None, None, "", version))
        elif isinstance(ev, SealRevoked):
            s.seals[ev.seal_id] = replace(s.seals[ev.seal_id], status="revoked", revoked_at=ev.revoked_at,
                                          revoked_by=ev.revoked_by, revoke_reason=ev.reason,
                                          version=version)
        elif isinstance(ev, AuthorizationGranted):
            if any(g.seal_id == ev.seal_id and g.person_id == ev.person_id and not g.deleted
                   for g in s.grants.values()):
                raise GrantExists()
            s.grants.setdefault(ev.grant_id, GrantRow(
                ev.grant_id, ev.seal_id, ev.enterprise_id, ev.person_id, ev.person_name,
                ev.id_number_masked, ev.valid_from, ev.valid_to, False, ev.granted_by, at, at, version))
        elif isinstance(ev, AuthorizationUpdated):
            s.grants[ev.grant_id] = replace(s.grants[ev.grant_id], valid_from=ev.valid_from,
                                            valid_to=ev.valid_to, updated_at=at, version=version)
        elif isinstance(ev, AuthorizationRevoked):
            s.grants[ev.grant_id] = replace(s.grants[ev.grant_id], deleted=True, updated_at=at,
                                            version=version)
        elif isinstance(ev, PersonalSignatureCreated):
            if self._live_signature(ev.person_id) is not None:
                raise SignatureExists()
            s.signatures.setdefault(ev.signature_id, SignatureRow(
                ev.signature_id, ev.person_id, ev.method, ev.image_sha256, at, version))
        elif isinstance(ev, PersonalSignatureDeleted):
            s.deleted_signatures.add(ev.signature_id)
            s.signatures[ev.signature_id] = replace(s.signatures[ev.signature_id], version=version)

    async def load(self, stream_id: uuid.UUID) -> list[DomainEvent]:
        return list(self.state.streams.get(stream_id, []))

    # --- seals ----------------------------------------------------------------------------

    async def get_seal(self, seal_id: uuid.UUID, lock: Lock = None) -> SealRow | None:
        return self.state.seals.get(seal_id)

    async def lock_seal_type(self, enterprise_id: uuid.UUID, type_code: str) -> None:
        return None

    async def active_seal_of_type(self, enterprise_id: uuid.UUID, type_code: str) -> SealRow | None:
        return next((r for r in self.state.seals.values() if r.enterprise_id == enterprise_id
                     and r.type == type_code and r.status == "active"), None)

    def _of_enterprise(self, enterprise_id: uuid.UUID) -> list[SealRow]:
        return sorted((r for r in self.state.seals.values() if r.enterprise_id == enterprise_id),
                      key=lambda r: (r.created_at, r.seal_id))

    async def list_seals(self, enterprise_id: uuid.UUID, *, limit: int,
                         after: tuple[datetime, uuid.UUID] | None) -> Page[SealRow]:
        rows = [r for r in reversed(self._of_enterprise(enterprise_id))
                if after is None or (r.created_at, r.seal_id) < after]
        return _page(rows, limit, ("created_at", "seal_id"))

    async def enterprise_seals(self, enterprise_id: uuid.UUID) -> list[SealRow]:
        return self._of_enterprise(enterprise_id)

    async def approvable_seals(self, principal_id: uuid.UUID) -> list[SealRow]:
        return sorted((r for r in self.state.seals.values() if r.approval_required
                       and r.status == "active" and principal_id in r.approvers),
                      key=lambda r: (r.created_at, r.seal_id))

    async def insert_seal_blobs(self, seal_id: uuid.UUID, png: bytes, sha256: str,
                                certificate: SealCertificate) -> None:
        self.state.seal_images[seal_id] = (png, sha256)
        self.state.seal_certificates[seal_id] = certificate

    async def seal_image(self, seal_id: uuid.UUID) -> tuple[bytes, str] | None:
        return self.state.seal_images.get(seal_id)

    async def seal_certificate(self, seal_id: uuid.UUID) -> SealCertificate | None:
        return self.state.seal_certificates.get(seal_id)

    async def stamp_esl(self, seal_id: uuid.UUID, certificate_serial: str) -> bytes | None:
        kept = self.state.stamp_esls.get(seal_id)
        return kept[1] if kept is not None and kept[0] == certificate_serial else None

    async def keep_stamp_esl(self, seal_id: uuid.UUID, certificate_serial: str, der: bytes) -> None:
        self.state.stamp_esls[seal_id] = (certificate_serial, der)

    # --- grants ---------------------------------------------------------------------------

    async def get_grant(self, grant_id: uuid.UUID, lock: Lock = None) -> GrantRow | None:
        return self.state.grants.get(grant_id)

    def _live_grants(self, seal_id: uuid.UUID) -> list[GrantRow]:
        return sorted((g for g in self.state.grants.values() if g.seal_id == seal_id and not g.deleted),
                      key=lambda g: (g.created_at, g.grant_id))

    async def live_grant(self, seal_id: uuid.UUID, person_id: uuid.UUID,
                         lock: Lock = None) -> GrantRow | None:
        return next((g for g in self._live_grants(seal_id) if g.person_id == person_id), None)

    async def list_grants(self, seal_id: uuid.UUID, *, limit: int,
                          after: tuple[datetime, uuid.UUID] | None) -> Page[GrantRow]:
        rows = [g for g in self._live_grants(seal_id)
                if after is None or (g.created_at, g.grant_id) > after]
        return _page(rows, limit, ("created_at", "grant_id"))

    async def usable_grantees(self, seal_id: uuid.UUID, today: date) -> list[uuid.UUID]:
        return [g.person_id for g in self._live_grants(seal_id) if g.valid_from <= today <= g.valid_to]

    async def granted_seals(self, person_id: uuid.UUID, today: date, *,
                            enterprise_id: uuid.UUID | None = None, seal_id: uuid.UUID | None = None,
                            usable_only: bool = False) -> list[GrantedSeal]:
        out = []
        for g in self.state.grants.values():
            seal = self.state.seals.get(g.seal_id)
            if (seal is None or seal.status != "active" or g.person_id != person_id or g.deleted
                    or g.valid_to < today or (usable_only and g.valid_from > today)
                    or enterprise_id not in (None, seal.enterprise_id)
                    or seal_id not in (None, seal.seal_id)):
                continue
            info = self.state.enterprises.get(seal.enterprise_id)
            out.append(GrantedSeal(seal, info.name if info else "", info.uscc if info else "", g))
        return sorted(out, key=lambda x: (x.enterprise_name, x.seal.enterprise_id, x.seal.created_at,
                                          x.seal.seal_id))

    # --- personal signatures --------------------------------------------------------------

    def _live_signature(self, person_id: uuid.UUID) -> SignatureRow | None:
        return next((r for r in self.state.signatures.values() if r.person_id == person_id
                     and r.signature_id not in self.state.deleted_signatures), None)

    async def live_signature(self, person_id: uuid.UUID, lock: Lock = None) -> SignatureRow | None:
        return self._live_signature(person_id)

    async def insert_signature_image(self, signature_id: uuid.UUID, png: bytes, sha256: str) -> None:
        self.state.signature_images[signature_id] = (png, sha256)

    async def delete_signature_image(self, signature_id: uuid.UUID) -> None:
        self.state.signature_images.pop(signature_id, None)

    async def signature_image(self, signature_id: uuid.UUID) -> tuple[bytes, str] | None:
        return self.state.signature_images.get(signature_id)

    # --- directory ------------------------------------------------------------------------

    async def enterprise(self, enterprise_id: uuid.UUID) -> EnterpriseInfo | None:
        return self.state.enterprises.get(enterprise_id)

    async def person_name(self, person_id: uuid.UUID) -> str | None:
        return self.state.persons.get(person_id)

    async def agent(self, agent_id: uuid.UUID) -> AgentRecord | None:
        return self.state.agents.get(agent_id)

    async def record_enterprise(self, info: EnterpriseInfo) -> None:
        self.state.enterprises[info.enterprise_id] = info

    async def record_person(self, person_id: uuid.UUID, name: str) -> None:
        self.state.persons[person_id] = name

    # --- pending certificate revocations --------------------------------------------------

    async def add_pending_revocation(self, seal_id: uuid.UUID, reason: str) -> None:
        self.state.pending.setdefault(seal_id, _Pending(reason, datetime.now(UTC)))

    async def done_pending_revocation(self, seal_id: uuid.UUID) -> None:
        self.state.pending.pop(seal_id, None)

    async def due_pending_revocations(self, limit: int) -> list[tuple[uuid.UUID, str]]:
        now = datetime.now(UTC)
        due = sorted(((p.next_try, seal_id, p.reason) for seal_id, p in self.state.pending.items()
                      if p.next_try <= now))
        return [(seal_id, reason) for _, seal_id, reason in due[:limit]]

    async def postpone_pending_revocation(self, seal_id: uuid.UUID, error: str) -> None:
        p = self.state.pending.get(seal_id)
        if p is not None:
            wait = min(timedelta(minutes=5), timedelta(seconds=2) * 2 ** min(p.attempts, 8))
            p.attempts, p.last_error, p.next_try = p.attempts + 1, error[:500], datetime.now(UTC) + wait


class FakeSealStorage:
    def __init__(self) -> None:
        self.state = SealState()

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[FakeSealRepository]:
        work = copy.deepcopy(self.state)
        yield FakeSealRepository(work)
        self.state = work  # only when the block ended without an exception

    @contextlib.asynccontextmanager
    async def connection(self) -> AsyncIterator[FakeSealRepository]:
        yield FakeSealRepository(self.state)
