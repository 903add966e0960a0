#!/usr/bin/env bash
# Make a Debian 12 (bookworm) machine ready for eseal, from Debian's own packages only:
# installs with apt-get what is missing, starts PostgreSQL, RabbitMQ and Redis where they
# are installed but not running, waits until each answers, gives PostgreSQL the settings
# the test suite needs (trust on loopback, max_connections >= 300) and enables RabbitMQ's
# management plugin (HTTP API on 127.0.0.1:15672).
#
#   ./scripts/ensure-system.sh [all|python|node|browser|services]     (default: all)
#
#   python    python3 with venv, make                      (make venv)
#   node      Node.js >= 18.19 and npm                     (make web)
#   browser   Debian's chromium                            (tests/browser)
#   services  fonts, poppler, PostgreSQL, RabbitMQ, Redis  (make run, make test)
#   all       python + node + services, and browser when ESEAL_WITH_BROWSER=1
#
# Safe to run again: it only acts on what is missing. Used by `make run`, `make test` and
# .ci/run. Needs root (or sudo) only when something has to be installed or started.
set -euo pipefail

mode="${1:-all}"
case "$mode" in all|python|node|browser|services) ;; *)
  echo "usage: $0 [all|python|node|browser|services]" >&2; exit 2 ;;
esac
want() { [ "$mode" = all ] || [ "$mode" = "$1" ]; }
say() { echo "eseal: $*"; }
die() { echo "eseal: $*" >&2; exit 1; }

# Root, or sudo; a plain user without sudo gets the command to run instead.
as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"
  elif command -v sudo >/dev/null; then sudo "$@"
  else die "needs root for: $* (run this script as root, or install sudo)"
  fi
}
# systemd is PID 1 on a booted machine; in containers and chroots it is not, and the
# services are started directly.
have_systemd() { [ -d /run/systemd/system ]; }

# ---------------------------------------------------------------- packages
need=()
node_ok() {
  command -v node >/dev/null && node -e '
    const [a, b] = process.versions.node.split(".").map(Number)
    process.exit(a > 18 || (a === 18 && b >= 19) ? 0 : 1)'
}
tcp_up() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

if want python || want node; then
  [ -s /etc/ssl/certs/ca-certificates.crt ] || need+=(ca-certificates)
fi
if want python; then
  command -v make >/dev/null || need+=(make)
  command -v python3 >/dev/null || need+=(python3)
  python3 -c 'import venv, ensurepip' 2>/dev/null || need+=(python3-venv)
  # gmalglib (SM2/SM3 in C) is published on PyPI as source only: pip compiles it, which needs
  # a C compiler and the headers of the Python the venv is made from.
  command -v gcc >/dev/null || need+=(gcc libc6-dev)
  python3 -c 'import os, sys, sysconfig
sys.exit(0 if os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")) else 1)' \
    2>/dev/null || need+=(python3-dev)
fi
if want node; then
  # Debian 12 ships Node.js 18.20 and npm 9.2; web/package.json is chosen to build with them.
  # A Node.js from elsewhere (e.g. NodeSource, which bundles npm) is used when new enough.
  node_ok || need+=(nodejs)
  command -v npm >/dev/null || need+=(npm)
fi
if want services; then
  command -v fc-list >/dev/null || need+=(fontconfig)
  fc-list 2>/dev/null | grep -qi "Noto Serif CJK\|Noto Sans CJK" || need+=(fonts-noto-cjk)
  fc-list 2>/dev/null | grep -qi "AR PL UKai" || need+=(fonts-arphic-ukai)
  command -v pdftoppm >/dev/null || need+=(poppler-utils)
  command -v openssl >/dev/null || need+=(openssl)  # the SM2 tests cross-check with OpenSSL 3
  # A service already answering on its port (installed some other way) is left alone.
  tcp_up 5432 || command -v pg_ctlcluster >/dev/null || need+=(postgresql)
  command -v pg_isready >/dev/null || need+=(postgresql-client)
  # rabbitmqctl is needed even when the broker runs: the tests create their vhosts with it.
  command -v rabbitmqctl >/dev/null || need+=(rabbitmq-server)
  tcp_up 6379 || command -v redis-server >/dev/null || need+=(redis-server)
fi
if [ "$mode" = browser ] || { [ "$mode" = all ] && [ "${ESEAL_WITH_BROWSER:-0}" = 1 ]; }; then
  # Playwright drives Debian's chromium over CDP (tests/browser/screen.py); no chromedriver.
  command -v chromium >/dev/null || need+=(chromium)
fi

if [ ${#need[@]} -gt 0 ]; then
  command -v apt-get >/dev/null || die "please install: ${need[*]} (this script knows only apt-get)"
  say "installing ${need[*]}"
  # Wait for another apt/dpkg (unattended upgrades on a fresh machine) instead of failing.
  apt=(env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600)
  as_root "${apt[@]}" update -qq
  as_root "${apt[@]}" install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
if want node && ! node_ok; then
  die "Node.js >= 18.19 is needed for web/ (found $(node --version 2>/dev/null || echo none))"
fi
want services || exit 0

# ---------------------------------------------------------------- PostgreSQL, 127.0.0.1:5432
PG=(psql -h 127.0.0.1 -p 5432 -U postgres -w -X -Atq)
pg_ready() { pg_isready -q -h 127.0.0.1 -p 5432; }
wait_for() {  # seconds, what, command...
  local n="$1" what="$2"; shift 2
  for _ in $(seq 1 "$n"); do "$@" && return 0; sleep 1; done
  die "$what did not come up within ${n}s"
}
# The local cluster (Debian's postgresql-common), created if the package made none.
pg_cluster() {
  command -v pg_lsclusters >/dev/null || return 1
  local line
  line="$(pg_lsclusters -h 2>/dev/null | awk '$3 == 5432 {print $1, $2; exit}')"
  if [ -z "$line" ] && [ -z "$(pg_lsclusters -h 2>/dev/null)" ]; then
    local ver
    ver="$(ls /usr/lib/postgresql | sort -V | tail -1)"
    say "creating PostgreSQL cluster $ver/main"
    as_root pg_createcluster "$ver" main --port 5432 >/dev/null
    line="$ver main"
  fi
  [ -n "$line" ] && echo "$line"
}
pg_service() {  # start | restart | reload
  local cluster
  cluster="$(pg_cluster)" || die "PostgreSQL is not reachable on 127.0.0.1:5432 and no local cluster uses that port; install it (apt-get install postgresql) or point ESEAL_PG_URL at a server"
  set -- "$1" $cluster
  if have_systemd; then as_root systemctl "$1" "postgresql@$2-$3"
  else as_root pg_ctlcluster --skip-systemctl-redirect "$2" "$3" "$1"
  fi
}
pg_local() {  # SQL as the postgres superuser over the Unix socket (peer authentication)
  (cd / && as_root runuser -u postgres -- psql -X -Atq -c "$1")
}

if ! pg_ready; then
  say "starting PostgreSQL"
  pg_service start
fi
wait_for 60 PostgreSQL pg_ready
# The platform and the tests connect as postgres over TCP on loopback without a password
# (a development machine; production sets ESEAL_PG_URL with credentials).
if ! "${PG[@]}" -c 'select 1' >/dev/null 2>&1; then
  hba="$(pg_local 'show hba_file')"
  say "PostgreSQL: trust authentication for loopback connections ($hba)"
  as_root sed -i '1i host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust' "$hba"
  pg_local 'select pg_reload_conf()' >/dev/null
  sleep 1
  "${PG[@]}" -c 'select 1' >/dev/null || die "PostgreSQL refuses postgres@127.0.0.1 without a password; see $hba"
fi
# Every service keeps a pool per database and the test suite runs several platforms at once.
conns="$("${PG[@]}" -c 'show max_connections')"
if [ "$conns" -lt 300 ]; then
  say "PostgreSQL: max_connections $conns -> 300 (restart)"
  "${PG[@]}" -c 'alter system set max_connections = 300'
  pg_service restart
  wait_for 60 PostgreSQL pg_ready
fi

# Seal names and documents are Chinese: a cluster created under LANG=C is SQL_ASCII.
enc="$("${PG[@]}" -c 'show server_encoding')"
[ "$enc" = UTF8 ] || say "warning: PostgreSQL's encoding is $enc, not UTF8 (create the cluster under a UTF-8 locale)" >&2

# ---------------------------------------------------------------- RabbitMQ, 127.0.0.1:5672
if ! tcp_up 5672; then
  say "starting RabbitMQ"
  if have_systemd; then as_root systemctl start rabbitmq-server
  else as_root rabbitmq-server -detached
  fi
  wait_for 120 RabbitMQ tcp_up 5672
fi
# The port opens before the broker accepts work; await_startup waits for the boot to end.
as_root rabbitmqctl -q await_startup >/dev/null 2>&1 || true
# The HTTP management API (127.0.0.1:15672; guest/guest is accepted from localhost only):
# the subscriber commands use it when ESEAL_RABBITMQ_MANAGEMENT_URL is set, and the notify
# tests provision subscribers through it as well as with rabbitmqctl. Enabling it on the
# running node starts it at once, and the node keeps it enabled across restarts.
if ! rabbitmq-plugins -q is_enabled rabbitmq_management >/dev/null 2>&1; then
  say "RabbitMQ: enabling the management plugin (HTTP API on 15672)"
  # Loopback only, like AMQP: the plugin reads this when it starts (i.e. when enabled now).
  conf=/etc/rabbitmq/rabbitmq.conf
  if [ -f "$conf" ] && ! grep -q '^management.tcp.ip' "$conf"; then
    echo 'management.tcp.ip = 127.0.0.1' | as_root tee -a "$conf" >/dev/null
  fi
  as_root rabbitmq-plugins -q enable rabbitmq_management >/dev/null
fi
wait_for 60 "RabbitMQ management API" tcp_up 15672

# ---------------------------------------------------------------- Redis, 127.0.0.1:6379
if ! tcp_up 6379; then
  say "starting Redis"
  if have_systemd; then as_root systemctl start redis-server
  else
    as_root install -d -o redis -g redis /run/redis
    as_root runuser -u redis -- redis-server /etc/redis/redis.conf --daemonize yes
  fi
  wait_for 30 Redis tcp_up 6379
fi

say "system ready: PostgreSQL $("${PG[@]}" -c 'show server_version'), RabbitMQ and Redis on 127.0.0.1"
