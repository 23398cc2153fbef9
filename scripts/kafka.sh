#!/usr/bin/env bash
# Apache Kafka from Maven Central for Osprey's tests and demo: a KRaft cluster of three combined
# nodes (broker + controller each) on 127.0.0.1, started with `java` and generated configs. Each
# node listens on PLAINTEXT, SSL and SASL_SSL (SCRAM-SHA-512, user `osprey`; PLAIN, user
# `osprey_plain`) with a throwaway CA,
# and carries the Jolokia agent and the Prometheus JMX exporter agent.
# Beside it, cluster K3: Kafka 3.9 in ZooKeeper mode (what most EFAK users run), three brokers and
# their own ZooKeeper, PLAINTEXT only.
# Sourced by scripts/peers.sh (and scripts/demo.sh); the functions expect log, die, wait_for,
# CACHE_DIR and PEERS_DIR from there.
#
#   kafka_install              fetch the server and tools classpath and the two agents once
#                              (~59 MB, ~25 s)
#   start_kafka_cluster DIR    format and start the three nodes under DIR; waits until each
#                              broker listens (tests wait for the cluster to settle)
#   stop_kafka_cluster DIR     stop them
#   start_kafka_zk_cluster DIR / stop_kafka_zk_cluster DIR    the same for K3
#
# Ports (below 32768), node N = 1..3: PLAINTEXT OSPREY_KAFKA_PORT_BASE+N (19291-19293),
# controllers OSPREY_KAFKA_CONTROLLER_PORT_BASE+N (19391-19393), and from the same base plus 200,
# 300, 400 and 500: SSL (19491-), SASL_SSL (19591-), Jolokia (19691-) and the JMX exporter (19791-).
# The CA that signed the brokers' certificate is DIR/tls/ca.pem. K3: ZooKeeper
# OSPREY_KAFKA_ZK_PORT_BASE (19890), brokers OSPREY_KAFKA_ZK_PORT_BASE+N (19891-19893).

KAFKA_VERSION=${OSPREY_KAFKA_VERSION:-4.1.1}
KAFKA_PORT_BASE=${OSPREY_KAFKA_PORT_BASE:-19290}
KAFKA_CONTROLLER_PORT_BASE=${OSPREY_KAFKA_CONTROLLER_PORT_BASE:-19390}
KAFKA_SSL_PORT_BASE=$((KAFKA_PORT_BASE + 200))
KAFKA_SASL_PORT_BASE=$((KAFKA_PORT_BASE + 300))
KAFKA_JOLOKIA_PORT_BASE=$((KAFKA_PORT_BASE + 400))
KAFKA_EXPORTER_PORT_BASE=$((KAFKA_PORT_BASE + 500))
KAFKA_NODES=(1 2 3)
KAFKA_ZK_VERSION=${OSPREY_KAFKA_ZK_VERSION:-3.9.1}
KAFKA_ZK_PORT_BASE=${OSPREY_KAFKA_ZK_PORT_BASE:-19890}
# Test credentials only: the cluster lives on loopback for the length of a run.
KAFKA_SCRAM_USER=osprey
KAFKA_SCRAM_PASSWORD=osprey-scram-secret
KAFKA_PLAIN_USER=osprey_plain
KAFKA_PLAIN_PASSWORD=osprey-plain-secret
KAFKA_TLS_PASSWORD=osprey-tls

kafka_libs() { echo "$CACHE_DIR/kafka-${1:-$KAFKA_VERSION}/libs"; }
kafka_agents() { echo "$CACHE_DIR/kafka-agents"; }

kafka_install() {
  kafka_agents_install
  kafka_version_install "$KAFKA_VERSION"
  kafka_version_install "$KAFKA_ZK_VERSION"
}

# Runs Maven quietly; on a terminal (the demo's first run) with a running count of the files it
# fetches, so a first-time user sees the download move.
maven_fetch() { # maven_fetch MVN-ARGS...
  if [ -t 2 ]; then
    mvn -B -Dstyle.color=never "$@" | awk '
      /Downloaded from/ { n++; printf "\r  %d files fetched from Maven Central", n > "/dev/stderr" }
      /\[ERROR\]/ { print > "/dev/stderr" }
      END { if (n) print "" > "/dev/stderr" }'
    return "${PIPESTATUS[0]}"
  fi
  mvn -q -B -Dstyle.color=never "$@"
}

kafka_version_install() { # kafka_version_install VERSION
  local libs; libs=$(kafka_libs "$1")
  [ -f "$libs/.complete" ] && return 0
  command -v mvn >/dev/null 2>&1 || apt_install maven
  log "fetching Apache Kafka $1 from Maven Central (once; ~55 MB)"
  rm -rf "$libs" && mkdir -p "$libs"
  (cd "$OSPREY_ROOT/scripts/kafka" && maven_fetch dependency:copy-dependencies \
    -Dkafka.version="$1" -DincludeScope=runtime -DoutputDirectory="$libs") >&2
  touch "$libs/.complete"
}

kafka_agents_install() {
  local agents; agents=$(kafka_agents)
  [ -f "$agents/.complete" ] && return 0
  log "fetching the Jolokia and JMX exporter agents from Maven Central (once; ~4 MB)"
  command -v mvn >/dev/null 2>&1 || apt_install maven
  rm -rf "$agents" && mkdir -p "$agents"
  (cd "$OSPREY_ROOT/scripts/kafka" && maven_fetch -f agents.pom.xml dependency:copy-dependencies \
    -Dmdep.stripVersion=true -Dmdep.stripClassifier=true -DoutputDirectory="$agents") >&2
  touch "$agents/.complete"
}

# A throwaway CA and one broker certificate for 127.0.0.1 and localhost, made with the JDK's
# keytool: DIR/tls/ca.pem (clients trust it), broker.p12 and truststore.p12 (the brokers').
kafka_tls() { # kafka_tls DIR
  local tls=$1/tls pass=$KAFKA_TLS_PASSWORD
  rm -rf "$tls" && mkdir -p "$tls"
  local kt=(keytool -storetype PKCS12 -storepass "$pass" -keypass "$pass")
  "${kt[@]}" -genkeypair -keystore "$tls/ca.p12" -alias ca -keyalg RSA -keysize 2048 \
    -validity 30 -dname "CN=Osprey test CA" -ext bc:c
  "${kt[@]}" -exportcert -rfc -keystore "$tls/ca.p12" -alias ca -file "$tls/ca.pem"
  "${kt[@]}" -genkeypair -keystore "$tls/broker.p12" -alias broker -keyalg RSA -keysize 2048 \
    -validity 30 -dname "CN=localhost"
  "${kt[@]}" -certreq -keystore "$tls/broker.p12" -alias broker -file "$tls/broker.csr"
  "${kt[@]}" -gencert -keystore "$tls/ca.p12" -alias ca -infile "$tls/broker.csr" -rfc \
    -outfile "$tls/broker.pem" -validity 30 -ext "SAN=IP:127.0.0.1,DNS:localhost" \
    -ext "EKU=serverAuth,clientAuth" -ext "KU=digitalSignature,keyEncipherment"
  "${kt[@]}" -importcert -noprompt -keystore "$tls/broker.p12" -alias ca -file "$tls/ca.pem"
  "${kt[@]}" -importcert -noprompt -keystore "$tls/broker.p12" -alias broker -file "$tls/broker.pem"
  "${kt[@]}" -importcert -noprompt -keystore "$tls/truststore.p12" -alias ca -file "$tls/ca.pem"
}

# Small heaps, a serial collector and a quick JIT fit three nodes and the tools on 2 cores. The
# benchmarks give the nodes more (OSPREY_KAFKA_NODE_HEAP, OSPREY_KAFKA_JVM_OPTS).
KAFKA_NODE_HEAP=${OSPREY_KAFKA_NODE_HEAP:-384m}
KAFKA_JVM_OPTS=${OSPREY_KAFKA_JVM_OPTS:--XX:+UseSerialGC -XX:TieredStopAtLevel=1}
kafka_java() { # kafka_java HEAP CLASS ARGS... (KAFKA_LIBS picks another version's classpath)
  local heap=$1; shift
  # shellcheck disable=SC2086 # KAFKA_JVM_OPTS is a list of flags
  ${KAFKA_EXEC:-} java "-Xmx$heap" -Xms64m $KAFKA_JVM_OPTS \
    -Dorg.slf4j.simpleLogger.defaultLogLevel=warn -cp "${KAFKA_LIBS:-$(kafka_libs)}/*" "$@"
}

kafka_bootstrap() { # kafka_bootstrap [PORT_BASE] (default: the PLAINTEXT listeners)
  local base=${1:-$KAFKA_PORT_BASE} servers=() node
  for node in "${KAFKA_NODES[@]}"; do servers+=("127.0.0.1:$((base + node))"); done
  (IFS=,; echo "${servers[*]}")
}

kafka_node_urls() { # kafka_node_urls PORT_BASE PATH: one URL per node, comma-separated
  local urls=() node
  for node in "${KAFKA_NODES[@]}"; do urls+=("http://127.0.0.1:$(($1 + node))$2"); done
  (IFS=,; echo "${urls[*]}")
}

kafka_node_config() { # kafka_node_config DIR NODE
  local dir=$1 node=$2 voters=() n
  for n in "${KAFKA_NODES[@]}"; do voters+=("$n@127.0.0.1:$((KAFKA_CONTROLLER_PORT_BASE + n))"); done
  cat <<CONF
process.roles=broker,controller
node.id=$node
controller.quorum.voters=$(IFS=,; echo "${voters[*]}")
listeners=PLAINTEXT://127.0.0.1:$((KAFKA_PORT_BASE + node)),SSL://127.0.0.1:$((KAFKA_SSL_PORT_BASE + node)),SASL_SSL://127.0.0.1:$((KAFKA_SASL_PORT_BASE + node)),CONTROLLER://127.0.0.1:$((KAFKA_CONTROLLER_PORT_BASE + node))
advertised.listeners=PLAINTEXT://127.0.0.1:$((KAFKA_PORT_BASE + node)),SSL://127.0.0.1:$((KAFKA_SSL_PORT_BASE + node)),SASL_SSL://127.0.0.1:$((KAFKA_SASL_PORT_BASE + node))
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_SSL:SASL_SSL,CONTROLLER:PLAINTEXT
ssl.keystore.type=PKCS12
ssl.keystore.location=$dir/tls/broker.p12
ssl.keystore.password=$KAFKA_TLS_PASSWORD
ssl.key.password=$KAFKA_TLS_PASSWORD
ssl.truststore.type=PKCS12
ssl.truststore.location=$dir/tls/truststore.p12
ssl.truststore.password=$KAFKA_TLS_PASSWORD
ssl.client.auth=none
sasl.enabled.mechanisms=SCRAM-SHA-512,PLAIN
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_ssl.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_$KAFKA_PLAIN_USER="$KAFKA_PLAIN_PASSWORD";
log.dirs=$dir/node-$node/data
share.coordinator.state.topic.replication.factor=3
share.coordinator.state.topic.min.isr=1
log.retention.check.interval.ms=5000
CONF
  kafka_shared_config
}

# What both clusters' brokers share: three replicas by default, small segments and few threads.
kafka_shared_config() {
  cat <<CONF
num.partitions=1
default.replication.factor=3
min.insync.replicas=1
offsets.topic.replication.factor=3
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=3
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
# Leaders move back only when the tests (or the Kafka tool) ask: the controller's own check every
# five minutes raced the fail-over test's "not on preferred leader" flag.
auto.leader.rebalance.enable=false
auto.create.topics.enable=false
log.segment.bytes=16777216
num.network.threads=2
num.io.threads=2
background.threads=2
CONF
}

start_kafka_node() { # start_kafka_node DIR NODE
  local dir=$1 node=$2
  # KAFKA_EXEC=exec makes the subshell become the JVM, so the pid recorded is the JVM's own and
  # stopping it stops the node.
  local agents; agents=$(kafka_agents)
  (KAFKA_EXEC=exec kafka_java "$KAFKA_NODE_HEAP" \
    "-javaagent:$agents/jolokia-agent-jvm.jar=host=127.0.0.1,port=$((KAFKA_JOLOKIA_PORT_BASE + node))" \
    "-javaagent:$agents/jmx_prometheus_javaagent.jar=127.0.0.1:$((KAFKA_EXPORTER_PORT_BASE + node)):$OSPREY_ROOT/scripts/kafka/jmx-exporter.yaml" \
    kafka.Kafka "$dir/node-$node/server.properties") \
    >>"$dir/node-$node/kafka.log" 2>&1 &
  echo $! >"$dir/node-$node/pid"
}

# Waits until a JVM's listener PORT accepts connections; fails at once, with the end of its log,
# when the JVM is gone (a bad agent or config stops it in a second, not in minutes). A node
# restarted while three browser walks ran beside it took more than two minutes in CI (it came up
# later): five minutes are allowed.
kafka_wait_listening() { # kafka_wait_listening NODE_DIR PORT WHAT
  local dir=$1 port=$2 what=$3 deadline=$((SECONDS + 300)) pid
  pid=$(cat "$dir/pid")
  until (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
    if ! kill -0 "$pid" 2>/dev/null || [ $SECONDS -ge $deadline ]; then
      tail -n 20 "$dir/kafka.log" >&2
      die "$what did not start (log: $dir/kafka.log)"
    fi
    sleep 0.3
  done
}

kafka_wait_node() { # kafka_wait_node DIR NODE
  kafka_wait_listening "$1/node-$2" "$((KAFKA_PORT_BASE + $2))" "kafka node $2"
}

# Stops the JVM whose pid PIDFILE holds: SIGTERM (a controlled shutdown moves its leaders away),
# then SIGKILL after GRACE seconds. Its ports are free once it is gone (a zombie waiting for PID 1
# to reap it counts as gone).
kafka_stop_pid() { # kafka_stop_pid PIDFILE GRACE
  [ -f "$1" ] || return 0
  local pid; pid=$(cat "$1")
  kill "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + $2))
  while [ -n "$(ps -o stat= -p "$pid" 2>/dev/null | grep -v Z)" ]; do
    if [ $SECONDS -ge $deadline ]; then
      kill -9 "$pid" 2>/dev/null || true
      break
    fi
    sleep 0.2
  done
  rm -f "$1"
}

# One node of a running cluster: the others stay up, so its controlled shutdown completes.
stop_kafka_node() { # stop_kafka_node DIR NODE
  kafka_stop_pid "$1/node-$2/pid" 60
}

start_kafka_cluster() { # start_kafka_cluster DIR
  local dir=$1 node cluster_id
  for node in "${KAFKA_NODES[@]}"; do
    require_free_port "$((KAFKA_PORT_BASE + node))" "kafka broker $node" KAFKA_PORT_BASE
    require_free_port "$((KAFKA_CONTROLLER_PORT_BASE + node))" "kafka controller $node" \
      KAFKA_CONTROLLER_PORT_BASE
    local offset
    for offset in 200 300 400 500; do
      require_free_port "$((KAFKA_PORT_BASE + offset + node))" "kafka node $node" KAFKA_PORT_BASE
    done
  done
  mkdir -p "$dir"
  kafka_tls "$dir" >"$dir/tls.log" 2>&1 || { cat "$dir/tls.log" >&2; die "could not make the kafka test CA"; }
  cluster_id=$(kafka_java 64m kafka.tools.StorageTool random-uuid 2>/dev/null | tail -n 1)
  for node in "${KAFKA_NODES[@]}"; do
    mkdir -p "$dir/node-$node"
    kafka_node_config "$dir" "$node" >"$dir/node-$node/server.properties"
    kafka_java 128m kafka.tools.StorageTool format -t "$cluster_id" \
      -c "$dir/node-$node/server.properties" --ignore-formatted \
      --add-scram "SCRAM-SHA-512=[name=$KAFKA_SCRAM_USER,password=$KAFKA_SCRAM_PASSWORD]" \
      >"$dir/node-$node/format.log" 2>&1 &
  done
  wait
  for node in "${KAFKA_NODES[@]}"; do start_kafka_node "$dir" "$node"; done
  for node in "${KAFKA_NODES[@]}"; do kafka_wait_node "$dir" "$node"; done
  log "kafka $KAFKA_VERSION (KRaft, 3 nodes) on $(kafka_bootstrap); SSL and SASL_SSL too"
}

# The whole cluster at once: a controlled shutdown cannot finish once the quorum is gone, and the
# data is thrown away, so each node gets a short grace.
stop_kafka_cluster() { # stop_kafka_cluster DIR
  local node
  for node in "${KAFKA_NODES[@]}"; do kafka_stop_pid "$1/node-$node/pid" 10 & done
  wait
}

kafka_zk_node_config() { # kafka_zk_node_config DIR NODE
  local dir=$1 node=$2
  cat <<CONF
broker.id=$node
zookeeper.connect=127.0.0.1:$KAFKA_ZK_PORT_BASE/osprey-k3
listeners=PLAINTEXT://127.0.0.1:$((KAFKA_ZK_PORT_BASE + node))
advertised.listeners=PLAINTEXT://127.0.0.1:$((KAFKA_ZK_PORT_BASE + node))
log.dirs=$dir/broker-$node/data
CONF
  kafka_shared_config
}

# K3: ZooKeeper (from the same classpath) and three brokers; waits until each broker listens.
start_kafka_zk_cluster() { # start_kafka_zk_cluster DIR
  local dir=$1 node
  local -x KAFKA_LIBS; KAFKA_LIBS=$(kafka_libs "$KAFKA_ZK_VERSION")
  for node in 0 "${KAFKA_NODES[@]}"; do
    require_free_port "$((KAFKA_ZK_PORT_BASE + node))" "kafka (ZooKeeper mode) $node" KAFKA_ZK_PORT_BASE
  done
  mkdir -p "$dir/zookeeper/data"
  printf 'dataDir=%s\nclientPort=%s\nclientPortAddress=127.0.0.1\nadmin.enableServer=false\ntickTime=2000\n' \
    "$dir/zookeeper/data" "$KAFKA_ZK_PORT_BASE" >"$dir/zookeeper/zoo.cfg"
  (KAFKA_EXEC=exec kafka_java 96m org.apache.zookeeper.server.quorum.QuorumPeerMain \
    "$dir/zookeeper/zoo.cfg") >"$dir/zookeeper/zookeeper.log" 2>&1 &
  echo $! >"$dir/zookeeper/pid"
  wait_for 60 "zookeeper of the kafka $KAFKA_ZK_VERSION cluster" \
    bash -c "exec 3<>/dev/tcp/127.0.0.1/$KAFKA_ZK_PORT_BASE"
  for node in "${KAFKA_NODES[@]}"; do
    mkdir -p "$dir/broker-$node"
    kafka_zk_node_config "$dir" "$node" >"$dir/broker-$node/server.properties"
    (KAFKA_EXEC=exec kafka_java 256m kafka.Kafka "$dir/broker-$node/server.properties") \
      >>"$dir/broker-$node/kafka.log" 2>&1 &
    echo $! >"$dir/broker-$node/pid"
  done
  for node in "${KAFKA_NODES[@]}"; do
    kafka_wait_listening "$dir/broker-$node" "$((KAFKA_ZK_PORT_BASE + node))" \
      "kafka $KAFKA_ZK_VERSION broker $node"
  done
  log "kafka $KAFKA_ZK_VERSION (ZooKeeper mode, 3 brokers) on $(kafka_bootstrap "$KAFKA_ZK_PORT_BASE")"
}

stop_kafka_zk_cluster() { # stop_kafka_zk_cluster DIR
  local node
  for node in "${KAFKA_NODES[@]}"; do kafka_stop_pid "$1/broker-$node/pid" 10 & done
  wait
  kafka_stop_pid "$1/zookeeper/pid" 5
}

# Run directly, it stops or starts one node of a running cluster (a test that stops a broker
# brings it back): scripts/kafka.sh stop-node|start-node DIR NODE
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  CACHE_DIR=${OSPREY_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/osprey}
  OSPREY_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
  die() { printf '[kafka] error: %s\n' "$*" >&2; exit 1; }
  case "${1:-}" in
    stop-node) stop_kafka_node "$2" "$3" ;;
    start-node) start_kafka_node "$2" "$3" && kafka_wait_node "$2" "$3" ;;
    *) echo "usage: $0 stop-node|start-node DIR NODE" >&2; exit 2 ;;
  esac
fi
