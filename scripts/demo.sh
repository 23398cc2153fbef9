#!/usr/bin/env bash
# Osprey on a local demo stack: Apache Kafka 4.1 (the KRaft cluster of three nodes the tests use,
# from Maven Central, scripts/kafka.sh) on 127.0.0.1:18091-18093 with Jolokia on every node, a few
# topics with three replicas and steady traffic — Apache RocketMQ 5.5 (the test run's cluster from
# Maven Central, scripts/rocketmq.sh: a name server on 127.0.0.1:18976, two masters, a slave and a
# proxy) with traffic too — beanstalkd (127.0.0.1:11410) and gearmand (127.0.0.1:14830) with jobs
# piling up when Debian's beanstalkd and gearman-job-server are installed — ActiveMQ Classic 6 and
# Artemis 2 (from Maven Central, scripts/activemq.sh; OpenWire/STOMP 17616-17617 and Jolokia 17618,
# Artemis 17626 and its console 17628) with messages nobody consumes — an SMTP server that
# keeps what it receives
# (127.0.0.1:12525, messages in .osprey-demo/mail/new) and `osprey serve` on SQLite with two alert
# rules, at http://127.0.0.1:8048. Ctrl-C stops everything; history stays in .osprey-demo/.
set -euo pipefail
cd "$(dirname "$0")/.."
# The demo's Kafka ports, away from the test run's: brokers 18091-18093, SSL 18291-, SASL_SSL
# 18391-, Jolokia 18491-, JMX exporter 18591-, controllers 18191-18193.
export OSPREY_KAFKA_PORT_BASE=${OSPREY_DEMO_KAFKA_PORT_BASE:-18090}
export OSPREY_KAFKA_CONTROLLER_PORT_BASE=${OSPREY_DEMO_KAFKA_CONTROLLER_PORT_BASE:-18190}
# The demo's RocketMQ: name server 18976, brokers 18909-18932, proxy 18980-18981; no ACL cluster.
export OSPREY_ROCKETMQ_PORT_BASE=${OSPREY_DEMO_ROCKETMQ_PORT_BASE:-18900} OSPREY_ROCKETMQ_ACL=0
# shellcheck source=scripts/peers.sh
source scripts/peers.sh

LISTEN=${OSPREY_DEMO_LISTEN:-127.0.0.1:8048}
SMTP_PORT=${OSPREY_DEMO_SMTP_PORT:-12525}
DEMO_DIR=$OSPREY_ROOT/.osprey-demo
mkdir -p "$DEMO_DIR"

build_install
peers_install_brokers
command -v java >/dev/null 2>&1 || apt_install default-jre-headless
# The first run fetches Apache Kafka (~59 MB) from Maven Central; kafka_install says so.
kafka_install
# And Apache RocketMQ's servers and clients (~200 MB), once.
rocketmq_apache_install
# And ActiveMQ Classic's broker and the Artemis distribution (~55 MB), once.
activemq_install
ACTIVEMQ_DEMO_PORT=${OSPREY_DEMO_ACTIVEMQ_PORT:-17616}
ARTEMIS_DEMO_PORT=${OSPREY_DEMO_ARTEMIS_PORT:-17626}
require_free_port "$SMTP_PORT" "demo SMTP server" DEMO_SMTP_PORT
log "building Osprey (release; the first build takes about 12 minutes on 2 cores)"
cargo build --release --locked --bin osprey --example demo_traffic --example demo_rocketmq

pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  stop_kafka_cluster "$DEMO_DIR/kafka"
  stop_rocketmq_cluster "$DEMO_DIR/rocketmq"
  stop_activemq "$DEMO_DIR/activemq"
  stop_activemq "$DEMO_DIR/artemis"
  wait 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log "starting Apache Kafka $KAFKA_VERSION: three KRaft nodes (about 15 s)"
PEERS_DIR=$DEMO_DIR start_kafka_cluster "$DEMO_DIR/kafka"
KAFKA_BOOTSTRAP=$(kafka_bootstrap)

target/release/examples/demo_traffic "$KAFKA_BOOTSTRAP" >"$DEMO_DIR/traffic.log" 2>&1 &
pids+=($!)

log "starting Apache RocketMQ $ROCKETMQ_APACHE_VERSION: a name server, two masters, a slave, a proxy (about 40 s)"
PEERS_DIR=$DEMO_DIR start_rocketmq_cluster "$DEMO_DIR/rocketmq"
target/release/examples/demo_rocketmq "127.0.0.1:$ROCKETMQ_NAMESRV_PORT" \
  "127.0.0.1:$(rocketmq_broker_port a0)" >"$DEMO_DIR/rocketmq-traffic.log" 2>&1 &
pids+=($!)

log "starting ActiveMQ Classic $ACTIVEMQ_VERSION and Artemis $ARTEMIS_VERSION (about 10 s)"
PEERS_DIR=$DEMO_DIR start_activemq_classic "$DEMO_DIR/activemq" "$ACTIVEMQ_DEMO_PORT" &
classic=$!
PEERS_DIR=$DEMO_DIR start_artemis "$DEMO_DIR/artemis" "$ARTEMIS_DEMO_PORT" &
wait "$classic" $!
# A message every few seconds into a queue on each, nobody consuming: the backlog alert fires.
(
  export OSPREY_TEST_ACTIVEMQ_USER=$ACTIVEMQ_USER OSPREY_TEST_ACTIVEMQ_PASSWORD=$ACTIVEMQ_PASSWORD
  while true; do
    "$VENV/bin/python" scripts/stomp_client.py send --server "127.0.0.1:$((ACTIVEMQ_DEMO_PORT + 1))" \
      --queue orders --count 1 || true
    "$VENV/bin/python" scripts/stomp_client.py send --server "127.0.0.1:$ARTEMIS_DEMO_PORT" \
      --queue invoices --count 1 --flavor artemis || true
    sleep 3
  done
) >/dev/null 2>&1 &
pids+=($!)

# Job servers, when installed (scripts/peers.sh installs them for the tests): a job every few
# seconds into a tube and a Gearman function nobody works, so their backlog alert fires.
BEANSTALKD_DEMO_PORT=${OSPREY_DEMO_BEANSTALKD_PORT:-11410}
GEARMAN_DEMO_PORT=${OSPREY_DEMO_GEARMAN_PORT:-14830}
job_clusters=
if command -v beanstalkd >/dev/null 2>&1; then
  beanstalkd -l 127.0.0.1 -p "$BEANSTALKD_DEMO_PORT" >"$DEMO_DIR/beanstalkd.log" 2>&1 &
  pids+=($!)
  job_clusters+="
[[clusters]]
name = \"demo-beanstalkd\"
kind = \"beanstalkd\"
servers = \"127.0.0.1:$BEANSTALKD_DEMO_PORT\"
poll_interval = \"5s\"
"
fi
if [ -x /usr/sbin/gearmand ] && command -v gearman >/dev/null 2>&1; then
  /usr/sbin/gearmand --listen=127.0.0.1 --port="$GEARMAN_DEMO_PORT" --threads=1 \
    --log-file="$DEMO_DIR/gearmand.log" >/dev/null 2>&1 &
  pids+=($!)
  job_clusters+="
[[clusters]]
name = \"demo-gearman\"
kind = \"gearman\"
servers = \"127.0.0.1:$GEARMAN_DEMO_PORT\"
poll_interval = \"5s\"
"
fi
if [ -n "$job_clusters" ]; then
  (
    sleep 2
    while true; do
      if exec 3<>"/dev/tcp/127.0.0.1/$BEANSTALKD_DEMO_PORT" 2>/dev/null; then
        printf 'use mail\r\nput 1024 0 60 9\r\nsend mail\r\n' >&3
        exec 3>&-
      fi
      gearman -h 127.0.0.1 -p "$GEARMAN_DEMO_PORT" -f resize -b "image" >/dev/null 2>&1 || true
      sleep 3
    done
  ) >/dev/null 2>&1 &
  pids+=($!)
fi

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
# The demo's mail sink listens on loopback.
allow_private_targets = true
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

cat >>"$DEMO_DIR/osprey.toml" <<TOML

[[clusters]]
name = "demo-rocketmq"
kind = "rocketmq"
namesrv_addrs = "127.0.0.1:$ROCKETMQ_NAMESRV_PORT"
# The proxy knows the gRPC clients; the brokers do not.
proxy_addrs = "127.0.0.1:$ROCKETMQ_PROXY_REMOTING_PORT"
poll_interval = "5s"
poll_timeout = "4s"
$job_clusters
[[clusters]]
name = "demo-activemq"
kind = "activemq"
management_urls = "http://127.0.0.1:$((ACTIVEMQ_DEMO_PORT + 2))/jolokia"
username = "$ACTIVEMQ_USER"
password = "$ACTIVEMQ_PASSWORD"
poll_interval = "5s"

[[clusters]]
name = "demo-artemis"
kind = "activemq"
management_urls = "http://127.0.0.1:$((ARTEMIS_DEMO_PORT + 2))/console/jolokia"
username = "$ACTIVEMQ_USER"
password = "$ACTIVEMQ_PASSWORD"
poll_interval = "5s"

[[alerts.rules]]
name = "job-backlog"
kind = "queue_backlog"
cluster = "demo-beanstalkd,demo-gearman,demo-activemq,demo-artemis"
threshold = 20
channels = ["demo-mail"]

[[alerts.rules]]
name = "activemq-store"
kind = "broker_metric"
cluster = "demo-activemq,demo-artemis"
metric = "store_percent_usage"
threshold = 95
channels = ["demo-mail"]
TOML

echo
echo "  Osprey: http://$LISTEN   (Ctrl-C stops the demo)"
echo
target/release/osprey serve --config "$DEMO_DIR/osprey.toml" &
pids+=($!)
wait "${pids[-1]}"
