"""eseal's common library. Public API below; everything else is an implementation detail."""

from .auth import Principal, TokenVerifier, require_principal
from .consumer import Consumer, handlers_for
from .errors import (
    BadRequest,
    ConcurrencyError,
    Conflict,
    EsealError,
    Forbidden,
    Gone,
    Locked,
    NotAuthenticated,
    NotFound,
    PayloadTooLarge,
    RateLimited,
    ServiceUnavailable,
    ValidationFailed,
)
from .events import DomainEvent, Envelope, event, upcaster
from .eventstore import Checkpoint, EventStore, StoredEvent
from .http import ApiModel, json_response, parse_json, parse_query, path_uuid
from .internal import ServiceClient, require_internal
from .projections import Projection, rebuild
from .relay import Relay
from .service import DB, HTTP, SETTINGS, STORE, ServiceSpec, build_app, client, main
from .settings import ServiceSettings

__all__ = [
    "ApiModel", "BadRequest", "Checkpoint", "ConcurrencyError", "Conflict", "Consumer", "DB",
    "DomainEvent", "Envelope", "EsealError", "EventStore", "Forbidden", "Gone", "HTTP", "Locked",
    "NotAuthenticated", "NotFound", "PayloadTooLarge", "Principal", "Projection", "RateLimited",
    "Relay", "SETTINGS", "STORE", "ServiceClient", "ServiceSettings", "ServiceSpec",
    "ServiceUnavailable", "StoredEvent", "TokenVerifier", "ValidationFailed", "build_app", "client",
    "event", "handlers_for", "json_response", "main", "parse_json", "parse_query", "path_uuid",
    "rebuild", "require_internal", "require_principal", "upcaster",
]
