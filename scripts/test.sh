#!/usr/bin/env bash
# Run the test suite against a real Redis started here on a private socket.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
redis-server --port 0 --unixsocket "$tmp/redis.sock" --unixsocketperm 700 --dir "$tmp" \
  --save "" --appendonly no --daemonize no --loglevel warning &
redis_pid=$!
trap 'kill $redis_pid 2>/dev/null; wait $redis_pid 2>/dev/null; rm -rf "$tmp"' EXIT
for _ in $(seq 1 50); do [ -S "$tmp/redis.sock" ] && break; sleep 0.1; done
export REDIS_URL="unix://$tmp/redis.sock?db=0"
export STUDIO_VAR_DIR="$tmp/var" STUDIO_FAST_HASHER=1 HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
unset DATABASE_URL_TEST
mkdir -p "$STUDIO_VAR_DIR"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
.venv/bin/python manage.py makemigrations --check --dry-run >/dev/null
.venv/bin/python -m pytest "$@"
