#!/usr/bin/env bash
# Prometheus from Debian's packages on 127.0.0.1:9090, scraping the workers (deploy/prometheus/).
SERVICE=prometheus
source "$(dirname "$0")/common.sh"

HOME_DIR="$LOCAL/prometheus"
PIDFILE="$HOME_DIR/prometheus.pid"
CONFIG="$ROOT/deploy/prometheus/prometheus.yml"

start() {
  if http_ok http://127.0.0.1:9090/-/ready; then
    say "already answering on 127.0.0.1:9090"
    return 0
  fi
  if ! command -v prometheus >/dev/null || ! command -v promtool >/dev/null; then
    apt_install prometheus
  fi
  mkdir -p "$HOME_DIR/data"
  promtool check config "$CONFIG" >>"$LOGS/prometheus.log" 2>&1 || fail "$CONFIG is invalid (see $LOGS/prometheus.log)"
  say "starting (log: $LOGS/prometheus.log)"
  nohup prometheus --config.file="$CONFIG" --storage.tsdb.path="$HOME_DIR/data" \
    --storage.tsdb.retention.time=7d --web.listen-address=127.0.0.1:9090 --web.enable-lifecycle \
    >>"$LOGS/prometheus.log" 2>&1 &
  echo $! >"$PIDFILE"
  ready() {
    kill -0 "$(cat "$PIDFILE")" 2>/dev/null || fail "prometheus exited (see $LOGS/prometheus.log)"
    http_ok http://127.0.0.1:9090/-/ready
  }
  wait_until 60 prometheus ready || fail "not ready after 60 s (see $LOGS/prometheus.log)"
  say "ready on 127.0.0.1:9090"
}

stop() {
  if [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then
    local pid
    pid=$(cat "$PIDFILE")
    say "stopping (pid $pid)"
    kill "$pid"
    wait_until 30 "prometheus exit" bash -c "! kill -0 $pid 2>/dev/null" || { kill -9 "$pid" 2>/dev/null || true; }
  else
    say "not running from this checkout"
  fi
  rm -f "$PIDFILE"
}

"${1:-start}"
