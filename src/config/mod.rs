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

mod env;
mod render;
mod validate;

use env::*;

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
        validate::check_cluster_keys(&table)?;
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
}

fn parse_toml(text: &str) -> Result<toml::Table, String> {
    text.parse::<toml::Table>().map_err(|e| e.to_string().trim_end().replace('\n', " "))
}

#[cfg(test)]
mod tests;
