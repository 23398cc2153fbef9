//! The part of a snapshot that clusters of queues share (RabbitMQ, beanstalkd): the overview,
//! the nodes or servers, and every queue (tube) with its backlog, consumers and rates. Plain
//! data: no I/O, no clock.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::Millis;

/// What one poll saw of a cluster of queues.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct QueueSnapshot {
    pub taken_at: Millis,
    pub overview: Overview,
    /// RabbitMQ's nodes, beanstalkd's servers: sorted by name.
    pub nodes: Vec<Node>,
    /// Sorted by (vhost, name).
    pub queues: Vec<Queue>,
}

impl QueueSnapshot {
    /// Takes Osprey's canary queue out of the view — the lists, the rules and the overview's
    /// rates — and gives it back.
    pub fn set_aside(&mut self, vhost: &str, name: &str) -> Option<Queue> {
        let at = self.queues.iter().position(|q| q.vhost == vhost && q.name == name)?;
        let queue = self.queues.remove(at);
        let (all, own) = (&mut self.overview.message_stats, &queue.message_stats);
        for (total, part) in [
            (&mut all.publish, own.publish),
            (&mut all.deliver_get, own.deliver_get),
            (&mut all.ack, own.ack),
        ] {
            if let (Some(total), Some(part)) = (total.as_mut(), part) {
                *total = (*total - part).max(0.0);
            }
        }
        Some(queue)
    }

    /// A view put together from servers' readings: nodes and queues sorted, the queue count
    /// and the queue totals taken from the queues themselves.
    pub fn assembled(
        taken_at: Millis,
        mut overview: Overview,
        mut nodes: Vec<Node>,
        mut queues: Vec<Queue>,
    ) -> QueueSnapshot {
        nodes.sort_by(|a, b| a.name.cmp(&b.name));
        queues.sort_by(|a, b| (&a.vhost, &a.name).cmp(&(&b.vhost, &b.name)));
        overview.object_totals.queues = queues.len() as u64;
        overview.queue_totals = QueueTotals {
            messages: queues.iter().map(|q| q.messages).sum(),
            messages_ready: queues.iter().map(|q| q.messages_ready).sum(),
            messages_unacknowledged: queues.iter().map(|q| q.messages_unacknowledged).sum(),
        };
        QueueSnapshot { taken_at, overview, nodes, queues }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Overview {
    /// The server software as the cluster page names it (`RabbitMQ`, `beanstalkd`).
    #[serde(default)]
    pub product: String,
    #[serde(default, alias = "rabbitmq_version")]
    pub version: String,
    /// What the server runs on, when it says (RabbitMQ's Erlang release).
    #[serde(default, alias = "erlang_version")]
    pub runtime_version: String,
    #[serde(default)]
    pub cluster_name: String,
    #[serde(default)]
    pub object_totals: ObjectTotals,
    #[serde(default)]
    pub queue_totals: QueueTotals,
    #[serde(default)]
    pub message_stats: Rates,
    /// RabbitMQ: connections opened and closed per second.
    #[serde(default)]
    pub churn_rates: ChurnRates,
    /// The members of the broker cluster as the brokers see them (ActiveMQ Artemis).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub topology: Vec<ClusterMember>,
}

/// A member of a broker cluster: its node id and the `host:port` of its live and backup
/// servers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClusterMember {
    #[serde(rename = "nodeID", alias = "node_id", default)]
    pub node_id: String,
    #[serde(default)]
    pub live: Option<String>,
    #[serde(default)]
    pub backup: Option<String>,
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

/// Connections opened and closed per second, as RabbitMQ's overview counts them over its
/// statistics interval.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ChurnRates {
    #[serde(default, rename = "connection_created_details", deserialize_with = "rate")]
    pub connections_opened: Option<f64>,
    #[serde(default, rename = "connection_closed_details", deserialize_with = "rate")]
    pub connections_closed: Option<f64>,
}

/// `{"rate": 1.5}` (RabbitMQ's answer) → `Some(1.5)`; a bare `1.5` (Osprey's own
/// serialization, as a lease holder publishes it for the other instances) too.
pub(crate) fn rate<'de, D: serde::Deserializer<'de>>(de: D) -> Result<Option<f64>, D::Error> {
    #[derive(Deserialize)]
    struct Details {
        rate: Option<f64>,
    }
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Rate {
        Details(Details),
        Bare(f64),
    }
    Ok(Option::<Rate>::deserialize(de)?.and_then(|rate| match rate {
        Rate::Details(details) => details.rate,
        Rate::Bare(rate) => Some(rate),
    }))
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
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
    /// ActiveMQ: how full the broker's memory, message store and temporary store are, in per
    /// cent of their limits (at 100 the broker holds producers back).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
    /// A standby (an ActiveMQ Classic slave, an Artemis backup): up, serving nothing until the
    /// live broker fails.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub backup: bool,
}

/// A broker's use of its limits, in per cent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Usage {
    pub memory_percent: Option<f64>,
    pub store_percent: Option<f64>,
    pub temp_percent: Option<f64>,
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
    /// Where the name is unique: RabbitMQ's virtual host, the beanstalkd server holding the
    /// tube. Rules, history and addresses call it `vhost` whatever the kind.
    pub vhost: String,
    /// `classic`, `quorum` or `stream` (RabbitMQ), `tube` (beanstalkd).
    #[serde(default, rename = "type")]
    pub kind: String,
    /// `running`, `idle`, `flow`, `down`, …
    #[serde(default)]
    pub state: String,
    /// Ready to be delivered (beanstalkd: ready jobs).
    #[serde(default)]
    pub messages_ready: u64,
    /// Delivered and not yet acknowledged (beanstalkd: reserved jobs).
    #[serde(default)]
    pub messages_unacknowledged: u64,
    #[serde(default)]
    pub messages: u64,
    /// Waiting for their delay to pass before they become ready (beanstalkd).
    #[serde(default)]
    pub delayed: u64,
    /// Set aside until an operator acts (beanstalkd's buried jobs).
    #[serde(default)]
    pub held: u64,
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

/// Per-second rates from ever-growing counters read at each poll (servers that report totals,
/// not rates): the rate of a key is its growth since the previous reading.
#[derive(Debug, Default)]
pub struct RateMeter {
    readings: HashMap<String, (Millis, u64)>,
}

impl RateMeter {
    /// The rate of `key` since its last reading, `None` the first time, when no time passed or
    /// when the counter went down (the server restarted).
    pub fn rate(&mut self, key: &str, now: Millis, total: u64) -> Option<f64> {
        let (at, before) = self.readings.insert(key.to_owned(), (now, total))?;
        (now > at && total >= before).then(|| (total - before) as f64 * 1000.0 / (now - at) as f64)
    }

    /// Forgets keys not read at `now` (deleted tubes), so the meter does not grow forever.
    pub fn forget_unread(&mut self, now: Millis) {
        self.readings.retain(|_, (at, _)| *at == now);
    }
}

#[cfg(test)]
mod tests {
    use super::{Queue, QueueSnapshot, RateMeter};

    #[test]
    fn rates_come_from_growth_between_readings_and_a_reset_gives_none() {
        let mut meter = RateMeter::default();
        assert_eq!(meter.rate("a", 1_000, 10), None, "nothing to compare with yet");
        assert_eq!(meter.rate("a", 3_000, 30), Some(10.0));
        assert_eq!(meter.rate("a", 3_000, 40), None, "no time passed");
        assert_eq!(meter.rate("a", 5_000, 2), None, "the server restarted");
        assert_eq!(meter.rate("a", 6_000, 4), Some(2.0));
        meter.rate("b", 6_000, 1);
        meter.rate("a", 7_000, 5);
        meter.forget_unread(7_000);
        assert_eq!(meter.rate("b", 8_000, 2), None, "b was forgotten");
    }

    #[test]
    fn the_canary_queue_is_set_aside_with_its_traffic() {
        let queue = |vhost: &str, name: &str, publish: f64| -> Queue {
            serde_json::from_value(serde_json::json!({
                "name": name, "vhost": vhost,
                "message_stats": {"publish_details": {"rate": publish}}
            }))
            .unwrap()
        };
        let mut view = QueueSnapshot {
            taken_at: 0,
            overview: serde_json::from_value(
                serde_json::json!({"message_stats": {"publish_details": {"rate": 10.5}}}),
            )
            .unwrap(),
            nodes: vec![],
            queues: vec![queue("/", "orders", 10.0), queue("ops", "osprey.canary", 0.5)],
        };
        assert!(view.set_aside("/", "osprey.canary").is_none(), "another vhost's is not ours");
        let canary = view.set_aside("ops", "osprey.canary").expect("set aside");
        assert_eq!(canary.message_stats.publish, Some(0.5));
        assert_eq!(view.queues.len(), 1);
        assert_eq!(view.overview.message_stats.publish, Some(10.0));
    }
}
