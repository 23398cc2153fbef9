#!/usr/bin/env bash
# Records fresh seeds for the fuzz targets from real peers: starts Apache Kafka (KRaft, three
# nodes) and Apache RocketMQ (two masters, a slave, a proxy) with scripts/peers.sh, captures
# loopback while the integration tests that read groups, offsets, messages and traces run
# against them, and cuts the capture into fuzz/seeds/<target>/ (capture/split.py). The JMX
# exporter and Jolokia seeds are the nodes' own answers. Needs tshark (apt) and root or the
# capture capability; run by hand when the adapters learn a new request, not in CI.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
source scripts/peers.sh
apt_install tshark
peers_install
PEERS_DIR=$(mktemp -d /tmp/osprey-capture.XXXXXX)
chmod 755 "$PEERS_DIR"
tshark_pid=
trap 'stop_kafka_cluster "$PEERS_DIR/kafka"; stop_rocketmq_cluster "$PEERS_DIR/rocketmq"; [ -z "$tshark_pid" ] || kill "$tshark_pid" 2>/dev/null || true' EXIT
start_kafka_cluster "$PEERS_DIR/kafka" & start_rocketmq_cluster "$PEERS_DIR/rocketmq" & wait
peers_env >"$PEERS_DIR/env"
# shellcheck disable=SC1091
source "$PEERS_DIR/env"

kafka_ports=$((KAFKA_PORT_BASE + 1)),$((KAFKA_PORT_BASE + 2)),$((KAFKA_PORT_BASE + 3))
rocketmq_ports=$ROCKETMQ_NAMESRV_PORT,$ROCKETMQ_PROXY_REMOTING_PORT
for entry in "${ROCKETMQ_BROKERS[@]}"; do rocketmq_ports+=,${entry##*:}; done
filter=$(echo "$kafka_ports,$rocketmq_ports" | sed 's/,/ or tcp port /g; s/^/tcp port /')
tshark -i lo -f "$filter" -w "$PEERS_DIR/capture.pcapng" >/dev/null 2>&1 &
tshark_pid=$!
sleep 3
cargo nextest run --test it apache_kafka::lag apache_kafka::operations \
  apache_rocketmq::messages apache_rocketmq::clients --no-fail-fast || true
kill "$tshark_pid"; wait "$tshark_pid" 2>/dev/null || true

seeds=fuzz/seeds
# Recorded seeds are replaced; inputs that once crashed a target (regression-*) stay.
for target in kafka_response member_assignment rocketmq_frame rocketmq_body; do
  find "$seeds/$target" -type f ! -name 'regression-*' -delete 2>/dev/null || true
done
python3 fuzz/capture/split.py "$PEERS_DIR/capture.pcapng" "$seeds" "$kafka_ports" "$rocketmq_ports"
mkdir -p "$seeds/prometheus_text" "$seeds/jolokia_json"
IFS=, read -ra urls <<<"$OSPREY_TEST_KAFKA_EXPORTER_URLS"
for url in "${urls[@]}"; do curl -sf "$url" >"$seeds/prometheus_text/kafka-${url//[^0-9]/}"; done
