"""The TSA token written as DER from a template: only what differs per token is encoded.

asn1crypto builds the same structure field by field in Python and spent ~1 ms of CPU per
token on it (a signature costs 0.05 ms). Here the constant parts (policy, accuracy, TSA name,
algorithms, signer identifier, ESS signing certificate, certificates) are encoded once, by
asn1crypto, when the TSA starts; a token writes the serial number, genTime, message imprint,
nonce, signingTime and messageDigest around them and signs the attributes. The output is
byte for byte what asn1crypto writes (``services/certs/tests/unit/test_tsa_der.py``
compares them).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from datetime import datetime

from asn1crypto import algos, cms, core, tsp
from asn1crypto import x509 as asn1_x509

_SEQUENCE, _SET, _INTEGER, _OCTET_STRING = 0x30, 0x31, 0x02, 0x04
_UTC_TIME, _GENERALIZED_TIME = 0x17, 0x18
_CONTEXT_0 = 0xA0  # [0], constructed


def _length(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def tlv(tag: int, content: bytes) -> bytes:
    return bytes([tag]) + _length(len(content)) + content


def integer(value: int) -> bytes:
    """A non-negative INTEGER, in the fewest octets with a clear sign bit."""
    return tlv(_INTEGER, value.to_bytes(value.bit_length() // 8 + 1, "big"))


def _retag(der: bytes, tag: int) -> bytes:
    """An IMPLICIT tag: the same length and contents under another tag (one-octet tags)."""
    return bytes([tag]) + der[1:]


def _attribute(oid: str, value_der: bytes) -> bytes:
    return tlv(_SEQUENCE, core.ObjectIdentifier(oid).dump() + tlv(_SET, value_der))


class TokenTemplate:
    """The token (ContentInfo DER) of one TSA: certificate, chain, policy, ESS reference."""

    def __init__(self, cert: asn1_x509.Certificate, chain: Sequence[asn1_x509.Certificate],
                 policy_oid: str, ess_der: bytes) -> None:
        tsa_name = asn1_x509.GeneralName({"directory_name": cert.subject}).dump()
        self._policy = core.ObjectIdentifier(policy_oid).dump()
        self._accuracy = tsp.Accuracy({"seconds": 1}).dump()  # genTime is whole seconds
        self._tsa = tlv(_CONTEXT_0, tsa_name)  # [0] EXPLICIT GeneralName
        self._tst_info_type = cms.ContentType("tst_info").dump()
        self._signed_data_type = cms.ContentType("signed_data").dump()
        self._digest_algorithms = cms.DigestAlgorithms([{"algorithm": "sha256"}]).dump()
        certificates = cms.CertificateSet([cms.CertificateChoices({"certificate": c})
                                           for c in (cert, *chain)]).dump()
        self._certificates = _retag(certificates, _CONTEXT_0)  # [0] IMPLICIT CertificateSet
        self._sid = cms.SignerIdentifier({"issuer_and_serial_number": {
            "issuer": cert.issuer, "serial_number": cert.serial_number}}).dump()
        self._digest_algorithm = algos.DigestAlgorithm({"algorithm": "sha256"}).dump()
        self._signature_algorithm = algos.SignedDigestAlgorithm({"algorithm": "sha256_ecdsa"}).dump()
        self._content_type_attr = _attribute("1.2.840.113549.1.9.3", self._tst_info_type)
        self._ess_attr = _attribute("1.2.840.113549.1.9.16.2.47", ess_der)
        self._signing_time_oid = "1.2.840.113549.1.9.5"
        self._message_digest_oid = "1.2.840.113549.1.9.4"

    def tst_info(self, imprint_der: bytes, serial: int, gen_time: datetime, nonce: int | None) -> bytes:
        """RFC 3161 TSTInfo: version 1, policy, messageImprint, serialNumber, genTime,
        accuracy, nonce, tsa (``gen_time`` in UTC, whole seconds)."""
        return tlv(_SEQUENCE, b"".join((
            integer(1), self._policy, imprint_der, integer(serial),
            tlv(_GENERALIZED_TIME, gen_time.strftime("%Y%m%d%H%M%SZ").encode()),
            self._accuracy, integer(nonce) if nonce is not None else b"", self._tsa)))

    def token(self, tst_info: bytes, now: datetime, cert_req: bool,
              sign: Callable[[bytes], bytes]) -> bytes:
        """SignedData v3 over ``tst_info`` in a ContentInfo; ``sign`` signs the DER SET OF
        the signed attributes (ECDSA with SHA-256)."""
        attributes = sorted((  # DER: a SET OF in the order of its members' encodings
            self._content_type_attr,
            _attribute(self._signing_time_oid, tlv(_UTC_TIME, now.strftime("%y%m%d%H%M%SZ").encode())),
            _attribute(self._message_digest_oid, tlv(_OCTET_STRING, hashlib.sha256(tst_info).digest())),
            self._ess_attr,
        ))
        signed_attrs = b"".join(attributes)
        signature = sign(tlv(_SET, signed_attrs))
        signer_info = tlv(_SEQUENCE, b"".join((
            integer(1), self._sid, self._digest_algorithm, tlv(_CONTEXT_0, signed_attrs),
            self._signature_algorithm, tlv(_OCTET_STRING, signature))))
        encap = tlv(_SEQUENCE, self._tst_info_type + tlv(_CONTEXT_0, tlv(_OCTET_STRING, tst_info)))
        signed_data = tlv(_SEQUENCE, b"".join((
            integer(3), self._digest_algorithms, encap,
            self._certificates if cert_req else b"", tlv(_SET, signer_info))))
        return tlv(_SEQUENCE, self._signed_data_type + tlv(_CONTEXT_0, signed_data))
