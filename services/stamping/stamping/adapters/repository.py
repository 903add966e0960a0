"""SQL of the stamping service (tables in ``migrations/0001_stamping.sql``)."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from shared.db import Conn
from shared.eventstore import EventStore

from ..domain import placements as placement_model
from ..domain import stamp_request as stamp_requests
from ..domain.events import SCAN_STREAM, RequestScanned
from ..domain.stamp_request import StampRequest

STREAM_TYPE = "stamp_request"


@dataclass(frozen=True)
class Client:
    client_id: uuid.UUID
    name: str
    webhook_secret: str
    disabled: bool = False


@dataclass(frozen=True)
class RequestRow:
    request_id: uuid.UUID
    client_id: uuid.UUID
    kind: str
    title: str
    document_sha256: str
    document_size: int | None
    pages: int | None
    page: int | None
    x: float | None
    y: float | None
    callback_url: str | None
    token_hash: bytes
    expires_at: datetime
    created_at: datetime
    claim_id: uuid.UUID | None
    claimed_by: uuid.UUID | None
    claimed_until: datetime | None
    # Where the stamps go, resolved at request time; empty for a digest request.
    placements: tuple[placement_model.Placement, ...] = ()

    @classmethod
    def of(cls, r: asyncpg.Record) -> RequestRow:
        fields = {k: r[k] for k in cls.__dataclass_fields__ if k != "placements"}
        stored = r["placements"]
        if stored is not None:
            fields["placements"] = tuple(placement_model.from_json(stored))
        elif r["page"] is not None and r["x"] is not None and r["y"] is not None:
            fields["placements"] = tuple(placement_model.legacy(r["page"], r["x"], r["y"]))
        return cls(**fields)


_REQUEST_COLUMNS = ", ".join(f"r.{c}" for c in RequestRow.__dataclass_fields__)


# clients ------------------------------------------------------------------------------


async def insert_client(conn: Conn, client_id: uuid.UUID, name: str,
                        secret_hash: str, webhook_secret: str) -> None:
    await conn.execute(
        "INSERT INTO clients (client_id, name, secret_hash, webhook_secret) VALUES ($1, $2, $3, $4)",
        client_id, name, secret_hash, webhook_secret)


async def client_secret_hash(conn: Conn, client_id: uuid.UUID) -> str | None:
    secret_hash: str | None = await conn.fetchval(
        "SELECT secret_hash FROM clients WHERE client_id = $1 AND disabled_at IS NULL", client_id)
    return secret_hash


async def get_client(conn: Conn, client_id: uuid.UUID) -> Client | None:
    r = await conn.fetchrow("SELECT client_id, name, webhook_secret, disabled_at IS NOT NULL AS disabled"
                            " FROM clients WHERE client_id = $1", client_id)
    return Client(r["client_id"], r["name"], r["webhook_secret"], r["disabled"]) if r else None


async def disable_client(conn: Conn, client_id: uuid.UUID) -> bool:
    done = await conn.execute("UPDATE clients SET disabled_at = now() WHERE client_id = $1"
                              " AND disabled_at IS NULL", client_id)
    return bool(done.endswith(" 1"))


async def list_clients(conn: Conn) -> list[asyncpg.Record]:
    return list(await conn.fetch("SELECT client_id, name, created_at, disabled_at FROM clients"
                                 " ORDER BY created_at"))


# requests -----------------------------------------------------------------------------


async def delete_document(conn: Conn, request_id: uuid.UUID) -> None:
    """The uploaded document of a request that ended without a stamp (expired)."""
    await conn.execute("DELETE FROM request_documents WHERE request_id = $1", request_id)


async def insert_request(conn: Conn, row: RequestRow, document: bytes | None) -> None:
    await conn.execute(
        "INSERT INTO stamp_requests (request_id, client_id, kind, title, document_sha256,"
        " document_size, pages, page, x, y, callback_url, token_hash, expires_at, created_at,"
        " placements) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15::jsonb)",
        row.request_id, row.client_id, row.kind, row.title, row.document_sha256, row.document_size,
        row.pages, row.page, row.x, row.y, row.callback_url, row.token_hash, row.expires_at,
        row.created_at, placement_model.to_json(row.placements) if row.placements else None)
    if document is not None:
        await conn.execute("INSERT INTO request_documents (request_id, content) VALUES ($1, $2)",
                           row.request_id, document)


async def get_request(conn: Conn, request_id: uuid.UUID, *,
                      for_update: bool = False) -> RequestRow | None:
    lock = " FOR UPDATE" if for_update else ""
    query = f"SELECT {_REQUEST_COLUMNS} FROM stamp_requests r WHERE r.request_id = $1{lock}"  # noqa: S608
    r = await conn.fetchrow(query, request_id)
    return RequestRow.of(r) if r else None


async def request_to_claim(conn: Conn, request_id: uuid.UUID,
                           person_id: uuid.UUID) -> tuple[RequestRow, bool, bytes | None] | None:
    """A stamp's claim, one round trip (issue 18): the request locked, whether ``person_id``
    scanned it, and its document (pdf and ofd)."""
    r = await conn.fetchrow(
        f"SELECT {_REQUEST_COLUMNS},"  # noqa: S608 - the columns are the dataclass's names
        " EXISTS (SELECT 1 FROM scans s WHERE s.request_id = r.request_id AND s.person_id = $2)"
        " AS scanned,"
        " (SELECT d.content FROM request_documents d WHERE d.request_id = r.request_id"
        "  AND r.kind IN ('pdf', 'ofd')) AS document"
        " FROM stamp_requests r WHERE r.request_id = $1 FOR UPDATE OF r", request_id, person_id)
    return (RequestRow.of(r), bool(r["scanned"]), r["document"]) if r else None


async def request_to_commit(conn: Conn, request_id: uuid.UUID) -> tuple[RequestRow, Client | None] | None:
    """A stamp's commit, one round trip (issue 18): the request locked, with its client."""
    r = await conn.fetchrow(
        f"SELECT {_REQUEST_COLUMNS}, c.name AS client_name, c.webhook_secret,"  # noqa: S608
        " c.disabled_at IS NOT NULL AS client_disabled"
        " FROM stamp_requests r LEFT JOIN clients c ON c.client_id = r.client_id"
        " WHERE r.request_id = $1 FOR UPDATE OF r", request_id)
    if r is None:
        return None
    client = (Client(r["client_id"], r["client_name"], r["webhook_secret"], r["client_disabled"])
              if r["client_name"] is not None else None)
    return RequestRow.of(r), client


async def document(conn: Conn, request_id: uuid.UUID) -> bytes | None:
    content: bytes | None = await conn.fetchval(
        "SELECT content FROM request_documents WHERE request_id = $1", request_id)
    return content


async def load_request(conn: Conn, store: EventStore, request_id: uuid.UUID) -> StampRequest:
    return stamp_requests.fold(request_id, (e.decode() for e in await store.load(conn, request_id)))


async def set_claim(conn: Conn, request_id: uuid.UUID, claim_id: uuid.UUID,
                    person_id: uuid.UUID, until: datetime) -> None:
    await conn.execute("UPDATE stamp_requests SET claim_id = $2, claimed_by = $3, claimed_until = $4"
                       " WHERE request_id = $1", request_id, claim_id, person_id, until)


async def release_claim(conn: Conn, request_id: uuid.UUID, claim_id: uuid.UUID) -> None:
    await conn.execute("UPDATE stamp_requests SET claim_id = NULL, claimed_by = NULL, claimed_until = NULL"
                       " WHERE request_id = $1 AND claim_id = $2", request_id, claim_id)


# A request finished (claim cleared, QR token used up) and its upload dropped, in one
# statement; ``$1`` is the request's id (a stamp's commit puts its result before it).
_FINISHED = ("finished AS (UPDATE stamp_requests SET claim_id = NULL, claimed_by = NULL,"
             " claimed_until = NULL, token_used_at = now() WHERE request_id = $1)"
             " DELETE FROM request_documents WHERE request_id = $1")


async def finish_request(conn: Conn, request_id: uuid.UUID) -> None:
    """The token is used up and the upload no longer needed (the stamped PDF contains it)."""
    await conn.execute(f"WITH {_FINISHED}", request_id)


async def record_scan(conn: Conn, store: EventStore, request_id: uuid.UUID, person_id: uuid.UUID,
                      now: datetime, batch_id: uuid.UUID | None = None) -> None:
    """The scan, as an event (``RequestScanned``, a stream of its own) and as the row that lets
    this person see the request's document. Call it inside a transaction."""
    scan_id = uuid.uuid4()
    await store.append(conn, scan_id, SCAN_STREAM, 0, [RequestScanned(
        scan_id=scan_id, request_id=request_id, person_id=person_id, scanned_at=now,
        batch_id=batch_id)], metadata={"actor": str(person_id), "actor_role": "person"})
    await conn.execute("INSERT INTO scans (request_id, person_id) VALUES ($1, $2)"
                       " ON CONFLICT (request_id, person_id) DO UPDATE SET scanned_at = now()",
                       request_id, person_id)


async def usage_record(conn: Conn, record_id: uuid.UUID) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await conn.fetchrow(
        "SELECT * FROM usage_records WHERE record_id = $1", record_id)
    return row


async def scans(conn: Conn, request_id: uuid.UUID, person_id: uuid.UUID) -> list[asyncpg.Record]:
    """This person's scans of the request (``RequestScanned``: event id, time), oldest first."""
    return list(await conn.fetch(
        "SELECT event_id, (data->>'scanned_at')::timestamptz AS scanned_at FROM events"
        " WHERE type = 'RequestScanned' AND data->>'request_id' = $1 AND data->>'person_id' = $2"
        " ORDER BY position", str(request_id), str(person_id)))


async def has_scanned(conn: Conn, request_id: uuid.UUID, person_id: uuid.UUID) -> bool:
    return bool(await conn.fetchval("SELECT true FROM scans WHERE request_id = $1 AND person_id = $2",
                                    request_id, person_id))


async def store_result_and_finish(conn: Conn, request_id: uuid.UUID, record_id: uuid.UUID,
                                  content_type: str, content: bytes, sha256: str) -> None:
    """The stamp's end in one statement (issue 18: one round trip instead of three): the
    result stored, then what ``finish_request`` does."""
    await conn.execute(
        "WITH stored AS (INSERT INTO stamp_results"  # noqa: S608 - constant SQL
        f" (request_id, record_id, content_type, content, sha256) VALUES ($1, $2, $3, $4, $5)),"
        f" {_FINISHED}",
        request_id, record_id, content_type, content, sha256)


async def result(conn: Conn, request_id: uuid.UUID) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await conn.fetchrow(
        "SELECT record_id, content_type, content, sha256 FROM stamp_results WHERE request_id = $1",
        request_id)
    return row


async def due_for_expiry(conn: Conn, limit: int) -> list[uuid.UUID]:
    """Pending requests past their time and not being stamped, locked (other replicas skip them)."""
    rows = await conn.fetch(
        "SELECT r.request_id FROM request_status s JOIN stamp_requests r USING (request_id)"
        " WHERE s.status = 'pending' AND s.expires_at <= now()"
        "   AND (r.claim_id IS NULL OR r.claimed_until <= now())"
        " ORDER BY s.expires_at LIMIT $1 FOR UPDATE OF r SKIP LOCKED", limit)
    return [r["request_id"] for r in rows]


# callbacks ----------------------------------------------------------------------------


async def queue_callback(conn: Conn, request_id: uuid.UUID, client_id: uuid.UUID,
                         url: str, event: str, body: str) -> uuid.UUID:
    callback_id = uuid.uuid4()
    await conn.execute("INSERT INTO callbacks (callback_id, request_id, client_id, url, event, body)"
                       " VALUES ($1, $2, $3, $4, $5, $6)",
                       callback_id, request_id, client_id, url, event, body)
    return callback_id


async def queue_batch_callback(conn: Conn, batch_id: uuid.UUID, client_id: uuid.UUID,
                               url: str, event: str, body: str) -> uuid.UUID:
    """A batch's callback (issue 15): the same outbox, naming the batch instead of a request."""
    callback_id = uuid.uuid4()
    await conn.execute("INSERT INTO callbacks (callback_id, batch_id, client_id, url, event, body)"
                       " VALUES ($1, $2, $3, $4, $5, $6)",
                       callback_id, batch_id, client_id, url, event, body)
    return callback_id


async def lease_callbacks(conn: Conn, limit: int, lease_seconds: float) -> list[asyncpg.Record]:
    """Take due callbacks for ``lease_seconds`` (a replica that dies lets them fall due again)."""
    return list(await conn.fetch(
        "UPDATE callbacks c SET next_attempt_at = now() + make_interval(secs => $2),"
        "   attempts = c.attempts + 1"
        " FROM clients k"
        " WHERE k.client_id = c.client_id AND c.callback_id IN ("
        "   SELECT callback_id FROM callbacks WHERE status = 'pending' AND next_attempt_at <= now()"
        "   ORDER BY next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED)"
        " RETURNING c.callback_id, c.url, c.event, c.body, c.attempts, k.webhook_secret",
        limit, lease_seconds))


async def callback_delivered(conn: Conn, callback_id: uuid.UUID) -> None:
    await conn.execute("UPDATE callbacks SET status = 'delivered', delivered_at = now(), last_error = NULL"
                       " WHERE callback_id = $1", callback_id)


async def callback_failed(conn: Conn, callback_id: uuid.UUID, detail: str,
                          retry_in: float | None) -> None:
    if retry_in is None:
        await conn.execute("UPDATE callbacks SET status = 'failed', last_error = $2 WHERE callback_id = $1",
                           callback_id, detail)
    else:
        await conn.execute("UPDATE callbacks SET last_error = $2,"
                           " next_attempt_at = now() + make_interval(secs => $3) WHERE callback_id = $1",
                           callback_id, detail, retry_in)


async def callback_summary(conn: Conn, request_id: uuid.UUID) -> list[dict[str, Any]]:
    rows = await conn.fetch("SELECT event, status, attempts, last_error, delivered_at FROM callbacks"
                            " WHERE request_id = $1 ORDER BY created_at", request_id)
    return [dict(r) for r in rows]


async def batch_callback_summary(conn: Conn, batch_id: uuid.UUID) -> list[dict[str, Any]]:
    rows = await conn.fetch("SELECT event, status, attempts, last_error, delivered_at FROM callbacks"
                            " WHERE batch_id = $1 ORDER BY created_at", batch_id)
    return [dict(r) for r in rows]


# usage records (the projection's table, read) -----------------------------------------

_USAGE_LISTED = ("record_id, request_id, used_at, user_name, enterprise_id, enterprise_name, seal_id,"
           " seal_name, seal_type, document_title, document_sha256, kind, requester, format, algorithm")


async def usage_page(conn: Conn, column: str, owner: uuid.UUID, start: datetime, end: datetime,
                     seal_id: uuid.UUID | None, after: tuple[datetime, uuid.UUID] | None,
                     limit: int) -> list[asyncpg.Record]:
    """Records of ``owner`` (``column`` is ``person_id`` or ``enterprise_id``) used within
    [start, end], newest first, after the keyset ``after`` (used_at, record_id)."""
    assert column in ("person_id", "enterprise_id")
    args: list[Any] = [owner, start, end]
    where = [f"{column} = $1", "used_at >= $2", "used_at <= $3"]
    if seal_id is not None:
        args.append(seal_id)
        where.append(f"seal_id = ${len(args)}")
    if after is not None:
        args += [after[0], after[1]]
        where.append(f"(used_at, record_id) < (${len(args) - 1}, ${len(args)})")
    args.append(limit)
    # Only "$n" placeholders and constant column names are formatted into the text.
    query = (f"SELECT {_USAGE_LISTED} FROM usage_records WHERE {' AND '.join(where)}"  # noqa: S608
             f" ORDER BY used_at DESC, record_id DESC LIMIT ${len(args)}")
    return list(await conn.fetch(query, *args))


_RECORD_COLUMNS = ("request_id, person_id, user_name, enterprise_id, enterprise_name, seal_id, seal_name,"
                   " seal_type, kind, requester, person_signature_b64, seal_certificate_serial,"
                   " seal_signature_sha256, used_at")


async def records_by_fingerprints(conn: Conn, fingerprints: list[str]) -> list[asyncpg.Record]:
    """The usage records whose seal signature value has one of these SHA-256 fingerprints."""
    return list(await conn.fetch(
        f"SELECT {_RECORD_COLUMNS} FROM usage_records"  # noqa: S608 - constant columns
        " WHERE seal_signature_sha256 = any($1::text[])", fingerprints))


async def insert_signature_record(conn: Conn, *, record_id: uuid.UUID, request_id: uuid.UUID,
                                  person_id: uuid.UUID, user_name: str, placement_indexes: list[int],
                                  certificate_serial: str, signature_sha256: str, requester: str,
                                  signed_at: datetime) -> None:
    """A stamp's personal signature placements (issue 15): the person's, not a seal use."""
    await conn.execute(
        "INSERT INTO signature_records (record_id, request_id, person_id, user_name, placement_indexes,"
        " certificate_serial, signature_sha256, requester, signed_at)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)", record_id, request_id, person_id, user_name,
        placement_indexes, certificate_serial, signature_sha256, requester, signed_at)


async def signature_records_by_fingerprints(conn: Conn, fingerprints: list[str]) -> list[asyncpg.Record]:
    """The signature records whose signature value has one of these SHA-256 fingerprints."""
    return list(await conn.fetch(
        "SELECT record_id, request_id, person_id, user_name, certificate_serial, signature_sha256,"
        " signed_at FROM signature_records WHERE signature_sha256 = any($1::text[])", fingerprints))


async def signature_page(conn: Conn, person_id: uuid.UUID, start: datetime, end: datetime,
                         after: tuple[datetime, uuid.UUID] | None, limit: int) -> list[asyncpg.Record]:
    """The person's signature records signed within [start, end], newest first, after the
    keyset ``after`` (signed_at, record_id), with their request's title and document hash."""
    args: list[Any] = [person_id, start, end]
    where = "s.person_id = $1 AND s.signed_at >= $2 AND s.signed_at <= $3"
    if after is not None:
        args += [after[0], after[1]]
        where += " AND (s.signed_at, s.record_id) < ($4, $5)"
    args.append(limit)
    # Only "$n" placeholders and constant conditions are formatted into the text.
    query = ("SELECT s.record_id, s.request_id, s.user_name, s.placement_indexes,"  # noqa: S608
             " s.certificate_serial, s.requester, s.signed_at, r.title AS document_title, r.document_sha256,"
             " r.kind"
             " FROM signature_records s JOIN stamp_requests r ON r.request_id = s.request_id"
             f" WHERE {where} ORDER BY s.signed_at DESC, s.record_id DESC LIMIT ${len(args)}")
    return list(await conn.fetch(query, *args))


async def unfingerprinted(conn: Conn, after: str, limit: int) -> list[asyncpg.Record]:
    """Records older than the fingerprint column, with their kept results (for the backfill)."""
    return list(await conn.fetch(
        "SELECT u.request_id, u.kind, r.content FROM usage_records u"
        " JOIN stamp_results r ON r.request_id = u.request_id"
        " WHERE u.seal_signature_sha256 IS NULL AND u.request_id::text > $1"
        " ORDER BY u.request_id::text LIMIT $2", after, limit))


async def set_fingerprint(conn: Conn, request_id: uuid.UUID, fingerprint: str) -> None:
    await conn.execute("UPDATE usage_records SET seal_signature_sha256 = $2"
                       " WHERE request_id = $1 AND seal_signature_sha256 IS NULL",
                       request_id, fingerprint)


# approvals (用印审批) -------------------------------------------------------------------


@dataclass(frozen=True)
class ApprovalRow:
    approval_id: uuid.UUID
    request_id: uuid.UUID
    enterprise_id: uuid.UUID
    person_id: uuid.UUID
    person_name: str
    seal_ids: tuple[uuid.UUID, ...]
    approvers: tuple[uuid.UUID, ...]
    status: str
    cause: str | None
    reason: str
    requested_at: datetime
    expires_at: datetime
    decided_at: datetime | None
    decided_by: uuid.UUID | None
    claim_id: uuid.UUID
    seal_id: uuid.UUID | None
    choices: list[dict[str, Any]]
    authorized_at: datetime
    person_signature: dict[str, Any] | None
    own_indexes: tuple[int, ...]

    @classmethod
    def of(cls, r: asyncpg.Record) -> ApprovalRow:
        values = {k: r[k] for k in cls.__dataclass_fields__}
        values["seal_ids"] = tuple(values["seal_ids"])
        values["approvers"] = tuple(values["approvers"])
        values["own_indexes"] = tuple(values["own_indexes"])
        values["choices"] = json.loads(values["choices"]) if isinstance(values["choices"], str) \
            else values["choices"]
        sig = values["person_signature"]
        values["person_signature"] = json.loads(sig) if isinstance(sig, str) else sig
        return cls(**values)


_APPROVAL_COLUMNS = ", ".join(ApprovalRow.__dataclass_fields__)


async def get_approval(conn: Conn, approval_id: uuid.UUID, *,
                       for_update: bool = False) -> ApprovalRow | None:
    lock = " FOR UPDATE" if for_update else ""
    r = await conn.fetchrow(f"SELECT {_APPROVAL_COLUMNS} FROM approvals WHERE approval_id = $1{lock}",  # noqa: S608
                            approval_id)
    return ApprovalRow.of(r) if r else None


async def insert_approval(conn: Conn, *, approval_id: uuid.UUID, request_id: uuid.UUID,
                          enterprise_id: uuid.UUID, person_id: uuid.UUID, person_name: str,
                          seal_ids: list[uuid.UUID], approvers: list[uuid.UUID],
                          requested_at: datetime, expires_at: datetime, claim_id: uuid.UUID,
                          seal_id: uuid.UUID | None, choices: list[dict[str, Any]],
                          authorized_at: datetime, person_signature: dict[str, Any],
                          own_indexes: list[int], document: bytes | None) -> None:
    await conn.execute(
        "INSERT INTO approvals (approval_id, request_id, enterprise_id, person_id, person_name,"
        " seal_ids, approvers, status, requested_at, expires_at, claim_id, seal_id, choices,"
        " authorized_at, person_signature, own_indexes, document)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', $8, $9, $10, $11, $12::jsonb, $13,"
        " $14::jsonb, $15, $16)",
        approval_id, request_id, enterprise_id, person_id, person_name, seal_ids,
        approvers, requested_at, expires_at, claim_id, seal_id, json.dumps(choices),
        authorized_at, json.dumps(person_signature), own_indexes, document)


async def pending_approvals(conn: Conn, seal_ids: list[uuid.UUID]) -> list[ApprovalRow]:
    """The waiting, unexpired approvals of any of ``seal_ids``, oldest first (at most 100)."""
    rows = await conn.fetch(
        f"SELECT {_APPROVAL_COLUMNS} FROM approvals WHERE status = 'pending'"  # noqa: S608
        " AND seal_ids && $1::uuid[] AND expires_at > now()"
        " ORDER BY requested_at, approval_id LIMIT 100", seal_ids)
    return [ApprovalRow.of(r) for r in rows]


async def undecided_approvals(conn: Conn, limit: int) -> list[ApprovalRow]:
    """Waiting approvals nobody is deciding now, the soonest to expire first."""
    rows = await conn.fetch(
        f"SELECT {_APPROVAL_COLUMNS} FROM approvals WHERE status = 'pending'"  # noqa: S608
        " AND (deciding_until IS NULL OR deciding_until < now())"
        " ORDER BY expires_at LIMIT $1", limit)
    return [ApprovalRow.of(r) for r in rows]


async def approval_document(conn: Conn, approval_id: uuid.UUID) -> bytes | None:
    document: bytes | None = await conn.fetchval(
        "SELECT document FROM approvals WHERE approval_id = $1", approval_id)
    return document


async def lease_approval(conn: Conn, approval_id: uuid.UUID, seconds: float) -> bool:
    """Take the waiting approval's decision lease, unless someone holds it."""
    done = await conn.fetchval(
        "UPDATE approvals SET deciding_until = now() + make_interval(secs => $2)"
        " WHERE approval_id = $1 AND status = 'pending'"
        "   AND (deciding_until IS NULL OR deciding_until < now()) RETURNING approval_id",
        approval_id, seconds)
    return done is not None


async def unlease_approval(conn: Conn, approval_id: uuid.UUID) -> None:
    await conn.execute("UPDATE approvals SET deciding_until = NULL WHERE approval_id = $1",
                       approval_id)


async def approval_being_decided(conn: Conn, approval_id: uuid.UUID) -> bool:
    return bool(await conn.fetchval(
        "SELECT deciding_until > now() FROM approvals WHERE approval_id = $1", approval_id))


async def mark_approval_granted(conn: Conn, approval_id: uuid.UUID, approver_id: uuid.UUID,
                                at: datetime) -> None:
    """In the stamp's commit: the approval is granted; what it kept is dropped."""
    await conn.execute(
        "UPDATE approvals SET status = 'granted', decided_at = $3, decided_by = $2,"
        " deciding_until = NULL, document = NULL, person_signature = NULL"
        " WHERE approval_id = $1", approval_id, approver_id, at)


async def mark_approval_rejected(conn: Conn, approval_id: uuid.UUID, cause: str, reason: str,
                                 at: datetime, by: uuid.UUID | None) -> None:
    """The approval ends unstamped; what it kept is dropped."""
    await conn.execute(
        "UPDATE approvals SET status = 'rejected', cause = $2, reason = $3, decided_at = $4,"
        " decided_by = $5, deciding_until = NULL, document = NULL, person_signature = NULL"
        " WHERE approval_id = $1", approval_id, cause, reason, at, by)


# batches --------------------------------------------------------------------------------


@dataclass(frozen=True)
class BatchRow:
    batch_id: uuid.UUID
    client_id: uuid.UUID
    token_hash: bytes
    expires_at: datetime
    created_at: datetime
    scanned_by: uuid.UUID | None
    used_at: datetime | None
    finished_at: datetime | None
    callback_url: str | None
    expired_at: datetime | None


@dataclass(frozen=True)
class BatchItem:
    position: int
    request_id: uuid.UUID
    error_code: str | None
    error_message: str | None


async def get_batch(conn: Conn, batch_id: uuid.UUID, *, for_update: bool = False) -> BatchRow | None:
    lock = " FOR UPDATE" if for_update else ""
    columns = ("batch_id, client_id, token_hash, expires_at, created_at, scanned_by, used_at,"
               " finished_at, callback_url, expired_at")
    query = f"SELECT {columns} FROM stamp_batches WHERE batch_id = $1{lock}"  # noqa: S608
    r = await conn.fetchrow(query, batch_id)
    return BatchRow(**dict(r)) if r else None


async def batch_items(conn: Conn, batch_id: uuid.UUID) -> list[BatchItem]:
    rows = await conn.fetch("SELECT position, request_id, error_code, error_message"
                            " FROM stamp_batch_items WHERE batch_id = $1 ORDER BY position", batch_id)
    return [BatchItem(**dict(r)) for r in rows]


async def insert_batch(conn: Conn, batch_id: uuid.UUID, client_id: uuid.UUID, token_hash: bytes,
                       expires_at: datetime, created_at: datetime, callback_url: str | None,
                       request_ids: list[uuid.UUID]) -> None:
    """The batch and its documents (their positions in ``request_ids``' order)."""
    await conn.execute(
        "INSERT INTO stamp_batches (batch_id, client_id, token_hash, expires_at, created_at,"
        " callback_url) VALUES ($1, $2, $3, $4, $5, $6)", batch_id, client_id,
        token_hash, expires_at, created_at, callback_url)
    await conn.executemany(
        "INSERT INTO stamp_batch_items (batch_id, position, request_id) VALUES ($1, $2, $3)",
        [(batch_id, i, request_id) for i, request_id in enumerate(request_ids)])


async def usage_record_ids(conn: Conn, request_id: uuid.UUID) -> list[uuid.UUID]:
    """A stamped request's usage records, in placement order."""
    rows = await conn.fetch(
        "SELECT record_id FROM usage_records WHERE request_id = $1 ORDER BY placement_index",
        request_id)
    return [r["record_id"] for r in rows]


async def set_batch_scanner(conn: Conn, batch_id: uuid.UUID, person_id: uuid.UUID) -> None:
    await conn.execute("UPDATE stamp_batches SET scanned_by = $2 WHERE batch_id = $1",
                       batch_id, person_id)


async def claim_batch(conn: Conn, batch_id: uuid.UUID, at: datetime, person_id: uuid.UUID) -> bool:
    """The batch's QR code stamps once: True for the one call that sets ``used_at``."""
    return bool(await conn.fetchval(
        "UPDATE stamp_batches SET used_at = $2 WHERE batch_id = $1 AND used_at IS NULL"
        " AND scanned_by = $3 RETURNING true", batch_id, at, person_id))


async def unclaim_batch(conn: Conn, batch_id: uuid.UUID) -> None:
    await conn.execute("UPDATE stamp_batches SET used_at = NULL WHERE batch_id = $1", batch_id)


async def note_batch_failure(conn: Conn, batch_id: uuid.UUID, position: int, code: str,
                             message: str) -> None:
    await conn.execute(
        "UPDATE stamp_batch_items SET error_code = $3, error_message = $4"
        " WHERE batch_id = $1 AND position = $2", batch_id, position, code, message)


async def finish_batch(conn: Conn, batch_id: uuid.UUID) -> None:
    await conn.execute("UPDATE stamp_batches SET finished_at = now() WHERE batch_id = $1", batch_id)


async def lock_expired_batches(conn: Conn, limit: int) -> list[asyncpg.Record]:
    """Unstamped batches with a callback, expired and not yet told; other replicas skip them."""
    return await conn.fetch(
        "SELECT batch_id, client_id, callback_url, created_at, expires_at FROM stamp_batches"
        " WHERE used_at IS NULL AND expired_at IS NULL AND callback_url IS NOT NULL"
        "   AND expires_at <= now() ORDER BY expires_at LIMIT $1 FOR UPDATE SKIP LOCKED", limit)


async def mark_batch_expired(conn: Conn, batch_id: uuid.UUID) -> None:
    await conn.execute("UPDATE stamp_batches SET expired_at = now() WHERE batch_id = $1", batch_id)
