#!/usr/bin/env bash
# Proof that the README's set-up works on a fresh Debian 12 (bookworm) machine with only
# Debian's packages, PyPI and npm: debootstrap a minimal root, copy a clean export of this
# repository (git archive HEAD) into it, and run the README's commands there.
#
#   sudo scripts/check-fresh-debian.sh [ROOT]          (default /var/tmp/eseal-debroot)
#
#   ESEAL_CHECK_RUN=0           skip the short `make run` (gateway answers, pages served)
#   ESEAL_CHECK_PYTEST="..."    PYTEST_ARGS for `make test` ("" skips it); default below
#
# The root runs in its own network namespace (a veth pair, NAT through this machine), PID
# namespace and mount namespace: its PostgreSQL, RabbitMQ and Redis use the usual ports
# without meeting this machine's, and every process and mount of the root ends with it.
# Only this machine's network settings are copied in (Debian apt sources, apt Acquire
# options, extra CA certificates, pip.conf, resolv.conf): nothing of its packages.
set -euo pipefail

ROOT="$(realpath -m "${1:-/var/tmp/eseal-debroot}")"
REPO="$(cd "$(dirname "$0")/.." && pwd)"
NS=eseal-fresh
PYTEST_DEFAULT="tests/browser/test_page_logic.py tests/e2e/test_platform_starts.py tests/browser/test_stamping_journey.py -x"
PYTEST="${ESEAL_CHECK_PYTEST-$PYTEST_DEFAULT}"
say() { echo "check-fresh-debian: $*"; }

[ "$(id -u)" = 0 ] || { echo "run as root (debootstrap, chroot, namespaces)" >&2; exit 1; }
missing=()
command -v debootstrap >/dev/null || missing+=(debootstrap)
command -v nft >/dev/null || missing+=(nftables)
command -v ip >/dev/null || missing+=(iproute2)
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# ------------------------------------------------------------------ the root
# This machine's Debian mirror (a proxy or a local mirror where one is configured).
mirror="$(grep -hoE '^(URIs:|deb) +[^ ]+' /etc/apt/sources.list /etc/apt/sources.list.d/*.sources \
            /etc/apt/sources.list.d/*.list 2>/dev/null | awk '{print $2}' \
          | grep -E '/debian/?$' | head -1 || true)"
mirror="${mirror:-http://deb.debian.org/debian}"
if [ ! -f "$ROOT/etc/debian_version" ]; then
  say "debootstrap --variant=minbase bookworm $ROOT $mirror"
  debootstrap --variant=minbase bookworm "$ROOT" "$mirror" >"$ROOT.debootstrap.log" 2>&1 \
    || { tail -20 "$ROOT.debootstrap.log"; exit 1; }
fi

# Debian's own sources only (Signed-By Debian's archive keyring, or a *.debian.org URI).
rm -f "$ROOT/etc/apt/sources.list"
for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list; do
  [ -f "$f" ] || continue
  if grep -qE 'debian-archive-keyring|[a-z.]*debian\.org/' "$f" \
     && ! grep -E '^(URIs:|deb )' "$f" | grep -vqE 'debian\.org/|/debian(-security)?/?( |$)'; then
    install -D -m 0644 "$f" "$ROOT$f"
  fi
done
for f in /etc/apt/apt.conf /etc/apt/apt.conf.d/*; do  # network options: proxy, validity
  [ -f "$f" ] && grep -q 'Acquire::' "$f" && install -D -m 0644 "$f" "$ROOT$f"
done
for f in /usr/local/share/ca-certificates/*; do
  [ -f "$f" ] && install -D -m 0644 "$f" "$ROOT$f"
done
[ -f /etc/ssl/certs/ca-certificates.crt ] \
  && install -D -m 0644 /etc/ssl/certs/ca-certificates.crt "$ROOT/etc/ssl/certs/ca-certificates.crt"
[ -f /etc/pip.conf ] && install -m 0644 /etc/pip.conf "$ROOT/etc/pip.conf"
cp -L /etc/resolv.conf "$ROOT/etc/resolv.conf"

# A clean export of the committed tree: nothing of this checkout's venv, node_modules, dist.
rm -rf "$ROOT/root/eseal"
mkdir -p "$ROOT/root/eseal"
git -C "$REPO" archive --format=tar HEAD | tar -x -C "$ROOT/root/eseal"
say "copied $(git -C "$REPO" rev-parse --short HEAD) ($(git -C "$REPO" log -1 --format=%s | cut -c1-60))"

# ------------------------------------------------------------------ the network
fwd_before="$(cat /proc/sys/net/ipv4/ip_forward)"
cleanup() {
  nft delete table ip eseal_fresh 2>/dev/null || true
  ip link delete esf0 2>/dev/null || true
  ip netns delete "$NS" 2>/dev/null || true
  echo "$fwd_before" >/proc/sys/net/ipv4/ip_forward
}
trap cleanup EXIT
cleanup
ip netns add "$NS"
ip link add esf0 type veth peer name esf1
ip link set esf1 netns "$NS"
ip addr add 10.213.0.1/30 dev esf0 && ip link set esf0 up
ip -n "$NS" link set lo up
ip -n "$NS" addr add 10.213.0.2/30 dev esf1 && ip -n "$NS" link set esf1 up
ip -n "$NS" route add default via 10.213.0.1
echo 1 >/proc/sys/net/ipv4/ip_forward
nft -f - <<'EOF'
table ip eseal_fresh {
  chain postrouting { type nat hook postrouting priority srcnat; ip saddr 10.213.0.0/30 masquerade; }
}
EOF

# ------------------------------------------------------------------ the README's commands
# Environment of a fresh login: a UTF-8 locale (the installer sets one), this machine's CA
# bundle for Node.js (pip reads /etc/pip.conf), nothing else of this machine's.
inside=$(cat <<EOF
set -euo pipefail
export HOME=/root LANG=C.UTF-8 PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt
cd /root/eseal
step() { echo; echo "+ \$*"; "\$@"; }
echo "Debian \$(cat /etc/debian_version), \$(dpkg -l | grep -c '^ii') packages before set-up"
for c in make python3 node npm psql rabbitmq-server redis-server chromium; do
  command -v \$c >/dev/null && echo "  \$c: present" || echo "  \$c: absent"
done
step ./scripts/ensure-system.sh
dpkg-query -W -f '  \${Package} \${Version}\n' make gcc python3 python3-dev python3-venv nodejs npm postgresql-15 rabbitmq-server redis-server
step make venv
step make web
echo "node \$(node --version), npm \$(npm --version), \$(.venv/bin/python --version)"
echo "vite \$(node -p 'require("./web/node_modules/vite/package.json").version'), pdfjs-dist \$(node -p 'require("./web/node_modules/pdfjs-dist/package.json").version')"
(cd web && step npm test 2>&1 | grep -E '^# (tests|pass|fail)')
ls web/dist
if [ "${ESEAL_CHECK_RUN:-1}" = 1 ]; then
  echo; echo "+ make run   (until the gateway serves the pages, then Ctrl-C)"
  # Job control on: the job gets its own process group and, unlike a plain background
  # command, does not ignore SIGINT, so the kill below is the user's Ctrl-C.
  set -m
  make run >/tmp/make-run.log 2>&1 &
  pid=\$!
  set +m
  ok=0
  for _ in \$(seq 1 180); do
    if .venv/bin/python - <<'PY' 2>/dev/null
import urllib.request
for path in ("/healthz", "/app/", "/verify/", "/demo/", "/api/v1/openapi.json"):
    with urllib.request.urlopen("http://127.0.0.1:8080" + path, timeout=3) as r:
        print(f"  GET {path} -> {r.status} ({len(r.read())} bytes)")
PY
    then ok=1; break; fi
    sleep 1
  done
  kill -INT -- -\$pid 2>/dev/null || true
  for _ in \$(seq 1 30); do kill -0 \$pid 2>/dev/null || break; sleep 1; done
  kill -0 \$pid 2>/dev/null && { echo "make run: still running 30 s after Ctrl-C"; kill -KILL -- -\$pid; }
  wait \$pid || true
  echo "  make run stopped; processes left: \$(cat /proc/[0-9]*/cmdline 2>/dev/null | tr '\\0' ' ' | grep -oE 'python -m (devstack|identity|agents|certs|seals|stamping|notify|gateway)' | wc -l)"
  grep -iE 'http://|error|warn' /tmp/make-run.log | head -20 || true
  [ \$ok = 1 ] || { echo "make run: the gateway did not answer"; tail -40 /tmp/make-run.log; exit 1; }
fi
if [ -n "$PYTEST" ]; then
  step make test PYTEST_ARGS="$PYTEST"
fi
dpkg-query -W -f '  \${Package} \${Version}\n' chromium 2>/dev/null || true
echo "\$(dpkg -l | grep -c '^ii') packages after set-up"
echo; echo "FRESH DEBIAN CHECK PASSED"
EOF
)
say "entering $ROOT (network namespace $NS)"
# New PID and mount namespaces: the root's daemons and mounts end when this command ends.
ip netns exec "$NS" unshare --pid --mount --fork --propagation private bash -c '
  set -e
  root="$1"; shift
  mount -t proc proc "$root/proc"
  mount -t sysfs sysfs "$root/sys"
  mount --rbind /dev "$root/dev"
  mount -t tmpfs -o mode=1777 tmpfs "$root/dev/shm"
  mount -t tmpfs tmpfs "$root/run"
  mount -t tmpfs -o mode=1777 tmpfs "$root/tmp"
  chroot "$root" /usr/bin/env -i TERM="${TERM:-dumb}" /bin/bash -c "$1"
' check "$ROOT" "$inside" 2>&1
say "done; the root's processes and mounts are gone with its namespaces"
