# Two commands on a fresh machine: `make run` and `make test`. Both create .venv themselves.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 8000

.PHONY: run test check lint format bench fuzz clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

DEMO_PATIENTS ?= 60

DEMO_USER ?= demo
DEMO_PASSWORD ?= cartwatch-demo

run: $(STAMP)
	$(BIN)/cartwatch demo --patients $(DEMO_PATIENTS) --seed 1 --if-empty
	$(BIN)/cartwatch user list --json | grep -q '"$(DEMO_USER)"' || \
	  printf '%s\n' '$(DEMO_PASSWORD)' | $(BIN)/cartwatch user add $(DEMO_USER) --role physician --password-stdin
	@echo "cartwatch: http://127.0.0.1:$(PORT)/ward  (demo login: $(DEMO_USER) / $(DEMO_PASSWORD))"
	$(BIN)/cartwatch serve --host 127.0.0.1 --port $(PORT)

test: $(STAMP)
	$(BIN)/python -m pytest -q -n 2

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

format: $(STAMP)
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

check: lint $(STAMP)
	$(BIN)/mypy --strict src/cartwatch
	$(BIN)/python -m pytest -q -n 2

fuzz: $(STAMP)
	$(BIN)/python -m pytest -q -n 2 -m slow

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
