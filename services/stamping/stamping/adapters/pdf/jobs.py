"""Entry points that run in a verification worker process (picklable in, picklable out).

Errors do not cross the process boundary as exceptions (ours carry keyword state that
pickling drops); a refusal comes back as ``Refusal`` and is raised again by the caller.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from shared.errors import EsealError

from .verification import VerificationReport, verify_pdf


@dataclass(frozen=True)
class Refusal:
    status: int
    code: str
    detail: str
    extra: dict[str, Any] = field(default_factory=dict)

    def error(self) -> EsealError:
        err = EsealError(self.detail, code=self.code, **self.extra)
        err.status = self.status
        return err


def verify_document(data: bytes, roots_der: list[bytes], crls_der: list[bytes], max_bytes: int,
                    max_signatures: int, max_pages: int) -> VerificationReport | Refusal:
    try:
        return asyncio.run(verify_pdf(data, trust_roots=roots_der, crls=crls_der, max_bytes=max_bytes,
                                      max_signatures=max_signatures, max_pages=max_pages))
    except EsealError as e:
        return Refusal(e.status, e.code, e.detail, dict(e.extra))
