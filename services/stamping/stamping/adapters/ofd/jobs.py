"""OFD verification in a verification worker process (picklable in, picklable out), like
``adapters/pdf/jobs.py``: the SM2 checks, the chain to the platform's SM2 root, the SM2
CRL, and the timestamp's time when the platform TSA made it."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime

from asn1crypto import crl as asn1crl

from shared.errors import EsealError
from shared.gm.x509 import load_certificate, verify_crl

from ..pdf.jobs import Refusal
from .errors import OfdError
from .package import Limits
from .timestamps import trusted_time
from .verification import OfdSignatureResult, verify_ofd

# The verify page draws the seal picture the document embeds; a bigger one is left out of
# the answer (a real seal picture is tens of KB).
MAX_PICTURE = 256 * 1024


@dataclass(frozen=True)
class OfdSignatureCheck:
    result: OfdSignatureResult
    revoked: bool  # the SM2 CRL lists the signer as revoked at (or before) the signing time
    signed_at: datetime | None
    signed_at_source: str | None  # "timestamp" (the platform TSA's) | "signer_claim"


@dataclass(frozen=True)
class OfdReport:
    document_sha256: str
    signatures: list[OfdSignatureCheck] = field(default_factory=list)


def _revocations(crl_der: bytes | None, issuing_der: bytes) -> dict[str, datetime]:
    """serial (upper hex) -> revocation time, from the SM2 CRL if the SM2 issuing CA signed it."""
    if not crl_der:
        return {}
    try:
        crl = asn1crl.CertificateList.load(crl_der)
        if not verify_crl(crl, load_certificate(issuing_der)):
            return {}
        return {format(int(e["user_certificate"].native), "X"): e["revocation_date"].native
                for e in crl["tbs_cert_list"]["revoked_certificates"]}
    except (ValueError, TypeError, KeyError, EsealError):
        return {}


def verify_ofd_document(data: bytes, sm2_roots: list[bytes], sm2_intermediates: list[bytes],
                        sm2_crl: bytes | None, tsa_certificate: bytes | None,
                        max_signatures: int) -> OfdReport | Refusal:
    try:
        roots = [load_certificate(c) for c in sm2_roots]
        intermediates = [load_certificate(c) for c in sm2_intermediates]
        verified = verify_ofd(data, trusted_roots=roots, intermediates=intermediates,
                              limits=Limits())
        if len(verified.signatures) > max_signatures:
            raise OfdError(f"more than {max_signatures} signatures", code="too_many_signatures")
    except EsealError as e:
        return Refusal(e.status, e.code, e.detail, dict(e.extra))
    revoked = _revocations(sm2_crl, sm2_intermediates[0]) if sm2_intermediates else {}
    checks = []
    for r in verified.signatures:
        at = (trusted_time(r.timestamp_token, r.signature_value, tsa_certificate)
              if r.timestamp_token else None)
        source = "timestamp" if at else ("signer_claim" if r.signed_at else None)
        signed_at = at or r.signed_at
        revoked_at = revoked.get(r.signer_serial) if r.chain_trusted else None
        # without a trusted time, a revoked signer cannot prove it signed before the revocation
        is_revoked = revoked_at is not None and (at is None or revoked_at <= at)
        if is_revoked and r.status != "failed":
            r.status = "failed"
            r.reasons.append("signer_revoked")
        r.timestamp_token = None  # not used by the caller: keep the answer small
        if r.seal_picture is not None and len(r.seal_picture) > MAX_PICTURE:
            r.seal_picture = None
        checks.append(OfdSignatureCheck(r, is_revoked, signed_at.astimezone(UTC) if signed_at else None,
                                        source))
    return OfdReport(hashlib.sha256(data).hexdigest(), checks)
