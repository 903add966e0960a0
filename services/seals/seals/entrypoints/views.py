"""JSON shapes of the API (docs/API.md, docs/INTERNAL_API.md): records in, plain dicts out."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from ..adapters import repository as repo
from ..adapters.rendering import SEAL_TYPES
from ..service_layer.person import GrantingEnterprise
from ..service_layer.seals import SealTypeView
from ..service_layer.stamping import Choice, SealRecord, StampSignature

API = "/api/v1"


def rfc3339(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _type(code: str) -> dict[str, Any]:
    kind = SEAL_TYPES.get(code)
    return {"type": code, "type_label": kind.label if kind else code,
            "shape": kind.shape if kind else None}


def seal_type(view: SealTypeView) -> dict[str, Any]:
    k = view.kind
    out: dict[str, Any] = {"code": k.code, "label": k.label, "shape": k.shape,
                           "width_mm": k.width_mm, "height_mm": k.height_mm}
    if view.default_name is not None:
        out["default_name"] = view.default_name
    return out


def seal(row: repo.SealRow) -> dict[str, Any]:
    return {
        "seal_id": str(row.seal_id), "enterprise_id": str(row.enterprise_id), **_type(row.type),
        "name": row.name, "status": row.status,
        "image_url": f"{API}/seals/{row.seal_id}/image", "image_sha256": row.image_sha256,
        "created_at": rfc3339(row.created_at), "revoked_at": rfc3339(row.revoked_at),
        "revoke_reason": row.revoke_reason if row.status == "revoked" else None,
        "certificate_serial": row.certificate_serial,
        "approval_required": row.approval_required,
        "approvers": [str(a) for a in row.approvers],
    }


def grant(row: repo.GrantRow, today: date) -> dict[str, Any]:
    return {
        "grant_id": str(row.grant_id), "seal_id": str(row.seal_id),
        "person": {"name": row.person_name, "id_number_masked": row.id_number_masked},
        "valid_from": row.valid_from.isoformat(), "valid_to": row.valid_to.isoformat(),
        "status": row.window.status(today),
        "created_at": rfc3339(row.created_at), "updated_at": rfc3339(row.updated_at),
    }


def granting_enterprise(e: GrantingEnterprise) -> dict[str, Any]:
    return {"enterprise_id": str(e.enterprise_id), "name": e.name, "seal_count": e.seal_count,
            "usable_seal_count": e.usable_seal_count}


def granted_seal(g: repo.GrantedSeal, today: date, *, detail: bool = False) -> dict[str, Any]:
    s, status = g.seal, g.grant.window.status(today)
    out: dict[str, Any] = {
        "seal_id": str(s.seal_id), **_type(s.type), "name": s.name,
        "image_url": f"{API}/my/enterprises/{s.enterprise_id}/seals/{s.seal_id}/image",
        "usable": status == "active",
        "grant": {"grant_id": str(g.grant.grant_id), "valid_from": g.grant.valid_from.isoformat(),
                  "valid_to": g.grant.valid_to.isoformat(), "status": status},
    }
    if detail:
        out.update({"enterprise_id": str(s.enterprise_id), "enterprise_name": g.enterprise_name,
                    "status": s.status, "created_at": rfc3339(s.created_at),
                    "certificate_serial": s.certificate_serial, "image_sha256": s.image_sha256})
    return out


def signature(row: repo.SignatureRow) -> dict[str, Any]:
    return {"signature_id": str(row.signature_id), "method": row.method,
            "image_url": f"{API}/my/signature/image", "image_sha256": row.image_sha256,
            "created_at": rfc3339(row.created_at)}


def page(items: list[dict[str, Any]], next_cursor: str | None) -> dict[str, Any]:
    return {"items": items, "next_cursor": next_cursor}


# --- internal -----------------------------------------------------------------------------


def choice(c: Choice) -> dict[str, Any]:
    return {"enterprise_id": str(c.enterprise_id), "enterprise_name": c.enterprise_name,
            "seals": [{"seal_id": str(s.seal_id), "name": s.name, "type": s.type}
                      for s in c.seals]}


def stamp_signature(s: StampSignature) -> dict[str, Any]:
    return {
        "signature_b64": s.signature.signature_b64, "algorithm": s.signature.algorithm,
        "serial_number": s.signature.serial_number or s.certificate.serial_number,
        # an SM2 signature names the seal's SM2 certificate; ECDSA the one seals keeps
        "certificate_pem": s.signature.certificate_pem or s.certificate.certificate_pem,
        "chain_pem": s.signature.chain_pem if s.signature.certificate_pem else s.certificate.chain_pem,
        "seal": {"seal_id": str(s.seal.seal_id), "name": s.seal.name, "type": s.seal.type,
                 "type_label": s.type_label, "enterprise_id": str(s.seal.enterprise_id),
                 "enterprise_name": s.enterprise_name, "enterprise_uscc": s.enterprise_uscc},
        **({"timestamp_token_b64": s.signature.timestamp_token_b64}
           if s.signature.timestamp_token_b64 else {}),
    }


def internal_seal(r: SealRecord) -> dict[str, Any]:
    out = seal(r.seal)
    kind = SEAL_TYPES.get(r.seal.type)
    # the impression's real size, for stamping to draw it at (docs: seal types)
    out.update({"width_mm": kind.width_mm if kind else None,
                "height_mm": kind.height_mm if kind else None})
    out.update({"image_url": f"/internal/seals/{r.seal.seal_id}/image",
                "enterprise_name": r.enterprise_name, "enterprise_uscc": r.enterprise_uscc,
                "certificate_pem": r.certificate.certificate_pem if r.certificate else None,
                "chain_pem": r.certificate.chain_pem if r.certificate else []})
    if r.certificate is not None:  # the current one (renewed since the seal was issued)
        out["certificate_serial"] = r.certificate.serial_number
    return out

