"""Commands of the identity service, validated as they arrive (unknown fields refused).

Registration applies every element rule (``shared.people``). Login does not apply the password
*rule* (a password set before a rule change must still log in); it only bounds sizes.
"""

from __future__ import annotations

import uuid
from typing import Literal

from pydantic import Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from shared.http import ApiModel
from shared.people.fields import (
    EnterpriseName,
    IdNumber,
    IsoDate,
    Password,
    PersonName,
    Phone,
    StrictBool,
    Uscc,
    confirmation_matches,
    ends_after_start,
)

from .face import Purpose

IdType = Literal["resident_id_card"]
LoginRole = Literal["person", "enterprise", "agent"]


class _WithConfirmation(ApiModel):
    password: Password
    # Optional on registration (the app checks it), but when sent it must match.
    password_confirm: str | None = Field(default=None, max_length=64)

    _confirm = field_validator("password_confirm")(confirmation_matches)


class RegisterPerson(_WithConfirmation):
    name: PersonName
    id_type: IdType
    id_number: IdNumber
    phone: Phone


class LegalRepresentative(ApiModel):
    name: PersonName
    id_type: IdType
    id_number: IdNumber
    phone: Phone


class RegisterEnterprise(_WithConfirmation):
    name: EnterpriseName
    uscc: Uscc
    legal_representative: LegalRepresentative


class _Login(ApiModel):
    role: LoginRole
    username: str = Field(min_length=1, max_length=64)
    enterprise_uscc: str | None = Field(default=None, max_length=32, validate_default=True)

    @field_validator("username")
    @classmethod
    def _upper(cls, username: str) -> str:
        return username.upper()  # a USCC, or an ID number's x check character

    @field_validator("enterprise_uscc")
    @classmethod
    def _agents_name_their_enterprise(cls, uscc: str | None, info: ValidationInfo) -> str | None:
        if info.data.get("role") == "agent" and not uscc:
            raise PydanticCustomError("enterprise_uscc_required",
                                      "经办人登录需填写企业统一社会信用代码 / required for agents")
        return uscc.upper() if uscc else None


class PasswordLogin(_Login):
    method: Literal["password"]
    password: str = Field(min_length=1, max_length=64)


class FaceLogin(_Login):
    method: Literal["face"]
    face_token: str = Field(min_length=1, max_length=128)


class RefreshSession(ApiModel):
    refresh_token: str = Field(min_length=1, max_length=256)


class OidcCallback(ApiModel):
    """What the identity provider sent back to the H5 callback page."""

    code: str = Field(min_length=1, max_length=2048)
    state: str = Field(min_length=1, max_length=256)


class StartFaceCheck(ApiModel):
    purpose: Purpose
    role: LoginRole | None = None
    username: str | None = Field(default=None, min_length=1, max_length=64)
    enterprise_uscc: str | None = Field(default=None, max_length=32)


class VerifyEnterprise(ApiModel):
    """The legal representative's passed face check (purpose ``enterprise_verification``)."""

    face_token: str = Field(min_length=1, max_length=128)


class SandboxVerdict(ApiModel):
    # Sandbox only: a token that expires sooner, to exercise expiry without waiting 5 minutes.
    expires_in_seconds: int | None = Field(default=None, ge=1, le=3600, strict=True)


class ConsumeFaceToken(ApiModel):
    face_token: str = Field(min_length=1, max_length=128)
    subject_id: uuid.UUID
    purpose: Purpose


class MatchPerson(ApiModel):
    name: str = Field(min_length=1, max_length=64)
    id_type: IdType
    id_number: str = Field(min_length=1, max_length=32)


class CreateAgentLogin(ApiModel):
    enterprise_id: uuid.UUID
    name: PersonName
    id_type: IdType
    id_number: IdNumber
    phone: Phone
    password: Password
    valid_from: IsoDate
    valid_to: IsoDate
    can_manage: StrictBool

    _ordered = field_validator("valid_to")(ends_after_start)


class UpdateAgentLogin(ApiModel):
    valid_from: IsoDate
    valid_to: IsoDate
    can_manage: StrictBool

    _ordered = field_validator("valid_to")(ends_after_start)


class SetAgentPassword(ApiModel):
    password: Password
