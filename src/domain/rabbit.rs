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

/// The broker id standing for the RabbitMQ node `name`: the low 31 bits of the 32-bit FNV-1a
/// hash of the name, so never negative, and the same whichever other nodes run. Broker history,
/// availability, broker metrics and `broker_down` alerts are keyed by it: changing the hash
/// re-keys every RabbitMQ node.
pub fn node_id(name: &str) -> i32 {
    let hash = name
        .bytes()
        .fold(0x811c_9dc5_u32, |hash, byte| (hash ^ u32::from(byte)).wrapping_mul(0x0100_0193));
    i32::try_from(hash & 0x7fff_ffff).unwrap_or_default()
}

/// Every node listed, running or not, with its broker id, sorted by id. The id is [`node_id`];
/// two names hashing alike (about one chance in 2^31 per pair) are settled in name order, the
/// later one taking the next free id, so ids are unique and, because stopped nodes are listed
/// too, a node stopping moves no other node's id.
pub fn node_ids(nodes: &[Node]) -> Vec<(i32, &Node)> {
    let mut by_name: Vec<&Node> = nodes.iter().collect();
    by_name.sort_by(|a, b| a.name.cmp(&b.name));
    let mut taken = std::collections::BTreeSet::new();
    let mut ids: Vec<(i32, &Node)> = by_name
        .into_iter()
        .map(|node| {
            let mut id = node_id(&node.name);
            while !taken.insert(id) {
                id = id.checked_add(1).unwrap_or(0);
            }
            (id, node)
        })
        .collect();
    ids.sort_by_key(|&(id, _)| id);
    ids
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
