"""May this person use this seal now? The rules of the pre-check and of the re-check.

Seals is the authority (it decides again, under row locks, when it signs); stamping asks
twice so that no password attempt is spent on a seal that cannot be used (pre-check) and so
that a revocation or a withdrawn grant before the signature's timestamp fails the stamp
(re-check: closes the gap between seals' answer and the TSA). These are the pure rules over
what seals answered: the person's current choices and the seal's standing.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Protocol

from shared.errors import NotFound

from .errors import NotAuthorized, SealRevoked


class _Seal(Protocol):
    @property
    def seal_id(self) -> uuid.UUID: ...


class Choice(Protocol):
    """One enterprise among the person's choices, with the seals it lets them use."""

    @property
    def enterprise_id(self) -> uuid.UUID: ...
    @property
    def seals(self) -> Sequence[_Seal]: ...


class Standing(Protocol):
    """The seal as seals knows it now."""

    @property
    def enterprise_id(self) -> uuid.UUID: ...
    @property
    def status(self) -> str: ...
    @property
    def revoked_at(self) -> datetime | None: ...


def is_granted(choices: Iterable[Choice], enterprise_id: uuid.UUID, seal_id: uuid.UUID) -> bool:
    return any(e.enterprise_id == enterprise_id and any(s.seal_id == seal_id for s in e.seals)
               for e in choices)


def check_before_signing(choices: Iterable[Choice], seal: Standing | None,
                         enterprise_id: uuid.UUID, seal_id: uuid.UUID) -> None:
    """Pre-check: the seal is among the person's choices for that enterprise now."""
    granted = is_granted(choices, enterprise_id, seal_id)
    ours = seal is not None and seal.enterprise_id == enterprise_id
    if ours and seal is not None and seal.status == "revoked" and not granted:
        raise SealRevoked()
    if not granted or not ours:
        raise NotAuthorized("this seal is not granted to you for this enterprise now")


def check_after_timestamp(choices: Iterable[Choice], seal: Standing | None, enterprise_id: uuid.UUID,
                          seal_id: uuid.UUID, signed_at: datetime | None) -> None:
    """Re-check: was the seal revoked, or the grant withdrawn, before the timestamp?"""
    if seal is None:
        raise NotFound("no such seal", code="seal_not_found")
    if seal.status == "revoked" and (signed_at is None or seal.revoked_at is None
                                     or seal.revoked_at <= signed_at):
        raise SealRevoked("the seal was revoked while stamping")
    if seal.status != "revoked" and not is_granted(choices, enterprise_id, seal_id):
        raise NotAuthorized("the authorization was withdrawn while stamping")
