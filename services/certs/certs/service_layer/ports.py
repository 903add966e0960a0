"""The ports certs depends on; adapters implement them, fakes stand in for tests.

- ``PrincipalDirectory`` (identity): who a principal is, the data a certificate subject and
  the activation SMS need (``PrincipalRecord``).
- ``SmsSender``: the activation code to the principal's phone.
- ``FaceChecks`` (identity): a passed face check's single-use token, consumed for an
  operation (the certificate password reset: purpose ``reset_certificate``).
- ``Clock``: the service's one clock (sandbox mode may move it forward).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict

from certs.domain.errors import EnterpriseNotVerified, IdentityIncomplete
from certs.domain.subjects import AgentSubject, EnterpriseSubject, PersonSubject, UserSubject


class Clock(Protocol):
    def now(self) -> datetime: ...


class SmsSender(Protocol):
    async def send(self, phone: str, text: str, sent_at: datetime) -> str | None:
        """Sends; the provider's message id when its delivery is reported (else None)."""
        ...


class PrincipalRecord(BaseModel):
    """identity's answer (docs/INTERNAL_API.md); unknown fields are ignored."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    id: uuid.UUID
    role: Literal["person", "enterprise", "agent"]
    name: str
    phone: str | None = None
    id_type: str | None = None
    id_number: str | None = None
    enterprise_id: uuid.UUID | None = None
    enterprise_name: str | None = None
    enterprise_uscc: str | None = None
    legal_representative_name: str | None = None
    removed: bool = False  # an agent the enterprise removed (identity keeps the row)
    # identity's proofing; absent (an identity from before it) counts as not verified
    verification: str | None = None

    def require_verified(self) -> None:
        """An enterprise gets its certificate only after identity verified it (business
        registry at registration, then the legal representative's face)."""
        if self.role == "enterprise" and self.verification != "verified":
            raise EnterpriseNotVerified()

    def require_phone(self) -> str:
        if not self.phone:
            raise IdentityIncomplete("phone")
        return self.phone

    def subject(self) -> UserSubject:
        """Person: name + ID number; enterprise: name + USCC; agent: both and the enterprise."""
        if self.role == "person":
            return PersonSubject(name=self.name, id_number=self._need("id_number", self.id_number))
        uscc = self._need("enterprise_uscc", self.enterprise_uscc)
        if self.role == "enterprise":
            return EnterpriseSubject(name=self.enterprise_name or self.name, uscc=uscc)
        return AgentSubject(
            name=self.name, id_number=self._need("id_number", self.id_number),
            enterprise_name=self._need("enterprise_name", self.enterprise_name), uscc=uscc,
        )

    @property
    def owner_enterprise_id(self) -> uuid.UUID | None:
        if self.role == "enterprise":
            return self.enterprise_id or self.id
        return self.enterprise_id

    @staticmethod
    def _need(name: str, value: str | None) -> str:
        if not value or not value.strip():
            raise IdentityIncomplete(name)
        return value


class PrincipalDirectory(Protocol):
    async def get(self, principal_id: uuid.UUID) -> PrincipalRecord: ...


class FaceChecks(Protocol):
    async def consume(self, face_token: str, subject_id: uuid.UUID, purpose: str) -> None:
        """Use the token once for ``subject_id`` doing ``purpose``; identity's refusal
        (``face_token_invalid``/``_used``/``_expired``/``_mismatch``) is raised as it came."""
