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

from shared import cursors
from shared.auth import Principal, bearer_token, require_principal
from shared.errors import PayloadTooLarge, ValidationFailed
from shared.http import ApiModel, documented, json_response, parse_json, parse_query, path_uuid
from shared.internal import require_internal

from ..adapters.rendering.signature_renderer import MAX_PNG_BYTES
from ..service_layer import esl, grants, person, seals, stamping
from ..service_layer.context import Context
from . import responses as doc
from . import views

CONTEXT = web.AppKey("seals_context", Context)
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
    def valid_from_or_valid_to(self) -> GrantPatch:
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
    algorithm: Literal["ecdsa-p256-sha256", "sm2-sm3"] = "ecdsa-p256-sha256"


class StampEslIn(ApiModel):
    person_id: uuid.UUID
    enterprise_id: uuid.UUID


# --- helpers ------------------------------------------------------------------------------


def _context(request: web.Request) -> Context:
    return request.app[CONTEXT]


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


@documented(summary="印章类型 / the seal types", tags=("seals",), response=doc.SealTypeList,
            auth="public|user", responses={200: "the types; for an enterprise caller with the "
                                                "default seal name of each"})
async def list_seal_types(request: web.Request) -> web.Response:
    types = await seals.seal_types(_context(request), await _optional_principal(request))
    return json_response({"items": [views.seal_type(t) for t in types], "next_cursor": None})


@documented(summary="印章预览 / preview a seal image", tags=("seals",), body=PreviewIn,
            content_type="image/png",
            responses={200: "the seal as it would be made (PNG)", 403: doc.MANAGERS_ONLY,
                       422: "unknown type or unusable name"})
async def preview_seal(request: web.Request) -> web.Response:
    principal = await require_principal(request, "enterprise", "agent")
    body = await parse_json(request, PreviewIn)
    png = await seals.preview(_context(request), principal, body.type, body.name)
    return web.Response(body=png, content_type="image/png",
                        headers={"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"})


@documented(summary="申请印章 / make a seal (face check `issue_seal`)", tags=("seals",),
            body=IssueIn, response=doc.SealView,
            responses={201: "made, with its seal certificate",
                       403: doc.MANAGERS_ONLY + "; the operator needs an active certificate "
                                                "(`certificate_required`)",
                       409: "an active seal of this type exists (`seal_type_taken`); the face "
                            "token was used (`face_token_used`)",
                       410: "the face token expired (`face_token_expired`)",
                       422: "unknown type, unusable name, invalid face token"})
async def create_seal(request: web.Request) -> web.Response:
    principal = await require_principal(request, "enterprise", "agent")
    body = await parse_json(request, IssueIn)
    row = await seals.issue(_context(request), principal, body.type, body.name, body.face_token)
    return json_response(views.seal(row), status=201,
                         headers={"Location": f"{API}/seals/{row.seal_id}"})


@documented(summary="我的印章 / the enterprise's seals", tags=("seals",), query=ListQuery,
            response=doc.SealPage,
            responses={200: "a page of seals, revoked ones included", 403: doc.ENTERPRISE_ONLY,
                       422: cursors.DOCUMENTED})
async def list_seals(request: web.Request) -> web.Response:
    principal = await require_principal(request, "enterprise", "agent")
    q = parse_query(request, ListQuery)
    page = await seals.list_seals(_context(request), principal, limit=q.limit, cursor=q.cursor)
    return json_response(views.page([views.seal(r) for r in page.items], page.next_cursor))


@documented(summary="印章详情 / one seal", tags=("seals",), response=doc.SealView,
            responses={200: "the seal", 403: doc.ENTERPRISE_ONLY, 404: doc.NO_SEAL})
async def get_seal(request: web.Request) -> web.Response:
    principal = await require_principal(request, "enterprise", "agent")
    row = await seals.get_seal(_context(request), principal, path_uuid(request, "seal_id"))
    return json_response(views.seal(row))


@documented(summary="印章图片 / a seal's image", tags=("seals",), content_type="image/png",
            responses={200: "PNG (with an ETag)", 304: doc.NOT_MODIFIED, 403: doc.ENTERPRISE_ONLY,
                       404: doc.NO_SEAL})
async def get_seal_image(request: web.Request) -> web.Response:
    principal = await require_principal(request, "enterprise", "agent")
    png, digest = await seals.seal_image(_context(request), principal, path_uuid(request, "seal_id"))
    return _png(png, digest, request)


@documented(summary="电子印章数据 / the seal as GB/T 38540 SES_Seal (V4, DER)", tags=("seals",),
            content_type="application/octet-stream",
            responses={200: "SES_Seal DER signed by the platform's seal-making (制章) SM2 "
                            "certificate; certList = the seal's SM2 certificate and those of the "
                            "persons whose grant covers today",
                       403: "not an enterprise, agent or person (`role_not_allowed`); an agent "
                            "removed or outside its window (`agent_not_valid`)",
                       404: "not the caller's enterprise's seal, nor granted to the caller "
                            "(`seal_not_found`)",
                       409: "the seal is revoked (`seal_revoked`)"})
async def get_seal_esl(request: web.Request) -> web.Response:
    principal = await require_principal(request, "enterprise", "agent", "person")
    seal_id = path_uuid(request, "seal_id")
    der = await esl.esl(_context(request), principal, seal_id)
    return web.Response(body=der, content_type="application/octet-stream", headers={
        "Content-Disposition": f'attachment; filename="{seal_id}.esl"',
        "Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"})


@documented(summary="注销印章 / revoke a seal (face check `revoke_seal`)", tags=("seals",),
            body=RevokeIn, response=doc.SealView,
            responses={200: "revoked: no stamp with it succeeds from now on",
                       403: doc.MANAGERS_ONLY, 404: doc.NO_SEAL,
                       409: "already revoked (`seal_revoked`); the face token was used",
                       410: "the face token expired (`face_token_expired`)"})
async def revoke_seal(request: web.Request) -> web.Response:
    principal = await require_principal(request, "enterprise", "agent")
    seal_id = path_uuid(request, "seal_id")
    body = await parse_json(request, RevokeIn)
    row = await seals.revoke(_context(request), principal, seal_id, body.face_token, body.reason)
    return json_response(views.seal(row))


# --- grants -------------------------------------------------------------------------------


@documented(summary="印章授权列表 / the grants of a seal", tags=("grants",), query=ListQuery,
            response=doc.GrantPage,
            responses={200: "a page of grants", 403: doc.ENTERPRISE_ONLY, 404: doc.NO_SEAL,
                       422: cursors.DOCUMENTED})
async def list_grants(request: web.Request) -> web.Response:
    principal = await require_principal(request, "enterprise", "agent")
    q = parse_query(request, ListQuery)
    ctx = _context(request)
    page = await grants.list_grants(ctx, principal, path_uuid(request, "seal_id"),
                                    limit=q.limit, cursor=q.cursor)
    today = ctx.today()
    return json_response(views.page([views.grant(g, today) for g in page.items], page.next_cursor))


@documented(summary="授权自然人 / grant a seal to a natural person", tags=("grants",),
            body=GrantIn, response=doc.GrantView,
            responses={201: "granted", 403: doc.MANAGERS_ONLY, 404: doc.NO_SEAL,
                       409: "the person already holds a grant of this seal (`grant_exists`); "
                            "the seal is revoked (`seal_revoked`)",
                       422: "no registered person has this name and ID number "
                            "(`person_not_registered`); a bad window (`invalid_window`)"})
async def add_grant(request: web.Request) -> web.Response:
    principal = await require_principal(request, "enterprise", "agent")
    seal_id = path_uuid(request, "seal_id")
    body = await parse_json(request, GrantIn)
    ctx = _context(request)
    row = await grants.add_grant(ctx, principal, seal_id, name=body.name, id_type=body.id_type,
                                 id_number=body.id_number, valid_from=body.valid_from,
                                 valid_to=body.valid_to)
    return json_response(views.grant(row, ctx.today()), status=201,
                         headers={"Location": f"{API}/seals/{seal_id}/grants/{row.grant_id}"})


@documented(summary="授权详情 / one grant", tags=("grants",), response=doc.GrantView,
            responses={200: "the grant", 403: doc.ENTERPRISE_ONLY, 404: doc.NO_GRANT})
async def get_grant(request: web.Request) -> web.Response:
    principal = await require_principal(request, "enterprise", "agent")
    ctx = _context(request)
    row = await grants.get_grant(ctx, principal, path_uuid(request, "seal_id"),
                                 path_uuid(request, "grant_id"))
    return json_response(views.grant(row, ctx.today()))


@documented(summary="修改授权期限 / change a grant's window", tags=("grants",),
            body=GrantPatch, response=doc.GrantView,
            responses={200: "changed: a shortened window holds at once", 403: doc.MANAGERS_ONLY,
                       404: doc.NO_GRANT,
                       422: "a bad window (`invalid_window`, `window_in_past`)"})
async def change_grant(request: web.Request) -> web.Response:
    principal = await require_principal(request, "enterprise", "agent")
    seal_id, grant_id = path_uuid(request, "seal_id"), path_uuid(request, "grant_id")
    body = await parse_json(request, GrantPatch)
    ctx = _context(request)
    row = await grants.change_grant(ctx, principal, seal_id, grant_id,
                                    valid_from=body.valid_from, valid_to=body.valid_to)
    return json_response(views.grant(row, ctx.today()))


@documented(summary="删除授权 / remove a grant", tags=("grants",),
            responses={204: "removed: the person can no longer stamp with the seal",
                       403: doc.MANAGERS_ONLY, 404: doc.NO_GRANT})
async def delete_grant(request: web.Request) -> web.Response:
    principal = await require_principal(request, "enterprise", "agent")
    await grants.delete_grant(_context(request), principal, path_uuid(request, "seal_id"),
                              path_uuid(request, "grant_id"))
    return web.Response(status=204)


# --- the natural person's side ------------------------------------------------------------


@documented(summary="我的企业 / enterprises that granted me seals", tags=("my-seals",),
            response=doc.GrantingEnterpriseList,
            responses={200: "enterprises with at least one active seal granted to me",
                       403: doc.PERSONS_ONLY})
async def my_enterprises(request: web.Request) -> web.Response:
    principal = await require_principal(request, "person")
    items = await person.my_enterprises(_context(request), principal.id)
    return json_response(views.page([views.granting_enterprise(e) for e in items], None))


@documented(summary="企业授权给我的印章 / the seals an enterprise granted me", tags=("my-seals",),
            response=doc.GrantedSealList,
            responses={200: "the seals (revoked seals and removed grants never appear)",
                       403: doc.PERSONS_ONLY})
async def my_seals(request: web.Request) -> web.Response:
    principal = await require_principal(request, "person")
    ctx = _context(request)
    items = await person.my_seals(ctx, principal.id, path_uuid(request, "enterprise_id"))
    today = ctx.today()
    return json_response(views.page([views.granted_seal(g, today) for g in items], None))


@documented(summary="授权印章详情 / one seal granted to me", tags=("my-seals",),
            response=doc.GrantedSealDetail,
            responses={200: "the seal and my grant", 403: doc.PERSONS_ONLY,
                       404: "not granted to me (`seal_not_found`)"})
async def my_seal(request: web.Request) -> web.Response:
    principal = await require_principal(request, "person")
    ctx = _context(request)
    g = await person.my_seal(ctx, principal.id, path_uuid(request, "enterprise_id"),
                             path_uuid(request, "seal_id"))
    return json_response(views.granted_seal(g, ctx.today(), detail=True))


@documented(summary="授权印章图片 / the image of a seal granted to me", tags=("my-seals",),
            content_type="image/png",
            responses={200: "PNG (with an ETag)", 304: doc.NOT_MODIFIED, 403: doc.PERSONS_ONLY,
                       404: "not granted to me (`seal_not_found`)"})
async def my_seal_image(request: web.Request) -> web.Response:
    principal = await require_principal(request, "person")
    png, digest = await person.my_seal_image(_context(request), principal.id,
                                             path_uuid(request, "enterprise_id"),
                                             path_uuid(request, "seal_id"))
    return _png(png, digest, request)


@documented(summary="我的个人签名 / my personal signature", tags=("signature",),
            response=doc.SignatureView,
            responses={200: "the signature", 403: doc.PERSONS_ONLY,
                       404: "none yet (`signature_not_found`)"})
async def get_signature(request: web.Request) -> web.Response:
    principal = await require_principal(request, "person")
    return json_response(views.signature(await person.signature(_context(request), principal.id)))


@documented(summary="个人签名图片 / my signature's image", tags=("signature",),
            content_type="image/png",
            responses={200: "PNG (with an ETag)", 304: doc.NOT_MODIFIED, 403: doc.PERSONS_ONLY,
                       404: "none yet (`signature_not_found`)"})
async def get_signature_image(request: web.Request) -> web.Response:
    principal = await require_principal(request, "person")
    png, digest = await person.signature_image(_context(request), principal.id)
    return _png(png, digest, request)


@documented(summary="创建个人签名 / create my signature (handwritten or generated)",
            tags=("signature",), body=SignatureIn, response=doc.SignatureView,
            responses={201: "created", 403: doc.PERSONS_ONLY,
                       409: "I already have one (`signature_exists`)",
                       413: "the handwritten image is too large (`image_too_large`)",
                       422: "image_png missing, not base64 or not a usable PNG"})
async def create_signature(request: web.Request) -> web.Response:
    principal = await require_principal(request, "person")
    body = await parse_json(request, SignatureIn)
    if body.method == "generated" and body.image_png is not None:
        raise ValidationFailed.field("image_png", "not allowed with method generated")
    png = _decode_png(body.image_png) if body.method == "handwritten" else None
    row = await person.create_signature(_context(request), principal.id, method=body.method,
                                        handwritten_png=png)
    return json_response(views.signature(row), status=201,
                         headers={"Location": f"{API}/my/signature"})


@documented(summary="删除个人签名 / delete my signature", tags=("signature",),
            responses={204: "deleted", 403: doc.PERSONS_ONLY,
                       404: "none (`signature_not_found`)"})
async def delete_signature(request: web.Request) -> web.Response:
    principal = await require_principal(request, "person")
    await person.delete_signature(_context(request), principal.id)
    return web.Response(status=204)


# --- internal (stamping) ------------------------------------------------------------------


async def internal_choices(request: web.Request) -> web.Response:
    require_internal(request)
    items = await stamping.choices(_context(request), path_uuid(request, "person_id"))
    return json_response({"items": [views.choice(c) for c in items]})


async def internal_stamp_signature(request: web.Request) -> web.Response:
    require_internal(request)
    seal_id = path_uuid(request, "seal_id")
    body = await parse_json(request, StampSignatureIn)
    try:
        digest = base64.b64decode(body.digest_b64, validate=True)
    except (binascii.Error, ValueError):
        raise ValidationFailed.field("digest_b64", "not valid base64") from None
    result = await stamping.stamp_signature(_context(request), seal_id, person_id=body.person_id,
                                            enterprise_id=body.enterprise_id, digest=digest,
                                            algorithm=body.algorithm)
    return json_response(views.stamp_signature(result))


async def internal_stamp_esl(request: web.Request) -> web.Response:
    """The SES_Seal an OFD stamp embeds (Seal.esl), for a person who may use the seal now."""
    require_internal(request)
    body = await parse_json(request, StampEslIn)
    der = await esl.esl_for_stamp(_context(request), path_uuid(request, "seal_id"),
                                  person_id=body.person_id, enterprise_id=body.enterprise_id)
    return json_response({"seal_b64": base64.b64encode(der).decode()})


async def internal_seal(request: web.Request) -> web.Response:
    require_internal(request)
    record = await stamping.seal_record(_context(request), path_uuid(request, "seal_id"))
    return json_response(views.internal_seal(record))


async def internal_seal_image(request: web.Request) -> web.Response:
    require_internal(request)
    png, digest = await seals.image_of(_context(request), path_uuid(request, "seal_id"))
    return _png(png, digest, request, private=False)


async def internal_enterprise_seals(request: web.Request) -> web.Response:
    require_internal(request)
    rows = await stamping.enterprise_seals(_context(request), path_uuid(request, "enterprise_id"))
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
    r.add_get(f"{API}/seals/{{seal_id}}/esl", get_seal_esl)
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
    r.add_post("/internal/seals/{seal_id}/stamp-esl", internal_stamp_esl)
    r.add_get("/internal/seals/{seal_id}", internal_seal)
    r.add_get("/internal/seals/{seal_id}/image", internal_seal_image)
    r.add_get("/internal/enterprises/{enterprise_id}/seals", internal_enterprise_seals)
