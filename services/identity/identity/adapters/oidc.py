"""The OpenID Connect relying party of 统一身份认证 login (authorization code with PKCE).

What the provider says is read from its discovery document (cached an hour); its signing
keys from its JWKS (cached, fetched again when an ID token names an unknown ``kid``). The
code is exchanged at the token endpoint with the PKCE verifier and the client secret (HTTP
Basic); the ID token is then verified here with PyJWT: signature (asymmetric algorithms
only), ``iss``, ``aud`` (and ``azp``), ``exp``/``iat`` with a small leeway, ``nonce``. The
client secret is never logged.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any
from urllib.parse import quote, urlencode

import aiohttp
import jwt

from shared.logging import get_logger

from ..domain.errors import OidcLoginRefused, OidcProviderUnavailable

log = get_logger(__name__)

# Asymmetric only: "none" and the HMAC family (keyed with the client secret) are refused.
ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512")
LEEWAY_SECONDS = 60
_DISCOVERY_TTL = 3600.0
_JWKS_MIN_REFRESH = 10.0  # the same unknown kid refetches the JWKS at most this often
_TIMEOUT = aiohttp.ClientTimeout(total=10)


class OidcClient:
    def __init__(self, http: aiohttp.ClientSession, issuer: str, client_id: str, client_secret: str,
                 redirect_uri: str, scopes: str) -> None:
        self._http = http  # the process's client session (traced)
        self.issuer = issuer.rstrip("/")
        self.client_id, self.redirect_uri = client_id, redirect_uri
        self._secret = client_secret
        words = scopes.split()
        self.scopes = " ".join(["openid", *[w for w in words if w != "openid"]])
        self._discovery: dict[str, Any] | None = None
        self._discovered_at = 0.0
        self._keys: dict[str, jwt.PyJWK] = {}
        self._missed: dict[str, float] = {}  # unknown kid -> when the JWKS was refetched for it
        self._lock = asyncio.Lock()

    def __repr__(self) -> str:  # never the secret
        return f"OidcClient(issuer={self.issuer!r}, client_id={self.client_id!r})"

    async def _get_json(self, url: str) -> dict[str, Any]:
        try:
            async with self._http.get(url, headers={"Accept": "application/json"}, timeout=_TIMEOUT) as resp:
                if resp.status != 200:
                    log.warning("oidc_provider_answer", url=url, status=resp.status)
                    raise OidcProviderUnavailable()
                data = await resp.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            log.warning("oidc_provider_unreachable", url=url, error=repr(exc))
            raise OidcProviderUnavailable() from None
        if not isinstance(data, dict):
            raise OidcProviderUnavailable()
        return data

    async def discovery(self) -> dict[str, Any]:
        async with self._lock:
            if self._discovery is None or time.monotonic() - self._discovered_at > _DISCOVERY_TTL:
                doc = await self._get_json(f"{self.issuer}/.well-known/openid-configuration")
                if str(doc.get("issuer", "")).rstrip("/") != self.issuer:
                    log.warning("oidc_discovery_issuer_mismatch", issuer=doc.get("issuer"))
                    raise OidcProviderUnavailable()
                for name in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
                    if not isinstance(doc.get(name), str):
                        raise OidcProviderUnavailable()
                self._discovery, self._discovered_at = doc, time.monotonic()
            return self._discovery

    async def authorization_url(self, state: str, nonce: str, code_challenge: str) -> str:
        endpoint = str((await self.discovery())["authorization_endpoint"])
        query = urlencode({"response_type": "code", "client_id": self.client_id,
                           "redirect_uri": self.redirect_uri, "scope": self.scopes,
                           "state": state, "nonce": nonce, "code_challenge": code_challenge,
                           "code_challenge_method": "S256"})
        return f"{endpoint}{'&' if '?' in endpoint else '?'}{query}"

    async def exchange(self, code: str, code_verifier: str, nonce: str) -> dict[str, Any]:
        """The verified claims of the ID token the code is worth (``OidcLoginRefused`` else)."""
        endpoint = str((await self.discovery())["token_endpoint"])
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": self.redirect_uri,
                "code_verifier": code_verifier, "client_id": self.client_id}
        try:
            async with self._http.post(endpoint, data=form, headers={"Accept": "application/json"},
                                       auth=self._client_auth(),
                                       timeout=_TIMEOUT) as resp:
                body = await resp.json(content_type=None)
                status = resp.status
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            log.warning("oidc_token_endpoint_unreachable", error=repr(exc))
            raise OidcProviderUnavailable() from None
        if status >= 500:
            raise OidcProviderUnavailable()
        error = body.get("error") if isinstance(body, dict) else None
        if error == "invalid_client":  # the deployment's client id or secret, not the user
            log.error("oidc_client_refused_by_provider", status=status, client_id=self.client_id)
            raise OidcProviderUnavailable()
        if status != 200 or not isinstance(body, dict):
            log.info("oidc_code_refused", status=status, error=error)
            raise OidcLoginRefused("code_refused")
        id_token = body.get("id_token")
        if not isinstance(id_token, str):
            raise OidcLoginRefused("no_id_token")
        return await self.verify(id_token, nonce)

    def _client_auth(self) -> aiohttp.BasicAuth:
        """client_secret_basic: id and secret form-urlencoded first (RFC 6749 §2.3.1)."""
        return aiohttp.BasicAuth(quote(self.client_id, safe=""), quote(self._secret, safe=""))

    async def verify(self, id_token: str, nonce: str) -> dict[str, Any]:
        await self.discovery()  # where the keys are
        try:
            header = jwt.get_unverified_header(id_token)
        except jwt.PyJWTError:
            raise OidcLoginRefused("malformed") from None
        alg = header.get("alg")
        if alg not in ALGORITHMS:
            raise OidcLoginRefused("algorithm")
        key = await self._key(header.get("kid"))
        try:
            claims: dict[str, Any] = jwt.decode(
                id_token, key.key, algorithms=[alg], audience=self.client_id, issuer=self.issuer,
                leeway=LEEWAY_SECONDS, options={"require": ["iss", "aud", "sub", "exp", "iat"]})
        except jwt.InvalidSignatureError:
            raise OidcLoginRefused("signature") from None
        except jwt.ExpiredSignatureError:
            raise OidcLoginRefused("expired") from None
        except jwt.InvalidAudienceError:
            raise OidcLoginRefused("audience") from None
        except jwt.InvalidIssuerError:
            raise OidcLoginRefused("issuer") from None
        except jwt.ImmatureSignatureError:
            raise OidcLoginRefused("not_yet_valid") from None
        except jwt.PyJWTError as exc:
            log.info("oidc_id_token_refused", error=type(exc).__name__)
            raise OidcLoginRefused("invalid") from None
        audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        if (len(audiences) > 1 or "azp" in claims) and claims.get("azp") != self.client_id:
            raise OidcLoginRefused("audience")
        if not isinstance(claims.get("nonce"), str) or claims["nonce"] != nonce:
            raise OidcLoginRefused("nonce")
        if not isinstance(claims.get("sub"), str) or not claims["sub"]:
            raise OidcLoginRefused("invalid")
        return claims

    async def _key(self, kid: Any) -> jwt.PyJWK:
        async with self._lock:
            key, now = self._pick(kid), time.monotonic()
            if key is None and now - self._missed.get(str(kid), -_JWKS_MIN_REFRESH) >= _JWKS_MIN_REFRESH:
                self._missed = {k: t for k, t in self._missed.items() if now - t < _JWKS_MIN_REFRESH}
                self._missed[str(kid)] = now
                await self._load_keys()
                key = self._pick(kid)
        if key is None:
            raise OidcLoginRefused("unknown_key")
        return key

    def _pick(self, kid: Any) -> jwt.PyJWK | None:
        if kid is None:
            return next(iter(self._keys.values())) if len(self._keys) == 1 else None
        return self._keys.get(str(kid))

    async def _load_keys(self) -> None:
        if self._discovery is None:
            raise OidcProviderUnavailable()
        jwks = await self._get_json(str(self._discovery["jwks_uri"]))
        keys: dict[str, jwt.PyJWK] = {}
        for i, jwk in enumerate(jwks.get("keys") or []):
            if not isinstance(jwk, dict) or jwk.get("use", "sig") != "sig":
                continue
            try:
                keys[str(jwk.get("kid", i))] = jwt.PyJWK(jwk)
            except jwt.PyJWTError:
                continue  # a key of a kind not used here
        self._keys = keys
