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
# the alert storm; `scripts/bench.sh rabbit` 5,000 RabbitMQ queues; `scripts/bench.sh
# groups-kafka` the consumer one on Apache Kafka's three KRaft nodes; `scripts/bench.sh rocketmq`
# 1,000 topics and 500 groups on Apache RocketMQ (two masters, a slave, the proxy);
# `scripts/bench.sh job-servers` 1,000 beanstalkd tubes and 1,000 Gearman functions;
# `scripts/bench.sh activemq` 1,000 queues on ActiveMQ Classic and on Artemis; `scripts/bench.sh
# scale-out` 30 clusters shared by 1, 2 and 3 instances on one PostgreSQL; `scripts/bench.sh
# history` three days of samples in day partitions and in one table (retention, reads, size);
# `scripts/bench.sh canary` the RabbitMQ canary's latency against pika and the management API.
bench=${1:-scale}
shift || true
if [ "$bench" = groups-kafka ]; then
  # The consumer-group benchmark on Apache Kafka's three KRaft nodes (scripts/kafka.sh), started
  # for the run and stopped on exit; noida-db's figures come from `scripts/bench.sh groups`.
  PEERS_DIR=$(mktemp -d /tmp/osprey-bench.XXXXXX)
  trap 'stop_kafka_cluster "$PEERS_DIR/kafka"; rm -rf "$PEERS_DIR"' EXIT
  # 40,000 partitions need more than the test nodes' heaps and the full JIT.
  KAFKA_NODE_HEAP=${OSPREY_KAFKA_NODE_HEAP:-2g}
  KAFKA_JVM_OPTS=${OSPREY_KAFKA_JVM_OPTS:--XX:+UseG1GC}
  kafka_install
  start_kafka_cluster "$PEERS_DIR/kafka"
  export OSPREY_BENCH_BOOTSTRAP; OSPREY_BENCH_BOOTSTRAP=$(kafka_bootstrap)
  export OSPREY_BENCH_POPULATE=1 OSPREY_BENCH_LABEL="Apache Kafka $KAFKA_VERSION, 3 KRaft nodes"
  bench=groups
fi
if [ "$bench" = rocketmq ]; then
  # The tests' RocketMQ cluster without its ACL twin, started for the run and stopped on exit.
  PEERS_DIR=$(mktemp -d /tmp/osprey-bench.XXXXXX)
  trap 'stop_rocketmq_cluster "$PEERS_DIR/rocketmq"; rm -rf "$PEERS_DIR"' EXIT
  export OSPREY_ROCKETMQ_ACL=0
  rocketmq_apache_install
  start_rocketmq_cluster "$PEERS_DIR/rocketmq"
  export OSPREY_BENCH_ROCKETMQ_NAMESRV=127.0.0.1:$ROCKETMQ_NAMESRV_PORT
  export OSPREY_BENCH_ROCKETMQ_TOOLS_CP; OSPREY_BENCH_ROCKETMQ_TOOLS_CP="$(rocketmq_libs)/*"
  export OSPREY_BENCH_POPULATE=1
fi
if [ "$bench" = rabbit ]; then
  # Only the RabbitMQ node: an isolated one, stopped on exit.
  PEERS_DIR=$(mktemp -d /tmp/osprey-bench.XXXXXX)
  trap peers_stop EXIT
  start_rabbitmq
  export OSPREY_TEST_RABBITMQ_HTTP=http://127.0.0.1:$RABBIT_HTTP_PORT
fi
if [ "$bench" = canary ]; then
  # The RabbitMQ canary against pika and the management API: an isolated node, stopped on exit.
  PEERS_DIR=$(mktemp -d /tmp/osprey-bench.XXXXXX)
  trap peers_stop EXIT
  "$VENV/bin/python" -c 'import pika' 2>/dev/null \
    || "$VENV/bin/pip" install -q --disable-pip-version-check 'pika==1.3.2'
  start_rabbitmq
  export OSPREY_TEST_RABBITMQ_HTTP=http://127.0.0.1:$RABBIT_HTTP_PORT
  export OSPREY_TEST_RABBITMQ_AMQP_ADDR=127.0.0.1:$RABBIT_AMQP_PORT
fi
if [ "$bench" = job-servers ]; then
  # A beanstalkd and a gearmand of their own, stopped on exit; greenstalk for the comparison.
  PEERS_DIR=$(mktemp -d /tmp/osprey-bench.XXXXXX)
  trap peers_stop EXIT
  command -v beanstalkd >/dev/null 2>&1 || apt_install beanstalkd
  [ -x /usr/sbin/gearmand ] || apt_install gearman-job-server
  command -v gearadmin >/dev/null 2>&1 || apt_install gearman-tools
  "$VENV/bin/python" -c 'import greenstalk' 2>/dev/null \
    || "$VENV/bin/pip" install -q --disable-pip-version-check 'greenstalk==2.1.1'
  start_beanstalkd
  start_gearmand
  export OSPREY_TEST_BEANSTALKD=127.0.0.1:$BEANSTALKD_PORT OSPREY_TEST_GEARMAN=127.0.0.1:$GEARMAN_PORT
  bench=job_servers
fi
if [ "$bench" = activemq ]; then
  # A Classic and an Artemis broker of their own (scripts/activemq.sh), stopped on exit.
  PEERS_DIR=$(mktemp -d /tmp/osprey-bench.XXXXXX)
  trap 'stop_activemq "$PEERS_DIR/activemq"; stop_activemq "$PEERS_DIR/artemis"; rm -rf "$PEERS_DIR"' EXIT
  activemq_install
  start_activemq_classic "$PEERS_DIR/activemq" "$ACTIVEMQ_PORT" &
  classic=$!
  start_artemis "$PEERS_DIR/artemis" "$ARTEMIS_PORT"
  wait "$classic"
  peers_env >"$PEERS_DIR/env"
  # shellcheck disable=SC1091
  source "$PEERS_DIR/env"
fi
if [ "$bench" = scale-out ] || [ "$bench" = history ]; then
  # A PostgreSQL of its own, stopped on exit; scale-out's brokers are noida-db processes of the
  # bench.
  PEERS_DIR=$(mktemp -d /tmp/osprey-bench.XXXXXX)
  trap 'stop_postgres; rm -rf "$PEERS_DIR"' EXIT
  chmod 755 "$PEERS_DIR" # the server runs as the postgres user
  [ -n "$(pg_bin_dir)" ] || apt_install postgresql
  start_postgres
  export OSPREY_TEST_POSTGRES_URL=postgres://postgres:$PG_PASSWORD@127.0.0.1:$PG_PORT/postgres
  [ "$bench" = history ] || bench=scale_out
fi
cargo bench --locked --bench "$bench" -- "$@"
