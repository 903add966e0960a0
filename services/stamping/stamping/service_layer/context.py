"""Everything the command handlers need, wired once in ``bootstrap``."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import asyncpg
from pyhanko.sign.timestamps import TimeStamper

from shared.events import utcnow
from shared.eventstore import EventStore
from shared.unit_of_work import Database

from ..adapters.credentials import ClientTokens
from ..adapters.loops import PdfWorkers
from ..adapters.verifier import VerificationWorkers
from ..config import StampingSettings
from ..projections import PROJECTIONS
from .ports import CaMaterial, PlatformCertificates, PrincipalSigner, SealAuthority, SealCertificates


@dataclass
class Stamping:
    pool: asyncpg.Pool
    store: EventStore
    settings: StampingSettings
    seals: SealAuthority
    signer: PrincipalSigner
    ca: CaMaterial
    timestamper: TimeStamper
    workers: PdfWorkers  # stamping's PDF threads
    tokens: ClientTokens
    verifier: VerificationWorkers  # verification's own processes
    seal_certificates: SealCertificates  # certs: serial -> seal and enterprise
    clock: Callable[[], datetime] = utcnow
    # certs, for the evidence report (the platform's signature, certificates by serial);
    # None: the report is unavailable (503)
    platform: PlatformCertificates | None = None
    # Set after a commit that queued a callback, so the worker need not wait for its poll.
    callbacks_due: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def db(self) -> Database:
        """Units of work on stamping's database: appends project ``PROJECTIONS`` inline."""
        return Database(self.pool, self.store, PROJECTIONS)
