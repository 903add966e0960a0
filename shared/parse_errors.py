"""Requests aiohttp cannot parse get a problem+json answer too, not aiohttp's text/plain.

The HTTP parser refuses smuggling shapes (Content-Length with Transfer-Encoding, duplicate
Content-Length, obs-fold...) before any middleware runs, and answers through
``RequestHandler.handle_error``. aiohttp offers no setting for that handler's class, so
``install`` points ``aiohttp.web_server`` at a subclass once per process; a test
(``services/gateway/tests/integration/test_one_door.py``) fails if aiohttp stops using it.
"""

from __future__ import annotations

import json

from aiohttp import web, web_server
from aiohttp.http_exceptions import HttpProcessingError, InvalidURLError
from aiohttp.web_protocol import RequestHandler

PROBLEM_JSON = "application/problem+json"


def _problem(status: int, exc: BaseException | None) -> dict[str, object]:
    if status == 400 and isinstance(exc, InvalidURLError):
        code, title = "invalid_path", "Bad request"
    elif status == 400 and isinstance(exc, HttpProcessingError):
        code, title = "invalid_framing", "Bad request"
    elif status == 400:
        code, title = "bad_request", "Bad request"
    elif status == 504:
        code, title = "timeout", "Gateway timeout"
    else:
        code, title = "internal_error", "Internal server error"
    reason = ""
    if isinstance(exc, HttpProcessingError) and exc.message:
        # The first line names the fault; the rest echoes request bytes (maybe credentials).
        reason = str(exc.message).splitlines()[0].rstrip(":")[:200]
    detail = f"the request cannot be read: {reason}" if status == 400 else title
    return {"type": f"https://eseal.gov.cn/problems/{code}", "title": title, "status": status,
            "detail": detail, "code": code}


class ProblemRequestHandler(RequestHandler):
    def handle_error(self, request: web.BaseRequest, status: int = 500,
                     exc: BaseException | None = None, message: str | None = None) -> web.StreamResponse:
        super().handle_error(request, status, exc, message)  # logs; refuses if output started
        resp = web.Response(status=status, content_type=PROBLEM_JSON,
                            body=json.dumps(_problem(status, exc)).encode())
        resp.force_close()
        return resp


def install() -> None:
    """Idempotent: every ``web.Server`` created afterwards renders parse errors as problems."""
    web_server.RequestHandler = ProblemRequestHandler  # type: ignore[misc,attr-defined]
