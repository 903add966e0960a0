"""The identity elements' rules, shared with the identity service.

The GB 11643 / GB 32100 / phone / name / password checks and the pydantic field types
built on them live once, in ``identity.domain.elements`` and ``identity.domain.fields``
(pure modules, no I/O); agents validates with the same code so both services accept and
refuse the same values. (They belong in the common library; until they move there, this
module is the only place agents imports them from.)
"""

from __future__ import annotations

from identity.domain.elements import CHINA_TZ, check_password, mask
from identity.domain.fields import (
    IdNumber,
    IsoDate,
    Password,
    PersonName,
    Phone,
    StrictBool,
    field_error,
    parse_model,
    today_in_china,
)

__all__ = [
    "CHINA_TZ", "IdNumber", "IsoDate", "Password", "PersonName", "Phone", "StrictBool",
    "check_password", "field_error", "mask", "parse_model", "today_in_china",
]
