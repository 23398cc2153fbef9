//! RabbitMQ's part of a snapshot: the overview, nodes and queues as the management API
//! describes them. Plain data: no I/O, no clock.

use serde::{Deserialize, Serialize};

use super::Millis;

/// What one poll saw of a RabbitMQ cluster.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RabbitSnapshot {
    pub taken_at: Millis,
    pub overview: Overview,
    pub nodes: Vec<Node>,
    /// Sorted by (vhost, name).
    pub queues: Vec<Queue>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Overview {
    #[serde(default)]
    pub rabbitmq_version: String,
    #[serde(default)]
    pub erlang_version: String,
    #[serde(default)]
    pub cluster_name: String,
    #[serde(default)]
    pub object_totals: ObjectTotals,
    #[serde(default)]
    pub queue_totals: QueueTotals,
    #[serde(default)]
    pub message_stats: Rates,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ObjectTotals {
    #[serde(default)]
    pub connections: u64,
    #[serde(default)]
    pub channels: u64,
    #[serde(default)]
    pub exchanges: u64,
    #[serde(default)]
    pub queues: u64,
    #[serde(default)]
    pub consumers: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct QueueTotals {
    #[serde(default)]
    pub messages: u64,
    #[serde(default)]
    pub messages_ready: u64,
    #[serde(default)]
    pub messages_unacknowledged: u64,
}

/// Message rates (per second) as the management API reports them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Rates {
    #[serde(default, rename = "publish_details", deserialize_with = "rate")]
    pub publish: Option<f64>,
    #[serde(default, rename = "deliver_get_details", deserialize_with = "rate")]
    pub deliver_get: Option<f64>,
    #[serde(default, rename = "ack_details", deserialize_with = "rate")]
    pub ack: Option<f64>,
}

/// `{"rate": 1.5}` → `Some(1.5)`.
pub(crate) fn rate<'de, D: serde::Deserializer<'de>>(de: D) -> Result<Option<f64>, D::Error> {
    #[derive(Deserialize)]
    struct Details {
        rate: Option<f64>,
    }
    Ok(Option::<Details>::deserialize(de)?.and_then(|d| d.rate))
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Node {
    pub name: String,
    #[serde(default)]
    pub running: bool,
    #[serde(default)]
    pub mem_used: Option<u64>,
    #[serde(default)]
    pub mem_limit: Option<u64>,
    #[serde(default)]
    pub mem_alarm: bool,
    #[serde(default)]
    pub disk_free: Option<u64>,
    #[serde(default)]
    pub disk_free_limit: Option<u64>,
    #[serde(default)]
    pub disk_free_alarm: bool,
    #[serde(default)]
    pub fd_used: Option<u64>,
    #[serde(default)]
    pub fd_total: Option<u64>,
    /// Milliseconds.
    #[serde(default)]
    pub uptime: Option<u64>,
}

impl Node {
    pub fn in_alarm(&self) -> bool {
        self.mem_alarm || self.disk_free_alarm
    }
}

/// The broker id standing for the RabbitMQ node `name` ([`super::name_id`]). Broker history,
/// availability, broker metrics and `broker_down` alerts are keyed by it.
pub fn node_id(name: &str) -> i32 {
    super::name_id(name)
}

/// Every node listed, running or not, with its broker id, sorted by id ([`super::name_ids`]):
/// because stopped nodes are listed too, a node stopping moves no other node's id.
pub fn node_ids(nodes: &[Node]) -> Vec<(i32, &Node)> {
    super::name_ids(nodes, |node| node.name.clone())
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Queue {
    pub name: String,
    pub vhost: String,
    /// `classic`, `quorum` or `stream`.
    #[serde(default, rename = "type")]
    pub kind: String,
    /// `running`, `idle`, `flow`, `down`, …
    #[serde(default)]
    pub state: String,
    #[serde(default)]
    pub messages_ready: u64,
    #[serde(default)]
    pub messages_unacknowledged: u64,
    #[serde(default)]
    pub messages: u64,
    #[serde(default)]
    pub consumers: u64,
    #[serde(default)]
    pub consumer_utilisation: Option<f64>,
    #[serde(default)]
    pub idle_since: Option<String>,
    #[serde(default)]
    pub message_stats: Rates,
}

impl Queue {
    /// A queue's lag: messages not yet consumed and acknowledged.
    pub fn backlog(&self) -> u64 {
        self.messages_ready + self.messages_unacknowledged
    }
}
