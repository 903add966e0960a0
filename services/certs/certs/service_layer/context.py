"""What the command handlers work with: the database (a unit of work with the certificate
projection inline), the ports, the rules."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import cast

import asyncpg

from certs.adapters.authority import CertificateAuthority
from certs.adapters.keys import KeyCustody
from certs.adapters.sm2 import Sm2Authority
from certs.domain import ActivationCodePolicy, PasswordRule, WrongPasswordPolicy
from certs.domain import certificate as rules
from certs.domain.certificate import Certificate
from shared.db import Conn
from shared.events import DomainEvent
from shared.lru import Lru
from shared.unit_of_work import Database, UnitOfWork

from .ports import Clock, FaceChecks, PrincipalDirectory, SmsSender

STREAM_TYPE = "certificate"


@dataclass(frozen=True)
class SealRef:
    """Which certificate and key a seal has (fixed once issued; the status is not here)."""

    certificate_id: uuid.UUID
    key_id: uuid.UUID
    serial_number: str


@dataclass(frozen=True)
class Sm2SealRef:
    """A seal's SM2 twin (fixed with its certificate; renewed together): which key signs,
    the twin's serial and PEM the answer names, the ECDSA certificate whose status counts."""

    certificate_id: uuid.UUID
    serial_number: str  # the ECDSA certificate's (a refusal names it)
    key_id: uuid.UUID
    twin_serial_number: str
    twin_certificate_pem: str


@dataclass
class Certs:
    db: Database  # the certificates projection is its inline projection
    clock: Clock
    authority: CertificateAuthority
    keys: KeyCustody
    directory: PrincipalDirectory
    sms: SmsSender
    codes: ActivationCodePolicy
    sm2: Sm2Authority
    faces: FaceChecks
    lockout: WrongPasswordPolicy = field(default_factory=WrongPasswordPolicy)
    password_rule: PasswordRule = field(default_factory=PasswordRule)
    crl_validity: timedelta = timedelta(days=7)
    # seal certificates are renewed this long before they expire (renewal.py)
    seal_renewal: timedelta = timedelta(days=30)
    seal_refs: Lru[uuid.UUID, SealRef] = field(default_factory=Lru)
    sm2_seal_refs: Lru[uuid.UUID, Sm2SealRef] = field(default_factory=Lru)

    def within(self, conn: Conn) -> UnitOfWork:
        """A unit of work in a transaction someone else holds (the consumer's, with its
        idempotency row): what is recorded through it commits or rolls back with that."""
        return UnitOfWork(cast(asyncpg.Connection, conn), self.db.store, self.db.projections)

    async def load(self, uow: UnitOfWork, certificate_id: uuid.UUID) -> Certificate:
        """The aggregate, folded from its stream (the caller holds the row lock)."""
        cert = rules.fold(e.decode() for e in await uow.load(certificate_id))
        if cert is None:
            raise LookupError(f"certificate {certificate_id} has no events")
        return cert

    async def record(self, uow: UnitOfWork, certificate_id: uuid.UUID,
                     expected_version: int, events: Sequence[DomainEvent]) -> None:
        """Append to the certificate's stream and apply the read model, in the unit of work's
        transaction."""
        if not events:
            return
        await uow.append(certificate_id, STREAM_TYPE, expected_version, events)

