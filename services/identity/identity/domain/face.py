"""Face checks (人脸验证): a check belongs to a subject and a purpose, passes or fails at
the provider, and a passed check yields a token that is usable once, for that subject and
purpose, until it expires. Pure rules; the service layer persists the records.

Lifetimes (``ttl``, 5 minutes by default): the person must finish the check within ``ttl``
of starting it, and the token it yields is good for ``ttl`` after the pass.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Literal

from .errors import (
    FaceCheckExpired,
    FaceCheckFinished,
    FaceTokenExpired,
    FaceTokenMismatch,
    FaceTokenUsed,
)

Purpose = Literal["login", "add_agent", "issue_seal", "revoke_seal", "reset_certificate",
                  "approve_stamp", "enterprise_verification"]
PURPOSES: tuple[Purpose, ...] = ("login", "add_agent", "issue_seal", "revoke_seal",
                                 "reset_certificate", "approve_stamp", "enterprise_verification")
Status = Literal["pending", "passed", "failed"]


@dataclass(frozen=True)
class FaceCheck:
    id: uuid.UUID
    # None when an anonymous login check named an unknown username: it can still "pass" (so
    # the answer does not reveal which usernames exist) but its token matches nobody.
    subject_id: uuid.UUID | None
    purpose: Purpose
    status: Status
    expires_at: datetime
    token_expires_at: datetime | None = None
    used_at: datetime | None = None
    # The provider's reference of the check (Tencent's BizToken): the result is fetched
    # with it server-side, never taken from the browser.
    provider_ref: str | None = None


def start(check_id: uuid.UUID, subject_id: uuid.UUID | None, purpose: Purpose, now: datetime,
          ttl: timedelta) -> FaceCheck:
    return FaceCheck(check_id, subject_id, purpose, "pending", now + ttl)


@dataclass(frozen=True)
class FacePerson:
    """Whom a check must find: the elements the provider compares the face and its own
    result with (an enterprise's are its legal representative's)."""

    name: str
    id_number: str


def complete(check: FaceCheck, passed: bool, now: datetime, token_ttl: timedelta) -> FaceCheck:
    """The provider's verdict; only a pending, unexpired check can get one."""
    if check.status != "pending":
        raise FaceCheckFinished()
    if now >= check.expires_at:
        raise FaceCheckExpired()
    if not passed:
        return replace(check, status="failed")
    return replace(check, status="passed", token_expires_at=now + token_ttl)


def redeem(check: FaceCheck, subject_id: uuid.UUID, purpose: str, now: datetime) -> FaceCheck:
    """Use the check's token once for ``subject_id`` doing ``purpose``.

    A mismatch does not use the token up (the rightful owner may still use it); a used or
    expired token stays refused whoever presents it.
    """
    if check.used_at is not None:
        raise FaceTokenUsed()
    if check.token_expires_at is None or now >= check.token_expires_at:
        raise FaceTokenExpired()
    if check.subject_id != subject_id or check.purpose != purpose:
        raise FaceTokenMismatch()
    return replace(check, used_at=now)
