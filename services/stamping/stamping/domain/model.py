"""The stamp request aggregate: a fold of its events, and the rules commands check.

A request's stream (``stamp_request``, id = request id) is ``StampRequested`` followed by at
most one of ``StampApplied`` (+ ``UsageRecorded``) or ``StampRequestExpired``. The event
store's ``(stream_id, version)`` key is what finally makes one request give one stamp: two
writers of version 2 cannot both commit.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from shared.catalog import StampApplied, StampRequested, StampRequestExpired
from shared.events import DomainEvent

from .errors import AlreadyStamped, RequestExpired

Status = Literal["pending", "stamped", "expired"]


@dataclass
class StampRequest:
    request_id: uuid.UUID
    client_id: str = ""
    title: str = ""
    document_sha256: str = ""
    expires_at: datetime | None = None
    status: Status = "pending"
    stamped_at: datetime | None = None
    record_id: uuid.UUID | None = None
    version: int = 0

    @classmethod
    def fold(cls, request_id: uuid.UUID, events: Iterable[DomainEvent]) -> StampRequest:
        state = cls(request_id)
        for ev in events:
            state.apply(ev)
        return state

    def apply(self, ev: DomainEvent) -> None:
        self.version += 1
        if isinstance(ev, StampRequested):
            self.client_id, self.title = ev.client_id, ev.title
            self.document_sha256, self.expires_at = ev.document_sha256, ev.expires_at
        elif isinstance(ev, StampApplied):
            self.status, self.stamped_at, self.record_id = "stamped", ev.stamped_at, ev.record_id
        elif isinstance(ev, StampRequestExpired):
            self.status = "expired"

    @property
    def exists(self) -> bool:
        return self.version > 0

    def is_expired(self, now: datetime) -> bool:
        return self.status == "expired" or (
            self.status == "pending" and self.expires_at is not None and now >= self.expires_at)

    def visible_status(self, now: datetime) -> Status:
        """What callers see: a pending request past its time is expired, swept or not."""
        return "expired" if self.is_expired(now) else self.status

    def check_stampable(self, now: datetime) -> None:
        """Raise unless a stamp may start now (pending and unexpired)."""
        if self.status == "stamped":
            raise AlreadyStamped()
        if self.is_expired(now):
            raise RequestExpired()

    def expire(self) -> StampRequestExpired:
        assert self.status == "pending"
        return StampRequestExpired(request_id=self.request_id, client_id=self.client_id)
