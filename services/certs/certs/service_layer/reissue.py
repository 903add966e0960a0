"""A user's certificate replaced by a new one: the password reset (忘记证书密码) and the renewal.

Both make a **new key pair** and a new certificate (ECDSA and its SM2 twin, exactly as
activation does, through ``activation.mint``; both keys wrapped under the certificate
password) and revoke the old certificate on the CRLs in the same transaction
(``UserCertificateReissued`` on the new stream, the public ``CertificateRevoked`` then
``CertificateIssued``). Earlier signatures keep verifying: their stamps embed the old
certificate, its chain, the CRL and a timestamp from before the revocation.

- **Reset** (the password is forgotten): an SMS code to the bound phone (purpose ``reset``)
  and a face check (identity's token, purpose ``reset_certificate``, used once) prove the
  person; a locked certificate may be reset. The old key cannot be opened (nobody knows its
  password), so a new key is the only way. CRL reason ``superseded``, or ``keyCompromise``
  when the person says the key may be compromised.
- **Renewal** (before expiry): an SMS code (purpose ``renewal``) and the current password,
  tried under the certificate's row lock like every use of the password (a wrong one is
  counted, 403/423 as for signing). A new key rather than the same key re-certified: the
  key is as old as the certificate, rotating it costs nothing more (the password is at
  hand to wrap the new one) and the code path is the reset's. Reason ``superseded``.

The SMS codes reuse the activation code mechanism (same table, same policy: 6 digits,
5 minutes, 60 s between sends, 5 tries), bound to their purpose by the keyed hash: a code
sent for a renewal is wrong for a reset and for an activation. The code is checked first
(a wrong one counted), then the face check or the password, and it is used up only in the
transaction that replaces the certificate: a failed face check or a wrong password leaves
the code usable for another try (within its 5 minutes); a wrong code uses no face token.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from typing import Any, Literal

from certs.adapters import repository as repo
from certs.adapters.crypto.describe import mask
from certs.domain import CodeCheck, CodeInvalid
from certs.domain import certificate as rules
from certs.domain.errors import CertificateNotActivated, CertificateRevoked
from certs.domain.events import ReissueCause
from shared.db import Conn
from shared.logging import get_logger
from shared.unit_of_work import UnitOfWork

from . import crl, views
from .activation import Minted, mint, store
from .certificates import with_password
from .context import Certs

log = get_logger(__name__)

CodePurpose = Literal["reset", "renewal"]
FACE_PURPOSE = "reset_certificate"  # identity's face-check purpose for a reset
SMS_TEXTS: dict[CodePurpose, str] = {
    "reset": "【吉事办】您正在重置数字证书密码，验证码{code}，{minutes}分钟内有效。"
             "如非本人操作，请忽略本短信。",
    "renewal": "【吉事办】您正在更新数字证书，验证码{code}，{minutes}分钟内有效。"
               "请勿将验证码告知他人。",
}


def _code_subject(principal_id: uuid.UUID, purpose: CodePurpose) -> str:
    """What the code's keyed hash is bound to (activation codes: the principal id alone)."""
    return f"{principal_id}:{purpose}"


async def _current(conn: Conn, principal_id: uuid.UUID, *, for_update: bool = False) -> Any:
    """The active certificate's row; 409 ``certificate_revoked`` when the newest one was
    revoked (nothing active replaced it), 404 ``certificate_not_activated`` with none."""
    row = await repo.active_user_certificate(conn, principal_id, for_update=for_update)
    if row is not None:
        return row
    latest = await repo.latest_user_certificate(conn, principal_id)
    if latest is not None:
        raise CertificateRevoked(latest["serial_number"])
    raise CertificateNotActivated()


async def send_code(certs: Certs, principal_id: uuid.UUID, purpose: CodePurpose) -> dict[str, Any]:
    """A code by SMS to the bound phone for a reset or a renewal (same limits as activation)."""
    principal = await certs.directory.get(principal_id)
    phone = principal.require_phone()
    async with certs.db.transaction() as uow:
        await repo.lock_principal(uow.conn, principal_id)
        await _current(uow.conn, principal_id)
        now = certs.clock.now()
        previous = await repo.activation_code(uow.conn, principal_id)
        record, code = certs.codes.issue(_code_subject(principal_id, purpose), now, previous)
        await repo.save_activation_code(uow.conn, principal_id, record)
        minutes = int(certs.codes.ttl.total_seconds() // 60)
        message = await certs.sms.send(phone, SMS_TEXTS[purpose].format(code=code, minutes=minutes), now)
        await repo.set_code_message(uow.conn, principal_id, message)
    log.info("certificate_code_sent", principal_id=str(principal_id), purpose=purpose,
             phone_masked=mask(phone))
    return {
        "phone_masked": mask(phone),
        "expires_at": views.rfc3339(record.expires_at),
        "resend_after_seconds": int(certs.codes.resend_interval.total_seconds()),
    }


async def _check_code(certs: Certs, conn: Conn, principal_id: uuid.UUID, purpose: CodePurpose,
                      code: str) -> CodeCheck:
    await repo.lock_principal(conn, principal_id)
    record = await repo.activation_code(conn, principal_id)
    if record is None:
        raise CodeInvalid(0)  # no code was sent: nothing to count
    bound = replace(record, subject_id=_code_subject(principal_id, purpose))
    return certs.codes.verify(bound, code, certs.clock.now())


async def _verify_code(certs: Certs, principal_id: uuid.UUID, purpose: CodePurpose,
                       code: str) -> None:
    """Check the code without using it up; a wrong one is counted (committed) and raised."""
    async with certs.db.transaction() as uow:
        check = await _check_code(certs, uow.conn, principal_id, purpose, code)
        if check.error is not None:
            await repo.save_activation_code(uow.conn, principal_id, check.record)
    if check.error is not None:
        raise check.error


async def _use_code(certs: Certs, conn: Conn, principal_id: uuid.UUID, purpose: CodePurpose,
                    code: str) -> None:
    """Use the (verified) code up, in the transaction that replaces the certificate: a code
    used meanwhile by a parallel request is refused (the transaction rolls back)."""
    check = await _check_code(certs, conn, principal_id, purpose, code)
    if check.error is not None:
        raise check.error
    await repo.save_activation_code(conn, principal_id, check.record)


async def _replace(certs: Certs, uow: UnitOfWork, principal_id: uuid.UUID,
                   enterprise_id: uuid.UUID | None, new: Minted, cause: ReissueCause,
                   key_compromised: bool) -> dict[str, Any]:
    """In the caller's transaction (the old row locked): revoke the old certificate, record
    the new one, re-issue the CRLs. Answers the new certificate's view."""
    conn = uow.conn
    row = await _current(conn, principal_id, for_update=True)
    old = await certs.load(uow, row["certificate_id"])
    now = certs.clock.now()
    old_events, new_events = rules.reissue_user_certificate(
        old, new.facts, enterprise_id, cause, now, key_compromised=key_compromised)
    await certs.record(uow, old.certificate_id, old.version, old_events)
    await store(certs, uow, new, new_events)
    await crl.reissue(certs, conn, "issuing", now)
    if old.has_sm2:  # its SM2 twin is revoked with it
        await crl.reissue(certs, conn, "sm2_issuing", now)
    log.info("certificate_reissued", principal_id=str(principal_id), cause=cause,
             old_serial_number=old.serial_number, serial_number=new.facts.serial_number)
    fresh = await repo.by_id(conn, new.certificate_id)
    twin = await repo.sm2_twin(conn, new.certificate_id)
    assert fresh is not None
    return views.certificate_view(fresh, now, twin)


@dataclass(frozen=True)
class Reset:
    principal_id: uuid.UUID
    sms_code: str
    face_token: str
    new_password: str
    new_password_confirm: str
    key_compromised: bool = False


async def reset(certs: Certs, cmd: Reset) -> dict[str, Any]:
    """The forgotten password: SMS code, then face check, then a new key and certificate."""
    certs.password_rule.require(cmd.new_password, cmd.new_password_confirm, field="new_password",
                                confirm_field="new_password_confirm")
    async with certs.db.connection() as uow:
        await _current(uow.conn, cmd.principal_id)  # 404 / 409 before using anything up
    principal = await certs.directory.get(cmd.principal_id)
    principal.subject()  # identity data incomplete: 409 before the code is used
    await _verify_code(certs, cmd.principal_id, "reset", cmd.sms_code)
    await certs.faces.consume(cmd.face_token, cmd.principal_id, FACE_PURPOSE)
    new = await mint(certs, principal, cmd.new_password)  # Argon2id before the lock
    async with certs.db.transaction() as uow:
        # the row first, then the principal's code (the order a renewal takes them in)
        await _current(uow.conn, cmd.principal_id, for_update=True)
        await _use_code(certs, uow.conn, cmd.principal_id, "reset", cmd.sms_code)
        return await _replace(certs, uow, cmd.principal_id, principal.owner_enterprise_id, new,
                              "reset", cmd.key_compromised)


@dataclass(frozen=True)
class Renew:
    principal_id: uuid.UUID
    sms_code: str
    password: str
    serial_number: str | None = None  # the certificate the client means to renew, if it says


async def renew(certs: Certs, cmd: Renew) -> dict[str, Any]:
    """Before expiry: SMS code, the current password, then a new key and certificate."""
    async with certs.db.connection() as uow:
        if cmd.serial_number is not None:
            named = await repo.user_certificate_by_serial(uow.conn, cmd.principal_id,
                                                          cmd.serial_number.upper())
            if named is None:
                raise CertificateNotActivated()
            if named["status"] == "revoked":
                raise CertificateRevoked(named["serial_number"])
        row = await _current(uow.conn, cmd.principal_id)
        rules.ensure_renewable(await certs.load(uow, row["certificate_id"]), row["not_after"],
                               certs.clock.now())
    principal = await certs.directory.get(cmd.principal_id)
    principal.subject()
    await _verify_code(certs, cmd.principal_id, "renewal", cmd.sms_code)

    async def check_and_mint(conn: Conn, cert: rules.Certificate, row: Any) -> tuple[Minted, list[Any]]:
        # the password opens the current key (WrongPassword is counted by with_password)
        await certs.keys.open_user_key(conn, cert.key_id, str(cert.certificate_id), cmd.password)
        rules.ensure_renewable(cert, row["not_after"], certs.clock.now())
        return await mint(certs, principal, cmd.password), []

    view: dict[str, Any] = {}

    async def replace_it(uow: UnitOfWork, new: Minted) -> None:
        await _use_code(certs, uow.conn, cmd.principal_id, "renewal", cmd.sms_code)
        view.update(await _replace(certs, uow, cmd.principal_id, principal.owner_enterprise_id,
                                   new, "renewal", False))

    await with_password(certs, cmd.principal_id, check_and_mint, after=replace_it)
    return view
