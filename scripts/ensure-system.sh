#!/usr/bin/env bash
# Make the machine ready for eseal: system packages, PostgreSQL and RabbitMQ running.
# Safe to run again; used by `make run`, `make test` and CI.
set -euo pipefail

need_pkgs=()
fc-list 2>/dev/null | grep -qi "Noto Serif CJK\|Noto Sans CJK" || need_pkgs+=(fonts-noto-cjk)
fc-list 2>/dev/null | grep -qi "AR PL UKai" || need_pkgs+=(fonts-arphic-ukai)
command -v pdftoppm >/dev/null || need_pkgs+=(poppler-utils)
command -v fc-list >/dev/null || need_pkgs+=(fontconfig)
if [ "${ESEAL_WITH_BROWSER:-0}" = 1 ]; then
  command -v chromium >/dev/null || need_pkgs+=(chromium)
fi
if [ ${#need_pkgs[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "eseal: installing ${need_pkgs[*]}"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_pkgs[@]}" >/dev/null
  else
    echo "eseal: please install: ${need_pkgs[*]} (e.g. sudo apt-get install ${need_pkgs[*]})" >&2
    exit 1
  fi
fi

# PostgreSQL on 127.0.0.1:5432
if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
  if [ -d /etc/postgresql ] && command -v pg_ctlcluster >/dev/null; then
    echo "eseal: starting PostgreSQL"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start
    for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
  else
    echo "eseal: PostgreSQL is not reachable on 127.0.0.1:5432 and not installed here." >&2
    echo "       Install it (apt-get install postgresql) with trust auth for 'postgres' on loopback," >&2
    echo "       or point ESEAL_PG_URL at a server." >&2
    exit 1
  fi
fi

# RabbitMQ on 127.0.0.1:5672
rabbit_up() { (exec 3<>/dev/tcp/127.0.0.1/5672) 2>/dev/null; }
if ! rabbit_up; then
  if command -v rabbitmq-server >/dev/null; then
    echo "eseal: starting RabbitMQ"
    rabbitmq-server -detached || true
    for _ in $(seq 1 60); do rabbit_up && break; sleep 1; done
    rabbitmqctl -q await_startup >/dev/null 2>&1 || true
  else
    echo "eseal: RabbitMQ is not reachable on 127.0.0.1:5672 and not installed here." >&2
    echo "       Install it (apt-get install rabbitmq-server) or point ESEAL_AMQP_URL at a broker." >&2
    exit 1
  fi
fi
rabbit_up || { echo "eseal: RabbitMQ did not come up" >&2; exit 1; }
