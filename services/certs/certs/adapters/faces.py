"""Face checks as identity keeps them: the HTTP adapter of the ``FaceChecks`` port
(``service_layer/ports.py``), calling ``POST /internal/face-tokens/consume``.

identity's problems come back as they were (status, code, field errors), like agents' and
seals' face-checked operations: e.g. 409 ``face_token_used`` reaches the client unchanged.
"""

from __future__ import annotations

import uuid

from aiohttp import web

from shared.service import client


class IdentityFaceChecks:
    def __init__(self, app: web.Application) -> None:
        self._app = app

    async def consume(self, face_token: str, subject_id: uuid.UUID, purpose: str) -> None:
        await client(self._app, "identity").post("/internal/face-tokens/consume", {
            "face_token": face_token, "subject_id": str(subject_id), "purpose": purpose})
