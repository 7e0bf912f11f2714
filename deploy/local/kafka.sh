#!/usr/bin/env bash
# Apache Kafka 3.9 (KRaft, single node) on 127.0.0.1:9092, fetched from Maven Central by mvn.
SERVICE=kafka
source "$(dirname "$0")/common.sh"

HOME_DIR="$LOCAL/kafka"
LIBS="$HOME_DIR/libs"
DATA="$HOME_DIR/data"
PIDFILE="$HOME_DIR/kafka.pid"
HERE="$ROOT/deploy/local/kafka"

started_here() { [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; }

# fetch: the broker's jars in .local/kafka/libs, once per version. Also when a broker already
# answers (another checkout's): the tests start brokers of their own from these jars.
fetch() {
  local version
  version=$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$HERE/pom.xml")
  if [ ! -f "$LIBS/.fetched-$version" ]; then
    command -v mvn >/dev/null || fail "Maven (mvn) not found: it fetches the Kafka broker from Maven Central"
    say "fetching Kafka $version from Maven Central"
    rm -rf "$LIBS"
    mvn -q -B -f "$HERE/pom.xml" dependency:copy-dependencies -DoutputDirectory="$LIBS" \
      >"$LOGS/kafka-fetch.log" 2>&1 || fail "mvn could not fetch Kafka $version (see $LOGS/kafka-fetch.log)"
    touch "$LIBS/.fetched-$version"
  fi
}

start() {
  mkdir -p "$HOME_DIR" "$DATA"
  if port_open 127.0.0.1 9092; then
    fetch
    say "already answering on 127.0.0.1:9092"
    return 0
  fi
  command -v java >/dev/null || fail "Java 17+ not found: install a JDK 17 or newer (Debian: openjdk-17-jre-headless)"
  local major
  major=$(java -XshowSettings:properties -version 2>&1 | awk -F'= ' '/java.specification.version/ {print $2}')
  [ "${major%%.*}" -ge 17 ] 2>/dev/null || fail "Java 17+ not found (found Java ${major:-unknown})"
  fetch

  sed "s#@DATA@#$DATA#" "$HERE/server.properties" >"$HOME_DIR/server.properties"
  if [ ! -f "$DATA/meta.properties" ]; then
    say "formatting storage (once)"
    local cluster_id
    cluster_id=$(java -cp "$LIBS/*" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -1)
    java -cp "$LIBS/*" kafka.tools.StorageTool format -t "$cluster_id" -c "$HOME_DIR/server.properties" \
      >"$LOGS/kafka-format.log" 2>&1 || fail "formatting Kafka storage failed (see $LOGS/kafka-format.log)"
  fi

  # Every partition keeps files open: allow as many as the system lets this user have.
  ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
  say "starting (log: $LOGS/kafka.log, $(ulimit -n) open files allowed)"
  : >"$LOGS/kafka.log"
  nohup java -Xms256m -Xmx1g -XX:+UseG1GC -Djava.awt.headless=true \
    -Dkafka.logs.dir="$LOGS" -Dlog4j.configuration="file:$HERE/log4j.properties" \
    -cp "$LIBS/*" kafka.Kafka "$HOME_DIR/server.properties" >"$LOGS/kafka.out" 2>&1 &
  echo $! >"$PIDFILE"
  ready() {
    kill -0 "$(cat "$PIDFILE")" 2>/dev/null || fail "the broker exited (see $LOGS/kafka.out and $LOGS/kafka.log)"
    port_open 127.0.0.1 9092 && grep -q "Kafka Server started" "$LOGS/kafka.log"
  }
  wait_until 90 "kafka" ready || fail "not ready after 90 s (see $LOGS/kafka.log)"
  say "ready on 127.0.0.1:9092"
}

stop() {
  if started_here; then
    local pid
    pid=$(cat "$PIDFILE")
    say "stopping (pid $pid)"
    kill "$pid"
    wait_until 60 "kafka exit" bash -c "! kill -0 $pid 2>/dev/null" || { kill -9 "$pid" 2>/dev/null || true; }
  else
    say "not running from this checkout"
  fi
  rm -f "$PIDFILE"
}

"${1:-start}"
