"""The published event catalogue matches the models (regenerate: python -m shared.catalog_export)."""

from __future__ import annotations

import json
from pathlib import Path

from shared.catalog_export import asyncapi, event_schemas

DOCS = Path(__file__).resolve().parents[2] / "docs" / "events"
EVENTS_MD = {"PersonRegistered", "EnterpriseRegistered", "PersonVerified", "EnterpriseVerified",
             "AgentAdded", "AgentUpdated", "AgentRemoved",
             "AgentPasswordChanged", "CertificateIssued", "CertificateRevoked", "SealIssued",
             "SealRevoked", "AuthorizationGranted", "AuthorizationUpdated", "AuthorizationRevoked",
             "PersonalSignatureCreated", "PersonalSignatureDeleted", "StampRequested", "StampApplied",
             "StampRequestExpired"}


def test_every_event_of_the_handbook_catalogue_is_published() -> None:
    assert EVENTS_MD <= set(event_schemas())


def test_committed_schema_files_are_current() -> None:
    for name, schema in event_schemas().items():
        committed = json.loads((DOCS / f"{name}.schema.json").read_text(encoding="utf-8"))
        assert committed == schema, f"{name}: run python -m shared.catalog_export docs/events"
    committed = json.loads((DOCS / "asyncapi.json").read_text(encoding="utf-8"))
    assert committed == asyncapi(event_schemas())


def test_no_event_carries_a_secret_field() -> None:
    forbidden = ("password", "secret", "token", "code", "private", "id_number", "phone")
    for name, schema in event_schemas().items():
        for field in schema["properties"]:
            allowed = field.endswith("_masked") or field == "person_key"
            assert allowed or not any(f in field for f in forbidden), f"{name}.{field}"
