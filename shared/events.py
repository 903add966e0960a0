"""Domain events: versioned pydantic models, their registry, upcasting, and the envelope.

A service declares events with ``@event("SealRevoked", producer="seals", stream_type="seal")``.
Old schema versions stay readable: register an upcaster from version N to N+1 and
``decode`` brings stored or received data up to the current model.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

from .errors import EsealError


class UnknownEvent(EsealError):
    status, code, title = 422, "unknown_event", "Unknown event type or version"


class DomainEvent(BaseModel):
    """Base of every event. Frozen; unknown fields are ignored (producers may add fields)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    event_type: ClassVar[str] = ""
    schema_version: ClassVar[int] = 1
    producer: ClassVar[str] = ""
    stream_type: ClassVar[str] = ""
    # Public events go to the bus; private ones only feed the producer's own projections.
    public: ClassVar[bool] = True

    @property
    def routing_key(self) -> str:
        return f"{self.producer}.{self.event_type}"


E = TypeVar("E", bound=type[DomainEvent])
Upcaster = Callable[[dict[str, Any]], dict[str, Any]]

_current: dict[str, type[DomainEvent]] = {}
_upcasters: dict[tuple[str, int], Upcaster] = {}


def event(type_name: str, *, producer: str, stream_type: str, version: int = 1,
          public: bool = True) -> Callable[[E], E]:
    """Class decorator registering the current schema of an event type."""

    def register(cls: E) -> E:
        cls.event_type = type_name
        cls.schema_version = version
        cls.producer = producer
        cls.stream_type = stream_type
        cls.public = public
        existing = _current.get(type_name)
        if existing is not None and existing is not cls and existing.__qualname__ != cls.__qualname__:
            raise RuntimeError(f"event type {type_name} registered twice")
        _current[type_name] = cls
        return cls

    return register


def upcaster(type_name: str, from_version: int) -> Callable[[Upcaster], Upcaster]:
    """Register a function turning data of ``from_version`` into ``from_version + 1``."""

    def register(fn: Upcaster) -> Upcaster:
        _upcasters[(type_name, from_version)] = fn
        return fn

    return register


def event_class(type_name: str) -> type[DomainEvent]:
    try:
        return _current[type_name]
    except KeyError:
        raise UnknownEvent(f"unknown event type {type_name}") from None


def registered_events() -> dict[str, type[DomainEvent]]:
    return dict(_current)


def decode(type_name: str, schema_version: int, data: dict[str, Any]) -> DomainEvent:
    """Build the current model from data of any registered schema version."""
    cls = event_class(type_name)
    if schema_version > cls.schema_version:
        raise UnknownEvent(f"{type_name} v{schema_version} is newer than v{cls.schema_version}")
    while schema_version < cls.schema_version:
        step = _upcasters.get((type_name, schema_version))
        if step is None:
            raise UnknownEvent(f"no upcaster for {type_name} v{schema_version}")
        data = step(dict(data))
        schema_version += 1
    return cls.model_validate(data)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Envelope(BaseModel):
    """What travels on the bus (EVENTS.md). AMQP ``message_id`` equals ``event_id``."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    event_id: uuid.UUID
    type: str
    schema_version: int = 1
    stream_type: str
    stream_id: str
    stream_version: int
    occurred_at: datetime
    producer: str
    correlation_id: str = ""
    causation_id: str | None = None
    data: dict[str, Any] = Field(default_factory=dict)
    # W3C trace context of the span that published the event (shared.tracing); absent when
    # tracing is off and in events published before it existed. Consumers continue the trace.
    traceparent: str | None = Field(default=None, description=(
        "W3C Trace Context traceparent of the span that published the event (optional)"))

    @field_validator("traceparent", mode="before")
    @classmethod
    def _lenient_trace_context(cls, value: Any) -> Any:
        # Only tracing reads it: a malformed value is dropped, never the event (no dead letter).
        return value if isinstance(value, str) and len(value) <= 512 else None

    @property
    def routing_key(self) -> str:
        return f"{self.producer}.{self.type}"

    def decode(self) -> DomainEvent:
        return decode(self.type, self.schema_version, self.data)
