"""structlog setup: JSON lines in production, console in development; secrets redacted."""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Mapping, MutableMapping
from typing import Any

import structlog

REDACTED = "[REDACTED]"
# Keys whose values never reach a log, whatever their nesting.
_SECRET_KEY = re.compile(
    r"(pass(word)?|secret|token|code|otp|authorization|cookie|private|key_pem|api_key|pin)",
    re.IGNORECASE,
)
_NOT_SECRET = {"code_sent", "status_code", "error_code", "problem_code", "kid"}
# Values that look like bearer tokens / JWTs inside free text.
_JWT = re.compile(r"eyJ[\w-]+\.[\w-]+\.[\w-]+")
_BEARER = re.compile(r"(Bearer|Basic|Internal)\s+[\w\-.~+/=]+", re.IGNORECASE)


def _redact_value(key: str, value: Any) -> Any:
    if key.lower() not in _NOT_SECRET and _SECRET_KEY.search(key):
        return REDACTED
    if isinstance(value, Mapping):
        return {k: _redact_value(str(k), v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_redact_value(key, v) for v in value]
    if isinstance(value, str):
        return _BEARER.sub(r"\1 " + REDACTED, _JWT.sub(REDACTED, value))
    return value


def redact_secrets(_: Any, __: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """structlog processor: masks secret-looking keys and token-looking values."""
    for key in list(event_dict):
        if key == "event":
            event_dict[key] = _redact_value("event", event_dict[key])
        else:
            event_dict[key] = _redact_value(key, event_dict[key])
    return event_dict


def configure_logging(service: str, *, json: bool, level: str = "INFO") -> None:
    """Configure structlog and route stdlib logging (aiohttp, aio-pika) through it."""
    shared_processors: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
        redact_secrets,
    ]
    renderer: Any = (
        structlog.processors.JSONRenderer(ensure_ascii=False)
        if json
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[*shared_processors, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(sys.stdout),
        cache_logger_on_first_use=False,
    )
    structlog.contextvars.bind_contextvars(service=service)
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta, *shared_processors[1:], renderer
        ], foreign_pre_chain=[structlog.contextvars.merge_contextvars])
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    logging.getLogger("aiormq").setLevel(logging.WARNING)
    logging.getLogger("aio_pika").setLevel(logging.WARNING)


def get_logger(name: str | None = None) -> Any:
    return structlog.get_logger(name)
