# Two commands do all the set-up on a fresh clone (only Python 3.10+ needed):
#   make run    compress the shipped example session with the embedded defaults
#   make test   install everything the tests need (incl. redis-server) and run them
#   make proxy  run the compressing proxy on 127.0.0.1:8787 (Anthropic upstream)
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
SHARED ?= ../shared/bench

.PHONY: run test lint bench bench-proxy bench-shared bench-check install install-core install-proxy proxy redis-server clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

# torch first, pinned: the CPU wheel is already on disk here; left to resolve torch>=2.1 from
# headroom[ml], pip would fetch a CUDA build (gigabytes).
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[dev,all]'
	@touch $@

install: $(VENV)/.installed

# What `make run` needs: headroom, tiktoken and the tree-sitter grammars for the session's
# source files (headroom[code]); no torch, no frameworks.
$(VENV)/.installed-core: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[code]'
	@touch $@

install-core: $(VENV)/.installed-core

# The proxy: headroom[proxy] (starlette, uvicorn, httpx, prometheus-client).
$(VENV)/.installed-proxy: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[proxy]'
	@touch $@

install-proxy: $(VENV)/.installed-proxy

redis-server:
	@command -v redis-server >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    (apt-get update -q >/dev/null && apt-get install -y -q redis-server >/dev/null) \
	      || echo "warning: could not install redis-server; Redis tests will be skipped"; \
	  else echo "warning: redis-server not found (apt-get install redis-server); Redis tests will be skipped"; fi; }

run: install-core
	$(BIN)/headroom compress examples/agent_session.json --indent 1 > /dev/null

proxy: install-proxy
	$(BIN)/headroom proxy

test: install redis-server
	$(BIN)/python -m pytest -q

lint: install
	$(BIN)/ruff check headroom tests benchmarks examples
	$(BIN)/mypy

bench: install
	$(BIN)/python benchmarks/latency.py
	@if [ -d $(SHARED) ]; then $(MAKE) --no-print-directory bench-shared; fi

# 200 concurrent streams through the proxy vs straight to the fake provider
bench-proxy: install
	$(BIN)/python benchmarks/proxy_load.py

bench-shared: install
	$(BIN)/python $(SHARED)/score.py --python $(abspath $(BIN)/python) --label headroom

# One pass of the shared scorer; fails if any case errors or comes back invalid.
bench-check: install
	$(BIN)/python $(SHARED)/score.py --python $(abspath $(BIN)/python) --label headroom --runs 1 \
	  --warm-repeats 0 --quiet --json bench-check.json
	$(BIN)/python benchmarks/check_summary.py bench-check.json

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache bench-check.json
