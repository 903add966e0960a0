"""Request bodies of the agents API (unknown fields refused, wrong types refused)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator
from pydantic_core import PydanticCustomError

from shared.http import ApiModel
from shared.people.fields import (
    IdNumber,
    IsoDate,
    Password,
    PersonName,
    Phone,
    StrictBool,
    confirmation_matches,
    ends_after_start,
)


class AddAgent(ApiModel):
    name: PersonName
    id_type: Literal["resident_id_card"]
    id_number: IdNumber
    id_valid_from: IsoDate
    id_valid_to: IsoDate | None = None
    id_long_term: StrictBool
    phone: Phone
    password: Password
    password_confirm: str = Field(max_length=64)
    valid_from: IsoDate
    valid_to: IsoDate
    can_manage: StrictBool
    face_token: str = Field(min_length=1, max_length=128)

    _confirm = field_validator("password_confirm")(confirmation_matches)
    _ordered = field_validator("valid_to")(ends_after_start)


class UpdateAgent(ApiModel):
    valid_from: IsoDate | None = None
    valid_to: IsoDate | None = None
    can_manage: StrictBool | None = None

    @field_validator("valid_to")
    @classmethod
    def _ordered(cls, end: object, info: ValidationInfo) -> object:
        return end if end is None else ends_after_start(end, info)  # type: ignore[arg-type]

    @model_validator(mode="after")
    def _changes_something(self) -> UpdateAgent:
        if self.valid_from is None and self.valid_to is None and self.can_manage is None:
            raise PydanticCustomError("nothing_to_change", "valid_from, valid_to or can_manage is required")
        return self


class ChangePassword(ApiModel):
    password: Password
    password_confirm: str = Field(max_length=64)

    _confirm = field_validator("password_confirm")(confirmation_matches)
