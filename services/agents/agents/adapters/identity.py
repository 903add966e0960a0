"""The identity service as agents needs it: face tokens and agent logins.

``HttpIdentity`` implements the port ``service_layer.ports.IdentityGateway``: it calls
identity's internal endpoints with service-to-service auth. identity's problems come back
as they were (status, code, field errors): e.g. 409 ``face_token_used`` reaches the client unchanged.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from shared.internal import ServiceClient


class HttpIdentity:
    def __init__(self, client: ServiceClient) -> None:
        self.client = client

    async def consume_face_token(self, face_token: str, subject_id: uuid.UUID, purpose: str) -> None:
        await self.client.post("/internal/face-tokens/consume", {
            "face_token": face_token, "subject_id": str(subject_id), "purpose": purpose})

    async def create_login(self, agent_id: uuid.UUID, login: dict[str, Any]) -> None:
        await self.client.put(f"/internal/agent-logins/{agent_id}", login)

    async def update_login(self, agent_id: uuid.UUID, valid_from: date, valid_to: date,
                           can_manage: bool) -> None:
        await self.client.request("PATCH", f"/internal/agent-logins/{agent_id}", json={
            "valid_from": str(valid_from), "valid_to": str(valid_to), "can_manage": can_manage})

    async def set_password(self, agent_id: uuid.UUID, password: str) -> None:
        await self.client.put(f"/internal/agent-logins/{agent_id}/password", {"password": password})

    async def remove_login(self, agent_id: uuid.UUID) -> None:
        await self.client.delete(f"/internal/agent-logins/{agent_id}")
