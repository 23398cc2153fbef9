#!/usr/bin/env bash
# ActiveMQ for Osprey's tests and demo, both flavors, from Maven Central, on 127.0.0.1:
# - Classic 6: Maven Central serves its broker's jars but not the distribution (with the web
#   console), so the broker runs from that classpath with OpenWire and STOMP connectors, and the
#   Jolokia JVM agent (the Kafka peer's, scripts/kafka.sh) serves the same Jolokia protocol and
#   MBeans the console's /api/jolokia does, behind a login;
# - Artemis 2: the distribution archive, an instance made with `artemis create` (login required,
#   one multi-protocol acceptor), its console's Jolokia at /console/jolokia.
# Sourced by scripts/peers.sh (and scripts/demo.sh); the functions expect log, die, wait_for,
# apt_install, CACHE_DIR and PEERS_DIR from there.
#
#   activemq_install                 fetch both once (~8 MB and ~47 MB, ~20 s)
#   start_activemq_classic DIR PORT  a Classic broker: OpenWire PORT, STOMP PORT+1, Jolokia PORT+2
#   start_artemis DIR PORT           an Artemis broker: acceptor PORT, console PORT+2
#   stop_activemq DIR                stop the broker started under DIR (either flavor)
#
# Test ports (below 32768): Classic OSPREY_ACTIVEMQ_PORT (16616-16618), Artemis
# OSPREY_ARTEMIS_PORT (16626-16628). Both log in as `osprey`.

ACTIVEMQ_VERSION=${OSPREY_ACTIVEMQ_VERSION:-6.3.1}
ARTEMIS_VERSION=${OSPREY_ARTEMIS_VERSION:-2.40.0}
ACTIVEMQ_PORT=${OSPREY_ACTIVEMQ_PORT:-16616}
ARTEMIS_PORT=${OSPREY_ARTEMIS_PORT:-16626}
# Test credentials only: the brokers live on loopback for the length of a run.
ACTIVEMQ_USER=osprey
ACTIVEMQ_PASSWORD=osprey-activemq

activemq_libs() { echo "$CACHE_DIR/activemq-classic-$ACTIVEMQ_VERSION"; }
artemis_home() { echo "$CACHE_DIR/apache-artemis-$ARTEMIS_VERSION"; }

activemq_install() {
  command -v mvn >/dev/null 2>&1 || apt_install maven
  # Classic's Jolokia is the JVM agent the Kafka peer carries too.
  kafka_agents_install
  local libs; libs=$(activemq_libs)
  if [ ! -f "$libs/.complete" ]; then
    log "fetching ActiveMQ Classic $ACTIVEMQ_VERSION from Maven Central (once; ~8 MB)"
    rm -rf "$libs" && mkdir -p "$libs"
    (cd "$OSPREY_ROOT/scripts/activemq" && mvn -q -B -Dstyle.color=never dependency:copy-dependencies \
      -Dactivemq.version="$ACTIVEMQ_VERSION" -DincludeScope=runtime -DoutputDirectory="$libs") >&2
    touch "$libs/.complete"
  fi
  local home; home=$(artemis_home)
  if [ ! -f "$home/.complete" ]; then
    log "fetching ActiveMQ Artemis $ARTEMIS_VERSION from Maven Central (once; ~47 MB)"
    local download=$CACHE_DIR/artemis-download
    rm -rf "$home" "$download" && mkdir -p "$download"
    (cd "$OSPREY_ROOT/scripts/activemq" && mvn -q -B -Dstyle.color=never dependency:copy \
      -Dartifact="org.apache.activemq:apache-artemis:$ARTEMIS_VERSION:tar.gz:bin" \
      -DoutputDirectory="$download") >&2
    tar xzf "$download/apache-artemis-$ARTEMIS_VERSION-bin.tar.gz" -C "$CACHE_DIR"
    rm -rf "$download"
    touch "$home/.complete"
  fi
}

start_activemq_classic() { # start_activemq_classic DIR PORT
  local dir=$1 port=$2
  rm -rf "$dir" && mkdir -p "$dir"
  local agent; agent="$(kafka_agents)/jolokia-agent-jvm.jar"
  local jolokia="host=127.0.0.1,port=$((port + 2)),user=$ACTIVEMQ_USER,password=$ACTIVEMQ_PASSWORD"
  local uri="broker:(tcp://127.0.0.1:$port,stomp://127.0.0.1:$((port + 1)))"
  uri+="?brokerName=osprey-classic-$port&useJmx=true&dataDirectory=$dir/data"
  java -Xms64m -Xmx256m -XX:+UseSerialGC -javaagent:"$agent=$jolokia" \
    -Dactivemq.home="$dir" -Dactivemq.base="$dir" -Dactivemq.data="$dir/data" \
    -cp "$(activemq_libs)/*" org.apache.activemq.console.Main start "$uri" \
    >"$dir/broker.log" 2>&1 &
  echo $! >"$dir/pid"
  wait_for 90 "activemq classic" curl -sf -u "$ACTIVEMQ_USER:$ACTIVEMQ_PASSWORD" \
    "http://127.0.0.1:$((port + 2))/jolokia/read/org.apache.activemq:type=Broker,brokerName=*/BrokerName"
  log "ActiveMQ Classic $ACTIVEMQ_VERSION on 127.0.0.1:$port (Jolokia :$((port + 2)))"
}

start_artemis() { # start_artemis DIR PORT
  local dir=$1 port=$2
  rm -rf "$dir" && mkdir -p "$dir"
  "$(artemis_home)/bin/artemis" create --silent --force --name "osprey-artemis-$port" \
    --user "$ACTIVEMQ_USER" --password "$ACTIVEMQ_PASSWORD" --require-login \
    --host 127.0.0.1 --default-port "$port" --http-host 127.0.0.1 --http-port "$((port + 2))" \
    --no-amqp-acceptor --no-mqtt-acceptor --no-stomp-acceptor --no-hornetq-acceptor \
    "$dir/instance" >"$dir/create.log" 2>&1 || die "artemis create failed (see $dir/create.log)"
  sed -i 's/-Xms512M -Xmx2G/-Xms64M -Xmx384M/' "$dir/instance/etc/artemis.profile"
  # Artemis blocks every producer once the disk is 90 % used (the whole disk, not its own
  # share): on a shared machine with big build directories that silently emptied the tests'
  # queues. The tests' broker stores a few KB; never block it on the disk.
  sed -i 's|<max-disk-usage>90</max-disk-usage>|<max-disk-usage>100</max-disk-usage>|' \
    "$dir/instance/etc/broker.xml"
  "$dir/instance/bin/artemis" run >"$dir/broker.log" 2>&1 &
  echo $! >"$dir/pid"
  wait_for 120 "activemq artemis" curl -sf -u "$ACTIVEMQ_USER:$ACTIVEMQ_PASSWORD" \
    -H "Origin: http://127.0.0.1:$((port + 2))" \
    "http://127.0.0.1:$((port + 2))/console/jolokia/read/org.apache.activemq.artemis:broker=*/Version"
  log "ActiveMQ Artemis $ARTEMIS_VERSION on 127.0.0.1:$port (console :$((port + 2)))"
}

stop_activemq() { # stop_activemq DIR
  local pidfile=$1/pid
  [ -f "$pidfile" ] || return 0
  local pid; pid=$(cat "$pidfile")
  # `artemis run` is a shell script whose java is its child.
  pkill -P "$pid" 2>/dev/null || true
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.2; done
  kill -9 "$pid" 2>/dev/null || true
}
