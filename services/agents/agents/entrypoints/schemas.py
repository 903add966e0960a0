"""Shapes of the agents API's answers, for the OpenAPI document that the gateway generates.
Documentation only: the handlers build the bodies (``service_layer.handlers.view``)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Literal

from pydantic import BaseModel, Field


class AgentView(BaseModel):
    agent_id: uuid.UUID
    name: str
    id_type: Literal["resident_id_card"]
    id_number_masked: str = Field(description="only the last 4 characters visible")
    phone_masked: str = Field(description="only the last 4 digits visible")
    id_valid_from: date
    id_valid_to: date | None = Field(description="null for a long-term ID card")
    id_long_term: bool
    valid_from: date = Field(description="first day the agent may act")
    valid_to: date = Field(description="last day the agent may act")
    can_manage: bool = Field(description="the management permission (seals and grants)")
    status: Literal["pending", "active", "expired"]


class AgentPage(BaseModel):
    items: list[AgentView]
    next_cursor: str | None
