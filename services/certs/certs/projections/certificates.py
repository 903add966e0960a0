"""Read model of certificates (and the agreements accepted with them).

Applied inline in each command's transaction (read-your-writes for the API); rebuildable
by replay: ``python -m certs rebuild-projection certificates``. Every statement is guarded
by the stream version, so applying an event twice changes nothing.
"""

from __future__ import annotations

from certs.domain.events import (
    CertificatePasswordAccepted,
    CertificatePasswordChanged,
    CertificatePasswordRejected,
    SealCertificateCreated,
    SealCertificateSuperseded,
    Sm2CertificateAdded,
    UserCertificateActivated,
    UserCertificateReissued,
)
from shared.catalog import CertificateRevoked
from shared.db import Conn
from shared.eventstore import StoredEvent
from shared.projections import Projection

_INSERT = """
INSERT INTO certificates (certificate_id, owner_type, owner_id, enterprise_id, seal_id, key_id,
    serial_number, subject, issuer, not_before, not_after, fingerprint_sha256, certificate_pem,
    subject_digest, created_at, version)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
ON CONFLICT (certificate_id) DO NOTHING
"""


class CertificatesProjection(Projection):
    name = "certificates"
    tables = ("certificates", "agreement_acceptances", "sm2_certificates")

    async def apply(self, conn: Conn, event: StoredEvent) -> None:
        ev = event.decode()
        v = event.version
        if isinstance(ev, UserCertificateActivated):
            await conn.execute(
                _INSERT, ev.certificate_id, ev.owner_type, ev.owner_id, ev.enterprise_id, None,
                ev.key_id, ev.serial_number, ev.subject, ev.issuer, ev.not_before, ev.not_after,
                ev.fingerprint_sha256, ev.certificate_pem, None, ev.activated_at, v)
            await conn.executemany(
                "INSERT INTO agreement_acceptances (certificate_id, principal_id, code, version,"
                " accepted_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
                [(ev.certificate_id, ev.owner_id, a.code, a.version, ev.activated_at)
                 for a in ev.accepted_agreements])
        elif isinstance(ev, UserCertificateReissued):  # after the old one's revocation
            await conn.execute(
                _INSERT, ev.certificate_id, ev.owner_type, ev.owner_id, ev.enterprise_id, None,
                ev.key_id, ev.serial_number, ev.subject, ev.issuer, ev.not_before, ev.not_after,
                ev.fingerprint_sha256, ev.certificate_pem, None, ev.reissued_at, v)
        elif isinstance(ev, SealCertificateCreated):
            await conn.execute(
                _INSERT, ev.certificate_id, "seal", ev.seal_id, ev.enterprise_id, ev.seal_id,
                ev.key_id, ev.serial_number, ev.subject, ev.issuer, ev.not_before, ev.not_after,
                ev.fingerprint_sha256, ev.certificate_pem, ev.subject_digest, ev.created_at, v)
        elif isinstance(ev, Sm2CertificateAdded):
            await conn.execute(
                "INSERT INTO sm2_certificates (certificate_id, key_id, serial_number, subject,"
                " issuer, not_before, not_after, fingerprint_sha256, certificate_pem, created_at)"
                " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
                " ON CONFLICT (certificate_id) DO NOTHING",
                ev.certificate_id, ev.key_id, ev.serial_number, ev.subject, ev.issuer,
                ev.not_before, ev.not_after, ev.fingerprint_sha256, ev.certificate_pem, ev.added_at)
            await self._update(conn, event, "")
        elif isinstance(ev, CertificatePasswordRejected):
            await self._update(conn, event, "password_failures = $3, locked_until = $4",
                               ev.failures, ev.locked_until)
        elif isinstance(ev, CertificatePasswordAccepted | CertificatePasswordChanged):
            await self._update(conn, event, "password_failures = 0, locked_until = NULL")
        elif isinstance(ev, SealCertificateSuperseded):  # before its successor's insert
            await self._update(conn, event, "superseded_by = $3, superseded_at = $4",
                               ev.superseded_by, ev.superseded_at)
        elif isinstance(ev, CertificateRevoked):
            await self._update(conn, event,
                               "status = 'revoked', revoked_at = $3, revocation_reason = $4",
                               ev.revoked_at, ev.reason)
        else:  # CertificateIssued: the facts came with the event before it
            await self._update(conn, event, "")

    @staticmethod
    async def _update(conn: Conn, event: StoredEvent, assignments: str,
                      *args: object) -> None:
        sets = f"{assignments}, version = $2" if assignments else "version = $2"
        await conn.execute(
            f"UPDATE certificates SET {sets}"  # noqa: S608 - assignments are constants
            " WHERE certificate_id = $1::text::uuid AND version < $2",
            event.stream_id, event.version, *args)
