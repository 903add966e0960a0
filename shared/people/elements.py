"""Identity elements as a real registry checks them: pure functions, no I/O.

* Resident ID card number (GB 11643-1999): 18 characters, 6-digit region code whose first
  two digits are a province-level code, a plausible birth date (not before 1900-01-01, not
  in the future), 3-digit sequence, check character from ISO 7064 MOD 11-2 (``X`` = 10).
* Unified social credit code (GB 32100-2015): 18 characters of ``0-9A-HJ-NPQRTUWXY``
  (no I, O, S, V, Z), the 6-digit administrative division code in positions 3–8, check
  character from the standard's weights modulo 31.
* Mainland mobile numbers ``1[3-9]`` + 9 digits.
* Personal names: 2–30 characters of CJK ideographs; ``·`` (U+00B7) separates the parts of
  names of ethnic minorities (e.g. 买买提·艾力), never first, last or doubled.

Each ``check_*`` returns ``None`` when valid or an ``ElementProblem`` naming a stable code
and a message; callers attach the field name. identity and agents both validate with it.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from datetime import date

__all__ = [
    "ID_WEIGHTS",
    "USCC_CHARSET",
    "USCC_WEIGHTS",
    "ElementProblem",
    "check_enterprise_name",
    "check_id_number",
    "check_password",
    "check_person_name",
    "check_phone",
    "check_uscc",
    "id_check_char",
    "mask",
    "normalize_id_number",
    "uscc_check_char",
]

ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
# Province-level codes of GB/T 2260, plus 81/82/83 used by residence permits of
# Hong Kong, Macao and Taiwan residents (居住证).
_PROVINCES = frozenset({
    "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37",
    "41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64",
    "65", "71", "81", "82", "83",
})
_ID_SHAPE = re.compile(r"\d{17}[\dX]")

USCC_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)

_PHONE = re.compile(r"1[3-9]\d{9}")
_CJK = (r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
        r"\U00020000-\U0002a6df\U0002a700-\U0002ebef\U00030000-\U0003134f")
_PERSON_NAME = re.compile(rf"[{_CJK}]+(?:·[{_CJK}]+)*")
_ENTERPRISE_FORBIDDEN = re.compile(r"[\x00-\x1f\x7f<>{}\\]")

_DIGITS = frozenset(string.digits)
_LETTERS = frozenset(string.ascii_letters)
_SYMBOLS = frozenset(string.punctuation)


@dataclass(frozen=True)
class ElementProblem:
    """Why a value is refused: ``code`` is stable (clients may branch on it)."""

    code: str
    message: str


def normalize_id_number(value: str) -> str:
    """Upper-case the check character: people type ``x`` as often as ``X``."""
    return value.strip().upper()


def id_check_char(first17: str) -> str:
    """GB 11643 check character for the first 17 digits."""
    return _ID_CHECK[sum(int(c) * w for c, w in zip(first17, ID_WEIGHTS, strict=True)) % 11]


def _birth_date(number: str) -> date | None:
    try:
        return date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return None


def check_id_number(value: str, today: date) -> ElementProblem | None:
    """A resident ID card number (already normalised) as the registry would accept it."""
    if len(value) != 18:
        return ElementProblem("id_number_length", "身份证号码应为18位 / must have 18 characters")
    if not _ID_SHAPE.fullmatch(value):
        return ElementProblem("id_number_format",
                              "身份证号码格式不正确 / 17 digits then a digit or X")
    if value[:2] not in _PROVINCES or value[2:6] == "0000":
        return ElementProblem("id_number_region", "身份证号码地区码无效 / unknown region code")
    born = _birth_date(value)
    if born is None or born < date(1900, 1, 1) or born > today:
        return ElementProblem("id_number_birth_date",
                              "身份证号码出生日期无效 / implausible birth date")
    if id_check_char(value[:17]) != value[17]:
        return ElementProblem("id_number_check_digit",
                              "身份证号码校验码错误 / wrong check digit (GB 11643)")
    return None


def uscc_check_char(first17: str) -> str:
    """GB 32100 check character for the first 17 characters (from ``USCC_CHARSET``)."""
    total = sum(USCC_CHARSET.index(c) * w for c, w in zip(first17, USCC_WEIGHTS, strict=True))
    return USCC_CHARSET[(31 - total % 31) % 31]


def check_uscc(value: str) -> ElementProblem | None:
    """A unified social credit code (upper-case) with a correct check character."""
    if len(value) != 18:
        return ElementProblem("uscc_length", "统一社会信用代码应为18位 / must have 18 characters")
    if any(c not in USCC_CHARSET for c in value):
        return ElementProblem("uscc_format",
                              "统一社会信用代码含无效字符 / only 0-9 and A-Y without I, O, S, V, Z")
    if not value[2:8].isdigit() or value[2:4] not in _PROVINCES:
        return ElementProblem("uscc_region",
                              "统一社会信用代码登记管理机关行政区划码无效 / invalid division code")
    if uscc_check_char(value[:17]) != value[17]:
        return ElementProblem("uscc_check_char",
                              "统一社会信用代码校验码错误 / wrong check character (GB 32100)")
    return None


def check_phone(value: str) -> ElementProblem | None:
    if not _PHONE.fullmatch(value):
        return ElementProblem("phone_format", "手机号码格式不正确 / expected 11 digits 1[3-9]xxxxxxxxx")
    return None


def check_person_name(value: str) -> ElementProblem | None:
    if not 2 <= len(value) <= 30:
        return ElementProblem("name_length", "姓名应为2-30个字 / 2 to 30 characters")
    if not _PERSON_NAME.fullmatch(value):
        return ElementProblem("name_format",
                              "姓名只能包含汉字和“·” / Chinese characters, parts joined by ·")
    return None


def check_enterprise_name(value: str) -> ElementProblem | None:
    if not 2 <= len(value) <= 100:
        return ElementProblem("enterprise_name_length", "企业名称应为2-100个字 / 2 to 100 characters")
    if _ENTERPRISE_FORBIDDEN.search(value):
        return ElementProblem("enterprise_name_format", "企业名称含无效字符 / invalid characters")
    return None


def check_password(value: str) -> ElementProblem | None:
    """The manual: "密码为 8-16 位数字、字母或符号至少 2 种的组合" (ASCII only)."""
    if not 8 <= len(value) <= 16:
        return ElementProblem("password_length", "密码应为8-16位 / 8 to 16 characters")
    if any(c not in _DIGITS | _LETTERS | _SYMBOLS for c in value):
        # spaces, full-width or CJK characters are none of digits, letters, symbols
        return ElementProblem("password_characters",
                              "密码只能包含数字、字母和符号 / digits, letters and symbols only")
    kinds = sum(bool(set(value) & kind) for kind in (_DIGITS, _LETTERS, _SYMBOLS))
    if kinds < 2:
        return ElementProblem("password_too_weak", "密码须为数字、字母或符号至少2种的组合 /"
                              " use at least two of digits, letters, symbols")
    return None


def mask(value: str, visible: int = 4) -> str:
    """Everything but the last ``visible`` characters as ``*`` (docs/API.md masking rule)."""
    if len(value) <= visible:
        return "*" * len(value)
    return "*" * (len(value) - visible) + value[-visible:]
