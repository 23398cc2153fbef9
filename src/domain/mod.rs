//! Plain domain types shared by adapters, poller, store and web: no I/O and no clock.

pub mod canary;
mod kind;
pub mod kraft;
pub mod metrics;
pub mod queue;
pub mod rocket;

use std::sync::Arc;

use serde::Serialize;

pub use kind::{
    Addresses, CLIP_CHARS, Capabilities, ClusterKind, QueueNoun, Scope, clipped, is_valid_name,
    shortened,
};

/// Milliseconds since the Unix epoch; every timestamp in Osprey is one of these.
pub type Millis = i64;

/// The broker id standing for a broker its cluster names but does not number (a RabbitMQ node,
/// a RocketMQ broker): the low 31 bits of the 32-bit FNV-1a hash of the name, so never negative,
/// and the same whichever other brokers run. Broker history, availability, broker metrics and
/// `broker_down` alerts are keyed by it: changing the hash re-keys every such broker.
pub fn name_id(name: &str) -> i32 {
    let hash = name
        .bytes()
        .fold(0x811c_9dc5_u32, |hash, byte| (hash ^ u32::from(byte)).wrapping_mul(0x0100_0193));
    i32::try_from(hash & 0x7fff_ffff).unwrap_or_default()
}

/// Each item with its broker id ([`name_id`] of its name), sorted by id. Two names hashing alike
/// (about one chance in 2^31 per pair) are settled in name order, the later one taking the next
/// free id, so ids are unique.
pub fn name_ids<T>(items: &[T], name: impl Fn(&T) -> String) -> Vec<(i32, &T)> {
    let mut by_name: Vec<(String, &T)> = items.iter().map(|item| (name(item), item)).collect();
    by_name.sort_by(|a, b| a.0.cmp(&b.0));
    let mut taken = std::collections::BTreeSet::new();
    let mut ids: Vec<(i32, &T)> = by_name
        .into_iter()
        .map(|(name, item)| {
            let mut id = name_id(&name);
            while !taken.insert(id) {
                id = id.checked_add(1).unwrap_or(0);
            }
            (id, item)
        })
        .collect();
    ids.sort_by_key(|&(id, _)| id);
    ids
}

/// What one successful poll saw of a cluster.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct ClusterSnapshot {
    pub cluster: String,
    pub kind: ClusterKind,
    pub taken_at: Millis,
    /// Wall time the poll took, in milliseconds.
    pub poll_millis: u64,
    pub cluster_id: Option<String>,
    pub controller_id: Option<i32>,
    /// Sorted by id.
    pub brokers: Vec<Broker>,
    /// Sorted by name.
    pub topics: Vec<Topic>,
    /// Consumer groups, sorted by name; empty when the cluster kind has none.
    pub groups: Vec<ConsumerGroup>,
    /// Why consumer groups could not be read this poll (the rest of the snapshot is good).
    pub groups_error: Option<String>,
    /// Clusters of queues (RabbitMQ, beanstalkd): the servers' overview, nodes and queues;
    /// `None` for kinds with topics.
    pub queues: Option<Arc<queue::QueueSnapshot>>,
    /// RocketMQ clusters: broker roles and runtime stats, topic classes, per-queue progress of
    /// each group; `None` for other kinds.
    pub rocket: Option<Arc<rocket::RocketSnapshot>>,
    /// Bytes on disk of each replica, where the brokers answer DescribeLogDirs.
    pub log_sizes: Option<Arc<Vec<ReplicaSize>>>,
    /// KRaft clusters: the metadata quorum (its leader is `controller_id`); `None` on
    /// ZooKeeper clusters, other kinds, and Kafka-protocol servers without DescribeQuorum.
    pub quorum: Option<Arc<kraft::Quorum>>,
    /// ZooKeeper-mode Kafka clusters: the brokers' `zookeeper.connect`; `None` on KRaft and
    /// when no broker tells it.
    pub zookeeper: Option<String>,
    /// The version the cluster's metadata says it runs: KRaft's finalized `metadata.version`
    /// (`4.1-IV1`) or a ZooKeeper-mode broker's `inter.broker.protocol.version` (`3.9-IV0`).
    pub protocol_version: Option<String>,
}

/// One replica's bytes on disk, as its broker reported them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct ReplicaSize {
    pub broker: i32,
    pub topic: String,
    pub partition: i32,
    pub bytes: i64,
}

/// A consumer group as the coordinator describes it, with its committed offsets.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct ConsumerGroup {
    pub name: String,
    /// `Stable`, `Empty`, `PreparingRebalance`, `CompletingRebalance`, `Dead`, …
    pub state: String,
    /// `consumer` for Kafka consumers; empty for groups that only commit offsets.
    pub protocol_type: String,
    /// The assignor: `range`, `roundrobin`, `cooperative-sticky`, … (`uniform`, `range` on
    /// KIP-848 groups).
    pub protocol: String,
    /// Kafka's rebalance protocol: `consumer` for a KIP-848 group (`group.protocol=consumer`),
    /// `None` for classic groups and other kinds.
    pub group_type: Option<String>,
    /// Broker id of the group coordinator.
    pub coordinator: Option<i32>,
    pub members: Vec<GroupMember>,
    /// Sorted by topic, then partition.
    pub offsets: Vec<CommittedOffset>,
    /// Why the committed offsets could not be read, when they could not.
    pub offsets_error: Option<String>,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct GroupMember {
    pub member_id: String,
    pub client_id: String,
    pub host: String,
    /// `(topic, partitions)` assigned to this member.
    pub assignment: Vec<(String, Vec<i32>)>,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct CommittedOffset {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    /// Store time of the message at `offset` when the broker tells it (RocketMQ): lag in seconds
    /// is then exact instead of interpolated from the end-offset history.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oldest_unconsumed_at: Option<Millis>,
}

impl ConsumerGroup {
    /// The live member assigned `topic`/`partition`, if any.
    pub fn owner(&self, topic: &str, partition: i32) -> Option<&GroupMember> {
        self.members.iter().find(|m| {
            m.assignment.iter().any(|(t, parts)| t == topic && parts.contains(&partition))
        })
    }
}

#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct Broker {
    pub id: i32,
    pub host: String,
    pub port: u16,
    pub rack: Option<String>,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct Topic {
    pub name: String,
    pub internal: bool,
    /// Osprey's own canary topic: its markers stay out of the cluster's message rates.
    #[serde(default)]
    pub canary: bool,
    /// Sorted by id.
    pub partitions: Vec<Partition>,
    /// Topic configuration entries, when the broker answered DescribeConfigs; sorted by name.
    /// Shared with the adapter's cache: configs change rarely and are not copied every poll.
    pub configs: Option<std::sync::Arc<Vec<ConfigEntry>>>,
    /// Messages appended per second since the previous poll; `None` on the first poll.
    pub messages_in_per_sec: Option<f64>,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct Partition {
    pub id: i32,
    /// `None` when the partition has no leader (offline).
    pub leader: Option<i32>,
    pub replicas: Vec<i32>,
    pub isr: Vec<i32>,
    /// Log start offset; `None` when the leader did not answer.
    pub earliest_offset: Option<i64>,
    /// High watermark (offset of the next message); `None` when the leader did not answer.
    pub latest_offset: Option<i64>,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct ConfigEntry {
    pub name: String,
    pub value: Option<String>,
    pub is_default: bool,
    pub is_sensitive: bool,
    /// Where the value comes from; `None` when the broker does not say.
    pub source: Option<ConfigSource>,
}

/// Where a topic's effective configuration value is set, as DescribeConfigs reports it.
#[derive(Debug, Clone, Copy, Serialize, serde::Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ConfigSource {
    /// Set on the topic itself.
    Topic,
    /// Set dynamically on the broker that answered.
    Broker,
    /// Set dynamically as the default of every broker.
    ClusterDefault,
    /// The broker's `server.properties`.
    BrokerFile,
    /// Kafka's built-in default.
    Default,
}

impl ConfigSource {
    pub fn as_str(self) -> &'static str {
        match self {
            ConfigSource::Topic => "topic",
            ConfigSource::Broker => "broker",
            ConfigSource::ClusterDefault => "cluster_default",
            ConfigSource::BrokerFile => "broker_file",
            ConfigSource::Default => "default",
        }
    }
}

impl Topic {
    /// The topic's time-based retention in seconds (`retention.ms`), when it has one: not for
    /// an unlimited (`-1`) one, nor when its configuration was not read.
    pub fn retention_seconds(&self) -> Option<f64> {
        let entry = self.configs.as_ref()?.iter().find(|c| c.name == "retention.ms")?;
        let ms: i64 = entry.value.as_deref()?.parse().ok()?;
        (ms > 0).then(|| ms as f64 / 1000.0)
    }
}

impl Partition {
    pub fn is_offline(&self) -> bool {
        self.leader.is_none()
    }

    /// Fewer in-sync replicas than replicas (an offline partition counts too).
    pub fn is_under_replicated(&self) -> bool {
        self.isr.len() < self.replicas.len()
    }

    /// Messages currently retained: latest − earliest, when both are known.
    pub fn messages(&self) -> Option<i64> {
        Some((self.latest_offset? - self.earliest_offset?).max(0))
    }

    /// The first replica is the preferred leader.
    pub fn is_led_by_preferred(&self) -> bool {
        self.leader.is_some() && self.replicas.first().copied() == self.leader
    }
}

impl Topic {
    pub fn replication_factor(&self) -> usize {
        self.partitions.iter().map(|p| p.replicas.len()).max().unwrap_or(0)
    }

    pub fn under_replicated(&self) -> usize {
        self.partitions.iter().filter(|p| p.is_under_replicated()).count()
    }

    pub fn offline(&self) -> usize {
        self.partitions.iter().filter(|p| p.is_offline()).count()
    }

    /// Sum of high watermarks: every message ever appended (that the broker told us about).
    pub fn end_offset_sum(&self) -> i64 {
        self.partitions.iter().filter_map(|p| p.latest_offset).sum()
    }

    pub fn messages(&self) -> i64 {
        self.partitions.iter().filter_map(Partition::messages).sum()
    }
}

impl ClusterSnapshot {
    /// A snapshot of `cluster` taken at `taken_at` that holds nothing yet.
    pub fn empty(cluster: &str, kind: ClusterKind, taken_at: Millis) -> ClusterSnapshot {
        ClusterSnapshot {
            cluster: cluster.into(),
            kind,
            taken_at,
            poll_millis: 0,
            cluster_id: None,
            controller_id: None,
            brokers: vec![],
            topics: vec![],
            groups: vec![],
            groups_error: None,
            queues: None,
            rocket: None,
            log_sizes: None,
            quorum: None,
            zookeeper: None,
            protocol_version: None,
        }
    }

    /// A cluster of queues as one poll saw it (taking `poll_millis`): its nodes or servers that
    /// answered as `brokers`, its queues in `view`, no topics or groups.
    pub fn of_queues(
        cluster: String,
        kind: ClusterKind,
        poll_millis: u64,
        brokers: Vec<Broker>,
        view: queue::QueueSnapshot,
    ) -> ClusterSnapshot {
        ClusterSnapshot {
            cluster,
            kind,
            taken_at: view.taken_at,
            poll_millis,
            cluster_id: None,
            controller_id: None,
            brokers,
            topics: Vec::new(),
            groups: Vec::new(),
            groups_error: None,
            queues: Some(Arc::new(view)),
            rocket: None,
            log_sizes: None,
            quorum: None,
            zookeeper: None,
            protocol_version: None,
        }
    }

    pub fn partition_count(&self) -> usize {
        self.topics.iter().map(|t| t.partitions.len()).sum()
    }

    pub fn under_replicated(&self) -> usize {
        self.topics.iter().map(Topic::under_replicated).sum()
    }

    pub fn offline(&self) -> usize {
        self.topics.iter().map(Topic::offline).sum()
    }

    pub fn end_offset_sum(&self) -> i64 {
        self.topics.iter().map(Topic::end_offset_sum).sum()
    }

    /// Messages/s over every topic; `None` until two polls were seen.
    pub fn messages_in_per_sec(&self) -> Option<f64> {
        let mut rates = self
            .topics
            .iter()
            .filter(|t| !t.canary)
            .filter_map(|t| t.messages_in_per_sec)
            .peekable();
        rates.peek()?;
        Some(rates.sum())
    }

    pub fn topic(&self, name: &str) -> Option<&Topic> {
        self.topics.binary_search_by(|t| t.name.as_str().cmp(name)).ok().map(|i| &self.topics[i])
    }

    /// Partitions led by each broker, as `(broker id, count)`.
    pub fn leader_counts(&self) -> std::collections::BTreeMap<i32, usize> {
        let mut counts = std::collections::BTreeMap::new();
        for leader in self.topics.iter().flat_map(|t| t.partitions.iter().filter_map(|p| p.leader))
        {
            *counts.entry(leader).or_insert(0) += 1;
        }
        counts
    }

    /// Marks Osprey's canary topic (internal, out of the cluster's rates).
    pub fn mark_canary(&mut self, topic: &str) {
        if let Ok(i) = self.topics.binary_search_by(|t| t.name.as_str().cmp(topic)) {
            self.topics[i].canary = true;
            self.topics[i].internal = true;
        }
    }

    /// Fills each topic's messages/s from the end offsets of `previous` (the last good poll).
    /// A topic whose offsets went backwards (recreated) or that is new gets `None`.
    pub fn derive_rates_from(&mut self, previous: &ClusterSnapshot) {
        let elapsed_secs = (self.taken_at - previous.taken_at) as f64 / 1000.0;
        if elapsed_secs <= 0.0 {
            return;
        }
        for topic in &mut self.topics {
            topic.messages_in_per_sec = previous.topic(&topic.name).and_then(|before| {
                let grown = topic.end_offset_sum() - before.end_offset_sum();
                (grown >= 0 && before.partitions.len() <= topic.partitions.len())
                    .then(|| grown as f64 / elapsed_secs)
            });
        }
    }
}

#[cfg(test)]
pub(crate) mod fixtures {
    use super::*;

    pub fn partition(id: i32, leader: Option<i32>, offsets: (i64, i64)) -> Partition {
        Partition {
            id,
            leader,
            replicas: vec![1, 2, 3],
            isr: vec![1, 2, 3],
            earliest_offset: Some(offsets.0),
            latest_offset: Some(offsets.1),
        }
    }

    pub fn topic(name: &str, partitions: Vec<Partition>) -> Topic {
        Topic {
            canary: false,
            name: name.into(),
            internal: false,
            partitions,
            configs: None,
            messages_in_per_sec: None,
        }
    }

    pub fn snapshot(taken_at: Millis, topics: Vec<Topic>) -> ClusterSnapshot {
        ClusterSnapshot {
            poll_millis: 5,
            cluster_id: Some("id".into()),
            controller_id: Some(1),
            topics,
            ..ClusterSnapshot::empty("c", ClusterKind::Kafka, taken_at)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::fixtures::*;

    #[test]
    fn partition_health_flags() {
        let mut p = partition(0, Some(1), (5, 15));
        assert!(!p.is_offline() && !p.is_under_replicated() && p.is_led_by_preferred());
        assert_eq!(p.messages(), Some(10));
        p.isr = vec![1];
        assert!(p.is_under_replicated());
        p.leader = None;
        assert!(p.is_offline() && !p.is_led_by_preferred());
        p.latest_offset = None;
        assert_eq!(p.messages(), None);
    }

    #[test]
    fn rates_come_from_end_offset_growth_between_polls() {
        let before = snapshot(
            10_000,
            vec![
                topic("a", vec![partition(0, Some(1), (0, 100)), partition(1, Some(2), (0, 50))]),
                topic("gone", vec![partition(0, Some(1), (0, 1))]),
                topic("recreated", vec![partition(0, Some(1), (0, 500))]),
            ],
        );
        let mut after = snapshot(
            12_000,
            vec![
                topic("a", vec![partition(0, Some(1), (0, 120)), partition(1, Some(2), (0, 70))]),
                topic("new", vec![partition(0, Some(1), (0, 7))]),
                topic("recreated", vec![partition(0, Some(1), (0, 3))]),
            ],
        );
        after.derive_rates_from(&before);
        assert_eq!(after.topic("a").unwrap().messages_in_per_sec, Some(20.0));
        assert_eq!(after.topic("new").unwrap().messages_in_per_sec, None);
        assert_eq!(after.topic("recreated").unwrap().messages_in_per_sec, None);
        assert_eq!(after.messages_in_per_sec(), Some(20.0));
    }

    #[test]
    fn cluster_totals() {
        let mut t = topic("a", vec![partition(0, Some(1), (0, 10)), partition(1, None, (0, 5))]);
        t.partitions[1].isr = vec![];
        let s = snapshot(1, vec![t]);
        assert_eq!(s.partition_count(), 2);
        assert_eq!(s.under_replicated(), 1);
        assert_eq!(s.offline(), 1);
        assert_eq!(s.end_offset_sum(), 15);
        assert_eq!(s.messages_in_per_sec(), None);
        assert_eq!(s.leader_counts().get(&1), Some(&1));
    }
}
