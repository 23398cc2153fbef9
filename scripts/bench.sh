#!/usr/bin/env bash
# Runs the scale benchmark (benches/scale.rs) against a local noida-db broker and prints figures
# for BENCHMARKS.md. Installs the broker and the Python comparison client when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/peers.sh
source scripts/peers.sh
build_install
peers_install_brokers
"$VENV/bin/python" -c 'import confluent_kafka' 2>/dev/null \
  || "$VENV/bin/pip" install -q --disable-pip-version-check confluent-kafka
export OSPREY_BENCH_NOIDA_BIN; OSPREY_BENCH_NOIDA_BIN=$(noida_bin)
export OSPREY_BENCH_PYTHON=$VENV/bin/python
# `scripts/bench.sh` runs the topic-scale benchmark; `scripts/bench.sh groups` the consumer one;
# `scripts/bench.sh scale poll` only the poll of the topic-scale one; `scripts/bench.sh alerts`
# the alert storm; `scripts/bench.sh rabbit` 5,000 RabbitMQ queues.
bench=${1:-scale}
shift || true
if [ "$bench" = rabbit ]; then
  # Only the RabbitMQ node: an isolated one, stopped on exit.
  PEERS_DIR=$(mktemp -d /tmp/osprey-bench.XXXXXX)
  trap peers_stop EXIT
  start_rabbitmq
  export OSPREY_TEST_RABBITMQ_HTTP=http://127.0.0.1:$RABBIT_HTTP_PORT
fi
cargo bench --locked --bench "$bench" -- "$@"
