"""GB 11643 ID numbers, GB 32100 credit codes, phones, names, the password rule."""

from __future__ import annotations

from datetime import date

import pytest

from shared.people import elements as el

TODAY = date(2026, 11, 29)


@pytest.mark.parametrize("number", ["11010519491231002X", "110101200002290012", "220102198001011234"])
def test_valid_id_numbers_pass(number: str) -> None:
    valid = number[:17] + el.id_check_char(number[:17])  # 2000-02-29 exists: a leap day
    assert el.check_id_number(valid, TODAY) is None


def test_id_check_character_is_iso_7064_mod_11_2() -> None:
    # 11010519491231002X: the standard's own example; sum of weighted digits mod 11 == 2 -> X
    assert el.id_check_char("11010519491231002") == "X"
    assert el.id_check_char("44052418800101001") == "4"  # the other textbook example


@pytest.mark.parametrize(
    ("number", "code"),
    [
        ("110105194912310021", "id_number_check_digit"),
        ("11010519491231002", "id_number_length"),
        ("1101051949123100211", "id_number_length"),
        ("11010519491231002Y", "id_number_format"),
        ("A1010519491231002X", "id_number_format"),
        ("991051194912310020", "id_number_region"),
        ("110000194912310020", "id_number_region"),
        ("110105194902300020", "id_number_birth_date"),  # 30 February
        ("110105189912310020", "id_number_birth_date"),  # before 1900
        ("110105202612300020", "id_number_birth_date"),  # after today
    ],
)
def test_bad_id_numbers_say_why(number: str, code: str) -> None:
    problem = el.check_id_number(number, TODAY)
    assert problem is not None and problem.code == code


def test_lowercase_x_is_normalised() -> None:
    assert el.normalize_id_number(" 11010519491231002x ") == "11010519491231002X"


@pytest.mark.parametrize("code", ["91350100M000100Y43", "91110000802100433B", "9144030071526726XG"])
def test_real_credit_codes_pass(code: str) -> None:
    assert el.check_uscc(code) is None


def test_credit_code_check_char_uses_the_standard_weights_mod_31() -> None:
    assert el.uscc_check_char("91350100M000100Y4") == "3"
    # a check value of 31 - 0 maps to "0", never to an index out of the charset
    first17 = next(
        f"9111000080210{n:04d}"
        for n in range(10_000)
        if sum(
            el.USCC_CHARSET.index(c) * w
            for c, w in zip(f"9111000080210{n:04d}", el.USCC_WEIGHTS, strict=True)
        )
        % 31
        == 0
    )
    assert el.uscc_check_char(first17) == "0"


@pytest.mark.parametrize(
    ("code", "problem"),
    [
        ("91350100M000100Y44", "uscc_check_char"),
        ("91350100M000100Y4", "uscc_length"),
        ("91350100I000100Y43", "uscc_format"),  # I is not in the charset
        ("91350100O000100Y43", "uscc_format"),
        ("913501A0M000100Y43", "uscc_region"),
    ],
)
def test_bad_credit_codes_say_why(code: str, problem: str) -> None:
    found = el.check_uscc(code)
    assert found is not None and found.code == problem


@pytest.mark.parametrize(
    ("phone", "ok"),
    [
        ("13800138000", True),
        ("19912345678", True),
        ("12800138000", False),
        ("1380013800", False),
        ("138001380000", False),
        ("+8613800138000", False),
        ("1380013800a", False),
    ],
)
def test_mobile_numbers(phone: str, ok: bool) -> None:
    assert (el.check_phone(phone) is None) is ok


@pytest.mark.parametrize(
    ("name", "ok"),
    [
        ("张三", True),
        ("欧阳娜娜", True),
        ("买买提·艾力", True),
        ("张" * 30, True),
        ("张", False),
        ("张" * 31, False),
        ("·张三", False),
        ("张三·", False),
        ("张··三", False),
        ("Zhang San", False),
        ("张 三", False),
        ("张3", False),
    ],
)
def test_person_names(name: str, ok: bool) -> None:
    assert (el.check_person_name(name) is None) is ok


@pytest.mark.parametrize(
    ("password", "code"),
    [
        ("abc12345", None),
        ("abcdefg!", None),
        ("1234567!", None),
        ("Ab1!Ab1!Ab1!Ab1!", None),
        ("abcdefgh", "password_too_weak"),
        ("12345678", "password_too_weak"),
        ("!!!!!!!!", "password_too_weak"),
        ("abc1234", "password_length"),
        ("abc123456789012345", "password_length"),
        ("abc 12345", "password_characters"),
        ("密码abc12345", "password_characters"),
        ("ａｂｃ12345", "password_characters"),  # full-width letters are not ASCII letters
    ],
)
def test_password_rule_of_the_manual(password: str, code: str | None) -> None:
    problem = el.check_password(password)
    assert (problem.code if problem else None) == code


def test_masking_keeps_the_last_four() -> None:
    assert el.mask("11010519491231002X") == "**************002X"
    assert el.mask("13800138000") == "*******8000"
    assert el.mask("123") == "***"
