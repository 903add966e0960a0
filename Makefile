# eseal — one command each: `make run`, `make test`, `make bench`.
PY        ?= python3
VENV      := .venv
BIN       := $(VENV)/bin
SERVICES  := identity agents certs seals stamping notify gateway
empty     :=
space     := $(empty) $(empty)
export PYTHONPATH := $(CURDIR):$(subst $(space),:,$(addprefix $(CURDIR)/services/,$(SERVICES)))

.PHONY: run test bench venv system web lint typecheck clean backup restore

$(BIN)/.installed: requirements.txt requirements-dev.txt
	@$(PY) -c 'import venv, ensurepip' 2>/dev/null || ./scripts/ensure-system.sh python
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements-dev.txt
	touch $@

venv: $(BIN)/.installed

# The web pages (H5 client /app/, demo /demo/, verification /verify/): rebuilt only when
# their sources or dependencies change; the gateway serves web/dist.
WEB_SRC := $(shell find web/src web/app web/demo web/verify -type f 2>/dev/null) \
           web/vite.config.js web/package.json web/package-lock.json

# Node.js >= 18.19 and npm: Debian 12's own (apt-get install nodejs npm) is enough;
# ensure-system.sh installs them when absent (web/package.json "engines").
web/node_modules/.installed: web/package.json web/package-lock.json web/.npmrc
	@./scripts/ensure-system.sh node
	cd web && npm ci --no-audit --no-fund
	touch $@

web/dist/.built: web/node_modules/.installed $(WEB_SRC)
	cd web && npm run build
	touch $@

web: web/dist/.built

system:
	./scripts/ensure-system.sh

# system first: on a fresh machine it installs python3-venv, Node.js and the services.
run: system venv web
	$(BIN)/python -m devstack

# The browser tests (tests/browser) need the built pages and Debian's chromium.
test: export ESEAL_WITH_BROWSER := 1
test: system venv web
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: system venv
	$(BIN)/python -m bench

# Backup and restore (docs/OPERATIONS.md, "Backup and restore"); ESEAL_PG_URL and
# ESEAL_DB_PREFIX choose the databases. `make backup [BACKUP_DIR=dir] [SECRETS_FILE=file]`
# writes dir/eseal-<time>/ (dumps + manifest); the secrets only to SECRETS_FILE, if given
# (encrypted when ESEAL_BACKUP_PASSPHRASE is set).
# `make restore BACKUP=dir/eseal-<time> [ESEAL_DB_PREFIX=...] [FORCE=1]`.
BACKUP_DIR ?= backups
backup: venv
	$(BIN)/python -m devstack.backup backup --dir $(BACKUP_DIR) $(if $(SECRETS_FILE),--secrets-file $(SECRETS_FILE))

restore: venv
	@test -n "$(BACKUP)" || { echo "usage: make restore BACKUP=backups/eseal-<time> [FORCE=1]"; exit 2; }
	$(BIN)/python -m devstack.backup restore $(BACKUP) $(if $(FORCE),--force)

# The house style, checked in CI (.ci/run): ruff everywhere; no block of 8+ lines repeated
# across the production code (field lists of events and their views are declared
# boilerplate: signatures, imports, docstrings and comments are not counted).
PACKAGES := shared $(foreach s,$(SERVICES),services/$(s)/$(s)) devstack
lint: venv
	$(BIN)/ruff check shared services devstack tests bench
	$(BIN)/pylint --disable=all --enable=duplicate-code --min-similarity-lines=8 \
	  --ignore-imports=yes --ignore-signatures=yes --ignore-docstrings=yes --ignore-comments=yes \
	  --score=no $(PACKAGES)

# mypy --strict (pyproject.toml) over the common library, every service and devstack.
typecheck: venv
	$(BIN)/mypy $(PACKAGES)

clean:
	rm -rf $(VENV) .pytest_cache .run web/dist web/node_modules
