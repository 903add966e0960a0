"""Public endpoints (through the gateway): agreements, activation, the user's certificate,
the CA's certificates and CRLs, and the sandbox SMS inbox."""

from __future__ import annotations

from aiohttp import web

from certs.domain.agreements import CURRENT_AGREEMENTS
from certs.service_layer import activation, certificates, crl
from certs.service_layer.views import rfc3339
from shared.auth import require_principal
from shared.http import json_response, parse_json, parse_query

from .appkeys import CERTS, SANDBOX_SMS
from .schemas import ActivateBody, ChangePasswordBody, SmsQuery

PEM = "application/x-pem-file"
CRL = "application/pkix-crl"
CACHE_CA = {"Cache-Control": "public, max-age=3600"}


async def list_agreements(request: web.Request) -> web.Response:
    return json_response({
        "items": [{"code": a.code, "version": a.version, "title": a.title, "text": a.text,
                   "required": True} for a in CURRENT_AGREEMENTS],
        "next_cursor": None,
    })


async def send_activation_code(request: web.Request) -> web.Response:
    principal = await require_principal(request)
    sent = await activation.send_code(request.app[CERTS], principal.id)
    return json_response(sent, status=202)


async def activate_certificate(request: web.Request) -> web.Response:
    principal = await require_principal(request)
    body = await parse_json(request, ActivateBody)
    view = await activation.activate(request.app[CERTS], activation.Activate(
        principal_id=principal.id, sms_code=body.sms_code, password=body.password,
        password_confirm=body.password_confirm,
        accepted_agreements=[(a.code, a.version) for a in body.accepted_agreements],
    ))
    return json_response(view, status=201)


async def get_certificate(request: web.Request) -> web.Response:
    principal = await require_principal(request)
    return json_response(await certificates.view(request.app[CERTS], principal.id))


async def change_password(request: web.Request) -> web.Response:
    principal = await require_principal(request)
    body = await parse_json(request, ChangePasswordBody)
    await certificates.change_password(request.app[CERTS], principal.id, body.old_password,
                                       body.new_password, body.new_password_confirm)
    return web.Response(status=204)


async def root_pem(request: web.Request) -> web.Response:
    return web.Response(text=request.app[CERTS].authority.root_pem, content_type=PEM,
                        headers=CACHE_CA)


async def issuing_pem(request: web.Request) -> web.Response:
    return web.Response(text=request.app[CERTS].authority.issuing_pem, content_type=PEM,
                        headers=CACHE_CA)


async def issuing_crl(request: web.Request) -> web.Response:
    der = await crl.current(request.app[CERTS], "issuing")
    return web.Response(body=der, content_type=CRL, headers={"Cache-Control": "no-cache"})


async def root_crl(request: web.Request) -> web.Response:
    der = await crl.current(request.app[CERTS], "root")
    return web.Response(body=der, content_type=CRL, headers={"Cache-Control": "no-cache"})


async def sandbox_sms(request: web.Request) -> web.Response:
    query = parse_query(request, SmsQuery)
    items = await request.app[SANDBOX_SMS].messages(query.phone)
    return json_response({
        "items": [{"phone": m["phone"], "text": m["text"], "sent_at": rfc3339(m["sent_at"])}
                  for m in items],
        "next_cursor": None,
    })
