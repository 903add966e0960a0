"""What the authorised person signs with their own key: a canonical request description.

Canonical form: compact JSON, keys sorted, UTF-8, no insignificant whitespace; the person's
key signs its SHA-256 (ECDSA P-256). The text itself is kept in the usage record and bound
into the stamped PDF (``/EsealStamp``), so anyone holding the person's certificate can check
who authorised which seal on which document, and when. It names the person by platform id,
never by ID card number.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

PURPOSE = "eseal.stamp-authorization"
VERSION = 1


@dataclass(frozen=True)
class StampAuthorization:
    request_id: uuid.UUID
    document_sha256: str
    seal_id: uuid.UUID
    enterprise_id: uuid.UUID
    person_id: uuid.UUID
    time: datetime

    def canonical(self) -> str:
        body = {
            "v": VERSION,
            "purpose": PURPOSE,
            "request_id": str(self.request_id),
            "document_sha256": self.document_sha256,
            "seal_id": str(self.seal_id),
            "enterprise_id": str(self.enterprise_id),
            "person_id": str(self.person_id),
            "time": rfc3339(self.time),
        }
        return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)

    def digest(self) -> bytes:
        return hashlib.sha256(self.canonical().encode("utf-8")).digest()


def rfc3339(moment: datetime) -> str:
    """UTC, millisecond precision, ``Z`` suffix."""
    if moment.tzinfo is None:
        raise ValueError("times must be timezone-aware")
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
