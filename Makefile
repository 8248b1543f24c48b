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
# Set-up steps hold this lock, and check again once they have it: two `make` at once on a
# fresh clone take turns instead of writing the same .venv or node_modules together.
LOCK   := flock .setup.lock
# uv, at the version the lock file names, installs the Python side exactly as uv.lock says
UV_VERSION := $(shell sed -n '/^name = "uv"$$/{n;s/^version = "\(.*\)"$$/\1/p;}' uv.lock)
# the installers, as variables so that a test can stand in for the registries
PIP      ?= $(BIN)/python -m pip
UV_SYNC  ?= $(BIN)/uv sync --locked --extra dev --quiet
NPM_CI   ?= npm ci --no-audit --no-fund --loglevel=error
RUNTIMES ?= $(BIN)/streamwhisk runtimes --project . --tests --all-kinds

.PHONY: setup runtimes browser redis run test lint bench lock cluster-requirements runtime-locks clean

setup: $(STAMP) $(NODE_STAMP) $(INTEROP_STAMP) runtimes redis

# The Python side, from uv.lock: the versions CI tested, never whatever is newest today.
# pyproject.toml keeps the ranges a `pip install streamwhisk` needs.
$(STAMP): pyproject.toml uv.lock
	$(LOCK) sh -ec 'if [ -f $(STAMP) ] && [ $(STAMP) -nt pyproject.toml ] && \
	  [ $(STAMP) -nt uv.lock ]; then exit 0; fi; \
	  test -x $(BIN)/python || $(PYTHON) -m venv $(VENV); \
	  if [ "$$($(BIN)/uv --version 2>/dev/null | cut -d" " -f2)" != "$(UV_VERSION)" ]; then \
	    $(PIP) install --quiet "uv==$(UV_VERSION)"; fi; \
	  $(UV_SYNC); \
	  touch $(STAMP)'

# The cluster's Python runtimes' lists, refreshed from a checkout of
# apache/openserverless-runtimes: make cluster-requirements FROM=../openserverless-runtimes
cluster-requirements:
	@test -d "$(FROM)/runtime/python" || { echo "FROM=DIR: a checkout of apache/openserverless-runtimes"; exit 2; }
	@commit=$$(git -C "$(FROM)" rev-parse HEAD) && day=$$(git -C "$(FROM)" log -1 --format=%cs) && \
	for folder in "$(FROM)"/runtime/python/v3.*; do v=$${folder##*/v}; \
	  { echo "# The cluster's Python $$v runtime: apache/openserverless-runtimes, runtime/python/v$$v/requirements.txt"; \
	    echo "# at commit $$commit ($$day); refreshed by \`make cluster-requirements\`."; \
	    echo "# What an action of kind python:$$v can import there without a requirements.txt, at these versions."; \
	    cat "$$folder/requirements.txt"; echo; } > streamwhisk/runtime/cluster/python-$$v.txt; \
	  echo "streamwhisk/runtime/cluster/python-$$v.txt <- $$commit"; done
	$(MAKE) runtime-locks

# Each kind's whole library set, every library pinned (the cluster's lists pin only their
# top-level ones): streamwhisk/runtime/cluster/python-3.N.lock, then the tests, whose import
# test loads every library of every kind's list from them.
runtime-locks: $(STAMP)
	$(BIN)/python -m streamwhisk.runtime.locks
	$(MAKE) test

# A new lock: the newest versions pyproject.toml allows, then the whole test suite on them,
# so that a release that breaks something is found here and never by a user.
lock: $(STAMP)
	$(BIN)/uv lock --upgrade
	$(MAKE) test

# The Python runtime the actions run in (OpenServerless's common libraries, from PyPI) and
# the one pytest runs course tests in; built once into ~/.cache/streamwhisk, then reused.
runtimes: $(STAMP)
	$(LOCK) $(RUNTIMES)

# The chat page's JavaScript libraries, from the npm registry, pinned by the lock file.
$(NODE_STAMP): $(WEB)/package.json $(WEB)/package-lock.json
	$(LOCK) sh -ec 'if [ -f $(NODE_STAMP) ] && [ $(NODE_STAMP) -nt $(WEB)/package-lock.json ]; \
	  then exit 0; fi; cd $(WEB) && $(NPM_CI); \
	  touch node_modules/.package-lock.json'


# A real OpenWhisk client that no one here wrote (npm's `openwhisk`), for the tests.
$(INTEROP_STAMP): $(INTEROP)/package.json $(INTEROP)/package-lock.json
	$(LOCK) sh -ec 'if [ -f $(INTEROP_STAMP) ] && \
	  [ $(INTEROP_STAMP) -nt $(INTEROP)/package-lock.json ]; then exit 0; fi; \
	  cd $(INTEROP) && $(NPM_CI); \
	  touch node_modules/.package-lock.json'


# The page tests drive Debian's Chromium (a browser download cannot work here).
browser:
	@command -v chromium >/dev/null || $(LOCK) sh -c 'command -v chromium >/dev/null || \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
	    chromium || { $(SUDO) apt-get update -q && $(SUDO) env DEBIAN_FRONTEND=noninteractive \
	    apt-get install -y -q --no-install-recommends chromium; }'

# Debian's redis-server: the platform's Redis, for the projects whose actions use it
# (streamwhisk/services/); a variable, so that a test can stand in for it
REDIS_SERVER ?= redis-server
redis:
	@command -v $(REDIS_SERVER) >/dev/null || $(LOCK) sh -c 'command -v redis-server >/dev/null || \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
	    redis-server || { $(SUDO) apt-get update -q && $(SUDO) env DEBIAN_FRONTEND=noninteractive \
	    apt-get install -y -q --no-install-recommends redis-server; }'

run: setup
	$(BIN)/streamwhisk up --project . --port $(PORT)

lint: setup
	$(BIN)/ruff check streamwhisk tests benchmarks packages
	$(BIN)/mypy

# Three test processes (pytest-xdist), each taking whole files: most tests wait on servers
# and processes, so three at once on two cores take some 60% of the time one does.
test: lint browser
	$(BIN)/pytest -n 3 --dist loadfile

bench: setup
	$(BIN)/python benchmarks/runtime_overhead.py
	$(BIN)/python benchmarks/stream_relay.py
	$(BIN)/python benchmarks/chat_path.py
	$(BIN)/python benchmarks/page_render.py
	$(BIN)/python benchmarks/page_first_token.py
	$(BIN)/python benchmarks/first_use.py
	$(BIN)/python benchmarks/services.py
	$(BIN)/python benchmarks/recording.py
	$(BIN)/python benchmarks/mcp_call.py
	$(BIN)/python benchmarks/load.py
	$(BIN)/python benchmarks/cli_start.py

clean:
	rm -rf $(VENV) $(WEB)/node_modules $(INTEROP)/node_modules .pytest_cache .mypy_cache .ruff_cache artifacts
