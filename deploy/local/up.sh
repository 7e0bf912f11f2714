#!/usr/bin/env bash
# Start the local services on loopback: Kafka, PostgreSQL, Prometheus. Idempotent.
source "$(dirname "$0")/common.sh"
bash "$ROOT/deploy/local/kafka.sh" start
bash "$ROOT/deploy/local/postgres.sh" start
bash "$ROOT/deploy/local/prometheus.sh" start
say "services up: Kafka 127.0.0.1:9092, PostgreSQL 127.0.0.1:5432/tiering, Prometheus http://127.0.0.1:9090"
