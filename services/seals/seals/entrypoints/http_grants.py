"""Routes of a seal's grants (授权) to natural persons."""

from __future__ import annotations

from aiohttp import web

from shared import cursors
from shared.auth import require_principal
from shared.http import documented, json_response, parse_json, parse_query, path_uuid

from ..service_layer import grants
from . import responses as doc
from . import views
from .schemas import GrantIn, GrantPatch, ListQuery
from .support import API, context


@documented(summary="印章授权列表 / the grants of a seal", tags=("grants",), query=ListQuery,
            response=doc.GrantPage,
            responses={200: "a page of grants", 403: doc.ENTERPRISE_ONLY, 404: doc.NO_SEAL,
                       422: cursors.DOCUMENTED})
async def list_grants(request: web.Request) -> web.Response:
    principal = await require_principal(request, "enterprise", "agent")
    q = parse_query(request, ListQuery)
    ctx = context(request)
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
    ctx = context(request)
    row = await grants.add_grant(ctx, principal, seal_id, name=body.name, id_type=body.id_type,
                                 id_number=body.id_number, valid_from=body.valid_from,
                                 valid_to=body.valid_to)
    return json_response(views.grant(row, ctx.today()), status=201,
                         headers={"Location": f"{API}/seals/{seal_id}/grants/{row.grant_id}"})


@documented(summary="授权详情 / one grant", tags=("grants",), response=doc.GrantView,
            responses={200: "the grant", 403: doc.ENTERPRISE_ONLY, 404: doc.NO_GRANT})
async def get_grant(request: web.Request) -> web.Response:
    principal = await require_principal(request, "enterprise", "agent")
    ctx = context(request)
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
    ctx = context(request)
    row = await grants.change_grant(ctx, principal, seal_id, grant_id,
                                    valid_from=body.valid_from, valid_to=body.valid_to)
    return json_response(views.grant(row, ctx.today()))


@documented(summary="删除授权 / remove a grant", tags=("grants",),
            responses={204: "removed: the person can no longer stamp with the seal",
                       403: doc.MANAGERS_ONLY, 404: doc.NO_GRANT})
async def delete_grant(request: web.Request) -> web.Response:
    principal = await require_principal(request, "enterprise", "agent")
    await grants.delete_grant(context(request), principal, path_uuid(request, "seal_id"),
                              path_uuid(request, "grant_id"))
    return web.Response(status=204)
