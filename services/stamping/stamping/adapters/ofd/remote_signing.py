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


def placement(seal_esl: bytes, centre_x_mm: float, centre_y_mm: float) -> SealPlacement:
    try:
        seal = parse_seal(seal_esl)
    except GmError as e:
        raise OfdError(f"the platform's seal is unusable: {e.detail}", code="seal_invalid") from None
    if not seal.signer_certificates:
        raise OfdError("the platform's seal lists no certificate", code="seal_invalid")
    w, h = float(seal.picture.width_mm), float(seal.picture.height_mm)
    return SealPlacement(seal.signer_certificates[0],
                         (centre_x_mm - w / 2, centre_y_mm - h / 2, w, h))


def digest_to_sign(prepared: PreparedOfdStamp) -> bytes:
    """e = SM3(Z‖TBS_Sign) for the signer certificate's key."""
    key = public_key_of(load_certificate(prepared.signer_certificate))
    return signing_digest(key, prepared.tbs)


def check_signature(prepared: PreparedOfdStamp, certificate_der: bytes, signature: bytes) -> None:
    """Defensive: the signature certs made must be by the certificate the seal lists and
    verify over TBS_Sign; never write a signature that does not."""
    if certificate_der != prepared.signer_certificate:
        raise OfdSigningFailed("certs signed with another certificate than the seal lists")
    key = public_key_of(load_certificate(prepared.signer_certificate))
    if not key.verify(prepared.tbs, signature):
        raise OfdSigningFailed("the seal's SM2 signature does not verify")
