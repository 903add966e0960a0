"""The stamp's timestamper: a token that came with the seal signature answers exactly the
imprint it covers; anything else goes to the TSA as before."""

from __future__ import annotations

import hashlib
from typing import Any

from stamping.adapters.pdf.remote_signing import RecordingTimeStamper

from tests.support.pdf_fixtures import build_test_pki


class CountingTsa:
    def __init__(self) -> None:
        self.inner = build_test_pki().timestamper()
        self.asked: list[bytes] = []

    async def async_timestamp(self, message_digest: bytes, md_algorithm: str) -> Any:
        self.asked.append(message_digest)
        return await self.inner.async_timestamp(message_digest, md_algorithm)


async def test_an_offered_token_answers_its_own_imprint_once_and_nothing_else() -> None:
    tsa = CountingTsa()
    signature = b"a seal signature"
    offered = (await tsa.inner.async_timestamp(hashlib.sha256(signature).digest(), "sha256")).dump()
    stamper = RecordingTimeStamper(tsa)  # type: ignore[arg-type]
    stamper.offer(offered)

    other = hashlib.sha256(b"another signature").digest()
    assert (await stamper.async_timestamp(other, "sha256")).dump() != offered
    assert tsa.asked == [other]
    token = await stamper.async_timestamp(hashlib.sha256(signature).digest(), "sha256")
    assert token.dump() == offered and tsa.asked == [other]  # no round trip for it
    assert stamper.signed_at() is not None
    # served once: the same imprint again is the TSA's
    await stamper.async_timestamp(hashlib.sha256(signature).digest(), "sha256")
    assert len(tsa.asked) == 2


async def test_an_offer_that_is_not_a_token_or_of_another_algorithm_is_ignored() -> None:
    tsa = CountingTsa()
    digest = hashlib.sha256(b"sig").digest()
    stamper = RecordingTimeStamper(tsa)  # type: ignore[arg-type]
    for junk in (b"", b"not DER", b"\x30\x03\x02\x01\x01"):
        stamper.offer(junk)
    sha512 = (await tsa.inner.async_timestamp(hashlib.sha512(b"sig").digest(), "sha512")).dump()
    stamper.offer(sha512)
    await stamper.async_timestamp(digest, "sha256")
    assert tsa.asked == [digest]
