"""SM3 (GB/T 32905) through `cryptography` (OpenSSL); gmalglib gives the same bytes."""

from __future__ import annotations

from cryptography.hazmat.primitives import hashes

DIGEST_SIZE = 32


def sm3(data: bytes) -> bytes:
    h = hashes.Hash(hashes.SM3())
    h.update(data)
    return h.finalize()


class Sm3:
    """Incremental SM3 for data read in chunks (large OFD parts)."""

    def __init__(self) -> None:
        self._h = hashes.Hash(hashes.SM3())

    def update(self, data: bytes) -> None:
        self._h.update(data)

    def digest(self) -> bytes:
        return self._h.copy().finalize()
