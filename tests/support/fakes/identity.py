"""Fakes of the identity service's ports (``identity.service_layer.ports``).

``FakeIdentityStorage`` keeps accounts, streams, sessions, refresh tokens, face checks,
throttle counters and the revocations projection in memory, with the unique rules of
identity's tables; a transaction works on a copy that replaces the state only when its
block ends without an exception. ``FakeFaces`` is a face provider that starts every check;
``FakeProofing`` the real-name provider and business registry.
Passwords and token signing are pure and fast enough to use the real adapters
(``Argon2Passwords(FAST_TEST_PARAMS)``, ``TokenSigner``).
"""

from __future__ import annotations

import contextlib
import copy
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from identity.domain.accounts import Account
from identity.domain.events import login_stream
from identity.domain.face import FaceCheck, FacePerson
from identity.service_layer.ports import (
    AccountConflict,
    FaceBegun,
    FaceResult,
    OidcBindingConflict,
    ProofingResult,
    ProofingUnavailable,
    Row,
)

from shared.catalog import SessionsRevoked
from shared.errors import ConcurrencyError
from shared.events import DomainEvent
from shared.lockout import LockState


@dataclass
class _Account:
    account: Account
    person_key: str | None = None
    certificate_status: str = "none"
    certificate_id: uuid.UUID | None = None
    login_version: int = 0
    removed_at: datetime | None = None


@dataclass
class IdentityState:
    accounts: dict[uuid.UUID, _Account] = field(default_factory=dict)
    streams: dict[str, list[DomainEvent]] = field(default_factory=dict)
    sessions: dict[uuid.UUID, dict[str, Any]] = field(default_factory=dict)
    refresh_tokens: dict[bytes, dict[str, Any]] = field(default_factory=dict)
    revocations: list[dict[str, Any]] = field(default_factory=list)
    face_checks: dict[uuid.UUID, tuple[FaceCheck, bytes | None]] = field(default_factory=dict)
    throttle: dict[tuple[str, datetime], int] = field(default_factory=dict)
    oidc_logins: dict[str, dict[str, Any]] = field(default_factory=dict)
    oidc_bindings: dict[tuple[str, str], uuid.UUID] = field(default_factory=dict)


class FakeIdentityRepository:
    def __init__(self, state: IdentityState) -> None:
        self.s = state

    # streams
    async def append(self, stream_id: str | uuid.UUID, stream_type: str, expected_version: int,
                     events: Sequence[DomainEvent]) -> None:
        stream = self.s.streams.setdefault(str(stream_id), [])
        if len(stream) != expected_version:
            raise ConcurrencyError(f"stream {stream_id} is at {len(stream)}, not {expected_version}")
        stream.extend(events)
        now = datetime.now(UTC)
        for ev in events:  # the revocations projection
            if isinstance(ev, SessionsRevoked):
                self.s.revocations.append({"principal_id": ev.principal_id, "session_id": ev.session_id,
                                           "reason": ev.reason, "revoked_before": ev.revoked_before,
                                           "occurred_at": now})

    async def append_login(self, principal_id: uuid.UUID, events: Sequence[DomainEvent]) -> None:
        row = self.s.accounts[principal_id]
        await self.append(login_stream(principal_id), "login", row.login_version, events)
        row.login_version += len(events)

    async def set_login_version(self, account_id: uuid.UUID, version: int) -> None:
        if account_id in self.s.accounts:
            self.s.accounts[account_id].login_version = version

    # accounts
    def _all(self) -> list[Account]:
        return [r.account for r in self.s.accounts.values()]

    async def registered_field(self, role: str, id_number: str | None, phone: str | None,
                               uscc: str | None) -> str | None:
        for a in self._all():
            if a.role == "person" and a.verification == "pending_verification":
                continue
            if role == "person" and a.role == "person" and a.id_number == id_number:
                return "id_number"
            if role == "person" and a.role == "person" and a.phone == phone:
                return "phone"
            if role == "enterprise" and a.role == "enterprise" and a.enterprise_uscc == uscc:
                return "uscc"
        return None

    async def withdraw_pending_persons(self, id_number: str, phone: str) -> list[uuid.UUID]:
        kept = {s["principal_id"] for s in self.s.sessions.values()} | set(self.s.oidc_bindings.values())
        gone = [a.id for a in self._all() if a.role == "person" and a.verification == "pending_verification"
                and (a.id_number == id_number or a.phone == phone) and a.id not in kept]
        for account_id in gone:
            del self.s.accounts[account_id]
        return gone

    async def insert_account(self, account: Account, *, person_key: str | None = None) -> None:
        others = self._all()
        if account.id in self.s.accounts:
            raise AccountConflict("id_number")
        if account.role == "person":
            if any(a.role == "person" and a.id_number == account.id_number for a in others):
                raise AccountConflict("id_number")
            if any(a.role == "person" and a.phone == account.phone for a in others):
                raise AccountConflict("phone")
        if account.role == "enterprise" and any(
                a.role == "enterprise" and a.enterprise_uscc == account.enterprise_uscc for a in others):
            raise AccountConflict("uscc")
        if account.role == "agent" and any(
                a.role == "agent" and not a.removed and a.enterprise_id == account.enterprise_id
                and a.phone == account.phone for a in others):
            raise AccountConflict("id_number")  # accounts_agent_phone is not a registration field
        self.s.accounts[account.id] = _Account(replace(account, removed=False, lock=LockState()),
                                               person_key)

    async def get_account(self, account_id: uuid.UUID, *, for_update: bool = False) -> Account | None:
        row = self.s.accounts.get(account_id)
        return row.account if row else None

    async def find_login(self, role: str, username: str, enterprise_uscc: str | None) -> Account | None:
        for a in self._all():
            if a.role != role:
                continue
            if role == "person" and username in (a.phone, a.id_number):
                return a
            if role == "enterprise" and a.enterprise_uscc == username:
                return a
            if role == "agent" and not a.removed and a.phone == username:
                enterprise = self.s.accounts.get(a.enterprise_id) if a.enterprise_id else None
                if enterprise and enterprise.account.enterprise_uscc == (enterprise_uscc or ""):
                    return a
        return None

    async def find_enterprise(self, enterprise_id: uuid.UUID) -> Account | None:
        row = self.s.accounts.get(enterprise_id)
        return row.account if row and row.account.role == "enterprise" else None

    def _change(self, account_id: uuid.UUID, **changes: Any) -> None:
        row = self.s.accounts.get(account_id)
        if row is not None:
            row.account = replace(row.account, **changes)

    async def save_lock(self, account_id: uuid.UUID, state: LockState) -> None:
        self._change(account_id, lock=state)

    async def replace_password_hash(self, account_id: uuid.UUID, old_hash: str, new_hash: str) -> None:
        row = self.s.accounts.get(account_id)
        if row is not None and row.account.password_hash == old_hash:
            self._change(account_id, password_hash=new_hash)

    async def update_agent(self, agent_id: uuid.UUID, **changes: Any) -> None:
        if "removed_at" in changes:
            removed_at = changes.pop("removed_at")
            if agent_id in self.s.accounts:
                self.s.accounts[agent_id].removed_at = removed_at
            changes["removed"] = removed_at is not None
        self._change(agent_id, **changes)

    async def person_by_elements(self, id_number: str) -> Row | None:
        for a in self._all():
            if a.role == "person" and a.id_number == id_number:
                return {"id": a.id, "name": a.name}
        return None

    async def me(self, principal_id: uuid.UUID, session_id: uuid.UUID) -> Row | None:
        row, session = self.s.accounts.get(principal_id), self.s.sessions.get(session_id)
        if row is None or session is None or session["principal_id"] != principal_id \
                or session["revoked_at"] is not None or row.removed_at is not None:
            return None
        a = row.account
        return {"phone": a.phone, "certificate_status": row.certificate_status, "valid_from": a.valid_from,
                "valid_to": a.valid_to, "can_manage": a.can_manage, "enterprise_uscc": a.enterprise_uscc,
                "verification": a.verification}

    async def set_verified(self, account_id: uuid.UUID) -> bool:
        row = self.s.accounts.get(account_id)
        if row is None or row.account.verified:
            return False
        row.account = replace(row.account, verification="verified")
        return True

    async def set_certificate_status(self, principal_id: uuid.UUID, status: str,
                                     certificate_id: uuid.UUID | None = None) -> None:
        row = self.s.accounts.get(principal_id)
        if row is None:
            return
        if status == "active":
            row.certificate_status, row.certificate_id = "active", certificate_id
        elif certificate_id is None or row.certificate_id in (None, certificate_id):
            row.certificate_status, row.certificate_id = status, None

    # sessions
    async def create_session(self, session_id: uuid.UUID, principal_id: uuid.UUID, method: str,
                             client_ip: str | None) -> None:
        self.s.sessions[session_id] = {"principal_id": principal_id, "method": method,
                                       "client_ip": client_ip, "revoked_at": None}

    async def add_refresh_token(self, token_hash: bytes, session_id: uuid.UUID,
                                expires_at: datetime) -> None:
        self.s.refresh_tokens[token_hash] = {"session_id": session_id, "expires_at": expires_at,
                                             "used_at": None}

    async def use_refresh_token(self, token_hash: bytes, now: datetime) -> Row | None:
        token = self.s.refresh_tokens.get(token_hash)
        if token is None or token["used_at"] is not None:
            return None
        token["used_at"] = now
        session = self.s.sessions[token["session_id"]]
        return {"session_id": token["session_id"], "expires_at": token["expires_at"],
                "principal_id": session["principal_id"], "revoked_at": session["revoked_at"],
                "method": session["method"]}

    async def replayed_refresh_token(self, token_hash: bytes) -> uuid.UUID | None:
        token = self.s.refresh_tokens.get(token_hash)
        if token is None or token["used_at"] is None:
            return None
        principal_id: uuid.UUID = self.s.sessions[token["session_id"]]["principal_id"]
        return principal_id

    async def revoke_session(self, session_id: uuid.UUID, now: datetime) -> bool:
        session = self.s.sessions.get(session_id)
        if session is None or session["revoked_at"] is not None:
            return False
        session["revoked_at"] = now
        return True

    async def session_live(self, principal_id: uuid.UUID, session_id: uuid.UUID) -> bool:
        session = self.s.sessions.get(session_id)
        return session is not None and session["principal_id"] == principal_id \
            and session["revoked_at"] is None

    async def revoke_sessions_of(self, principal_id: uuid.UUID, now: datetime) -> None:
        for session in self.s.sessions.values():
            if session["principal_id"] == principal_id and session["revoked_at"] is None:
                session["revoked_at"] = now

    async def recent_revocations(self, since: datetime) -> list[Row]:
        return [{k: r[k] for k in ("principal_id", "session_id", "reason", "revoked_before")}
                for r in sorted(self.s.revocations, key=lambda r: r["occurred_at"])
                if r["occurred_at"] >= since]

    # face checks
    async def insert_face_check(self, check: FaceCheck) -> None:
        self.s.face_checks[check.id] = (replace(check, status="pending", token_expires_at=None,
                                                used_at=None), None)

    async def face_check_for_update(self, check_id: uuid.UUID) -> FaceCheck | None:
        found = self.s.face_checks.get(check_id)
        return found[0] if found else None

    async def face_check_by_token(self, token_hash: bytes) -> FaceCheck | None:
        return next((check for check, h in self.s.face_checks.values() if h == token_hash), None)

    async def save_face_check(self, check: FaceCheck, token_hash: bytes | None = None) -> None:
        if check.id in self.s.face_checks:
            old = self.s.face_checks[check.id]
            self.s.face_checks[check.id] = (replace(old[0], status=check.status,
                                                    token_expires_at=check.token_expires_at,
                                                    used_at=check.used_at), token_hash or old[1])

    # throttling
    async def count_hit(self, key: str, window_start: datetime) -> int:
        self.s.throttle[key, window_start] = self.s.throttle.get((key, window_start), 0) + 1
        return self.s.throttle[key, window_start]

    async def current_count(self, key: str, window_start: datetime) -> int:
        return self.s.throttle.get((key, window_start), 0)

    # unified identity login
    async def find_person(self, id_number: str) -> Account | None:
        return next((a for a in self._all() if a.role == "person" and a.id_number == id_number), None)

    async def insert_oidc_login(self, state: str, nonce: str, code_verifier: str,
                                expires_at: datetime) -> None:
        self.s.oidc_logins[state] = {"nonce": nonce, "code_verifier": code_verifier,
                                     "expires_at": expires_at, "used_at": None}

    async def use_oidc_login(self, state: str, now: datetime) -> Row | None:
        login = self.s.oidc_logins.get(state)
        if login is None or login["used_at"] is not None:
            return None
        login["used_at"] = now
        return {k: login[k] for k in ("nonce", "code_verifier", "expires_at")}

    async def oidc_login_used(self, state: str) -> bool:
        login = self.s.oidc_logins.get(state)
        return login is not None and login["used_at"] is not None

    async def oidc_binding(self, issuer: str, subject: str) -> uuid.UUID | None:
        return self.s.oidc_bindings.get((issuer, subject))

    async def bind_oidc(self, issuer: str, subject: str, principal_id: uuid.UUID) -> None:
        taken = {(i, p) for (i, _), p in self.s.oidc_bindings.items()}
        if (issuer, subject) in self.s.oidc_bindings or (issuer, principal_id) in taken:
            raise OidcBindingConflict()
        self.s.oidc_bindings[issuer, subject] = principal_id


class FakeIdentityStorage:
    def __init__(self) -> None:
        self.state = IdentityState()

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[FakeIdentityRepository]:
        work = copy.deepcopy(self.state)
        yield FakeIdentityRepository(work)
        self.state = work  # only when the block ended without an exception

    @contextlib.asynccontextmanager
    async def connection(self) -> AsyncIterator[FakeIdentityRepository]:
        yield FakeIdentityRepository(self.state)


class FakeFaces:
    """A face provider that starts every check; the verdict comes from the test: through
    ``face_checks.record_verdict``, or as ``verdict`` (what ``result`` answers)."""

    name = "fake"

    def __init__(self) -> None:
        self.begun: list[tuple[FaceCheck, FacePerson | None]] = []
        self.verdict: FaceResult = "pending"

    async def begin(self, check: FaceCheck, person: FacePerson | None) -> FaceBegun:
        self.begun.append((check, person))
        return FaceBegun({"provider": "fake"}, provider_ref=f"ref-{check.id}")

    async def result(self, check: FaceCheck, person: FacePerson | None) -> FaceResult:
        return self.verdict


class FakeProofing:
    """identity's ``RealNameVerifier`` and ``BusinessRegistry`` at once: verifies everything
    unless told to refuse (``refuse = "phone"``) or to be out (``out = True``); counts calls."""

    name = "fake"

    def __init__(self) -> None:
        self.refuse: str | None = None
        self.out = False
        self.calls: list[tuple[str, ...]] = []

    def _verdict(self) -> ProofingResult:
        if self.out:
            raise ProofingUnavailable("fake outage")
        if self.refuse:
            return ProofingResult(False, self.refuse, f"{self.refuse} does not match")
        return ProofingResult(True)

    async def verify_three(self, name: str, id_type: str, id_number: str, phone: str) -> ProofingResult:
        self.calls.append((name, id_type, id_number, phone))
        return self._verdict()

    async def verify_enterprise(self, name: str, uscc: str, legal_representative_name: str,
                                legal_representative_id_number: str) -> ProofingResult:
        self.calls.append((name, uscc, legal_representative_name, legal_representative_id_number))
        return self._verdict()
