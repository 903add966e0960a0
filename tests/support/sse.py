"""Reading the message stream (``GET /api/v1/messages/stream``, Server-Sent Events) as the app does.

    async with message_stream(gateway_url, token) as stream:   # returns after the "ready" event
        ...                                                     # do what should be pushed
        message = await stream.next_message("seal_revoked", within=10)
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp


class MessageStream:
    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self.response = response
        self.seen: list[tuple[str, Any]] = []

    async def next_event(self) -> tuple[str, Any]:
        fields: dict[str, str] = {}
        while True:
            raw = await self.response.content.readline()
            if not raw:
                raise AssertionError(f"the stream ended; seen: {self.seen!r}")
            line = raw.decode().rstrip("\r\n")
            if line == "" and "data" in fields:
                event = (fields.get("event", "message"), json.loads(fields["data"]))
                self.seen.append(event)
                return event
            if line and not line.startswith(":"):
                name, _, value = line.partition(":")
                fields[name] = value.removeprefix(" ")

    async def next_message(self, kind: str, *, within: float = 10.0) -> dict[str, Any]:
        """The next pushed message of ``kind`` (other messages are skipped)."""
        async def read() -> dict[str, Any]:
            while True:
                event, data = await self.next_event()
                if event == "message" and data.get("kind") == kind:
                    return dict(data)

        try:
            return await asyncio.wait_for(read(), within)
        except TimeoutError:
            raise AssertionError(
                f"no {kind!r} message pushed within {within}s; seen: {self.seen!r}") from None


@contextlib.asynccontextmanager
async def message_stream(gateway_url: str, token: str, *,
                         ready_within: float = 10.0) -> AsyncIterator[MessageStream]:
    headers = {"Authorization": f"Bearer {token}", "Accept": "text/event-stream"}
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=10, sock_read=None)
    async with aiohttp.ClientSession(timeout=timeout) as http, \
            http.get(gateway_url.rstrip("/") + "/api/v1/messages/stream", headers=headers) as r:
        assert r.status == 200 and r.content_type == "text/event-stream", (r.status, await r.read())
        stream = MessageStream(r)
        event, _ = await asyncio.wait_for(stream.next_event(), ready_within)
        assert event == "ready", stream.seen
        yield stream
