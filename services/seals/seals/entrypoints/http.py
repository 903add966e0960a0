"""HTTP routes of the seals service (thin: parse, authenticate, call the service layer).

The handlers live by resource: ``http_seals`` (seal types, previews, seals), ``http_grants``,
``http_person`` (the natural person's side and signature), ``internal`` (for stamping).
"""

from __future__ import annotations

from aiohttp import web

from . import http_grants, http_person, http_seals, internal
from .support import API


def setup_routes(app: web.Application) -> None:
    r = app.router
    r.add_get(f"{API}/seal-types", http_seals.list_seal_types)
    r.add_post(f"{API}/seals/preview", http_seals.preview_seal)
    r.add_post(f"{API}/seals", http_seals.create_seal)
    r.add_get(f"{API}/seals", http_seals.list_seals)
    r.add_get(f"{API}/seals/{{seal_id}}", http_seals.get_seal)
    r.add_patch(f"{API}/seals/{{seal_id}}", http_seals.change_seal)
    r.add_get(f"{API}/seals/{{seal_id}}/image", http_seals.get_seal_image)
    r.add_get(f"{API}/seals/{{seal_id}}/esl", http_seals.get_seal_esl)
    r.add_post(f"{API}/seals/{{seal_id}}/revocation", http_seals.revoke_seal)
    r.add_get(f"{API}/seals/{{seal_id}}/grants", http_grants.list_grants)
    r.add_post(f"{API}/seals/{{seal_id}}/grants", http_grants.add_grant)
    r.add_get(f"{API}/seals/{{seal_id}}/grants/{{grant_id}}", http_grants.get_grant)
    r.add_patch(f"{API}/seals/{{seal_id}}/grants/{{grant_id}}", http_grants.change_grant)
    r.add_delete(f"{API}/seals/{{seal_id}}/grants/{{grant_id}}", http_grants.delete_grant)
    r.add_get(f"{API}/my/enterprises", http_person.my_enterprises)
    r.add_get(f"{API}/my/enterprises/{{enterprise_id}}/seals", http_person.my_seals)
    r.add_get(f"{API}/my/enterprises/{{enterprise_id}}/seals/{{seal_id}}", http_person.my_seal)
    r.add_get(f"{API}/my/enterprises/{{enterprise_id}}/seals/{{seal_id}}/image", http_person.my_seal_image)
    r.add_get(f"{API}/my/signature", http_person.get_signature)
    r.add_post(f"{API}/my/signature", http_person.create_signature)
    r.add_delete(f"{API}/my/signature", http_person.delete_signature)
    r.add_get(f"{API}/my/signature/image", http_person.get_signature_image)
    r.add_get("/internal/persons/{person_id}/choices", internal.internal_choices)
    r.add_get("/internal/persons/{person_id}/signature", internal.internal_person_signature)
    r.add_post("/internal/seals/{seal_id}/stamp-signatures", internal.internal_stamp_signature)
    r.add_post("/internal/seals/{seal_id}/stamp-esl", internal.internal_stamp_esl)
    r.add_get("/internal/seals/{seal_id}", internal.internal_seal)
    r.add_get("/internal/seals/{seal_id}/image", internal.internal_seal_image)
    r.add_get("/internal/enterprises/{enterprise_id}/seals", internal.internal_enterprise_seals)
    r.add_post("/internal/approval-checks", internal.internal_approve_check)
    r.add_get("/internal/approvers/{principal_id}/seals", internal.internal_approvable_seals)
