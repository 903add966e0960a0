"""``GET /api/v1/messages/stream``: the caller's new messages as Server-Sent Events.

    retry: 3000
    event: ready               once the starting point is fixed; data {"unread_count": n}
    id: <message_id>           one per new message, in order
    event: message
    data: {message_id, kind, title, body, created_at, read}
    : keep-alive               a comment after each idle heartbeat interval
    event: token_expired       last event when the access token expires; the stream ends
    event: token_revoked       last event when the session is revoked (logout...); the stream ends

A client reconnecting with ``Last-Event-ID: <message_id>`` first receives what it missed,
so one that refreshes its token and reconnects after ``token_expired`` loses nothing. A
client that lists its messages after ``ready`` and keeps the stream misses nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, AsyncIterator

import jwt
from aiohttp import web
from prometheus_client import Gauge
from pydantic_core import to_json

from shared import require_principal
from shared.auth import bearer_token
from shared.http import documented
from shared.revocations import REVOCATIONS

from ..adapters.repository import Message
from ..service_layer import messages
from ..service_layer.messages import Follower, Signal
from .appkeys import NOTIFY
from .views import message_json

OPEN_STREAMS = Gauge("eseal_notify_open_streams", "Open message streams (SSE) in this process")
RETRY_MS = 3000


def sse_event(event: str, data: object, event_id: str | None = None) -> bytes:
    lines = [f"id: {event_id}"] if event_id else []
    lines += [f"event: {event}", f"data: {to_json(data).decode()}"]
    return ("\n".join(lines) + "\n\n").encode()


def token_expiry(request: web.Request) -> float | None:
    """``exp`` of the caller's access token (already verified by ``require_principal``)."""
    token = bearer_token(request)
    if token is None:
        return None
    exp = jwt.decode(token, options={"verify_signature": False}).get("exp")
    return float(exp) if isinstance(exp, int | float) else None


_DONE = object()


async def _next(items: AsyncGenerator[object, None]) -> object:
    try:
        return await anext(items)
    except StopAsyncIteration:
        return _DONE


async def until_revoked(items: AsyncGenerator[object, None],
                        revoked: asyncio.Event) -> AsyncIterator[object]:
    """The follower's items until the session is revoked; then ``revoked`` itself, once.

    Each read of ``items`` runs as a task raced against the revocation; a read still pending
    when this ends (revoked, client gone, shutdown) is cancelled and awaited, so that the
    caller can close ``items`` afterwards."""
    ended = asyncio.ensure_future(revoked.wait())
    step: asyncio.Future[object] | None = None
    try:
        while not revoked.is_set():
            step = asyncio.ensure_future(_next(items))
            await asyncio.wait({step, ended}, return_when=asyncio.FIRST_COMPLETED)
            if not step.done():
                break
            item, step = step.result(), None
            if item is _DONE:
                return
            yield item
        yield revoked
    finally:
        ended.cancel()
        if step is not None and not step.done():
            step.cancel()  # a pending read of the inbox or wait for the hub: dropped
            with contextlib.suppress(asyncio.CancelledError):
                await step


@documented(summary="新消息推送（SSE） / new messages as Server-Sent Events", tags=("messages",),
            content_type="text/event-stream",
            responses={200: "`event: ready` (`{unread_count}`), then `event: message` (id = "
                            "message_id) per new message, `: keep-alive` comments, and "
                            "`event: token_expired` (or `event: token_revoked`) last; "
                            "reconnect with `Last-Event-ID`"})
async def stream(request: web.Request) -> web.StreamResponse:
    principal = await require_principal(request)
    ctx = request.app[NOTIFY]
    pool = ctx.pool
    follower = Follower(pool, ctx.hub, principal.id, ctx.settings.sse_heartbeat_seconds)
    resp = web.StreamResponse(headers={
        "Content-Type": "text/event-stream; charset=utf-8",
        "Cache-Control": "no-cache, no-transform",
        "X-Accel-Buffering": "no",  # tell buffering proxies (nginx) to pass events at once
    })
    await resp.prepare(request)
    await resp.write(f"retry: {RETRY_MS}\n\n".encode())
    OPEN_STREAMS.inc()
    try:
        items = follower.follow(request.headers.get("Last-Event-ID"), token_expiry(request))
        with request.app[REVOCATIONS].watch(principal) as revoked:
            async with contextlib.aclosing(items):
                async for item in until_revoked(items, revoked):
                    if item is revoked:  # logout elsewhere: this stream must not outlive it
                        await resp.write(sse_event("token_revoked", {}))
                    elif item is Signal.READY:
                        unread = await messages.unread_count(pool, principal.id)
                        await resp.write(sse_event("ready", {"unread_count": unread}))
                    elif item is Signal.HEARTBEAT:
                        await resp.write(b": keep-alive\n\n")
                    elif item is Signal.EXPIRED:
                        await resp.write(sse_event("token_expired", {}))
                    elif isinstance(item, Message):
                        await resp.write(sse_event("message", message_json(item), str(item.message_id)))
    except ConnectionError:
        pass  # the client went away; noticed at the next write (at most one heartbeat later)
    finally:
        OPEN_STREAMS.dec()
    return resp
