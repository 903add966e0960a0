"""The service's one clock (the ``Clock`` port is in ``service_layer/ports.py``). Tests in
sandbox mode may move it forward (code expiry, lock expiry) through
``PUT /internal/sandbox/clock``; production has no such endpoint."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class SystemClock:
    """Wall-clock UTC time plus an offset that only sandbox mode ever sets."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

