"""Container health check: GET /healthz on this service's port.

Used by the Dockerfile's HEALTHCHECK and by docker-compose.yml. The image has no curl, so
this uses only the standard library. Exit status 0 = healthy, 1 = unhealthy.
"""

import os
import sys
import urllib.request

# Default ports, as in docs/CONVENTIONS.md (ESEAL_PORT overrides).
DEFAULT_PORTS = {
    "gateway": 8080,
    "identity": 8101,
    "agents": 8102,
    "certs": 8103,
    "seals": 8104,
    "stamping": 8105,
    "notify": 8106,
}


def main() -> int:
    port = os.environ.get("ESEAL_PORT") or DEFAULT_PORTS.get(os.environ.get("ESEAL_SERVICE", ""))
    if not port:
        print("healthcheck: set ESEAL_SERVICE or ESEAL_PORT", file=sys.stderr)
        return 1
    # No proxies: an HTTP(S)_PROXY in the environment must not intercept loopback.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        # Raises HTTPError for any non-2xx answer.
        with opener.open(f"http://127.0.0.1:{port}/healthz", timeout=3) as response:
            response.read()
    except Exception as exc:  # noqa: BLE001 - any failure means unhealthy
        print(f"healthcheck: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
