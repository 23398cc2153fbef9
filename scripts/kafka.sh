#!/usr/bin/env bash
# Apache Kafka from Maven Central for Osprey's tests and demo: a KRaft cluster of three combined
# nodes (broker + controller each) on 127.0.0.1, started with `java` and generated configs.
# Sourced by scripts/peers.sh (and scripts/demo.sh); the functions expect log, die, wait_for,
# CACHE_DIR and PEERS_DIR from there.
#
#   kafka_install              fetch the server and tools classpath once (~55 MB, ~20 s)
#   start_kafka_cluster DIR    format and start the three nodes under DIR; waits until each
#                              broker listens (tests wait for the cluster to settle)
#   stop_kafka_cluster DIR     stop them
#
# Ports (below 32768): brokers OSPREY_KAFKA_PORT_BASE+1..3 (19291-19293), controllers
# OSPREY_KAFKA_CONTROLLER_PORT_BASE+1..3 (19391-19393).

KAFKA_VERSION=${OSPREY_KAFKA_VERSION:-4.1.1}
KAFKA_PORT_BASE=${OSPREY_KAFKA_PORT_BASE:-19290}
KAFKA_CONTROLLER_PORT_BASE=${OSPREY_KAFKA_CONTROLLER_PORT_BASE:-19390}
KAFKA_NODES=(1 2 3)

kafka_libs() { echo "$CACHE_DIR/kafka-$KAFKA_VERSION/libs"; }

kafka_install() {
  local libs; libs=$(kafka_libs)
  [ -f "$libs/.complete" ] && return 0
  command -v mvn >/dev/null 2>&1 || apt_install maven
  log "fetching Apache Kafka $KAFKA_VERSION from Maven Central (once; ~55 MB)"
  rm -rf "$libs" && mkdir -p "$libs"
  (cd "$OSPREY_ROOT/scripts/kafka" && mvn -q -B dependency:copy-dependencies \
    -Dkafka.version="$KAFKA_VERSION" -DincludeScope=runtime -DoutputDirectory="$libs") >&2
  touch "$libs/.complete"
}

# Small heaps, a serial collector and a quick JIT fit three nodes and the tools on 2 cores.
kafka_java() { # kafka_java HEAP CLASS ARGS...
  local heap=$1; shift
  ${KAFKA_EXEC:-} java "-Xmx$heap" -Xms64m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 \
    -Dorg.slf4j.simpleLogger.defaultLogLevel=warn -cp "$(kafka_libs)/*" "$@"
}

kafka_bootstrap() {
  local servers=() node
  for node in "${KAFKA_NODES[@]}"; do servers+=("127.0.0.1:$((KAFKA_PORT_BASE + node))"); done
  (IFS=,; echo "${servers[*]}")
}

kafka_node_config() { # kafka_node_config DIR NODE
  local dir=$1 node=$2 voters=() n
  for n in "${KAFKA_NODES[@]}"; do voters+=("$n@127.0.0.1:$((KAFKA_CONTROLLER_PORT_BASE + n))"); done
  cat <<CONF
process.roles=broker,controller
node.id=$node
controller.quorum.voters=$(IFS=,; echo "${voters[*]}")
listeners=PLAINTEXT://127.0.0.1:$((KAFKA_PORT_BASE + node)),CONTROLLER://127.0.0.1:$((KAFKA_CONTROLLER_PORT_BASE + node))
advertised.listeners=PLAINTEXT://127.0.0.1:$((KAFKA_PORT_BASE + node))
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$dir/node-$node/data
num.partitions=1
default.replication.factor=3
min.insync.replicas=1
offsets.topic.replication.factor=3
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=3
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=3
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
log.segment.bytes=16777216
log.retention.check.interval.ms=60000
num.network.threads=2
num.io.threads=2
background.threads=2
CONF
}

start_kafka_node() { # start_kafka_node DIR NODE
  local dir=$1 node=$2
  # KAFKA_EXEC=exec makes the subshell become the JVM, so the pid recorded is the JVM's own and
  # stopping it stops the node.
  (KAFKA_EXEC=exec kafka_java 384m kafka.Kafka "$dir/node-$node/server.properties") \
    >>"$dir/node-$node/kafka.log" 2>&1 &
  echo $! >"$dir/node-$node/pid"
}

stop_kafka_node() { # stop_kafka_node DIR NODE
  local pidfile=$1/node-$2/pid
  [ -f "$pidfile" ] || return 0
  local pid; pid=$(cat "$pidfile")
  kill "$pid" 2>/dev/null || true
  # A controlled shutdown takes a few seconds; its ports are free once it is gone (a zombie
  # waiting for PID 1 to reap it counts as gone).
  local deadline=$((SECONDS + 60))
  while [ $SECONDS -lt $deadline ] && [ -n "$(ps -o stat= -p "$pid" 2>/dev/null | grep -v Z)" ]; do
    sleep 0.2
  done
  rm -f "$pidfile"
}

start_kafka_cluster() { # start_kafka_cluster DIR
  local dir=$1 node cluster_id
  for node in "${KAFKA_NODES[@]}"; do
    require_free_port "$((KAFKA_PORT_BASE + node))" "kafka broker $node" KAFKA_PORT_BASE
    require_free_port "$((KAFKA_CONTROLLER_PORT_BASE + node))" "kafka controller $node" \
      KAFKA_CONTROLLER_PORT_BASE
  done
  cluster_id=$(kafka_java 64m kafka.tools.StorageTool random-uuid 2>/dev/null | tail -n 1)
  for node in "${KAFKA_NODES[@]}"; do
    mkdir -p "$dir/node-$node"
    kafka_node_config "$dir" "$node" >"$dir/node-$node/server.properties"
    kafka_java 128m kafka.tools.StorageTool format -t "$cluster_id" \
      -c "$dir/node-$node/server.properties" --ignore-formatted >"$dir/node-$node/format.log" 2>&1 &
  done
  wait
  for node in "${KAFKA_NODES[@]}"; do start_kafka_node "$dir" "$node"; done
  for node in "${KAFKA_NODES[@]}"; do
    wait_for 120 "kafka node $node" bash -c "exec 3<>/dev/tcp/127.0.0.1/$((KAFKA_PORT_BASE + node))"
  done
  log "kafka $KAFKA_VERSION (KRaft, 3 nodes) on $(kafka_bootstrap)"
}

stop_kafka_cluster() { # stop_kafka_cluster DIR
  local node
  for node in "${KAFKA_NODES[@]}"; do stop_kafka_node "$1" "$node"; done
}

# Run directly, it stops or starts one node of a running cluster (a test that stops a broker
# brings it back): scripts/kafka.sh stop-node|start-node DIR NODE
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  CACHE_DIR=${OSPREY_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/osprey}
  case "${1:-}" in
    stop-node) stop_kafka_node "$2" "$3" ;;
    start-node) start_kafka_node "$2" "$3" ;;
    *) echo "usage: $0 stop-node|start-node DIR NODE" >&2; exit 2 ;;
  esac
fi
