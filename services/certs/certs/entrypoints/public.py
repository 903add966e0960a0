"""Public endpoints (through the gateway): agreements, activation, the user's certificate,
the CA's certificates and CRLs, and the sandbox SMS inbox."""

from __future__ import annotations

from aiohttp import web

from certs.domain.agreements import CURRENT_AGREEMENTS
from certs.service_layer import activation, certificates, crl, reissue
from certs.service_layer.views import rfc3339
from shared.auth import require_principal
from shared.http import documented, json_response, parse_json, parse_query

from . import responses as doc
from .appkeys import CERTS, SANDBOX_SMS
from .schemas import ActivateBody, ChangePasswordBody, RenewalBody, ResetBody, SmsQuery

PEM = "application/x-pem-file"
CRL = "application/pkix-crl"
CACHE_CA = {"Cache-Control": "public, max-age=3600"}


@documented(summary="证书协议 / the agreements to accept before activation",
            tags=("certificates",), response=doc.AgreementList, auth="public",
            responses={200: "the current agreements"})
async def list_agreements(request: web.Request) -> web.Response:
    return json_response({
        "items": [{"code": a.code, "version": a.version, "title": a.title, "text": a.text,
                   "required": True} for a in CURRENT_AGREEMENTS],
        "next_cursor": None,
    })


@documented(summary="发送激活短信验证码 / send the activation code by SMS",
            tags=("certificates",), response=doc.ActivationCodeSent,
            responses={202: "sent to the bound phone; valid 5 minutes",
                       403: "an enterprise whose legal representative has not passed the face "
                            "check (`enterprise_not_verified`)",
                       409: "the certificate is already active (`certificate_already_active`)",
                       429: "a resend within 60 s (`resend_too_soon`)"})
async def send_activation_code(request: web.Request) -> web.Response:
    principal = await require_principal(request)
    sent = await activation.send_code(request.app[CERTS], principal.id)
    return json_response(sent, status=202)


@documented(summary="最近短信验证码的送达状态 / whether my last SMS code reached the phone",
            tags=("certificates",), response=doc.LatestCode,
            responses={200: "the last code sent (activation, reset or renewal) and its delivery "
                            "report; `resend_suggested` when it failed",
                       404: "no code was sent (`code_not_found`)"})
async def latest_code(request: web.Request) -> web.Response:
    principal = await require_principal(request)
    return json_response(await activation.latest_code(request.app[CERTS], principal.id))


@documented(summary="激活数字证书 / activate my certificate", tags=("certificates",),
            body=ActivateBody, response=doc.CertificateView,
            responses={201: "issued",
                       403: "an enterprise whose legal representative has not passed the face "
                            "check (`enterprise_not_verified`)",
                       409: "already active (`certificate_already_active`)",
                       410: "the code expired (`code_expired`)",
                       422: "wrong code (`code_invalid`), weak password (`weak_password`), "
                            "passwords differ, agreements not all accepted",
                       429: "too many wrong codes (`code_attempts_exceeded`)"})
async def activate_certificate(request: web.Request) -> web.Response:
    principal = await require_principal(request)
    body = await parse_json(request, ActivateBody)
    view = await activation.activate(request.app[CERTS], activation.Activate(
        principal_id=principal.id, sms_code=body.sms_code, password=body.password,
        password_confirm=body.password_confirm,
        accepted_agreements=[(a.code, a.version) for a in body.accepted_agreements],
    ))
    return json_response(view, status=201)


@documented(summary="我的数字证书 / my certificate", tags=("certificates",),
            response=doc.CertificateView,
            responses={200: "the certificate",
                       404: "not activated yet (`certificate_not_activated`)"})
async def get_certificate(request: web.Request) -> web.Response:
    principal = await require_principal(request)
    return json_response(await certificates.view(request.app[CERTS], principal.id))


@documented(summary="修改证书密码 / change my certificate password", tags=("certificates",),
            body=ChangePasswordBody,
            responses={204: "changed",
                       403: "wrong old password (`wrong_certificate_password`, `attempts_left`)",
                       404: "not activated (`certificate_not_activated`)",
                       422: "weak new password (`weak_password`), passwords differ",
                       423: "locked after wrong passwords (`certificate_locked`, `locked_until`)"})
async def change_password(request: web.Request) -> web.Response:
    principal = await require_principal(request)
    body = await parse_json(request, ChangePasswordBody)
    await certificates.change_password(request.app[CERTS], principal.id, body.old_password,
                                       body.new_password, body.new_password_confirm)
    return web.Response(status=204)


@documented(summary="发送重置证书密码短信验证码 / send the SMS code for a certificate password reset",
            tags=("certificates",), response=doc.ActivationCodeSent,
            responses={202: "sent to the bound phone; valid 5 minutes",
                       404: "no certificate (`certificate_not_activated`)",
                       409: "the certificate was revoked (`certificate_revoked`)",
                       429: "a resend within 60 s (`resend_too_soon`)"})
async def send_reset_code(request: web.Request) -> web.Response:
    principal = await require_principal(request)
    sent = await reissue.send_code(request.app[CERTS], principal.id, "reset")
    return json_response(sent, status=202)


@documented(summary="忘记证书密码：重置 / reset a forgotten certificate password "
                    "(new key pair and certificate; the old one revoked)",
            tags=("certificates",), body=ResetBody, response=doc.CertificateView,
            responses={201: "the new certificate (the old one is on the CRL: superseded, or "
                            "keyCompromise when `key_compromised`)",
                       403: "the face token is another person's or for another operation "
                            "(`face_token_mismatch`)",
                       404: "no certificate (`certificate_not_activated`)",
                       409: "revoked (`certificate_revoked`); face token used (`face_token_used`)",
                       410: "the code expired (`code_expired`); the face token expired "
                            "(`face_token_expired`)",
                       422: "wrong code (`code_invalid`), face token unknown "
                            "(`face_token_invalid`), weak new password, passwords differ",
                       429: "too many wrong codes (`code_attempts_exceeded`)"})
async def reset_certificate(request: web.Request) -> web.Response:
    principal = await require_principal(request)
    body = await parse_json(request, ResetBody)
    view = await reissue.reset(request.app[CERTS], reissue.Reset(
        principal_id=principal.id, sms_code=body.sms_code, face_token=body.face_token,
        new_password=body.new_password, new_password_confirm=body.new_password_confirm,
        key_compromised=body.key_compromised))
    return json_response(view, status=201)


@documented(summary="发送证书更新短信验证码 / send the SMS code for a certificate renewal",
            tags=("certificates",), response=doc.ActivationCodeSent,
            responses={202: "sent to the bound phone; valid 5 minutes",
                       404: "no certificate (`certificate_not_activated`)",
                       409: "the certificate was revoked (`certificate_revoked`)",
                       429: "a resend within 60 s (`resend_too_soon`)"})
async def send_renewal_code(request: web.Request) -> web.Response:
    principal = await require_principal(request)
    sent = await reissue.send_code(request.app[CERTS], principal.id, "renewal")
    return json_response(sent, status=202)


@documented(summary="证书更新 / renew my certificate before it expires (new key pair, same "
                    "password)",
            tags=("certificates",), body=RenewalBody, response=doc.CertificateView,
            responses={201: "the new certificate (the old one on the CRL: superseded)",
                       403: "wrong password (`wrong_certificate_password`, `attempts_left`)",
                       404: "no certificate (`certificate_not_activated`)",
                       409: "revoked (`certificate_revoked`) or expired (`certificate_expired`: "
                            "reset it instead)",
                       410: "the code expired (`code_expired`)",
                       422: "wrong code (`code_invalid`)",
                       423: "locked after wrong passwords (`certificate_locked`)",
                       429: "too many wrong codes (`code_attempts_exceeded`)"})
async def renew_certificate(request: web.Request) -> web.Response:
    principal = await require_principal(request)
    body = await parse_json(request, RenewalBody)
    view = await reissue.renew(request.app[CERTS], reissue.Renew(
        principal_id=principal.id, sms_code=body.sms_code, password=body.password,
        serial_number=body.serial_number))
    return json_response(view, status=201)


@documented(summary="平台根证书 / the platform root CA certificate", tags=("ca",),
            auth="public", content_type=PEM, responses={200: "PEM"})
async def root_pem(request: web.Request) -> web.Response:
    return web.Response(text=request.app[CERTS].authority.root_pem, content_type=PEM,
                        headers=CACHE_CA)


@documented(summary="签发CA证书 / the issuing CA certificate", tags=("ca",),
            auth="public", content_type=PEM, responses={200: "PEM"})
async def issuing_pem(request: web.Request) -> web.Response:
    return web.Response(text=request.app[CERTS].authority.issuing_pem, content_type=PEM,
                        headers=CACHE_CA)


@documented(summary="证书吊销列表 / the issuing CA's CRL", tags=("ca",),
            auth="public", content_type=CRL, responses={200: "DER"})
async def issuing_crl(request: web.Request) -> web.Response:
    der = await crl.current(request.app[CERTS], "issuing")
    return web.Response(body=der, content_type=CRL, headers={"Cache-Control": "no-cache"})


@documented(summary="根CA吊销列表 / the root CA's CRL", tags=("ca",),
            auth="public", content_type=CRL, responses={200: "DER"})
async def root_crl(request: web.Request) -> web.Response:
    der = await crl.current(request.app[CERTS], "root")
    return web.Response(body=der, content_type=CRL, headers={"Cache-Control": "no-cache"})


@documented(summary="SM2根证书 / the platform's SM2 root CA certificate (GB/T 38540 seals)",
            tags=("ca",), auth="public", content_type=PEM, responses={200: "PEM"})
async def sm2_root_pem(request: web.Request) -> web.Response:
    return web.Response(text=request.app[CERTS].sm2.root_pem, content_type=PEM, headers=CACHE_CA)


@documented(summary="SM2签发CA证书 / the SM2 issuing CA certificate", tags=("ca",),
            auth="public", content_type=PEM, responses={200: "PEM"})
async def sm2_issuing_pem(request: web.Request) -> web.Response:
    return web.Response(text=request.app[CERTS].sm2.issuing_pem, content_type=PEM,
                        headers=CACHE_CA)


@documented(summary="制章证书 / the seal-making certificate that signs every SES_Seal",
            tags=("ca",), auth="public", content_type=PEM, responses={200: "PEM"})
async def sm2_seal_maker_pem(request: web.Request) -> web.Response:
    return web.Response(text=request.app[CERTS].sm2.maker_pem, content_type=PEM,
                        headers=CACHE_CA)


@documented(summary="SM2证书吊销列表 / the SM2 issuing CA's CRL (SM2-with-SM3)", tags=("ca",),
            auth="public", content_type=CRL, responses={200: "DER"})
async def sm2_crl(request: web.Request) -> web.Response:
    der = await crl.current(request.app[CERTS], "sm2_issuing")
    return web.Response(body=der, content_type=CRL, headers={"Cache-Control": "no-cache"})


@documented(summary="沙箱：已发短信 / sandbox: the SMS sent to a phone", tags=("sandbox",),
            query=SmsQuery, response=doc.SandboxSmsList, auth="public",
            responses={200: "the messages, newest first"})
async def sandbox_sms(request: web.Request) -> web.Response:
    query = parse_query(request, SmsQuery)
    items = await request.app[SANDBOX_SMS].messages(query.phone)
    return json_response({
        "items": [{"phone": m["phone"], "text": m["text"], "sent_at": rfc3339(m["sent_at"])}
                  for m in items],
        "next_cursor": None,
    })
