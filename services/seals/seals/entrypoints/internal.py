"""Internal routes for stamping (``/internal/*``, the internal token only)."""

from __future__ import annotations

import base64
import binascii
import uuid
from typing import Any

from aiohttp import web

from shared.errors import ValidationFailed
from shared.http import json_response, parse_json, path_uuid
from shared.internal import require_internal

from ..service_layer import approvals, esl, person, seals, stamping
from . import views
from .schemas import ApproveCheckIn, StampEslIn, StampSignatureIn
from .support import context, png_response

MAX_LOOKUP_SEALS = 20  # a stamp request's placements at most


async def internal_choices(request: web.Request) -> web.Response:
    """The seals a person may use now, by enterprise; with ``seal_id`` (repeated, at most 20)
    also those seals' details as ``GET /internal/seals/{id}`` gives them (null: no such
    seal) — what stamping checks before and after signing, in one round trip."""
    require_internal(request)
    try:
        wanted = [uuid.UUID(v) for v in request.query.getall("seal_id", [])][:MAX_LOOKUP_SEALS + 1]
    except ValueError:
        raise ValidationFailed.field("seal_id", "not a UUID") from None
    if len(wanted) > MAX_LOOKUP_SEALS:
        raise ValidationFailed.field("seal_id", f"at most {MAX_LOOKUP_SEALS}")
    ctx = context(request)
    items = await stamping.choices(ctx, path_uuid(request, "person_id"))
    out: dict[str, object] = {"items": [views.choice(c) for c in items]}
    if wanted:
        found = await stamping.seal_records(ctx, wanted)
        out["seals"] = {str(k): views.internal_seal(r) if r is not None else None for k, r in found.items()}
    return json_response(out)


async def internal_stamp_signature(request: web.Request) -> web.Response:
    require_internal(request)
    seal_id = path_uuid(request, "seal_id")
    body = await parse_json(request, StampSignatureIn)
    try:
        digest = base64.b64decode(body.digest_b64, validate=True)
    except (binascii.Error, ValueError):
        raise ValidationFailed.field("digest_b64", "not valid base64") from None
    result = await stamping.stamp_signature(context(request), seal_id, person_id=body.person_id,
                                            enterprise_id=body.enterprise_id, digest=digest,
                                            algorithm=body.algorithm,
                                            approver_id=body.approver_id, timestamp=body.timestamp)
    return json_response(views.stamp_signature(result))


async def internal_stamp_esl(request: web.Request) -> web.Response:
    """The SES_Seal an OFD stamp embeds (Seal.esl), for a person who may use the seal now."""
    require_internal(request)
    body = await parse_json(request, StampEslIn)
    der = await esl.esl_for_stamp(context(request), path_uuid(request, "seal_id"),
                                  person_id=body.person_id, enterprise_id=body.enterprise_id)
    return json_response({"seal_b64": base64.b64encode(der).decode()})


async def internal_seal(request: web.Request) -> web.Response:
    require_internal(request)
    record = await stamping.seal_record(context(request), path_uuid(request, "seal_id"))
    return json_response(views.internal_seal(record))


async def internal_seal_image(request: web.Request) -> web.Response:
    require_internal(request)
    png, digest = await seals.image_of(context(request), path_uuid(request, "seal_id"))
    return png_response(png, digest, request, private=False)


async def internal_person_signature(request: web.Request) -> web.Response:
    """The person's own signature (个人签名) as a PNG, for a stamp's ``signature`` placement;
    404 ``signature_not_found`` when the person has none."""
    require_internal(request)
    png, digest = await person.signature_image(context(request), path_uuid(request, "person_id"))
    return png_response(png, digest, request, private=True)


async def internal_enterprise_seals(request: web.Request) -> web.Response:
    require_internal(request)
    rows = await stamping.enterprise_seals(context(request), path_uuid(request, "enterprise_id"))
    items: list[dict[str, Any]] = [{"seal_id": str(r.seal_id), "type": r.type, "name": r.name,
                                    "status": r.status} for r in rows]
    return json_response({"seal_ids": [i["seal_id"] for i in items], "items": items})


async def internal_approve_check(request: web.Request) -> web.Response:
    """用印审批: may this approver approve a stamp with these seals by this person now (the
    face token, when given, is used up)? 204, or the refusal."""
    require_internal(request)
    body = await parse_json(request, ApproveCheckIn)
    await approvals.approve_check(context(request), body.approver_id, person_id=body.person_id,
                                  enterprise_id=body.enterprise_id, seal_ids=body.seal_ids,
                                  face_token=body.face_token)
    return web.Response(status=204)


async def internal_approvable_seals(request: web.Request) -> web.Response:
    """用印审批: the seals whose stamps the principal may approve now."""
    require_internal(request)
    rows = await approvals.approvable_seals(context(request), path_uuid(request, "principal_id"))
    return json_response({"items": [{"seal_id": str(r.seal_id), "name": r.name, "type": r.type,
                                     "enterprise_id": str(r.enterprise_id)} for r in rows]})
