"""Per-request context (request id, actor) carried into logs, events and service calls."""

from __future__ import annotations

from contextvars import ContextVar

request_id: ContextVar[str] = ContextVar("request_id", default="")
