"""HTTP routes of the notify service (thin: parse, authorize, call the service layer).

- ``GET  /api/v1/messages?unread_only=&limit=&cursor=`` → ``{items, next_cursor, unread_count}``
- ``POST /api/v1/messages/{message_id}/read`` → 204 (404 when it is not the caller's)
- ``POST /api/v1/messages/read-all`` → 204
- ``GET  /api/v1/messages/stream`` → Server-Sent Events (see ``sse.py``)
- ``GET  /api/v1/support`` (public) → ``{phone, qq_group, hours}``
- subscribers' token, event feed and webhook deliveries: ``subscriptions.py``
"""

from __future__ import annotations

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from shared import cursors, json_response, parse_query, path_uuid, require_principal
from shared.http import documented

from ..service_layer import messages
from .appkeys import NOTIFY
from .schemas import MessagePage, SupportContacts
from .sse import stream
from .subscriptions import setup_routes as setup_subscription_routes
from .views import message_json

API = "/api/v1"


class ListQuery(BaseModel):
    # Unknown query parameters (cache busters) are ignored, not refused.
    model_config = ConfigDict(extra="ignore")

    unread_only: bool = False
    limit: int = Field(default=20, ge=1, le=100)
    cursor: str | None = Field(default=None, max_length=200)


@documented(summary="消息列表 / my messages, with the unread count", tags=("messages",),
            query=ListQuery, response=MessagePage, responses={200: "a page of messages, newest first",
                                                    422: cursors.DOCUMENTED})
async def list_messages(request: web.Request) -> web.Response:
    principal = await require_principal(request)
    q = parse_query(request, ListQuery)
    page = await messages.list_messages(request.app[NOTIFY].pool, principal.id, unread_only=q.unread_only,
                                        limit=q.limit, cursor=q.cursor)
    return json_response({"items": [message_json(m) for m in page.items],
                          "next_cursor": page.next_cursor, "unread_count": page.unread_count})


@documented(summary="标记已读 / mark one message read", tags=("messages",),
            responses={204: "read", 404: "not one of my messages"})
async def read_one(request: web.Request) -> web.Response:
    principal = await require_principal(request)
    message_id = path_uuid(request, "message_id")
    await messages.mark_read(request.app[NOTIFY].pool, principal.id, message_id)
    return web.Response(status=204)


@documented(summary="全部已读 / mark all my messages read", tags=("messages",),
            responses={204: "all read"})
async def read_all(request: web.Request) -> web.Response:
    principal = await require_principal(request)
    await messages.mark_all_read(request.app[NOTIFY].pool, principal.id)
    return web.Response(status=204)


@documented(summary="客服中心 / customer service contacts", tags=("support",),
            response=SupportContacts, auth="public", responses={200: "phone, QQ group and hours"})
async def support(request: web.Request) -> web.Response:
    s = request.app[NOTIFY].settings
    return json_response({"phone": s.support_phone, "qq_group": s.support_qq_group,
                          "hours": s.support_hours},
                         headers={"Cache-Control": "public, max-age=300"})


def setup_routes(app: web.Application) -> None:
    app.router.add_get(f"{API}/messages", list_messages)
    app.router.add_get(f"{API}/messages/stream", stream)
    app.router.add_post(f"{API}/messages/read-all", read_all)
    app.router.add_post(f"{API}/messages/{{message_id}}/read", read_one)
    app.router.add_get(f"{API}/support", support)
    setup_subscription_routes(app)
