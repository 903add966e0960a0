"""Request bodies (pydantic): unknown fields refused, lengths bounded.

Passwords are taken exactly as typed (no whitespace stripping): the password rule refuses
spaces in a new password, and an existing one must match character for character.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from datetime import datetime
from typing import Annotated

from pydantic import ConfigDict, Field, field_validator

from shared.http import ApiModel

Secret = Annotated[str, Field(min_length=1, max_length=128)]
Name = Annotated[str, Field(min_length=1, max_length=64)]
DIGEST_SIZE = 32  # SHA-256


class AgreementRef(ApiModel):
    code: Annotated[str, Field(min_length=1, max_length=64)]
    version: Annotated[str, Field(min_length=1, max_length=32)]


class ActivateBody(ApiModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)

    sms_code: Annotated[str, Field(min_length=1, max_length=12)]
    password: Secret
    password_confirm: Secret
    accepted_agreements: Annotated[list[AgreementRef], Field(max_length=20)]


class ChangePasswordBody(ApiModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)

    old_password: Secret
    new_password: Secret
    new_password_confirm: Secret


class ResetBody(ApiModel):
    """忘记证书密码: the SMS code, a passed face check's token, the new password twice."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)

    sms_code: Annotated[str, Field(min_length=1, max_length=12)]
    face_token: Annotated[str, Field(min_length=1, max_length=128,
                                     description="purpose `reset_certificate`, single use")]
    new_password: Secret
    new_password_confirm: Secret
    key_compromised: bool = Field(
        default=False, description="the old key may be compromised: CRL reason keyCompromise "
                                   "instead of superseded")


class RenewalBody(ApiModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)

    sms_code: Annotated[str, Field(min_length=1, max_length=12)]
    password: Secret
    serial_number: Annotated[str | None, Field(
        default=None, min_length=1, max_length=64,
        description="the certificate to renew (optional; a revoked one answers 409)")]


def _digest(value: str) -> bytes:
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("not valid base64") from None
    if len(raw) != DIGEST_SIZE:
        raise ValueError(f"a SHA-256 digest has {DIGEST_SIZE} bytes, got {len(raw)}")
    return raw


class DigestBody(ApiModel):
    digest_b64: Annotated[str, Field(min_length=1, max_length=256)]

    @field_validator("digest_b64")
    @classmethod
    def _is_digest(cls, value: str) -> str:
        _digest(value)
        return value

    @property
    def digest(self) -> bytes:
        return _digest(self.digest_b64)


class SealDigestBody(DigestBody):
    """A seal signature; ``timestamp``: also the platform TSA's RFC 3161 token over
    SHA-256(signature value), the token a signature timestamp needs (one call, not two)."""

    timestamp: bool = False


MAX_MORE_DIGESTS = 49  # a stamp batch of 50 documents signs its 50 authorizations in one call


class PrincipalSignBody(DigestBody):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)

    certificate_password: Secret
    # issue 15: a stamp's other digests (its personal signature placements' revisions, a
    # batch's other documents' authorizations: up to 50 documents), signed under the same
    # password check: one KDF, one lockout count (signatures only)
    more_digests_b64: Annotated[list[Annotated[str, Field(min_length=1, max_length=256)]],
                                Field(max_length=MAX_MORE_DIGESTS)] = []

    # an OFD's personal signature (GB/T 38540): e = SM3(Z‖TBS_Sign) for the SM2 twin, signed
    # in the same password check as the ECDSA digests
    sm2_digests_b64: Annotated[list[Annotated[str, Field(min_length=1, max_length=256)]],
                               Field(max_length=1)] = []

    @field_validator("more_digests_b64", "sm2_digests_b64")
    @classmethod
    def _are_digests(cls, value: list[str]) -> list[str]:
        for item in value:
            _digest(item)
        return value

    @property
    def digests(self) -> list[bytes]:
        """``digest_b64`` then ``more_digests_b64``, in order."""
        return [self.digest, *(_digest(d) for d in self.more_digests_b64)]

    @property
    def sm2_digests(self) -> list[bytes]:
        return [_digest(d) for d in self.sm2_digests_b64]


class SealCertificateBody(ApiModel):
    seal_id: uuid.UUID
    enterprise_id: uuid.UUID
    enterprise_name: Name
    enterprise_uscc: Name
    seal_name: Name
    seal_type: Name
    seal_type_label: Name


def _png(value: str) -> str:
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("not valid base64") from None
    if not raw.startswith(b"\x89PNG\r\n\x1a\n"):
        raise ValueError("not a PNG")
    return value


class PersonalSealBody(ApiModel):
    """A seal's picture (PNG) and its size on the page, in millimetres: stamping's picture of
    a person's 个人签名 for the person's own ``SES_Seal``; the picture part of ``Sm2SealBody``."""

    picture_png_b64: Annotated[str, Field(min_length=1, max_length=4 * 1024 * 1024)]
    width_mm: Annotated[int, Field(ge=1, le=200)]
    height_mm: Annotated[int, Field(ge=1, le=200)]

    @field_validator("picture_png_b64")
    @classmethod
    def _is_png(cls, value: str) -> str:
        return _png(value)

    @property
    def picture_png(self) -> bytes:
        return base64.b64decode(self.picture_png_b64)


class Sm2SealBody(PersonalSealBody):
    """seals' description of a seal for its GB/T 38540 ``SES_Seal`` (certs adds the rest)."""

    name: Name
    seal_type: Annotated[int, Field(ge=1, le=2)]  # 1 organisation seal, 2 personal seal
    created_at: datetime
    signer_principal_ids: Annotated[list[uuid.UUID], Field(max_length=1000)]


class RevocationBody(ApiModel):
    reason: Annotated[str, Field(min_length=1, max_length=200)]


class ClockBody(ApiModel):
    offset_seconds: Annotated[float, Field(ge=-86_400, le=366 * 86_400)]


class SmsQuery(ApiModel):
    phone: Annotated[str, Field(min_length=1, max_length=32)]
