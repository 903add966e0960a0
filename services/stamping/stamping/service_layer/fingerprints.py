"""Signature-value fingerprints of usage records written before they were recorded.

Verification finds a signature's usage record only by the SHA-256 of its signature value
(``usage_records.seal_signature_sha256``). Records older than that column get it from the
stamped result the platform kept (the stamped PDF, or the detached CMS of a digest stamp):
``python -m stamping backfill-signature-fingerprints`` (idempotent; rerun after rebuilding
the ``usage_records`` projection from events that predate the field).
"""

from __future__ import annotations

import hashlib
from io import BytesIO

import asyncpg
from asn1crypto import cms
from pyhanko.pdf_utils.reader import PdfFileReader

from shared.logging import get_logger

from ..adapters import repository

log = get_logger(__name__)


def signature_value_sha256(kind: str, content: bytes, request_id: str) -> str | None:
    """The fingerprint of the seal signature inside a stamped result, or None if unreadable."""
    try:
        if kind == "digest":
            signed = cms.ContentInfo.load(content)["content"]
        else:
            reader = PdfFileReader(BytesIO(content))
            ours = [s for s in reader.embedded_signatures if s.field_name == f"eseal-{request_id}"]
            if len(ours) != 1:
                return None
            signed = ours[0].signed_data
        value = signed["signer_infos"][0]["signature"].native
    except Exception as e:  # noqa: BLE001 - a result we cannot read stays unmatched
        log.warning("fingerprint_unreadable", request_id=request_id, error=repr(e)[:200])
        return None
    return hashlib.sha256(value).hexdigest() if isinstance(value, bytes) else None


async def backfill(pool: asyncpg.Pool, batch: int = 100) -> int:
    """Fill missing fingerprints from the kept results; returns how many were filled."""
    filled, after = 0, ""
    while True:
        async with pool.acquire() as conn:
            rows = await repository.unfingerprinted(conn, after, batch)
            for row in rows:
                fp = signature_value_sha256(row["kind"], bytes(row["content"]), str(row["request_id"]))
                if fp is not None:
                    await repository.set_fingerprint(conn, row["request_id"], fp)
                    filled += 1
        if len(rows) < batch:
            return filled
        after = str(rows[-1]["request_id"])
