"""The personal signature (个人签名) aggregate: a fold of its events, and the rules of its
commands. Pure: no I/O."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Literal

from shared.catalog import PersonalSignatureCreated, PersonalSignatureDeleted
from shared.events import DomainEvent

from . import errors

SignatureMethod = Literal["handwritten", "generated"]


@dataclass(frozen=True)
class Signature:
    signature_id: uuid.UUID
    person_id: uuid.UUID
    method: SignatureMethod
    deleted: bool
    version: int


def fold(events: Iterable[DomainEvent]) -> Signature | None:
    """The signature as its events leave it (None before it was created)."""
    sig: Signature | None = None
    for version, ev in enumerate(events, start=1):
        sig = _apply(sig, ev, version)
    return sig


def _apply(sig: Signature | None, ev: DomainEvent, version: int) -> Signature | None:
    if isinstance(ev, PersonalSignatureCreated):
        return Signature(ev.signature_id, ev.person_id, ev.method, False, version)
    if sig is None:
        return None
    if isinstance(ev, PersonalSignatureDeleted):
        return replace(sig, deleted=True, version=version)
    return replace(sig, version=version)


def create_signature(*, signature_id: uuid.UUID, person_id: uuid.UUID,
                     method: SignatureMethod, image_sha256: str) -> PersonalSignatureCreated:
    return PersonalSignatureCreated(signature_id=signature_id, person_id=person_id, method=method,
                                    image_sha256=image_sha256)


def delete_signature(sig: Signature) -> PersonalSignatureDeleted:
    if sig.deleted:
        raise errors.SignatureNotFound()
    return PersonalSignatureDeleted(signature_id=sig.signature_id, person_id=sig.person_id)
