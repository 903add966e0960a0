"""Service-to-service endpoints (docs/INTERNAL_API.md, "certs — the platform's HSM port").

Every one requires ``Authorization: Internal <jwt>`` (``shared.internal``). Binary values
travel base64; private keys never leave this service.
"""

from __future__ import annotations

import base64
import hashlib
from datetime import timedelta

from aiohttp import web

from certs.adapters.crypto.tsa import DEFAULT_POLICY_OID, TimestampRejected
from certs.service_layer import certificates, crl, platform, renewal, seals, sm2
from certs.service_layer.views import rfc3339
from shared.errors import EsealError, ValidationFailed
from shared.http import json_response, parse_json, path_uuid
from shared.internal import require_internal
from shared.logging import get_logger

from .appkeys import CERTS, SANDBOX_CLOCK
from .schemas import (
    ClockBody,
    DigestBody,
    PersonalSealBody,
    PrincipalSignBody,
    RevocationBody,
    SealCertificateBody,
    SealDigestBody,
    Sm2SealBody,
)

log = get_logger(__name__)

TIMESTAMP_QUERY = "application/timestamp-query"
TIMESTAMP_REPLY = "application/timestamp-reply"


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


async def principal_certificate(request: web.Request) -> web.Response:
    require_internal(request)
    principal_id = path_uuid(request, "principal_id")
    return json_response(await certificates.status(request.app[CERTS], principal_id))


async def principal_signature(request: web.Request) -> web.Response:
    require_internal(request)
    principal_id = path_uuid(request, "principal_id")
    body = await parse_json(request, PrincipalSignBody)
    sig, *rest = await certificates.sign_many(request.app[CERTS], principal_id, body.digests,
                                              body.certificate_password, body.sm2_digests)
    more, by_sm2 = rest[:len(body.more_digests_b64)], rest[len(body.more_digests_b64):]
    out: dict[str, object] = {"signature_b64": _b64(sig.signature), "algorithm": sig.algorithm,
                              "serial_number": sig.serial_number,
                              "certificate_pem": sig.certificate_pem}
    if body.more_digests_b64:
        out["more_signatures_b64"] = [_b64(s.signature) for s in more]
    if body.sm2_digests_b64:
        out["sm2_signatures"] = [{"signature_b64": _b64(s.signature), "algorithm": s.algorithm,
                                  "serial_number": s.serial_number,
                                  "certificate_pem": s.certificate_pem} for s in by_sm2]
    return json_response(out)


async def principal_sm2_signature(request: web.Request) -> web.Response:
    """Like ``principal_signature`` with the principal's SM2 key: ``digest_b64`` is
    e = SM3(Z‖M) (Z of the SM2 certificate's key, default user ID), as GB/T 32918 signs."""
    require_internal(request)
    principal_id = path_uuid(request, "principal_id")
    body = await parse_json(request, PrincipalSignBody)
    if body.more_digests_b64:
        raise ValidationFailed.field("more_digests_b64", "one SM2 digest per call")
    sig = await certificates.sign_sm2(request.app[CERTS], principal_id, body.digest,
                                      body.certificate_password)
    return json_response(_sm2_signature(request, sig))


def _sm2_signature(request: web.Request, sig: sm2.Sm2Signature) -> dict[str, object]:
    return {"signature_b64": _b64(sig.signature), "algorithm": sig.algorithm,
            "serial_number": sig.serial_number, "certificate_pem": sig.certificate_pem,
            "chain_pem": request.app[CERTS].sm2.chain_pem}


async def personal_seal(request: web.Request) -> web.Response:
    """The person's own GB/T 38540 SES_Seal (个人印章) for a personal signature on an OFD."""
    require_internal(request)
    principal_id = path_uuid(request, "principal_id")
    body = await parse_json(request, PersonalSealBody)
    made = await sm2.make_personal_seal(request.app[CERTS], principal_id, sm2.PersonalSealRequest(
        picture_png=body.picture_png, width_mm=body.width_mm, height_mm=body.height_mm))
    return json_response({"seal_b64": _b64(made["seal"]), "serial_number": made["serial_number"]})


async def seal_sm2_signature(request: web.Request) -> web.Response:
    require_internal(request)
    seal_id = path_uuid(request, "seal_id")
    body = await parse_json(request, SealDigestBody)
    sig = await sm2.sign_seal(request.app[CERTS], seal_id, body.digest)
    return json_response({**_sm2_signature(request, sig), **_timestamp(request, body, sig.signature)})


async def seal_esl(request: web.Request) -> web.Response:
    """The seal's GB/T 38540 SES_Seal, signed by the seal-making certificate."""
    require_internal(request)
    seal_id = path_uuid(request, "seal_id")
    body = await parse_json(request, Sm2SealBody)
    made = await sm2.make_seal(request.app[CERTS], seal_id, sm2.SealRequest(
        name=body.name, seal_type=body.seal_type, picture_png=body.picture_png,
        width_mm=body.width_mm, height_mm=body.height_mm, created_at=body.created_at,
        signer_principal_ids=body.signer_principal_ids))
    return json_response({"seal_b64": _b64(made["seal"]),
                          "signer_serial_numbers": made["signer_serial_numbers"],
                          "unlisted_principal_ids": made["unlisted_principal_ids"]})


async def issue_seal_certificate(request: web.Request) -> web.Response:
    require_internal(request)
    body = await parse_json(request, SealCertificateBody)
    cmd = seals.IssueSealCertificate(**body.model_dump())
    try:
        _ = cmd.subject  # what X.509 needs: non-blank names of at most 64 characters
    except ValueError as exc:
        raise ValidationFailed(str(exc)) from None
    issued, created = await seals.issue(request.app[CERTS], cmd)
    # a repeated request answers the same (idempotent per seal_id)
    headers = {} if created else {"Idempotent-Replayed": "true"}
    return json_response(issued, status=201, headers=headers)


async def seal_certificate_by_serial(request: web.Request) -> web.Response:
    require_internal(request)
    return json_response(await seals.by_serial(request.app[CERTS], request.match_info["serial"]))


async def seal_signature(request: web.Request) -> web.Response:
    require_internal(request)
    seal_id = path_uuid(request, "seal_id")
    body = await parse_json(request, SealDigestBody)
    sig = await seals.sign(request.app[CERTS], seal_id, body.digest)
    return json_response({"signature_b64": _b64(sig.signature), "algorithm": sig.algorithm,
                          "serial_number": sig.serial_number,
                          **_timestamp(request, body, sig.signature)})


def _timestamp(request: web.Request, body: SealDigestBody, signature: bytes) -> dict[str, str]:
    """The TSA token over the signature value when asked for. Without one (the TSA's
    certificate not valid now) the caller asks ``/internal/tsa`` and gets its answer there."""
    if not body.timestamp:
        return {}
    try:
        token = request.app[CERTS].authority.tsa.stamp(hashlib.sha256(signature).digest(), "sha256")
    except TimestampRejected as exc:
        log.warning("seal_signature_timestamp_unavailable", reason=str(exc))
        return {}
    return {"timestamp_token_b64": _b64(token)}


async def platform_signature(request: web.Request) -> web.Response:
    """The platform's own sealing certificate signs a digest (stamping's evidence reports)."""
    require_internal(request)
    body = await parse_json(request, DigestBody)
    certs = request.app[CERTS]
    sig = platform.sign(certs, body.digest)
    return json_response({"signature_b64": _b64(sig.signature), "algorithm": sig.algorithm,
                          "serial_number": sig.serial_number,
                          "certificate_pem": sig.certificate_pem,
                          "chain_pem": certs.authority.chain_pem})


async def certificate_by_serial(request: web.Request) -> web.Response:
    require_internal(request)
    return json_response(await platform.certificate_by_serial(request.app[CERTS],
                                                              request.match_info["serial"]))


async def revoke_seal_certificate(request: web.Request) -> web.Response:
    require_internal(request)
    seal_id = path_uuid(request, "seal_id")
    body = await parse_json(request, RevocationBody)
    return json_response(await seals.revoke(request.app[CERTS], seal_id, body.reason))


class UnsupportedTimestampQuery(EsealError):
    status, code, title = 415, "unsupported_media_type", "Unsupported media type"


async def timestamp(request: web.Request) -> web.Response:
    """RFC 3161 over HTTP (RFC 3161 §3.4): a TimeStampReq in, a TimeStampResp out; a bad
    request gets a ``rejection`` status inside a 200 reply, as the protocol says."""
    require_internal(request)
    if request.content_type != TIMESTAMP_QUERY:
        raise UnsupportedTimestampQuery(f"expected {TIMESTAMP_QUERY}")
    reply = request.app[CERTS].authority.tsa.respond(await request.read())
    return web.Response(body=reply, content_type=TIMESTAMP_REPLY)


async def ca_bundle(request: web.Request) -> web.Response:
    require_internal(request)
    certs = request.app[CERTS]
    authority = certs.authority
    return json_response({
        "root_pem": authority.root_pem,
        "issuing_pem": authority.issuing_pem,
        "tsa_pem": authority.tsa_pem,
        "platform_pem": authority.platform_pem,
        "crl_b64": _b64(await crl.current(certs, "issuing")),
        "root_crl_b64": _b64(await crl.current(certs, "root")),
        "crl_url": authority.urls.issuing,
        "root_crl_url": authority.urls.root,
        "tsa_policy_oid": DEFAULT_POLICY_OID,
        "sm2_root_pem": certs.sm2.root_pem,
        "sm2_issuing_pem": certs.sm2.issuing_pem,
        "sm2_seal_maker_pem": certs.sm2.maker_pem,
        "sm2_crl_b64": _b64(await crl.current(certs, "sm2_issuing")),
    })


async def get_clock(request: web.Request) -> web.Response:
    require_internal(request)
    clock = request.app[SANDBOX_CLOCK]
    return json_response({"now": rfc3339(clock.now()),
                          "offset_seconds": clock.offset.total_seconds()})


async def set_clock(request: web.Request) -> web.Response:
    """Sandbox only: move this process's clock (expiry of codes and locks in tests)."""
    require_internal(request)
    body = await parse_json(request, ClockBody)
    clock = request.app[SANDBOX_CLOCK]
    clock.offset = timedelta(seconds=body.offset_seconds)
    log.warning("sandbox_clock_moved", offset_seconds=body.offset_seconds)
    return await get_clock(request)


async def renew_seal_now(request: web.Request) -> web.Response:
    """Sandbox only: renew this seal's certificate now, however far its expiry (what the
    hourly round does within 30 days of it), so end-to-end tests need not move the clock
    years on. 200 ``{"renewed": true|false}`` (false: revoked, or no such seal)."""
    require_internal(request)
    seal_id = path_uuid(request, "seal_id")
    certs = request.app[CERTS]
    horizon = certs.clock.now() + timedelta(days=100 * 365)
    return json_response({"renewed": bool(await renewal.renew_seal(certs, seal_id, horizon))})
