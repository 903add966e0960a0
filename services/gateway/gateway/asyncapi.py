"""``GET /api/v1/events/asyncapi.json``: the public event catalogue, as subscribers read it.

The AsyncAPI 3 document with every event's JSON Schema inside (``shared.catalog_export``
``bundled``), versioned by ``info.version`` (``CATALOG_VERSION``; docs/EVENTS.md, "The
contract"). Built once per process from the same models the producers publish.
"""

from __future__ import annotations

import functools
import json

from aiohttp import web

from shared.catalog_export import bundled
from shared.http import documented


@functools.cache
def _document_bytes() -> bytes:
    return json.dumps(bundled(), ensure_ascii=False).encode()


@documented(summary="事件目录 / the public event catalogue (AsyncAPI 3, JSON Schemas inside)",
            tags=("events",), auth="public", content_type="application/json",
            responses={200: "the AsyncAPI document; info.version is the catalogue's version"})
async def serve_asyncapi(request: web.Request) -> web.Response:
    return web.Response(body=_document_bytes(), content_type="application/json", charset="utf-8",
                        headers={"Cache-Control": "public, max-age=300"})
