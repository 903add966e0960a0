"""Path traversal through the gateway: every encoding of "go up" must be refused.

The gateway routes on one path and must forward exactly that path; a dot segment that
only appears after decoding (``%2e%2e``), an encoded or backslash separator, a NUL, a
double encoding or bytes that are not UTF-8 are refused with 400 ``invalid_path`` before
routing. Whatever the variant, the answer is never 2xx and never the content of an
internal endpoint (identity's signing keys, a service's metrics, the revocation list).

The requests are written byte for byte on a socket (``tests.support.rawhttp``): ordinary
clients would normalise the very paths under test.
"""

from __future__ import annotations

import asyncio

import pytest
from gateway.routes import ROUTES

from tests.conftest import Platform
from tests.support import rawhttp
from tests.support.rawhttp import RawResponse

from .conftest import HOST

pytestmark = pytest.mark.e2e

# Internal targets and a marker of their content (never to be seen from outside).
TARGETS = {
    "internal/jwks": b'"keys"',
    "metrics": b"# TYPE",
    "internal/revocations": b'"items"',
    "internal/ca": b"BEGIN CERTIFICATE",
}

# One "up" step in each spelling; all of these are dot segments once percent-decoded once
# (or raw), so the contract refuses them with 400 invalid_path.
UP_REFUSED = {
    "raw": "../",
    "lower": "%2e%2e/",
    "upper": "%2E%2E/",
    "mixed_case": "%2e%2E/",
    "half_left": ".%2e/",
    "half_right": "%2e./",
    "encoded_slash": "..%2f",
    "encoded_slash_upper": "%2e%2e%2F",
    "backslash": "..\\",
    "encoded_backslash": "..%5c",
    "encoded_backslash_upper": "%2e%2e%5C",
    "double_encoded": "%252e%252e/",
    "double_encoded_slash": "..%252f",
    "nul": "..%00/",
    "overlong_utf8": "%c0%ae%c0%ae/",
    "overlong_utf8_slash": "..%c0%af",
    "dot_then_up": "./../",
    "encoded_dot_segment": "%2e/%2e%2e/",
}
# Spellings a server might (wrongly) treat as "up": ``;params`` (Tomcat-style), trailing dots
# or spaces (Windows-style), unicode full stops. They are not dot segments for this platform:
# 400 invalid_path or 404, never the target.
UP_ODD = {
    "semicolon": "..;/",
    "semicolon_param": "..;x=1/",
    "encoded_semicolon": "..%3b/",
    "trailing_dots": ".../",
    "trailing_dot_space": "..%20/",
    "fullwidth_dots": "%ef%bc%8e%ef%bc%8e/",
    "one_dot_two": "%u002e%u002e/",
    "tab": "..%09/",
}


def prefixes() -> list[str]:
    """Every public prefix of the gateway, with a segment below it as an app would call."""
    out = []
    for route in ROUTES:
        p = route.prefix.rstrip("/")
        out.append(p + "/")
        out.append(p + "/00000000-0000-0000-0000-000000000000/")
    return out


def attacks(up: str) -> list[str]:
    paths = []
    for prefix in prefixes():
        depth = prefix.strip("/").count("/") + 1
        for target in TARGETS:
            paths.append(prefix + up * depth + target)
            paths.append(prefix + up * (depth + 3) + target)  # more than enough
    return paths


async def probe_all(
    platform: Platform, paths: list[str], port: int | None = None
) -> list[tuple[str, RawResponse]]:
    port = port or platform.config.port("gateway")
    gate = asyncio.Semaphore(12)

    async def one(path: str) -> tuple[str, RawResponse]:
        async with gate:
            return path, await rawhttp.get(HOST, port, path)

    return await asyncio.gather(*(one(p) for p in paths))


def leaked(r: RawResponse) -> bool:
    return r.status == 200 or any(marker in r.body for marker in TARGETS.values())


@pytest.mark.parametrize("up", list(UP_REFUSED.values()), ids=list(UP_REFUSED))
async def test_traversal_is_refused_with_invalid_path(platform: Platform, up: str) -> None:
    results = await probe_all(platform, attacks(up))
    leaks = [(p, r) for p, r in results if leaked(r)]
    assert not leaks, f"{len(leaks)} traversals reached an internal endpoint, e.g. {leaks[:3]}"
    wrong = [(p, r.status, r.code) for p, r in results if (r.status, r.code) != (400, "invalid_path")]
    assert not wrong, f"{len(wrong)} of {len(results)} not refused with 400 invalid_path, e.g. {wrong[:5]}"


@pytest.mark.parametrize("up", list(UP_ODD.values()), ids=list(UP_ODD))
async def test_odd_spellings_never_reach_internal_endpoints(platform: Platform, up: str) -> None:
    results = await probe_all(platform, attacks(up))
    leaks = [(p, r) for p, r in results if leaked(r)]
    assert not leaks, f"{len(leaks)} reached an internal endpoint, e.g. {leaks[:3]}"
    wrong = [
        (p, r.status, r.code)
        for p, r in results
        if not ((r.status, r.code) == (400, "invalid_path") or r.status in (401, 404))
    ]
    assert not wrong, f"{len(wrong)} answered neither 400 invalid_path nor 401/404, e.g. {wrong[:5]}"


@pytest.mark.parametrize(
    "path",
    [
        "/internal/jwks",
        "/metrics",
        "//internal/jwks",
        "/./internal/jwks",
        "/%2e/internal/jwks",
        "/api/v1/../../internal/jwks",
        "/api/v1/%2e%2e/%2e%2e/metrics",
        "/api%2fv1%2f..%2f..%2finternal/jwks",
        "http://127.0.0.1/internal/jwks",
        "/api/v1/support/%2e%2e/%2e%2e/%2e%2e/metrics",
        "/api/v1/persons/%2e%2e/%2e%2e/%2e%2e/internal/jwks",  # the reproduction
    ],
)
async def test_direct_spellings_of_internal_paths_are_not_served(platform: Platform, path: str) -> None:
    r = await rawhttp.get(HOST, platform.config.port("gateway"), path)
    assert not leaked(r) and r.status in (400, 404), r


@pytest.mark.parametrize("service", ["identity", "agents", "certs", "seals", "stamping", "notify"])
async def test_services_refuse_traversal_themselves(platform: Platform, service: str) -> None:
    """Defence in depth: a request that reached a service's public port directly with a
    hostile path is refused there too (the app factory's path guard)."""
    paths = [
        f"/api/v1/x/{up}{up}{up}internal/jwks"
        for up in ("%2e%2e/", ".%2e/", "..%2f", "..%5c", "%252e%252e/", "..%00/", "%c0%ae%c0%ae/")
    ]
    results = await probe_all(platform, paths, platform.config.port(service))
    leaks = [(p, r) for p, r in results if leaked(r)]
    assert not leaks, leaks[:3]
    wrong = [(p, r.status, r.code) for p, r in results if (r.status, r.code) != (400, "invalid_path")]
    assert not wrong, wrong
