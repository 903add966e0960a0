"""The one error hierarchy of the platform, rendered as RFC 9457 problem+json.

Raise a subclass with a stable snake_case ``code``; the app factory turns it into a
response. Anything else that escapes a handler is a 500 and is logged as a bug.
"""

from __future__ import annotations

from typing import Any


class EsealError(Exception):
    status: int = 400
    code: str = "bad_request"
    title: str = "Bad request"

    def __init__(
        self,
        detail: str | None = None,
        *,
        code: str | None = None,
        errors: list[dict[str, str]] | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        if code:
            self.code = code
        self.errors = errors or []
        self.headers = headers or {}
        self.extra = extra

    def to_problem(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": f"https://eseal.gov.cn/problems/{self.code}",
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            "code": self.code,
        }
        if self.errors:
            body["errors"] = self.errors
        body.update(self.extra)
        return body


class BadRequest(EsealError):
    status, code, title = 400, "bad_request", "Bad request"


class ValidationFailed(EsealError):
    status, code, title = 422, "validation_failed", "Validation failed"

    @classmethod
    def field(cls, field: str, message: str, *, code: str | None = None) -> ValidationFailed:
        return cls(f"{field}: {message}", code=code, errors=[{"field": field, "message": message}])


class NotAuthenticated(EsealError):
    status, code, title = 401, "not_authenticated", "Not authenticated"


class Forbidden(EsealError):
    status, code, title = 403, "forbidden", "Forbidden"


class NotFound(EsealError):
    status, code, title = 404, "not_found", "Not found"


class Conflict(EsealError):
    status, code, title = 409, "conflict", "Conflict"


class Gone(EsealError):
    status, code, title = 410, "gone", "Gone"


class PayloadTooLarge(EsealError):
    status, code, title = 413, "payload_too_large", "Payload too large"


class UnsupportedMediaType(EsealError):
    status, code, title = 415, "unsupported_media_type", "Unsupported media type"


class Locked(EsealError):
    status, code, title = 423, "locked", "Locked"


class RateLimited(EsealError):
    status, code, title = 429, "rate_limited", "Too many requests"

    def __init__(self, detail: str | None = None, *, retry_after: int, **kw: Any) -> None:
        headers = {"Retry-After": str(max(1, int(retry_after)))}
        super().__init__(detail, headers=headers, retry_after=max(1, int(retry_after)), **kw)


class ServiceUnavailable(EsealError):
    status, code, title = 503, "service_unavailable", "Service unavailable"


class ConcurrencyError(Conflict):
    """A stale writer: the stream moved on since the aggregate was loaded."""

    code = "concurrent_modification"
