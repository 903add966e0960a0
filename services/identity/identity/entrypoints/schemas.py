"""Shapes of identity's public answers (and the login body's two forms), for the OpenAPI
document that the gateway generates. Documentation only: the handlers build the bodies."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, RootModel

from ..domain.commands import FaceLogin, PasswordLogin
from ..domain.face import Purpose


class Login(RootModel[Annotated[PasswordLogin | FaceLogin, Field(discriminator="method")]]):
    """``method: "password"`` with the password, or ``method: "face"`` with a face token."""


class OidcStatus(BaseModel):
    enabled: bool = Field(description="whether the login screen offers 统一身份认证 login")
    display_name: str | None = Field(default=None, description="the button's text, when enabled")


class OidcStarted(BaseModel):
    authorization_url: str = Field(description="the provider's login page (state, nonce, PKCE S256)")


Verification = Literal["verified", "pending_verification"]


class PersonRegistered(BaseModel):
    person_id: uuid.UUID
    verification: Verification = Field(description="`verified` by the three-element check; "
                                       "`pending_verification` when the provider could not answer "
                                       "(log in later: each login retries the check)")


class EnterpriseRegistered(BaseModel):
    enterprise_id: uuid.UUID
    verification: Verification = Field(description="always `pending_verification`: the legal "
                                       "representative's face check (`POST /api/v1/enterprises/current"
                                       "/verification`) comes before the certificate")


class EnterpriseVerificationDone(BaseModel):
    enterprise_id: uuid.UUID
    verification: Literal["verified"]


class PrincipalView(BaseModel):
    id: uuid.UUID
    role: Literal["person", "enterprise", "agent"]
    name: str
    enterprise_id: uuid.UUID | None = Field(default=None, description="enterprise account and agents")
    enterprise_name: str | None = Field(default=None, description="enterprise account and agents")
    can_manage: bool | None = Field(default=None, description="agents: the management permission")


class SessionTokens(BaseModel):
    access_token: str
    refresh_token: str
    token_type: Literal["Bearer"]
    expires_in: int = Field(description="seconds the access token is valid")
    principal: PrincipalView


class Me(PrincipalView):
    phone_masked: str = Field(description="only the last 4 digits visible")
    certificate_status: Literal["none", "active"]
    verification: Verification = Field(description="person: `verified` (a pending person cannot "
                                       "log in); enterprise: `pending_verification` until its legal "
                                       "representative's face check")
    enterprise_uscc: str | None = Field(default=None, description="enterprise account and agents")
    valid_from: str | None = Field(default=None, description="agents: YYYY-MM-DD")
    valid_to: str | None = Field(default=None, description="agents: YYYY-MM-DD")


class FaceCheckStarted(BaseModel):
    face_check_id: uuid.UUID
    expires_at: datetime
    purpose: Purpose
    provider: str = Field(description="the face provider that runs the check (`sandbox` outside production)")
    url: str | None = Field(default=None, description="the provider's page to send the person to "
                            "(tencent); it sends them back to the configured return URL")


class FaceCheckVerdict(BaseModel):
    face_check_id: uuid.UUID
    status: Literal["passed", "failed"]
    face_token: str | None = Field(default=None, description="when passed: single use, 5 minutes")


class FaceCheckResult(BaseModel):
    face_check_id: uuid.UUID
    status: Literal["passed", "failed", "pending"]
    face_token: str | None = Field(default=None, description="when it passed just now: single use, 5 minutes")


class Jwks(BaseModel):
    keys: list[dict[str, Any]] = Field(description="the public keys (JWK, ES256) that sign access tokens")
