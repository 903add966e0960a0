"""Who a principal is, as identity knows it: the port and its HTTP adapter.

Certs asks identity (``GET /internal/principals/{id}``) for the data a certificate
subject and the activation SMS need. The full ID number and phone travel only on this
internal call and are never logged.
"""

from __future__ import annotations

import uuid
from typing import Literal, Protocol

from aiohttp import web
from pydantic import BaseModel, ConfigDict

from certs.domain.errors import IdentityIncomplete, PrincipalNotFound
from certs.domain.subjects import AgentSubject, EnterpriseSubject, PersonSubject, UserSubject
from shared.internal import RemoteError
from shared.service import client


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


class IdentityDirectory:
    """The adapter calling identity with internal authentication."""

    def __init__(self, app: web.Application) -> None:
        self._app = app

    async def get(self, principal_id: uuid.UUID) -> PrincipalRecord:
        try:
            body = await client(self._app, "identity").get(f"/internal/principals/{principal_id}")
        except RemoteError as err:
            if err.status == 404:
                raise PrincipalNotFound() from None
            raise
        record = PrincipalRecord.model_validate(body)
        if record.removed:
            raise PrincipalNotFound()
        return record


class InMemoryDirectory:
    """A fake for tests and local experiments."""

    def __init__(self, records: list[PrincipalRecord] | None = None) -> None:
        self.records = {r.id: r for r in records or []}

    def add(self, record: PrincipalRecord) -> None:
        self.records[record.id] = record

    async def get(self, principal_id: uuid.UUID) -> PrincipalRecord:
        try:
            return self.records[principal_id]
        except KeyError:
            raise PrincipalNotFound() from None
