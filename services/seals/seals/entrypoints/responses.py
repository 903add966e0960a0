"""Shapes of the seals API's answers, for the OpenAPI document that the gateway generates.
Documentation only: the handlers build the bodies (``views``)."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from pydantic import BaseModel, Field

from ..domain.grant import GrantStatus
from ..domain.seal import SealStatus
from ..domain.signature import SignatureMethod


class SealTypeView(BaseModel):
    code: str = Field(description="official, contract, finance, invoice, legal_representative...")
    label: str = Field(description="法定名称章, 合同专用章...")
    shape: str = Field(description="round, oval or square")
    width_mm: float
    height_mm: float
    default_name: str | None = Field(default=None, description="for an enterprise caller: "
                                     "its name and the type's label")


class SealTypeList(BaseModel):
    items: list[SealTypeView]
    next_cursor: None = None


class SealView(BaseModel):
    seal_id: uuid.UUID
    enterprise_id: uuid.UUID
    type: str
    type_label: str
    shape: str | None
    name: str
    status: SealStatus
    image_url: str
    image_sha256: str
    created_at: datetime
    revoked_at: datetime | None
    revoke_reason: str | None
    certificate_serial: str
    approval_required: bool = Field(description="用印审批: a grantee's stamp waits for an approver")
    approvers: list[uuid.UUID] = Field(description="who approves: the enterprise account or "
                                                   "agents with the management permission")


class SealPage(BaseModel):
    items: list[SealView] = Field(description="revoked seals included")
    next_cursor: str | None


class GrantPerson(BaseModel):
    name: str
    id_number_masked: str = Field(description="only the last 4 characters visible")


class GrantView(BaseModel):
    grant_id: uuid.UUID
    seal_id: uuid.UUID
    person: GrantPerson
    valid_from: date
    valid_to: date
    status: GrantStatus
    created_at: datetime
    updated_at: datetime


class GrantPage(BaseModel):
    items: list[GrantView]
    next_cursor: str | None


class GrantingEnterprise(BaseModel):
    enterprise_id: uuid.UUID
    name: str
    seal_count: int
    usable_seal_count: int = Field(description="seals whose grant is active today")


class GrantingEnterpriseList(BaseModel):
    items: list[GrantingEnterprise]
    next_cursor: None = None


class GrantWindow(BaseModel):
    grant_id: uuid.UUID
    valid_from: date
    valid_to: date
    status: GrantStatus


class GrantedSeal(BaseModel):
    seal_id: uuid.UUID
    type: str
    type_label: str
    shape: str | None
    name: str
    image_url: str
    usable: bool = Field(description="the grant is active today")
    grant: GrantWindow


class GrantedSealList(BaseModel):
    items: list[GrantedSeal]
    next_cursor: None = None


class GrantedSealDetail(GrantedSeal):
    enterprise_id: uuid.UUID
    enterprise_name: str
    status: SealStatus
    created_at: datetime
    certificate_serial: str
    image_sha256: str


class SignatureView(BaseModel):
    signature_id: uuid.UUID
    method: SignatureMethod
    image_url: str
    image_sha256: str
    created_at: datetime


# Reasons shared by several operations (the OpenAPI document's 403/404 descriptions).
ENTERPRISE_ONLY = "for the enterprise account and its agents (`role_not_allowed`)"
MANAGERS_ONLY = ("for the enterprise account and its agents with the management permission "
                 "(`role_not_allowed`, `management_permission_required`, `agent_not_valid`)")
PERSONS_ONLY = "for natural persons (`role_not_allowed`)"
NO_SEAL = "no such seal of the caller's enterprise (`seal_not_found`)"
NO_GRANT = "no such seal or grant (`grant_not_found`)"
NOT_MODIFIED = "not modified (If-None-Match)"
