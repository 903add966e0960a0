"""Identity's private events (audit trail of logins; never published).

The public ones (PersonRegistered, EnterpriseRegistered, SessionsRevoked) are in
``shared.catalog``. All of them live on the ``login-<principal id>`` stream except the
registration events, which start the person / enterprise stream. No secret, no full ID or
phone number appears in any of them.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from shared.events import DomainEvent, event


@event("AgentLoginCreated", producer="identity", stream_type="login", public=False)
class AgentLoginCreated(DomainEvent):
    agent_id: uuid.UUID
    enterprise_id: uuid.UUID
    valid_from: date
    valid_to: date
    can_manage: bool
    phone_masked: str


@event("AgentLoginUpdated", producer="identity", stream_type="login", public=False)
class AgentLoginUpdated(DomainEvent):
    agent_id: uuid.UUID
    valid_from: date
    valid_to: date
    can_manage: bool


@event("AgentLoginPasswordChanged", producer="identity", stream_type="login", public=False)
class AgentLoginPasswordChanged(DomainEvent):
    agent_id: uuid.UUID


@event("AgentLoginRemoved", producer="identity", stream_type="login", public=False)
class AgentLoginRemoved(DomainEvent):
    agent_id: uuid.UUID


@event("LoginLocked", producer="identity", stream_type="login", public=False)
class LoginLocked(DomainEvent):
    principal_id: uuid.UUID
    locked_until: datetime


def login_stream(principal_id: uuid.UUID) -> str:
    """Stream of a principal's login events (distinct from its person/enterprise stream)."""
    return f"login-{principal_id}"


@event("OidcIdentityBound", producer="identity", stream_type="login", public=False)
class OidcIdentityBound(DomainEvent):
    """The provider's subject now logs in as this account (bound by the verified ID number)."""

    principal_id: uuid.UUID
    issuer: str
    subject: str


# Proofing at registration (docs/ARCHITECTURE.md, "Proofing"). The public outcomes,
# PersonVerified and EnterpriseVerified, are in shared.catalog.

PROOFING_STREAM = "proofing"  # a refused registration: a stream of its own, no account


@event("PersonVerificationPending", producer="identity", stream_type="person", public=False)
class PersonVerificationPending(DomainEvent):
    """Registered while the real-name provider could not answer: cannot log in until a
    login's retry of the check passes."""

    person_id: uuid.UUID


@event("PersonVerificationFailed", producer="identity", stream_type=PROOFING_STREAM, public=False)
class PersonVerificationFailed(DomainEvent):
    """The three-element check refused: at registration (``person_id`` None, nothing
    registered) or at a pending account's login (on its ``login-`` stream). ``field`` is the
    kind of element that did not match."""

    person_id: uuid.UUID | None = None
    field: str
    id_number_masked: str


@event("EnterpriseRegistryVerified", producer="identity", stream_type="enterprise", public=False)
class EnterpriseRegistryVerified(DomainEvent):
    """The business registry confirmed name, USCC and legal representative at registration;
    the legal representative's face check is still to come."""

    enterprise_id: uuid.UUID
    registry: str


@event("EnterpriseVerificationFailed", producer="identity", stream_type=PROOFING_STREAM, public=False)
class EnterpriseVerificationFailed(DomainEvent):
    """The business registry refused a registration (nothing registered)."""

    uscc: str
    field: str
