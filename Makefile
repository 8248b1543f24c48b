# Two commands a new user needs: `make run` and `make test`. Both set up what they need first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PORT   ?= 8080

.PHONY: setup run test lint bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: setup
	$(BIN)/streamwhisk up --project . --port $(PORT)

lint: setup
	$(BIN)/ruff check streamwhisk tests benchmarks packages
	$(BIN)/mypy

test: lint
	$(BIN)/pytest

bench: setup
	$(BIN)/python benchmarks/runtime_overhead.py
	$(BIN)/python benchmarks/stream_relay.py
	$(BIN)/python benchmarks/chat_path.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
