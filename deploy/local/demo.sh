#!/usr/bin/env bash
# make demo: services (Docker Compose if a Docker engine answers, else the local launcher),
# topics, a worker (which also delivers the notifications to the inbox's tables), the managers'
# inbox, and the synthetic bank feed with tier changes shown live and sign-in links to the inbox.
# Ctrl-C stops what this script started.
source "$(dirname "$0")/common.sh"
SERVICE=demo
cd "$ROOT"
BIN="$ROOT/.venv/bin"

# The inbox and the demo's sign-in links share a secret: a new one for each run unless one is set.
if [ -z "${TIERING_INBOX_SECRET:-}" ]; then
  TIERING_INBOX_SECRET=$("$BIN/python" -c 'import secrets; print(secrets.token_urlsafe(32))')
fi
export TIERING_INBOX_SECRET
INBOX_URL="http://127.0.0.1:${TIERING_INBOX_PORT:-8080}"

worker_pid=""
inbox_pid=""
stop_services=""
# stop PID NAME: SIGTERM a process this script started, and wait for it
stop() {
  if [ -n "$1" ] && kill -0 "$1" 2>/dev/null; then
    say "stopping the $2"
    kill "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
  fi
}
cleanup() {
  trap - INT TERM EXIT
  stop "$inbox_pid" inbox
  stop "$worker_pid" worker
  case "$stop_services" in
    compose) say "stopping Docker Compose services"; docker compose down ;;
    local) bash "$ROOT/deploy/local/down.sh" ;;
  esac
}
trap cleanup INT TERM EXIT

if command -v docker >/dev/null && docker info >/dev/null 2>&1; then
  say "a Docker engine answers: starting the stack with Docker Compose"
  if ! docker compose ps --status running --services 2>/dev/null | grep -qx worker; then
    stop_services=compose
  fi
  docker compose up -d --build
  wait_until 180 "worker" http_ok http://127.0.0.1:6066/healthz || fail "the worker did not become healthy (docker compose logs worker)"
else
  if ! port_open 127.0.0.1 9092 || ! port_open 127.0.0.1 5432 || ! http_ok http://127.0.0.1:9090/-/ready; then
    stop_services=local
  fi
  bash "$ROOT/deploy/local/up.sh"
  "$BIN/tiering" topics create
  "$BIN/tiering" db migrate
  if http_ok http://127.0.0.1:6066/healthz; then
    say "a worker already answers on 127.0.0.1:6066: using it"
  else
    say "starting a worker (log: $LOGS/worker.log)"
    "$BIN/tiering" worker >"$LOGS/worker.log" 2>&1 &
    worker_pid=$!
    ready() {
      kill -0 "$worker_pid" 2>/dev/null || fail "the worker exited (see $LOGS/worker.log)"
      http_ok http://127.0.0.1:6066/healthz
    }
    wait_until 120 "worker" ready || fail "the worker did not become healthy (see $LOGS/worker.log)"
  fi
fi
say "worker ready: metrics at http://127.0.0.1:6066/metrics, Prometheus at http://127.0.0.1:9090"
if http_ok "$INBOX_URL/healthz"; then
  say "an inbox already answers on $INBOX_URL: using it (the sign-in links work if it runs with this TIERING_INBOX_SECRET)"
else
  say "starting the managers' inbox (log: $LOGS/inbox.log)"
  "$BIN/tiering" inbox >"$LOGS/inbox.log" 2>&1 &
  inbox_pid=$!
  inbox_ready() {
    kill -0 "$inbox_pid" 2>/dev/null || fail "the inbox exited (see $LOGS/inbox.log)"
    http_ok "$INBOX_URL/healthz"
  }
  wait_until 60 "inbox" inbox_ready || fail "the inbox did not answer (see $LOGS/inbox.log)"
fi
say "inbox ready at $INBOX_URL/"
"$BIN/tiering" demo "$@"
