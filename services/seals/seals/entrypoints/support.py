"""What the seals handlers share: the context of a request, PNG answers, the optional caller."""

from __future__ import annotations

from aiohttp import web

from shared.auth import Principal, bearer_token, require_principal

from ..service_layer.context import Seals

CONTEXT = web.AppKey("seals_context", Seals)
API = "/api/v1"


def context(request: web.Request) -> Seals:
    return request.app[CONTEXT]


def png_response(data: bytes, digest: str, request: web.Request, *, private: bool = True) -> web.Response:
    etag = f'"{digest}"'
    headers = {"ETag": etag, "Cache-Control": "private, no-cache" if private else "no-cache",
               "X-Content-Type-Options": "nosniff"}
    if request.headers.get("If-None-Match") == etag:
        return web.Response(status=304, headers=headers)
    return web.Response(body=data, content_type="image/png", headers=headers)


async def optional_principal(request: web.Request) -> Principal | None:
    return await require_principal(request) if bearer_token(request) else None
