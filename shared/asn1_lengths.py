"""asn1crypto's test for BER's indefinite length, corrected (wbond/asn1crypto#249, open).

Before a value it read is written out again, asn1crypto looks at its header: a length given
as "indefinite" (the single length octet ``0x80``, BER only) must be re-encoded as DER. It
tests for that with ``header[-1:] == b"\\x80"``, which also matches every *definite*
long-form length whose last octet is 0x80: 128, 384, 640, … bytes (``81 80``, ``82 01 80``,
``82 07 80``, …). Such a value is then re-encoded on every dump, its children parsed to do it.

In a stamp that is ruinous, not merely slow. The CMS pyHanko builds holds the timestamp
token in the signer info's unsigned attributes; with a token of 1,899 bytes (the platform's
tokens differ by a byte or two with the TSA's certificates, the serial number, the nonce and
the ECDSA signature) those attributes are 1,920 bytes, ``a1 82 07 80``. Their forced
re-encoding parses the token down to its ``ESSCertIDv2``, whose DEFAULT ``hashAlgorithm``
asn1crypto then creates as a value marked changed; from then on every enclosing value counts
as changed and is re-encoded each time its contents are read, two or three times per level
per dump: exponential in the depth. The size estimate or the signature of such a stamp took
20–65 s of CPU in the PDF worker instead of milliseconds; a batch of 20 took 17–23 s, or ran
past the gateway's 60 s (503).

``install`` runs when this module is imported, which ``stamping.adapters.pdf`` does (so in
the service, its PDF worker processes and its verification processes) and certs' TSA (its
tokens are built from certificates kept as DER, any of which may have such a length). It makes each
``dump`` that asn1crypto guards this way first drop a header whose last octet 0x80 ends a
definite length: the header is recomputed from the unchanged contents, as for any value
without one, and the bytes written are the same. A true indefinite length is left alone and
still re-encoded as DER.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from asn1crypto import core

_MARK = "_eseal_definite_lengths"


def indefinite(header: bytes) -> bool:
    """Whether the last header in ``header`` (one per explicit tag, then the value's own)
    has BER's indefinite length: a single length octet 0x80."""
    i, last = 0, False
    while i < len(header):
        if header[i] & 0x1F == 0x1F:  # high tag number: more tag octets follow
            i += 1
            while i < len(header) and header[i] & 0x80:
                i += 1
        i += 1
        if i >= len(header):
            return False
        first = header[i]
        i += 1
        last = first == 0x80
        if first > 0x80:  # long form: the low bits count the length octets that follow
            i += first & 0x7F
    return last


def _definite_first(dump: Callable[..., bytes]) -> Callable[..., bytes]:
    @functools.wraps(dump)
    def checked(self: Any, force: bool = False) -> bytes:
        header = self._header
        if header is not None and header[-1:] == b"\x80" and not indefinite(header):
            self._header = None  # recomputed from the contents: the same bytes, no re-encoding
        return dump(self, force)

    setattr(checked, _MARK, True)
    return checked


# the classes whose own ``dump`` makes the test (asn1crypto 1.5.1); subclasses inherit them
_CLASSES = (core.Asn1Value, core.Choice, core.Primitive, core.Sequence, core.SequenceOf)


def install() -> None:
    """Idempotent."""
    for cls in _CLASSES:
        dump = cls.__dict__["dump"]
        if not getattr(dump, _MARK, False):
            cls.dump = _definite_first(dump)


install()
