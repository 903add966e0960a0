"""Shapes of the certificate API's answers, for the OpenAPI document that the gateway
generates. Documentation only: the handlers build the bodies (``service_layer.views``)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field


class AgreementView(BaseModel):
    code: str
    version: str
    title: str
    text: str
    required: bool


class AgreementList(BaseModel):
    items: list[AgreementView]
    next_cursor: None = None


class ActivationCodeSent(BaseModel):
    phone_masked: str = Field(description="the bound phone the code went to, last 4 digits visible")
    expires_at: datetime = Field(description="the code is valid 5 minutes")
    resend_after_seconds: int = Field(description="a new code is refused (429) before this")


class LatestCode(BaseModel):
    sent_at: datetime
    expires_at: datetime
    used: bool = Field(description="the code was used up")
    delivery: Literal["sent", "delivered", "failed", "unknown"] = Field(
        description="the SMS provider's delivery report (回执): `sent` (no report yet), `delivered`, "
                    "`failed` (the message did not reach the phone), `unknown` (the provider "
                    "gives no reports)")
    resend_suggested: bool = Field(description="failed and not used: the H5 suggests sending a new code")


class Sm2CertificateView(BaseModel):
    serial_number: str
    subject: str
    issuer: str
    not_before: datetime
    not_after: datetime
    algorithm: Literal["sm2-sm3"]
    fingerprint_sha256: str
    pem: str


class CertificateView(BaseModel):
    certificate_id: uuid.UUID
    serial_number: str
    subject: str
    issuer: str
    not_before: datetime
    not_after: datetime
    algorithm: str
    fingerprint_sha256: str
    status: Literal["active", "locked", "revoked"]
    pem: str
    locked_until: datetime | None = Field(default=None, description="when locked (wrong passwords)")
    revoked_at: datetime | None = Field(default=None, description="when revoked")
    sm2: Sm2CertificateView | None = Field(
        default=None, description="the SM2 twin (GB/T 38540 seals and OFD signatures): same "
                                  "password, lockout and revocation; null for a certificate older "
                                  "than the SM2 hierarchy until the password is next used")


class SandboxSms(BaseModel):
    phone: str
    text: str
    sent_at: datetime


class SandboxSmsList(BaseModel):
    items: list[SandboxSms] = Field(description="newest first")
    next_cursor: None = None
