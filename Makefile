# Sésame — the front door. `make demo` and `make test` do all the set-up on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD := 1

.PHONY: demo test lint bench fuzz load migrate migration-check serve clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/sesame demo

serve: $(STAMP)
	$(BIN)/sesame serve

migrate: $(STAMP)
	$(BIN)/sesame db upgrade

# Browser tests run in their own process: Playwright's sync API keeps an event loop running in its thread,
# which would break the async tests that share an xdist worker with it.
test: $(STAMP)
	$(BIN)/python -m pytest -n 2 --dist loadgroup --ignore=tests/browser $(PYTEST_ARGS)
	$(BIN)/python -m pytest tests/browser -n 0 $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python -m bench

fuzz: $(STAMP)
	SESAME_FUZZ_EXAMPLES=500 $(BIN)/python -m pytest tests/e2e/test_fuzz.py -n 0

load: $(STAMP)
	$(BIN)/python -m bench.load

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache .hypothesis

# Supply chain: known vulnerabilities in the pinned lock (fails when a package cannot be checked, e.g. offline),
# and bandit on every package of ours. Both exit non-zero on a finding; bandit runs even when pip-audit fails.
# B101 skipped: asserts narrow types for mypy (as ruff's S101). False positives carry a targeted
# `# nosec BXXX` with the reason.
AUDIT_PACKAGES := sesame vault ledger scanner company_profiles
.PHONY: audit
audit: $(STAMP)
	status=0; \
	$(BIN)/pip-audit --strict --no-deps --disable-pip -r requirements.lock || status=1; \
	$(BIN)/bandit -r $(AUDIT_PACKAGES) -q --skip B101 || status=1; \
	exit $$status
