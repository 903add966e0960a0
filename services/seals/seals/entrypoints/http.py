"""HTTP routes of the seals service (thin: parse, authenticate, call the service layer)."""

from __future__ import annotations

import base64
import binascii
import re
import uuid
from datetime import date
from typing import Any, Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.auth import Principal, bearer_token, require_principal
from shared.errors import PayloadTooLarge, ValidationFailed
from shared.http import ApiModel, json_response, parse_json, parse_query, path_uuid
from shared.internal import require_internal

from ..adapters.rendering.signature_renderer import MAX_PNG_BYTES
from ..service_layer import grants, person, seals, stamping
from ..service_layer.common import Deps
from . import views

DEPS = web.AppKey("seals_deps", Deps)
API = "/api/v1"


# --- bodies and queries -------------------------------------------------------------------


class ListQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")
    limit: int = Field(default=50, ge=1, le=100)
    cursor: str | None = Field(default=None, max_length=200)


class PreviewIn(ApiModel):
    type: str = Field(max_length=64)
    name: str | None = Field(default=None, max_length=1000)


class IssueIn(PreviewIn):
    face_token: str = Field(min_length=1, max_length=1000)


class RevokeIn(ApiModel):
    face_token: str = Field(min_length=1, max_length=1000)
    reason: str = Field(default="", max_length=200)


class GrantIn(ApiModel):
    name: str = Field(min_length=1, max_length=50)
    id_type: Literal["resident_id_card"] = "resident_id_card"
    id_number: str = Field(min_length=1, max_length=32)
    valid_from: date
    valid_to: date


class GrantPatch(ApiModel):
    valid_from: date | None = None
    valid_to: date | None = None

    @model_validator(mode="after")
    def _something(self) -> GrantPatch:
        if self.valid_from is None and self.valid_to is None:
            raise ValueError("give valid_from, valid_to or both")
        return self


class SignatureIn(ApiModel):
    method: Literal["handwritten", "generated"]
    # A base64 PNG can be a third larger than the PNG; size is checked after trimming.
    image_png: str | None = None


class StampSignatureIn(ApiModel):
    person_id: uuid.UUID
    enterprise_id: uuid.UUID
    digest_b64: str = Field(min_length=1, max_length=200)


# --- helpers ------------------------------------------------------------------------------


def _deps(request: web.Request) -> Deps:
    return request.app[DEPS]


def _png(data: bytes, digest: str, request: web.Request, *, private: bool = True) -> web.Response:
    etag = f'"{digest}"'
    headers = {"ETag": etag, "Cache-Control": "private, no-cache" if private else "no-cache",
               "X-Content-Type-Options": "nosniff"}
    if request.headers.get("If-None-Match") == etag:
        return web.Response(status=304, headers=headers)
    return web.Response(body=data, content_type="image/png", headers=headers)


async def _optional_principal(request: web.Request) -> Principal | None:
    return await require_principal(request) if bearer_token(request) else None


_DATA_URL = re.compile(r"^data:image/png;base64,", re.IGNORECASE)
_B64_MAX = (MAX_PNG_BYTES + 2) // 3 * 4


def _decode_png(value: str | None) -> bytes:
    """The handwritten PNG from base64 (a data: URL prefix is accepted), size-checked."""
    if not value:
        raise ValidationFailed.field("image_png", "a handwritten signature needs image_png")
    text = re.sub(r"\s+", "", _DATA_URL.sub("", value.strip()))
    if len(text) > _B64_MAX:
        raise PayloadTooLarge(f"the image is larger than {MAX_PNG_BYTES} bytes",
                              code="image_too_large",
                              errors=[{"field": "image_png",
                                       "message": f"at most {MAX_PNG_BYTES} bytes"}])
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ValidationFailed.field("image_png", "not valid base64", code="invalid_base64") from None


# --- seal types, previews, seals ---------------------------------------------------------


async def list_seal_types(request: web.Request) -> web.Response:
    types = await seals.seal_types(_deps(request), await _optional_principal(request))
    return json_response({"items": [views.seal_type(t) for t in types], "next_cursor": None})


async def preview_seal(request: web.Request) -> web.Response:
    principal = await require_principal(request, "enterprise", "agent")
    body = await parse_json(request, PreviewIn)
    png = await seals.preview(_deps(request), principal, body.type, body.name)
    return web.Response(body=png, content_type="image/png",
                        headers={"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"})


async def create_seal(request: web.Request) -> web.Response:
    principal = await require_principal(request, "enterprise", "agent")
    body = await parse_json(request, IssueIn)
    row = await seals.issue(_deps(request), principal, body.type, body.name, body.face_token)
    return json_response(views.seal(row), status=201,
                         headers={"Location": f"{API}/seals/{row.seal_id}"})


async def list_seals(request: web.Request) -> web.Response:
    principal = await require_principal(request, "enterprise", "agent")
    q = parse_query(request, ListQuery)
    page = await seals.list_seals(_deps(request), principal, limit=q.limit, cursor=q.cursor)
    return json_response(views.page([views.seal(r) for r in page.items], page.next_cursor))


async def get_seal(request: web.Request) -> web.Response:
    principal = await require_principal(request, "enterprise", "agent")
    row = await seals.get_seal(_deps(request), principal, path_uuid(request, "seal_id"))
    return json_response(views.seal(row))


async def get_seal_image(request: web.Request) -> web.Response:
    principal = await require_principal(request, "enterprise", "agent")
    png, digest = await seals.seal_image(_deps(request), principal, path_uuid(request, "seal_id"))
    return _png(png, digest, request)


async def revoke_seal(request: web.Request) -> web.Response:
    principal = await require_principal(request, "enterprise", "agent")
    seal_id = path_uuid(request, "seal_id")
    body = await parse_json(request, RevokeIn)
    row = await seals.revoke(_deps(request), principal, seal_id, body.face_token, body.reason)
    return json_response(views.seal(row))


# --- grants -------------------------------------------------------------------------------


async def list_grants(request: web.Request) -> web.Response:
    principal = await require_principal(request, "enterprise", "agent")
    q = parse_query(request, ListQuery)
    deps = _deps(request)
    page = await grants.list_grants(deps, principal, path_uuid(request, "seal_id"),
                                    limit=q.limit, cursor=q.cursor)
    today = deps.today()
    return json_response(views.page([views.grant(g, today) for g in page.items], page.next_cursor))


async def add_grant(request: web.Request) -> web.Response:
    principal = await require_principal(request, "enterprise", "agent")
    seal_id = path_uuid(request, "seal_id")
    body = await parse_json(request, GrantIn)
    deps = _deps(request)
    row = await grants.add_grant(deps, principal, seal_id, name=body.name, id_type=body.id_type,
                                 id_number=body.id_number, valid_from=body.valid_from,
                                 valid_to=body.valid_to)
    return json_response(views.grant(row, deps.today()), status=201,
                         headers={"Location": f"{API}/seals/{seal_id}/grants/{row.grant_id}"})


async def get_grant(request: web.Request) -> web.Response:
    principal = await require_principal(request, "enterprise", "agent")
    deps = _deps(request)
    row = await grants.get_grant(deps, principal, path_uuid(request, "seal_id"),
                                 path_uuid(request, "grant_id"))
    return json_response(views.grant(row, deps.today()))


async def change_grant(request: web.Request) -> web.Response:
    principal = await require_principal(request, "enterprise", "agent")
    seal_id, grant_id = path_uuid(request, "seal_id"), path_uuid(request, "grant_id")
    body = await parse_json(request, GrantPatch)
    deps = _deps(request)
    row = await grants.change_grant(deps, principal, seal_id, grant_id,
                                    valid_from=body.valid_from, valid_to=body.valid_to)
    return json_response(views.grant(row, deps.today()))


async def delete_grant(request: web.Request) -> web.Response:
    principal = await require_principal(request, "enterprise", "agent")
    await grants.delete_grant(_deps(request), principal, path_uuid(request, "seal_id"),
                              path_uuid(request, "grant_id"))
    return web.Response(status=204)


# --- the natural person's side ------------------------------------------------------------


async def my_enterprises(request: web.Request) -> web.Response:
    principal = await require_principal(request, "person")
    items = await person.my_enterprises(_deps(request), principal.id)
    return json_response(views.page([views.granting_enterprise(e) for e in items], None))


async def my_seals(request: web.Request) -> web.Response:
    principal = await require_principal(request, "person")
    deps = _deps(request)
    items = await person.my_seals(deps, principal.id, path_uuid(request, "enterprise_id"))
    today = deps.today()
    return json_response(views.page([views.granted_seal(g, today) for g in items], None))


async def my_seal(request: web.Request) -> web.Response:
    principal = await require_principal(request, "person")
    deps = _deps(request)
    g = await person.my_seal(deps, principal.id, path_uuid(request, "enterprise_id"),
                             path_uuid(request, "seal_id"))
    return json_response(views.granted_seal(g, deps.today(), detail=True))


async def my_seal_image(request: web.Request) -> web.Response:
    principal = await require_principal(request, "person")
    png, digest = await person.my_seal_image(_deps(request), principal.id,
                                             path_uuid(request, "enterprise_id"),
                                             path_uuid(request, "seal_id"))
    return _png(png, digest, request)


async def get_signature(request: web.Request) -> web.Response:
    principal = await require_principal(request, "person")
    return json_response(views.signature(await person.signature(_deps(request), principal.id)))


async def get_signature_image(request: web.Request) -> web.Response:
    principal = await require_principal(request, "person")
    png, digest = await person.signature_image(_deps(request), principal.id)
    return _png(png, digest, request)


async def create_signature(request: web.Request) -> web.Response:
    principal = await require_principal(request, "person")
    body = await parse_json(request, SignatureIn)
    if body.method == "generated" and body.image_png is not None:
        raise ValidationFailed.field("image_png", "not allowed with method generated")
    png = _decode_png(body.image_png) if body.method == "handwritten" else None
    row = await person.create_signature(_deps(request), principal.id, method=body.method,
                                        handwritten_png=png)
    return json_response(views.signature(row), status=201,
                         headers={"Location": f"{API}/my/signature"})


async def delete_signature(request: web.Request) -> web.Response:
    principal = await require_principal(request, "person")
    await person.delete_signature(_deps(request), principal.id)
    return web.Response(status=204)


# --- internal (stamping) ------------------------------------------------------------------


async def internal_choices(request: web.Request) -> web.Response:
    require_internal(request)
    items = await stamping.choices(_deps(request), path_uuid(request, "person_id"))
    return json_response({"items": [views.choice(c) for c in items]})


async def internal_stamp_signature(request: web.Request) -> web.Response:
    require_internal(request)
    seal_id = path_uuid(request, "seal_id")
    body = await parse_json(request, StampSignatureIn)
    try:
        digest = base64.b64decode(body.digest_b64, validate=True)
    except (binascii.Error, ValueError):
        raise ValidationFailed.field("digest_b64", "not valid base64") from None
    result = await stamping.stamp_signature(_deps(request), seal_id, person_id=body.person_id,
                                            enterprise_id=body.enterprise_id, digest=digest)
    return json_response(views.stamp_signature(result))


async def internal_seal(request: web.Request) -> web.Response:
    require_internal(request)
    record = await stamping.seal_record(_deps(request), path_uuid(request, "seal_id"))
    return json_response(views.internal_seal(record))


async def internal_seal_image(request: web.Request) -> web.Response:
    require_internal(request)
    png, digest = await seals.image_of(_deps(request), path_uuid(request, "seal_id"))
    return _png(png, digest, request, private=False)


async def internal_enterprise_seals(request: web.Request) -> web.Response:
    require_internal(request)
    rows = await stamping.enterprise_seals(_deps(request), path_uuid(request, "enterprise_id"))
    items: list[dict[str, Any]] = [{"seal_id": str(r.seal_id), "type": r.type, "name": r.name,
                                    "status": r.status} for r in rows]
    return json_response({"seal_ids": [i["seal_id"] for i in items], "items": items})


def setup_routes(app: web.Application) -> None:
    r = app.router
    r.add_get(f"{API}/seal-types", list_seal_types)
    r.add_post(f"{API}/seals/preview", preview_seal)
    r.add_post(f"{API}/seals", create_seal)
    r.add_get(f"{API}/seals", list_seals)
    r.add_get(f"{API}/seals/{{seal_id}}", get_seal)
    r.add_get(f"{API}/seals/{{seal_id}}/image", get_seal_image)
    r.add_post(f"{API}/seals/{{seal_id}}/revocation", revoke_seal)
    r.add_get(f"{API}/seals/{{seal_id}}/grants", list_grants)
    r.add_post(f"{API}/seals/{{seal_id}}/grants", add_grant)
    r.add_get(f"{API}/seals/{{seal_id}}/grants/{{grant_id}}", get_grant)
    r.add_patch(f"{API}/seals/{{seal_id}}/grants/{{grant_id}}", change_grant)
    r.add_delete(f"{API}/seals/{{seal_id}}/grants/{{grant_id}}", delete_grant)
    r.add_get(f"{API}/my/enterprises", my_enterprises)
    r.add_get(f"{API}/my/enterprises/{{enterprise_id}}/seals", my_seals)
    r.add_get(f"{API}/my/enterprises/{{enterprise_id}}/seals/{{seal_id}}", my_seal)
    r.add_get(f"{API}/my/enterprises/{{enterprise_id}}/seals/{{seal_id}}/image", my_seal_image)
    r.add_get(f"{API}/my/signature", get_signature)
    r.add_post(f"{API}/my/signature", create_signature)
    r.add_delete(f"{API}/my/signature", delete_signature)
    r.add_get(f"{API}/my/signature/image", get_signature_image)
    r.add_get("/internal/persons/{person_id}/choices", internal_choices)
    r.add_post("/internal/seals/{seal_id}/stamp-signatures", internal_stamp_signature)
    r.add_get("/internal/seals/{seal_id}", internal_seal)
    r.add_get("/internal/seals/{seal_id}/image", internal_seal_image)
    r.add_get("/internal/enterprises/{enterprise_id}/seals", internal_enterprise_seals)
