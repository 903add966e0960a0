from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from certs.domain import (
    ActivationCodePolicy,
    CertificateLocked,
    CodeAttemptsExceeded,
    CodeExpired,
    CodeInvalid,
    PasswordAttempts,
    PasswordMismatch,
    PasswordRule,
    ResendTooSoon,
    WeakPassword,
    WrongCertificatePassword,
    WrongPasswordPolicy,
)

T0 = datetime(2026, 11, 29, 8, 0, tzinfo=UTC)

# --- password rule -----------------------------------------------------------------------


@pytest.mark.parametrize("password", ["abcd1234", "abcdefg!", "12345678#", "Ab1!Ab1!Ab1!Ab1!"])
def test_acceptable_passwords(password: str) -> None:
    assert PasswordRule().violation(password) is None
    PasswordRule().require(password, password)


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("ab12", "length"),
        ("abcdefgh12345678x", "length"),
        ("abcdefgh", "character_classes"),
        ("12345678", "character_classes"),
        ("!@#$%^&*", "character_classes"),
        ("abcd 1234", "invalid_character"),
        ("密码abcd1234", "invalid_character"),
    ],
)
def test_weak_passwords_say_why(password: str, reason: str) -> None:
    with pytest.raises(WeakPassword) as info:
        PasswordRule().require(password, field="new_password")
    assert info.value.reason == reason and info.value.code == "weak_password"
    assert info.value.errors[0]["field"] == "new_password"


def test_confirmation_must_match() -> None:
    with pytest.raises(PasswordMismatch) as info:
        PasswordRule().require("abcd1234", "abcd1235")
    assert info.value.code == "password_mismatch"


# --- wrong-password lock -----------------------------------------------------------------


def _fail(policy: WrongPasswordPolicy, state: PasswordAttempts, times: int,
          now: datetime) -> PasswordAttempts:
    for _ in range(times):
        state = policy.on_failure(state, now).state
    return state


def test_wrong_passwords_count_down_attempts() -> None:
    policy = WrongPasswordPolicy()
    outcome = policy.on_failure(PasswordAttempts(), T0)
    assert isinstance(outcome.error, WrongCertificatePassword)
    assert outcome.error.attempts_left == 4 and outcome.error.status == 403
    assert policy.attempts_left(outcome.state, T0) == 4


def test_fifth_wrong_password_locks_for_fifteen_minutes() -> None:
    policy = WrongPasswordPolicy()
    state = _fail(policy, PasswordAttempts(), 4, T0)
    outcome = policy.on_failure(state, T0)
    assert isinstance(outcome.error, CertificateLocked)
    assert outcome.state.locked_until == T0 + timedelta(minutes=15)
    with pytest.raises(CertificateLocked) as info:
        policy.ensure_unlocked(outcome.state, T0 + timedelta(minutes=14, seconds=59))
    assert info.value.status == 423 and info.value.extra["locked_until"] == "2026-11-29T08:15:00Z"
    assert policy.attempts_left(outcome.state, T0) == 0


def test_lock_lifts_after_the_period_with_a_fresh_counter() -> None:
    policy = WrongPasswordPolicy()
    locked = _fail(policy, PasswordAttempts(), 5, T0)
    later = T0 + timedelta(minutes=15)
    policy.ensure_unlocked(locked, later)
    assert policy.attempts_left(locked, later) == 5
    outcome = policy.on_failure(locked, later)
    assert isinstance(outcome.error, WrongCertificatePassword) and outcome.error.attempts_left == 4


def test_failure_while_locked_keeps_the_lock() -> None:
    policy = WrongPasswordPolicy()
    locked = _fail(policy, PasswordAttempts(), 5, T0)
    outcome = policy.on_failure(locked, T0 + timedelta(minutes=1))
    assert outcome.state == locked and isinstance(outcome.error, CertificateLocked)


def test_success_resets_the_counter() -> None:
    policy = WrongPasswordPolicy()
    state = _fail(policy, PasswordAttempts(), 4, T0)
    assert policy.attempts_left(policy.on_success(), T0) == 5
    assert policy.attempts_left(state, T0) == 1


# --- activation codes --------------------------------------------------------------------


@pytest.fixture()
def codes() -> ActivationCodePolicy:
    return ActivationCodePolicy(hash_key=b"k" * 32)


def test_code_is_six_digits_and_only_its_hash_is_kept(codes: ActivationCodePolicy) -> None:
    record, code = codes.issue("person-1", T0)
    assert len(code) == 6 and code.isdigit()
    assert code.encode() not in record.code_hash and code not in repr(record)
    assert record.expires_at == T0 + timedelta(minutes=5)


def test_right_code_is_accepted_once(codes: ActivationCodePolicy) -> None:
    record, code = codes.issue("person-1", T0)
    check = codes.verify(record, code, T0 + timedelta(minutes=4))
    assert check.error is None and check.record.consumed_at is not None
    again = codes.verify(check.record, code, T0 + timedelta(minutes=4))
    assert isinstance(again.error, CodeInvalid)


def test_code_expires_after_five_minutes(codes: ActivationCodePolicy) -> None:
    record, code = codes.issue("person-1", T0)
    check = codes.verify(record, code, T0 + timedelta(minutes=5))
    assert isinstance(check.error, CodeExpired) and check.error.status == 410


def test_code_is_bound_to_its_subject(codes: ActivationCodePolicy) -> None:
    record, code = codes.issue("person-1", T0)
    other, _ = codes.issue("person-2", T0)
    forged = replace(other, code_hash=record.code_hash)
    assert isinstance(codes.verify(forged, code, T0).error, CodeInvalid)


def test_five_wrong_codes_burn_the_code(codes: ActivationCodePolicy) -> None:
    record, code = codes.issue("person-1", T0)
    wrong = "000000" if code != "000000" else "111111"
    for left in (4, 3, 2, 1):
        check = codes.verify(record, wrong, T0)
        assert isinstance(check.error, CodeInvalid) and check.error.attempts_left == left
        record = check.record
    check = codes.verify(record, wrong, T0)
    assert isinstance(check.error, CodeAttemptsExceeded)
    # even the right code no longer works
    assert isinstance(codes.verify(check.record, code, T0).error, CodeAttemptsExceeded)


def test_resend_only_after_sixty_seconds(codes: ActivationCodePolicy) -> None:
    record, _ = codes.issue("person-1", T0)
    with pytest.raises(ResendTooSoon) as info:
        codes.issue("person-1", T0 + timedelta(seconds=20), previous=record)
    assert info.value.retry_after == 40 and info.value.headers["Retry-After"] == "40"
    new, new_code = codes.issue("person-1", T0 + timedelta(seconds=60), previous=record)
    assert codes.verify(new, new_code, T0 + timedelta(seconds=61)).error is None


def test_hash_key_must_be_long_enough() -> None:
    with pytest.raises(ValueError):
        ActivationCodePolicy(hash_key=b"short")
