"""Routes of seal types, previews and an enterprise's seals."""

from __future__ import annotations

from aiohttp import web

from shared import cursors
from shared.auth import require_principal
from shared.http import documented, json_response, parse_json, parse_query, path_uuid

from ..service_layer import approvals, esl, seals
from . import responses as doc
from . import views
from .schemas import IssueIn, ListQuery, PreviewIn, RevokeIn, SealPatch
from .support import API, context, optional_principal, png_response


@documented(summary="印章类型 / the seal types", tags=("seals",), response=doc.SealTypeList,
            auth="public|user", responses={200: "the types; for an enterprise caller with the "
                                                "default seal name of each"})
async def list_seal_types(request: web.Request) -> web.Response:
    types = await seals.seal_types(context(request), await optional_principal(request))
    return json_response({"items": [views.seal_type(t) for t in types], "next_cursor": None})


@documented(summary="印章预览 / preview a seal image", tags=("seals",), body=PreviewIn,
            content_type="image/png",
            responses={200: "the seal as it would be made (PNG)", 403: doc.MANAGERS_ONLY,
                       422: "unknown type or unusable name"})
async def preview_seal(request: web.Request) -> web.Response:
    principal = await require_principal(request, "enterprise", "agent")
    body = await parse_json(request, PreviewIn)
    png = await seals.preview(context(request), principal, body.type, body.name)
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
    row = await seals.issue(context(request), principal, body.type, body.name, body.face_token)
    return json_response(views.seal(row), status=201,
                         headers={"Location": f"{API}/seals/{row.seal_id}"})


@documented(summary="我的印章 / the enterprise's seals", tags=("seals",), query=ListQuery,
            response=doc.SealPage,
            responses={200: "a page of seals, revoked ones included", 403: doc.ENTERPRISE_ONLY,
                       422: cursors.DOCUMENTED})
async def list_seals(request: web.Request) -> web.Response:
    principal = await require_principal(request, "enterprise", "agent")
    q = parse_query(request, ListQuery)
    page = await seals.list_seals(context(request), principal, limit=q.limit, cursor=q.cursor)
    return json_response(views.page([views.seal(r) for r in page.items], page.next_cursor))


@documented(summary="印章详情 / one seal", tags=("seals",), response=doc.SealView,
            responses={200: "the seal", 403: doc.ENTERPRISE_ONLY, 404: doc.NO_SEAL})
async def get_seal(request: web.Request) -> web.Response:
    principal = await require_principal(request, "enterprise", "agent")
    row = await seals.get_seal(context(request), principal, path_uuid(request, "seal_id"))
    return json_response(views.seal(row))


@documented(summary="用印审批设置 / whether stamps with the seal need approval, and who approves",
            tags=("seals",), body=SealPatch, response=doc.SealView,
            responses={200: "the seal with its approval policy", 403: doc.MANAGERS_ONLY,
                       404: doc.NO_SEAL, 409: "the seal is revoked (`seal_revoked`)",
                       422: "an approver who is neither the enterprise account nor one of its "
                            "agents with the management permission, or approval required with "
                            "no approver (`invalid_approvers`)"})
async def change_seal(request: web.Request) -> web.Response:
    principal = await require_principal(request, "enterprise", "agent")
    body = await parse_json(request, SealPatch)
    row = await approvals.set_policy(context(request), principal, path_uuid(request, "seal_id"),
                                     required=body.approval_required, approvers=body.approvers)
    return json_response(views.seal(row))


@documented(summary="印章图片 / a seal's image", tags=("seals",), content_type="image/png",
            responses={200: "PNG (with an ETag)", 304: doc.NOT_MODIFIED, 403: doc.ENTERPRISE_ONLY,
                       404: doc.NO_SEAL})
async def get_seal_image(request: web.Request) -> web.Response:
    principal = await require_principal(request, "enterprise", "agent")
    png, digest = await seals.seal_image(context(request), principal, path_uuid(request, "seal_id"))
    return png_response(png, digest, request)


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
    der = await esl.esl(context(request), principal, seal_id)
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
    row = await seals.revoke(context(request), principal, seal_id, body.face_token, body.reason)
    return json_response(views.seal(row))
