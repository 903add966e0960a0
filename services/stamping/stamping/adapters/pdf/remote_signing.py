"""pyHanko's ports, filled by the platform: the seal's raw signature and the shared TSA.

pyHanko runs in a worker thread (``adapters/loops.py``); the seal signature is asked of
seals on the main event loop (seals decides under row locks and has certs sign), and the
timestamp comes from the process's shared timestamper, whose token this stamp keeps to learn
its signing time.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Coroutine
from datetime import datetime
from typing import Any

from asn1crypto import cms
from pyhanko.sign.timestamps import TimeStamper

from shared.errors import EsealError

from ...service_layer.ports import SealSignature
from ..loops import call_on

SealSign = Callable[[uuid.UUID, uuid.UUID, uuid.UUID, bytes], Coroutine[Any, Any, SealSignature]]


class SealDigestSigner:
    """pyHanko's ``DigestSigner`` port: one raw signature, made by seals on the main loop."""

    def __init__(self, sign: SealSign, loop: asyncio.AbstractEventLoop, seal_id: uuid.UUID,
                 person_id: uuid.UUID, enterprise_id: uuid.UUID) -> None:
        self._sign, self.loop = sign, loop
        self.seal_id, self.person_id, self.enterprise_id = seal_id, person_id, enterprise_id
        self.result: SealSignature | None = None
        self.error: BaseException | None = None

    async def sign_digest(self, digest: bytes, algorithm: str = "sha256") -> bytes:
        if self.result is not None:
            raise EsealError("one stamp, one seal signature", code="signing_failed")
        try:
            result = await call_on(self.loop, self._sign(
                self.seal_id, self.person_id, self.enterprise_id, digest))
        except BaseException as e:
            self.error = e
            raise
        assert result is not None
        self.result = result
        return result.signature


class RecordingTimeStamper(TimeStamper):
    """Delegates to the shared timestamper (its caches included) and keeps this stamp's token."""

    def __init__(self, shared: TimeStamper) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._shared = shared
        self.tokens: list[cms.ContentInfo] = []
        self._offered: dict[tuple[str, bytes], cms.ContentInfo] = {}

    def offer(self, token_der: bytes) -> None:
        """A token the seal signature came with (certs' TSA, over SHA-256 of the signature
        value): answered for exactly that imprint instead of a second round trip to the TSA.
        Whatever does not parse is ignored, so the TSA is asked as before."""
        if not token_der:
            return
        try:
            token = cms.ContentInfo.load(token_der)
            imprint = token["content"]["encap_content_info"]["content"].parsed["message_imprint"]
            algorithm = str(imprint["hash_algorithm"]["algorithm"].native)
            key = (algorithm, bytes(imprint["hashed_message"].native))
        except (ValueError, KeyError, TypeError, AttributeError):
            return
        self._offered[key] = token

    async def async_timestamp(self, message_digest: bytes, md_algorithm: str) -> cms.ContentInfo:
        token = self._offered.pop((md_algorithm, bytes(message_digest)), None)
        if token is None:
            token = await self._shared.async_timestamp(message_digest, md_algorithm)
        self.tokens.append(token)
        return token

    async def async_dummy_response(self, md_algorithm: str) -> cms.ContentInfo:
        return await self._shared.async_dummy_response(md_algorithm)

    async def validation_paths(self, validation_context: Any) -> Any:  # async generator
        async for path in self._shared.validation_paths(validation_context):  # type: ignore[no-untyped-call]
            yield path

    def signed_at(self) -> datetime | None:
        if not self.tokens:
            return None
        tst_info = self.tokens[-1]["content"]["encap_content_info"]["content"].parsed
        moment: datetime = tst_info["gen_time"].native
        return moment


class PersonDigestSigner:
    """pyHanko's ``DigestSigner`` port for the person's own signature (a ``signature``
    placement, issue 15): the revision's digest goes to ``sign`` on the main loop, which signs
    it with the request's authorization in ONE certs call (one password check, one KDF)."""

    def __init__(self, sign: Callable[[bytes], Coroutine[Any, Any, bytes]],
                 loop: asyncio.AbstractEventLoop) -> None:
        self._sign, self.loop = sign, loop
        self.used = False
        self.error: BaseException | None = None

    async def sign_digest(self, digest: bytes, algorithm: str = "sha256") -> bytes:
        if self.used:
            raise EsealError("one personal signature per request", code="signing_failed")
        self.used = True
        try:
            return await call_on(self.loop, self._sign(digest))
        except BaseException as e:
            self.error = e
            raise
