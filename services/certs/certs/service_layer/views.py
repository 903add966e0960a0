"""Read side: what the API shows of certificates (rows of the read model, read through
``certs.adapters.repository``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import asyncpg

from certs.adapters.crypto.signing import DEFAULT_ALGORITHM


def rfc3339(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def effective_status(row: asyncpg.Record, now: datetime) -> str:
    """active | locked (wrong passwords, until ``locked_until``) | revoked."""
    if row["status"] == "revoked":
        return "revoked"
    if row["locked_until"] is not None and now < row["locked_until"]:
        return "locked"
    return "active"


def certificate_view(row: asyncpg.Record, now: datetime,
                     sm2: asyncpg.Record | None = None) -> dict[str, Any]:
    """docs/API.md: {serial_number, subject, issuer, not_before, not_after, algorithm,
    fingerprint_sha256, status, pem} plus the certificate id and, when locked, until when."""
    status = effective_status(row, now)
    view: dict[str, Any] = {
        "certificate_id": str(row["certificate_id"]),
        "serial_number": row["serial_number"],
        "subject": row["subject"],
        "issuer": row["issuer"],
        "not_before": rfc3339(row["not_before"]),
        "not_after": rfc3339(row["not_after"]),
        "algorithm": DEFAULT_ALGORITHM,
        "fingerprint_sha256": row["fingerprint_sha256"],
        "status": status,
        "pem": row["certificate_pem"],
    }
    if status == "locked":
        view["locked_until"] = rfc3339(row["locked_until"])
    if status == "revoked":
        view["revoked_at"] = rfc3339(row["revoked_at"])
    view["sm2"] = None if sm2 is None else {
        "serial_number": sm2["serial_number"], "subject": sm2["subject"], "issuer": sm2["issuer"],
        "not_before": rfc3339(sm2["not_before"]), "not_after": rfc3339(sm2["not_after"]),
        "algorithm": "sm2-sm3", "fingerprint_sha256": sm2["fingerprint_sha256"],
        "pem": sm2["certificate_pem"]}
    return view
