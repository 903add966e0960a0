"""Verified tokens kept until they expire: an access token verified once per process, an
internal token minted once per half minute and verified once; nothing past its ``exp``."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import jwt
import pytest
from aiohttp import ClientSession

from shared.auth import TokenVerifier
from shared.errors import NotAuthenticated
from shared.internal import ServiceClient, internal_token, verify_internal
from tests.support.tokens import TestSigner

SECRET = "an-internal-secret-of-32-bytes-or-more"


def _counting_decode(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []
    decode = jwt.decode

    def counted(token: str, *args: Any, **kw: Any) -> Any:
        calls.append(token)
        return decode(token, *args, **kw)

    monkeypatch.setattr(jwt, "decode", counted)
    return calls


async def test_an_access_token_is_verified_once_until_it_expires(monkeypatch: pytest.MonkeyPatch) -> None:
    signer = TestSigner()
    verifier = TokenVerifier("http://127.0.0.1:9/none")
    for jwk in signer.jwks()["keys"]:
        verifier.add_jwk(jwk)
    calls = _counting_decode(monkeypatch)
    p, token = signer.person()
    assert (await verifier.verify(token)).id == p.id
    assert (await verifier.verify(token)).id == p.id
    assert len(calls) == 1
    other_p, other = signer.person()
    assert (await verifier.verify(other)).id == other_p.id and len(calls) == 2  # its own entry

    short = signer.token(p, lifetime=1)
    await verifier.verify(short)
    await asyncio.sleep(2.1)  # past its exp
    with pytest.raises(NotAuthenticated) as err:
        await verifier.verify(short)
    assert err.value.code == "token_expired"
    # a token that does not verify is never kept
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    for _ in range(2):
        with pytest.raises(NotAuthenticated):
            await verifier.verify(forged)


async def test_an_internal_token_is_verified_once_and_only_for_its_audience_and_secret(
        monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _counting_decode(monkeypatch)
    header = "Internal " + internal_token(SECRET, "stamping", "seals")
    assert verify_internal(SECRET, "seals", header) == "stamping"
    assert verify_internal(SECRET, "seals", header) == "stamping"
    assert len(calls) == 1
    with pytest.raises(NotAuthenticated):  # another audience: verified (and refused) anew
        verify_internal(SECRET, "certs", header)
    with pytest.raises(NotAuthenticated):  # another secret
        verify_internal(SECRET + "-other", "seals", header)
    expired = "Internal " + internal_token(SECRET, "stamping", "seals", ttl=1)
    verify_internal(SECRET, "seals", expired)
    await asyncio.sleep(2.1)
    with pytest.raises(NotAuthenticated):
        verify_internal(SECRET, "seals", expired)


async def test_a_client_reuses_its_internal_token_for_half_its_life(monkeypatch: pytest.MonkeyPatch) -> None:
    async with ClientSession() as session:
        client = ServiceClient(session, "http://127.0.0.1:9", source="stamping", target="seals",
                               secret=SECRET)
        first = client.headers()["Authorization"]
        assert client.headers()["Authorization"] == first
        now = time.time()
        monkeypatch.setattr(time, "time", lambda: now + 31)
        renewed = client.headers()["Authorization"]
        assert renewed != first
        assert client.headers()["Authorization"] == renewed
