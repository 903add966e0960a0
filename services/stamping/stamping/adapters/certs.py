"""certs' internal API: person signatures, CA material, and the RFC 3161 TSA.

``CertsTimeStamper`` is a pyHanko ``TimeStamper`` that posts the DER request to certs'
``/internal/tsa`` with service-to-service authentication (a fresh internal token per call,
so it cannot be a static header). One instance lives as long as the process: pyHanko caches
the TSA's certificates and a size-estimation token in it, which saves a round trip per stamp.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import time
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import aiohttp
from asn1crypto import tsp
from cryptography import x509
from pyhanko.sign.timestamps import TimeStamper

from shared import upstreams
from shared.errors import ServiceUnavailable
from shared.gm.x509 import load_certificate
from shared.internal import RemoteError, ServiceClient

from ..service_layer.ports import (
    CaBundle,
    CertificateInfo,
    PersonSignature,
    PlatformSignature,
    SealCertificate,
    Sm2Ca,
)
from .loops import call_on


def _time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


def _hex(serial_number: str) -> bool:
    return bool(serial_number) and all(c in "0123456789ABCDEFabcdef" for c in serial_number)


class CertsHttp:
    """``PrincipalSigner``, ``CaMaterial``, ``SealCertificates`` and ``PlatformCertificates``."""

    def __init__(self, client: ServiceClient, *, ca_cache_seconds: float = 10.0) -> None:
        self.client = client
        self.ca_cache_seconds = ca_cache_seconds
        self._ca: tuple[float, CaBundle] | None = None
        self._ca_lock = asyncio.Lock()

    async def sign(self, principal_id: uuid.UUID, digest: bytes, password: str, *,
                   more_digests: Sequence[bytes] = (),
                   sm2_digest: bytes | None = None) -> PersonSignature:
        request: dict[str, Any] = {"digest_b64": base64.b64encode(digest).decode(),
                                   "certificate_password": password}
        if more_digests:
            request["more_digests_b64"] = [base64.b64encode(d).decode() for d in more_digests]
        if sm2_digest is not None:
            request["sm2_digests_b64"] = [base64.b64encode(sm2_digest).decode()]
        body = await self.client.post(f"/internal/principals/{principal_id}/signatures", json=request)
        more = tuple(base64.b64decode(s) for s in body.get("more_signatures_b64") or [])
        by_sm2 = body.get("sm2_signatures") or []
        if len(more) != len(more_digests) or len(by_sm2) != (sm2_digest is not None):
            raise ServiceUnavailable("certs did not sign every digest", code="signing_failed")
        sig = PersonSignature(
            signature=base64.b64decode(body["signature_b64"]),
            algorithm=str(body.get("algorithm") or ""),
            serial_number=str(body.get("serial_number") or ""),
            certificate_pem=str(body.get("certificate_pem") or ""),
            more=more,
        )
        return _with_sm2(sig, by_sm2[0]) if by_sm2 else sig

    async def sign_sm2(self, principal_id: uuid.UUID, digest: bytes, password: str) -> PersonSignature:
        body = await self.client.post(
            f"/internal/principals/{principal_id}/sm2-signatures",
            json={"digest_b64": base64.b64encode(digest).decode(), "certificate_password": password})
        sig = PersonSignature(signature=base64.b64decode(body["signature_b64"]),
                              algorithm=str(body.get("algorithm") or ""),
                              serial_number=str(body.get("serial_number") or ""),
                              certificate_pem=str(body.get("certificate_pem") or ""))
        return _with_sm2(sig, body)

    async def personal_seal(self, principal_id: uuid.UUID, picture_png: bytes, width_mm: int,
                            height_mm: int) -> bytes:
        body = await self.client.post(
            f"/internal/principals/{principal_id}/sm2-seal",
            json={"picture_png_b64": base64.b64encode(picture_png).decode(),
                  "width_mm": width_mm, "height_mm": height_mm})
        return base64.b64decode(body["seal_b64"])

    async def certificate(self, principal_id: uuid.UUID) -> str | None:
        body = await self.client.get(f"/internal/principals/{principal_id}/certificate")
        pem = body.get("certificate_pem")
        return str(pem) if pem and body.get("status") != "none" else None

    async def current(self, *, fresh: bool = False) -> CaBundle:
        now = time.monotonic()
        if not fresh and self._ca is not None and now - self._ca[0] < self.ca_cache_seconds:
            return self._ca[1]
        async with self._ca_lock:
            if not fresh and self._ca is not None and time.monotonic() - self._ca[0] < self.ca_cache_seconds:
                return self._ca[1]
            bundle = ca_bundle(await self.client.get("/internal/ca"))
            self._ca = (time.monotonic(), bundle)
            return bundle


    async def platform_sign(self, digest: bytes) -> PlatformSignature:
        body = await self.client.post("/internal/platform/signatures",
                                      json={"digest_b64": base64.b64encode(digest).decode()})
        return PlatformSignature(signature=base64.b64decode(body["signature_b64"]),
                                 serial_number=str(body["serial_number"]),
                                 certificate_pem=str(body["certificate_pem"]))

    async def certificate_by_serial(self, serial_number: str) -> CertificateInfo | None:
        if not _hex(serial_number):
            return None
        try:
            body = await self.client.get(f"/internal/certificates/by-serial/{serial_number}")
        except RemoteError as e:
            if e.status == 404:
                return None
            raise
        not_before, not_after = _time(body.get("not_before")), _time(body.get("not_after"))
        assert not_before is not None and not_after is not None
        return CertificateInfo(
            owner_type=str(body["owner_type"]), serial_number=str(body["serial_number"]),
            subject=str(body.get("subject") or ""), issuer=str(body.get("issuer") or ""),
            not_before=not_before, not_after=not_after, status=str(body.get("status") or ""),
            revoked_at=_time(body.get("revoked_at")), key_algorithm=str(body.get("key_algorithm") or ""))

    async def by_serial(self, serial_number: str) -> SealCertificate | None:
        if not _hex(serial_number):
            return None
        try:
            body = await self.client.get(f"/internal/seal-certificates/by-serial/{serial_number}")
        except RemoteError as e:
            if e.status == 404:
                return None
            raise
        revoked_at = body.get("revoked_at")
        return SealCertificate(
            seal_id=uuid.UUID(body["seal_id"]), enterprise_id=uuid.UUID(body["enterprise_id"]),
            serial_number=str(body["serial_number"]), subject=str(body.get("subject") or ""),
            issuer=str(body.get("issuer") or ""),
            fingerprint_sha256=str(body.get("fingerprint_sha256") or "").lower(),
            status=str(body.get("status") or "active"),
            revoked_at=datetime.fromisoformat(revoked_at.replace("Z", "+00:00")) if revoked_at else None)


def ca_bundle(body: dict[str, Any]) -> CaBundle:
    crls_b64: list[str] = []
    for key in ("crl_b64", "issuing_crl_b64", "root_crl_b64"):
        if body.get(key):
            crls_b64.append(body[key])
    crls_b64 += [c for c in body.get("crls_b64") or [] if c not in crls_b64]
    return CaBundle(
        root=x509.load_pem_x509_certificate(body["root_pem"].encode()),
        issuing=x509.load_pem_x509_certificate(body["issuing_pem"].encode()),
        tsa=x509.load_pem_x509_certificate(body["tsa_pem"].encode()) if body.get("tsa_pem") else None,
        crls=[x509.load_der_x509_crl(base64.b64decode(c)) for c in crls_b64],
        sm2=_sm2_ca(body),
        platform=(x509.load_pem_x509_certificate(body["platform_pem"].encode())
                  if body.get("platform_pem") else None),
    )


def _sm2_ca(body: dict[str, Any]) -> Sm2Ca | None:
    """The SM2 certificates are SM2-signed: ``cryptography`` cannot load them, so DER."""
    if not body.get("sm2_root_pem"):
        return None
    der = [bytes(load_certificate(body[k].encode()).dump())
           for k in ("sm2_root_pem", "sm2_issuing_pem", "sm2_seal_maker_pem")]
    crl = base64.b64decode(body["sm2_crl_b64"]) if body.get("sm2_crl_b64") else None
    return Sm2Ca(root=der[0], issuing=der[1], seal_maker=der[2], crl=crl)


class CertsTimeStamper(TimeStamper):
    def __init__(self, client: ServiceClient, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(include_nonce=True)  # type: ignore[no-untyped-call]
        self.client, self.loop = client, loop

    async def async_request_tsa_response(self, req: tsp.TimeStampReq) -> tsp.TimeStampResp:
        raw = await call_on(self.loop, self._post(req.dump()))
        return tsp.TimeStampResp.load(raw)

    async def _post(self, body: bytes) -> bytes:
        headers = {**self.client.headers(), "Content-Type": "application/timestamp-query"}
        failure: BaseException | None = None
        for base in self.client.replicas.order():  # certs' replicas; the retry rule of upstreams
            try:
                async with self.client.session.post(base + "/internal/tsa", data=body,
                                                    headers=headers, timeout=self.client.timeout,
                                                    trace_request_ctx=self.client.trace_request_ctx) as r:
                    payload = await r.read()
                    if r.status != 200 or r.content_type != "application/timestamp-reply":
                        raise ServiceUnavailable(f"the time-stamping authority answered {r.status}",
                                                 code="tsa_unavailable")
                    return payload
            except (TimeoutError, aiohttp.ClientError) as exc:
                failure = exc
                if upstreams.not_sent(exc):
                    self.client.replicas.failed(base)
                    continue
                break
        raise ServiceUnavailable("the time-stamping authority is unavailable",
                                 code="tsa_unavailable") from failure


def _with_sm2(sig: PersonSignature, body: dict[str, Any]) -> PersonSignature:
    """``sig`` carrying certs' SM2 signature ``body`` as its ``sm2``."""
    return dataclasses.replace(sig, sm2=base64.b64decode(body["signature_b64"]),
                               sm2_serial_number=str(body.get("serial_number") or ""),
                               sm2_certificate_pem=str(body.get("certificate_pem") or ""))
