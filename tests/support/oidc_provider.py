"""A local OpenID Connect provider (统一身份认证 stand-in) for the tests.

Discovery, ``/authorize`` (no login page: it approves ``provider.user`` at once and sends the
browser back to the redirect URI with ``code`` and ``state``), ``/token`` (client secret by
HTTP Basic or form; the PKCE S256 verifier is checked; codes are single use) and ``/jwks``.
ID tokens are ES256 with the provider's current key.

Knobs, set by a test before the login it concerns (``provider.reset()`` restores them):
``wrong_nonce``, ``bad_signature`` (signed with a key the JWKS does not hold, same kid),
``audience`` (another ``aud``), ``expired`` (exp and iat an hour ago), ``omit_id_number``;
``rotate_key()`` starts signing with a new kid (the relying party must refetch the JWKS).

It runs in the test's event loop (``await provider.start()``), or in a thread of its own
(``provider.start_in_thread()``) for the platform's processes, whatever loop a test uses.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote_plus, urlencode

import jwt
from aiohttp import BasicAuth, web
from cryptography.hazmat.primitives.asymmetric import ec

from tests.support.threaded_app import AppThread, serve

CLIENT_ID = "eseal-h5"
CLIENT_SECRET = "local-oidc-client-secret-for-tests-only"  # noqa: S105 - a test double's


@dataclass
class User:
    sub: str
    id_number: str | None
    name: str = "测试用户"


@dataclass
class _Code:
    client_id: str
    redirect_uri: str
    challenge: str
    nonce: str
    user: User
    used: bool = False


@dataclass
class OidcProvider:
    host: str = "127.0.0.1"
    port: int = 0
    client_id: str = CLIENT_ID
    client_secret: str = CLIENT_SECRET
    id_number_claim: str = "id_number"
    user: User | None = None
    wrong_nonce: bool = False
    bad_signature: bool = False
    audience: str | None = None
    expired: bool = False
    omit_id_number: bool = False
    token_requests: int = 0
    jwks_requests: int = 0
    _codes: dict[str, _Code] = field(default_factory=dict)
    _kid: str = "key-1"
    _key: ec.EllipticCurvePrivateKey = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))
    _runner: web.AppRunner | None = None
    _thread: AppThread | None = None

    # --- running ---------------------------------------------------------------------------

    @property
    def issuer(self) -> str:
        return f"http://{self.host}:{self.port}"

    def settings(self, redirect_uri: str) -> dict[str, str]:
        """The ESEAL_OIDC_* environment of a platform that logs in here."""
        return {"ESEAL_OIDC_ISSUER": self.issuer, "ESEAL_OIDC_CLIENT_ID": self.client_id,
                "ESEAL_OIDC_CLIENT_SECRET": self.client_secret, "ESEAL_OIDC_REDIRECT_URI": redirect_uri,
                "ESEAL_OIDC_ID_NUMBER_CLAIM": self.id_number_claim}

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/.well-known/openid-configuration", self._discovery)
        app.router.add_get("/authorize", self._authorize)
        app.router.add_post("/token", self._token)
        app.router.add_get("/jwks", self._jwks)
        return app

    async def start(self) -> OidcProvider:
        self._runner, self.port = await serve(self.app(), self.host, self.port, access_log=None)
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def start_in_thread(self) -> OidcProvider:
        self._thread = AppThread("oidc-provider", self.start, self.stop).start("the local OIDC provider")
        return self

    def stop_thread(self) -> None:
        if self._thread is not None:
            self._thread.stop()

    # --- knobs -----------------------------------------------------------------------------

    def reset(self, user: User | None = None) -> None:
        self.user = user
        self.wrong_nonce = self.bad_signature = self.expired = self.omit_id_number = False
        self.audience = None

    def rotate_key(self) -> None:
        self._key = ec.generate_private_key(ec.SECP256R1())
        self._kid = f"key-{secrets.token_hex(4)}"

    # --- endpoints -------------------------------------------------------------------------

    async def _discovery(self, request: web.Request) -> web.Response:
        i = self.issuer
        return web.json_response({
            "issuer": i, "authorization_endpoint": f"{i}/authorize", "token_endpoint": f"{i}/token",
            "jwks_uri": f"{i}/jwks", "response_types_supported": ["code"],
            "subject_types_supported": ["public"], "id_token_signing_alg_values_supported": ["ES256"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"]})

    async def _jwks(self, request: web.Request) -> web.Response:
        self.jwks_requests += 1
        jwk = jwt.algorithms.ECAlgorithm.to_jwk(self._key.public_key(), as_dict=True)
        return web.json_response({"keys": [{**jwk, "kid": self._kid, "use": "sig", "alg": "ES256"}]})

    async def _authorize(self, request: web.Request) -> web.Response:
        q = request.query
        if q.get("client_id") != self.client_id or q.get("response_type") != "code":
            return web.Response(status=400, text="unknown client or response type")
        if q.get("code_challenge_method") != "S256" or not q.get("code_challenge"):
            return web.Response(status=400, text="PKCE S256 required")
        if "openid" not in q.get("scope", "").split() or not q.get("nonce") or not q.get("state"):
            return web.Response(status=400, text="openid scope, nonce and state required")
        if self.user is None:
            return web.Response(status=403, text="no user is logged in at the test provider")
        code = secrets.token_urlsafe(24)
        self._codes[code] = _Code(self.client_id, q["redirect_uri"], q["code_challenge"], q["nonce"],
                                  self.user)
        sep = "&" if "?" in q["redirect_uri"] else "?"
        raise web.HTTPFound(f"{q['redirect_uri']}{sep}{urlencode({'code': code, 'state': q['state']})}")

    async def _token(self, request: web.Request) -> web.Response:
        self.token_requests += 1
        form = await request.post()
        client_id, secret = str(form.get("client_id", "")), str(form.get("client_secret", ""))
        if "Authorization" in request.headers:
            basic = BasicAuth.decode(request.headers["Authorization"])
            client_id, secret = unquote_plus(basic.login), unquote_plus(basic.password)
        if client_id != self.client_id or not secrets.compare_digest(secret, self.client_secret):
            return _oauth_error(401, "invalid_client")
        code = self._codes.get(str(form.get("code", "")))
        if form.get("grant_type") != "authorization_code" or code is None or code.used:
            return _oauth_error(400, "invalid_grant")
        code.used = True
        if form.get("redirect_uri") != code.redirect_uri:
            return _oauth_error(400, "invalid_grant")
        verifier = str(form.get("code_verifier", ""))
        if not verifier or _s256(verifier) != code.challenge:
            return _oauth_error(400, "invalid_grant")
        return web.json_response({"access_token": secrets.token_urlsafe(24), "token_type": "Bearer",
                                  "expires_in": 300, "id_token": self._id_token(code)},
                                 headers={"Cache-Control": "no-store"})

    def _id_token(self, code: _Code) -> str:
        now = int(time.time()) - (3600 if self.expired else 0)
        claims: dict[str, Any] = {
            "iss": self.issuer, "sub": code.user.sub, "aud": self.audience or code.client_id,
            "iat": now, "exp": now + 300, "auth_time": now, "name": code.user.name,
            "nonce": "not-the-nonce-sent" if self.wrong_nonce else code.nonce}
        if code.user.id_number is not None and not self.omit_id_number:
            claims[self.id_number_claim] = code.user.id_number
        key = ec.generate_private_key(ec.SECP256R1()) if self.bad_signature else self._key
        return jwt.encode(claims, key, algorithm="ES256", headers={"kid": self._kid})


def _s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def _oauth_error(status: int, error: str) -> web.Response:
    return web.json_response({"error": error}, status=status)


async def authorize(authorization_url: str) -> dict[str, str]:
    """What a browser would bring back from the provider: the callback URL's query
    (``code`` and ``state``; or ``status`` and ``text`` when the provider refused)."""
    from urllib.parse import parse_qsl, urlsplit

    import aiohttp

    async with aiohttp.ClientSession() as http, http.get(authorization_url, allow_redirects=False) as r:
        if r.status != 302:
            return {"status": str(r.status), "text": await r.text()}
        return dict(parse_qsl(urlsplit(r.headers["Location"]).query))
