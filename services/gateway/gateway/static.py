"""The web pages, served from the Vite build (``web/dist``) beside the API.

- ``/app/``    the H5 client (a single-page app: unknown paths get its ``index.html``),
- ``/demo/``   the demo relying system, ``/verify/`` the public verification page,
- ``/assets/`` their shared, content-hashed files: cached for a year, immutable,
- ``/``        redirects to ``/app/``.

``index.html`` is ``no-cache`` (revalidated with its ETag on every load), so a new build
reaches browsers at once while the hashed assets it names stay cached. The build is looked
up on each request: building while the gateway runs needs no restart, and a missing build
is a 503 problem saying how to make it, not a bare 404.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from aiohttp import web

from shared.errors import NotFound, ServiceUnavailable

DEFAULT_DIST = Path(__file__).resolve().parents[3] / "web" / "dist"
PAGES = ("app", "demo", "verify")

IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"

# The pages load only their own files; blob: for images made in the browser (seal images
# fetched with a token, QR codes) and pdf.js's canvas; the camera stream is not a URL.
CSP = "; ".join((
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' blob: data:",
    "font-src 'self' data:",
    "connect-src 'self'",
    "worker-src 'self' blob:",
    "media-src 'self' blob: mediastream:",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
))
PAGE_HEADERS = {
    "Cache-Control": REVALIDATE,
    "Content-Security-Policy": CSP,
    "Permissions-Policy": "camera=(self), microphone=(), geolocation=()",
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class WebBuild:
    def __init__(self, dist: Path) -> None:
        self.dist = dist.resolve()

    def _inside(self, base: Path, tail: str) -> Path | None:
        """``base/tail`` when it is a file under ``base`` (no ``..`` escapes), else None."""
        candidate = (base / tail).resolve()
        if candidate != base and base not in candidate.parents:
            return None
        return candidate if candidate.is_file() else None

    def page(self, name: str) -> Handler:
        root = self.dist / name

        async def serve(request: web.Request) -> web.StreamResponse:
            index = root / "index.html"
            if not index.is_file():
                raise ServiceUnavailable(
                    f"the web pages are not built ({index} is missing): run `make web` "
                    "(cd web && npm ci && npm run build)", code="web_not_built")
            tail = request.match_info["tail"]
            found = self._inside(root, tail) if tail else index
            if found is None:
                if "." in tail.rsplit("/", 1)[-1]:
                    raise NotFound(f"no such file: /{name}/{tail}")
                found = index  # a client-side route of the single-page app
            headers = PAGE_HEADERS if found.suffix == ".html" else {
                "Cache-Control": REVALIDATE, "X-Content-Type-Options": "nosniff"}
            return web.FileResponse(found, headers=headers)

        return serve

    async def asset(self, request: web.Request) -> web.StreamResponse:
        found = self._inside(self.dist / "assets", request.match_info["tail"])
        if found is None:
            raise NotFound("no such asset")
        return web.FileResponse(found, headers={"Cache-Control": IMMUTABLE,
                                                "X-Content-Type-Options": "nosniff"})


def _redirect(location: str) -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        query = f"?{request.query_string}" if request.query_string else ""
        raise web.HTTPFound(location + query)

    return handler


def setup_static(app: web.Application, dist: Path | None = None) -> None:
    """Add the web pages' routes to the gateway (after its API routes)."""
    build = WebBuild(dist or DEFAULT_DIST)
    app.router.add_get("/", _redirect("/app/"))
    for name in PAGES:
        app.router.add_get(f"/{name}", _redirect(f"/{name}/"))
        app.router.add_get(f"/{name}/{{tail:.*}}", build.page(name))
    app.router.add_get("/assets/{tail:.*}", build.asset)
