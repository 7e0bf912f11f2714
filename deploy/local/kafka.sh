#!/usr/bin/env bash
# Apache Kafka (KRaft, single node) on 127.0.0.1:9092, fetched from Maven Central by mvn: the
# version of deploy/local/kafka/pom.xml (4.x), or KAFKA_VERSION (KAFKA_VERSION=3.9.2 make up).
SERVICE=kafka
source "$(dirname "$0")/common.sh"

HOME_DIR="$LOCAL/kafka"
LIBS="$HOME_DIR/libs"
PIDFILE="$HOME_DIR/kafka.pid"
HERE="$ROOT/deploy/local/kafka"

VERSION=${KAFKA_VERSION:-$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$HERE/pom.xml")}
[[ "$VERSION" =~ ^[34]\.[0-9]+\.[0-9]+$ ]] || fail "KAFKA_VERSION=$VERSION: expected a 3.x or 4.x release such as 4.4.0 or 3.9.2"
MAJOR=${VERSION%%.*}
# each version's storage of its own: a switch never starts a broker on another version's data
DATA="$HOME_DIR/data-$VERSION"
# Kafka 4 logs through log4j2, Kafka 3 through reload4j (log4j 1.x): the pom's profile brings
# the jars, the system property names the file
if [ "$MAJOR" -ge 4 ]; then
  LOG_CONFIG="-Dlog4j2.configurationFile=file:$HERE/log4j2.yaml"
else
  LOG_CONFIG="-Dlog4j.configuration=file:$HERE/log4j.properties"
fi

started_here() { [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; }

# the version whose jars are in $LIBS (empty if none)
fetched_version() {
  local marker
  for marker in "$LIBS"/.fetched-*; do [ -e "$marker" ] && echo "${marker##*/.fetched-}"; done
  return 0
}

# fetch: the broker's jars in .local/kafka/libs, one version at a time (switching fetches
# again). Also when a broker already answers (another checkout's): the tests start brokers of
# their own from these jars. Never under a broker this checkout started: it runs on them.
fetch() {
  local have
  have=$(fetched_version)
  if [ "$have" = "$VERSION" ]; then
    say "Kafka $VERSION jars in $LIBS"
    return 0
  fi
  if [ -n "$have" ] && started_here; then
    say "Kafka $have started by this checkout runs on the jars in $LIBS: kept (make down first to switch to $VERSION)"
    return 0
  fi
  command -v mvn >/dev/null || fail "Maven (mvn) not found: it fetches the Kafka broker from Maven Central"
  say "fetching Kafka $VERSION from Maven Central into $LIBS"
  rm -rf "$LIBS"
  mvn -q -B -f "$HERE/pom.xml" dependency:copy-dependencies -DoutputDirectory="$LIBS" \
    -Dkafka.version="$VERSION" -P "kafka$MAJOR" \
    >"$LOGS/kafka-fetch.log" 2>&1 || fail "mvn could not fetch Kafka $VERSION (see $LOGS/kafka-fetch.log)"
  touch "$LIBS/.fetched-$VERSION"
}

start() {
  mkdir -p "$HOME_DIR"
  if port_open 127.0.0.1 9092; then
    fetch
    say "already answering on 127.0.0.1:9092: used as it is, whatever its version"
    return 0
  fi
  command -v java >/dev/null || fail "Java 17+ not found: install a JDK 17 or newer (Debian: openjdk-17-jre-headless)"
  local major
  major=$(java -XshowSettings:properties -version 2>&1 | awk -F'= ' '/java.specification.version/ {print $2}')
  [ "${major%%.*}" -ge 17 ] 2>/dev/null || fail "Java 17+ not found (found Java ${major:-unknown})"
  fetch

  # the one data directory of the launcher before versions had their own was Kafka 3.9's
  if [ -d "$HOME_DIR/data" ] && [ ! -e "$HOME_DIR/data-3.9.2" ]; then
    say "keeping the Kafka 3.9 data of $HOME_DIR/data as $HOME_DIR/data-3.9.2"
    mv "$HOME_DIR/data" "$HOME_DIR/data-3.9.2"
  fi
  mkdir -p "$DATA"
  sed "s#@DATA@#$DATA#" "$HERE/server.properties" >"$HOME_DIR/server.properties"
  if [ ! -f "$DATA/meta.properties" ]; then
    say "formatting storage of Kafka $VERSION in $DATA (once)"
    local cluster_id
    cluster_id=$(java -cp "$LIBS/*" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -1)
    java -Dkafka.logs.dir="$LOGS" "$LOG_CONFIG" -cp "$LIBS/*" kafka.tools.StorageTool \
      format -t "$cluster_id" -c "$HOME_DIR/server.properties" \
      >"$LOGS/kafka-format.log" 2>&1 || fail "formatting Kafka storage failed (see $LOGS/kafka-format.log)"
  fi

  # Every partition keeps files open: allow as many as the system lets this user have.
  ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
  say "starting Kafka $VERSION (log: $LOGS/kafka.log, $(ulimit -n) open files allowed)"
  : >"$LOGS/kafka.log"
  nohup java -Xms256m -Xmx1g -XX:+UseG1GC -Djava.awt.headless=true \
    -Dkafka.logs.dir="$LOGS" "$LOG_CONFIG" \
    -cp "$LIBS/*" kafka.Kafka "$HOME_DIR/server.properties" >"$LOGS/kafka.out" 2>&1 &
  echo $! >"$PIDFILE"
  ready() {
    kill -0 "$(cat "$PIDFILE")" 2>/dev/null || fail "the broker exited (see $LOGS/kafka.out and $LOGS/kafka.log)"
    port_open 127.0.0.1 9092 && grep -q "Kafka Server started" "$LOGS/kafka.log"
  }
  wait_until 90 "kafka" ready || fail "not ready after 90 s (see $LOGS/kafka.log)"
  say "Kafka $VERSION ready on 127.0.0.1:9092"
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
