"""What the command handlers work with: the database, the event store, the ports, the rules."""

from __future__ import annotations

import uuid
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Generic, TypeVar, cast

import asyncpg

from certs.adapters.authority import CertificateAuthority
from certs.adapters.keys import KeyCustody
from certs.adapters.sm2 import Sm2Authority
from certs.domain import ActivationCodePolicy, PasswordRule, WrongPasswordPolicy
from certs.domain import certificate as rules
from certs.domain.certificate import Certificate
from certs.projections.certificates import CertificatesProjection
from shared.db import Conn
from shared.events import DomainEvent
from shared.eventstore import EventStore

from .ports import Clock, PrincipalDirectory, SmsSender

STREAM_TYPE = "certificate"
K = TypeVar("K")
V = TypeVar("V")


class Lru(Generic[K, V]):
    """A small bounded map of facts that never change once written."""

    def __init__(self, size: int = 4096) -> None:
        self._items: OrderedDict[K, V] = OrderedDict()
        self._size = size

    def get(self, key: K) -> V | None:
        value = self._items.get(key)
        if value is not None:
            self._items.move_to_end(key)
        return value

    def put(self, key: K, value: V) -> None:
        self._items[key] = value
        if len(self._items) > self._size:
            self._items.popitem(last=False)


@dataclass(frozen=True)
class SealRef:
    """Which certificate and key a seal has (fixed once issued; the status is not here)."""

    certificate_id: uuid.UUID
    key_id: uuid.UUID
    serial_number: str


@dataclass
class Certs:
    pool: asyncpg.Pool
    store: EventStore
    clock: Clock
    authority: CertificateAuthority
    keys: KeyCustody
    directory: PrincipalDirectory
    sms: SmsSender
    codes: ActivationCodePolicy
    sm2: Sm2Authority
    lockout: WrongPasswordPolicy = field(default_factory=WrongPasswordPolicy)
    password_rule: PasswordRule = field(default_factory=PasswordRule)
    projection: CertificatesProjection = field(default_factory=CertificatesProjection)
    crl_validity: timedelta = timedelta(days=7)
    seal_refs: Lru[uuid.UUID, SealRef] = field(default_factory=Lru)

    async def load(self, conn: Conn, certificate_id: uuid.UUID) -> Certificate:
        """The aggregate, folded from its stream (the caller holds the row lock)."""
        events = [e.decode() for e in await self.store.load(_plain(conn), certificate_id)]
        cert = rules.fold(events)
        if cert is None:
            raise LookupError(f"certificate {certificate_id} has no events")
        return cert

    async def record(self, conn: Conn, certificate_id: uuid.UUID,
                     expected_version: int, events: Sequence[DomainEvent]) -> None:
        """Append to the certificate's stream and apply the read model, in ``conn``'s transaction."""
        if not events:
            return
        stored = await self.store.append(_plain(conn), certificate_id, STREAM_TYPE,
                                         expected_version, events)
        for ev in stored:
            await self.projection.apply(conn, ev)


def _plain(conn: Conn) -> asyncpg.Connection:
    # the event store's signature names only asyncpg.Connection; a pool proxy works the same
    return cast(asyncpg.Connection, conn)

