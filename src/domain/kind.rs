//! What kinds of cluster Osprey watches, and the rule every name (cluster, rule, channel, user)
//! follows.

use serde::Deserialize;

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ClusterKind {
    Kafka,
    /// RabbitMQ through its management HTTP API (`management_url`, `username`, `password`).
    Rabbitmq,
    /// RocketMQ through its name servers and brokers (`namesrv_addrs`, optional ACL keys).
    Rocketmq,
}

impl ClusterKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ClusterKind::Kafka => "kafka",
            ClusterKind::Rabbitmq => "rabbitmq",
            ClusterKind::Rocketmq => "rocketmq",
        }
    }
}

/// Names of clusters, rules, channels and users: 1-64 letters, digits, `.`, `_` and `-`.
pub fn is_valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}
