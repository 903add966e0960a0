"""A tiny HTTP/1.x client over a raw socket: sends exactly the bytes a test writes.

Real clients normalise what an attacker would not (dot segments, percent-escapes, duplicate
or folded headers), so the gateway's refusals are tried with hand-written requests.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


@dataclass
class RawResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)

    @property
    def content_type(self) -> str:
        return (self.header("Content-Type") or "").split(";")[0].strip()

    def json(self) -> Any:
        return json.loads(self.body)


def build(method: str, target: str, headers: Sequence[tuple[str, str]] = (), body: bytes = b"", *,
          version: str = "HTTP/1.1") -> bytes:
    """A request with ``Host`` and ``Connection: close`` added; nothing else is changed."""
    lines = [f"{method} {target} {version}", "Host: gateway.test", *(f"{k}: {v}" for k, v in headers),
             "Connection: close"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


TIMEOUT = 10.0  # seconds for the whole answer: a hung connection fails the test, not the run


async def send(port: int, raw: bytes, *, host: str = "127.0.0.1") -> RawResponse:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(raw)
        await writer.drain()
        async with asyncio.timeout(TIMEOUT):
            data = await reader.read()
    finally:
        writer.close()
    return parse(data)


def parse(data: bytes) -> RawResponse:
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = [(k.strip(), v.strip()) for k, _, v in (line.partition(":") for line in lines[1:])]
    response = RawResponse(status, headers, body)
    if (response.header("Transfer-Encoding") or "").lower() == "chunked":
        response.body = _dechunk(body)
    return response


def _dechunk(body: bytes) -> bytes:
    out = b""
    while body:
        size_line, _, body = body.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            break
        out, body = out + body[:size], body[size + 2:]
    return out
