"""The ports of the identity service layer: what it needs from the world, as Protocols.

Adapters: ``adapters.repository`` (PostgreSQL, through ``shared.unit_of_work``),
``adapters.passwords`` (Argon2), ``adapters.signing`` (ES256 access tokens),
``adapters.face_provider``. In-memory fakes for the service-layer tests:
``tests/support/fakes/identity.py``; ``tests/integration/test_identity_contract.py`` holds
the fake repository and the PostgreSQL one to the same checks.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol

from shared.auth import Principal
from shared.events import DomainEvent
from shared.lockout import LockState

from ..domain.accounts import Account
from ..domain.face import FaceCheck, FacePerson

Row = Mapping[str, Any]


class AccountConflict(Exception):
    """An account's unique element (``field``: id_number, phone, uscc) is another's already."""

    def __init__(self, field: str) -> None:
        super().__init__(field)
        self.field = field


class OidcBindingConflict(Exception):
    """The account is bound to another subject at this issuer already."""


class IdentityRepository(Protocol):
    """identity's streams and tables, in one unit of work (see ``IdentityStorage``)."""

    # streams
    async def append(self, stream_id: str | uuid.UUID, stream_type: str, expected_version: int,
                     events: Sequence[DomainEvent]) -> None:
        """Append (``ConcurrencyError`` when stale) and apply the inline projections."""

    async def append_login(self, principal_id: uuid.UUID, events: Sequence[DomainEvent]) -> None:
        """Append to ``login-<principal>`` at its current version (caller holds the row lock)."""

    async def set_login_version(self, account_id: uuid.UUID, version: int) -> None:
        """Where ``login-<account>`` stands (kept on the account row)."""

    # accounts
    async def registered_field(self, role: str, id_number: str | None, phone: str | None,
                               uscc: str | None) -> str | None:
        """Which element of a new person (id_number, phone) or enterprise (uscc) is taken. A
        person's account still ``pending_verification`` does not take them: a verified
        registration supersedes it (``withdraw_pending_persons``)."""

    async def withdraw_pending_persons(self, id_number: str, phone: str) -> list[uuid.UUID]:
        """Delete the persons' accounts still ``pending_verification`` that hold this ID
        number or phone and never had a session; their ids."""

    async def insert_account(self, account: Account, *, person_key: str | None = None) -> None:
        """``AccountConflict`` when a unique element (or the id) is taken."""

    async def get_account(self, account_id: uuid.UUID, *, for_update: bool = False) -> Account | None: ...

    async def find_login(self, role: str, username: str, enterprise_uscc: str | None) -> Account | None:
        """The account a username designates for ``role`` (removed agents excluded)."""

    async def find_enterprise(self, enterprise_id: uuid.UUID) -> Account | None: ...

    async def save_lock(self, account_id: uuid.UUID, state: LockState) -> None: ...

    async def replace_password_hash(self, account_id: uuid.UUID, old_hash: str, new_hash: str) -> None:
        """Swap in a re-made hash of the same password, unless the password changed meanwhile."""

    async def update_agent(self, agent_id: uuid.UUID, **changes: Any) -> None:
        """Set columns of an agent's account (valid_from, valid_to, can_manage, password_hash,
        removed_at)."""

    async def person_by_elements(self, id_number: str) -> Row | None:
        """``id`` and ``name`` of the person holding ``id_number``."""

    async def me(self, principal_id: uuid.UUID, session_id: uuid.UUID) -> Row | None:
        """phone, certificate_status, valid_from, valid_to, can_manage, enterprise_uscc, if the
        session is live and the account not removed."""

    async def set_verified(self, account_id: uuid.UUID) -> bool:
        """Mark a ``pending_verification`` account ``verified``; whether it changed now."""

    async def set_certificate_status(self, principal_id: uuid.UUID, status: str,
                                     certificate_id: uuid.UUID | None = None) -> None:
        """``active`` with the issued certificate; ``none`` when ``certificate_id`` (the
        revoked one) is the current one, or either is unknown."""

    # sessions
    async def create_session(self, session_id: uuid.UUID, principal_id: uuid.UUID, method: str,
                             client_ip: str | None) -> None: ...

    async def add_refresh_token(self, token_hash: bytes, session_id: uuid.UUID,
                                expires_at: datetime) -> None: ...

    async def use_refresh_token(self, token_hash: bytes, now: datetime) -> Row | None:
        """Mark an unused token used (only one caller gets it): session_id, expires_at,
        principal_id, revoked_at (of the session), method."""

    async def replayed_refresh_token(self, token_hash: bytes) -> uuid.UUID | None:
        """The principal whose already-used refresh token is presented again."""

    async def revoke_session(self, session_id: uuid.UUID, now: datetime) -> bool:
        """Whether a live session was ended now."""

    async def session_live(self, principal_id: uuid.UUID, session_id: uuid.UUID) -> bool: ...

    async def revoke_sessions_of(self, principal_id: uuid.UUID, now: datetime) -> None: ...

    async def recent_revocations(self, since: datetime) -> list[Row]:
        """principal_id, session_id, reason, revoked_before of SessionsRevoked since ``since``."""

    # face checks
    async def insert_face_check(self, check: FaceCheck) -> None: ...

    async def face_check_for_update(self, check_id: uuid.UUID) -> FaceCheck | None: ...

    async def face_check_by_token(self, token_hash: bytes) -> FaceCheck | None: ...

    async def save_face_check(self, check: FaceCheck, token_hash: bytes | None = None) -> None: ...

    # throttling
    async def count_hit(self, key: str, window_start: datetime) -> int:
        """Count one hit in the window; the count after it."""

    async def current_count(self, key: str, window_start: datetime) -> int: ...

    # unified identity login (OpenID Connect)
    async def find_person(self, id_number: str) -> Account | None:
        """The person registered with this (normalised) ID number."""

    async def insert_oidc_login(self, state: str, nonce: str, code_verifier: str,
                                expires_at: datetime) -> None: ...

    async def use_oidc_login(self, state: str, now: datetime) -> Row | None:
        """Mark a login's state used (only one caller gets it): nonce, code_verifier, expires_at."""

    async def oidc_login_used(self, state: str) -> bool:
        """Whether this state exists and was used already (a replay)."""

    async def oidc_binding(self, issuer: str, subject: str) -> uuid.UUID | None: ...

    async def bind_oidc(self, issuer: str, subject: str, principal_id: uuid.UUID) -> None:
        """``OidcBindingConflict`` when the subject or the account (at this issuer) is bound."""


class IdentityStorage(Protocol):
    """Where repositories come from: in a transaction (commands) or not (reads, one statement)."""

    def transaction(self) -> AbstractAsyncContextManager[IdentityRepository]:
        """Everything done through the repository commits together, or nothing does."""

    def connection(self) -> AbstractAsyncContextManager[IdentityRepository]:
        """No transaction: each statement commits on its own."""


class PasswordHasher(Protocol):
    async def hash(self, password: str) -> str: ...

    async def verify(self, password_hash: str | None, password: str) -> bool:
        """False for ``None`` too, after as much work as a real check."""

    def needs_rehash(self, password_hash: str) -> bool: ...


class AccessTokenSigner(Protocol):
    def access_token(self, principal: Principal, issued_at: datetime, expires_at: datetime) -> str: ...

    def jwks(self) -> dict[str, Any]: ...


@dataclass(frozen=True)
class FaceBegun:
    """What the client needs to run the check (``client``, e.g. the provider's H5 URL) and
    the provider's reference of it (kept server-side to fetch the result)."""

    client: dict[str, Any]
    provider_ref: str | None = None


FaceResult = Literal["passed", "failed", "pending"]


class OidcProvider(Protocol):
    """The external OpenID Connect provider of 统一身份认证 login (``adapters.oidc``)."""

    issuer: str

    async def authorization_url(self, state: str, nonce: str, code_challenge: str) -> str:
        """Where the browser goes to log in (authorization code flow, PKCE S256)."""

    async def exchange(self, code: str, code_verifier: str, nonce: str) -> dict[str, Any]:
        """The verified ID token claims the code is worth (``OidcLoginRefused`` otherwise)."""


@dataclass(frozen=True)
class ProofingResult:
    """A provider's verdict on a set of elements; a refusal names the kind of element that
    did not match (``name``, ``id_number``, ``phone``; for enterprises ``name``, ``uscc``,
    ``legal_representative.name``), never the values on record."""

    verified: bool
    field: str = ""
    reason: str = ""


class ProofingUnavailable(Exception):
    """The provider gave no usable answer (outage, quota, timeout): no verdict either way."""


class RealNameVerifier(Protocol):
    """实名核验 of a natural person (``adapters.proofing``): the public-security identity
    service behind a provider (Tencent Cloud 慧眼 ``PhoneVerification`` is the three-element
    check of the same elements)."""

    name: str

    async def verify_three(self, name: str, id_type: str, id_number: str, phone: str) -> ProofingResult:
        """Name, ID number and phone belong together; ``ProofingUnavailable`` without an answer."""


class BusinessRegistry(Protocol):
    """The business registry (国家企业信用信息 / 工商登记) behind a provider
    (``adapters.proofing``): whether an enterprise of this name holds this USCC with this
    legal representative (by name; providers that check 企业四要素 also by the legal
    representative's ID number)."""

    name: str

    async def verify_enterprise(self, name: str, uscc: str, legal_representative_name: str,
                                legal_representative_id_number: str) -> ProofingResult:
        """``ProofingUnavailable`` without an answer."""


class FaceProvider(Protocol):
    """The face verification provider: told that a check began; it decides pass or fail."""

    name: str

    async def begin(self, check: FaceCheck, person: FacePerson | None) -> FaceBegun:
        """Start the check at the provider for ``person`` (None: an anonymous login naming
        nobody); returns what the client needs to run it."""

    async def result(self, check: FaceCheck, person: FacePerson | None) -> FaceResult:
        """The provider's verdict fetched server-side (``pending`` until the person finished),
        matched to ``person``'s name and ID number; providers whose verdicts arrive another
        way (the sandbox endpoints) answer ``pending``."""
