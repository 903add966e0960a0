"""Relying systems: registration (by ops, CLI), OAuth2 client credentials, token checks."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import asyncpg

from ..adapters import credentials, repository
from ..adapters.repository import Client
from ..domain.errors import InvalidClient, InvalidClientToken, OAuthError
from .context import Stamping

MAX_NAME = 100


@dataclass(frozen=True)
class NewClient:
    client_id: uuid.UUID
    name: str
    client_secret: str
    webhook_secret: str


async def create_client(pool: asyncpg.Pool, name: str) -> NewClient:
    """The secrets are returned once; only the client secret's argon2id hash is stored."""
    name = name.strip()
    if not 1 <= len(name) <= MAX_NAME:
        raise ValueError(f"the name must have 1 to {MAX_NAME} characters")
    client = NewClient(uuid.uuid4(), name, credentials.new_secret(), "whsec_" + credentials.new_secret())
    secret_hash = await credentials.hash_secret(client.client_secret)
    async with pool.acquire() as conn:
        await repository.insert_client(conn, client.client_id, name, secret_hash, client.webhook_secret)
    return client


async def issue_token(ctx: Stamping, client_id: str | None, secret: str | None,
                      grant_type: str | None) -> dict[str, object]:
    """RFC 6749 §4.4 client credentials grant."""
    if client_id is None or secret is None:
        raise InvalidClient("authenticate with HTTP Basic (client_id:client_secret)")
    try:
        cid = uuid.UUID(client_id)
    except ValueError:
        cid = None
    async with ctx.pool.acquire() as conn:
        stored = await repository.client_secret_hash(conn, cid) if cid else None
    # Verified even for an unknown client, so timing says nothing about which ids exist.
    if not await credentials.verify_secret(stored, secret) or cid is None:
        raise InvalidClient("unknown client or wrong secret")
    if not grant_type:
        raise OAuthError("invalid_request", "grant_type is required")
    if grant_type != "client_credentials":
        raise OAuthError("unsupported_grant_type", "only grant_type=client_credentials is supported")
    return {"access_token": ctx.tokens.issue(cid), "token_type": "Bearer",
            "expires_in": ctx.tokens.ttl}


async def authenticate(ctx: Stamping, token: str) -> Client:
    client_id = ctx.tokens.verify(token)
    async with ctx.pool.acquire() as conn:
        client = await repository.get_client(conn, client_id)
    if client is None or client.disabled:
        raise InvalidClientToken("this client has been disabled")
    return client
