"""``SealAuthority`` over seals' internal API (docs/INTERNAL_API.md, "seals")."""

from __future__ import annotations

import asyncio
import base64
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from shared.errors import NotFound, ServiceUnavailable
from shared.internal import RemoteError, ServiceClient

from ..service_layer.ports import EnterpriseChoice, SealChoice, SealInfo, SealSignature


def _dt(value: Any) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def _chain(body: dict[str, Any]) -> list[str]:
    chain = list(body.get("chain_pem") or [])
    cert = body.get("certificate_pem")
    return ([cert] if cert else []) + [c for c in chain if c != cert]


def seal_info(body: dict[str, Any], fallback_id: uuid.UUID | None = None) -> SealInfo:
    return SealInfo(
        seal_id=uuid.UUID(str(body.get("seal_id") or body.get("id") or fallback_id)),
        enterprise_id=uuid.UUID(str(body["enterprise_id"])),
        enterprise_name=str(body.get("enterprise_name") or ""),
        enterprise_uscc=str(body.get("enterprise_uscc") or ""),
        name=str(body.get("name") or ""),
        type=str(body.get("type") or ""),
        type_label=str(body.get("type_label") or body.get("type") or ""),
        status=str(body.get("status") or "active"),
        revoked_at=_dt(body.get("revoked_at")),
        certificate_serial=str(body.get("certificate_serial") or body.get("serial_number") or ""),
        chain_pem=_chain(body),
        shape=str(body.get("shape") or "round"),
        width_mm=_mm(body.get("width_mm")),
        height_mm=_mm(body.get("height_mm")),
        approval_required=bool(body.get("approval_required")),
        approvers=tuple(uuid.UUID(str(a)) for a in body.get("approvers") or ()),
    )


def _choices(body: dict[str, Any]) -> list[EnterpriseChoice]:
    return [
        EnterpriseChoice(
            enterprise_id=uuid.UUID(str(e["enterprise_id"])),
            enterprise_name=str(e.get("enterprise_name") or ""),
            seals=[SealChoice(uuid.UUID(str(s["seal_id"])), str(s.get("name") or ""),
                              str(s.get("type") or "")) for s in e.get("seals", [])],
        )
        for e in body.get("items", [])
    ]


def _mm(value: Any) -> float:
    """A size seals gives (older peers give none: the 42 mm round seal of before)."""
    try:
        mm = float(value)
    except (TypeError, ValueError):
        return 42.0
    return mm if 5.0 <= mm <= 100.0 else 42.0


class SealsHttp:
    """Seal images never change for a seal id: they are cached for the process's life. A
    stamp's ``SES_Seal`` changes only with the seal's certificate: it is kept per seal for
    the certificate serial the stamp's own pre-check read."""

    def __init__(self, client: ServiceClient, *, image_cache_size: int = 256) -> None:
        self.client = client
        self._images: dict[uuid.UUID, bytes] = {}
        self._image_cache_size = image_cache_size
        self._image_locks: dict[uuid.UUID, asyncio.Lock] = {}
        self._esls: dict[uuid.UUID, tuple[str, bytes]] = {}

    async def choices(self, person_id: uuid.UUID) -> list[EnterpriseChoice]:
        return _choices(await self.client.get(f"/internal/persons/{person_id}/choices"))

    async def lookup(self, person_id: uuid.UUID, seal_ids: Sequence[uuid.UUID],
                     ) -> tuple[list[EnterpriseChoice], dict[uuid.UUID, SealInfo | None]]:
        ids = list(dict.fromkeys(seal_ids))
        query = "&".join(f"seal_id={i}" for i in ids)
        body = await self.client.get(f"/internal/persons/{person_id}/choices?{query}")
        found = body.get("seals") or {}
        if set(found) != {str(i) for i in ids}:
            raise ServiceUnavailable("seals did not answer for every seal", code="service_unavailable")
        return _choices(body), {i: seal_info(found[str(i)], i) if found[str(i)] else None for i in ids}

    async def seal(self, seal_id: uuid.UUID) -> SealInfo | None:
        try:
            body = await self.client.get(f"/internal/seals/{seal_id}")
        except RemoteError as e:
            if e.status == 404:
                return None
            raise
        return seal_info(body, seal_id)

    async def seal_image(self, seal_id: uuid.UUID) -> bytes:
        cached = self._images.get(seal_id)
        if cached is not None:
            return cached
        lock = self._image_locks.setdefault(seal_id, asyncio.Lock())
        async with lock:
            if seal_id not in self._images:
                try:
                    image = await self.client.get(f"/internal/seals/{seal_id}/image", raw=True)
                except RemoteError as e:
                    if e.status == 404:
                        raise NotFound("no such seal", code="seal_not_found") from None
                    raise
                if len(self._images) >= self._image_cache_size:
                    self._images.pop(next(iter(self._images)))
                self._images[seal_id] = image
        self._image_locks.pop(seal_id, None)
        return self._images[seal_id]

    async def person_signature(self, person_id: uuid.UUID) -> bytes | None:
        try:
            image: bytes = await self.client.get(f"/internal/persons/{person_id}/signature", raw=True)
        except RemoteError as e:
            if e.status == 404:
                return None
            raise
        return image

    async def stamp_esl(self, seal_id: uuid.UUID, person_id: uuid.UUID,
                        enterprise_id: uuid.UUID, *, certificate_serial: str = "") -> bytes:
        kept = self._esls.get(seal_id)
        if certificate_serial and kept is not None and kept[0] == certificate_serial:
            return kept[1]
        body = await self.client.post(f"/internal/seals/{seal_id}/stamp-esl", json={
            "person_id": str(person_id), "enterprise_id": str(enterprise_id)})
        der = base64.b64decode(body["seal_b64"])
        if certificate_serial:
            if len(self._esls) >= self._image_cache_size:
                self._esls.pop(next(iter(self._esls)))
            self._esls[seal_id] = (certificate_serial, der)
        return der

    async def stamp_signature(self, seal_id: uuid.UUID, person_id: uuid.UUID,
                              enterprise_id: uuid.UUID, digest: bytes, *,
                              algorithm: str = "ecdsa-p256-sha256",
                              approver_id: uuid.UUID | None = None,
                              timestamp: bool = False) -> SealSignature:
        body = await self.client.post(f"/internal/seals/{seal_id}/stamp-signatures", json={
            "person_id": str(person_id), "enterprise_id": str(enterprise_id),
            "digest_b64": base64.b64encode(digest).decode(), "algorithm": algorithm,
            **({"approver_id": str(approver_id)} if approver_id else {}),
            **({"timestamp": True} if timestamp else {})})
        seal = body.get("seal") or {}
        seal.setdefault("seal_id", str(seal_id))
        seal.setdefault("enterprise_id", str(enterprise_id))
        return SealSignature(
            signature=base64.b64decode(body["signature_b64"]),
            algorithm=str(body.get("algorithm") or ""),
            serial_number=str(body.get("serial_number") or ""),
            certificate_pem=str(body.get("certificate_pem") or ""),
            chain_pem=_chain(body),
            seal=seal_info(seal, seal_id),
            timestamp_token=base64.b64decode(str(body.get("timestamp_token_b64") or "")),
        )

    async def approve_check(self, approver_id: uuid.UUID, person_id: uuid.UUID,
                            enterprise_id: uuid.UUID, seal_ids: Sequence[uuid.UUID],
                            face_token: str | None) -> None:
        await self.client.post("/internal/approval-checks", json={
            "approver_id": str(approver_id), "person_id": str(person_id),
            "enterprise_id": str(enterprise_id), "seal_ids": [str(i) for i in seal_ids],
            **({"face_token": face_token} if face_token else {})})

    async def approvable_seals(self, approver_id: uuid.UUID) -> list[uuid.UUID]:
        body = await self.client.get(f"/internal/approvers/{approver_id}/seals")
        return [uuid.UUID(str(i["seal_id"])) for i in body.get("items", [])]
