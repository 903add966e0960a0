"""HTTP routes of 用印审批 (approval before use; docs/STAMPING.md, "Approval before use").

Approvers (the enterprise account, agents with the management permission named on the seal):
``GET /api/v1/approvals`` (waiting), ``GET /api/v1/approvals/{id}``, its document, and the
decision ``POST /api/v1/approvals/{id}/approve`` (face check ``approve_stamp``) or ``/reject``.
The person who asked sees ``GET /api/v1/approvals/{id}`` too (the stamp screen's status).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from aiohttp import web
from pydantic import BaseModel, Field

from shared.auth import require_principal
from shared.http import ApiModel, documented, json_response, parse_json, path_uuid

from ..service_layer import approvals
from .http import STAMPING

NOT_FOUND = ("no such approval, or not one the caller may see (`approval_not_found`): the "
             "person who asked and the seal's approvers only")


class ApproveBody(ApiModel):
    face_token: str = Field(min_length=1, max_length=1000,
                            description="a passed face check of purpose `approve_stamp`")


class RejectBody(ApiModel):
    reason: str = Field(default="", max_length=200)


class ApprovalSeal(BaseModel):
    seal_id: uuid.UUID
    name: str
    type: str
    approval_required: bool


class ApprovalPerson(BaseModel):
    person_id: uuid.UUID
    name: str


class ApprovalDocument(BaseModel):
    sha256: str
    url: str | None = Field(description="while waiting, for the approvers: the document with the "
                                        "person's part (PDF or OFD)")


class Requester(BaseModel):
    name: str


class ApprovalView(BaseModel):
    approval_id: uuid.UUID
    status: str = Field(description="pending | granted | rejected")
    cause: str | None = Field(description="when rejected: rejected | expired | seal_revoked | "
                                          "grant_revoked")
    reason: str | None
    request_id: uuid.UUID
    title: str
    kind: str
    requester: Requester
    person: ApprovalPerson
    enterprise_id: uuid.UUID
    seals: list[ApprovalSeal]
    placements: list[dict[str, Any]]
    choices: list[dict[str, Any]]
    document: ApprovalDocument
    requested_at: datetime
    expires_at: datetime
    decided_at: datetime | None
    decided_by: uuid.UUID | None


class ApprovalPage(BaseModel):
    items: list[ApprovalView]
    next_cursor: str | None


@documented(summary="用印审批 / the stamps waiting for my approval", tags=("approvals",),
            response=ApprovalPage,
            responses={200: "waiting approvals of seals the caller approves (oldest first, at "
                            "most 100; `next_cursor` is always null)",
                       403: "for enterprise accounts and agents (`role_not_allowed`)"})
async def list_approvals(request: web.Request) -> web.Response:
    principal = await require_principal(request, "enterprise", "agent")
    items = await approvals.list_pending(request.app[STAMPING], principal)
    return json_response({"items": items, "next_cursor": None})


@documented(summary="审批详情 / one approval", tags=("approvals",), response=ApprovalView,
            responses={200: "the approval", 404: NOT_FOUND})
async def get_approval(request: web.Request) -> web.Response:
    principal = await require_principal(request, "person", "enterprise", "agent")
    body = await approvals.get(request.app[STAMPING], principal, path_uuid(request, "approval_id"))
    return json_response(body, headers={"Cache-Control": "no-store"})


@documented(summary="审批文件 / the document to approve", tags=("approvals",),
            content_type="application/pdf, application/ofd",
            responses={200: "the document with the person's part, while the approval waits",
                       404: NOT_FOUND + "; a decided approval or a digest"})
async def approval_document(request: web.Request) -> web.Response:
    principal = await require_principal(request, "enterprise", "agent")
    content, content_type = await approvals.document(request.app[STAMPING], principal,
                                                     path_uuid(request, "approval_id"))
    return web.Response(body=content, content_type=content_type, headers={
        "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"})


@documented(summary="批准用印 / approve: the seal is applied (face check `approve_stamp`)",
            tags=("approvals",), body=ApproveBody, response=ApprovalView,
            responses={200: "approved: the seals applied, the relying system's callback queued",
                       403: "not an approver of the seal now (`not_an_approver`); the grant was "
                            "withdrawn (`not_authorized`: the request ends, cause "
                            "`grant_revoked`)",
                       404: NOT_FOUND,
                       409: "already decided, expired or being decided (`approval_not_pending`); "
                            "the seal was revoked (`seal_revoked`: the request ends, cause "
                            "`seal_revoked`); the face token was used (`face_token_used`)",
                       410: "the face token expired (`face_token_expired`)",
                       422: "invalid face token"})
async def approve(request: web.Request) -> web.Response:
    principal = await require_principal(request, "enterprise", "agent")
    body = await parse_json(request, ApproveBody)
    view = await approvals.approve(request.app[STAMPING], principal,
                                   path_uuid(request, "approval_id"), body.face_token)
    return json_response(view)


@documented(summary="驳回用印 / reject: the request ends unstamped", tags=("approvals",),
            body=RejectBody, response=ApprovalView,
            responses={200: "rejected: the person and the relying system are told",
                       403: "not an approver of the seal now (`not_an_approver`)",
                       404: NOT_FOUND,
                       409: "already decided or expired (`approval_not_pending`)"})
async def reject(request: web.Request) -> web.Response:
    principal = await require_principal(request, "enterprise", "agent")
    body = await parse_json(request, RejectBody)
    view = await approvals.reject(request.app[STAMPING], principal,
                                  path_uuid(request, "approval_id"), body.reason)
    return json_response(view)


def setup_routes(app: web.Application) -> None:
    r = app.router
    r.add_get("/api/v1/approvals", list_approvals)
    r.add_get("/api/v1/approvals/{approval_id}", get_approval)
    r.add_get("/api/v1/approvals/{approval_id}/document", approval_document)
    r.add_post("/api/v1/approvals/{approval_id}/approve", approve)
    r.add_post("/api/v1/approvals/{approval_id}/reject", reject)
