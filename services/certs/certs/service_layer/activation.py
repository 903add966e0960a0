"""Certificate activation (manual 二.3 / 三.3): an SMS code to the bound phone, then the
certificate password and the agreements; the key pair is made here and kept wrapped."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from certs.adapters import repository as repo
from certs.adapters.crypto.ca import new_serial
from certs.adapters.crypto.describe import display_name, fingerprint_sha256, mask, serial_hex, to_pem
from certs.adapters.keys import Sm2UserKey, UserKey, sm2_owner
from certs.domain import CodeInvalid
from certs.domain.agreements import require_all_accepted
from certs.domain.certificate import (
    IssuedCertificate,
    activate_user_certificate,
    fold,
    sm2_events,
)
from certs.domain.errors import CertificateAlreadyActive, CertsError, CodeNotFound
from shared.events import DomainEvent
from shared.logging import get_logger
from shared.unit_of_work import UnitOfWork

from . import sm2, views
from .context import Certs
from .ports import PrincipalRecord

log = get_logger(__name__)

SMS_TEXT = "【吉事办】您正在激活数字证书，验证码{code}，{minutes}分钟内有效。请勿将验证码告知他人。"


@dataclass(frozen=True)
class Activate:
    principal_id: uuid.UUID
    sms_code: str
    password: str
    password_confirm: str
    accepted_agreements: list[tuple[str, str]]


@dataclass(frozen=True)
class Minted:
    """A new user certificate before it is recorded: the ECDSA key and certificate and the
    SM2 twin, both keys wrapped under the certificate password."""

    certificate_id: uuid.UUID
    key: UserKey
    sm2_key: Sm2UserKey
    facts: IssuedCertificate
    sm2_facts: IssuedCertificate
    now: datetime


async def mint(certs: Certs, principal: PrincipalRecord, password: str) -> Minted:
    """Make the key pairs (two KDF runs at once) and issue both certificates; no database
    work, so callers do it before taking locks. Activation, reset and renewal all issue
    through here."""
    subject = principal.subject()
    certificate_id = uuid.uuid4()
    key, sm2_key = await asyncio.gather(
        certs.keys.new_user_key(str(certificate_id), password),
        certs.keys.new_user_sm2_key(sm2_owner(str(certificate_id)), password))
    now = certs.clock.now()
    cert = certs.authority.issue_user(key.public_key, subject, new_serial(), now)
    sm2_facts = sm2.facts(certs.sm2.issue_person(sm2_key.private_key.public_key, subject.name,
                                                 principal.id), sm2_key.key_id)
    facts = IssuedCertificate(
        certificate_id=certificate_id, key_id=key.key_id, serial_number=serial_hex(cert.serial_number),
        subject=display_name(cert.subject), issuer=display_name(cert.issuer),
        not_before=cert.not_valid_before_utc, not_after=cert.not_valid_after_utc,
        fingerprint_sha256=fingerprint_sha256(cert), pem=to_pem(cert),
    )
    return Minted(certificate_id, key, sm2_key, facts, sm2_facts, now)


async def store(certs: Certs, uow: UnitOfWork, new: Minted, events: list[DomainEvent]) -> None:
    """Record the new certificate's stream (``events``, then its SM2 twin) and its keys."""
    cert = fold(events)
    assert cert is not None, "events must start a certificate stream"
    events = [*events, *sm2_events(new.sm2_facts, new.certificate_id, cert.owner_type,
                                   cert.owner_id, new.now)]
    await certs.record(uow, new.certificate_id, 0, events)
    await certs.keys.store_user_key(uow.conn, str(new.certificate_id), new.key)
    await certs.keys.store_user_sm2_key(uow.conn, sm2_owner(str(new.certificate_id)), new.sm2_key)


async def send_code(certs: Certs, principal_id: uuid.UUID) -> dict[str, Any]:
    """A new code by SMS; at most one per resend interval (429 ``resend_too_soon``)."""
    principal = await certs.directory.get(principal_id)
    principal.require_verified()
    phone = principal.require_phone()
    async with certs.db.transaction() as uow:
        await repo.lock_principal(uow.conn, principal_id)
        if await repo.active_user_certificate(uow.conn, principal_id) is not None:
            raise CertificateAlreadyActive()
        now = certs.clock.now()
        previous = await repo.activation_code(uow.conn, principal_id)
        record, code = certs.codes.issue(str(principal_id), now, previous)
        await repo.save_activation_code(uow.conn, principal_id, record)
        # inside the transaction: if sending fails, no code is recorded and no wait imposed
        minutes = int(certs.codes.ttl.total_seconds() // 60)
        message = await certs.sms.send(phone, SMS_TEXT.format(code=code, minutes=minutes), now)
        await repo.set_code_message(uow.conn, principal_id, message)
    log.info("activation_code_sent", principal_id=str(principal_id), phone_masked=mask(phone))
    return {
        "phone_masked": mask(phone),
        "expires_at": views.rfc3339(record.expires_at),
        "resend_after_seconds": int(certs.codes.resend_interval.total_seconds()),
    }


async def latest_code(certs: Certs, principal_id: uuid.UUID) -> dict[str, Any]:
    """Whether the last code sent (activation, reset or renewal) reached the phone: ``delivery``
    is ``sent`` (no report yet), ``delivered``, ``failed`` (the H5 suggests a resend) or
    ``unknown`` (a provider without delivery reports). 404 ``code_not_found`` before any."""
    async with certs.db.transaction() as uow:
        row = await repo.code_delivery(uow.conn, principal_id)
    if row is None:
        raise CodeNotFound()
    delivery = row["status"] or ("sent" if row["sms_serial_no"] else "unknown")
    return {
        "sent_at": views.rfc3339(row["issued_at"]),
        "expires_at": views.rfc3339(row["expires_at"]),
        "used": row["consumed_at"] is not None,
        "delivery": delivery,
        "resend_suggested": delivery == "failed" and row["consumed_at"] is None,
    }


async def activate(certs: Certs, cmd: Activate) -> dict[str, Any]:
    """Check everything that does not use up the code first, then the code, then issue."""
    accepted = require_all_accepted(cmd.accepted_agreements)
    certs.password_rule.require(cmd.password, cmd.password_confirm)
    async with certs.db.connection() as uow:
        if await repo.active_user_certificate(uow.conn, cmd.principal_id) is not None:
            raise CertificateAlreadyActive()
    principal = await certs.directory.get(cmd.principal_id)
    principal.require_verified()

    # the expensive part (Argon2id, signing) before the transaction, so locks are short
    new = await mint(certs, principal, cmd.password)
    certificate_id, facts, now = new.certificate_id, new.facts, new.now

    error: CertsError | None = None
    async with certs.db.connection() as uow:
        async with uow.conn.transaction():
            await repo.lock_principal(uow.conn, cmd.principal_id)
            if await repo.active_user_certificate(uow.conn, cmd.principal_id) is not None:
                raise CertificateAlreadyActive()
            record = await repo.activation_code(uow.conn, cmd.principal_id)
            if record is None:
                raise CodeInvalid(0)  # no code was sent
            check = certs.codes.verify(record, cmd.sms_code, certs.clock.now())
            if check.error is None:
                events = activate_user_certificate(facts, principal.role, principal.id,
                                                   principal.owner_enterprise_id, accepted, now)
                await store(certs, uow, new, events)
            else:
                error = check.error  # the failed try is counted (committed) before answering
            await repo.save_activation_code(uow.conn, cmd.principal_id, check.record)
        if error is not None:
            raise error
        row = await repo.by_id(uow.conn, certificate_id)
        twin = await repo.sm2_twin(uow.conn, certificate_id)
    assert row is not None
    log.info("certificate_activated", principal_id=str(cmd.principal_id),
             certificate_id=str(certificate_id), serial_number=facts.serial_number)
    return views.certificate_view(row, now, twin)

