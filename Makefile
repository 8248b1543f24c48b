# Two commands a new user needs: `make run` and `make test`. Both set up what they need first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
WEB    := streamwhisk/web
# npm ci writes this file; it is newer than the lock file once the libraries are in place
NODE_STAMP := $(WEB)/node_modules/.package-lock.json
INTEROP := tests/interop
INTEROP_STAMP := $(INTEROP)/node_modules/.package-lock.json
PORT   ?= 8080
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: setup runtimes browser run test lint bench clean

setup: $(STAMP) $(NODE_STAMP) $(INTEROP_STAMP) runtimes

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# The Python runtime the actions run in (OpenServerless's common libraries, from PyPI) and
# the one pytest runs course tests in; built once into ~/.cache/streamwhisk, then reused.
runtimes: $(STAMP)
	$(BIN)/streamwhisk runtimes --project . --tests

# The chat page's JavaScript libraries, from the npm registry, pinned by the lock file.
$(NODE_STAMP): $(WEB)/package.json $(WEB)/package-lock.json
	cd $(WEB) && npm ci --no-audit --no-fund --loglevel=error
	touch $(NODE_STAMP)

# A real OpenWhisk client that no one here wrote (npm's `openwhisk`), for the tests.
$(INTEROP_STAMP): $(INTEROP)/package.json $(INTEROP)/package-lock.json
	cd $(INTEROP) && npm ci --no-audit --no-fund --loglevel=error
	touch $(INTEROP_STAMP)

# The page tests drive Debian's Chromium (a browser download cannot work here).
browser:
	@command -v chromium >/dev/null || { \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium \
	  || { $(SUDO) apt-get update -q && \
	       $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium; }; }

run: setup
	$(BIN)/streamwhisk up --project . --port $(PORT)

lint: setup
	$(BIN)/ruff check streamwhisk tests benchmarks packages
	$(BIN)/mypy

test: lint browser
	$(BIN)/pytest

bench: setup
	$(BIN)/python benchmarks/runtime_overhead.py
	$(BIN)/python benchmarks/stream_relay.py
	$(BIN)/python benchmarks/chat_path.py
	$(BIN)/python benchmarks/page_render.py

clean:
	rm -rf $(VENV) $(WEB)/node_modules $(INTEROP)/node_modules .pytest_cache .mypy_cache .ruff_cache artifacts
