"""``usage_records`` (印章使用记录): one row per stamp (per seal placement of a request), from
``UsageRecorded``."""

from __future__ import annotations

from collections.abc import Sequence

from shared.db import Conn
from shared.eventstore import StoredEvent
from shared.projections import Projection

from ..domain.events import UsageRecorded

_COLUMNS = ("record_id", "request_id", "used_at", "person_id", "user_name", "enterprise_id",
            "enterprise_name", "seal_id", "seal_name", "seal_type", "document_title",
            "document_sha256", "kind", "client_id", "requester", "authorization_text",
            "person_signature_b64", "person_signature_algorithm", "person_certificate_serial",
            "seal_certificate_serial", "result_sha256", "seal_signature_sha256", "format", "algorithm",
            "placement_index")
_PLACEHOLDERS = ", ".join(f"${i}" for i in range(1, len(_COLUMNS) + 1))
_INSERT = (f"INSERT INTO usage_records ({', '.join(_COLUMNS)}) VALUES ({_PLACEHOLDERS})"  # noqa: S608
           " ON CONFLICT (record_id) DO NOTHING")


def _row(ev: UsageRecorded) -> tuple[object, ...]:
    return (ev.record_id, ev.request_id, ev.used_at, ev.person_id, ev.user_name, ev.enterprise_id,
            ev.enterprise_name, ev.seal_id, ev.seal_name, ev.seal_type, ev.document_title,
            ev.document_sha256, ev.kind, ev.client_id, ev.requester, ev.authorization,
            ev.person_signature_b64, ev.person_signature_algorithm, ev.person_certificate_serial,
            ev.seal_certificate_serial, ev.result_sha256, ev.seal_signature_sha256 or None,
            ev.format or None, ev.algorithm or None, ev.placement_index)


class UsageRecordsProjection(Projection):
    name = "usage_records"
    tables = ("usage_records",)

    async def apply(self, conn: Conn, event: StoredEvent) -> None:
        await self.apply_batch(conn, [event])

    async def apply_batch(self, conn: Conn, events: Sequence[StoredEvent]) -> None:
        decoded = (e.decode() for e in events if e.type == UsageRecorded.event_type)
        rows = [_row(ev) for ev in decoded if isinstance(ev, UsageRecorded)]
        if rows:
            await conn.executemany(_INSERT, rows)
