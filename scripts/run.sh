#!/usr/bin/env bash
# Run the studio: Redis (unless REDIS_URL is set), one RQ worker and the ASGI server.
# Ctrl-C (or SIGTERM) stops everything this script started.
set -euo pipefail
cd "$(dirname "$0")/.."
HOST="${HOST:-127.0.0.1}"
PORT="${PORT:-8000}"
VAR="${STUDIO_VAR_DIR:-$PWD/var}"
mkdir -p "$VAR/redis" "$VAR/media" "$VAR/models"
export STUDIO_VAR_DIR="$VAR"
PY=.venv/bin/python
pids=()

cleanup() {
  trap - INT TERM EXIT
  echo
  echo "==> Stopping"
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  # A worker mid-job shuts down warm; a second TERM makes it stop now (the job is retried later).
  for i in $(seq 1 30); do
    alive=0
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ $alive -eq 0 ] && break
    [ "$i" -eq 10 ] && for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    sleep 0.2
  done
  for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
}
trap cleanup INT TERM EXIT

if [ -z "${REDIS_URL:-}" ]; then
  sock="$VAR/redis/redis.sock"
  if [ -S "$sock" ] && [ "$(redis-cli -s "$sock" ping 2>/dev/null)" = PONG ]; then
    echo "==> Reusing Redis at $sock"
  else
    rm -f "$sock"
    redis-server --port 0 --unixsocket "$sock" --unixsocketperm 700 --dir "$VAR/redis" \
      --appendonly yes --save 60 1 --daemonize no --loglevel warning &
    pids+=($!)
    for _ in $(seq 1 300); do
      [ "$(redis-cli -s "$sock" ping 2>/dev/null)" = PONG ] && break
      kill -0 "${pids[-1]}" 2>/dev/null || { echo "Redis failed to start (see above)"; exit 1; }
      sleep 0.1
    done
  fi
  export REDIS_URL="unix://$sock?db=0"
fi

$PY manage.py migrate --no-input -v0
$PY manage.py collectstatic --no-input -v0
$PY manage.py rqworker default --worker-class studio.jobs.worker.StudioWorker &
pids+=($!)
$PY -m daphne -b "$HOST" -p "$PORT" studio.asgi:application &
pids+=($!)
echo "==> Studio running at http://$HOST:$PORT/  (Ctrl-C to stop)"
wait -n "${pids[@]}"
