"""An RFC 3161 time-stamping authority signing with an ECDSA P-256 key.

pyHanko's ``DummyTimeStamper`` is not reused: it signs with RSA only, ignores
``certReq`` and never answers with a failure status. The token built here is what
RFC 3161 / RFC 5816 ask for: SignedData v3 over an id-ct-TSTInfo, signed attributes
contentType, messageDigest, signingTime and signingCertificateV2 (ESSCertIDv2, SHA-256),
the signer identified by issuer and serial number (pyHanko's extraction expects that).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar

from asn1crypto import cms, core, tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID

from shared import asn1_lengths  # noqa: F401 - installs asn1crypto's corrected length test

from .tsa_der import TokenTemplate

__all__ = [
    "DEFAULT_POLICY_OID",
    "SUPPORTED_HASHES",
    "TimeStampResponse",
    "TimestampAuthority",
    "TimestampRejected",
    "TokenInfo",
    "token_info",
]

# A UUID-based OID (X.667, arc 2.25) needs no registration; identifies our TSA policy.
DEFAULT_POLICY_OID = "2.25.121297663714541094153650564023963227701"

# Digest sizes of the message-imprint algorithms we accept; others get badAlg.
SUPPORTED_HASHES: dict[str, int] = {"sha256": 32, "sha384": 48, "sha512": 64}

Clock = Callable[[], datetime]


class TimestampRejected(Exception):
    """``stamp`` refused the input; ``failure`` is the PKIFailureInfo name."""

    def __init__(self, failure: str, detail: str) -> None:
        super().__init__(detail)
        self.failure = failure
        self.detail = detail


@dataclass(frozen=True)
class TokenInfo:
    """The facts of a token worth recording (e.g. in a usage record)."""

    serial_number: int
    gen_time: datetime
    hash_algorithm: str
    digest: bytes
    nonce: int | None
    policy: str


def _to_asn1(cert: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


def _check_tsa_certificate(key: ec.EllipticCurvePrivateKey, cert: x509.Certificate) -> None:
    """Fail at start-up rather than hand out tokens nobody can verify."""
    spki = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    if key.public_key().public_bytes(*spki) != cert.public_key().public_bytes(*spki):
        raise ValueError("TSA key does not match the TSA certificate")
    try:
        eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    except x509.ExtensionNotFound:
        raise ValueError("TSA certificate has no extendedKeyUsage") from None
    if not eku.critical or list(eku.value) != [ExtendedKeyUsageOID.TIME_STAMPING]:
        raise ValueError("TSA certificate needs a critical EKU of only timeStamping")


def _signing_certificate_v2(cert: asn1_x509.Certificate) -> tsp.SigningCertificateV2:
    # hashAlgorithm left out: SHA-256 is its DEFAULT, which DER must omit
    return tsp.SigningCertificateV2({
        "certs": [{
            "cert_hash": hashlib.sha256(cert.dump()).digest(),
            "issuer_serial": {
                "issuer": [asn1_x509.GeneralName({"directory_name": cert.issuer})],
                "serial_number": cert.serial_number,
            },
        }]
    })


class TimeStampResponse(core.Sequence):  # type: ignore[misc]
    """RFC 3161 TimeStampResp. asn1crypto's ``tsp.TimeStampResp`` makes the token
    mandatory (wbond/asn1crypto#286), so it cannot even parse a rejection; use this one."""

    _fields: ClassVar[list[tuple[Any, ...]]] = [
        ("status", tsp.PKIStatusInfo),
        ("time_stamp_token", cms.ContentInfo, {"optional": True}),
    ]


def _rejection(failure: str, text: str) -> bytes:
    status = tsp.PKIStatusInfo({
        "status": "rejection",
        "status_string": [text],
        "fail_info": tsp.PKIFailureInfo({failure}),
    })
    return bytes(TimeStampResponse({"status": status}).dump())


def _imprint_problem(algorithm: str, digest: bytes) -> tuple[str, str] | None:
    if algorithm not in SUPPORTED_HASHES:
        return "bad_alg", f"hash algorithm {algorithm} not accepted (sha256, sha384, sha512)"
    if len(digest) != SUPPORTED_HASHES[algorithm]:
        return "bad_data_format", f"{algorithm} digest must have {SUPPORTED_HASHES[algorithm]} bytes"
    return None


class TimestampAuthority:
    """Answers TimeStampReq DER with TimeStampResp DER (the body of an
    ``application/timestamp-query`` POST and its ``application/timestamp-reply``)."""

    def __init__(
        self,
        tsa_key: ec.EllipticCurvePrivateKey,
        tsa_cert: x509.Certificate,
        chain: Sequence[x509.Certificate],
        policy_oid: str,
        clock: Clock,
        serial_source: Callable[[], int] = x509.random_serial_number,
    ) -> None:
        _check_tsa_certificate(tsa_key, tsa_cert)
        self._key = tsa_key
        self._cert = _to_asn1(tsa_cert)
        self._chain = [_to_asn1(c) for c in chain]
        self._policy = policy_oid
        self._clock = clock
        self._serial_source = serial_source
        # The token's constant parts encoded once; each token writes only what differs
        self._template = TokenTemplate(self._cert, self._chain, policy_oid,
                                       _signing_certificate_v2(self._cert).dump())

    def respond(self, request_der: bytes) -> bytes:
        """Never raises on bad input: a malformed or unacceptable request gets a
        ``rejection`` status with the matching failInfo."""
        try:
            req = tsp.TimeStampReq.load(request_der, strict=True)
            _ = req.native  # asn1crypto parses lazily; force it to catch malformed input here
        except (ValueError, TypeError):
            return _rejection("bad_data_format", "malformed TimeStampReq")
        problem = self._request_problem(req)
        if problem is not None:
            return _rejection(*problem)
        imprint = req["message_imprint"].dump()  # as the request wrote it
        token = self._token(imprint, req["nonce"].native, bool(req["cert_req"].native))
        if token is None:
            return _rejection("time_not_available", "TSA certificate not valid now")
        status = tsp.PKIStatusInfo({"status": "granted"})
        return bytes(TimeStampResponse({"status": status,
                                        "time_stamp_token": cms.ContentInfo.load(token)}).dump())

    def stamp(
        self,
        message_imprint_digest: bytes,
        algo: str = "sha256",
        *,
        nonce: int | None = None,
        cert_req: bool = True,
    ) -> bytes:
        """A timestamp token (ContentInfo DER) for a digest computed by the caller."""
        problem = _imprint_problem(algo, message_imprint_digest)
        if problem is not None:
            raise TimestampRejected(*problem)
        imprint = tsp.MessageImprint({
            "hash_algorithm": {"algorithm": algo},
            "hashed_message": message_imprint_digest,
        }).dump()
        token = self._token(imprint, nonce, cert_req)
        if token is None:
            raise TimestampRejected("time_not_available", "TSA certificate not valid now")
        return token

    def _request_problem(self, req: tsp.TimeStampReq) -> tuple[str, str] | None:
        if req["version"].native != "v1":
            return "bad_request", "only TimeStampReq version 1"
        imprint = req["message_imprint"]
        problem = _imprint_problem(
            imprint["hash_algorithm"]["algorithm"].native, imprint["hashed_message"].native
        )
        if problem is not None:
            return problem
        policy = req["req_policy"].native
        if policy is not None and req["req_policy"].dotted != self._policy:
            return "unaccepted_policy", f"policy {req['req_policy'].dotted} not offered"
        if req["extensions"].native:
            return "unaccepted_extensions", "request extensions are not supported"
        return None

    def _token(self, imprint_der: bytes, nonce: int | None, cert_req: bool) -> bytes | None:
        """The token (ContentInfo DER); None while the TSA's certificate is not valid."""
        now = self._clock().astimezone(UTC).replace(microsecond=0)
        if not self._cert.not_valid_before <= now <= self._cert.not_valid_after:
            return None
        tst_info = self._template.tst_info(imprint_der, self._serial_source(), now, nonce)
        return self._template.token(tst_info, now, cert_req, self._sign)

    def _sign(self, signed_attributes: bytes) -> bytes:
        return self._key.sign(signed_attributes, ec.ECDSA(hashes.SHA256()))


def token_info(token_der: bytes) -> TokenInfo:
    """Read the TSTInfo out of a token (no signature check: that is the validator's job)."""
    content_info = cms.ContentInfo.load(token_der)
    tst = content_info["content"]["encap_content_info"]["content"].parsed
    imprint = tst["message_imprint"]
    return TokenInfo(
        serial_number=tst["serial_number"].native,
        gen_time=tst["gen_time"].native,
        hash_algorithm=imprint["hash_algorithm"]["algorithm"].native,
        digest=imprint["hashed_message"].native,
        nonce=tst["nonce"].native,
        policy=tst["policy"].dotted,
    )
