"""One normalisation of the request path, shared by the gateway and every service.

The gateway routes on the decoded path and forwards the raw one; a service decodes the raw
path again. If the two readings could differ (a ``%2e%2e`` segment the upstream client
resolves, an encoded slash, a ``%252e`` a second decoder turns into ``.``), the route the
gateway checked is not the route the service serves. So any path whose meaning depends on
how often or by whom it is decoded is refused here with 400 ``invalid_path``: what remains
decodes to the same segments everywhere.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

from aiohttp import web

from .errors import BadRequest

CHECKED_PATH = web.RequestKey("checked_path", str)

_ESCAPE = re.compile(r"%([0-9A-Fa-f]{2})")
_STRAY_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
# Encoded characters whose decoded meaning differs from their raw one: '/', '\', NUL.
_ENCODED_SEPARATOR = re.compile(r"%(2f|5c|00)", re.IGNORECASE)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class InvalidPath(BadRequest):
    code = "invalid_path"


def _refuse(why: str) -> InvalidPath:
    return InvalidPath(f"the request path is not allowed: {why}")


def check_path(raw_path: str) -> str:
    """The decoded path of a raw request target (``path[?query]``), or 400 ``invalid_path``.

    The query is not part of routing and is left to the service; only the path is checked.
    """
    path = raw_path.split("?", 1)[0]
    if not path.startswith("/") or "#" in path:
        raise _refuse("only an absolute path is accepted")  # absolute-form, '*', fragments
    if _STRAY_PERCENT.search(path):
        raise _refuse("a '%' that starts no escape")
    if _ENCODED_SEPARATOR.search(path):
        raise _refuse("an encoded slash, backslash or NUL")
    if not path.isascii() or _CONTROL.search(path):
        raise _refuse("characters that must be percent-encoded")
    if "//" in path:
        raise _refuse("an empty segment ('//')")  # '//x' reads as a host to some clients
    return "/" + "/".join(_decode_segment(raw) for raw in path.split("/")[1:])


def _decode_segment(raw: str) -> str:
    try:
        text = _ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), raw).encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        raise _refuse("not valid UTF-8") from None
    if _ESCAPE.search(text):
        raise _refuse("double percent-encoding")  # e.g. %252e: '.' to a second decoder
    if "\\" in text or _CONTROL.search(text):
        raise _refuse("a backslash or a control character")
    if text.split(";", 1)[0] in (".", ".."):
        raise _refuse("a '.' or '..' segment")  # also '..;x': path parameters elsewhere
    return text


@web.middleware
async def path_guard(request: web.Request,
                     handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> web.StreamResponse:
    """Refuses an ambiguous path before any routing decision is acted on."""
    request[CHECKED_PATH] = check_path(request.raw_path)
    return await handler(request)
