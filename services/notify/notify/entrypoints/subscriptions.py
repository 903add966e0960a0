"""HTTP routes of subscribers (other government systems; docs/EVENTS.md "Subscribers").

- ``POST /api/v1/subscriptions/token`` (HTTP Basic ``subscriber_id:secret``,
  ``grant_type=client_credentials``) → ``{access_token, token_type, expires_in, scope}``
- ``GET  /api/v1/events?after=&types=&limit=`` → ``{items: [envelope], next}`` (catch-up)
- ``GET  /api/v1/subscriptions/deliveries?status=&before=&limit=`` → the webhook delivery log
- ``POST /api/v1/subscriptions/deliveries/{delivery_id}/redeliver`` → 202, sent again soon
"""

from __future__ import annotations

import base64
import binascii
import uuid
from datetime import datetime
from typing import Any, Literal
from urllib.parse import parse_qs, unquote_plus

from aiohttp import web
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from shared import json_response, parse_query, path_uuid
from shared.auth import bearer_token
from shared.errors import EsealError, NotAuthenticated, NotFound
from shared.event_feed import FEED_PATH, parse_position, parse_types
from shared.http import documented, read_json
from shared.service import client

from ..adapters import subscribers as repo
from ..adapters.subscribers import Subscriber
from ..service_layer import feed
from ..service_layer.ports import Fetch
from ..service_layer.subscribers import authenticate, issue_token
from .appkeys import NOTIFY

API = "/api/v1"


class TypeNotSubscribed(EsealError):
    status, code, title = 403, "type_not_subscribed", "Not one of your event types"


# documentation shapes ----------------------------------------------------------------------


class TokenForm(BaseModel):
    grant_type: Literal["client_credentials"]


class SubscriberToken(BaseModel):
    access_token: str
    token_type: Literal["Bearer"]
    expires_in: int
    scope: Literal["events:read"]


class EventsQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")

    after: str | None = Field(default=None, max_length=2000, description=(
        "the `next` of the previous page (a composite position: "
        "`identity:812.40,seals:903.77`); absent or `0`: from the beginning"))
    types: str | None = Field(default=None, max_length=2000, description=(
        "comma-separated event types, among the subscriber's (default: all of them)"))
    limit: int = Field(default=100, ge=1, le=1000)


class EventPage(BaseModel):
    items: list[dict[str, Any]] = Field(description="envelopes, exactly as on the bus (EVENTS.md)")
    next: str = Field(description="the position after these events: the next page's `after`")


class DeliveriesQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")

    status: Literal["pending", "delivered", "failed"] | None = None
    before: AwareDatetime | None = Field(default=None, description="created before (paging)")
    limit: int = Field(default=50, ge=1, le=200)


class DeliveryView(BaseModel):
    delivery_id: uuid.UUID
    event_id: uuid.UUID
    event_type: str
    status: Literal["pending", "delivered", "failed"]
    attempts: int
    next_attempt_at: datetime | None
    last_error: str
    created_at: datetime
    delivered_at: datetime | None


class DeliveryPage(BaseModel):
    items: list[DeliveryView] = Field(description="newest first")


# auth -------------------------------------------------------------------------------------


async def require_subscriber(request: web.Request) -> Subscriber:
    token = bearer_token(request)
    if token is None:
        raise NotAuthenticated("a subscriber access token is required (POST /api/v1/subscriptions/token)",
                               headers={"WWW-Authenticate": 'Bearer realm="eseal", scope="events:read"'})
    ctx = request.app[NOTIFY]
    return await authenticate(ctx.pool, ctx.tokens, token)


def _basic(request: web.Request) -> tuple[str | None, str | None]:
    scheme, _, encoded = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None, None
    try:
        user, colon, password = base64.b64decode(encoded.strip(), validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None, None
    return (unquote_plus(user), unquote_plus(password)) if colon else (None, None)


# handlers ---------------------------------------------------------------------------------


@documented(summary="订阅方取令牌 / a subscriber's access token (client credentials, scope events:read)",
            tags=("events",), auth="basic", response=SubscriberToken,
            bodies={"application/x-www-form-urlencoded": TokenForm, "application/json": TokenForm},
            responses={200: "the token", 400: "no or another grant_type (`unsupported_grant_type`, "
                       "`invalid_request`)", 401: "unknown or disabled subscriber, or wrong secret "
                       "(`invalid_client`)"})
async def token(request: web.Request) -> web.Response:
    subscriber_id, secret = _basic(request)
    grant: str | None = None
    if request.content_type == "application/json":
        body = await read_json(request) if request.body_exists else None
        grant = str(body.get("grant_type")) if isinstance(body, dict) and body.get("grant_type") else None
    elif request.body_exists:
        values = parse_qs((await request.read()).decode(errors="replace")).get("grant_type")
        grant = values[0] if values else None
    ctx = request.app[NOTIFY]
    answer = await issue_token(ctx.pool, ctx.tokens, subscriber_id, secret, grant)
    return json_response(answer, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})


@documented(summary="事件补取 / catch up on the public events after a position", tags=("events",),
            auth="client", query=EventsQuery, response=EventPage,
            responses={200: "the next events (an empty page: you are at the head)",
                       401: "no valid subscriber token", 403: "a type you are not subscribed to",
                       422: "a malformed position or an unknown type"})
async def events(request: web.Request) -> web.Response:
    subscriber = await require_subscriber(request)
    q = parse_query(request, EventsQuery)
    types = parse_types(q.types) if q.types else subscriber.event_types
    extra = sorted(set(types) - set(subscriber.event_types))
    if extra:
        raise TypeNotSubscribed(f"not subscribed to {', '.join(extra)}")
    page = await feed.read(request.app[NOTIFY].fetch, parse_position(q.after), types, q.limit)
    return json_response({"items": page.items, "next": page.next}, headers={"Cache-Control": "no-store"})


@documented(summary="推送记录 / my webhook deliveries", tags=("events",), auth="client",
            query=DeliveriesQuery, response=DeliveryPage,
            responses={200: "newest first", 401: "no valid subscriber token"})
async def deliveries(request: web.Request) -> web.Response:
    subscriber = await require_subscriber(request)
    q = parse_query(request, DeliveriesQuery)
    async with request.app[NOTIFY].pool.acquire() as conn:
        found = await repo.deliveries(conn, subscriber.subscriber_id, status=q.status,
                                      before=q.before, limit=q.limit)
    shown = [f for f in DeliveryView.model_fields if f != "next_attempt_at"]
    items = [{**{f: getattr(d, f) for f in shown},
              "next_attempt_at": d.next_attempt_at if d.status == "pending" else None} for d in found]
    return json_response({"items": items})


@documented(summary="重新推送 / deliver one webhook again", tags=("events",), auth="client",
            responses={202: "queued: sent again within seconds", 401: "no valid subscriber token",
                       404: "not one of my deliveries"})
async def redeliver(request: web.Request) -> web.Response:
    subscriber = await require_subscriber(request)
    delivery_id = path_uuid(request, "delivery_id")
    settings = request.app[NOTIFY].settings
    async with request.app[NOTIFY].pool.acquire() as conn:
        found = await repo.redeliver(conn, subscriber.subscriber_id, delivery_id,
                                     settings.webhook_retry_hours * 3600)
    if not found:
        raise NotFound("no such delivery", code="delivery_not_found")
    return web.Response(status=202)


def fetcher(app: web.Application) -> Fetch:
    """Reads one producer's ``/internal/events`` (shared.event_feed)."""
    async def fetch(producer: str, after: str, types: list[str], limit: int) -> dict[str, Any]:
        answer = await client(app, producer).get(FEED_PATH, params={
            "after": after, "types": ",".join(types), "limit": str(limit)})
        assert isinstance(answer, dict)
        return answer
    return fetch


def setup_routes(app: web.Application) -> None:
    app.router.add_post(f"{API}/subscriptions/token", token)
    app.router.add_get(f"{API}/events", events)
    app.router.add_get(f"{API}/subscriptions/deliveries", deliveries)
    app.router.add_post(f"{API}/subscriptions/deliveries/{{delivery_id}}/redeliver", redeliver)
