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
    local running
    running=$(running_config)
    if [ -n "$running" ] && [ "$running" != "$CONFIG" ]; then
      say "WARNING: it runs with $running, not $CONFIG: its rules are that checkout's;"
      say "         stop it (make down there) and run make up here to use this one"
    fi
    # it runs with --web.enable-lifecycle: load rules added or changed since it started
    if reload >>"$LOGS/prometheus.log" 2>&1; then
      say "reloaded its configuration and rules"
    else
      say "could not reload it (see $LOGS/prometheus.log); rules may be out of date"
    fi
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

running_config() {
  python3 -c "import json,sys,urllib.request; print(json.load(urllib.request.urlopen(sys.argv[1], timeout=5))['data']['config.file'])" \
    http://127.0.0.1:9090/api/v1/status/flags 2>/dev/null || true
}

reload() {
  if command -v curl >/dev/null; then curl -fsS -X POST --max-time 10 http://127.0.0.1:9090/-/reload
  else python3 -c "import urllib.request as u; u.urlopen(u.Request('http://127.0.0.1:9090/-/reload', method='POST'), timeout=10)"
  fi
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
