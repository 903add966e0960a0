"""tsa: certs' RFC 3161 token, built once per stamp (issue 18's CPU per stamp).

Figures, in-process, the same run:
- raw: one ECDSA P-256 signature over SHA-256 of a signed-attributes-sized message — the one
  cryptographic operation a token needs (the baseline);
- ``TimestampAuthority.stamp``: a whole token (TSTInfo, signed attributes, the signature,
  SignedData with the TSA and issuing certificates), as certs answers stamping's TSA calls;
- ``respond``: the same from a TimeStampReq DER (parse, checks, TimeStampResp DER).
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable
from datetime import UTC, datetime

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from .common import Report, median

SAMPLES = 400


def _ms(fn: Callable[[], object]) -> float:
    for _ in range(20):
        fn()
    times = []
    for _ in range(SAMPLES):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return median(times)


async def run(report: Report) -> None:
    from asn1crypto import tsp
    from certs.adapters.crypto import ca
    from certs.adapters.crypto.signing import get_algorithm
    from certs.adapters.crypto.tsa import DEFAULT_POLICY_OID, TimestampAuthority

    now = datetime.now(UTC)
    root_key, root = ca.create_root(now=now)
    issuing_key, issuing = ca.create_issuing_ca(root_key, root, now=now)
    tsa_key = get_algorithm().generate_private_key()
    tsa_cert = ca.issue_tsa_certificate(issuing_key, issuing, tsa_key.public_key(), now=now)
    authority = TimestampAuthority(tsa_key, tsa_cert, [issuing], DEFAULT_POLICY_OID,
                                   lambda: datetime.now(UTC))
    digest = hashlib.sha256(b"a seal signature value").digest()
    request = tsp.TimeStampReq({
        "version": "v1", "nonce": 20261205, "cert_req": True,
        "message_imprint": {"hash_algorithm": {"algorithm": "sha256"}, "hashed_message": digest},
    }).dump()
    attrs = os.urandom(220)  # about the size of the token's signed attributes

    raw = _ms(lambda: tsa_key.sign(attrs, ec.ECDSA(hashes.SHA256())))
    report.add("raw ECDSA P-256 signature (p50)", raw, "ms")
    report.add("TSA token, stamp() (p50)", _ms(lambda: authority.stamp(digest)), "ms",
               baseline_name="raw ECDSA", baseline_value=raw)
    report.add("TSA response, respond() (p50)", _ms(lambda: authority.respond(request)), "ms",
               baseline_name="raw ECDSA", baseline_value=raw)
