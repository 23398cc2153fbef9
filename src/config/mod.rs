//! Configuration: typed defaults, then the TOML file, then `OSPREY__SECTION__KEY` environment
//! variables; validation with errors that name the key; a commented rendering with secrets redacted.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;

use crate::alerting::definition::{ChannelDef, RuleDef};
use crate::duration_text;
use crate::secret::{REDACTED, Secret};

mod address;
mod canary;
mod cluster;
mod env;
mod render;
mod validate;

pub use address::AddressRange;
pub use canary::{CANARY_KINDS, CanaryConfig};
pub use cluster::{
    ActivemqConnection, ActivemqFlavor, BeanstalkConnection, ClusterConfig, Connection,
    GearmanConnection, KafkaConnection, RabbitConnection, RocketConnection,
};

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
    pub scale_out: ScaleOutConfig,
    pub clusters: Vec<ClusterConfig>,
}

/// Several instances on one PostgreSQL or MySQL/MariaDB database: each cluster polled (and its
/// alerts evaluated) by one instance under a lease, every instance serving every page.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ScaleOutConfig {
    pub enabled: bool,
    /// This instance's name on the Instances page (default: the host name and port).
    pub name: Option<String>,
    /// Where this instance's pages are reached, as the Instances page links it (default:
    /// `http://` and `server.listen`).
    pub advertise_url: Option<String>,
    /// How long a lease lasts unrenewed: a stopped instance's clusters move to the others
    /// within about 1.25 × this plus one poll.
    #[serde(with = "duration_text")]
    pub lease_ttl: Duration,
}

impl Default for ScaleOutConfig {
    fn default() -> Self {
        ScaleOutConfig {
            enabled: false,
            name: None,
            advertise_url: None,
            lease_ttl: Duration::from_secs(10),
        }
    }
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
    /// How long a login lasts at most, however often it is used (a page left open refreshes
    /// itself and would otherwise keep its session forever).
    #[serde(with = "duration_text")]
    pub session_max_age: Duration,
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
    /// Failed logins for one user from all addresses together before its logins are refused
    /// for a while (guesses spread over many addresses).
    pub max_account_failures: u32,
    /// Reverse proxies in front of Osprey (addresses or CIDR ranges): only a request from one
    /// of them has its client address read from `X-Forwarded-For`.
    pub trusted_proxies: Vec<String>,
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            anonymous_read: false,
            session_ttl: Duration::from_secs(12 * 3600),
            session_max_age: Duration::from_secs(7 * 24 * 3600),
            initial_admin: None,
            initial_admin_password: None,
            metrics_token: None,
            max_login_failures: 5,
            login_lockout: Duration::from_secs(15 * 60),
            max_account_failures: 20,
            trusted_proxies: Vec::new(),
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
    /// Environment variables a channel made in the UI or API may read as `${NAME}`; channels
    /// from this file may read any.
    pub env_allowlist: Vec<String>,
    /// Let notices go to loopback, private and link-local addresses (a relay or receiver inside
    /// the network); off, webhook and SMTP targets must resolve to public addresses only.
    pub allow_private_targets: bool,
    /// Notice grouping for rules that set none: labels besides cluster and rule
    /// (`group`, `topic`, `broker`, `queue`, `node`; `subject`: no grouping), the wait before
    /// a group's first notice and between its later ones.
    pub group_by: Vec<String>,
    #[serde(with = "duration_text")]
    pub group_wait: Duration,
    #[serde(with = "duration_text")]
    pub group_interval: Duration,
    /// Alerts that hold back the alerts they explain (default: `cluster_down` everything on
    /// its cluster, `broker_down` what has a replica on its broker).
    pub inhibit: Vec<crate::alerting::policy::InhibitRule>,
    /// Channels by severity, cluster and the rule's labels; the first match wins, a rule's own
    /// `channels` are the default.
    pub routes: Vec<crate::alerting::policy::Route>,
    pub mute_windows: Vec<crate::alerting::policy::MuteWindow>,
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
            env_allowlist: Vec::new(),
            allow_private_targets: false,
            group_by: vec!["cluster".to_owned(), "rule".to_owned()],
            group_wait: Duration::from_secs(30),
            group_interval: Duration::from_secs(300),
            inhibit: crate::alerting::policy::default_inhibit_rules(),
            routes: Vec::new(),
            mute_windows: Vec::new(),
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
    /// How long audit-log entries are kept.
    #[serde(with = "duration_text")]
    pub audit_retention: Duration,
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
            audit_retention: Duration::from_secs(400 * 24 * 3600),
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

    fn from_table(mut table: toml::Table) -> Result<Config, ConfigError> {
        let clusters = read_clusters(table.remove("clusters"))?;
        // Keys whose default follows another key: serde can only fill in a fixed default, so
        // these are derived after it has read the keys they follow (a value set is kept and
        // validated). A cluster's `poll_timeout` is derived as its table is read.
        let retry_max_unset = table
            .get("alerts")
            .and_then(toml::Value::as_table)
            .is_none_or(|alerts| !alerts.contains_key("retry_max"));
        let mut config: Config = serde_path_to_error::deserialize(toml::Value::Table(table))
            .map_err(|e| {
                let key = e.path().to_string();
                let message = e.into_inner().to_string();
                // toml appends "in `section`" on a second line; the key already says where.
                let message = message.lines().next().unwrap_or_default().trim().to_owned();
                key_error(if key == "." { "(top level)".into() } else { key }, message)
            })?;
        config.clusters = clusters;
        if retry_max_unset {
            config.alerts.retry_max = defaults::retry_max_for(config.alerts.retry_initial);
        }
        config.validate()?;
        Ok(config)
    }
}

/// Each `[[clusters]]` table, read on its own so that an error names its key.
fn read_clusters(clusters: Option<toml::Value>) -> Result<Vec<ClusterConfig>, ConfigError> {
    let clusters = match clusters {
        None => return Ok(Vec::new()),
        Some(toml::Value::Array(clusters)) => clusters,
        Some(_) => return Err(key_error("clusters", "must be a list of [[clusters]] tables")),
    };
    let read = |(index, cluster)| {
        let prefix = format!("clusters[{index}]");
        match cluster {
            toml::Value::Table(table) => ClusterConfig::from_table(table, &prefix),
            _ => Err(key_error(prefix, "must be a table")),
        }
    };
    clusters.into_iter().enumerate().map(read).collect()
}

fn parse_toml(text: &str) -> Result<toml::Table, String> {
    text.parse::<toml::Table>().map_err(|e| e.to_string().trim_end().replace('\n', " "))
}

#[cfg(test)]
mod tests;
