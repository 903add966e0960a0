"""Shapes of notify's public answers, for the OpenAPI document that the gateway generates.
Documentation only: the handlers build the bodies (``views.message_json``)."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, Field

from ..domain.model import Kind


class MessageView(BaseModel):
    message_id: uuid.UUID
    kind: Kind
    title: str = Field(description="as the app shows it (Chinese)")
    body: str
    created_at: datetime
    read: bool


class MessagePage(BaseModel):
    items: list[MessageView] = Field(description="newest first")
    next_cursor: str | None
    unread_count: int


class SupportContacts(BaseModel):
    phone: str
    qq_group: str
    hours: str
