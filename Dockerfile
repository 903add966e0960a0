# syntax=docker/dockerfile:1.7
#
# One image for every eseal service. The service is chosen at run time by ESEAL_SERVICE
# (identity | agents | certs | seals | stamping | notify | gateway):
#   docker build -t eseal:latest .
#   docker run -e ESEAL_SERVICE=seals eseal:latest            # runs `python -m seals`
#   docker run -e ESEAL_SERVICE=seals eseal:latest migrate    # runs `python -m seals migrate`
# A per-service image can bake the default in: --build-arg ESEAL_SERVICE=seals.

ARG PYTHON_IMAGE=python:3.11-slim
# The web build needs Node.js >= 18.19 (web/package.json "engines"; Vite 5, so that Debian
# 12's own Node.js 18.20 builds it too: `make web`); the image uses a current LTS.
ARG NODE_IMAGE=node:22-slim

# ---------------------------------------------------------------------------------------
# builder: resolve and build every dependency into a virtualenv. Compilers stay here, so
# any package without a wheel for this platform still installs, and none reach the runtime.
# ---------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS builder

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential libffi-dev \
 && rm -rf /var/lib/apt/lists/*

# Same path as in the runtime stage: a venv's scripts hard-code their interpreter path.
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH

COPY requirements.txt /tmp/requirements.txt
RUN pip install -r /tmp/requirements.txt

# ---------------------------------------------------------------------------------------
# web: the Vue/Vite pages (H5 client /app/, demo /demo/, verification /verify/) built into
# /web/dist. Node and node_modules stay in this stage; only dist/ reaches the runtime.
# ---------------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS web

ENV NPM_CONFIG_UPDATE_NOTIFIER=false

WORKDIR /web
# Dependencies first: this layer is reused until package*.json change. .npmrc says
# ignore-scripts: no dependency's install script runs here.
COPY web/package.json web/package-lock.json web/.npmrc ./
RUN npm ci --no-audit --no-fund
COPY web/ ./
RUN npm run build

# ---------------------------------------------------------------------------------------
# runtime
# ---------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime

# CJK fonts draw the seal and signature images (seals finds them by path under
# /usr/share/fonts: Noto Serif/Sans CJK Bold for seals, AR PL UKai for signatures) and
# stamping's evidence reports (Noto Sans CJK SC Regular, embedded in the PDF).
RUN apt-get update \
 && apt-get install -y --no-install-recommends fonts-noto-cjk fonts-arphic-ukai \
 && rm -rf /var/lib/apt/lists/*

# Numeric UID/GID so Kubernetes can verify runAsNonRoot without a name lookup.
RUN groupadd --system --gid 10001 eseal \
 && useradd --system --uid 10001 --gid 10001 --no-create-home \
            --home-dir /nonexistent --shell /usr/sbin/nologin eseal

COPY --from=builder /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONPATH=/app:/app/services/identity:/app/services/agents:/app/services/certs:/app/services/seals:/app/services/stamping:/app/services/notify:/app/services/gateway \
    ESEAL_ENV=production \
    ESEAL_HOST=0.0.0.0

WORKDIR /app
# Code stays root-owned: the service user can read it but not change it.
COPY shared/ /app/shared/
COPY services/ /app/services/
COPY deploy/docker/healthcheck.py /usr/local/bin/eseal-healthcheck

# Byte-compile at build time: the root filesystem is read-only in Kubernetes.
RUN chmod 0755 /usr/local/bin/eseal-healthcheck \
 && python -m compileall -q /app/shared /app/services

# The web pages, after the Python layers (they change more often). The gateway serves
# /app/web/dist: static.py's default is web/dist three levels above gateway/static.py,
# i.e. under WORKDIR /app (ESEAL_WEB_DIST overrides it).
COPY --from=web /web/dist /app/web/dist

# Last, so that images built for different services share every layer above.
ARG ESEAL_SERVICE=""
ENV ESEAL_SERVICE=${ESEAL_SERVICE}

# gateway, identity, agents, certs, seals, stamping, notify (docs/CONVENTIONS.md), then their
# internal listeners (/internal/*, /metrics: port + 1000)
EXPOSE 8080 8101 8102 8103 8104 8105 8106
EXPOSE 9080 9101 9102 9103 9104 9105 9106

USER 10001:10001

# GET /healthz on this service's port (ESEAL_PORT, else the default from the table).
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "/usr/local/bin/eseal-healthcheck"]

# exec: the service becomes PID 1 and receives SIGTERM itself. Arguments (e.g. `migrate`)
# are passed through to `python -m $ESEAL_SERVICE`.
ENTRYPOINT ["/bin/sh", "-c", "exec python -m \"${ESEAL_SERVICE:?set ESEAL_SERVICE to identity, agents, certs, seals, stamping, notify or gateway}\" \"$@\"", "eseal"]
CMD []
