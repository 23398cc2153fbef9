# Apache RocketMQ 5 for the tests and the demo, from Maven Central (sourced by scripts/peers.sh;
# run directly, it stops or starts one broker of a running cluster). The servers and the Java
# clients that drive the tests are cached under ~/.cache/osprey; everything listens on 127.0.0.1
# (except the brokers' HA ports and the proxy, which RocketMQ binds on every address).
#
# Cluster "OspreyCluster": a name server, two masters (broker-a, broker-b), a slave of broker-a
# and a proxy (gRPC and remoting). Cluster "OspreyAclCluster": its own name server and one master
# with authentication and authorization on (ACL 2.0, a super user).
#
# Ports, from OSPREY_ROCKETMQ_PORT_BASE (19900; below 20000, where the tests' own brokers take
# free ports): name server base+76 (19976); broker-a master base+11, broker-b master base+21,
# broker-a slave base+31 (each also listens on port−2, its fast port, and port+1, its HA port);
# proxy remoting base+80 and gRPC base+81; ACL cluster name server base+77 and broker base+61.

ROCKETMQ_APACHE_VERSION=${OSPREY_ROCKETMQ_APACHE_VERSION:-5.5.0}
ROCKETMQ_PORT_BASE=${OSPREY_ROCKETMQ_PORT_BASE:-19900}
ROCKETMQ_NAMESRV_PORT=$((ROCKETMQ_PORT_BASE + 76))
ROCKETMQ_PROXY_REMOTING_PORT=$((ROCKETMQ_PORT_BASE + 80))
ROCKETMQ_PROXY_GRPC_PORT=$((ROCKETMQ_PORT_BASE + 81))
ROCKETMQ_ACL_NAMESRV_PORT=$((ROCKETMQ_PORT_BASE + 77))
ROCKETMQ_ACL_USER=osprey
ROCKETMQ_ACL_PASSWORD=osprey-acl-secret
# name:brokerName:brokerId:port of each broker of the main cluster.
ROCKETMQ_BROKERS=("a0:broker-a:0:$((ROCKETMQ_PORT_BASE + 11))"
  "b0:broker-b:0:$((ROCKETMQ_PORT_BASE + 21))"
  "a1:broker-a:1:$((ROCKETMQ_PORT_BASE + 31))")
ROCKETMQ_ACL_BROKER_PORT=$((ROCKETMQ_PORT_BASE + 61))

rocketmq_libs() { echo "$CACHE_DIR/rocketmq-$ROCKETMQ_APACHE_VERSION/libs"; }
rocketmq_client_libs() { echo "$CACHE_DIR/rocketmq-$ROCKETMQ_APACHE_VERSION/clients"; }
rocketmq_driver_dir() { echo "$CACHE_DIR/rocketmq-$ROCKETMQ_APACHE_VERSION/driver"; }

rocketmq_apache_install() {
  command -v mvn >/dev/null 2>&1 || apt_install maven
  rocketmq_fetch "$(rocketmq_libs)" pom.xml "the servers (once; ~100 MB)"
  rocketmq_fetch "$(rocketmq_client_libs)" clients.pom.xml "the Java clients (once; ~100 MB)"
  # The test driver, compiled again when its source changes.
  local driver source stamp
  driver=$(rocketmq_driver_dir) source=$OSPREY_ROOT/scripts/rocketmq/Driver.java
  stamp=$(sha256sum "$source" | cut -c1-16)
  [ -f "$driver/$stamp" ] && return 0
  rm -rf "$driver" && mkdir -p "$driver"
  javac -nowarn -d "$driver" -cp "$(rocketmq_client_libs)/*" "$source" >&2
  touch "$driver/$stamp"
}

rocketmq_fetch() { # rocketmq_fetch DIR POM WHAT
  [ -f "$1/.complete" ] && return 0
  log "fetching Apache RocketMQ $ROCKETMQ_APACHE_VERSION $3 from Maven Central"
  rm -rf "$1" && mkdir -p "$1"
  (cd "$OSPREY_ROOT/scripts/rocketmq" && mvn -q -B -Dstyle.color=never -f "$2" \
    dependency:copy-dependencies -Drocketmq.version="$ROCKETMQ_APACHE_VERSION" \
    -DincludeScope=runtime -DoutputDirectory="$1") >&2
  touch "$1/.complete"
}

# Small heaps, a serial collector and a quick JIT: seven JVMs beside Kafka's on 2 cores (direct
# memory is capped, not reserved: 128 MB ran out under POP reads). Each
# server logs under its own directory (RocketMQ writes its logs to ${user.home}/logs).
rocketmq_java() { # rocketmq_java DIR HEAP CLASS ARGS...
  local dir=$1 heap=$2; shift 2
  ROCKETMQ_HOME=$dir exec java "-Xmx$heap" -Xms32m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 \
    -XX:MaxDirectMemorySize=512m "-Duser.home=$dir" -Drocketmq.client.logRoot="$dir/logs" \
    -Drocketmq.broker.diskSpaceWarningLevelRatio=0.98 -Drocketmq.broker.diskSpaceCleanForciblyRatio=0.97 \
    -cp "$(rocketmq_libs)/*" "$@"
}

start_rocketmq_namesrv() { # start_rocketmq_namesrv DIR PORT
  local dir=$1
  mkdir -p "$dir"
  printf 'listenPort=%s\nbindAddress=127.0.0.1\n' "$2" >"$dir/namesrv.conf"
  (rocketmq_java "$dir" 96m org.apache.rocketmq.namesrv.NamesrvStartup -c "$dir/namesrv.conf") \
    >"$dir/out.log" 2>&1 &
  echo $! >"$dir/pid"
}

rocketmq_broker_config() { # rocketmq_broker_config DIR CLUSTER NAME ID PORT NAMESRV_PORT
  local role=ASYNC_MASTER
  [ "$4" = 0 ] || role=SLAVE
  cat <<CONF
brokerClusterName=$2
brokerName=$3
brokerId=$4
brokerRole=$role
namesrvAddr=127.0.0.1:$6
brokerIP1=127.0.0.1
brokerIP2=127.0.0.1
bindAddress=127.0.0.1
listenPort=$5
haListenPort=$(($5 + 1))
storePathRootDir=$1/store
flushDiskType=ASYNC_FLUSH
# Brokers refuse writes once the whole disk passes 90 % and clean from 75 %: a shared machine
# with big build directories got there. The tests' brokers store little; let them write on.
diskMaxUsedSpaceRatio=95
mappedFileSizeCommitLog=67108864
mappedFileSizeConsumeQueue=600000
mappedFileSizeTimerLog=8388608
maxHashSlotNum=50000
maxIndexNum=200000
autoCreateTopicEnable=true
autoCreateSubscriptionGroup=true
traceTopicEnable=true
enablePropertyFilter=true
CONF
}

start_rocketmq_broker() { # start_rocketmq_broker DIR (its broker.conf written beforehand)
  local dir=$1
  (rocketmq_java "$dir" 256m org.apache.rocketmq.broker.BrokerStartup -c "$dir/broker.conf") \
    >>"$dir/out.log" 2>&1 &
  echo $! >"$dir/pid"
}

rocketmq_wait_booted() { # rocketmq_wait_booted DIR WHAT: until its start-up line, or its death
  local dir=$1 deadline=$((SECONDS + 120))
  until grep -qE "boot success|startup successfully" "$dir/out.log" 2>/dev/null; do
    if [ -z "$(ps -o stat= -p "$(cat "$dir/pid")" 2>/dev/null | grep -v Z)" ] || [ $SECONDS -ge $deadline ]; then
      tail -n 30 "$dir/out.log" >&2 || true
      die "$2 did not start (log: $dir)"
    fi
    sleep 0.3
  done
}

start_rocketmq_cluster() { # start_rocketmq_cluster DIR (OSPREY_ROCKETMQ_ACL=0: no ACL cluster)
  local dir=$1 acl=${OSPREY_ROCKETMQ_ACL:-1} entry name broker id port p
  local brokers=("${ROCKETMQ_BROKERS[@]}") started=(a0 b0 a1)
  if [ "$acl" = 1 ]; then
    brokers+=("acl:broker-acl:0:$ROCKETMQ_ACL_BROKER_PORT")
    started+=(acl)
    require_free_port "$ROCKETMQ_ACL_NAMESRV_PORT" "rocketmq name server (ACL)" ROCKETMQ_PORT_BASE
  fi
  require_free_port "$ROCKETMQ_NAMESRV_PORT" "rocketmq name server" ROCKETMQ_PORT_BASE
  for port in "$ROCKETMQ_PROXY_REMOTING_PORT" "$ROCKETMQ_PROXY_GRPC_PORT"; do
    require_free_port "$port" "rocketmq proxy" ROCKETMQ_PORT_BASE
  done
  for entry in "${brokers[@]}"; do
    port=${entry##*:}
    for p in $((port - 2)) "$port" $((port + 1)); do
      require_free_port "$p" "rocketmq broker ${entry%%:*}" ROCKETMQ_PORT_BASE
    done
  done
  start_rocketmq_namesrv "$dir/namesrv" "$ROCKETMQ_NAMESRV_PORT"
  [ "$acl" = 1 ] && start_rocketmq_namesrv "$dir/acl-namesrv" "$ROCKETMQ_ACL_NAMESRV_PORT"
  rocketmq_wait_booted "$dir/namesrv" "the rocketmq name server"
  [ "$acl" = 1 ] && rocketmq_wait_booted "$dir/acl-namesrv" "the rocketmq name server (ACL)"
  for entry in "${ROCKETMQ_BROKERS[@]}"; do
    IFS=: read -r name broker id port <<<"$entry"
    mkdir -p "$dir/$name"
    rocketmq_broker_config "$dir/$name" OspreyCluster "$broker" "$id" "$port" \
      "$ROCKETMQ_NAMESRV_PORT" >"$dir/$name/broker.conf"
    start_rocketmq_broker "$dir/$name"
  done
  if [ "$acl" = 1 ]; then
    mkdir -p "$dir/acl"
    { rocketmq_broker_config "$dir/acl" OspreyAclCluster broker-acl 0 "$ROCKETMQ_ACL_BROKER_PORT" \
        "$ROCKETMQ_ACL_NAMESRV_PORT"
      rocketmq_acl_config
    } >"$dir/acl/broker.conf"
    start_rocketmq_broker "$dir/acl"
  fi
  for name in "${started[@]}"; do rocketmq_wait_booted "$dir/$name" "rocketmq $name"; done
  start_rocketmq_proxy "$dir/proxy"
  log "rocketmq $ROCKETMQ_APACHE_VERSION (2 masters, 1 slave, proxy) on name server 127.0.0.1:$ROCKETMQ_NAMESRV_PORT, proxy gRPC :$ROCKETMQ_PROXY_GRPC_PORT$([ "$acl" = 1 ] && echo "; ACL cluster on :$ROCKETMQ_ACL_NAMESRV_PORT")"
}

# The proxy creates its system topics on the cluster at start-up and exits if no broker has
# registered yet: it starts after the brokers, and once more if a broker's registration was late.
start_rocketmq_proxy() { # start_rocketmq_proxy DIR
  local dir=$1 attempt
  mkdir -p "$dir"
  printf '{"rocketMQClusterName":"OspreyCluster","namesrvAddr":"127.0.0.1:%s","grpcServerPort":%s,"remotingListenPort":%s}\n' \
    "$ROCKETMQ_NAMESRV_PORT" "$ROCKETMQ_PROXY_GRPC_PORT" "$ROCKETMQ_PROXY_REMOTING_PORT" \
    >"$dir/rmq-proxy.json"
  for attempt in 1 2 3; do
    (rocketmq_java "$dir" 256m org.apache.rocketmq.proxy.ProxyStartup -pm cluster \
      -pc "$dir/rmq-proxy.json") >"$dir/out.log" 2>&1 &
    echo $! >"$dir/pid"
    (rocketmq_wait_booted "$dir" "rocketmq proxy") 2>/dev/null && return 0
    log "rocketmq proxy exited at start (attempt $attempt): starting it again in 3 s"
    sleep 3
  done
  rocketmq_wait_booted "$dir" "rocketmq proxy"
}

# ACL 2.0: every request authenticated (AccessKey and an HMAC signature), a super user made at
# first start, and the broker's own clients signing with it.
rocketmq_acl_config() {
  cat <<CONF
authenticationEnabled=true
authenticationProvider=org.apache.rocketmq.auth.authentication.provider.DefaultAuthenticationProvider
authenticationMetadataProvider=org.apache.rocketmq.auth.authentication.provider.LocalAuthenticationMetadataProvider
authorizationEnabled=true
authorizationProvider=org.apache.rocketmq.auth.authorization.provider.DefaultAuthorizationProvider
authorizationMetadataProvider=org.apache.rocketmq.auth.authorization.provider.LocalAuthorizationMetadataProvider
initAuthenticationUser={"username":"$ROCKETMQ_ACL_USER","password":"$ROCKETMQ_ACL_PASSWORD"}
innerClientAuthenticationCredentials={"accessKey":"$ROCKETMQ_ACL_USER","secretKey":"$ROCKETMQ_ACL_PASSWORD"}
CONF
}

stop_rocketmq_cluster() { # stop_rocketmq_cluster DIR: the data is thrown away, so a short grace
  local name
  for name in proxy a0 b0 a1 acl namesrv acl-namesrv; do kafka_stop_pid "$1/$name/pid" 10 & done
  wait
}

rocketmq_broker_port() { # rocketmq_broker_port NAME (a0, b0, a1)
  local entry
  for entry in "${ROCKETMQ_BROKERS[@]}"; do
    [ "${entry%%:*}" = "$1" ] && { echo "${entry##*:}"; return 0; }
  done
  die "no rocketmq broker $1"
}

# Run directly, it stops or starts one broker of a running cluster (a test that stops a broker
# brings it back): rocketmq.sh stop-broker|start-broker DIR NAME.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  OSPREY_ROOT=$(cd "$(dirname "$0")/.." && pwd)
  CACHE_DIR=${OSPREY_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/osprey}
  log() { printf '[rocketmq] %s\n' "$*" >&2; }
  die() { printf '[rocketmq] error: %s\n' "$*" >&2; exit 1; }
  # shellcheck source=scripts/kafka.sh
  source "$OSPREY_ROOT/scripts/kafka.sh"
  case "${1:-}" in
    stop-broker) kafka_stop_pid "$2/$3/pid" 60 ;;
    start-broker)
      : >"$2/$3/out.log"
      start_rocketmq_broker "$2/$3"
      rocketmq_wait_booted "$2/$3" "rocketmq $3"
      ;;
    *) die "usage: rocketmq.sh stop-broker|start-broker DIR NAME" ;;
  esac
fi
