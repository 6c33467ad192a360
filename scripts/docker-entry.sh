#!/usr/bin/env bash
# The image's entry point. The container listens on 0.0.0.0, where anyone who can reach the port
# could write articles: refuse to start until writes need a key.
set -euo pipefail
if [ -z "${QA_API_KEYS:-}" ]; then
  cat >&2 <<'MSG'
newsqa: refusing to start: this container listens on 0.0.0.0 and QA_API_KEYS is not set.
Set one or more keys (comma-separated), e.g. docker run -e QA_API_KEYS=$(openssl rand -hex 24) ...
Clients then send "Authorization: Bearer <key>" for writes (and for reads with QA_AUTH_READS=true).
MSG
  exit 64
fi
exec bash "$(dirname "$0")/run.sh" "$@"
