//! Configuration: typed defaults, then the TOML file, then `OSPREY__SECTION__KEY` environment
//! variables; validation with errors that name the key; a commented rendering with secrets redacted.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;

use crate::alerting::definition::{ChannelDef, RuleDef};
use crate::domain::ClusterKind;
use crate::duration_text;
use crate::secret::{REDACTED, Secret};

/// Prefix of environment variables that override configuration keys, e.g.
/// `OSPREY__SERVER__LISTEN=0.0.0.0:8048` or `OSPREY__CLUSTERS__0__POLL_INTERVAL=5s`.
pub const ENV_PREFIX: &str = "OSPREY__";

/// The whole configuration of one Osprey process.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub server: ServerConfig,
    pub database: DatabaseConfig,
    pub history: HistoryConfig,
    pub lag: LagConfig,
    pub alerts: AlertsConfig,
    pub auth: AuthConfig,
    pub clusters: Vec<ClusterConfig>,
}

/// Who may see and change what: local users with roles, sessions, API tokens.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// Let visitors who are not logged in read every page and the read-only API.
    pub anonymous_read: bool,
    /// How long a login lasts without being used.
    #[serde(with = "duration_text")]
    pub session_ttl: Duration,
    /// An admin to create at start-up when no user exists yet (otherwise the log prints a
    /// one-time setup link). Its password should come from the environment: `${NAME}`.
    pub initial_admin: Option<String>,
    pub initial_admin_password: Option<Secret>,
    /// Bearer token Prometheus may scrape `/metrics` with when reading needs a login.
    pub metrics_token: Option<Secret>,
    /// Failed logins per user and address before further attempts are refused for a while.
    pub max_login_failures: u32,
    #[serde(with = "duration_text")]
    pub login_lockout: Duration,
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            anonymous_read: false,
            session_ttl: Duration::from_secs(12 * 3600),
            initial_admin: None,
            initial_admin_password: None,
            metrics_token: None,
            max_login_failures: 5,
            login_lockout: Duration::from_secs(15 * 60),
        }
    }
}

/// Alerting: where links in notices point, how deliveries are retried, and the rules and
/// channels defined in this file (the UI adds more; see `alerting::definition`).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct AlertsConfig {
    /// This Osprey's address as the readers of a notice reach it, for links to the group page.
    pub public_url: Option<String>,
    /// Wait before the first retry of a failed delivery; doubles per attempt up to `retry_max`.
    #[serde(with = "duration_text")]
    pub retry_initial: Duration,
    /// Unset, it follows `retry_initial`: 10 min, or `retry_initial` when that is longer
    /// ([`Config::load`] derives it; serde alone fills in the value for the default
    /// `retry_initial`).
    #[serde(with = "duration_text")]
    pub retry_max: Duration,
    /// A delivery still failing this long after its notice is given up and shown as failed.
    #[serde(with = "duration_text")]
    pub give_up_after: Duration,
    pub channels: Vec<ChannelDef>,
    pub rules: Vec<RuleDef>,
}

impl Default for AlertsConfig {
    fn default() -> Self {
        let retry_initial = Duration::from_secs(5);
        AlertsConfig {
            public_url: None,
            retry_initial,
            retry_max: defaults::retry_max_for(retry_initial),
            give_up_after: Duration::from_secs(3 * 24 * 3600),
            channels: Vec::new(),
            rules: Vec::new(),
        }
    }
}

/// How consumer lag is judged (Burrow-style status over a window of polls).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct LagConfig {
    /// How far back the status looks: STALL/STOP need offsets standing still this long.
    #[serde(with = "duration_text")]
    pub window: Duration,
    /// Fewest polls a window needs before it can raise WARN, STALL or STOP.
    pub min_samples: usize,
    /// How often every group partition's lag is written to history (groups and group/topic
    /// totals are written every poll).
    #[serde(with = "duration_text")]
    pub partition_sample_interval: Duration,
}

impl Default for LagConfig {
    fn default() -> Self {
        LagConfig {
            window: Duration::from_secs(600),
            min_samples: 5,
            partition_sample_interval: Duration::from_secs(300),
        }
    }
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Address the HTTP server binds.
    pub listen: SocketAddr,
    /// Longest time one HTTP request may take before it is answered 408.
    #[serde(with = "duration_text")]
    pub request_timeout: Duration,
    /// Serve `/static/…` from this folder instead of the copies built into the binary.
    pub static_dir: Option<std::path::PathBuf>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseConfig {
    /// `sqlite://PATH`, `postgres://…` or `mysql://…`; the password is never logged or printed.
    pub url: Secret,
    pub max_connections: u32,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct HistoryConfig {
    /// How long per-poll samples are kept.
    #[serde(with = "duration_text")]
    pub retention: Duration,
    /// How long 1-minute rollups (and per-topic samples) are kept.
    #[serde(with = "duration_text")]
    pub minute_retention: Duration,
    /// How long 1-hour rollups are kept.
    #[serde(with = "duration_text")]
    pub hour_retention: Duration,
    /// How often per-topic samples are written (cluster-wide samples are written every poll).
    #[serde(with = "duration_text")]
    pub topic_sample_interval: Duration,
}

#[derive(Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ClusterConfig {
    /// Short name used in URLs and history: letters, digits, `.`, `_` and `-`.
    pub name: String,
    pub kind: ClusterKind,
    /// Kafka: comma-separated `host:port` list.
    #[serde(default)]
    pub bootstrap_servers: String,
    /// RabbitMQ: the management API, e.g. `http://rabbit1:15672`.
    #[serde(default)]
    pub management_url: Option<String>,
    /// RabbitMQ: a management user (the `monitoring` tag is enough to read).
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub password: Option<Secret>,
    /// RabbitMQ over HTTPS: a PEM file of certificate authorities to trust besides the public
    /// roots (a management API behind a private CA).
    #[serde(default)]
    pub tls_ca_file: Option<String>,
    /// RocketMQ: the name servers, `host:9876;host2:9876`.
    #[serde(default)]
    pub namesrv_addrs: Option<String>,
    /// RocketMQ with ACL: the access key and its secret key (`${ENV}` allowed in the secret).
    #[serde(default)]
    pub access_key: Option<String>,
    #[serde(default)]
    pub secret_key: Option<Secret>,
    /// Per broker id, a Prometheus endpoint with its JMX metrics (the JMX exporter agent; for
    /// RabbitMQ, per node name such as `rabbit@host`, the prometheus plugin).
    #[serde(default)]
    pub metrics_urls: BTreeMap<String, String>,
    /// Per broker id, a Jolokia agent's URL (`http://b1:8778/jolokia/`).
    #[serde(default)]
    pub jolokia_urls: BTreeMap<String, String>,
    #[serde(with = "duration_text", default = "defaults::poll_interval")]
    pub poll_interval: Duration,
    /// Longest time one poll may take; a slower poll counts as a failure. Unset, it follows
    /// `poll_interval`: 80 % of it, at most 8 s ([`Config::load`] derives it; serde alone fills
    /// in the value for the default interval).
    #[serde(with = "duration_text", default = "defaults::poll_timeout")]
    pub poll_timeout: Duration,
    /// How often topic configurations are re-read (they change rarely and are costly to list).
    #[serde(with = "duration_text", default = "defaults::config_refresh_interval")]
    pub config_refresh_interval: Duration,
    /// Passed through to the Kafka client (librdkafka), e.g. `security.protocol`, `sasl.*`.
    #[serde(default)]
    pub properties: BTreeMap<String, String>,
    /// Refuse every change to this cluster from Osprey (sending, resets, topic changes).
    #[serde(default)]
    pub read_only: bool,
}

impl ClusterConfig {
    /// A Kafka cluster at `bootstrap_servers` with every other key at its default.
    pub fn kafka(name: &str, bootstrap_servers: &str) -> ClusterConfig {
        ClusterConfig {
            name: name.into(),
            kind: ClusterKind::Kafka,
            bootstrap_servers: bootstrap_servers.into(),
            management_url: None,
            username: None,
            password: None,
            tls_ca_file: None,
            namesrv_addrs: None,
            access_key: None,
            secret_key: None,
            metrics_urls: BTreeMap::new(),
            jolokia_urls: BTreeMap::new(),
            poll_interval: defaults::poll_interval(),
            poll_timeout: defaults::poll_timeout(),
            config_refresh_interval: defaults::config_refresh_interval(),
            properties: BTreeMap::new(),
            read_only: false,
        }
    }
}

impl fmt::Debug for ClusterConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let properties: BTreeMap<&str, &str> =
            self.properties.iter().map(|(k, v)| (k.as_str(), redact_property(k, v))).collect();
        f.debug_struct("ClusterConfig")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("bootstrap_servers", &self.bootstrap_servers)
            .field("management_url", &self.management_url)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| REDACTED))
            .field("tls_ca_file", &self.tls_ca_file)
            .field("namesrv_addrs", &self.namesrv_addrs)
            .field("access_key", &self.access_key)
            .field("secret_key", &self.secret_key.as_ref().map(|_| REDACTED))
            .field("metrics_urls", &self.metrics_urls)
            .field("jolokia_urls", &self.jolokia_urls)
            .field("poll_interval", &self.poll_interval)
            .field("poll_timeout", &self.poll_timeout)
            .field("config_refresh_interval", &self.config_refresh_interval)
            .field("properties", &properties)
            .field("read_only", &self.read_only)
            .finish()
    }
}

/// Client properties whose values are credentials.
fn is_secret_property(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    ["password", "secret", "jaas", "token", "private", ".key.pem", "ssl.key"]
        .iter()
        .any(|needle| key.contains(needle))
}

fn redact_property<'a>(key: &str, value: &'a str) -> &'a str {
    if is_secret_property(key) { REDACTED } else { value }
}

mod defaults {
    use std::time::Duration;

    pub fn poll_interval() -> Duration {
        Duration::from_secs(10)
    }
    /// `poll_timeout` for the default `poll_interval`.
    pub fn poll_timeout() -> Duration {
        poll_timeout_for(poll_interval())
    }
    /// `poll_timeout` when it is not set: 80 % of the interval, at most 8 s.
    pub fn poll_timeout_for(poll_interval: Duration) -> Duration {
        (poll_interval / 5 * 4).min(Duration::from_secs(8))
    }
    /// `alerts.retry_max` when it is not set: 10 min, or `retry_initial` when that is longer.
    pub fn retry_max_for(retry_initial: Duration) -> Duration {
        retry_initial.max(Duration::from_secs(600))
    }
    pub fn config_refresh_interval() -> Duration {
        Duration::from_secs(300)
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 8048)),
            request_timeout: Duration::from_secs(30),
            static_dir: None,
        }
    }
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        DatabaseConfig { url: Secret::new("sqlite://data/osprey.db"), max_connections: 8 }
    }
}

impl Default for HistoryConfig {
    fn default() -> Self {
        HistoryConfig {
            retention: Duration::from_secs(2 * 24 * 3600),
            minute_retention: Duration::from_secs(14 * 24 * 3600),
            hour_retention: Duration::from_secs(365 * 24 * 3600),
            topic_sample_interval: Duration::from_secs(60),
        }
    }
}

/// A configuration problem, always naming the key it is about.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {message}")]
    Read { path: String, message: String },
    #[error("config file {path} is not valid TOML: {message}")]
    Syntax { path: String, message: String },
    #[error("config key `{key}`: {message}")]
    Key { key: String, message: String },
}

fn key_error(key: impl Into<String>, message: impl Into<String>) -> ConfigError {
    ConfigError::Key { key: key.into(), message: message.into() }
}

/// Keys whose default follows another key, and which of them the file and the environment
/// left out. Serde can only fill in a fixed default, so these are derived after it has read
/// the keys they follow; a value that was set is kept as it is and validated.
struct UnsetDerived {
    /// `alerts.retry_max`: follows `alerts.retry_initial`.
    retry_max: bool,
    /// `clusters[i].poll_timeout`, per cluster: follows the cluster's `poll_interval`.
    poll_timeout: Vec<bool>,
}

impl UnsetDerived {
    fn of(table: &toml::Table) -> UnsetDerived {
        let unset = |value: &toml::Value, key: &str| {
            !value.as_table().is_some_and(|table| table.contains_key(key))
        };
        UnsetDerived {
            retry_max: table.get("alerts").is_none_or(|alerts| unset(alerts, "retry_max")),
            poll_timeout: match table.get("clusters") {
                Some(toml::Value::Array(clusters)) => {
                    clusters.iter().map(|cluster| unset(cluster, "poll_timeout")).collect()
                }
                _ => Vec::new(),
            },
        }
    }

    fn derive(&self, config: &mut Config) {
        if self.retry_max {
            config.alerts.retry_max = defaults::retry_max_for(config.alerts.retry_initial);
        }
        for (cluster, &unset) in config.clusters.iter_mut().zip(&self.poll_timeout) {
            if unset {
                cluster.poll_timeout = defaults::poll_timeout_for(cluster.poll_interval);
            }
        }
    }
}

impl Config {
    /// Loads defaults, then `path` (when given), then every `OSPREY__…` variable of `env`.
    pub fn load(
        path: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Config, ConfigError> {
        let env: Vec<(String, String)> = env.into_iter().collect();
        let mut table = match path {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Read {
                    path: path.display().to_string(),
                    message: e.to_string(),
                })?;
                parse_toml(&text).map_err(|message| ConfigError::Syntax {
                    path: path.display().to_string(),
                    message,
                })?
            }
            None => toml::Table::new(),
        };
        apply_env_overrides(&mut table, env.iter().cloned())?;
        let config = Self::from_table(table)?;
        config.check_env_references(|name| env.iter().any(|(k, _)| k == name))?;
        Ok(config)
    }

    /// Every `${NAME}` a channel reads must be set when Osprey starts (it is read again, fresh,
    /// at each delivery).
    pub fn check_env_references(&self, is_set: impl Fn(&str) -> bool) -> Result<(), ConfigError> {
        for (i, channel) in self.alerts.channels.iter().enumerate() {
            if let Some((key, name)) =
                channel.env_references().into_iter().find(|(_, name)| !is_set(name))
            {
                return Err(key_error(
                    format!("alerts.channels[{i}].{key}"),
                    format!("environment variable {name} is not set"),
                ));
            }
        }
        Ok(())
    }

    /// Parses and validates configuration text (no environment overrides).
    pub fn from_toml_str(text: &str) -> Result<Config, ConfigError> {
        let table = parse_toml(text)
            .map_err(|message| ConfigError::Syntax { path: "<text>".into(), message })?;
        Self::from_table(table)
    }

    fn from_table(table: toml::Table) -> Result<Config, ConfigError> {
        let unset = UnsetDerived::of(&table);
        let mut config: Config = serde_path_to_error::deserialize(toml::Value::Table(table))
            .map_err(|e| {
                let key = e.path().to_string();
                let message = e.into_inner().to_string();
                // toml appends "in `section`" on a second line; the key already says where.
                let message = message.lines().next().unwrap_or_default().trim().to_owned();
                key_error(if key == "." { "(top level)".into() } else { key }, message)
            })?;
        unset.derive(&mut config);
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let url = self.database.url.expose();
        let scheme = url.split("://").next().unwrap_or_default();
        if !url.contains("://")
            || !matches!(scheme, "sqlite" | "postgres" | "postgresql" | "mysql" | "mariadb")
        {
            return Err(key_error(
                "database.url",
                "must start with sqlite://, postgres:// or mysql://",
            ));
        }
        if self.database.max_connections == 0 {
            return Err(key_error("database.max_connections", "must be at least 1"));
        }
        if self.history.retention < Duration::from_secs(3600) {
            return Err(key_error("history.retention", "must be at least 1h"));
        }
        if self.history.minute_retention < Duration::from_secs(24 * 3600) {
            return Err(key_error("history.minute_retention", "must be at least 1d"));
        }
        if self.history.hour_retention < Duration::from_secs(7 * 24 * 3600) {
            return Err(key_error("history.hour_retention", "must be at least 7d"));
        }
        if self.lag.window < Duration::from_secs(1) {
            return Err(key_error("lag.window", "must be at least 1s"));
        }
        if let Some(name) = &self.auth.initial_admin {
            if !crate::domain::is_valid_name(name) {
                return Err(key_error(
                    "auth.initial_admin",
                    "use 1-64 letters, digits, '.', '_' or '-'",
                ));
            }
            if self.auth.initial_admin_password.is_none() {
                return Err(key_error(
                    "auth.initial_admin_password",
                    "is needed with initial_admin",
                ));
            }
        }
        if self.auth.session_ttl < Duration::from_secs(60) {
            return Err(key_error("auth.session_ttl", "must be at least 1m"));
        }
        if self.auth.max_login_failures == 0 {
            return Err(key_error("auth.max_login_failures", "must be at least 1"));
        }
        if self.lag.min_samples < 2 {
            return Err(key_error("lag.min_samples", "must be at least 2"));
        }
        self.validate_alerts()?;
        let mut seen = std::collections::BTreeSet::new();
        for (i, cluster) in self.clusters.iter().enumerate() {
            let key = |field: &str| format!("clusters[{i}].{field}");
            if !crate::domain::is_valid_name(&cluster.name) {
                return Err(key_error(
                    key("name"),
                    format!(
                        "{:?} is not a valid name: use 1-64 letters, digits, '.', '_' or '-'",
                        cluster.name
                    ),
                ));
            }
            if !seen.insert(cluster.name.as_str()) {
                return Err(key_error(key("name"), format!("{:?} is used twice", cluster.name)));
            }
            let servers: Vec<&str> = cluster.bootstrap_servers.split(',').map(str::trim).collect();
            if cluster.kind == ClusterKind::Rabbitmq {
                let url = cluster.management_url.as_deref().unwrap_or_default();
                if !url::Url::parse(url).is_ok_and(|u| matches!(u.scheme(), "http" | "https")) {
                    return Err(key_error(
                        key("management_url"),
                        format!("{url:?} is not the http(s) URL of the management API"),
                    ));
                }
                if cluster.username.is_none() || cluster.password.is_none() {
                    return Err(key_error(
                        key("username"),
                        "RabbitMQ clusters need username and password",
                    ));
                }
            } else if cluster.kind == ClusterKind::Rocketmq {
                let addrs = cluster.namesrv_addrs.as_deref().unwrap_or_default();
                let addrs: Vec<&str> =
                    addrs.split(';').map(str::trim).filter(|a| !a.is_empty()).collect();
                if addrs.is_empty() || addrs.iter().any(|a| !is_host_port(a)) {
                    return Err(key_error(
                        key("namesrv_addrs"),
                        "RocketMQ clusters need namesrv_addrs (host:9876;host2:9876)",
                    ));
                }
                if cluster.access_key.is_some() != cluster.secret_key.is_some() {
                    return Err(key_error(
                        key("access_key"),
                        "access_key and secret_key go together",
                    ));
                }
            } else if cluster.bootstrap_servers.trim().is_empty() {
                return Err(key_error(
                    key("bootstrap_servers"),
                    "Kafka clusters need bootstrap_servers (host:port, …)",
                ));
            } else if servers.iter().any(|s| !is_host_port(s)) {
                return Err(key_error(
                    key("bootstrap_servers"),
                    format!("{:?} is not a list of host:port", cluster.bootstrap_servers),
                ));
            }
            for (field, urls) in
                [("metrics_urls", &cluster.metrics_urls), ("jolokia_urls", &cluster.jolokia_urls)]
            {
                for (broker, url) in urls {
                    if cluster.kind.broker_key(broker).is_none() {
                        return Err(key_error(
                            key(field),
                            format!(
                                "{broker:?} is not a broker id (the keys are broker ids; on RabbitMQ also node names)"
                            ),
                        ));
                    }
                    if !url::Url::parse(url).is_ok_and(|u| matches!(u.scheme(), "http" | "https")) {
                        return Err(key_error(
                            key(&format!("{field}.{broker}")),
                            format!("{url:?} is not an http(s) URL"),
                        ));
                    }
                }
            }
            if cluster.poll_interval < Duration::from_secs(1) {
                return Err(key_error(key("poll_interval"), "must be at least 1s"));
            }
            if cluster.poll_timeout.is_zero() || cluster.poll_timeout > cluster.poll_interval {
                return Err(key_error(
                    key("poll_timeout"),
                    "must be more than 0s and at most poll_interval",
                ));
            }
        }
        Ok(())
    }

    fn validate_alerts(&self) -> Result<(), ConfigError> {
        let alerts = &self.alerts;
        if let Some(url) = &alerts.public_url
            && !url::Url::parse(url).is_ok_and(|u| matches!(u.scheme(), "http" | "https"))
        {
            return Err(key_error("alerts.public_url", format!("{url:?} is not an http(s) URL")));
        }
        if alerts.retry_initial < Duration::from_millis(100) {
            return Err(key_error("alerts.retry_initial", "must be at least 100ms"));
        }
        if alerts.retry_max < alerts.retry_initial {
            return Err(key_error("alerts.retry_max", "must be at least retry_initial"));
        }
        if alerts.give_up_after < Duration::from_secs(60) {
            return Err(key_error("alerts.give_up_after", "must be at least 1m"));
        }
        let mut names = std::collections::BTreeSet::new();
        for (i, channel) in alerts.channels.iter().enumerate() {
            channel
                .validate()
                .map_err(|e| key_error(format!("alerts.channels[{i}].{}", e.field), e.message))?;
            if !names.insert(channel.name.as_str()) {
                return Err(key_error(
                    format!("alerts.channels[{i}].name"),
                    format!("{:?} is used twice", channel.name),
                ));
            }
        }
        let mut rules = std::collections::BTreeSet::new();
        for (i, rule) in alerts.rules.iter().enumerate() {
            rule.validate(|c| names.contains(c))
                .map_err(|e| key_error(format!("alerts.rules[{i}].{}", e.field), e.message))?;
            if !rules.insert(rule.name.as_str()) {
                return Err(key_error(
                    format!("alerts.rules[{i}].name"),
                    format!("{:?} is used twice", rule.name),
                ));
            }
        }
        Ok(())
    }

    /// The configuration shipped as `osprey.example.toml`: defaults plus one local cluster.
    pub fn example() -> Config {
        Config {
            clusters: vec![ClusterConfig::kafka("local", "127.0.0.1:9092")],
            ..Config::default()
        }
    }

    /// Every key with its value and a comment, as TOML that [`Config::load`] reads back.
    /// Credentials are redacted.
    pub fn render_commented(&self) -> String {
        let mut out = String::new();
        let mut line = |s: &str| {
            out.push_str(s);
            out.push('\n');
        };
        let q = |s: &str| toml::Value::String(s.to_owned()).to_string();
        let d = |d: Duration| q(&duration_text::format(d));
        line("# Osprey configuration. Every key may be overridden by an environment variable:");
        line(
            "# OSPREY__SECTION__KEY, e.g. OSPREY__SERVER__LISTEN or OSPREY__CLUSTERS__0__POLL_INTERVAL.",
        );
        line("");
        line("[server]");
        line("# Address the web server binds (pages, /api/v1, /healthz, /readyz).");
        line(&format!("listen = {}", q(&self.server.listen.to_string())));
        line("# Longest time one HTTP request may take.");
        line(&format!("request_timeout = {}", d(self.server.request_timeout)));
        line(
            "# Serve /static from this folder instead of the files built into the binary (UI work).",
        );
        match &self.server.static_dir {
            Some(dir) => line(&format!("static_dir = {}", q(&dir.display().to_string()))),
            None => line("# static_dir = \"static\""),
        }
        line("");
        line("[database]");
        line(
            "# History store: sqlite://PATH (created if missing), postgres://USER:PASS@HOST/DB or",
        );
        line("# mysql://USER:PASS@HOST/DB (MySQL or MariaDB). Migrations run at start-up.");
        line(&format!("url = {}", q(&self.database.url.redacted())));
        line("# Connections in the pool.");
        line(&format!("max_connections = {}", self.database.max_connections));
        line("");
        line("[history]");
        line(
            "# History is kept per poll, then rolled up into 1-minute and 1-hour buckets; each level",
        );
        line(
            "# has its own retention. Charts read per-poll samples for 1 h, 1-minute rollups for 24 h and",
        );
        line("# 1-hour rollups for 7 d.");
        line("# How long per-poll samples are kept.");
        line(&format!("retention = {}", d(self.history.retention)));
        line("# How long 1-minute rollups (and per-topic samples) are kept.");
        line(&format!("minute_retention = {}", d(self.history.minute_retention)));
        line("# How long 1-hour rollups are kept.");
        line(&format!("hour_retention = {}", d(self.history.hour_retention)));
        line("# How often per-topic samples (end offsets, messages/s) are written.");
        line(&format!("topic_sample_interval = {}", d(self.history.topic_sample_interval)));
        line("");
        line("[lag]");
        line(
            "# Consumer-group status (OK, WARN, STALL, STOP, REWIND) looks back this far; a group whose",
        );
        line(
            "# committed offsets stand still this long while it lags is STALL (a consumer owns the",
        );
        line("# partition) or STOP (none does).");
        line(&format!("window = {}", d(self.lag.window)));
        line(
            "# Fewest polls in the window before WARN, STALL or STOP can be raised (thin data is OK).",
        );
        line(&format!("min_samples = {}", self.lag.min_samples));
        line(
            "# How often each group partition's lag goes to history (group totals go every poll).",
        );
        line(&format!("partition_sample_interval = {}", d(self.lag.partition_sample_interval)));
        line("");
        self.render_auth(&mut line);
        line("");
        self.render_alerts(&mut line);
        for cluster in &self.clusters {
            line("");
            line("[[clusters]]");
            line("# Short name used in URLs: letters, digits, '.', '_' and '-'.");
            line(&format!("name = {}", q(&cluster.name)));
            line("# kafka, rabbitmq or rocketmq.");
            line(&format!("kind = {}", q(cluster.kind.as_str())));
            match cluster.kind {
                ClusterKind::Kafka => {
                    line("# Comma-separated host:port list.");
                    line(&format!("bootstrap_servers = {}", q(&cluster.bootstrap_servers)));
                    line(
                        "# (A RabbitMQ cluster has kind = \"rabbitmq\", management_url, username and",
                    );
                    line(
                        "# password instead; a RocketMQ cluster kind = \"rocketmq\" and namesrv_addrs.)",
                    );
                }
                ClusterKind::Rabbitmq => {
                    line("# The management API and a user that may read it.");
                    let url = cluster.management_url.as_deref().unwrap_or_default();
                    line(&format!("management_url = {}", q(url)));
                    line(&format!(
                        "username = {}",
                        q(cluster.username.as_deref().unwrap_or_default())
                    ));
                    let password = cluster.password.as_ref().map_or(String::new(), printable);
                    line(&format!("password = {}", q(&password)));
                    line("# HTTPS behind a private CA: trust this PEM file too.");
                    match &cluster.tls_ca_file {
                        Some(file) => line(&format!("tls_ca_file = {}", q(file))),
                        None => line("# tls_ca_file = \"/etc/ssl/rabbit-ca.pem\""),
                    }
                }
                ClusterKind::Rocketmq => {
                    line("# The name servers, separated by ';'.");
                    let addrs = cluster.namesrv_addrs.as_deref().unwrap_or_default();
                    line(&format!("namesrv_addrs = {}", q(addrs)));
                    line("# With ACL enabled: the access key and its secret (${ENV} allowed).");
                    match (&cluster.access_key, &cluster.secret_key) {
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
            }
            line("# Time between two polls; missed ticks are skipped, never queued.");
            line(&format!("poll_interval = {}", d(cluster.poll_interval)));
            line("# A poll that takes longer fails; the cluster is then shown as unreachable.");
            line("# Unset, it follows poll_interval: 80 % of it, at most 8s.");
            let derived = cluster.poll_timeout == defaults::poll_timeout_for(cluster.poll_interval);
            line(&unless_derived(derived, format!("poll_timeout = {}", d(cluster.poll_timeout))));
            line("# How often topic configurations are re-read.");
            line(&format!("config_refresh_interval = {}", d(cluster.config_refresh_interval)));
            line(
                "# Refuse every change to this cluster from Osprey (sends, resets, topic changes).",
            );
            line(&format!("read_only = {}", cluster.read_only));
            line(
                "# JMX-like broker metrics over HTTP, per broker id: a Prometheus endpoint (the JMX",
            );
            line(
                "# exporter agent; RabbitMQ's prometheus plugin per node name) or a Jolokia agent.",
            );
            let table = |urls: &BTreeMap<String, String>| {
                let entries: Vec<String> =
                    urls.iter().map(|(id, url)| format!("{} = {}", q(id), q(url))).collect();
                format!("{{ {} }}", entries.join(", "))
            };
            if cluster.metrics_urls.is_empty() {
                line("# metrics_urls = { \"1\" = \"http://b1:7071/metrics\" }");
            } else {
                line(&format!("metrics_urls = {}", table(&cluster.metrics_urls)));
            }
            if cluster.jolokia_urls.is_empty() {
                line("# jolokia_urls = { \"1\" = \"http://b1:8778/jolokia/\" }");
            } else {
                line(&format!("jolokia_urls = {}", table(&cluster.jolokia_urls)));
            }
            line("# Passed to the Kafka client (librdkafka), e.g. for SASL/TLS clusters:");
            line("#   \"security.protocol\" = \"SASL_SSL\"");
            line("#   \"sasl.mechanism\" = \"SCRAM-SHA-512\"");
            line("#   \"sasl.username\" = \"osprey\"");
            line("#   \"sasl.password\" = \"…\"");
            line("[clusters.properties]");
            for (key, value) in &cluster.properties {
                line(&format!("{} = {}", q(key), q(redact_property(key, value))));
            }
        }
        out
    }
}

impl Config {
    fn render_auth(&self, line: &mut impl FnMut(&str)) {
        let q = |s: &str| toml::Value::String(s.to_owned()).to_string();
        let d = |d: Duration| q(&duration_text::format(d));
        let auth = &self.auth;
        let secret = |s: &Secret| {
            let text = s.expose();
            if text.trim().starts_with("${") { q(text) } else { q(REDACTED) }
        };
        line("[auth]");
        line("# Roles: viewer (reads), operator (sends test messages, browses, resets offsets,");
        line(
            "# silences alerts), admin (creates and deletes, configures alerting, manages users).",
        );
        line("# Let visitors who are not logged in read the pages and the read-only API.");
        line(&format!("anonymous_read = {}", auth.anonymous_read));
        line("# A login lasts this long without being used.");
        line(&format!("session_ttl = {}", d(auth.session_ttl)));
        line(
            "# With no user yet, Osprey creates this admin at start-up; without it, the log prints a",
        );
        line("# one-time setup link for the first admin. There is no default password.");
        match &auth.initial_admin {
            Some(name) => line(&format!("initial_admin = {}", q(name))),
            None => line("# initial_admin = \"admin\""),
        }
        match &auth.initial_admin_password {
            Some(password) => line(&format!("initial_admin_password = {}", secret(password))),
            None => line("# initial_admin_password = \"${OSPREY_ADMIN_PASSWORD}\""),
        }
        line("# Prometheus may scrape /metrics with this bearer token when reading needs a login.");
        match &auth.metrics_token {
            Some(token) => line(&format!("metrics_token = {}", secret(token))),
            None => line("# metrics_token = \"${OSPREY_METRICS_TOKEN}\""),
        }
        line("# After this many failed logins for one user from one address, further attempts are");
        line("# refused for login_lockout.");
        line(&format!("max_login_failures = {}", auth.max_login_failures));
        line(&format!("login_lockout = {}", d(auth.login_lockout)));
    }

    fn render_alerts(&self, line: &mut impl FnMut(&str)) {
        let q = |s: &str| toml::Value::String(s.to_owned()).to_string();
        let d = |d: Duration| q(&duration_text::format(d));
        let alerts = &self.alerts;
        line("[alerts]");
        line(
            "# Osprey's address as readers of a notice reach it; notices link to the group's page.",
        );
        match &alerts.public_url {
            Some(url) => line(&format!("public_url = {}", q(url))),
            None => line("# public_url = \"https://osprey.example.com\""),
        }
        line("# A failed delivery is retried after retry_initial, doubling up to retry_max, until");
        line(
            "# give_up_after has passed since the notice; every attempt is shown on the Alerts page.",
        );
        line(&format!("retry_initial = {}", d(alerts.retry_initial)));
        line("# Unset, retry_max is 10m, or retry_initial when that is longer.");
        let derived = alerts.retry_max == defaults::retry_max_for(alerts.retry_initial);
        line(&unless_derived(derived, format!("retry_max = {}", d(alerts.retry_max))));
        line(&format!("give_up_after = {}", d(alerts.give_up_after)));
        line("#");
        line(
            "# Channels and rules below are written to the database at start-up and can be edited",
        );
        line(
            "# in the UI; a later change here wins over an edit made in the UI. Any string may read",
        );
        line(
            "# an environment variable as ${NAME} (at each delivery; never stored in the database).",
        );
        line("#");
        if alerts.channels.is_empty() {
            for example in EXAMPLE_CHANNELS.lines() {
                line(format!("# {example}").trim_end());
            }
        }
        for channel in &alerts.channels {
            line("[[alerts.channels]]");
            render_entry(line, &channel.redacted());
        }
        if alerts.rules.is_empty() {
            for example in EXAMPLE_RULES.lines() {
                line(format!("# {example}").trim_end());
            }
        }
        for rule in &alerts.rules {
            line("[[alerts.rules]]");
            render_entry(line, rule);
        }
    }
}

/// A key whose value is what it would be derived as is printed commented out, so that a copy
/// of the rendering keeps following the key it derives from (`poll_interval = "2s"` alone
/// then brings `poll_timeout` down with it).
fn unless_derived(derived: bool, key_value: String) -> String {
    if derived { format!("# {key_value}") } else { key_value }
}

/// One `[[…]]` entry's keys, one per line, in declaration order.
fn render_entry(line: &mut impl FnMut(&str), entry: &impl serde::Serialize) {
    if let Ok(toml::Value::Table(table)) = toml::Value::try_from(entry) {
        for (key, value) in table {
            let key = if key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                key
            } else {
                toml::Value::String(key).to_string()
            };
            line(&format!("{key} = {value}"));
        }
    }
}

const EXAMPLE_CHANNELS: &str = r#"[[alerts.channels]]
name = "oncall"
kind = "email"                    # or "webhook"
smtp_host = "smtp.example.com"
smtp_port = 587                   # default: 465 with tls, 587 with starttls, 25 with none
tls = "starttls"                  # "tls" | "starttls" | "none"
# tls_ca_file = "/etc/ssl/private-ca.pem"  # trust a private CA (relays inside the company)
username = "osprey"
password = "${SMTP_PASSWORD}"
from = "osprey@example.com"
to = ["oncall@example.com"]
timeout = "10s"

[[alerts.channels]]
name = "chat"
kind = "webhook"
url = "https://hooks.slack.com/services/T000/B000/XXXX"
format = "slack"                  # "generic" | "slack" | "dingtalk" | "wecom" | "feishu"
secret = "${WEBHOOK_SECRET}"      # optional: HMAC signature (generic, dingtalk, feishu)
headers = { "X-Team" = "data" }   # optional
"#;

const EXAMPLE_RULES: &str = r#"[[alerts.rules]]
name = "billing-lag"
# consumer_lag | consumer_lag_seconds | consumer_status | cluster_down | broker_down |
# under_replicated | offline_partitions | queue_backlog | queue_backlog_growing |
# queue_no_consumers | node_alarm
kind = "consumer_lag"
cluster = "prod"                  # names or patterns: "*", "prod-*", "a,b"
group = "billing"
# topic = "orders"                # optional: alert per (group, topic)
threshold = 10000                 # lag rules; status = "STALL" for consumer_status
for = "2m"                        # the condition must hold this long ...
# for_polls = 3                   # ... and/or for this many polls in a row
repeat_interval = "1h"            # reminders while it keeps firing
severity = "critical"             # info | warning | critical
channels = ["oncall", "chat"]
"#;

fn parse_toml(text: &str) -> Result<toml::Table, String> {
    text.parse::<toml::Table>().map_err(|e| e.to_string().trim_end().replace('\n', " "))
}

/// A secret as printed config shows it: `${ENV}` references as they are, values redacted.
fn printable(secret: &Secret) -> String {
    if secret.expose().trim().starts_with("${") {
        secret.expose().to_owned()
    } else {
        REDACTED.into()
    }
}

fn is_host_port(s: &str) -> bool {
    match s.rsplit_once(':') {
        Some((host, port)) => !host.is_empty() && port.parse::<u16>().is_ok_and(|p| p > 0),
        None => false,
    }
}

/// Applies `OSPREY__A__B=value` as `a.b = value`; a numeric segment indexes an array
/// (`OSPREY__CLUSTERS__0__NAME`). The value is read as a TOML value when it is one
/// (`8`, `true`), else as a string (`10s`, `127.0.0.1:8048`).
fn apply_env_overrides(
    table: &mut toml::Table,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<(), ConfigError> {
    let mut vars: Vec<(String, String)> =
        env.into_iter().filter(|(k, _)| k.starts_with(ENV_PREFIX)).collect();
    vars.sort();
    for (name, raw) in vars {
        let path: Vec<String> =
            name[ENV_PREFIX.len()..].split("__").map(|s| s.to_ascii_lowercase()).collect();
        if path.iter().any(String::is_empty) {
            return Err(key_error(name, "empty segment in variable name"));
        }
        let value = format!("v = {raw}")
            .parse::<toml::Table>()
            .ok()
            .and_then(|mut t| t.remove("v"))
            .unwrap_or(toml::Value::String(raw));
        set_path(table, &path, value).map_err(|message| key_error(name, message))?;
    }
    Ok(())
}

fn set_path(table: &mut toml::Table, path: &[String], value: toml::Value) -> Result<(), String> {
    let (first, rest) = path.split_first().ok_or("empty path")?;
    if rest.is_empty() {
        table.insert(first.clone(), value);
        return Ok(());
    }
    let slot = table.entry(first.clone()).or_insert_with(|| new_container(&rest[0]));
    set_in_value(slot, rest, value)
}

fn new_container(next_segment: &str) -> toml::Value {
    if next_segment.parse::<usize>().is_ok() {
        toml::Value::Array(Vec::new())
    } else {
        toml::Value::Table(toml::Table::new())
    }
}

fn set_in_value(slot: &mut toml::Value, path: &[String], value: toml::Value) -> Result<(), String> {
    match slot {
        toml::Value::Table(t) => set_path(t, path, value),
        toml::Value::Array(items) => {
            let (index, rest) = path.split_first().ok_or("empty path")?;
            let index: usize =
                index.parse().map_err(|_| format!("{index:?} is not an array index"))?;
            if index > items.len() {
                return Err(format!("index {index} skips entries (there are {})", items.len()));
            }
            if index == items.len() {
                items.push(match rest.first() {
                    Some(next) => new_container(next),
                    None => value.clone(),
                });
            }
            if rest.is_empty() {
                items[index] = value;
                Ok(())
            } else {
                set_in_value(&mut items[index], rest, value)
            }
        }
        _ => Err("overrides a plain value with a table".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn load_text(text: &str, vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let mut table = parse_toml(text).unwrap();
        apply_env_overrides(&mut table, env(vars))?;
        Config::from_table(table)
    }

    const ONE_CLUSTER: &str = r#"
        [[clusters]]
        name = "prod"
        kind = "kafka"
        bootstrap_servers = "b1:9092,b2:9092"
        poll_interval = "10s"
        [clusters.properties]
        "security.protocol" = "SASL_SSL"
        "sasl.password" = "hunter2"
    "#;

    #[test]
    fn defaults_apply_when_keys_are_missing() {
        let config = Config::from_toml_str("").unwrap();
        assert_eq!(config, Config::default());
        assert_eq!(config.server.listen.to_string(), "127.0.0.1:8048");
        assert_eq!(config.database.url.expose(), "sqlite://data/osprey.db");
    }

    const ALERTS: &str = r#"
        [alerts]
        public_url = "https://osprey.example.com"
        [[alerts.channels]]
        name = "oncall"
        kind = "email"
        smtp_host = "smtp.example.com"
        username = "osprey"
        password = "${SMTP_PASSWORD}"
        from = "osprey@example.com"
        to = ["oncall@example.com"]
        [[alerts.rules]]
        name = "billing-lag"
        kind = "consumer_lag"
        group = "billing"
        threshold = 10000
        for = "2m"
        channels = ["oncall"]
    "#;

    #[test]
    fn alerts_read_with_rules_channels_and_env_references() {
        let config = load_text(ALERTS, &[]).unwrap();
        assert_eq!(config.alerts.rules[0].channels, ["oncall"]);
        assert_eq!(
            config.check_env_references(|_| false),
            Err(key_error(
                "alerts.channels[0].password",
                "environment variable SMTP_PASSWORD is not set"
            ))
        );
        assert_eq!(config.check_env_references(|n| n == "SMTP_PASSWORD"), Ok(()));
        let rendered = config.render_commented();
        assert!(rendered.contains("password = \"${SMTP_PASSWORD}\""), "references are not secret");
        assert_eq!(Config::from_toml_str(&rendered).unwrap().alerts, config.alerts);
    }

    #[test]
    fn alert_mistakes_name_the_key() {
        let err = |text: &str| match load_text(text, &[]) {
            Err(ConfigError::Key { key, .. }) => key,
            other => panic!("{other:?}"),
        };
        assert_eq!(err(&ALERTS.replace("threshold = 10000", "")), "alerts.rules[0].threshold");
        assert_eq!(
            err(&ALERTS.replace("channels = [\"oncall\"]", "channels = [\"pager\"]")),
            "alerts.rules[0].channels"
        );
        assert_eq!(err(&ALERTS.replace("smtp.example.com", "")), "alerts.channels[0].smtp_host");
        assert_eq!(err(&ALERTS.replace("https://osprey", "ftp://osprey")), "alerts.public_url");
        assert_eq!(err(&ALERTS.replace("for = \"2m\"", "for = \"soon\"")), "alerts.rules[0].for");
        let literal = ALERTS.replace("${SMTP_PASSWORD}", "hunter2");
        let rendered = load_text(&literal, &[]).unwrap().render_commented();
        assert!(!rendered.contains("hunter2") && rendered.contains("<redacted>"));
    }

    #[test]
    fn a_cluster_reads_with_its_properties() {
        let config = Config::from_toml_str(ONE_CLUSTER).unwrap();
        let cluster = &config.clusters[0];
        assert_eq!(cluster.name, "prod");
        assert_eq!(cluster.poll_interval, Duration::from_secs(10));
        assert_eq!(cluster.poll_timeout, Duration::from_secs(8));
        assert_eq!(cluster.properties["security.protocol"], "SASL_SSL");
    }

    #[test]
    fn environment_overrides_file_values_and_reaches_into_arrays() {
        let config = load_text(
            ONE_CLUSTER,
            &[
                ("OSPREY__SERVER__LISTEN", "0.0.0.0:9000"),
                ("OSPREY__DATABASE__MAX_CONNECTIONS", "3"),
                ("OSPREY__CLUSTERS__0__POLL_INTERVAL", "30s"),
                ("OSPREY__CLUSTERS__0__POLL_TIMEOUT", "20s"),
                ("UNRELATED", "x"),
            ],
        )
        .unwrap();
        assert_eq!(config.server.listen.to_string(), "0.0.0.0:9000");
        assert_eq!(config.database.max_connections, 3);
        assert_eq!(config.clusters[0].poll_interval, Duration::from_secs(30));
    }

    #[test]
    fn environment_alone_can_define_a_cluster() {
        let config = load_text(
            "",
            &[
                ("OSPREY__CLUSTERS__0__NAME", "dev"),
                ("OSPREY__CLUSTERS__0__KIND", "kafka"),
                ("OSPREY__CLUSTERS__0__BOOTSTRAP_SERVERS", "localhost:9092"),
            ],
        )
        .unwrap();
        assert_eq!(config.clusters[0].name, "dev");
    }

    #[test]
    fn errors_name_the_key_and_the_problem() {
        let cases: &[(&str, &str, &str)] = &[
            ("[server]\nlisten = \"nonsense\"", "server.listen", "invalid socket address"),
            ("[server]\nlisten_port = 1", "server.listen_port", "unknown field `listen_port`"),
            ("[database]\nurl = \"oracle://x\"", "database.url", "must start with"),
            (
                "[[clusters]]\nname='a'\nkind='kafka'\nbootstrap_servers='x:1'\npoll_interval='10x'",
                "clusters[0].poll_interval",
                "is not a duration",
            ),
            (
                "[[clusters]]\nname='a b'\nkind='kafka'\nbootstrap_servers='x:1'",
                "clusters[0].name",
                "not a valid name",
            ),
            (
                "[[clusters]]\nname='a'\nkind='pulsar'\nbootstrap_servers='x:1'",
                "clusters[0].kind",
                "unknown variant",
            ),
            (
                "[[clusters]]\nname='a'\nkind='kafka'\nbootstrap_servers='x'",
                "clusters[0].bootstrap_servers",
                "host:port",
            ),
            (
                "[[clusters]]\nname='a'\nkind='kafka'",
                "clusters[0].bootstrap_servers",
                "Kafka clusters need bootstrap_servers",
            ),
            (
                "[[clusters]]\nname='a'\nkind='kafka'\nbootstrap_servers='x:1'\n[[clusters]]\nname='a'\nkind='kafka'\nbootstrap_servers='x:1'",
                "clusters[1].name",
                "used twice",
            ),
            (
                "[[clusters]]\nname='a'\nkind='kafka'\nbootstrap_servers='x:1'\npoll_interval='5s'\npoll_timeout='6s'",
                "clusters[0].poll_timeout",
                "at most poll_interval",
            ),
            (
                "[[clusters]]\nname='a'\nkind='kafka'\nbootstrap_servers='x:1'\njolokia_urls={ one = 'http://b1:8778/jolokia/' }",
                "clusters[0].jolokia_urls",
                "not a broker id",
            ),
            (
                "[[clusters]]\nname='a'\nkind='kafka'\nbootstrap_servers='x:1'\nmetrics_urls={ 1 = 'b1:7071' }",
                "clusters[0].metrics_urls.1",
                "not an http(s) URL",
            ),
            (
                "[[clusters]]\nname='r'\nkind='rocketmq'\nnamesrv_addrs='ns1'",
                "clusters[0].namesrv_addrs",
                "namesrv_addrs",
            ),
        ];
        for (text, key, needle) in cases {
            match Config::from_toml_str(text) {
                Err(ConfigError::Key { key: k, message }) => {
                    assert_eq!(&k, key, "for {text:?}: {message}");
                    assert!(message.contains(needle), "for {text:?}: {message}");
                }
                other => panic!("expected an error about {key} for {text:?}, got {other:?}"),
            }
        }
    }

    #[test]
    fn durations_print_in_their_largest_whole_unit() {
        let f = |secs| duration_text::format(Duration::from_secs(secs));
        assert_eq!(f(365 * 86_400), "365d");
        assert_eq!(f(7_200), "2h");
        assert_eq!(f(90), "90s");
        assert_eq!(f(600), "10m");
        assert_eq!(duration_text::format(Duration::from_millis(250)), "250ms");
        assert_eq!(duration_text::parse("365d").unwrap(), Duration::from_secs(365 * 86_400));
    }

    #[test]
    fn broken_toml_is_a_syntax_error() {
        assert!(matches!(Config::from_toml_str("[server"), Err(ConfigError::Syntax { .. })));
    }

    #[test]
    fn bad_env_values_name_the_variable() {
        let err = load_text("", &[("OSPREY__SERVER__LISTEN", "here")]).unwrap_err();
        assert!(err.to_string().contains("server.listen"), "{err}");
    }

    #[test]
    fn secrets_are_redacted_in_debug_and_rendering() {
        let mut config = Config::from_toml_str(ONE_CLUSTER).unwrap();
        config.database.url = Secret::new("postgres://osprey:s3cret@db/osprey");
        let debug = format!("{config:?}");
        let rendered = config.render_commented();
        for text in [&debug, &rendered] {
            assert!(!text.contains("hunter2"), "{text}");
            assert!(!text.contains("s3cret"), "{text}");
            assert!(text.contains("SASL_SSL"), "{text}");
        }
    }

    #[test]
    fn rendering_reads_back_to_the_same_config() {
        let config = Config::from_toml_str(ONE_CLUSTER).unwrap();
        let mut expected = config.clone();
        expected.clusters[0].properties.insert("sasl.password".into(), REDACTED.into());
        assert_eq!(Config::from_toml_str(&config.render_commented()).unwrap(), expected);
    }

    fn kafka_cluster(keys: &str) -> String {
        format!("[[clusters]]\nname = 'a'\nkind = 'kafka'\nbootstrap_servers = 'x:1'\n{keys}")
    }

    fn refused_key(result: Result<Config, ConfigError>) -> String {
        match result {
            Err(ConfigError::Key { key, .. }) => key,
            other => panic!("expected a refused key, got {other:?}"),
        }
    }

    #[test]
    fn a_short_poll_interval_alone_brings_the_poll_timeout_down_with_it() {
        let config = Config::from_toml_str(&kafka_cluster("poll_interval = '2s'")).unwrap();
        assert_eq!(config.clusters[0].poll_timeout, Duration::from_millis(1600));
        let from_env =
            load_text(ONE_CLUSTER, &[("OSPREY__CLUSTERS__0__POLL_INTERVAL", "2s")]).unwrap();
        assert_eq!(from_env.clusters[0].poll_timeout, Duration::from_millis(1600));
    }

    #[test]
    fn an_explicit_poll_timeout_longer_than_the_interval_is_still_refused_naming_it() {
        let text = kafka_cluster("poll_interval = '5s'\npoll_timeout = '6s'");
        assert_eq!(refused_key(Config::from_toml_str(&text)), "clusters[0].poll_timeout");
        let from_env = load_text(
            &kafka_cluster("poll_interval = '5s'"),
            &[("OSPREY__CLUSTERS__0__POLL_TIMEOUT", "6s")],
        );
        assert_eq!(refused_key(from_env), "clusters[0].poll_timeout");
        let shorter = kafka_cluster("poll_interval = '5s'\npoll_timeout = '1s'");
        assert_eq!(Config::from_toml_str(&shorter).unwrap().clusters[0].poll_timeout.as_secs(), 1);
    }

    #[test]
    fn the_poll_timeout_is_still_eight_seconds_by_default_and_never_more_when_unset() {
        assert_eq!(ClusterConfig::kafka("a", "x:1").poll_timeout, Duration::from_secs(8));
        let default = Config::from_toml_str(&kafka_cluster("")).unwrap();
        assert_eq!(default.clusters[0], ClusterConfig::kafka("a", "x:1"));
        let slow = Config::from_toml_str(&kafka_cluster("poll_interval = '1m'")).unwrap();
        assert_eq!(slow.clusters[0].poll_timeout, Duration::from_secs(8));
    }

    #[test]
    fn a_long_retry_initial_alone_raises_retry_max_to_match() {
        let config = Config::from_toml_str("[alerts]\nretry_initial = '15m'").unwrap();
        assert_eq!(config.alerts.retry_max, Duration::from_secs(15 * 60));
        let from_env = load_text("", &[("OSPREY__ALERTS__RETRY_INITIAL", "15m")]).unwrap();
        assert_eq!(from_env.alerts.retry_max, Duration::from_secs(15 * 60));
        assert_eq!(AlertsConfig::default().retry_max, Duration::from_secs(600));
        let short = Config::from_toml_str("[alerts]\nretry_initial = '1m'").unwrap();
        assert_eq!(short.alerts.retry_max, Duration::from_secs(600));
    }

    #[test]
    fn an_explicit_retry_max_below_retry_initial_is_still_refused_naming_it() {
        let text = "[alerts]\nretry_initial = '15m'\nretry_max = '10m'";
        assert_eq!(refused_key(Config::from_toml_str(text)), "alerts.retry_max");
        let from_env =
            load_text("[alerts]\nretry_initial = '15m'", &[("OSPREY__ALERTS__RETRY_MAX", "10m")]);
        assert_eq!(refused_key(from_env), "alerts.retry_max");
    }

    #[test]
    fn derived_values_print_commented_out_and_set_ones_print_as_set() {
        let derived = Config::from_toml_str(&format!(
            "[alerts]\nretry_initial = '15m'\n{}",
            kafka_cluster("poll_interval = '2s'")
        ))
        .unwrap();
        let rendered = derived.render_commented();
        assert!(rendered.contains("\n# poll_timeout = \"1600ms\"\n"), "{rendered}");
        assert!(rendered.contains("\n# retry_max = \"15m\"\n"), "{rendered}");
        assert_eq!(Config::from_toml_str(&rendered).unwrap(), derived);

        let set = Config::from_toml_str(&format!(
            "[alerts]\nretry_max = '1h'\n{}",
            kafka_cluster("poll_interval = '2s'\npoll_timeout = '1s'")
        ))
        .unwrap();
        let rendered = set.render_commented();
        assert!(rendered.contains("\npoll_timeout = \"1s\"\n"), "{rendered}");
        assert!(rendered.contains("\nretry_max = \"1h\"\n"), "{rendered}");
        assert_eq!(Config::from_toml_str(&rendered).unwrap(), set);
    }

    #[test]
    fn the_shipped_example_is_the_rendering_of_the_example() {
        let shipped = include_str!("../osprey.example.toml");
        assert_eq!(shipped, Config::example().render_commented());
        assert_eq!(Config::from_toml_str(shipped).unwrap(), Config::example());
    }
}
