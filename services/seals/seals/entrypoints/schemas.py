"""Bodies and queries of the seals API (pydantic; documented through ``@documented``)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.http import ApiModel


class ListQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")
    limit: int = Field(default=50, ge=1, le=100)
    cursor: str | None = Field(default=None, max_length=200)


class PreviewIn(ApiModel):
    type: str = Field(max_length=64)
    name: str | None = Field(default=None, max_length=1000)


class IssueIn(PreviewIn):
    face_token: str = Field(min_length=1, max_length=1000)


class RevokeIn(ApiModel):
    face_token: str = Field(min_length=1, max_length=1000)
    reason: str = Field(default="", max_length=200)


class GrantIn(ApiModel):
    name: str = Field(min_length=1, max_length=50)
    id_type: Literal["resident_id_card"] = "resident_id_card"
    id_number: str = Field(min_length=1, max_length=32)
    valid_from: date
    valid_to: date


class GrantPatch(ApiModel):
    valid_from: date | None = None
    valid_to: date | None = None

    @model_validator(mode="after")
    def valid_from_or_valid_to(self) -> GrantPatch:
        if self.valid_from is None and self.valid_to is None:
            raise ValueError("give valid_from, valid_to or both")
        return self


class SignatureIn(ApiModel):
    method: Literal["handwritten", "generated"]
    # A base64 PNG can be a third larger than the PNG; size is checked after trimming.
    image_png: str | None = None


class StampSignatureIn(ApiModel):
    person_id: uuid.UUID
    enterprise_id: uuid.UUID
    digest_b64: str = Field(min_length=1, max_length=200)
    algorithm: Literal["ecdsa-p256-sha256", "sm2-sm3"] = "ecdsa-p256-sha256"
    approver_id: uuid.UUID | None = None  # 用印审批: who approved (a seal requiring approval)
    timestamp: bool = False  # also certs' TSA token over the signature value (one round trip)


class StampEslIn(ApiModel):
    person_id: uuid.UUID
    enterprise_id: uuid.UUID


class SealPatch(ApiModel):
    """用印审批: whether a stamp with the seal waits for approval, and who approves."""

    approval_required: bool
    approvers: list[uuid.UUID] = Field(default_factory=list, max_length=20)


class ApproveCheckIn(ApiModel):
    approver_id: uuid.UUID
    person_id: uuid.UUID
    enterprise_id: uuid.UUID
    seal_ids: list[uuid.UUID] = Field(min_length=1, max_length=20)
    face_token: str | None = Field(default=None, min_length=1, max_length=1000)
