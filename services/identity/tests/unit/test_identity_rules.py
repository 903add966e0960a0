"""Lockout, rate windows, face checks and agent login windows: pure rules, no services."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from identity.domain import face
from identity.domain.accounts import Account, window_change_ends_sessions
from identity.domain.errors import (
    AgentNotValid,
    FaceCheckExpired,
    FaceCheckFinished,
    FaceTokenExpired,
    FaceTokenMismatch,
    FaceTokenUsed,
    InvalidCredentials,
)
from identity.domain.throttle import Window

from shared.lockout import LockPolicy, LockState

NOW = datetime(2026, 11, 29, 8, 0, tzinfo=UTC)
TTL = timedelta(minutes=5)


def test_fifth_wrong_password_locks_for_fifteen_minutes() -> None:
    policy, state = LockPolicy(), LockState()
    for n in range(1, 5):
        state = policy.after_failure(state, NOW)
        assert state == LockState(n) and policy.attempts_left(state, NOW) == 5 - n
    state = policy.after_failure(state, NOW)
    assert state.locked_until == NOW + timedelta(minutes=15)
    assert policy.locked_until(state, NOW + timedelta(minutes=14)) is not None
    assert policy.locked_until(state, NOW + timedelta(minutes=15)) is None
    assert policy.after_failure(state, NOW + timedelta(minutes=16)) == LockState(1)


def test_window_counts_and_retry_after() -> None:
    w = Window(limit=10, seconds=60)
    assert w.start(NOW + timedelta(seconds=59)) == NOW
    assert w.retry_after(NOW + timedelta(seconds=45)) == 15
    assert not w.exceeded(10) and w.exceeded(11)


def _check(subject: uuid.UUID | None = None, purpose: face.Purpose = "login") -> face.FaceCheck:
    return face.start(uuid.uuid4(), subject or uuid.uuid4(), purpose, NOW, TTL)


def test_face_check_passes_once_and_its_token_is_used_once() -> None:
    check = _check()
    passed = face.complete(check, True, NOW + timedelta(minutes=1), TTL)
    assert passed.token_expires_at == NOW + timedelta(minutes=6)
    with pytest.raises(FaceCheckFinished):
        face.complete(passed, False, NOW, TTL)
    assert check.subject_id is not None
    used = face.redeem(passed, check.subject_id, "login", NOW + timedelta(minutes=2))
    with pytest.raises(FaceTokenUsed):
        face.redeem(used, check.subject_id, "login", NOW + timedelta(minutes=2))


def test_face_check_must_finish_in_time_and_its_token_expires() -> None:
    check = _check()
    with pytest.raises(FaceCheckExpired):
        face.complete(check, True, NOW + TTL, TTL)
    passed = face.complete(check, True, NOW, TTL)
    assert check.subject_id is not None
    with pytest.raises(FaceTokenExpired):
        face.redeem(passed, check.subject_id, "login", NOW + TTL)


def test_failed_face_check_has_no_usable_token() -> None:
    check = _check()
    failed = face.complete(check, False, NOW, TTL)
    assert check.subject_id is not None
    with pytest.raises(FaceTokenExpired):
        face.redeem(failed, check.subject_id, "login", NOW)


def test_face_token_is_bound_to_subject_and_purpose() -> None:
    subject = uuid.uuid4()
    passed = face.complete(_check(subject, "add_agent"), True, NOW, TTL)
    with pytest.raises(FaceTokenMismatch):
        face.redeem(passed, uuid.uuid4(), "add_agent", NOW)
    with pytest.raises(FaceTokenMismatch):
        face.redeem(passed, subject, "issue_seal", NOW)
    anonymous = face.complete(face.start(uuid.uuid4(), None, "login", NOW, TTL), True, NOW, TTL)
    with pytest.raises(FaceTokenMismatch):
        face.redeem(anonymous, subject, "login", NOW)


def _agent(**kw: object) -> Account:
    base: dict[str, object] = dict(
        id=uuid.uuid4(),
        role="agent",
        name="张三",
        phone="13800138000",
        password_hash="x",
        enterprise_id=uuid.uuid4(),
        can_manage=True,
        valid_from=date(2026, 1, 1),
        valid_to=date(2026, 12, 31),
    )
    base.update(kw)
    return Account(**base)  # type: ignore[arg-type]


def test_agent_logs_in_only_inside_its_window() -> None:
    agent = _agent()
    agent.ensure_may_log_in(date(2026, 1, 1))
    agent.ensure_may_log_in(date(2026, 12, 31))
    for day in (date(2025, 12, 31), date(2027, 1, 1)):
        with pytest.raises(AgentNotValid):
            agent.ensure_may_log_in(day)
    with pytest.raises(InvalidCredentials):
        _agent(removed=True).ensure_may_log_in(date(2026, 6, 1))


def test_agent_token_never_outlives_the_window() -> None:
    agent = _agent(valid_to=date(2026, 11, 29))
    # midnight in China on 30 November is 16:00 UTC on 29 November
    late = datetime(2026, 11, 29, 15, 50, tzinfo=UTC)
    assert agent.access_expiry(late, timedelta(minutes=15)) == datetime(2026, 11, 29, 16, 0, tzinfo=UTC)
    assert agent.access_expiry(NOW, timedelta(minutes=15)) == NOW + timedelta(minutes=15)


def test_which_agent_changes_end_sessions() -> None:
    d = date
    today = d(2026, 6, 1)
    old = (d(2026, 1, 1), d(2026, 12, 31))
    assert window_change_ends_sessions(*old, True, *old, False, today)  # permission taken
    assert not window_change_ends_sessions(*old, False, *old, True, today)  # permission given
    assert window_change_ends_sessions(*old, True, d(2026, 1, 1), d(2026, 5, 31), True, today)
    assert not window_change_ends_sessions(*old, True, d(2025, 1, 1), d(2027, 12, 31), True, today)
