"""What other services may ask identity about people (internal endpoints only).

These answers carry full ID and phone numbers (certs needs them for certificate subjects
and SMS): they never leave the cluster's internal endpoints and are never logged.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from shared.errors import EsealError, NotFound
from shared.people.elements import normalize_id_number

from ..domain.commands import MatchPerson
from .context import Identity


class PersonNotRegistered(EsealError):
    status, code, title = 422, "person_not_registered", "Person not registered"


async def describe(ctx: Identity, principal_id: uuid.UUID) -> dict[str, Any]:
    async with ctx.storage.connection() as repo:
        a = await repo.get_account(principal_id)
    if a is None:
        raise NotFound("no such principal", code="principal_not_found")
    body: dict[str, Any] = {
        "id": str(a.id), "role": a.role, "name": a.name, "phone": a.phone,
        "id_type": a.id_type, "id_number": a.id_number,
        "enterprise_id": str(a.enterprise_id) if a.enterprise_id else None,
        "enterprise_name": a.enterprise_name, "enterprise_uscc": a.enterprise_uscc,
        "removed": a.removed, "verification": a.verification,
    }
    if a.role == "enterprise":
        # The account's subject is the enterprise: its "ID" is the USCC; the legal
        # representative's own elements come along for the certificate and SMS.
        body.update(id_type="uscc", id_number=a.enterprise_uscc, legal_representative={
            "name": a.legal_representative_name, "id_type": a.id_type, "id_number": a.id_number,
            "phone": a.phone})
    if a.role == "agent":
        body.update(can_manage=a.can_manage, valid_from=str(a.valid_from), valid_to=str(a.valid_to))
    return body


async def match_person(ctx: Identity, cmd: MatchPerson) -> dict[str, str]:
    async with ctx.storage.connection() as repo:
        row = await repo.person_by_elements(normalize_id_number(cmd.id_number))
    if row is None or row["name"] != cmd.name:
        raise PersonNotRegistered(
            "该自然人未注册统一身份认证，或姓名与证件号码不符 /"
            " no registered person has this name and ID number",
            errors=[{"field": "id_number", "message": "no registered person with this name and ID number"}])
    return {"person_id": str(row["id"])}


async def recent_revocations(ctx: Identity) -> list[dict[str, Any]]:
    """Revocations younger than any access token still alive (plus a minute of slack)."""
    since = ctx.clock() - timedelta(seconds=ctx.settings.access_token_ttl_seconds + 60)
    async with ctx.storage.connection() as repo:
        rows = await repo.recent_revocations(since)
    return [{"principal_id": str(r["principal_id"]), "revoked_before": r["revoked_before"].isoformat(),
             "reason": r["reason"], "session_id": r["session_id"]} for r in rows]
