"""A user's certificate: view it, change its password, sign with it (for other services).

Every use of the certificate password goes through one path: the certificate's row is
locked (``FOR UPDATE``) before the password is tried, so parallel guesses queue and the
wrong-password counter cannot be outrun; a wrong answer is recorded (committed) before the
error is returned.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import asyncpg

from certs.adapters import repository as repo
from certs.adapters.crypto.keywrap import WrongPassword
from certs.adapters.crypto.signing import DEFAULT_ALGORITHM, sign_digest
from certs.adapters.keys import sm2_owner
from certs.domain import certificate as rules
from certs.domain.certificate import Certificate
from certs.domain.errors import CertificateNotActivated, CertsError
from shared.db import Conn
from shared.events import DomainEvent
from shared.gm.sm2 import Sm2PrivateKey
from shared.logging import get_logger
from shared.unit_of_work import UnitOfWork

from . import sm2, views
from .context import Certs

log = get_logger(__name__)
T = TypeVar("T")
Used = tuple[T, list[DomainEvent]]  # what a use of the password gives, and the events it adds


async def view(certs: Certs, principal_id: uuid.UUID) -> dict[str, Any]:
    async with certs.db.connection() as uow:
        row = await repo.active_user_certificate(uow.conn, principal_id)
        twin = await repo.sm2_twin(uow.conn, row["certificate_id"]) if row is not None else None
    if row is None:
        raise CertificateNotActivated()
    return views.certificate_view(row, certs.clock.now(), twin)


async def status(certs: Certs, principal_id: uuid.UUID) -> dict[str, Any]:
    """docs/INTERNAL_API.md: {status: none|active|locked, serial_number?, certificate_pem?, locked_until?}"""
    async with certs.db.connection() as uow:
        row = await repo.active_user_certificate(uow.conn, principal_id)
        twin = await repo.sm2_twin(uow.conn, row["certificate_id"]) if row is not None else None
    if row is None:
        return {"status": "none"}
    state = views.effective_status(row, certs.clock.now())
    out: dict[str, Any] = {"status": state, "serial_number": row["serial_number"],
                           "certificate_pem": row["certificate_pem"]}
    if twin is not None:  # absent until the next use of the password, for older certificates
        out["sm2_serial_number"] = twin["serial_number"]
        out["sm2_certificate_pem"] = twin["certificate_pem"]
    if state == "locked":
        out["locked_until"] = views.rfc3339(row["locked_until"])
    return out


async def change_password(certs: Certs, principal_id: uuid.UUID, old_password: str,
                          new_password: str, new_password_confirm: str) -> None:
    certs.password_rule.require(new_password, new_password_confirm, field="new_password",
                                confirm_field="new_password_confirm")

    async def rewrap(conn: Conn, cert: Certificate, row: asyncpg.Record) -> Used[None]:
        await certs.keys.change_password(conn, cert.key_id, str(cert.certificate_id),
                                         old_password, new_password)
        if cert.sm2_key_id is not None:  # both keys move to the new password together
            await certs.keys.change_password(conn, cert.sm2_key_id,
                                             sm2_owner(str(cert.certificate_id)),
                                             old_password, new_password)
            return None, []
        return None, (await sm2.enrol_user(certs, conn, cert, row, new_password)).events

    await with_password(certs, principal_id, rewrap, changing=True)
    log.info("certificate_password_changed", principal_id=str(principal_id))


@dataclass(frozen=True)
class Signature:
    signature: bytes
    serial_number: str
    certificate_pem: str
    algorithm: str = DEFAULT_ALGORITHM


async def sign(certs: Certs, principal_id: uuid.UUID, digest: bytes, password: str) -> Signature:
    """Sign ``digest`` with the principal's key, unlocked by its certificate password."""
    return (await sign_many(certs, principal_id, [digest], password))[0]


async def sign_many(certs: Certs, principal_id: uuid.UUID, digests: list[bytes],
                    password: str, sm2_digests: Sequence[bytes] = ()) -> list[Signature]:
    """Sign each of ``digests`` (in order) with the principal's key, unlocked ONCE by its
    certificate password: one password check (a wrong password counts once toward the
    lockout), under one lock. A stamp's authorization and its personal signature placements
    are signed so, with the one password the person entered (issue 15).

    ``sm2_digests`` (e = SM3(Z‖M)): signed by the SM2 twin in the same check, after the
    ECDSA ones (their ``algorithm`` says ``sm2-sm3``) — an OFD's personal signature beside
    the stamp's authorization. The SM2 key is wrapped on its own, so that is a second KDF
    under the same lock and the same single count."""
    if not digests:
        raise ValueError("no digest to sign")

    async def signer(conn: Conn, cert: Certificate, row: asyncpg.Record) -> Used[list[Signature]]:
        key = await certs.keys.open_user_key(conn, cert.key_id, str(cert.certificate_id), password)
        signatures = [Signature(sign_digest(key, d), row["serial_number"], row["certificate_pem"])
                      for d in digests]
        events: list[DomainEvent] = []
        # a certificate older than SM2 gets its twin at this use of the password
        if sm2_digests or not cert.has_sm2:
            twin, events = await _sm2_key(certs, conn, cert, row, password, opened=True)
            signatures += [Signature(twin.key.sign_digest(d), twin.serial_number,
                                     twin.certificate_pem, sm2.ALGORITHM) for d in sm2_digests]
        return signatures, events

    return await with_password(certs, principal_id, signer)


async def sign_sm2(certs: Certs, principal_id: uuid.UUID, digest: bytes,
                   password: str) -> sm2.Sm2Signature:
    """Sign ``digest`` (e = SM3(Z‖M)) with the principal's SM2 key, unlocked by the same
    certificate password, under the same lock and counter as the ECDSA key."""

    async def signer(conn: Conn, cert: Certificate, row: asyncpg.Record) -> Used[sm2.Sm2Signature]:
        twin, events = await _sm2_key(certs, conn, cert, row, password, opened=False)
        return sm2.Sm2Signature(twin.key.sign_digest(digest), twin.serial_number,
                                twin.certificate_pem), events

    return await with_password(certs, principal_id, signer)


@dataclass(frozen=True)
class _Twin:
    key: Sm2PrivateKey
    serial_number: str
    certificate_pem: str


async def _sm2_key(certs: Certs, conn: Conn, cert: Certificate, row: asyncpg.Record,
                   password: str, *, opened: bool) -> tuple[_Twin, list[DomainEvent]]:
    """The user's SM2 key under ``password``; a certificate older than SM2 gets its twin at
    this use of the password (``opened``: the ECDSA key already proved the password)."""
    if cert.sm2_key_id is not None:
        twin = await repo.sm2_twin(conn, cert.certificate_id)
        assert twin is not None
        key = await certs.keys.open_user_sm2_key(conn, cert.sm2_key_id,
                                                 sm2_owner(str(cert.certificate_id)), password)
        return _Twin(key, twin["serial_number"], twin["certificate_pem"]), []
    if not opened:  # the password is checked on the ECDSA key, then the twin is made under it
        await certs.keys.open_user_key(conn, cert.key_id, str(cert.certificate_id), password)
    new = await sm2.enrol_user(certs, conn, cert, row, password)
    return _Twin(new.key, new.facts.serial_number, new.facts.pem), new.events


async def with_password(
    certs: Certs,
    principal_id: uuid.UUID,
    use: Callable[[Conn, Certificate, asyncpg.Record], Awaitable[Used[T]]],
    *,
    changing: bool = False,
    after: Callable[[UnitOfWork, T], Awaitable[None]] | None = None,
) -> T:
    """Run ``use`` (which raises ``WrongPassword`` for a wrong password) under the lock;
    ``after`` runs once the use was recorded, in the same transaction (a renewal replaces
    the certificate there)."""
    error: CertsError | None = None
    async with certs.db.transaction() as uow:
        row = await repo.active_user_certificate(uow.conn, principal_id, for_update=True)
        if row is None:
            raise CertificateNotActivated()
        cert = await certs.load(uow, row["certificate_id"])
        now = certs.clock.now()
        rules.ensure_unlocked(cert, certs.lockout, now)
        try:
            result, added = await use(uow.conn, cert, row)
        except WrongPassword:
            events, error = rules.reject_password(cert, certs.lockout, now)
            await certs.record(uow, cert.certificate_id, cert.version, events)
        else:
            events = (rules.change_password(cert, now) if changing
                      else rules.accept_password(cert, certs.lockout, now))
            await certs.record(uow, cert.certificate_id, cert.version, [*events, *added])
            if after is not None:
                await after(uow, result)
    if error is not None:
        log.info("certificate_password_rejected", principal_id=str(principal_id),
                 problem_code=error.code)
        raise error
    return result
