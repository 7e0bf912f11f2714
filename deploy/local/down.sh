#!/usr/bin/env bash
# Stop the local services this checkout started.
source "$(dirname "$0")/common.sh"
bash "$ROOT/deploy/local/prometheus.sh" stop
bash "$ROOT/deploy/local/kafka.sh" stop
bash "$ROOT/deploy/local/postgres.sh" stop
