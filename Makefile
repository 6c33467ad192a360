# Two commands matter: `make run` (serve the API + chat page) and `make test` (the whole suite).
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# Each lock is installed as exactly what it says: --no-deps, because pip would otherwise resolve a
# package's own requirements afresh (chromadb's `uvicorn[standard]>=0.18.3` took a newer uvicorn
# than the lock's the day one was published). pip-check.sh then fails if a lock lacks something.
PIP := $(PY) -m pip install -q --disable-pip-version-check --require-hashes --no-deps
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev
BENCH_STAMP := $(VENV)/.installed-bench
export CMAKE_BUILD_PARALLEL_LEVEL ?= $(shell nproc)

.PHONY: install install-dev install-bench model run test test-fast fuzz lint bench chromium lock lock-check clean

# runtime packages (what the Docker image has too)
$(STAMP): requirements.lock requirements-models.lock pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) -r requirements.lock
	$(PIP) -r requirements-models.lock
	$(PY) -m pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e .
	bash scripts/pip-check.sh $(PY)
	touch $(STAMP)

# + test and lint tools
$(DEV_STAMP): $(STAMP) requirements-dev.lock
	$(PIP) -r requirements-dev.lock
	bash scripts/pip-check.sh $(PY)
	touch $(DEV_STAMP)

# + benchmark-only packages (LlamaIndex, for benchmarks/llamaindex.py): never in the runtime
# lock or the Docker image; compiled against the runtime lock, so its versions are the same
$(BENCH_STAMP): $(STAMP) requirements-bench.lock
	$(PIP) -r requirements-bench.lock
	bash scripts/pip-check.sh $(PY)
	touch $(BENCH_STAMP)

install: $(STAMP)

install-dev: $(DEV_STAMP)

install-bench: $(BENCH_STAMP)

# the GGUF at QA_LOCAL_MODEL (a no-op once it is there). pip's wheel cache may hold a
# llama-cpp-python built for another CPU (it dies with SIGILL): then rebuild it for this one.
model: install
	$(PY) -m qa.llm.local assemble
	@$(PY) -m qa.llm.local check || { \
	  awk '/^llama-cpp-python==/{p=1;print;next} p&&/^ /{print;next} {p=0}' requirements.lock > $(VENV)/llama.req; \
	  $(PY) -m pip cache remove llama_cpp_python >/dev/null 2>&1 || true; \
	  $(PIP) --force-reinstall -r $(VENV)/llama.req && $(PY) -m qa.llm.local check; }

run: install model
	bash scripts/run.sh

# Debian's Chromium for the chat page's browser test (CI runs as root).
chromium:
	@command -v chromium >/dev/null || { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; }

# Each lock alone, in an empty venv, installs and passes pip-check.sh: the runtime lock (what
# the Docker image has) must not lean on the dev lock. Reruns only when a lock changes; pip's
# cache holds the wheels (llama-cpp-python built once), so it costs a minute or two.
LOCK_VENV := $(VENV)-lockcheck
LOCK_STAMP := $(VENV)/.lockcheck
$(LOCK_STAMP): requirements.lock requirements-models.lock requirements-bench.lock scripts/pip-check.sh | $(STAMP)
	rm -rf $(LOCK_VENV) && $(PYTHON) -m venv $(LOCK_VENV)
	$(LOCK_VENV)/bin/python -m pip install -q --disable-pip-version-check --require-hashes --no-deps -r requirements.lock
	$(LOCK_VENV)/bin/python -m pip install -q --disable-pip-version-check --require-hashes --no-deps -r requirements-models.lock
	bash scripts/pip-check.sh $(LOCK_VENV)/bin/python
	# the benchmark lock on top of the runtime one (as `make install-bench` installs it)
	$(LOCK_VENV)/bin/python -m pip install -q --disable-pip-version-check --require-hashes --no-deps -r requirements-bench.lock
	bash scripts/pip-check.sh $(LOCK_VENV)/bin/python
	rm -rf $(LOCK_VENV)
	touch $(LOCK_STAMP)

lock-check: $(LOCK_STAMP)

lint: install-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports  # the layers of docs/architecture.md (pyproject [tool.importlinter])

test: install-dev install-bench model chromium lint lock-check
	$(PY) -m pytest -q -p no:cacheprovider

test-fast: install-dev install-bench lint
	$(PY) -m pytest -q -p no:cacheprovider -m "not llm and not browser and not fuzz"

# `make test` runs the fuzz test too, with fewer examples per operation
fuzz: install-dev
	FUZZ_EXAMPLES=$${FUZZ_EXAMPLES:-200} $(PY) -m pytest -q -p no:cacheprovider -s -m fuzz

# small by default, so a whole run stays near 20 min on 2 cores (plus a first ingest of the
# news-dev subsets, kept in var/ for the next run; the evidence run uses the whole-corpus index
# when var/newsdev holds it); the local LLM's token rates come first so
# every other figure can be read against them. Full size: BENCH_RUN_ARGS= BENCH_EVIDENCE_ARGS=
BENCH_RUN_ARGS ?= --limit 200 --answers 16
BENCH_EVIDENCE_ARGS ?= --articles 200 --limit 40
bench: install-bench model
	$(PY) -m benchmarks.rates
	$(PY) -m benchmarks.load
	$(PY) -m benchmarks.run $(BENCH_RUN_ARGS)
	$(PY) -m benchmarks.evidence $(BENCH_EVIDENCE_ARGS)
	$(PY) -m benchmarks.feeds
	$(PY) -m benchmarks.floor
	$(PY) -m benchmarks.judge
	$(PY) -m benchmarks.llamaindex  # beside LlamaIndex's CitationQueryEngine (docs/measurements.md)
	$(PY) -m benchmarks.summary  # the goals of this run on one page, from what each wrote to var/

lock:
	# needs uv (pip install uv); the dev and bench locks keep the runtime lock's versions
	uv pip compile --generate-hashes --no-header --python-version 3.11 requirements.in -o requirements.lock
	uv pip compile --generate-hashes --no-header --python-version 3.11 requirements-dev.in -c requirements.lock -o requirements-dev.lock
	uv pip compile --generate-hashes --no-header --no-deps --python-version 3.11 requirements-models.in -o requirements-models.lock
	uv pip compile --generate-hashes --no-header --python-version 3.11 requirements-bench.in -c requirements.lock -o requirements-bench.lock

clean:
	rm -rf $(VENV) var
