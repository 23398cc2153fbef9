#!/usr/bin/env bash
# Osprey on a local demo stack: Apache Kafka 4.1 (the KRaft cluster of three nodes the tests use,
# from Maven Central, scripts/kafka.sh) on 127.0.0.1:18091-18093 with Jolokia on every node, a few
# topics with three replicas and steady traffic — and, when the RocketMQ servers are
# installed (scripts/peers.sh install), a RocketMQ name server and broker (19876, 20911) with
# traffic too — an SMTP server that keeps what it receives
# (127.0.0.1:12525, messages in .osprey-demo/mail/new) and `osprey serve` on SQLite with two alert
# rules, at http://127.0.0.1:8048. Ctrl-C stops everything; history stays in .osprey-demo/.
set -euo pipefail
cd "$(dirname "$0")/.."
# The demo's Kafka ports, away from the test run's: brokers 18091-18093, SSL 18291-, SASL_SSL
# 18391-, Jolokia 18491-, JMX exporter 18591-, controllers 18191-18193.
export OSPREY_KAFKA_PORT_BASE=${OSPREY_DEMO_KAFKA_PORT_BASE:-18090}
export OSPREY_KAFKA_CONTROLLER_PORT_BASE=${OSPREY_DEMO_KAFKA_CONTROLLER_PORT_BASE:-18190}
# shellcheck source=scripts/peers.sh
source scripts/peers.sh

LISTEN=${OSPREY_DEMO_LISTEN:-127.0.0.1:8048}
SMTP_PORT=${OSPREY_DEMO_SMTP_PORT:-12525}
NAMESRV_PORT=${OSPREY_DEMO_NAMESRV_PORT:-19876}
ROCKETMQ_PORT=${OSPREY_DEMO_ROCKETMQ_PORT:-20911}
DEMO_DIR=$OSPREY_ROOT/.osprey-demo
mkdir -p "$DEMO_DIR"

build_install
peers_install_brokers
command -v java >/dev/null 2>&1 || apt_install default-jre-headless
# The first run fetches Apache Kafka (~59 MB) from Maven Central; kafka_install says so.
kafka_install
require_free_port "$SMTP_PORT" "demo SMTP server" DEMO_SMTP_PORT
log "building Osprey (release; the first build takes about 12 minutes on 2 cores)"
cargo build --release --locked --bin osprey --example demo_traffic --example demo_rocketmq
rocketmq=false
if [ -x "$(rocketmq_bin rocketmq-namesrv-rust)" ] && [ -x "$(rocketmq_bin rocketmq-broker-rust)" ]; then
  rocketmq=true
  require_free_port "$NAMESRV_PORT" "demo RocketMQ name server" DEMO_NAMESRV_PORT
  for port in "$ROCKETMQ_PORT" $((ROCKETMQ_PORT - 2)) $((ROCKETMQ_PORT + 1)); do
    require_free_port "$port" "demo RocketMQ broker" DEMO_ROCKETMQ_PORT
  done
else
  log "RocketMQ servers not installed: the demo shows Kafka only (scripts/peers.sh install adds them, ≈ 15 min)"
fi

pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  stop_kafka_cluster "$DEMO_DIR/kafka"
  wait 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log "starting Apache Kafka $KAFKA_VERSION: three KRaft nodes (about 15 s)"
PEERS_DIR=$DEMO_DIR start_kafka_cluster "$DEMO_DIR/kafka"
KAFKA_BOOTSTRAP=$(kafka_bootstrap)

target/release/examples/demo_traffic "$KAFKA_BOOTSTRAP" >"$DEMO_DIR/traffic.log" 2>&1 &
pids+=($!)

# A RocketMQ name server and one broker (listening on its port, port − 2 and port + 1), with a
# small commit log, all on loopback.
start_demo_rocketmq() {
  local home=$DEMO_DIR/rocketmq
  mkdir -p "$home/conf"
  cat >"$home/conf/broker.toml" <<TOML
[broker]
namesrvAddr = "127.0.0.1:$NAMESRV_PORT"
brokerIp1 = "127.0.0.1"
listenPort = $ROCKETMQ_PORT
storePathRootDir = "$home/store"
[broker.brokerServerConfig]
bindAddress = "127.0.0.1"
[broker.brokerIdentity]
brokerName = "broker-a"
brokerClusterName = "DemoCluster"
brokerId = 0
[store]
storeType = "LocalFile"
brokerRole = "ASYNC_MASTER"
storePathRootDir = "$home/store"
haListenAddress = "127.0.0.1"
haListenPort = $((ROCKETMQ_PORT + 1))
mappedFileSizeCommitLog = 67108864
mappedFileSizeConsumeQueue = 600000
maxHashSlotNum = 50000
maxIndexNum = 200000
TOML
  (cd "$home" && ROCKETMQ_HOME=$home exec "$(rocketmq_bin rocketmq-namesrv-rust)" --rocketmqHome "$home" \
    --listenPort "$NAMESRV_PORT" --bindAddress 127.0.0.1 --kvConfigPath "$home/kvConfig.json") \
    >"$DEMO_DIR/rocketmq-namesrv.log" 2>&1 &
  pids+=($!)
  PEERS_DIR=$DEMO_DIR wait_for 20 "the demo name server" bash -c "exec 3<>/dev/tcp/127.0.0.1/$NAMESRV_PORT"
  (cd "$home" && ROCKETMQ_HOME=$home exec "$(rocketmq_bin rocketmq-broker-rust)" -c "$home/conf/broker.toml" \
    -n "127.0.0.1:$NAMESRV_PORT") >"$DEMO_DIR/rocketmq-broker.log" 2>&1 &
  pids+=($!)
  PEERS_DIR=$DEMO_DIR wait_for 30 "the demo RocketMQ broker" bash -c "exec 3<>/dev/tcp/127.0.0.1/$ROCKETMQ_PORT"
  target/release/examples/demo_rocketmq "127.0.0.1:$NAMESRV_PORT" "127.0.0.1:$ROCKETMQ_PORT" \
    >"$DEMO_DIR/rocketmq-traffic.log" 2>&1 &
  pids+=($!)
  log "RocketMQ name server on 127.0.0.1:$NAMESRV_PORT, broker on 127.0.0.1:$ROCKETMQ_PORT"
}
if $rocketmq; then start_demo_rocketmq; fi

"$VENV/bin/python" scripts/smtp_sink.py --port "$SMTP_PORT" --maildir "$DEMO_DIR/mail" \
  >"$DEMO_DIR/smtp.log" 2>&1 &
pids+=($!)
log "SMTP server on 127.0.0.1:$SMTP_PORT (mail lands in $DEMO_DIR/mail/new)"

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
bootstrap_servers = "$KAFKA_BOOTSTRAP"
poll_interval = "5s"
poll_timeout = "4s"
# Each node's Jolokia agent: the Metrics page's JMX figures.
jolokia_urls = { $(for n in "${KAFKA_NODES[@]}"; do printf '"%s" = "http://127.0.0.1:%s/jolokia/", ' "$n" $((KAFKA_JOLOKIA_PORT_BASE + n)); done | sed 's/, $//') }

[auth]
# Pages open without a login; changes need one (the log prints a one-time link for the first admin).
anonymous_read = true

[alerts]
public_url = "http://$LISTEN"
[[alerts.channels]]
name = "demo-mail"
kind = "email"
smtp_host = "127.0.0.1"
smtp_port = $SMTP_PORT
tls = "none"
from = "osprey@demo.local"
to = ["oncall@demo.local"]
[[alerts.rules]]
name = "stopped-consumers"
kind = "consumer_status"
status = "STALL"
for = "30s"
severity = "critical"
channels = ["demo-mail"]
[[alerts.rules]]
name = "billing-lag"
kind = "consumer_lag"
group = "billing"
threshold = 1000
for = "1m"
repeat_interval = "1h"
channels = ["demo-mail"]
TOML

if $rocketmq; then
  cat >>"$DEMO_DIR/osprey.toml" <<TOML

[[clusters]]
name = "demo-rocketmq"
kind = "rocketmq"
namesrv_addrs = "127.0.0.1:$NAMESRV_PORT"
poll_interval = "5s"
poll_timeout = "4s"
TOML
fi

echo
echo "  Osprey: http://$LISTEN   (Ctrl-C stops the demo)"
echo
target/release/osprey serve --config "$DEMO_DIR/osprey.toml" &
pids+=($!)
wait "${pids[-1]}"
