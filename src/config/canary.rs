//! A cluster's end-to-end canary (`[clusters.canary]`): whether it runs, how often, how long a
//! marker may take before it counts as lost, and the topic or queue it uses.

use std::time::Duration;

use serde::Deserialize;

use crate::domain::ClusterKind;
use crate::duration_text;

/// Off unless `enabled`: the canary writes to the cluster.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CanaryConfig {
    #[serde(default)]
    pub enabled: bool,
    /// Time between two rounds of markers.
    #[serde(with = "duration_text", default = "default_interval")]
    pub interval: Duration,
    /// How long a marker may take to come back before it counts as lost; unset, half the
    /// interval (so a loss is known within two intervals, the round after it included).
    #[serde(with = "duration_text::option", default)]
    pub timeout: Option<Duration>,
    /// The topic (Kafka, RocketMQ) or queue (RabbitMQ); unset, the kind's default.
    #[serde(default)]
    pub topic: Option<String>,
    /// RabbitMQ: the vhost of the queue (`/` when unset).
    #[serde(default)]
    pub vhost: Option<String>,
    /// Create the topic or queue when it is missing (never on a `read_only` cluster).
    #[serde(default = "yes")]
    pub create: bool,
}

fn default_interval() -> Duration {
    Duration::from_secs(10)
}

fn yes() -> bool {
    true
}

impl Default for CanaryConfig {
    fn default() -> Self {
        CanaryConfig {
            enabled: false,
            interval: default_interval(),
            timeout: None,
            topic: None,
            vhost: None,
            create: true,
        }
    }
}

/// The kinds with a canary.
pub const CANARY_KINDS: [ClusterKind; 3] =
    [ClusterKind::Kafka, ClusterKind::Rocketmq, ClusterKind::Rabbitmq];

impl CanaryConfig {
    /// How long a marker may take before it counts as lost.
    pub fn timeout(&self) -> Duration {
        self.timeout.unwrap_or(self.interval / 2)
    }

    /// The topic or queue the canary uses on a cluster of `kind`.
    pub fn topic_for(&self, kind: ClusterKind) -> String {
        match &self.topic {
            Some(topic) => topic.clone(),
            None => match kind {
                ClusterKind::Rocketmq => "OSPREY_CANARY".into(),
                ClusterKind::Kafka => "__osprey_canary".into(),
                _ => "osprey.canary".into(),
            },
        }
    }

    /// The first mistake, as (key under `canary`, message).
    pub(super) fn check(&self, kind: ClusterKind) -> Result<(), (&'static str, String)> {
        if self.enabled && !CANARY_KINDS.contains(&kind) {
            let kinds: Vec<&str> = CANARY_KINDS.iter().map(|k| k.as_str()).collect();
            return Err((
                "enabled",
                format!("a {kind} cluster has no canary (only {})", kinds.join(", ")),
            ));
        }
        if self.interval < Duration::from_secs(1) || self.interval > Duration::from_secs(3600) {
            return Err(("interval", "must be between 1s and 1h".into()));
        }
        if let Some(timeout) = self.timeout
            && (timeout < Duration::from_millis(100) || timeout > self.interval)
        {
            // Longer, and a round would still wait when the next one is due.
            return Err(("timeout", "must be at least 100ms and at most interval".into()));
        }
        if self.vhost.is_some() && kind != ClusterKind::Rabbitmq {
            return Err(("vhost", format!("a {kind} cluster has no vhosts")));
        }
        if let Some(topic) = &self.topic {
            let valid = !topic.is_empty()
                && topic.len() <= 127
                && topic.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
            if !valid {
                return Err((
                    "topic",
                    format!("{topic:?}: 1–127 letters, digits, '.', '_' or '-'"),
                ));
            }
        }
        Ok(())
    }

    /// Its lines in `print-config`, as a `[clusters.canary]` table.
    pub(super) fn render(&self, line: &mut impl FnMut(&str)) {
        let q = |s: &str| toml::Value::String(s.to_owned()).to_string();
        let d = |d: Duration| q(&duration_text::format(d));
        line("# The end-to-end canary: every interval a marker message to each partition of its");
        line(
            "# topic (Kafka; read back without a consumer group), to a queue of its topic on each",
        );
        line("# master (RocketMQ; pulled back, nothing committed) or to its queue (RabbitMQ, over");
        line(
            "# AMQP: delivered to Osprey's own consumer); produce and end-to-end latency and lost",
        );
        line(
            "# markers per broker on the Cluster page, in /metrics and for the canary_latency and",
        );
        line("# canary_loss rules. It writes to the cluster: off by default.");
        line("[clusters.canary]");
        line(&format!("enabled = {}", self.enabled));
        line(&format!("interval = {}", d(self.interval)));
        line("# A marker not read back within this counts as lost; unset, half the interval.");
        match self.timeout {
            Some(timeout) => line(&format!("timeout = {}", d(timeout))),
            None => line("# timeout = \"5s\""),
        }
        line(
            "# Unset: __osprey_canary (Kafka), OSPREY_CANARY (RocketMQ), osprey.canary (RabbitMQ).",
        );
        match &self.topic {
            Some(topic) => line(&format!("topic = {}", q(topic))),
            None => line("# topic = \"__osprey_canary\""),
        }
        line("# RabbitMQ: the queue's vhost.");
        match &self.vhost {
            Some(vhost) => line(&format!("vhost = {}", q(vhost))),
            None => line("# vhost = \"/\""),
        }
        line("# Create the topic or queue when it is missing (never on a read_only cluster).");
        line(&format!("create = {}", self.create));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_name_the_key() {
        let on = CanaryConfig { enabled: true, ..CanaryConfig::default() };
        assert!(on.check(ClusterKind::Kafka).is_ok());
        assert_eq!(on.check(ClusterKind::Gearman).unwrap_err().0, "enabled");
        let vhost = CanaryConfig { vhost: Some("/".into()), ..on.clone() };
        assert_eq!(vhost.check(ClusterKind::Kafka).unwrap_err().0, "vhost");
        assert!(vhost.check(ClusterKind::Rabbitmq).is_ok());
        let fast = CanaryConfig { interval: Duration::from_millis(500), ..on.clone() };
        assert_eq!(fast.check(ClusterKind::Kafka).unwrap_err().0, "interval");
        let slow = CanaryConfig { timeout: Some(Duration::from_secs(11)), ..on.clone() };
        assert_eq!(slow.check(ClusterKind::Kafka).unwrap_err().0, "timeout");
        let hostile = CanaryConfig { topic: Some("a/b".into()), ..on.clone() };
        assert_eq!(hostile.check(ClusterKind::Kafka).unwrap_err().0, "topic");
        assert_eq!(on.timeout(), Duration::from_secs(5));
        assert_eq!(on.topic_for(ClusterKind::Kafka), "__osprey_canary");
    }
}
