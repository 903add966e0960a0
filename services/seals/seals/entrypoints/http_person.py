"""Routes of the natural person's side: the seals granted to me, my personal signature."""

from __future__ import annotations

import base64
import binascii
import re

from aiohttp import web

from shared.auth import require_principal
from shared.errors import PayloadTooLarge, ValidationFailed
from shared.http import documented, json_response, parse_json, path_uuid

from ..adapters.rendering.signature_renderer import MAX_PNG_BYTES
from ..service_layer import person
from . import responses as doc
from . import views
from .schemas import SignatureIn
from .support import API, context, png_response

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


@documented(summary="我的企业 / enterprises that granted me seals", tags=("my-seals",),
            response=doc.GrantingEnterpriseList,
            responses={200: "enterprises with at least one active seal granted to me",
                       403: doc.PERSONS_ONLY})
async def my_enterprises(request: web.Request) -> web.Response:
    principal = await require_principal(request, "person")
    items = await person.my_enterprises(context(request), principal.id)
    return json_response(views.page([views.granting_enterprise(e) for e in items], None))


@documented(summary="企业授权给我的印章 / the seals an enterprise granted me", tags=("my-seals",),
            response=doc.GrantedSealList,
            responses={200: "the seals (revoked seals and removed grants never appear)",
                       403: doc.PERSONS_ONLY})
async def my_seals(request: web.Request) -> web.Response:
    principal = await require_principal(request, "person")
    ctx = context(request)
    items = await person.my_seals(ctx, principal.id, path_uuid(request, "enterprise_id"))
    today = ctx.today()
    return json_response(views.page([views.granted_seal(g, today) for g in items], None))


@documented(summary="授权印章详情 / one seal granted to me", tags=("my-seals",),
            response=doc.GrantedSealDetail,
            responses={200: "the seal and my grant", 403: doc.PERSONS_ONLY,
                       404: "not granted to me (`seal_not_found`)"})
async def my_seal(request: web.Request) -> web.Response:
    principal = await require_principal(request, "person")
    ctx = context(request)
    g = await person.my_seal(ctx, principal.id, path_uuid(request, "enterprise_id"),
                             path_uuid(request, "seal_id"))
    return json_response(views.granted_seal(g, ctx.today(), detail=True))


@documented(summary="授权印章图片 / the image of a seal granted to me", tags=("my-seals",),
            content_type="image/png",
            responses={200: "PNG (with an ETag)", 304: doc.NOT_MODIFIED, 403: doc.PERSONS_ONLY,
                       404: "not granted to me (`seal_not_found`)"})
async def my_seal_image(request: web.Request) -> web.Response:
    principal = await require_principal(request, "person")
    png, digest = await person.my_seal_image(context(request), principal.id,
                                             path_uuid(request, "enterprise_id"),
                                             path_uuid(request, "seal_id"))
    return png_response(png, digest, request)


@documented(summary="我的个人签名 / my personal signature", tags=("signature",),
            response=doc.SignatureView,
            responses={200: "the signature", 403: doc.PERSONS_ONLY,
                       404: "none yet (`signature_not_found`)"})
async def get_signature(request: web.Request) -> web.Response:
    principal = await require_principal(request, "person")
    return json_response(views.signature(await person.signature(context(request), principal.id)))


@documented(summary="个人签名图片 / my signature's image", tags=("signature",),
            content_type="image/png",
            responses={200: "PNG (with an ETag)", 304: doc.NOT_MODIFIED, 403: doc.PERSONS_ONLY,
                       404: "none yet (`signature_not_found`)"})
async def get_signature_image(request: web.Request) -> web.Response:
    principal = await require_principal(request, "person")
    png, digest = await person.signature_image(context(request), principal.id)
    return png_response(png, digest, request)


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
    row = await person.create_signature(context(request), principal.id, method=body.method,
                                        handwritten_png=png)
    return json_response(views.signature(row), status=201,
                         headers={"Location": f"{API}/my/signature"})


@documented(summary="删除个人签名 / delete my signature", tags=("signature",),
            responses={204: "deleted", 403: doc.PERSONS_ONLY,
                       404: "none (`signature_not_found`)"})
async def delete_signature(request: web.Request) -> web.Response:
    principal = await require_principal(request, "person")
    await person.delete_signature(context(request), principal.id)
    return web.Response(status=204)
