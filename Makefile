# eseal — one command each: `make run`, `make test`, `make bench`.
PY        ?= python3
VENV      := .venv
BIN       := $(VENV)/bin
SERVICES  := identity agents certs seals stamping notify gateway
empty     :=
space     := $(empty) $(empty)
export PYTHONPATH := $(CURDIR):$(subst $(space),:,$(addprefix $(CURDIR)/services/,$(SERVICES)))

.PHONY: run test bench venv system lint typecheck clean

$(BIN)/.installed: requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements-dev.txt
	touch $@

venv: $(BIN)/.installed

system:
	./scripts/ensure-system.sh

run: venv system
	$(BIN)/python -m devstack

test: venv system
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: venv system
	$(BIN)/python -m bench

lint: venv
	$(BIN)/ruff check shared services devstack tests bench

typecheck: venv
	$(BIN)/mypy shared

clean:
	rm -rf $(VENV) .pytest_cache .run
