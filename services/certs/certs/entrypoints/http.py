"""HTTP routes of the certs service (thin: parse, authorize, call the service layer)."""

from __future__ import annotations

from aiohttp import web

from . import internal, public


def setup_routes(app: web.Application) -> None:
    r = app.router
    r.add_get("/api/v1/agreements", public.list_agreements)
    r.add_post("/api/v1/certificate/activation-codes", public.send_activation_code)
    r.add_get("/api/v1/certificate/codes/latest", public.latest_code)
    r.add_post("/api/v1/certificate", public.activate_certificate)
    r.add_get("/api/v1/certificate", public.get_certificate)
    r.add_put("/api/v1/certificate/password", public.change_password)
    r.add_post("/api/v1/certificate/reset-codes", public.send_reset_code)
    r.add_post("/api/v1/certificate/reset", public.reset_certificate)
    r.add_post("/api/v1/certificate/renewal-codes", public.send_renewal_code)
    r.add_post("/api/v1/certificate/renewal", public.renew_certificate)
    r.add_get("/api/v1/ca/root.pem", public.root_pem)
    r.add_get("/api/v1/ca/issuing.pem", public.issuing_pem)
    r.add_get("/api/v1/ca/crl", public.issuing_crl)
    r.add_get("/api/v1/ca/root.crl", public.root_crl)
    r.add_get("/api/v1/ca/sm2-root.pem", public.sm2_root_pem)
    r.add_get("/api/v1/ca/sm2-issuing.pem", public.sm2_issuing_pem)
    r.add_get("/api/v1/ca/sm2-seal-maker.pem", public.sm2_seal_maker_pem)
    r.add_get("/api/v1/ca/sm2.crl", public.sm2_crl)

    r.add_get("/internal/principals/{principal_id}/certificate", internal.principal_certificate)
    r.add_post("/internal/principals/{principal_id}/signatures", internal.principal_signature)
    r.add_post("/internal/principals/{principal_id}/sm2-signatures",
               internal.principal_sm2_signature)
    r.add_post("/internal/principals/{principal_id}/sm2-seal", internal.personal_seal)
    r.add_post("/internal/seal-certificates", internal.issue_seal_certificate)
    r.add_post("/internal/seal-certificates/{seal_id}/sm2-signatures", internal.seal_sm2_signature)
    r.add_post("/internal/seal-certificates/{seal_id}/esl", internal.seal_esl)
    r.add_get("/internal/seal-certificates/by-serial/{serial}", internal.seal_certificate_by_serial)
    r.add_post("/internal/seal-certificates/{seal_id}/signatures", internal.seal_signature)
    r.add_post("/internal/seal-certificates/{seal_id}/revocation", internal.revoke_seal_certificate)
    r.add_post("/internal/tsa", internal.timestamp)
    r.add_post("/internal/platform/signatures", internal.platform_signature)
    r.add_get("/internal/certificates/by-serial/{serial}", internal.certificate_by_serial)
    r.add_get("/internal/ca", internal.ca_bundle)


def setup_sandbox_routes(app: web.Application, *, sms: bool) -> None:
    """Development and test only; in production these paths do not exist (404)."""
    r = app.router
    if sms:
        r.add_get("/api/v1/sandbox/sms", public.sandbox_sms)
    r.add_get("/internal/sandbox/clock", internal.get_clock)
    r.add_put("/internal/sandbox/clock", internal.set_clock)
    r.add_post("/internal/sandbox/seal-certificates/{seal_id}/renewal", internal.renew_seal_now)
