//! One cluster's configuration: the keys every kind has, and a [`Connection`] tagged by `kind`
//! that holds only that kind's own keys. Read from its TOML table so every error names its key.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::canary::CanaryConfig;
use super::render::printable;
use super::validate::is_host_port;
use super::{ConfigError, defaults, key_error, redact_property};
use crate::domain::ClusterKind;
use crate::duration_text;
use crate::secret::{REDACTED, Secret};

/// One watched cluster.
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterConfig {
    /// Short name used in URLs and history: letters, digits, `.`, `_` and `-`.
    pub name: String,
    /// How Osprey reaches it; the variant is the cluster's kind.
    pub connection: Connection,
    /// Per broker id, a Prometheus endpoint with its JMX metrics (the JMX exporter agent; for
    /// RabbitMQ, per node name such as `rabbit@host`, the prometheus plugin).
    pub metrics_urls: BTreeMap<String, String>,
    /// Per broker id, a Jolokia agent's URL (`http://b1:8778/jolokia/`).
    pub jolokia_urls: BTreeMap<String, String>,
    pub poll_interval: Duration,
    /// Longest time one poll may take; a slower poll counts as a failure. Unset, it follows
    /// `poll_interval`: 80 % of it, at most 8 s.
    pub poll_timeout: Duration,
    /// How often topic configurations are re-read (they change rarely and are costly to list).
    pub config_refresh_interval: Duration,
    /// Refuse every change to this cluster from Osprey (sending, resets, topic changes).
    pub read_only: bool,
    /// The end-to-end canary (`[clusters.canary]`), off by default.
    pub canary: CanaryConfig,
}

/// How Osprey reaches a cluster, one variant per kind with only that kind's keys.
#[derive(Debug, Clone, PartialEq)]
pub enum Connection {
    Kafka(KafkaConnection),
    Rabbitmq(RabbitConnection),
    Rocketmq(RocketConnection),
    Beanstalkd(BeanstalkConnection),
    Gearman(GearmanConnection),
    Activemq(ActivemqConnection),
}

#[derive(Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KafkaConnection {
    /// Comma-separated `host:port` list.
    pub bootstrap_servers: String,
    /// Passed through to the Kafka client (librdkafka), e.g. `security.protocol`, `sasl.*`.
    #[serde(default)]
    pub properties: BTreeMap<String, String>,
}

#[derive(Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RabbitConnection {
    /// The management API, e.g. `http://rabbit1:15672`.
    pub management_url: String,
    /// A management user (the `monitoring` tag is enough to read).
    pub username: String,
    pub password: Secret,
    /// Over HTTPS: a PEM file of certificate authorities to trust besides the public roots (a
    /// management API behind a private CA).
    #[serde(default)]
    pub tls_ca_file: Option<String>,
    /// The AMQP listener the canary publishes and consumes through, e.g. `amqps://rabbit1:5671`
    /// (the management user logs in); unset, the management host on 5672 (5671 behind https).
    #[serde(default)]
    pub amqp_url: Option<String>,
}

impl RabbitConnection {
    /// The AMQP listener: whether it speaks TLS, and its `host:port`.
    pub fn amqp_address(&self) -> Result<(bool, String), String> {
        let (url, explicit) = match &self.amqp_url {
            Some(url) => (url.as_str(), true),
            None => (self.management_url.as_str(), false),
        };
        let mut parsed = url::Url::parse(url).map_err(|e| format!("not a URL: {e}"))?;
        if !parsed.username().is_empty() || parsed.password().is_some() {
            // Shown without it: the password stays out of logs and pages.
            let _ = (parsed.set_username(""), parsed.set_password(None));
            return Err(format!(
                "{:?} carries a login; the canary logs in as username",
                parsed.as_str()
            ));
        }
        let tls = match (explicit, parsed.scheme()) {
            (true, "amqp") | (false, "http") => false,
            (true, "amqps") | (false, "https") => true,
            _ => return Err(format!("{url:?} is not an amqp:// or amqps:// URL")),
        };
        if explicit && !matches!(parsed.path(), "" | "/") {
            return Err(format!(
                "{url:?}: the vhost is the canary's (canary.vhost), not the URL's"
            ));
        }
        let Some(host) = parsed.host_str() else { return Err(format!("{url:?} names no host")) };
        let default_port = if tls { 5671 } else { 5672 };
        let port = if explicit { parsed.port().unwrap_or(default_port) } else { default_port };
        Ok((tls, format!("{host}:{port}")))
    }
}

#[derive(Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RocketConnection {
    /// The name servers, `host:9876;host2:9876`.
    pub namesrv_addrs: String,
    /// RocketMQ 5 proxies' remoting addresses (`host:8080;…`): gRPC clients are known to their
    /// proxy only, never to the brokers.
    #[serde(default)]
    pub proxy_addrs: Option<String>,
    /// With ACL: the access key and its secret key (`${ENV}` allowed in the secret).
    #[serde(default)]
    pub access_key: Option<String>,
    #[serde(default)]
    pub secret_key: Option<Secret>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BeanstalkConnection {
    /// Comma-separated `host:port` list of beanstalkd servers; each keeps its own tubes.
    pub servers: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GearmanConnection {
    /// Comma-separated `host:port` list of Gearman job servers; each keeps its own queues.
    pub servers: String,
}

#[derive(Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActivemqConnection {
    /// Comma-separated Jolokia URLs, one per broker: ActiveMQ Classic's web console serves it
    /// at `http://host:8161/api/jolokia`, Artemis's at `http://host:8161/console/jolokia`.
    pub management_urls: String,
    /// A console user (Classic: `admin` by default; Artemis: a user of the `amq` role).
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub password: Option<Secret>,
    /// `classic` or `artemis`; found out from the brokers' MBeans when unset.
    #[serde(default)]
    pub flavor: Option<ActivemqFlavor>,
    /// Over HTTPS: a PEM file of certificate authorities to trust besides the public roots.
    #[serde(default)]
    pub tls_ca_file: Option<String>,
}

/// Which ActiveMQ: Classic (5.x, 6.x) or Artemis (2.x). Their MBeans differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ActivemqFlavor {
    Classic,
    Artemis,
}

impl ActivemqFlavor {
    pub fn as_str(self) -> &'static str {
        match self {
            ActivemqFlavor::Classic => "classic",
            ActivemqFlavor::Artemis => "artemis",
        }
    }
}

/// The keys every cluster has, whatever its kind.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CommonKeys {
    name: String,
    #[serde(default)]
    metrics_urls: BTreeMap<String, String>,
    #[serde(default)]
    jolokia_urls: BTreeMap<String, String>,
    #[serde(with = "duration_text", default = "defaults::poll_interval")]
    poll_interval: Duration,
    #[serde(with = "duration_text::option", default)]
    poll_timeout: Option<Duration>,
    #[serde(with = "duration_text", default = "defaults::config_refresh_interval")]
    config_refresh_interval: Duration,
    #[serde(default)]
    read_only: bool,
    #[serde(default)]
    canary: CanaryConfig,
}

const COMMON_KEYS: [&str; 8] = [
    "name",
    "metrics_urls",
    "jolokia_urls",
    "poll_interval",
    "poll_timeout",
    "config_refresh_interval",
    "read_only",
    "canary",
];

impl Connection {
    pub fn kind(&self) -> ClusterKind {
        match self {
            Connection::Kafka(_) => ClusterKind::Kafka,
            Connection::Rabbitmq(_) => ClusterKind::Rabbitmq,
            Connection::Rocketmq(_) => ClusterKind::Rocketmq,
            Connection::Beanstalkd(_) => ClusterKind::Beanstalkd,
            Connection::Gearman(_) => ClusterKind::Gearman,
            Connection::Activemq(_) => ClusterKind::Activemq,
        }
    }

    /// The keys only clusters of `kind` have.
    pub fn keys(kind: ClusterKind) -> &'static [&'static str] {
        match kind {
            ClusterKind::Kafka => &["bootstrap_servers", "properties"],
            ClusterKind::Rabbitmq => {
                &["management_url", "username", "password", "tls_ca_file", "amqp_url"]
            }
            ClusterKind::Rocketmq => &["namesrv_addrs", "proxy_addrs", "access_key", "secret_key"],
            ClusterKind::Beanstalkd | ClusterKind::Gearman => &["servers"],
            ClusterKind::Activemq => {
                &["management_urls", "username", "password", "flavor", "tls_ca_file"]
            }
        }
    }

    /// Where Osprey reaches the cluster, as shown on its page: bootstrap servers, management
    /// API or name servers.
    pub fn addresses(&self) -> &str {
        match self {
            Connection::Kafka(kafka) => &kafka.bootstrap_servers,
            Connection::Rabbitmq(rabbit) => &rabbit.management_url,
            Connection::Rocketmq(rocket) => &rocket.namesrv_addrs,
            Connection::Beanstalkd(beanstalk) => &beanstalk.servers,
            Connection::Gearman(gearman) => &gearman.servers,
            Connection::Activemq(activemq) => &activemq.management_urls,
        }
    }

    /// Reads a `kind`'s own keys (the table holds no other).
    fn read(kind: ClusterKind, table: toml::Table, prefix: &str) -> Result<Self, ConfigError> {
        let what = format!("a {kind} cluster");
        Ok(match kind {
            ClusterKind::Kafka => Connection::Kafka(read_keys(table, prefix, &what)?),
            ClusterKind::Rabbitmq => Connection::Rabbitmq(read_keys(table, prefix, &what)?),
            ClusterKind::Rocketmq => Connection::Rocketmq(read_keys(table, prefix, &what)?),
            ClusterKind::Beanstalkd => Connection::Beanstalkd(read_keys(table, prefix, &what)?),
            ClusterKind::Gearman => Connection::Gearman(read_keys(table, prefix, &what)?),
            ClusterKind::Activemq => Connection::Activemq(read_keys(table, prefix, &what)?),
        })
    }

    /// Checks the values; the error names the key it is about.
    pub(super) fn check(&self) -> Result<(), (&'static str, String)> {
        match self {
            Connection::Kafka(kafka) => {
                let servers = kafka.bootstrap_servers.trim();
                if servers.is_empty() {
                    return Err((
                        "bootstrap_servers",
                        "Kafka clusters need bootstrap_servers (host:port, …)".into(),
                    ));
                }
                if servers.split(',').map(str::trim).any(|s| !is_host_port(s)) {
                    return Err((
                        "bootstrap_servers",
                        format!("{:?} is not a list of host:port", kafka.bootstrap_servers),
                    ));
                }
            }
            Connection::Rabbitmq(rabbit) => {
                let url = &rabbit.management_url;
                if !url::Url::parse(url).is_ok_and(|u| matches!(u.scheme(), "http" | "https")) {
                    return Err((
                        "management_url",
                        format!("{url:?} is not the http(s) URL of the management API"),
                    ));
                }
                if rabbit.username.trim().is_empty() {
                    return Err(("username", "RabbitMQ clusters need a management user".into()));
                }
                if rabbit.amqp_url.is_some()
                    && let Err(error) = rabbit.amqp_address()
                {
                    return Err(("amqp_url", error));
                }
            }
            Connection::Rocketmq(rocket) => {
                let addrs: Vec<&str> = rocket.name_servers().collect();
                if addrs.is_empty() || addrs.iter().any(|a| !is_host_port(a)) {
                    return Err((
                        "namesrv_addrs",
                        "RocketMQ clusters need namesrv_addrs (host:9876;host2:9876)".into(),
                    ));
                }
                if rocket.proxies().any(|a| !is_host_port(a)) {
                    return Err((
                        "proxy_addrs",
                        "proxy_addrs are the proxies' remoting addresses (host:8080;host2:8080)"
                            .into(),
                    ));
                }
                if rocket.access_key.is_some() != rocket.secret_key.is_some() {
                    return Err(("access_key", "access_key and secret_key go together".into()));
                }
            }
            Connection::Beanstalkd(beanstalk) => {
                check_servers(&beanstalk.servers, "beanstalkd", 11300)?;
            }
            Connection::Gearman(gearman) => {
                check_servers(&gearman.servers, "Gearman job", 4730)?;
            }
            Connection::Activemq(activemq) => {
                let need = "ActiveMQ clusters need management_urls, each broker's Jolokia \
                            (http://host:8161/api/jolokia, Artemis: /console/jolokia)";
                if activemq.urls().next().is_none() {
                    return Err(("management_urls", need.into()));
                }
                for url in activemq.urls() {
                    let parsed = url::Url::parse(url).ok();
                    let Some(mut parsed) =
                        parsed.filter(|u| matches!(u.scheme(), "http" | "https"))
                    else {
                        let message = format!("{url:?} is not an http(s) URL: {need}");
                        return Err(("management_urls", message));
                    };
                    if !parsed.username().is_empty() || parsed.password().is_some() {
                        let _ = parsed.set_username("");
                        let _ = parsed.set_password(None);
                        let message = format!(
                            "{:?} carries a login: set username and password instead (they are \
                             kept out of pages and logs)",
                            parsed.as_str()
                        );
                        return Err(("management_urls", message));
                    }
                }
                if activemq.username.is_some() != activemq.password.is_some() {
                    return Err(("username", "username and password go together".into()));
                }
            }
        }
        Ok(())
    }
}

/// The kinds' own keys in the commented rendering (`print-config`).
impl Connection {
    /// Its plain keys, right after `kind`.
    pub(super) fn render_keys(&self, line: &mut impl FnMut(&str)) {
        let q = |s: &str| toml::Value::String(s.to_owned()).to_string();
        match self {
            Connection::Kafka(kafka) => {
                line("# Comma-separated host:port list.");
                line(&format!("bootstrap_servers = {}", q(&kafka.bootstrap_servers)));
                line("# (A RabbitMQ cluster has kind = \"rabbitmq\", management_url, username and");
                line(
                    "# password instead; a RocketMQ cluster kind = \"rocketmq\" and namesrv_addrs, and",
                );
                line(
                    "# for RocketMQ 5 gRPC clients proxy_addrs, the proxies' remoting addresses; a",
                );
                line("# beanstalkd or Gearman cluster kind = \"beanstalkd\" or \"gearman\" and");
                line("# servers = \"host:11300, …\" (Gearman: host:4730); an ActiveMQ cluster");
                line(
                    "# kind = \"activemq\", management_urls (each broker's Jolokia), username and",
                );
                line("# password.)");
            }
            Connection::Rabbitmq(rabbit) => {
                line("# The management API and a user that may read it.");
                line(&format!("management_url = {}", q(&rabbit.management_url)));
                line(&format!("username = {}", q(&rabbit.username)));
                line(&format!("password = {}", q(&printable(&rabbit.password))));
                line("# HTTPS behind a private CA: trust this PEM file too.");
                match &rabbit.tls_ca_file {
                    Some(file) => line(&format!("tls_ca_file = {}", q(file))),
                    None => line("# tls_ca_file = \"/etc/ssl/rabbit-ca.pem\""),
                }
                line("# The AMQP listener the canary uses (unset: the management host, 5672 or");
                line("# 5671 behind https; the TLS CA as above).");
                match &rabbit.amqp_url {
                    Some(url) => line(&format!("amqp_url = {}", q(url))),
                    None => line("# amqp_url = \"amqps://rabbit1:5671\""),
                }
            }
            Connection::Rocketmq(rocket) => {
                line("# The name servers, separated by ';'.");
                line(&format!("namesrv_addrs = {}", q(&rocket.namesrv_addrs)));
                line("# RocketMQ 5 proxies' remoting addresses, separated by ';': gRPC clients");
                line("# are known to their proxy only.");
                match &rocket.proxy_addrs {
                    Some(proxies) => line(&format!("proxy_addrs = {}", q(proxies))),
                    None => line("# proxy_addrs = \"127.0.0.1:8080\""),
                }
                line("# With ACL enabled: the access key and its secret (${ENV} allowed).");
                match (&rocket.access_key, &rocket.secret_key) {
                    (Some(access), Some(secret)) => {
                        line(&format!("access_key = {}", q(access)));
                        line(&format!("secret_key = {}", q(&printable(secret))));
                    }
                    _ => {
                        line("# access_key = \"osprey\"");
                        line("# secret_key = \"${ROCKETMQ_SECRET_KEY}\"");
                    }
                }
            }
            Connection::Beanstalkd(beanstalk) => {
                line("# Comma-separated host:port list; each server keeps its own tubes.");
                line(&format!("servers = {}", q(&beanstalk.servers)));
            }
            Connection::Gearman(gearman) => {
                line("# Comma-separated host:port list; each job server keeps its own queues.");
                line(&format!("servers = {}", q(&gearman.servers)));
            }
            Connection::Activemq(activemq) => {
                line(
                    "# Each broker's Jolokia, comma-separated: Classic's web console serves it at",
                );
                line("# /api/jolokia, Artemis's at /console/jolokia.");
                line(&format!("management_urls = {}", q(&activemq.management_urls)));
                match (&activemq.username, &activemq.password) {
                    (Some(user), Some(password)) => {
                        line(&format!("username = {}", q(user)));
                        line(&format!("password = {}", q(&printable(password))));
                    }
                    _ => {
                        line("# username = \"admin\"");
                        line("# password = \"${ACTIVEMQ_PASSWORD}\"");
                    }
                }
                line("# \"classic\" or \"artemis\"; found out from the brokers when unset.");
                match activemq.flavor {
                    Some(flavor) => line(&format!("flavor = {}", q(flavor.as_str()))),
                    None => line("# flavor = \"artemis\""),
                }
                line("# HTTPS behind a private CA: trust this PEM file too.");
                match &activemq.tls_ca_file {
                    Some(file) => line(&format!("tls_ca_file = {}", q(file))),
                    None => line("# tls_ca_file = \"/etc/ssl/activemq-ca.pem\""),
                }
            }
        }
    }

    /// Its sub-tables, after every plain key of the cluster.
    pub(super) fn render_tables(&self, line: &mut impl FnMut(&str)) {
        let q = |s: &str| toml::Value::String(s.to_owned()).to_string();
        if let Connection::Kafka(kafka) = self {
            line("# Passed to the Kafka client (librdkafka), e.g. for SASL/TLS clusters:");
            line("#   \"security.protocol\" = \"SASL_SSL\"");
            line("#   \"sasl.mechanism\" = \"SCRAM-SHA-512\"");
            line("#   \"sasl.username\" = \"osprey\"");
            line("#   \"sasl.password\" = \"…\"");
            line("[clusters.properties]");
            for (key, value) in &kafka.properties {
                line(&format!("{} = {}", q(key), q(redact_property(key, value))));
            }
        }
    }
}

impl RocketConnection {
    /// Each name server's `host:port`.
    pub fn name_servers(&self) -> impl Iterator<Item = &str> {
        self.namesrv_addrs.split(';').map(str::trim).filter(|a| !a.is_empty())
    }

    /// Each proxy's remoting `host:port`.
    pub fn proxies(&self) -> impl Iterator<Item = &str> {
        self.proxy_addrs.iter().flat_map(|p| p.split(';')).map(str::trim).filter(|a| !a.is_empty())
    }
}

impl BeanstalkConnection {
    /// Each server's `host:port`.
    pub fn servers(&self) -> impl Iterator<Item = &str> {
        split_servers(&self.servers)
    }
}

impl GearmanConnection {
    /// Each job server's `host:port`.
    pub fn servers(&self) -> impl Iterator<Item = &str> {
        split_servers(&self.servers)
    }
}

impl ActivemqConnection {
    /// Each broker's Jolokia URL.
    pub fn urls(&self) -> impl Iterator<Item = &str> {
        split_servers(&self.management_urls)
    }
}

fn split_servers(servers: &str) -> impl Iterator<Item = &str> {
    servers.split(',').map(str::trim).filter(|a| !a.is_empty())
}

/// `servers` is a non-empty comma-separated list of `host:port` (of `what` servers, whose
/// usual port is `port`).
fn check_servers(servers: &str, what: &str, port: u16) -> Result<(), (&'static str, String)> {
    let addresses: Vec<&str> = split_servers(servers).collect();
    if addresses.is_empty() || addresses.iter().any(|s| !is_host_port(s)) {
        return Err((
            "servers",
            format!("{servers:?} is not a list of {what} servers (host:{port}, …)"),
        ));
    }
    Ok(())
}

impl ClusterConfig {
    /// A cluster reached through `connection`, with every other key at its default.
    pub fn new(name: &str, connection: Connection) -> ClusterConfig {
        ClusterConfig {
            name: name.into(),
            connection,
            metrics_urls: BTreeMap::new(),
            jolokia_urls: BTreeMap::new(),
            poll_interval: defaults::poll_interval(),
            poll_timeout: defaults::poll_timeout(),
            config_refresh_interval: defaults::config_refresh_interval(),
            read_only: false,
            canary: CanaryConfig::default(),
        }
    }

    /// A Kafka cluster at `bootstrap_servers` with every other key at its default.
    pub fn kafka(name: &str, bootstrap_servers: &str) -> ClusterConfig {
        let connection = KafkaConnection {
            bootstrap_servers: bootstrap_servers.into(),
            properties: BTreeMap::new(),
        };
        ClusterConfig::new(name, Connection::Kafka(connection))
    }

    /// A RabbitMQ cluster behind `management_url`, read as `username`.
    pub fn rabbitmq(
        name: &str,
        management_url: &str,
        username: &str,
        password: Secret,
    ) -> ClusterConfig {
        let connection = RabbitConnection {
            management_url: management_url.into(),
            username: username.into(),
            password,
            tls_ca_file: None,
            amqp_url: None,
        };
        ClusterConfig::new(name, Connection::Rabbitmq(connection))
    }

    /// A RocketMQ cluster with name servers `namesrv_addrs` (`host:9876;host2:9876`), no ACL.
    pub fn rocketmq(name: &str, namesrv_addrs: &str) -> ClusterConfig {
        let connection = RocketConnection {
            namesrv_addrs: namesrv_addrs.into(),
            proxy_addrs: None,
            access_key: None,
            secret_key: None,
        };
        ClusterConfig::new(name, Connection::Rocketmq(connection))
    }

    /// A beanstalkd cluster of `servers` (`host:11300,host2:11300`).
    pub fn beanstalkd(name: &str, servers: &str) -> ClusterConfig {
        let connection = BeanstalkConnection { servers: servers.into() };
        ClusterConfig::new(name, Connection::Beanstalkd(connection))
    }

    /// A Gearman cluster of job `servers` (`host:4730,host2:4730`).
    pub fn gearman(name: &str, servers: &str) -> ClusterConfig {
        let connection = GearmanConnection { servers: servers.into() };
        ClusterConfig::new(name, Connection::Gearman(connection))
    }

    /// An ActiveMQ cluster whose brokers' Jolokia are `management_urls`, without a login.
    pub fn activemq(name: &str, management_urls: &str) -> ClusterConfig {
        let connection = ActivemqConnection {
            management_urls: management_urls.into(),
            username: None,
            password: None,
            flavor: None,
            tls_ca_file: None,
        };
        ClusterConfig::new(name, Connection::Activemq(connection))
    }

    pub fn kind(&self) -> ClusterKind {
        self.connection.kind()
    }

    /// Reads one `[[clusters]]` table; `prefix` (`clusters[0]`) begins every key an error names.
    /// A key of another kind is refused (a `management_url` on a Kafka cluster was once
    /// silently ignored) with the keys the kind does take.
    pub(super) fn from_table(
        mut table: toml::Table,
        prefix: &str,
    ) -> Result<ClusterConfig, ConfigError> {
        let kinds = "kafka, rabbitmq, rocketmq, beanstalkd, gearman or activemq";
        let kind = match table.remove("kind") {
            None => return Err(key_error(format!("{prefix}.kind"), format!("missing: {kinds}"))),
            Some(value) => value.clone().try_into::<ClusterKind>().map_err(|_| {
                key_error(format!("{prefix}.kind"), format!("{value} is not one of {kinds}"))
            })?,
        };
        let own = Connection::keys(kind);
        let (common, theirs): (toml::Table, toml::Table) =
            table.into_iter().partition(|(key, _)| COMMON_KEYS.contains(&key.as_str()));
        if let Some(key) = theirs.keys().find(|key| !own.contains(&key.as_str())) {
            return Err(key_error(
                format!("{prefix}.{key}"),
                format!("a {kind} cluster has no such key; its own are {}", own.join(", ")),
            ));
        }
        let connection = Connection::read(kind, theirs, prefix)?;
        let common: CommonKeys = read_keys(common, prefix, "every cluster")?;
        Ok(ClusterConfig {
            name: common.name,
            connection,
            metrics_urls: common.metrics_urls,
            jolokia_urls: common.jolokia_urls,
            poll_interval: common.poll_interval,
            // Unset, it follows the interval this cluster has, not the default interval.
            poll_timeout: common
                .poll_timeout
                .unwrap_or_else(|| defaults::poll_timeout_for(common.poll_interval)),
            config_refresh_interval: common.config_refresh_interval,
            read_only: common.read_only,
            canary: common.canary,
        })
    }
}

/// Reads `table` as a `T`, an error naming `prefix.key`; a missing key is named too, and
/// said to be needed by `what` (a kind of cluster).
fn read_keys<T: DeserializeOwned>(
    table: toml::Table,
    prefix: &str,
    what: &str,
) -> Result<T, ConfigError> {
    serde_path_to_error::deserialize(toml::Value::Table(table)).map_err(|e| {
        let path = e.path().to_string();
        // toml appends "in `section`" on a second line; the key already says where.
        let message = e.into_inner().to_string();
        let message = message.lines().next().unwrap_or_default().trim();
        let missing = message.strip_prefix("missing field `").and_then(|m| m.strip_suffix('`'));
        match (missing, path.as_str()) {
            (Some(key), ".") => key_error(format!("{prefix}.{key}"), format!("{what} needs it")),
            (_, ".") => key_error(prefix, message),
            _ => key_error(format!("{prefix}.{path}"), message),
        }
    })
}

/// A cluster read on its own, e.g. in tests: `toml::from_str::<ClusterConfig>(…)`.
impl<'de> Deserialize<'de> for ClusterConfig {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let table = toml::Table::deserialize(deserializer)?;
        ClusterConfig::from_table(table, "cluster").map_err(serde::de::Error::custom)
    }
}

impl fmt::Debug for KafkaConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let properties: BTreeMap<&str, &str> =
            self.properties.iter().map(|(k, v)| (k.as_str(), redact_property(k, v))).collect();
        f.debug_struct("KafkaConnection")
            .field("bootstrap_servers", &self.bootstrap_servers)
            .field("properties", &properties)
            .finish()
    }
}

impl fmt::Debug for RabbitConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RabbitConnection")
            .field("management_url", &self.management_url)
            .field("username", &self.username)
            .field("password", &REDACTED)
            .field("tls_ca_file", &self.tls_ca_file)
            .field("amqp_url", &self.amqp_url)
            .finish()
    }
}

impl fmt::Debug for RocketConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RocketConnection")
            .field("namesrv_addrs", &self.namesrv_addrs)
            .field("proxy_addrs", &self.proxy_addrs)
            .field("access_key", &self.access_key)
            .field("secret_key", &self.secret_key.as_ref().map(|_| REDACTED))
            .finish()
    }
}

impl fmt::Debug for ActivemqConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ActivemqConnection")
            .field("management_urls", &self.management_urls)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| REDACTED))
            .field("flavor", &self.flavor)
            .field("tls_ca_file", &self.tls_ca_file)
            .finish()
    }
}
