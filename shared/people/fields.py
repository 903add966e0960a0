"""Pydantic field types for request bodies built on the element checks.

A refused value becomes a pydantic error whose ``type`` is the element problem's stable
code, so a 422 names the field, says why, and carries a code a client can branch on:
``errors: [{field, message, code}]``. Types are strict where JSON is ambiguous: a boolean
must be ``true``/``false`` (not ``"yes"`` or ``1``), a date must be a ``YYYY-MM-DD`` string
(pydantic would otherwise read an integer as a Unix time).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Annotated, Any, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    StrictBool,
    ValidationError,
    ValidationInfo,
)
from pydantic_core import PydanticCustomError

from shared.china_time import today_in_china
from shared.errors import ValidationFailed

from . import elements as el

M = TypeVar("M", bound=BaseModel)

__all__ = [
    "EnterpriseName", "IdNumber", "IsoDate", "Password", "PersonName", "Phone", "StrictBool",
    "Uscc", "confirmation_matches", "ends_after_start", "field_error", "parse_model",
    "validation_failed",
]


def _checked(check: Callable[[str], el.ElementProblem | None],
             normalize: Callable[[str], str] = lambda v: v) -> Callable[[str], str]:
    def validate(value: str) -> str:
        value = normalize(value)
        problem = check(value)
        if problem is not None:
            raise PydanticCustomError(problem.code, problem.message)
        return value
    return validate


def _iso_date(value: Any) -> Any:
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or len(value) != 10:
        raise PydanticCustomError("date_format", "日期格式应为 YYYY-MM-DD / expected YYYY-MM-DD")
    return value


PersonName = Annotated[str, AfterValidator(_checked(el.check_person_name))]
EnterpriseName = Annotated[str, AfterValidator(_checked(el.check_enterprise_name))]
Phone = Annotated[str, AfterValidator(_checked(el.check_phone))]
Uscc = Annotated[str, AfterValidator(_checked(el.check_uscc, str.upper))]
Password = Annotated[str, AfterValidator(_checked(el.check_password))]
IdNumber = Annotated[str, AfterValidator(_checked(
    lambda v: el.check_id_number(v, today_in_china()), el.normalize_id_number))]
IsoDate = Annotated[date, BeforeValidator(_iso_date)]


def validation_failed(exc: ValidationError) -> ValidationFailed:
    """422 naming every refused field, with the per-field stable code."""
    errors = [
        {"field": ".".join(str(p) for p in e["loc"]) or "body", "message": e["msg"],
         "code": e["type"]}
        for e in exc.errors()
    ]
    detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5])
    return ValidationFailed(detail, errors=errors)


def field_error(field: str, code: str, message: str) -> ValidationFailed:
    """One refused field found after parsing (e.g. a date rule across two fields)."""
    return ValidationFailed(f"{field}: {message}",
                            errors=[{"field": field, "message": message, "code": code}])


def parse_model(model: type[M], data: Any) -> M:
    """Validate a decoded JSON body against ``model`` or raise the 422 above."""
    if not isinstance(data, dict):
        raise field_error("body", "object_type", "expected a JSON object")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise validation_failed(exc) from None


def confirmation_matches(confirm: str | None, info: ValidationInfo) -> str | None:
    """Field validator of ``password_confirm`` (declared after ``password``)."""
    password = info.data.get("password")
    if confirm is not None and password is not None and confirm != password:
        raise PydanticCustomError("password_mismatch", "两次输入的密码不一致 / passwords differ")
    return confirm


def ends_after_start(end: date, info: ValidationInfo) -> date:
    """Field validator of ``valid_to`` (declared after ``valid_from``)."""
    start = info.data.get("valid_from")
    if start is not None and end < start:
        raise PydanticCustomError("valid_to_before_valid_from",
                                  "结束日期早于开始日期 / the end date is before the start date")
    return end
