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
# the alert storm.
bench=${1:-scale}
shift || true
cargo bench --locked --bench "$bench" -- "$@"
