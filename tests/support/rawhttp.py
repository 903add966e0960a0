"""HTTP/1.1 over a raw socket: the exact bytes an attacker sends, and what came back.

Normal clients (aiohttp, requests, curl without ``--path-as-is``) normalise the request
target (``/a/../b`` → ``/b``, ``%2e`` decoded) and refuse duplicate or malformed headers, so
they cannot send the requests the attack suite is about. ``exchange`` writes ``request``
byte for byte, reads every response the server sends on that connection (a smuggled second
request shows up as a second response) and parses them leniently.

``request_bytes`` builds a request from parts without any normalisation.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

__all__ = ["RawResponse", "exchange", "get", "request_bytes"]

READ_TIMEOUT = 5.0  # seconds of silence after which the server is taken to have answered all


@dataclass
class RawResponse:
    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: bytes
    raw_head: bytes = field(repr=False, default=b"")

    def header(self, name: str) -> str | None:
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    @property
    def content_type(self) -> str:
        return (self.header("Content-Type") or "").split(";")[0].strip().lower()

    @property
    def json(self) -> Any:
        if self.content_type not in ("application/json", "application/problem+json"):
            return None
        try:
            return json.loads(self.body or b"null")
        except ValueError:
            return None

    @property
    def code(self) -> str | None:
        body = self.json
        return body.get("code") if isinstance(body, dict) else None

    def __repr__(self) -> str:  # readable assertion failures
        return f"RawResponse({self.status}, {self.body[:300]!r})"


def request_bytes(
    method: str,
    target: str,
    host: str,
    *,
    headers: list[tuple[str, str]] | None = None,
    body: bytes = b"",
    content_length: bool = True,
) -> bytes:
    """``METHOD target HTTP/1.1`` with ``Host``, the headers as given (duplicates kept, no
    casing changed) and ``Content-Length`` when there is a body (unless told not to)."""
    lines = [f"{method} {target} HTTP/1.1", f"Host: {host}"]
    lines += [f"{k}: {v}" for k, v in headers or []]
    if body and content_length:
        lines.append(f"Content-Length: {len(body)}")
    lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


async def exchange(
    host: str, port: int, request: bytes, *, quiet_after: float = READ_TIMEOUT, first_only: bool = False
) -> list[RawResponse]:
    """Send ``request`` as is; every response read until the server closes or goes quiet
    (``first_only``: until the first response is complete, e.g. to time a refusal)."""
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(request)
        await writer.drain()
        data = b""
        while True:
            try:
                chunk = await asyncio.wait_for(reader.read(65536), quiet_after)
            except TimeoutError:
                break
            if not chunk:
                break
            data += chunk
            if first_only and _first_complete(data):
                break
    finally:
        writer.close()
        try:
            await writer.wait_closed()
        except (ConnectionError, OSError):
            pass  # the server may already have reset it: what it answered is in ``data``
    return parse_responses(data)


async def get(
    host: str,
    port: int,
    target: str,
    *,
    headers: list[tuple[str, str]] | None = None,
    method: str = "GET",
    body: bytes = b"",
) -> RawResponse:
    """One request with the target exactly as given; the first response (a closed
    connection without an answer is reported as status 0)."""
    replies = await exchange(
        host, port, request_bytes(method, target, f"{host}:{port}", headers=headers, body=body)
    )
    return replies[0] if replies else RawResponse(0, "no response", [], b"")


def parse_responses(data: bytes) -> list[RawResponse]:
    """All HTTP/1.x responses in ``data`` (Content-Length or chunked bodies; otherwise the
    rest of the stream)."""
    out: list[RawResponse] = []
    while data.startswith(b"HTTP/"):
        head, sep, rest = data.partition(b"\r\n\r\n")
        if not sep:
            break
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ", 2)
        status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
        reason = parts[2] if len(parts) > 2 else ""
        headers = [(k.strip(), v.strip()) for k, _, v in (line.partition(":") for line in lines[1:])]
        names = {k.lower(): v for k, v in headers}
        if "chunked" in names.get("transfer-encoding", "").lower():
            body, data = _dechunk(rest)
        elif "content-length" in names and names["content-length"].isdigit():
            n = int(names["content-length"])
            body, data = rest[:n], rest[n:]
        elif status in (204, 304) or 100 <= status < 200:
            body, data = b"", rest
        else:
            body, data = rest, b""
        out.append(RawResponse(status, reason, headers, body, head))
    return out


def _first_complete(data: bytes) -> bool:
    head, sep, rest = data.partition(b"\r\n\r\n")
    if not sep:
        return False
    for line in head.decode("latin-1").split("\r\n")[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length" and value.strip().isdigit():
            return len(rest) >= int(value.strip())
        if name.strip().lower() == "transfer-encoding" and "chunked" in value.lower():
            return b"\r\n0\r\n" in b"\r\n" + rest
    return False


def _dechunk(data: bytes) -> tuple[bytes, bytes]:
    body = b""
    while True:
        size_line, sep, rest = data.partition(b"\r\n")
        if not sep:
            return body, b""
        try:
            size = int(size_line.split(b";")[0].strip() or b"0", 16)
        except ValueError:
            return body, b""
        if size == 0:
            _, _, after = rest.partition(b"\r\n")  # trailers are not expected
            return body, after
        body += rest[:size]
        data = rest[size + 2 :]
