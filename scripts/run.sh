#!/usr/bin/env bash
# Start the bundled local LLM (unless QA_LLM_BASE_URL points elsewhere), ingest the sample
# articles and serve the API + chat page. Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
MODEL=${QA_LOCAL_MODEL:-var/models/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf}
mkdir -p var

if [ -z "${QA_LLM_BASE_URL:-}" ]; then
  port=${QA_LOCAL_LLM_PORT:-8081}
  export QA_LLM_BASE_URL="http://127.0.0.1:${port}/v1"
  echo "starting the local LLM on 127.0.0.1:${port} (log: var/llm.log)"
  "$PY" -m qa.localmodel serve "$MODEL" --port "$port" >var/llm.log 2>&1 &
  llm_pid=$!
  trap 'kill $llm_pid 2>/dev/null || true' EXIT
  for _ in $(seq 1 240); do
    if "$PY" -c "import httpx,sys; httpx.get('${QA_LLM_BASE_URL}/models', timeout=1)" 2>/dev/null; then break; fi
    kill -0 $llm_pid 2>/dev/null || { echo "local LLM failed to start:"; tail -20 var/llm.log; exit 1; }
    sleep 0.5
  done
fi

.venv/bin/qa ingest data/sample
.venv/bin/qa serve "$@"
