#!/usr/bin/env bash
# Osprey on a local demo stack: a Kafka-protocol broker (noida-db, the one the tests use) on
# 127.0.0.1:19092 with a few topics and steady traffic, and `osprey serve` on SQLite, at
# http://127.0.0.1:8048. Ctrl-C stops everything; history stays in .osprey-demo/.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/peers.sh
source scripts/peers.sh

KAFKA_PORT=${OSPREY_DEMO_KAFKA_PORT:-19092}
LISTEN=${OSPREY_DEMO_LISTEN:-127.0.0.1:8048}
DEMO_DIR=$OSPREY_ROOT/.osprey-demo
mkdir -p "$DEMO_DIR/kafka"

build_install
peers_install_brokers
require_free_port "$KAFKA_PORT" "demo Kafka broker" DEMO_KAFKA_PORT
log "building Osprey (release; the first build takes a few minutes)"
cargo build --release --locked --bin osprey --example demo_traffic

pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

"$(noida_bin)" start --only kafka --host 127.0.0.1 --kafka-port "$KAFKA_PORT" \
  --data-dir "$DEMO_DIR/kafka" >"$DEMO_DIR/kafka.log" 2>&1 &
pids+=($!)
PEERS_DIR=$DEMO_DIR wait_for 20 "the demo broker" bash -c "exec 3<>/dev/tcp/127.0.0.1/$KAFKA_PORT"
log "Kafka-protocol broker on 127.0.0.1:$KAFKA_PORT"

target/release/examples/demo_traffic "127.0.0.1:$KAFKA_PORT" >"$DEMO_DIR/traffic.log" 2>&1 &
pids+=($!)

cat >"$DEMO_DIR/osprey.toml" <<TOML
[server]
listen = "$LISTEN"
[database]
url = "sqlite://$DEMO_DIR/osprey.db"
[lag]
# Short, so the demo's groups show WARN and STOP within a minute or two.
window = "1m"
[[clusters]]
name = "demo"
kind = "kafka"
bootstrap_servers = "127.0.0.1:$KAFKA_PORT"
poll_interval = "5s"
poll_timeout = "4s"
TOML

echo
echo "  Osprey: http://$LISTEN   (Ctrl-C stops the demo)"
echo
target/release/osprey serve --config "$DEMO_DIR/osprey.toml" &
pids+=($!)
wait "${pids[-1]}"
