//! Alert rules and notification channels as operators write them — in the config file, in the
//! UI's forms and in the JSON API — with one validation for all three and `${ENV}` secrets.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::domain::is_valid_name;
use crate::domain::metrics::Metric;
use crate::duration_text;
use crate::evaluator::PartitionStatus;
use crate::secret::{REDACTED, env_names};

/// What a rule watches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleKind {
    /// A consumer group's lag in messages (summed over its partitions, or over `topic`).
    ConsumerLag,
    /// A consumer group's lag in seconds (its worst partition).
    ConsumerLagSeconds,
    /// A consumer group's health status at or worse than `status`.
    ConsumerStatus,
    /// A consumer group's lag will pass `threshold` within `horizon` at its current trend (the
    /// line through the lag window): fires before the crossing, while the lag still grows.
    LagForecast,
    /// A consumer group's oldest unread message has used more than `threshold` percent of its
    /// retention (by age against `retention.ms`, else by offsets; worst partition), 100 once
    /// retention has deleted some unread ([`crate::evaluator::retention`]).
    RetentionRisk,
    /// A consumer group's members changed (joined or left: a rebalance) more than `threshold`
    /// times within `window` — a rebalance storm.
    GroupRebalancing,
    /// A topic that had traffic received fewer than `threshold` messages within `window`: its
    /// producers stopped (a topic silent for the two hours Osprey keeps counts as idle).
    ProducerStopped,
    /// RabbitMQ: connections opened per second above `threshold` — clients that connect for
    /// each message or reconnect in a loop (connection churn).
    ConnectionChurn,
    /// The end-to-end canary: a broker's markers took longer than `threshold` ms from send to
    /// read back (the 99th percentile over the canary's window).
    CanaryLatency,
    /// The end-to-end canary: more than `threshold` (default 0) of a broker's markers were not
    /// read back in time over the canary's window.
    CanaryLoss,
    /// The cluster cannot be polled.
    ClusterDown,
    /// A broker seen earlier is no longer in the cluster's metadata.
    BrokerDown,
    /// Partitions of a topic whose in-sync replicas are fewer than their replicas.
    UnderReplicated,
    /// Partitions of a topic without a leader.
    OfflinePartitions,
    /// A queue's (tube's) backlog — ready + unacknowledged (reserved) — above `threshold`.
    QueueBacklog,
    /// A queue holds messages and receives them faster than they are delivered (with `for`:
    /// the backlog has been growing that long).
    QueueBacklogGrowing,
    /// A queue holds messages and has no consumer (a tube: no worker watches it).
    QueueNoConsumers,
    /// beanstalkd: a tube's buried jobs above `threshold`.
    QueueBuried,
    /// RabbitMQ: a node is down or in a memory or disk alarm.
    NodeAlarm,
    /// A broker metric (`metric`) above `threshold`, or below it with `below = true` — e.g.
    /// under-replicated partitions > 0 from JMX, request handler idle < 20 %.
    BrokerMetric,
}

impl RuleKind {
    pub const ALL: [RuleKind; 20] = [
        RuleKind::ConsumerLag,
        RuleKind::ConsumerLagSeconds,
        RuleKind::ConsumerStatus,
        RuleKind::LagForecast,
        RuleKind::RetentionRisk,
        RuleKind::GroupRebalancing,
        RuleKind::ProducerStopped,
        RuleKind::ConnectionChurn,
        RuleKind::CanaryLatency,
        RuleKind::CanaryLoss,
        RuleKind::ClusterDown,
        RuleKind::BrokerDown,
        RuleKind::UnderReplicated,
        RuleKind::OfflinePartitions,
        RuleKind::QueueBacklog,
        RuleKind::QueueBacklogGrowing,
        RuleKind::QueueNoConsumers,
        RuleKind::QueueBuried,
        RuleKind::NodeAlarm,
        RuleKind::BrokerMetric,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RuleKind::ConsumerLag => "consumer_lag",
            RuleKind::ConsumerLagSeconds => "consumer_lag_seconds",
            RuleKind::ConsumerStatus => "consumer_status",
            RuleKind::LagForecast => "lag_forecast",
            RuleKind::RetentionRisk => "retention_risk",
            RuleKind::GroupRebalancing => "group_rebalancing",
            RuleKind::ProducerStopped => "producer_stopped",
            RuleKind::ConnectionChurn => "connection_churn",
            RuleKind::CanaryLatency => "canary_latency",
            RuleKind::CanaryLoss => "canary_loss",
            RuleKind::ClusterDown => "cluster_down",
            RuleKind::BrokerDown => "broker_down",
            RuleKind::UnderReplicated => "under_replicated",
            RuleKind::OfflinePartitions => "offline_partitions",
            RuleKind::QueueBacklog => "queue_backlog",
            RuleKind::QueueBacklogGrowing => "queue_backlog_growing",
            RuleKind::QueueNoConsumers => "queue_no_consumers",
            RuleKind::QueueBuried => "queue_buried",
            RuleKind::NodeAlarm => "node_alarm",
            RuleKind::BrokerMetric => "broker_metric",
        }
    }

    pub fn parse(text: &str) -> Option<RuleKind> {
        RuleKind::ALL.into_iter().find(|k| k.as_str() == text)
    }

    /// Whether the rule selects consumer groups (and so reads `group`).
    pub fn is_about_groups(self) -> bool {
        matches!(
            self,
            RuleKind::ConsumerLag
                | RuleKind::ConsumerLagSeconds
                | RuleKind::ConsumerStatus
                | RuleKind::LagForecast
                | RuleKind::RetentionRisk
                | RuleKind::GroupRebalancing
        )
    }

    /// Whether the rule compares a number with `threshold`.
    pub fn has_threshold(self) -> bool {
        matches!(
            self,
            RuleKind::ConsumerLag
                | RuleKind::ConsumerLagSeconds
                | RuleKind::LagForecast
                | RuleKind::RetentionRisk
                | RuleKind::GroupRebalancing
                | RuleKind::ProducerStopped
                | RuleKind::ConnectionChurn
                | RuleKind::CanaryLatency
                | RuleKind::CanaryLoss
                | RuleKind::UnderReplicated
                | RuleKind::OfflinePartitions
                | RuleKind::QueueBacklog
                | RuleKind::QueueBuried
                | RuleKind::BrokerMetric
        )
    }

    /// Whether the rule watches the end-to-end canary (observed per canary round, not per poll).
    pub fn is_about_canary(self) -> bool {
        matches!(self, RuleKind::CanaryLatency | RuleKind::CanaryLoss)
    }

    /// Whether the rule counts over a `window` of its own.
    pub fn has_window(self) -> bool {
        matches!(self, RuleKind::GroupRebalancing | RuleKind::ProducerStopped)
    }

    /// Whether the rule selects queues or tubes (and so reads `vhost` and `queue`).
    pub fn is_about_queues(self) -> bool {
        matches!(
            self,
            RuleKind::QueueBacklog
                | RuleKind::QueueBacklogGrowing
                | RuleKind::QueueNoConsumers
                | RuleKind::QueueBuried
        )
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Info,
    #[default]
    Warning,
    Critical,
}

impl Severity {
    pub const ALL: [Severity; 3] = [Severity::Info, Severity::Warning, Severity::Critical];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }

    pub fn parse(text: &str) -> Option<Severity> {
        Severity::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

/// How far back a `group_rebalancing` or `producer_stopped` rule counts when it does not say.
pub const DEFAULT_CHURN_WINDOW: Duration = Duration::from_secs(10 * 60);

/// How far ahead a `lag_forecast` rule looks when it does not say.
pub const DEFAULT_HORIZON: Duration = Duration::from_secs(15 * 60);

fn all_clusters() -> String {
    "*".into()
}

fn enabled() -> bool {
    true
}

/// Labels a rule may group its notices by besides its cluster (always: a cluster's alerts are
/// decided by the one instance holding its lease) and the rule itself (channels and routes are
/// per rule); `subject` means no grouping.
pub const GROUP_LABELS: [&str; 7] =
    ["cluster", "rule", "group", "topic", "broker", "queue", "node"];

/// One alert rule. `cluster`, `group` and `topic` are names or patterns: `*` matches any run of
/// characters, `?` one character, and a comma separates alternatives (`billing,payments-*`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleDef {
    pub name: String,
    pub kind: RuleKind,
    #[serde(default = "all_clusters")]
    pub cluster: String,
    /// Consumer-group rules: which groups (default: all).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// Which topics: a lag rule then alerts per (group, topic); replication rules per topic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
    /// RabbitMQ queue rules: which vhosts and queues (default: all).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vhost: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue: Option<String>,
    /// Fires when the value is above this (lag in messages or seconds, partition counts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold: Option<f64>,
    /// `consumer_status` rules: fire at this status or worse (WARN, REWIND, STALL, STOP).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<PartitionStatus>,
    /// `broker_metric` rules: which metric (`request_handler_idle_percent`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric: Option<Metric>,
    /// `broker_metric` rules: fire when the value is below `threshold` instead of above.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub below: bool,
    /// `lag_forecast` rules: how far ahead the trend is followed (default 15 min).
    #[serde(default, skip_serializing_if = "Option::is_none", with = "duration_text::option")]
    pub horizon: Option<Duration>,
    /// `group_rebalancing` and `producer_stopped` rules: how far back changes or messages are
    /// counted (default 10 min, at most 1 h).
    #[serde(default, skip_serializing_if = "Option::is_none", with = "duration_text::option")]
    pub window: Option<Duration>,
    /// How long the condition must hold before the alert fires.
    #[serde(rename = "for", default, with = "duration_text")]
    pub hold: Duration,
    /// How many polls in a row must see the condition before the alert fires (with `for`, both
    /// must be met).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub for_polls: u32,
    /// Reminder interval while the alert keeps firing; none when absent.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "duration_text::option")]
    pub repeat_interval: Option<Duration>,
    #[serde(default)]
    pub severity: Severity,
    /// Names of the channels that receive this rule's notices (unless a route matches).
    #[serde(default)]
    pub channels: Vec<String>,
    #[serde(default = "enabled")]
    pub enabled: bool,
    /// Labels routes match on (`team = "billing"`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Notice grouping; absent: `alerts.group_by`, `alerts.group_wait`, `alerts.group_interval`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_by: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "duration_text::option")]
    pub group_wait: Option<Duration>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "duration_text::option")]
    pub group_interval: Option<Duration>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChannelKind {
    Email,
    Webhook,
}

impl ChannelKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ChannelKind::Email => "email",
            ChannelKind::Webhook => "webhook",
        }
    }
}

/// How the SMTP connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SmtpTls {
    /// Implicit TLS from the first byte (port 465).
    Tls,
    /// Plain connection upgraded with STARTTLS, which must succeed (port 587).
    Starttls,
    /// No encryption (a local relay).
    None,
}

impl SmtpTls {
    pub fn as_str(self) -> &'static str {
        match self {
            SmtpTls::Tls => "tls",
            SmtpTls::Starttls => "starttls",
            SmtpTls::None => "none",
        }
    }

    pub fn default_port(self) -> u16 {
        match self {
            SmtpTls::Tls => 465,
            SmtpTls::Starttls => 587,
            SmtpTls::None => 25,
        }
    }
}

/// The body a webhook receives.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WebhookFormat {
    /// Osprey's own JSON (documented in the README), version 2: one alert's fields and the
    /// `alerts` of its group.
    #[default]
    Generic,
    /// Version 1 of Osprey's JSON: one alert's fields only.
    GenericV1,
    Slack,
    Dingtalk,
    Wecom,
    Feishu,
    /// PagerDuty Events API v2 (`secret`: the integration's routing key).
    Pagerduty,
    /// Opsgenie's Alert API (`secret`: the API key).
    Opsgenie,
    /// A Microsoft Teams workflow ("post to a channel when a webhook request is received"):
    /// an Adaptive Card.
    Teams,
    /// A Telegram bot's `sendMessage` (`to`: the chat id).
    Telegram,
    /// An existing Prometheus Alertmanager (`url`: its address; alerts go to `/api/v2/alerts`).
    Alertmanager,
}

impl WebhookFormat {
    pub const ALL: [WebhookFormat; 11] = [
        WebhookFormat::Generic,
        WebhookFormat::GenericV1,
        WebhookFormat::Slack,
        WebhookFormat::Dingtalk,
        WebhookFormat::Wecom,
        WebhookFormat::Feishu,
        WebhookFormat::Pagerduty,
        WebhookFormat::Opsgenie,
        WebhookFormat::Teams,
        WebhookFormat::Telegram,
        WebhookFormat::Alertmanager,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            WebhookFormat::Generic => "generic",
            WebhookFormat::GenericV1 => "generic_v1",
            WebhookFormat::Slack => "slack",
            WebhookFormat::Dingtalk => "dingtalk",
            WebhookFormat::Wecom => "wecom",
            WebhookFormat::Feishu => "feishu",
            WebhookFormat::Pagerduty => "pagerduty",
            WebhookFormat::Opsgenie => "opsgenie",
            WebhookFormat::Teams => "teams",
            WebhookFormat::Telegram => "telegram",
            WebhookFormat::Alertmanager => "alertmanager",
        }
    }
}

/// One notification channel. E-mail channels use the `smtp_*`, `tls`, `username`, `password`,
/// `from` and `to` keys; webhooks `url`, `format`, `headers` and `secret`. Any string may name
/// an environment variable as `${NAME}`; it is read when a notice is sent, so the secret itself
/// never reaches the database.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelDef {
    pub name: String,
    pub kind: ChannelKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smtp_host: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smtp_port: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<SmtpTls>,
    /// PEM file of certificate authorities to trust for the SMTP server's certificate (a relay
    /// with a private CA), on top of the public roots.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_ca_file: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub to: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<WebhookFormat>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// Webhooks: HMAC-SHA256 key. Generic JSON gets an `X-Osprey-Signature` header; DingTalk
    /// and Feishu get their own signatures.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// Longest time one delivery may take (default 10s).
    #[serde(default, skip_serializing_if = "Option::is_none", with = "duration_text::option")]
    pub timeout: Option<Duration>,
    /// The notice's title in this channel (a minijinja template; see `alerting::templates`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title_template: Option<String>,
    /// The notice's text in this channel (e-mail text, chat message).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_template: Option<String>,
}

pub const DEFAULT_CHANNEL_TIMEOUT: Duration = Duration::from_secs(10);

impl ChannelDef {
    /// A copy fit to show or return from the API: literal passwords and secrets are replaced,
    /// `${NAME}` references are kept (they are not secret).
    pub fn redacted(&self) -> ChannelDef {
        let hide = |v: &Option<String>| {
            v.as_ref().map(|s| if is_env_reference(s) { s.clone() } else { REDACTED.into() })
        };
        ChannelDef { password: hide(&self.password), secret: hide(&self.secret), ..self.clone() }
    }

    /// The definition as a reader who is not an admin sees it: [`ChannelDef::redacted`], the
    /// webhook URL cut to its scheme and host (chat platforms put their tokens in the path or
    /// the query) and header values hidden (`Authorization: Bearer …`).
    pub fn for_viewers(&self) -> ChannelDef {
        let shown = self.redacted();
        ChannelDef {
            url: shown.url.as_deref().map(url_origin),
            headers: shown.headers.keys().map(|k| (k.clone(), REDACTED.to_owned())).collect(),
            ..shown
        }
    }

    /// Keeps the stored password and secret where an edit left them `REDACTED` or empty.
    pub fn keep_secrets_from(&mut self, stored: &ChannelDef) {
        let keep = |new: &mut Option<String>, old: &Option<String>| {
            if new.as_deref().is_none_or(|v| v.is_empty() || v == REDACTED) {
                new.clone_from(old);
            }
        };
        keep(&mut self.password, &stored.password);
        keep(&mut self.secret, &stored.secret);
    }

    pub fn timeout(&self) -> Duration {
        self.timeout.unwrap_or(DEFAULT_CHANNEL_TIMEOUT)
    }

    pub fn tls(&self) -> SmtpTls {
        self.tls.unwrap_or(SmtpTls::Starttls)
    }

    pub fn smtp_port(&self) -> u16 {
        self.smtp_port.unwrap_or_else(|| self.tls().default_port())
    }

    /// Every `${NAME}` this channel reads, with the key that holds it.
    pub fn env_references(&self) -> Vec<(String, String)> {
        let mut fields: Vec<(String, &str)> = Vec::new();
        for (key, value) in [
            ("smtp_host", &self.smtp_host),
            ("tls_ca_file", &self.tls_ca_file),
            ("username", &self.username),
            ("password", &self.password),
            ("from", &self.from),
            ("url", &self.url),
            ("secret", &self.secret),
        ] {
            if let Some(v) = value {
                fields.push((key.into(), v));
            }
        }
        for (name, value) in &self.headers {
            fields.push((format!("headers.{name}"), value));
        }
        // E-mail recipients and a Telegram chat are read from the environment too.
        for (i, value) in self.to.iter().enumerate() {
            fields.push((format!("to[{i}]"), value));
        }
        fields
            .into_iter()
            .flat_map(|(key, value)| env_names(value).into_iter().map(move |n| (key.clone(), n)))
            .collect()
    }
}

fn is_env_reference(value: &str) -> bool {
    let trimmed = value.trim();
    trimmed.starts_with("${") && trimmed.ends_with('}') && env_names(trimmed).len() == 1
}

/// A problem in a rule or channel: the field it is about and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct DefinitionError {
    pub field: String,
    pub message: String,
}

fn invalid(field: &str, message: impl Into<String>) -> DefinitionError {
    DefinitionError { field: field.into(), message: message.into() }
}

impl RuleDef {
    /// The threshold the rule compares with (replication rules default to 0).
    pub fn threshold_or_default(&self) -> f64 {
        self.threshold.unwrap_or(0.0)
    }

    /// How far ahead a `lag_forecast` rule looks.
    pub fn horizon_or_default(&self) -> Duration {
        self.horizon.unwrap_or(DEFAULT_HORIZON)
    }

    /// How far back a `group_rebalancing` or `producer_stopped` rule counts.
    pub fn window_or_default(&self) -> Duration {
        self.window.unwrap_or(DEFAULT_CHURN_WINDOW)
    }

    pub fn window_millis(&self) -> i64 {
        i64::try_from(self.window_or_default().as_millis()).unwrap_or(i64::MAX)
    }

    pub fn hold_millis(&self) -> i64 {
        i64::try_from(self.hold.as_millis()).unwrap_or(i64::MAX)
    }

    pub fn repeat_millis(&self) -> Option<i64> {
        self.repeat_interval.map(|r| i64::try_from(r.as_millis()).unwrap_or(i64::MAX))
    }
}

/// Whether `name` matches `pattern`: comma-separated alternatives, each exact or with `*`
/// (any run of characters) and `?` (one character).
pub fn matches_pattern(pattern: &str, name: &str) -> bool {
    pattern
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .any(|p| glob(p.as_bytes(), name.as_bytes()))
}

fn glob(pattern: &[u8], text: &[u8]) -> bool {
    // Iterative matcher with one backtrack point: linear for the patterns people write.
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some(b'*') => {
                star = Some((p, t));
                p += 1;
            }
            Some(&c) if c == b'?' || c == text[t] => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    p = sp + 1;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

/// Where a URL points, without what may be a token: `scheme://host[:port]`, then `/…` when it
/// has a path or a query. `${NAME}` references are shown as written; anything that is not a URL
/// as `<redacted>`.
pub fn url_origin(url: &str) -> String {
    if is_env_reference(url) {
        return url.to_owned();
    }
    match url::Url::parse(url.trim()) {
        Ok(parsed) if parsed.host_str().is_some() => {
            let mut shown =
                format!("{}://{}", parsed.scheme(), parsed.host_str().unwrap_or_default());
            if let Some(port) = parsed.port() {
                shown.push_str(&format!(":{port}"));
            }
            if parsed.path() != "/" || parsed.query().is_some() {
                shown.push_str("/…");
            }
            shown
        }
        _ => REDACTED.to_owned(),
    }
}

mod channel_checks;
mod rule_checks;

#[cfg(test)]
mod tests;
