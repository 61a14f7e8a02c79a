#!/usr/bin/env bash
# Run the studio: Redis (unless REDIS_URL is set), STUDIO_WORKERS RQ workers (default 1) and
# STUDIO_WEB_PROCESSES ASGI server processes (default 2) on one port, supervised by
# supervisord in the foreground. A process that dies is restarted at once while the
# others keep serving; Ctrl-C (or SIGTERM) stops everything.
# `supervisorctl -c "$STUDIO_VAR_DIR/supervisord.conf" status` shows the processes.
set -euo pipefail
cd "$(dirname "$0")/.."
HOST="${HOST:-127.0.0.1}"
PORT="${PORT:-8000}"
WORKERS="${STUDIO_WORKERS:-1}"
WEB="${STUDIO_WEB_PROCESSES:-2}"
VAR="${STUDIO_VAR_DIR:-$PWD/var}"
case "$WORKERS" in '' | *[!0-9]* | 0) echo "STUDIO_WORKERS must be a number >= 1" >&2; exit 2 ;; esac
case "$WEB" in '' | *[!0-9]* | 0) echo "STUDIO_WEB_PROCESSES must be a number >= 1" >&2; exit 2 ;; esac
# With N workers one team may use all N at once (fair share still puts other teams first in line).
export STUDIO_FAIR_SHARE_SLOTS="${STUDIO_FAIR_SHARE_SLOTS:-$WORKERS}"
mkdir -p "$VAR/redis" "$VAR/media" "$VAR/models" "$VAR/logs"
VAR="$(cd "$VAR" && pwd)"
export STUDIO_VAR_DIR="$VAR"
PY="$PWD/.venv/bin/python"
running="$(cat "$VAR/supervisord.pid" 2>/dev/null || true)"
if [ -n "$running" ] && grep -qs supervisord "/proc/$running/cmdline"; then
  echo "The studio is already running from $VAR (supervisord PID $running)." >&2
  exit 1
fi

# A random SECRET_KEY made on first run and kept under var/ (mode 600), unless one is given.
if [ -z "${SECRET_KEY:-}" ] && [ -z "${SECRET_KEY_FILE:-}" ]; then
  SECRET_KEY_FILE="$(scripts/secret-key.sh "$VAR")"
  export SECRET_KEY_FILE
fi

redis_program=""
if [ -z "${REDIS_URL:-}" ]; then
  sock="$VAR/redis/redis.sock"
  if [ -S "$sock" ] && [ "$(redis-cli -s "$sock" ping 2>/dev/null)" = PONG ]; then
    echo "==> Reusing Redis at $sock (not supervised here)"
  else
    rm -f "$sock"
    redis_program=1
  fi
  export REDIS_URL="unix://$sock?db=0"
fi

# Uploads being received are written under var/ (not the system's /tmp, often another
# filesystem, as in the container), so storing one in media is a rename, not a copy.
# Only a killed web process leaves any behind: cleared at each start.
if [ -z "${FILE_UPLOAD_TEMP_DIR:-}" ]; then
  rm -rf "$VAR/tmp/uploads"
  mkdir -p "$VAR/tmp/uploads"
  export FILE_UPLOAD_TEMP_DIR="$VAR/tmp/uploads"
fi

"$PY" manage.py migrate --no-input -v0
"$PY" manage.py collectstatic --no-input -v0

# supervisord reads %(name)s expansions: a literal % in a path is written %%.
q() { printf '%s' "$1" | sed 's/%/%%/g'; }
conf="$VAR/supervisord.conf"
{
  cat <<CONF
; Written by scripts/run.sh on each start; edit that script, not this file.
[supervisord]
nodaemon=true
logfile=$(q "$VAR/logs/supervisord.log")
logfile_maxbytes=5MB
logfile_backups=2
pidfile=$(q "$VAR/supervisord.pid")
childlogdir=$(q "$VAR/logs")

[unix_http_server]
file=$(q "$VAR/supervisor.sock")
chmod=0700

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl=unix://$(q "$VAR/supervisor.sock")

CONF
  # Every program: restarted whenever it exits (startretries covers a start that keeps
  # failing, such as a busy port), output on this terminal.
  common="autorestart=true
startsecs=1
startretries=1000
redirect_stderr=true
stdout_logfile=/dev/stdout
stdout_logfile_maxbytes=0"
  if [ -n "$redis_program" ]; then
    cat <<CONF
[program:redis]
command=redis-server --port 0 --unixsocket "$(q "$sock")" --unixsocketperm 700 --dir "$(q "$VAR/redis")" --appendonly yes --save 60 1 --daemonize no --loglevel warning
priority=10
stopwaitsecs=20
$common

CONF
  fi
  # A worker told to stop finishes its job for STUDIO_STOP_GRACE seconds, then puts it
  # back in the queue (studio/jobs/worker.py); KILL only if it has not exited 10 s later.
  # Workers take generations (`default`); one more process takes model downloads (`models`,
  # the staff Models page), so a download of many GB never holds up a generation.
  cat <<CONF
[program:worker]
command="$(q "$PY")" manage.py rqworker default --worker-class studio.jobs.worker.StudioWorker
process_name=worker-%(process_num)d
numprocs=$WORKERS
priority=20
stopwaitsecs=$((${STUDIO_STOP_GRACE:-2} + 10))
$common

[program:downloads]
command="$(q "$PY")" manage.py rqworker models --worker-class studio.jobs.worker.StudioWorker
priority=20
stopwaitsecs=$((${STUDIO_STOP_GRACE:-2} + 10))
$common

; STUDIO_WEB_PROCESSES daphne processes accept on one listening socket that supervisord
; opens and hands each as fd 0 (the layout of the Channels deployment docs): a process
; busy taking in big uploads is slow to accept, so another takes the other requests; one
; that dies is restarted while the others go on serving. Websockets and the
; channel layer work across processes (Redis). The socket is IPv4 (supervisord's): HOST
; is an IPv4 address or a name for one.
[fcgi-program:web]
socket=tcp://$(q "$HOST"):$PORT
command="$(q "$PY")" -m daphne --fd 0 studio.asgi:application
process_name=web-%(process_num)d
numprocs=$WEB
priority=30
stopwaitsecs=10
$common
CONF
} > "$conf"

echo "==> Studio running at http://$HOST:$PORT/  (Ctrl-C to stop)"
exec "$PWD/.venv/bin/supervisord" -n -c "$conf"
