#!/usr/bin/env bash
# make demo: services (Docker Compose if a Docker engine answers, else the local launcher),
# topics, a worker, and the synthetic bank feed with tier changes shown live.
# Ctrl-C stops what this script started.
source "$(dirname "$0")/common.sh"
SERVICE=demo
cd "$ROOT"
BIN="$ROOT/.venv/bin"

worker_pid=""
stop_services=""
cleanup() {
  trap - INT TERM EXIT
  if [ -n "$worker_pid" ] && kill -0 "$worker_pid" 2>/dev/null; then
    say "stopping the worker"
    kill "$worker_pid" 2>/dev/null || true
    wait "$worker_pid" 2>/dev/null || true
  fi
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
"$BIN/tiering" demo "$@"
