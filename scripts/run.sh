#!/usr/bin/env bash
# Start the bundled local LLM (unless QA_LLM_BASE_URL points elsewhere), ingest the sample
# articles and serve the API + chat page. Ctrl-C stops both. The model's path and port are the
# settings QA_LOCAL_MODEL and QA_LOCAL_LLM_PORT (qa/settings.py).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
mkdir -p var

if [ -z "${QA_LLM_BASE_URL:-}" ]; then
  url=$("$PY" -m qa.llm.local url)
  echo "starting the local LLM at ${url} (log: var/llm.log)"
  "$PY" -m qa.llm.local serve >var/llm.log 2>&1 &
  llm_pid=$!
  trap 'kill $llm_pid 2>/dev/null || true' EXIT
  for _ in $(seq 1 240); do
    if "$PY" -c "import httpx,sys; httpx.get('${url}/models', timeout=1)" 2>/dev/null; then break; fi
    kill -0 $llm_pid 2>/dev/null || { echo "local LLM failed to start:"; tail -20 var/llm.log; exit 1; }
    sleep 0.5
  done
fi

.venv/bin/qa ingest data/sample
.venv/bin/qa serve "$@"
