"""The RFC 3161 token in an ``SES_Signature`` (GB/T 38540: over the signature value).

The token is trusted only if the platform's own TSA signed it (its ECDSA certificate is
given by certs) and its imprint covers the signature value; then its time is the signing
time that revocation is judged by. Any other token is reported present but not used.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from asn1crypto import cms, tsp
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from shared.gm.ses import timestamp_covers

_HASHES = {"sha256": (hashlib.sha256, hashes.SHA256()), "sha384": (hashlib.sha384, hashes.SHA384()),
           "sha512": (hashlib.sha512, hashes.SHA512())}


def trusted_time(token: bytes, signature_value: bytes, tsa_certificate_der: bytes | None) -> datetime | None:
    """The token's time if the platform TSA signed it over ``signature_value``; else None."""
    if tsa_certificate_der is None or not timestamp_covers(token, signature_value):
        return None
    try:
        signed = cms.ContentInfo.load(token)["content"]
        econtent = bytes(signed["encap_content_info"]["content"].contents)
        (signer,) = list(signed["signer_infos"])
        tsa = x509.load_der_x509_certificate(tsa_certificate_der)
        sid = signer["sid"]
        if sid.name != "issuer_and_serial_number" or sid.chosen["serial_number"].native != tsa.serial_number:
            return None
        digest_name = signer["digest_algorithm"]["algorithm"].native
        local, algorithm = _HASHES[digest_name]
        attrs = signer["signed_attrs"]
        digests = [a["values"][0].native for a in attrs if a["type"].native == "message_digest"]
        if digests != [local(econtent).digest()]:
            return None
        key = tsa.public_key()
        signature, signed = bytes(signer["signature"].native), b"\x31" + attrs.dump()[1:]
        if isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, signed, ec.ECDSA(algorithm))
        elif isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, signed, padding.PKCS1v15(), algorithm)
        else:
            return None
        moment: datetime = tsp.TSTInfo.load(econtent)["gen_time"].native
        return moment
    except (ValueError, TypeError, KeyError, InvalidSignature):
        return None
