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
_SECRET_WORDS = (  # the names of secrets, not a secret
    r"pass(?:word|wd|phrase)?|secret|token|jwt|code|otp|captcha|authorization"  # noqa: S105
    r"|cookie|credential|private|key_pem|api[_-]?key|master_key|signing_key"
    r"|(?<![a-z])pin(?![a-z])")
_SECRET_KEY = re.compile(_SECRET_WORDS, re.IGNORECASE)
_NOT_SECRET = {"code_sent", "status_code", "error_code", "problem_code", "kid", "event"}
# Values that look like bearer tokens / JWTs inside free text.
_JWT = re.compile(r"eyJ[\w-]+\.[\w-]+\.[\w-]*")
_BEARER = re.compile(r"\b(Bearer|Basic|Digest|Internal)\s+[\w\-.~+/=]+", re.IGNORECASE)
# An Authorization header written out in text: everything up to the end of its value.
_AUTH_HEADER = re.compile(r"""\b((?:proxy-)?authorization["']?\s*[:=]\s*["']?)[^\r\n"']+""",
                          re.IGNORECASE)
# ``password=...``, ``"sms_code": "..."``, ``access_token: ...`` inside free text (messages,
# exception texts, reprs of objects): a quoted value, or one up to a space, comma or brace.
_ASSIGNMENT = re.compile(
    r"""(?P<key>[\w.-]*(?:""" + _SECRET_WORDS + r""")[\w.-]*)(?P<sep>["']?\s*[=:]\s*)"""
    r"""(?!\[REDACTED\])(?P<value>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|[^"'\s,;&})\]]+)""",
    re.IGNORECASE,
)
# Credentials inside URLs: scheme://user:password@host
_URL_CREDENTIALS = re.compile(r"(?P<head>\b[a-z][a-z0-9+.-]*://[^:/?#\s@]*:)[^@/?#\s]+@",
                              re.IGNORECASE)
_PLAIN = (int, float, bool, type(None))


def _is_secret_key(key: str) -> bool:
    return key.lower() not in _NOT_SECRET and bool(_SECRET_KEY.search(key))


def _redact_assignment(match: re.Match[str]) -> str:
    if not _is_secret_key(match.group("key")):
        return match.group(0)
    quote = match.group("value")[0] if match.group("value")[0] in "\"'" else ""
    return f"{match.group('key')}{match.group('sep')}{quote}{REDACTED}{quote}"


def redact_text(text: str) -> str:
    """Mask tokens, ``secret_key=value`` pairs and URL passwords inside free text."""
    text = _JWT.sub(REDACTED, text)
    text = _BEARER.sub(r"\1 " + REDACTED, text)
    text = _AUTH_HEADER.sub(r"\1" + REDACTED, text)
    text = _URL_CREDENTIALS.sub(r"\g<head>" + REDACTED + "@", text)
    return _ASSIGNMENT.sub(_redact_assignment, text)


def _redact_value(key: str, value: Any) -> Any:
    if _is_secret_key(key):
        return REDACTED
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, _PLAIN):
        return value
    if isinstance(value, Mapping):
        return {k: _redact_value(str(k), v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_redact_pair(key, v) for v in value]
    # Anything else would be rendered by its repr (pydantic models, dataclasses, headers...).
    return redact_text(repr(value))


def _redact_pair(key: str, value: Any) -> Any:
    """``[("Authorization", "..."), ...]`` header lists: the first item names the second."""
    if isinstance(value, tuple) and len(value) == 2 and isinstance(value[0], str):
        return [value[0], _redact_value(value[0], value[1])]
    return _redact_value(key, value)


def redact_secrets(_: Any, __: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """structlog processor: masks secret-looking keys and token-looking values."""
    for key in list(event_dict):
        event_dict[key] = _redact_value(str(key), event_dict[key])
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
