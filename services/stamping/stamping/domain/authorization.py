"""What the authorised person signs with their own key: a canonical request description.

Canonical form: compact JSON, keys sorted, UTF-8, no insignificant whitespace; the person's
key signs its SHA-256 (ECDSA P-256). The text itself is kept in the usage record and bound
into the stamped PDF (``/EsealStamp``), so anyone holding the person's certificate can check
who authorised which seal on which document, and when. It names the person by platform id,
never by ID card number.

A request with several seal placements (issue 15) is authorised by one signature: its text
then also lists every (placement index, seal id) pair, in index order, under ``placements``
(and ``seal_id`` is the first placement's seal). With one seal placement the text is exactly
the single-seal form of before, so older stamps verify unchanged.
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
    # (placement index, seal id) of every seal placement; listed only when there are several
    placements: tuple[tuple[int, uuid.UUID], ...] = ()

    def canonical(self) -> str:
        body: dict[str, object] = {
            "v": VERSION,
            "purpose": PURPOSE,
            "request_id": str(self.request_id),
            "document_sha256": self.document_sha256,
            "seal_id": str(self.seal_id),
            "enterprise_id": str(self.enterprise_id),
            "person_id": str(self.person_id),
            "time": rfc3339(self.time),
        }
        if len(self.placements) > 1:
            body["placements"] = [{"index": i, "seal_id": str(seal)}
                                  for i, seal in sorted(self.placements)]
        return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)

    def digest(self) -> bytes:
        return hashlib.sha256(self.canonical().encode("utf-8")).digest()


def rfc3339(moment: datetime) -> str:
    """UTC, millisecond precision, ``Z`` suffix."""
    if moment.tzinfo is None:
        raise ValueError("times must be timezone-aware")
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
