"""The state tables (seals, grants, signatures) folded from this service's own events.

Command handlers apply it inline, in the transaction of the append, so the API reads its
own writes and the tables' unique indexes and row locks act on committed truth. It can be
dropped and rebuilt from the event store (``python -m seals rebuild-projection seals_state``);
the blobs the events only fingerprint (images, certificates) live in other tables and stay.
"""

from __future__ import annotations

from collections.abc import Sequence

from shared.catalog import (
    AuthorizationGranted,
    AuthorizationRevoked,
    AuthorizationUpdated,
    PersonalSignatureCreated,
    PersonalSignatureDeleted,
    SealApprovalPolicySet,
    SealIssued,
    SealRevoked,
)
from shared.db import Conn
from shared.eventstore import StoredEvent
from shared.projections import Projection


class SealsState(Projection):
    name = "seals_state"
    tables = ("seals", "grants", "signatures")

    async def apply(self, conn: Conn, event: StoredEvent) -> None:
        ev = event.decode()
        at, v = event.occurred_at, event.version
        if isinstance(ev, SealIssued):
            await conn.execute(
                "INSERT INTO seals (seal_id, enterprise_id, type, name, status, image_sha256,"
                " certificate_serial, issued_by, created_at, version)"
                " VALUES ($1, $2, $3, $4, 'active', $5, $6, $7, $8, $9)"
                " ON CONFLICT (seal_id) DO NOTHING",
                ev.seal_id, ev.enterprise_id, ev.type, ev.name, ev.image_sha256,
                ev.certificate_serial, ev.issued_by, at, v)
        elif isinstance(ev, SealRevoked):
            await conn.execute(
                "UPDATE seals SET status = 'revoked', revoked_at = $2, revoked_by = $3,"
                " revoke_reason = $4, version = $5 WHERE seal_id = $1 AND version < $5",
                ev.seal_id, ev.revoked_at, ev.revoked_by, ev.reason, v)
        elif isinstance(ev, SealApprovalPolicySet):
            await conn.execute(
                "UPDATE seals SET approval_required = $2, approvers = $3, version = $4"
                " WHERE seal_id = $1 AND version < $4",
                ev.seal_id, ev.approval_required, list(ev.approvers), v)
        elif isinstance(ev, AuthorizationGranted):
            await conn.execute(
                "INSERT INTO grants (grant_id, seal_id, enterprise_id, person_id, person_name,"
                " id_number_masked, valid_from, valid_to, granted_by, created_at, updated_at, version)"
                " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, $11)"
                " ON CONFLICT (grant_id) DO NOTHING",
                ev.grant_id, ev.seal_id, ev.enterprise_id, ev.person_id, ev.person_name,
                ev.id_number_masked, ev.valid_from, ev.valid_to, ev.granted_by, at, v)
        elif isinstance(ev, AuthorizationUpdated):
            await conn.execute(
                "UPDATE grants SET valid_from = $2, valid_to = $3, updated_at = $4, version = $5"
                " WHERE grant_id = $1 AND version < $5",
                ev.grant_id, ev.valid_from, ev.valid_to, at, v)
        elif isinstance(ev, AuthorizationRevoked):
            await conn.execute(
                "UPDATE grants SET deleted = true, deleted_at = $2, updated_at = $2, version = $3"
                " WHERE grant_id = $1 AND version < $3", ev.grant_id, at, v)
        elif isinstance(ev, PersonalSignatureCreated):
            await conn.execute(
                "INSERT INTO signatures (signature_id, person_id, method, image_sha256, created_at,"
                " version) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (signature_id) DO NOTHING",
                ev.signature_id, ev.person_id, ev.method, ev.image_sha256, at, v)
        elif isinstance(ev, PersonalSignatureDeleted):
            await conn.execute(
                "UPDATE signatures SET deleted = true, deleted_at = $2, version = $3"
                " WHERE signature_id = $1 AND version < $3", ev.signature_id, at, v)

    async def apply_batch(self, conn: Conn, events: Sequence[StoredEvent]) -> None:
        for ev in events:
            await self.apply(conn, ev)


STATE = SealsState()
