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

.PHONY: install demo test lint bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

demo: install
	$(BIN)/skyfence catalog info starlink-gen1
	$(BIN)/skyfence propagate starlink-550 --start 2026-01-01T00:00:00Z --duration 1h --step 60s --out $(DEMO_OUT)/starlink-550.nc
	@if [ -n "$$SKYFENCE_DATA_DIR" ]; then \
		$(BIN)/skyfence catalog info celestrak:starlink && \
		$(BIN)/skyfence region info TW --res 6; \
	else echo "(set SKYFENCE_DATA_DIR to a data mirror, or run 'skyfence data fetch', for real catalogs and regions)"; fi
	@echo "demo output: $(abspath $(DEMO_OUT))"

test: install
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/mypy

bench: install
	@for script in benchmarks/*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) $(DEMO_OUT) .pytest_cache .ruff_cache .mypy_cache
