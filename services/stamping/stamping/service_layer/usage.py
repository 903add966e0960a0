"""Usage records (印章使用记录): who sees what, over which window.

- a person: the records of their own stamps;
- an enterprise account, and its agents (with or without the management permission): the
  records of the enterprise's seals (the enterprise is the one seals named when it signed).
Only the last 3 months are listed (``from`` is clamped); the records themselves are kept.
Newest first; keyset pagination on ``(used_at, record_id)``.

Signature records (issue 15): a stamp's personal ``signature`` placements are the person's own
signature, not a seal use; the person lists them apart (``list_signatures``), same window and
paging; an enterprise never sees them.

Exports (导出, issue 16): the enterprise account, and its agents with the management
permission, download the enterprise's records (same window and filters as the list) page by
page (``export``); a person, or an agent without that permission, is refused.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from shared import cursors
from shared.auth import Principal
from shared.errors import Forbidden

from ..adapters import repository
from ..domain.authorization import rfc3339
from ..domain.rules import usage_window
from .context import Stamping

DEFAULT_LIMIT, MAX_LIMIT = 50, 100
EXPORT_PAGE = 500


@dataclass(frozen=True)
class UsageQuery:
    since: datetime | None = None
    until: datetime | None = None
    seal_id: uuid.UUID | None = None
    limit: int = DEFAULT_LIMIT
    cursor: str | None = None


def _encode_cursor(used_at: datetime, record_id: uuid.UUID) -> str:
    return cursors.encode(used_at, record_id)


def _decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    used_at, record_id = cursors.decode(cursor, datetime, uuid.UUID)
    return used_at, record_id


def _scope(principal: Principal) -> tuple[str, uuid.UUID]:
    if principal.role == "person":
        return "person_id", principal.id
    if principal.acts_for_enterprise and principal.enterprise_id is not None:
        return "enterprise_id", principal.enterprise_id
    raise Forbidden("no usage records for this account", code="role_not_allowed")


async def list_records(ctx: Stamping, principal: Principal, q: UsageQuery) -> dict[str, Any]:
    column, owner = _scope(principal)
    start, end = usage_window(ctx.clock(), q.since, q.until)
    limit = max(1, min(MAX_LIMIT, q.limit))
    after = _decode_cursor(q.cursor) if q.cursor else None
    async with ctx.db.connection() as uow:
        rows = await repository.usage_page(uow.conn, column, owner, start, end, q.seal_id, after, limit + 1)
    page = rows[:limit]
    items = [{
        "record_id": str(r["record_id"]), "used_at": rfc3339(r["used_at"]),
        "user_name": r["user_name"], "enterprise_id": str(r["enterprise_id"]),
        "enterprise_name": r["enterprise_name"], "seal_id": str(r["seal_id"]),
        "seal_name": r["seal_name"], "seal_type": r["seal_type"],
        "document_title": r["document_title"], "document_sha256": r["document_sha256"],
        "kind": r["kind"], "requester": r["requester"], "request_id": str(r["request_id"]),
        "format": r["format"], "algorithm": r["algorithm"],
    } for r in page]
    more = len(rows) > limit
    return {"items": items, "from": rfc3339(start), "to": rfc3339(end),
            "next_cursor": _encode_cursor(page[-1]["used_at"], page[-1]["record_id"]) if more else None}


async def list_signatures(ctx: Stamping, principal: Principal, q: UsageQuery) -> dict[str, Any]:
    """The person's own signatures made in stamps (signature records), the last 3 months."""
    if principal.role != "person":
        raise Forbidden("signature records are the person's own", code="role_not_allowed")
    start, end = usage_window(ctx.clock(), q.since, q.until)
    limit = max(1, min(MAX_LIMIT, q.limit))
    after = _decode_cursor(q.cursor) if q.cursor else None
    async with ctx.db.connection() as uow:
        rows = await repository.signature_page(uow.conn, principal.id, start, end, after, limit + 1)
    page = rows[:limit]
    items = [{
        "record_id": str(r["record_id"]), "signed_at": rfc3339(r["signed_at"]),
        "user_name": r["user_name"], "request_id": str(r["request_id"]),
        "document_title": r["document_title"], "document_sha256": r["document_sha256"],
        "requester": r["requester"], "placements": list(r["placement_indexes"]),
        "certificate_serial": r["certificate_serial"],
        # the document's format decides the signature's (docs/STAMPING.md)
        **({"format": "gbt38540", "algorithm": "sm2-sm3"} if r["kind"] == "ofd"
           else {"format": "pades", "algorithm": "ecdsa-p256-sha256"}),
    } for r in page]
    more = len(rows) > limit
    return {"items": items, "from": rfc3339(start), "to": rfc3339(end),
            "next_cursor": _encode_cursor(page[-1]["signed_at"], page[-1]["record_id"]) if more else None}


@dataclass(frozen=True)
class UsageExport:
    """What an export covers; ``pages()`` reads it page by page (keyset, newest first), each
    page on a connection of its own, so a slow download holds no connection."""

    ctx: Stamping
    enterprise_id: uuid.UUID
    start: datetime
    end: datetime
    seal_id: uuid.UUID | None
    page_size: int = EXPORT_PAGE

    async def pages(self) -> AsyncIterator[list[asyncpg.Record]]:
        after: tuple[datetime, uuid.UUID] | None = None
        while True:
            async with self.ctx.db.connection() as uow:
                rows = await repository.usage_page(uow.conn, "enterprise_id", self.enterprise_id,
                                                   self.start, self.end, self.seal_id, after,
                                                   self.page_size)
            if rows:
                yield rows
            if len(rows) < self.page_size:
                return
            after = (rows[-1]["used_at"], rows[-1]["record_id"])


def export(ctx: Stamping, principal: Principal, q: UsageQuery) -> UsageExport:
    """The enterprise's records to export, or 403: for the enterprise account and its agents
    with the management permission (a person lists their own records but exports none)."""
    if principal.role == "person" or principal.enterprise_id is None:
        raise Forbidden("usage records are exported by the enterprise", code="role_not_allowed")
    if principal.role == "agent" and not principal.can_manage:
        raise Forbidden("exporting usage records needs the management permission",
                        code="management_permission_required")
    start, end = usage_window(ctx.clock(), q.since, q.until)
    return UsageExport(ctx, principal.enterprise_id, start, end, q.seal_id, EXPORT_PAGE)
