"""A small HTTP client for whole-system tests, talking to the gateway like the app does.

``Reply`` is the one answer type of every test harness (tests/, services/*/tests).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import aiohttp


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes
    json: Any

    def __repr__(self) -> str:  # readable assertion failures
        return f"Reply({self.status}, {self.json if self.json is not None else self.body[:200]!r})"

    @property
    def content_type(self) -> str:
        """The media type without parameters (``application/problem+json``), lower case."""
        for name, value in self.headers.items():
            if name.lower() == "content-type":
                return value.split(";")[0].strip().lower()
        return ""


class Api:
    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")
        self._session: aiohttp.ClientSession | None = None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession()
        return self._session

    async def request(self, method: str, path: str, *, token: str | None = None,
                      json: Any = None, data: Any = None, headers: dict[str, str] | None = None,
                      params: dict[str, str] | None = None) -> Reply:
        h = dict(headers or {})
        if token:
            h["Authorization"] = f"Bearer {token}"
        url = path if path.startswith("http") else self.base_url + path
        async with self.session.request(method, url, json=json, data=data, headers=h,
                                        params=params) as r:
            body = await r.read()
            parsed = None
            if r.content_type in ("application/json", "application/problem+json"):
                import json as _json
                parsed = _json.loads(body or b"null")
            return Reply(r.status, dict(r.headers), body, parsed)

    async def get(self, path: str, **kw: Any) -> Reply:
        return await self.request("GET", path, **kw)

    async def post(self, path: str, **kw: Any) -> Reply:
        return await self.request("POST", path, **kw)

    async def put(self, path: str, **kw: Any) -> Reply:
        return await self.request("PUT", path, **kw)

    async def patch(self, path: str, **kw: Any) -> Reply:
        return await self.request("PATCH", path, **kw)

    async def delete(self, path: str, **kw: Any) -> Reply:
        return await self.request("DELETE", path, **kw)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
