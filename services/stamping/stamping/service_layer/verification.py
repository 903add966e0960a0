"""Public verification of a stamped PDF (验章).

pyHanko validates every signature offline, trusting only the platform root, with the
revocation data embedded in the document plus the platform's current CRLs (fetched fresh:
a revocation answered a moment ago must show). For each of our seals the report adds the
seal's status *now* from seals and whether it was revoked before or after the stamp's
(timestamped) signing time, and whether the platform holds the matching usage record.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime
from typing import Any

from shared.logging import get_logger

from ..adapters.pdf import SignatureReport, VerificationReport, verify_pdf
from ..domain.authorization import rfc3339
from .context import Stamping
from .ports import SealInfo

log = get_logger(__name__)
MAX_SEAL_LOOKUPS = 20


async def verify(ctx: Stamping, document: bytes) -> dict[str, Any]:
    ca = await ctx.ca.current(fresh=True)
    max_bytes = max(len(document), ctx.settings.max_document_bytes)

    async def job() -> VerificationReport:
        return await verify_pdf(document, trust_roots=[ca.root], crls=ca.crls, max_bytes=max_bytes)

    report = await ctx.workers.run(job)
    seals = await _seals(ctx, report.signatures)
    recorded = await _recorded(ctx, report.signatures)
    return {
        "result": report.result,
        "reasons": report.reasons,
        "document_sha256": report.document_sha256,
        "signatures": [_signature(s, seals, recorded) for s in report.signatures],
    }


def _seal_id(s: SignatureReport) -> uuid.UUID | None:
    if s.stamp is None:
        return None
    try:
        return uuid.UUID(s.stamp.seal_id)
    except ValueError:
        return None


async def _seals(ctx: Stamping, signatures: list[SignatureReport]) -> dict[uuid.UUID, SealInfo | None]:
    ids = list(dict.fromkeys(i for s in signatures if s.intact and (i := _seal_id(s)) is not None))
    ids = ids[:MAX_SEAL_LOOKUPS]

    async def one(seal_id: uuid.UUID) -> SealInfo | None:
        try:
            return await ctx.seals.seal(seal_id)
        except Exception as e:  # noqa: BLE001 - the status is then "unknown", the verdict stands
            log.warning("seal_status_unavailable", seal_id=str(seal_id), error=repr(e)[:200])
            return None

    return dict(zip(ids, await asyncio.gather(*(one(i) for i in ids)), strict=True))


async def _recorded(ctx: Stamping, signatures: list[SignatureReport]) -> dict[str, str]:
    """request id -> the person signature the platform recorded for it."""
    ids = []
    for s in signatures:
        if s.stamp is not None:
            try:
                ids.append(uuid.UUID(s.stamp.request_id))
            except ValueError:
                pass
    if not ids:
        return {}
    async with ctx.pool.acquire() as conn:
        rows = await conn.fetch("SELECT request_id, person_signature_b64 FROM usage_records"
                                " WHERE request_id = any($1::uuid[])", ids)
    return {str(r["request_id"]): r["person_signature_b64"] for r in rows}


def _signature(s: SignatureReport, seals: dict[uuid.UUID, SealInfo | None],
               recorded: dict[str, str]) -> dict[str, Any]:
    stamp = s.stamp
    seal_id = _seal_id(s)
    seal = seals.get(seal_id) if seal_id else None
    revoked_at: datetime | None = seal.revoked_at if seal and seal.status == "revoked" else None
    revoked_before = bool(s.revoked) or (
        revoked_at is not None and (s.signed_at is None or revoked_at <= s.signed_at))
    body: dict[str, Any] = {
        "field_name": s.field_name,
        "result": s.result,
        "reasons": s.reasons,
        "intact": s.intact,
        "trusted": s.trusted,
        "timestamped": s.timestamped,
        "level": s.level,
        "coverage": s.coverage,
        "signed_at": rfc3339(s.signed_at) if s.signed_at else None,
        "signed_at_source": s.signed_at_source,
        "signer_subject": s.signer_subject,
        "seal_id": str(seal_id) if seal_id else None,
        "seal_name": stamp.seal_name if stamp else None,
        "seal_type": (stamp.seal_type_code or stamp.seal_type) if stamp else None,
        "seal_type_label": stamp.seal_type if stamp else None,
        "enterprise_name": stamp.enterprise_name if stamp else None,
        "enterprise_uscc": stamp.enterprise_uscc if stamp else None,
        "signer_name": stamp.signer_person_name if stamp else None,
        "request_id": stamp.request_id if stamp else None,
        "seal_status": seal.status if seal else "unknown",
        "revoked_at": rfc3339(revoked_at) if revoked_at else None,
        "revoked_before_stamp": revoked_before,
        "recorded": stamp is not None and recorded.get(stamp.request_id) == stamp.person_signature_b64,
    }
    return body
