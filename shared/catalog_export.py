"""Publish the public event catalogue for subscribers: JSON Schema per event + AsyncAPI 3.

``python -m shared.catalog_export docs/events`` rewrites the files; a test keeps them current.
``bundled()`` is the same AsyncAPI document with the schemas inside (what the gateway serves
at ``GET /api/v1/events/asyncapi.json``). ``CATALOG_VERSION`` is the catalogue's version: a
breaking change to a released event needs a new major version and a new released copy
(``docs/events/released/``, ``shared.catalog_compat``).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from . import catalog  # noqa: F401 - registers the public events
from .bus import EVENTS_EXCHANGE
from .events import Envelope, registered_events

CATALOG_VERSION = "1.0.0"


def event_schemas() -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for name, cls in sorted(registered_events().items()):
        if not cls.public or cls.__module__ != catalog.__name__:
            continue
        schema = cls.model_json_schema(mode="serialization")
        schema["title"] = name
        schema["x-routing-key"] = f"{cls.producer}.{name}"
        schema["x-schema-version"] = cls.schema_version
        schema["x-stream-type"] = cls.stream_type
        out[name] = schema
    return out


def asyncapi(schemas: dict[str, dict[str, Any]]) -> dict[str, Any]:
    envelope = Envelope.model_json_schema(mode="serialization")
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for name, schema in schemas.items():
        key = schema["x-routing-key"]
        payload = json.loads(json.dumps(envelope))
        payload["properties"]["data"] = {"$ref": f"./{name}.schema.json"}
        payload["properties"]["type"] = {"const": name}
        messages[name] = {"name": name, "contentType": "application/json", "payload": payload}
        channels[key] = {
            "address": key,
            "messages": {name: {"$ref": f"#/components/messages/{name}"}},
            "bindings": {"amqp": {"is": "routingKey", "exchange": {
                "name": EVENTS_EXCHANGE, "type": "topic", "durable": True, "autoDelete": False}}},
        }
        channel_ref = f"#/channels/{key.replace('/', '~1')}"
        operations[f"receive{name}"] = {"action": "receive", "channel": {"$ref": channel_ref}}
    return {
        "asyncapi": "3.0.0",
        "info": {"title": "eseal public domain events", "version": CATALOG_VERSION,
                 "description": "Events on the durable topic exchange eseal.events; routing key "
                                "<producer>.<Type>; AMQP message_id = event_id."},
        "defaultContentType": "application/json",
        "channels": channels, "operations": operations, "components": {"messages": messages},
    }


def bundled() -> dict[str, Any]:
    """The AsyncAPI document with every event schema inside (``components.schemas``)."""
    schemas = event_schemas()
    document = asyncapi(schemas)
    for message in document["components"]["messages"].values():
        message["payload"]["properties"]["data"] = {"$ref": f"#/components/schemas/{message['name']}"}
    document["components"]["schemas"] = schemas
    return document


def write(target: Path) -> list[Path]:
    target.mkdir(parents=True, exist_ok=True)
    schemas = event_schemas()
    files = []
    for name, schema in schemas.items():
        p = target / f"{name}.schema.json"
        p.write_text(json.dumps(schema, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        files.append(p)
    p = target / "asyncapi.json"
    p.write_text(json.dumps(asyncapi(schemas), ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    files.append(p)
    return files


if __name__ == "__main__":
    for f in write(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/events")):
        print(f)
