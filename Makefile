# eseal — one command each: `make run`, `make test`, `make bench`.
PY        ?= python3
VENV      := .venv
BIN       := $(VENV)/bin
SERVICES  := identity agents certs seals stamping notify gateway
empty     :=
space     := $(empty) $(empty)
export PYTHONPATH := $(CURDIR):$(subst $(space),:,$(addprefix $(CURDIR)/services/,$(SERVICES)))

.PHONY: run test bench venv system web lint typecheck clean

$(BIN)/.installed: requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements-dev.txt
	touch $@

venv: $(BIN)/.installed

# The web pages (H5 client /app/, demo /demo/, verification /verify/): rebuilt only when
# their sources or dependencies change; the gateway serves web/dist.
WEB_SRC := $(shell find web/src web/app web/demo web/verify -type f 2>/dev/null) \
           web/vite.config.js web/package.json web/package-lock.json

web/node_modules/.installed: web/package.json web/package-lock.json
	@node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a === 20 && b >= 19) ? 0 : 1)' \
	  || { echo "eseal: building web/ needs Node.js >= 20.19 with npm (found: $$(node --version 2>/dev/null || echo none))" >&2; exit 1; }
	cd web && npm ci --no-audit --no-fund
	touch $@

web/dist/.built: web/node_modules/.installed $(WEB_SRC)
	cd web && npm run build
	touch $@

web: web/dist/.built

system:
	./scripts/ensure-system.sh

run: venv system web
	$(BIN)/python -m devstack

# The browser tests (tests/browser) need the built pages and Debian's chromium.
test: export ESEAL_WITH_BROWSER := 1
test: venv system web
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: venv system
	$(BIN)/python -m bench

lint: venv
	$(BIN)/ruff check shared services devstack tests bench

typecheck: venv
	$(BIN)/mypy shared

clean:
	rm -rf $(VENV) .pytest_cache .run web/dist web/node_modules
