# skyfence — two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

# Real public data: use ../shared/data when it sits beside the checkout, unless the caller set a mirror.
SHARED_DATA := $(abspath ../shared/data)
ifeq ($(origin SKYFENCE_DATA_DIR), undefined)
ifneq ($(wildcard $(SHARED_DATA)),)
export SKYFENCE_DATA_DIR := $(SHARED_DATA)
endif
endif

DEMO_OUT ?= demo-output

.PHONY: install demo test lint bench clean web

install: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

demo: install
	@if [ -n "$$SKYFENCE_DATA_DIR" ]; then echo "data mirror: $$SKYFENCE_DATA_DIR"; \
	else echo "no SKYFENCE_DATA_DIR: datasets are downloaded into the cache on first use"; fi
	$(BIN)/skyfence assess examples/taiwan.toml --out $(DEMO_OUT)/taiwan

test: install
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check src tests benchmarks docs
	$(BIN)/ruff format --check src tests benchmarks docs
	$(BIN)/mypy

bench: install
	@for script in benchmarks/*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

# The dashboard's browser libraries (pinned in web/package.json and web/package-lock.json) → the package's
# static/vendor/ folder with their licences.  Needs Node and the npm registry; the result is committed, so
# installing skyfence never does.
web:
	web/build

clean:
	rm -rf $(VENV) $(DEMO_OUT) .pytest_cache .ruff_cache .mypy_cache
