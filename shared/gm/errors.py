"""Errors of the national-cryptography library, rendered as problem+json by the app factory.

Callers usually turn a failed *verification* into a result (not an exception); these are for
inputs that cannot even be read, and for misuse (wrong key, wrong password).
"""

from __future__ import annotations

from shared.errors import EsealError


class GmError(EsealError):
    status, code, title = 422, "gm_invalid", "Invalid national-cryptography data"


class MalformedData(GmError):
    """DER/ASN.1 that does not have the structure the standard prescribes."""

    code, title = "gm_malformed", "Malformed GM/T structure"


class InvalidKey(GmError):
    code, title = "sm2_invalid_key", "Invalid SM2 key"


class UnsupportedAlgorithm(GmError):
    code, title = "gm_unsupported_algorithm", "Unsupported algorithm"


class BadPassword(GmError):
    """A PKCS#12 whose integrity MAC does not match: wrong password or tampered file."""

    status, code, title = 422, "pkcs12_bad_password", "Wrong password or damaged PKCS#12"
