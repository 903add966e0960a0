"""QR payloads: ``eseal://stamp?r=<request_id>&t=<token>``.

The token is 32 random bytes (256 bits), base64url without padding (43 characters). Only
its SHA-256 is stored: a fast hash is right for a high-entropy secret, and lookups stay
cheap. The request id travels in clear so the row is found without a token index; the
token is then compared in constant time. Knowing a request id alone is worth nothing.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from urllib.parse import parse_qs, urlencode, urlsplit

from .errors import QrUnreadable

SCHEME, HOST = "eseal", "stamp"
BATCH_HOST = "stamp-batch"  # ``eseal://stamp-batch?b=<batch_id>&t=<token>`` (issue 15)
TOKEN_BYTES = 32
_TOKEN_CHARS = 43  # base64url of 32 bytes, unpadded
_MAX_PAYLOAD = 512


@dataclass(frozen=True)
class QrPayload:
    request_id: uuid.UUID
    token: str

    def __str__(self) -> str:
        return f"{SCHEME}://{HOST}?" + urlencode({"r": str(self.request_id), "t": self.token})


def new_token() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(TOKEN_BYTES)).rstrip(b"=").decode()


def token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def token_matches(token: str, stored_hash: bytes) -> bool:
    return hmac.compare_digest(token_hash(token), bytes(stored_hash))


def parse(payload: str) -> QrPayload:
    """Parse a scanned payload; anything that is not ours is ``QrUnreadable`` (422)."""
    def bad(why: str) -> QrUnreadable:
        return QrUnreadable.field("qr_payload", why, code=QrUnreadable.code)  # type: ignore[return-value]

    if len(payload) > _MAX_PAYLOAD:
        raise bad("too long for an e-seal QR code")
    parts = urlsplit(payload.strip())
    if parts.scheme != SCHEME or parts.netloc != HOST:
        raise bad("not an e-seal stamping QR code")
    query = parse_qs(parts.query, strict_parsing=False)
    r, t = query.get("r", []), query.get("t", [])
    if len(r) != 1 or len(t) != 1:
        raise bad("the QR code lacks its request or token")
    try:
        request_id = uuid.UUID(r[0])
    except ValueError:
        raise bad("malformed request id") from None
    token = t[0]
    if len(token) != _TOKEN_CHARS or not all(c.isalnum() or c in "-_" for c in token):
        raise bad("malformed token")
    return QrPayload(request_id, token)


@dataclass(frozen=True)
class BatchQrPayload:
    """A batch's QR code: one token for all its documents (issue 15)."""

    batch_id: uuid.UUID
    token: str

    def __str__(self) -> str:
        return f"{SCHEME}://{BATCH_HOST}?" + urlencode({"b": str(self.batch_id), "t": self.token})


def is_batch(payload: str) -> bool:
    return urlsplit(payload.strip()).netloc == BATCH_HOST


def parse_batch(payload: str) -> BatchQrPayload:
    """Parse a scanned batch payload; anything else is ``QrUnreadable`` (422)."""
    def bad(why: str) -> QrUnreadable:
        return QrUnreadable.field("qr_payload", why, code=QrUnreadable.code)  # type: ignore[return-value]

    if len(payload) > _MAX_PAYLOAD:
        raise bad("too long for an e-seal QR code")
    parts = urlsplit(payload.strip())
    if parts.scheme != SCHEME or parts.netloc != BATCH_HOST:
        raise bad("not an e-seal batch QR code")
    query = parse_qs(parts.query, strict_parsing=False)
    b, t = query.get("b", []), query.get("t", [])
    if len(b) != 1 or len(t) != 1:
        raise bad("the QR code lacks its batch or token")
    try:
        batch_id = uuid.UUID(b[0])
    except ValueError:
        raise bad("malformed batch id") from None
    token = t[0]
    if len(token) != _TOKEN_CHARS or not all(c.isalnum() or c in "-_" for c in token):
        raise bad("malformed token")
    return BatchQrPayload(batch_id, token)
