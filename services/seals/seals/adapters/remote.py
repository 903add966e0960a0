"""HTTP adapters of the ports: identity and certs through their ``/internal`` API."""

from __future__ import annotations

import base64
import uuid
from datetime import date
from typing import Any, cast

from shared.errors import ServiceUnavailable
from shared.internal import RemoteError, ServiceClient
from shared.logging import get_logger

from ..domain.access import AgentRecord
from ..service_layer.ports import (
    CertificateStatus,
    EnterpriseInfo,
    EslRequest,
    FacePurpose,
    MatchedPerson,
    SealCertificate,
    SealCertificateRequest,
    SealSignature,
)

log = get_logger(__name__)

# RFC 5280 reason for a seal that is withdrawn (作废) or never came to be.
CERT_REVOCATION_REASON = "cessationOfOperation"


def _upstream(err: RemoteError) -> RemoteError | ServiceUnavailable:
    """A remote 401 means *our* internal credentials failed: never tell the user that."""
    if err.status in (401, 403) and err.code == "internal_auth_required":
        return ServiceUnavailable("a platform service refused this service's credentials")
    return err


class IdentityClient:
    """FaceTokens and PersonRegistry, answered by identity."""

    def __init__(self, client: ServiceClient) -> None:
        self.client = client

    async def consume(self, face_token: str, subject_id: uuid.UUID, purpose: FacePurpose) -> None:
        try:
            await self.client.post("/internal/face-tokens/consume", {
                "face_token": face_token, "subject_id": str(subject_id), "purpose": purpose})
        except RemoteError as err:
            raise _upstream(err) from None

    async def match(self, name: str, id_type: str, id_number: str) -> MatchedPerson:
        try:
            body = await self.client.post("/internal/persons/match", {
                "name": name, "id_type": id_type, "id_number": id_number})
        except RemoteError as err:
            raise _upstream(err) from None
        return MatchedPerson(uuid.UUID(body["person_id"]), str(body.get("name") or name))

    async def _principal(self, principal_id: uuid.UUID) -> dict[str, Any] | None:
        try:
            return cast(dict[str, Any], await self.client.get(f"/internal/principals/{principal_id}"))
        except RemoteError as err:
            if err.status == 404:
                return None
            raise _upstream(err) from None

    async def person_name(self, person_id: uuid.UUID) -> str | None:
        body = await self._principal(person_id)
        if body is None or body.get("role") != "person":
            return None
        return str(body["name"])

    async def enterprise(self, enterprise_id: uuid.UUID) -> EnterpriseInfo | None:
        body = await self._principal(enterprise_id)
        if body is None or body.get("role") != "enterprise":
            return None
        legal = body.get("legal_representative_name")
        if not legal and isinstance(body.get("legal_representative"), dict):
            legal = body["legal_representative"].get("name")
        return EnterpriseInfo(enterprise_id, str(body.get("enterprise_name") or body["name"]),
                              str(body.get("enterprise_uscc") or ""), str(legal or ""))


    async def agent(self, agent_id: uuid.UUID) -> AgentRecord | None:
        body = await self._principal(agent_id)
        if body is None or body.get("role") != "agent" or not body.get("enterprise_id"):
            return None
        return AgentRecord(agent_id=agent_id, enterprise_id=uuid.UUID(str(body["enterprise_id"])),
                           valid_from=_date(body.get("valid_from")), valid_to=_date(body.get("valid_to")),
                           can_manage=bool(body.get("can_manage")), removed=bool(body.get("removed")))


def _date(value: Any) -> date | None:
    try:
        return date.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


class CertsClient:
    """CertificateAuthority, answered by certs (the platform's HSM port)."""

    def __init__(self, client: ServiceClient) -> None:
        self.client = client

    async def certificate_status(self, principal_id: uuid.UUID) -> CertificateStatus:
        try:
            body = await self.client.get(f"/internal/principals/{principal_id}/certificate")
        except RemoteError as err:
            if err.status == 404:
                return "none"
            raise _upstream(err) from None
        status = body.get("status", "none")
        return cast(CertificateStatus, status if status in ("active", "locked") else "none")

    async def issue_seal_certificate(self, request: SealCertificateRequest) -> SealCertificate:
        try:
            body = await self.client.post("/internal/seal-certificates", {
                "seal_id": str(request.seal_id), "enterprise_id": str(request.enterprise_id),
                "enterprise_name": request.enterprise_name,
                "enterprise_uscc": request.enterprise_uscc, "seal_name": request.seal_name,
                "seal_type": request.seal_type, "seal_type_label": request.seal_type_label})
        except RemoteError as err:
            raise _upstream(err) from None
        return SealCertificate(str(body.get("certificate_id", "")), str(body["serial_number"]),
                               str(body["certificate_pem"]), list(body.get("chain_pem") or []))

    async def sign(self, seal_id: uuid.UUID, digest: bytes, *, timestamp: bool = False) -> SealSignature:
        body = await self._sign(f"/internal/seal-certificates/{seal_id}/signatures", digest, timestamp)
        return SealSignature(str(body["signature_b64"]), str(body.get("algorithm", "")),
                             str(body.get("serial_number", "")),
                             timestamp_token_b64=str(body.get("timestamp_token_b64") or ""))

    async def sign_sm2(self, seal_id: uuid.UUID, digest: bytes, *, timestamp: bool = False) -> SealSignature:
        body = await self._sign(f"/internal/seal-certificates/{seal_id}/sm2-signatures", digest, timestamp)
        return SealSignature(str(body["signature_b64"]), str(body.get("algorithm", "")),
                             str(body.get("serial_number", "")),
                             str(body.get("certificate_pem") or ""),
                             [str(c) for c in body.get("chain_pem") or []],
                             str(body.get("timestamp_token_b64") or ""))

    async def _sign(self, path: str, digest: bytes, timestamp: bool) -> dict[str, Any]:
        try:
            body: dict[str, Any] = await self.client.post(path, {
                "digest_b64": base64.b64encode(digest).decode(),
                **({"timestamp": True} if timestamp else {})})
        except RemoteError as err:
            raise _upstream(err) from None
        return body

    async def revoke_seal_certificate(self, seal_id: uuid.UUID, reason: str) -> None:
        try:
            await self.client.post(f"/internal/seal-certificates/{seal_id}/revocation",
                                   {"reason": reason})
        except RemoteError as err:
            if err.status == 409 or err.code == "certificate_revoked":
                return  # already revoked: what we wanted
            raise _upstream(err) from None

    async def make_esl(self, request: EslRequest) -> bytes:
        try:
            body = await self.client.post(f"/internal/seal-certificates/{request.seal_id}/esl", {
                "name": request.name, "seal_type": request.seal_type,
                "picture_png_b64": base64.b64encode(request.picture_png).decode(),
                "width_mm": request.width_mm, "height_mm": request.height_mm,
                "created_at": request.created_at.isoformat(),
                "signer_principal_ids": [str(p) for p in request.signer_principal_ids]})
        except RemoteError as err:
            raise _upstream(err) from None
        return base64.b64decode(str(body["seal_b64"]))
