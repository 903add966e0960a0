"""The pre-check and re-check rules over seals' answers (stamping.domain.seal_use)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from stamping.domain import seal_use
from stamping.domain.errors import NotAuthorized, SealRevoked

from shared.errors import NotFound

NOW = datetime(2026, 5, 31, 8, 0, tzinfo=UTC)
ENT, OTHER, SEAL = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()


@dataclass(frozen=True)
class S:
    seal_id: uuid.UUID


@dataclass(frozen=True)
class Choice:
    enterprise_id: uuid.UUID
    seals: list[S] = field(default_factory=list)


@dataclass(frozen=True)
class Standing:
    enterprise_id: uuid.UUID = ENT
    status: str = "active"
    revoked_at: datetime | None = None


GRANTED = [Choice(ENT, [S(SEAL)])]


def test_a_granted_active_seal_may_be_used() -> None:
    seal_use.check_before_signing(GRANTED, Standing(), ENT, SEAL)
    seal_use.check_after_timestamp(GRANTED, Standing(), ENT, SEAL, NOW)


@pytest.mark.parametrize("choices,standing", [
    ([], Standing()),                                   # no grant
    ([Choice(OTHER, [S(SEAL)])], Standing()),           # granted for another enterprise
    (GRANTED, Standing(enterprise_id=OTHER)),           # the seal is another enterprise's
    (GRANTED, None),                                    # no such seal
])
def test_the_pre_check_refuses_what_is_not_granted_now(choices: list[Choice],
                                                       standing: Standing | None) -> None:
    with pytest.raises(NotAuthorized):
        seal_use.check_before_signing(choices, standing, ENT, SEAL)


def test_the_pre_check_names_a_revoked_seal() -> None:
    with pytest.raises(SealRevoked):
        seal_use.check_before_signing([], Standing(status="revoked", revoked_at=NOW), ENT, SEAL)


def test_the_re_check_fails_a_revocation_before_the_timestamp_only() -> None:
    before = Standing(status="revoked", revoked_at=NOW - timedelta(seconds=1))
    after = Standing(status="revoked", revoked_at=NOW + timedelta(seconds=1))
    with pytest.raises(SealRevoked):
        seal_use.check_after_timestamp([], before, ENT, SEAL, NOW)
    with pytest.raises(SealRevoked):  # no timestamp: no proof it came first
        seal_use.check_after_timestamp([], after, ENT, SEAL, None)
    seal_use.check_after_timestamp([], after, ENT, SEAL, NOW)


def test_the_re_check_fails_a_withdrawn_grant_and_a_vanished_seal() -> None:
    with pytest.raises(NotAuthorized):
        seal_use.check_after_timestamp([], Standing(), ENT, SEAL, NOW)
    with pytest.raises(NotFound):
        seal_use.check_after_timestamp(GRANTED, None, ENT, SEAL, NOW)
