"""An OFD stamp signed outside this process: the seal's SM2 key stays in certs.

The platform's ``SES_Seal`` (from seals, made by certs) lists the seal's own SM2 certificate
first: that certificate signs. The seal is drawn at its real size (the picture's width and
height in millimetres) centred on the requested point. certs signs ``e = SM3(Z‖TBS_Sign)``
(GB/T 32918: Z from the signer's public key and the default user ID), so only 32 bytes travel.
"""

from __future__ import annotations

from dataclasses import dataclass

from shared.gm.errors import GmError
from shared.gm.ses import parse_seal
from shared.gm.sm2 import signing_digest
from shared.gm.x509 import load_certificate, public_key_of

from .errors import OfdError
from .stamping import OfdSigningFailed, PreparedOfdStamp


@dataclass(frozen=True)
class SealPlacement:
    signer_certificate: bytes  # DER: the seal's SM2 certificate
    box: tuple[float, float, float, float]  # x, y, width, height in mm (top-left origin)


@dataclass(frozen=True)
class SealFacts:
    signer_certificate: bytes  # DER: the seal's SM2 certificate, the one that signs
    width_mm: float  # the seal picture's size as the SES_Seal states it
    height_mm: float


def seal_facts(seal_esl: bytes) -> SealFacts:
    """Who signs with the platform's ``SES_Seal`` and the size its picture states (for
    :func:`~.stamping.prepare_ofd_placement` when no other size is known)."""
    try:
        seal = parse_seal(seal_esl)
    except GmError as e:
        raise OfdError(f"the platform's seal is unusable: {e.detail}", code="seal_invalid") from None
    if not seal.signer_certificates:
        raise OfdError("the platform's seal lists no certificate", code="seal_invalid")
    return SealFacts(seal.signer_certificates[0], float(seal.picture.width_mm),
                     float(seal.picture.height_mm))


def placement(seal_esl: bytes, centre_x_mm: float, centre_y_mm: float) -> SealPlacement:
    facts = seal_facts(seal_esl)
    w, h = facts.width_mm, facts.height_mm
    return SealPlacement(facts.signer_certificate, (centre_x_mm - w / 2, centre_y_mm - h / 2, w, h))


def digest_to_sign(prepared: PreparedOfdStamp) -> bytes:
    """e = SM3(Z‖TBS_Sign) for the signer certificate's key."""
    key = public_key_of(load_certificate(prepared.signer_certificate))
    return signing_digest(key, prepared.tbs)


def check_signature(prepared: PreparedOfdStamp, certificate_der: bytes, signature: bytes) -> None:
    """Defensive: the signature certs made must be by the certificate the seal lists. That
    it verifies over TBS_Sign under that certificate is checked once, where the
    SES_Signature is assembled (``finish_ofd_stamp``: 502 ``signing_failed``), so a
    signature that does not is never written."""
    if certificate_der != prepared.signer_certificate:
        raise OfdSigningFailed("certs signed with another certificate than the seal lists")
    if not signature:
        raise OfdSigningFailed("certs answered no signature")
