"""The platform's own signature (its sealing certificate, role ``platform`` of the CA).

It signs what the platform issues in its own name — the evidence report (出证报告) of a usage
record — and nothing a user brings: only stamping asks, over the internal API, with the
digest of a report it built from its own records. The key never leaves certs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from certs.adapters import repository as repo
from certs.adapters.crypto.describe import normal_serial
from certs.adapters.crypto.signing import DEFAULT_ALGORITHM, sign_digest
from certs.domain.errors import CertificateNotFound

from . import views
from .context import Certs


@dataclass(frozen=True)
class PlatformSignature:
    signature: bytes
    algorithm: str
    serial_number: str  # upper-case hex
    certificate_pem: str


def sign(certs: Certs, digest: bytes) -> PlatformSignature:
    material = certs.authority.material
    return PlatformSignature(sign_digest(material.platform_key, digest), DEFAULT_ALGORITHM,
                             format(material.platform.serial_number, "X"),
                             certs.authority.platform_pem)


async def certificate_by_serial(certs: Certs, serial_number: str) -> dict[str, Any]:
    """A user's or a seal's certificate by serial, for the platform's own reports (the
    evidence report lists the certificates a stamp used, with their validity). 404 for a
    serial that is not one the platform issued to a user or a seal."""
    serial = normal_serial(serial_number)
    row = None
    if serial:
        async with certs.db.connection() as uow:
            row = await repo.certificate_by_serial(uow.conn, serial)
    if row is None:
        raise CertificateNotFound()
    return {"owner_type": row["owner_type"], "serial_number": row["serial_number"],
            "subject": row["subject"], "issuer": row["issuer"],
            "not_before": views.rfc3339(row["not_before"]), "not_after": views.rfc3339(row["not_after"]),
            "status": row["status"], "revoked_at": views.rfc3339(row["revoked_at"]),
            "key_algorithm": row["key_algorithm"]}
