#!/usr/bin/env bash
# PostgreSQL 15 from Debian's packages, cluster 15/main on 127.0.0.1:5432, database `tiering`.
# Loopback connections are trusted (like the postgres:15 image with POSTGRES_HOST_AUTH_METHOD=trust):
# a development setup, never a production one.
SERVICE=postgres
source "$(dirname "$0")/common.sh"

VERSION=15
CLUSTER=main
PORT=5432
DB=tiering
HBA_MARK="# deposit-tiering local launcher: trust loopback"

psql_q() { psql -X -q -h 127.0.0.1 -p "$PORT" -U postgres -d postgres -tAc "$1"; }

ensure_db() {
  if [ "$(psql_q "SELECT 1 FROM pg_database WHERE datname = '$DB'")" != "1" ]; then
    psql_q "CREATE DATABASE $DB" >/dev/null
    say "created database $DB"
  fi
}

start() {
  if port_open 127.0.0.1 "$PORT"; then
    if psql_q "SELECT 1" >/dev/null 2>&1; then
      ensure_db
      say "already answering on 127.0.0.1:$PORT"
      return 0
    fi
    fail "something on 127.0.0.1:$PORT refuses postgres@localhost without a password; set TIERING_DATABASE_URL"
  fi
  if [ ! -x "/usr/lib/postgresql/$VERSION/bin/postgres" ]; then
    apt_install "postgresql-$VERSION" postgresql-client-$VERSION
  fi
  command -v pg_ctlcluster >/dev/null || fail "pg_ctlcluster not found (Debian's postgresql-common)"
  if ! pg_lsclusters -h | awk '{print $1"/"$2}' | grep -qx "$VERSION/$CLUSTER"; then
    say "creating cluster $VERSION/$CLUSTER"
    pg_createcluster "$VERSION" "$CLUSTER" --port "$PORT" >>"$LOGS/postgres.log" 2>&1 \
      || fail "pg_createcluster failed (see $LOGS/postgres.log)"
  fi
  local conf="/etc/postgresql/$VERSION/$CLUSTER"
  if ! grep -qF "$HBA_MARK" "$conf/pg_hba.conf"; then
    say "trusting loopback connections in $conf/pg_hba.conf"
    { echo "$HBA_MARK"
      echo "host all all 127.0.0.1/32 trust"
      echo "host all all ::1/128 trust"
      cat "$conf/pg_hba.conf"; } >"$conf/pg_hba.conf.new"
    chown --reference="$conf/pg_hba.conf" "$conf/pg_hba.conf.new"
    chmod --reference="$conf/pg_hba.conf" "$conf/pg_hba.conf.new"
    mv "$conf/pg_hba.conf.new" "$conf/pg_hba.conf"
  fi
  local port
  port=$(pg_lsclusters -h | awk -v v="$VERSION" -v c="$CLUSTER" '$1==v && $2==c {print $3}')
  [ "$port" = "$PORT" ] || fail "cluster $VERSION/$CLUSTER is set to port $port, not $PORT"
  say "starting cluster $VERSION/$CLUSTER"
  pg_ctlcluster "$VERSION" "$CLUSTER" start >>"$LOGS/postgres.log" 2>&1 \
    || fail "pg_ctlcluster start failed (see $LOGS/postgres.log and /var/log/postgresql/)"
  wait_until 60 postgres pg_isready -q -h 127.0.0.1 -p "$PORT" || fail "not ready after 60 s"
  ensure_db
  say "ready on 127.0.0.1:$PORT, database $DB"
}

stop() {
  if pg_lsclusters -h 2>/dev/null | awk '{print $1"/"$2"/"$4}' | grep -qx "$VERSION/$CLUSTER/online"; then
    say "stopping cluster $VERSION/$CLUSTER"
    pg_ctlcluster "$VERSION" "$CLUSTER" stop -m fast >>"$LOGS/postgres.log" 2>&1 || true
  else
    say "not running"
  fi
}

"${1:-start}"
