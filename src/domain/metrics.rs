//! Broker metrics in one model whatever their source: rates derived from offsets, a Prometheus
//! JMX-exporter scrape, Jolokia, RabbitMQ's management rates or RocketMQ's runtime stats.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{ClusterSnapshot, Millis};

/// The metrics of `pairs` that have a value.
fn known<const N: usize>(pairs: [(Metric, Option<f64>); N]) -> BTreeMap<Metric, f64> {
    pairs.into_iter().filter_map(|(metric, value)| Some((metric, value?))).collect()
}

/// Messages/s each leader took in since `previous`, in all and per topic, from end offsets.
fn leader_rates(
    snapshot: &ClusterSnapshot,
    previous: &ClusterSnapshot,
) -> BTreeMap<i32, (f64, BTreeMap<String, f64>)> {
    let mut rates: BTreeMap<i32, (f64, BTreeMap<String, f64>)> = BTreeMap::new();
    let elapsed = (snapshot.taken_at - previous.taken_at) as f64 / 1000.0;
    if elapsed <= 0.0 {
        return rates;
    }
    for topic in snapshot.topics.iter().filter(|t| !t.canary) {
        let Some(before) = previous.topic(&topic.name) else { continue };
        for partition in &topic.partitions {
            let (Some(leader), Some(end)) = (partition.leader, partition.latest_offset) else {
                continue;
            };
            let earlier = before
                .partitions
                .iter()
                .find(|p| p.id == partition.id)
                .and_then(|p| p.latest_offset);
            let Some(earlier) = earlier.filter(|e| *e <= end) else { continue };
            let rate = (end - earlier) as f64 / elapsed;
            let entry = rates.entry(leader).or_default();
            entry.0 += rate;
            *entry.1.entry(topic.name.clone()).or_default() += rate;
        }
    }
    rates
}

/// A broker metric Osprey knows. Rates are per second; idle values are percentages (0–100).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    BytesInPerSec,
    BytesOutPerSec,
    MessagesInPerSec,
    MessagesOutPerSec,
    BytesRejectedPerSec,
    ProduceRequestsPerSec,
    FailedProduceRequestsPerSec,
    FetchRequestsPerSec,
    FailedFetchRequestsPerSec,
    UnderReplicatedPartitions,
    OfflinePartitions,
    ActiveControllers,
    RequestHandlerIdlePercent,
    NetworkProcessorIdlePercent,
    /// Produce request total time, milliseconds (99th percentile when the source has it).
    ProduceTimeMs,
    FetchTimeMs,
    HeapUsedBytes,
    HeapMaxBytes,
    GcPerSec,
    /// Milliseconds spent in garbage collection per second.
    GcTimeMsPerSec,
    LogSizeBytes,
    /// ActiveMQ: memory, message store and temporary store use, in per cent of their limits.
    MemoryPercentUsage,
    StorePercentUsage,
    TempPercentUsage,
}

/// How a metric combines over brokers into a cluster figure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Combine {
    Sum,
    /// The cluster is as bad as its worst broker (least idle).
    Min,
    Max,
}

impl Metric {
    pub const ALL: [Metric; 24] = [
        Metric::BytesInPerSec,
        Metric::BytesOutPerSec,
        Metric::MessagesInPerSec,
        Metric::MessagesOutPerSec,
        Metric::BytesRejectedPerSec,
        Metric::ProduceRequestsPerSec,
        Metric::FailedProduceRequestsPerSec,
        Metric::FetchRequestsPerSec,
        Metric::FailedFetchRequestsPerSec,
        Metric::UnderReplicatedPartitions,
        Metric::OfflinePartitions,
        Metric::ActiveControllers,
        Metric::RequestHandlerIdlePercent,
        Metric::NetworkProcessorIdlePercent,
        Metric::ProduceTimeMs,
        Metric::FetchTimeMs,
        Metric::HeapUsedBytes,
        Metric::HeapMaxBytes,
        Metric::GcPerSec,
        Metric::GcTimeMsPerSec,
        Metric::LogSizeBytes,
        Metric::MemoryPercentUsage,
        Metric::StorePercentUsage,
        Metric::TempPercentUsage,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Metric::BytesInPerSec => "bytes_in_per_sec",
            Metric::BytesOutPerSec => "bytes_out_per_sec",
            Metric::MessagesInPerSec => "messages_in_per_sec",
            Metric::MessagesOutPerSec => "messages_out_per_sec",
            Metric::BytesRejectedPerSec => "bytes_rejected_per_sec",
            Metric::ProduceRequestsPerSec => "produce_requests_per_sec",
            Metric::FailedProduceRequestsPerSec => "failed_produce_requests_per_sec",
            Metric::FetchRequestsPerSec => "fetch_requests_per_sec",
            Metric::FailedFetchRequestsPerSec => "failed_fetch_requests_per_sec",
            Metric::UnderReplicatedPartitions => "under_replicated_partitions",
            Metric::OfflinePartitions => "offline_partitions",
            Metric::ActiveControllers => "active_controllers",
            Metric::RequestHandlerIdlePercent => "request_handler_idle_percent",
            Metric::NetworkProcessorIdlePercent => "network_processor_idle_percent",
            Metric::ProduceTimeMs => "produce_time_ms",
            Metric::FetchTimeMs => "fetch_time_ms",
            Metric::HeapUsedBytes => "heap_used_bytes",
            Metric::HeapMaxBytes => "heap_max_bytes",
            Metric::GcPerSec => "gc_per_sec",
            Metric::GcTimeMsPerSec => "gc_time_ms_per_sec",
            Metric::LogSizeBytes => "log_size_bytes",
            Metric::MemoryPercentUsage => "memory_percent_usage",
            Metric::StorePercentUsage => "store_percent_usage",
            Metric::TempPercentUsage => "temp_percent_usage",
        }
    }

    pub fn parse(code: &str) -> Option<Metric> {
        Metric::ALL.into_iter().find(|m| m.as_str() == code)
    }

    pub fn combine(self) -> Combine {
        match self {
            Metric::RequestHandlerIdlePercent | Metric::NetworkProcessorIdlePercent => Combine::Min,
            Metric::OfflinePartitions
            | Metric::ProduceTimeMs
            | Metric::FetchTimeMs
            | Metric::MemoryPercentUsage
            | Metric::StorePercentUsage
            | Metric::TempPercentUsage => Combine::Max,
            _ => Combine::Sum,
        }
    }

    /// Whether the value is a byte count or byte rate (shown as KiB, MiB, …).
    pub fn is_bytes(self) -> bool {
        matches!(
            self,
            Metric::BytesInPerSec
                | Metric::BytesOutPerSec
                | Metric::BytesRejectedPerSec
                | Metric::HeapUsedBytes
                | Metric::HeapMaxBytes
                | Metric::LogSizeBytes
        )
    }
}

/// Where a broker's metrics came from this poll.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// Derived by Osprey from offsets (and DescribeLogDirs): no broker set-up.
    Offsets,
    Prometheus,
    Jolokia,
    /// RabbitMQ's management API rates.
    Management,
    /// RocketMQ's GET_BROKER_RUNTIME_INFO.
    Runtime,
}

/// One broker's metrics at one poll.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct BrokerMetrics {
    pub broker: i32,
    pub sources: Vec<Source>,
    pub values: BTreeMap<Metric, f64>,
    /// Per-topic values (bytes and messages in/out) where the source has them.
    pub topics: BTreeMap<String, BTreeMap<Metric, f64>>,
    /// Why a configured scrape failed this poll (the other sources still count).
    pub error: Option<String>,
}

impl BrokerMetrics {
    pub fn new(broker: i32) -> BrokerMetrics {
        BrokerMetrics {
            broker,
            sources: Vec::new(),
            values: BTreeMap::new(),
            topics: BTreeMap::new(),
            error: None,
        }
    }

    /// Adds values from a source; values already present (from a better source) stay.
    pub fn merge(&mut self, source: Source, values: &BTreeMap<Metric, f64>) {
        if values.is_empty() {
            return;
        }
        if !self.sources.contains(&source) {
            self.sources.push(source);
        }
        for (metric, value) in values {
            if value.is_finite() {
                self.values.entry(*metric).or_insert(*value);
            }
        }
    }
}

/// Every broker's metrics at one poll, and the cluster figures they add up to.
#[derive(Debug, Clone, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct ClusterMetrics {
    pub at: Millis,
    pub brokers: Vec<BrokerMetrics>,
    /// Cluster figures the source gives as a whole (RabbitMQ's overview rates); they win over
    /// the sum of the brokers.
    pub totals: BTreeMap<Metric, f64>,
}

impl ClusterMetrics {
    /// Every broker's metrics from what the poll saw: `scraped` (Prometheus, Jolokia) first,
    /// then what the snapshot itself tells — RocketMQ runtime stats, RabbitMQ node memory and
    /// rates — and messages in/s per leader from end offsets against `previous`.
    pub fn assemble(
        snapshot: &ClusterSnapshot,
        previous: Option<&ClusterSnapshot>,
        scraped: Vec<BrokerMetrics>,
    ) -> ClusterMetrics {
        let mut brokers: BTreeMap<i32, BrokerMetrics> =
            snapshot.brokers.iter().map(|b| (b.id, BrokerMetrics::new(b.id))).collect();
        for scraped in scraped {
            match brokers.get_mut(&scraped.broker) {
                Some(broker) => *broker = scraped,
                // An endpoint for a broker the cluster does not list (yet): shown as it is.
                None => {
                    brokers.insert(scraped.broker, scraped);
                }
            }
        }
        let mut totals = BTreeMap::new();
        if let Some(rocket) = &snapshot.rocket {
            for (index, broker) in rocket.brokers.iter().enumerate() {
                let (Ok(id), Some(runtime)) = (i32::try_from(index), &broker.runtime) else {
                    continue;
                };
                let values = known([
                    (Metric::MessagesInPerSec, runtime.put_tps),
                    (Metric::MessagesOutPerSec, runtime.get_tps),
                ]);
                brokers
                    .entry(id)
                    .or_insert_with(|| BrokerMetrics::new(id))
                    .merge(Source::Runtime, &values);
            }
        }
        if let Some(view) = &snapshot.queues {
            // The ids the snapshot's brokers have (from node names), not listing positions.
            let running =
                super::queue::node_ids(&view.nodes).into_iter().filter(|(_, n)| n.running);
            for (id, node) in running {
                let values = known([
                    (Metric::HeapUsedBytes, node.mem_used.map(|v| v as f64)),
                    (Metric::HeapMaxBytes, node.mem_limit.map(|v| v as f64)),
                ]);
                let broker = brokers.entry(id).or_insert_with(|| BrokerMetrics::new(id));
                broker.merge(Source::Management, &values);
                if let Some(usage) = node.usage {
                    let values = known([
                        (Metric::MemoryPercentUsage, usage.memory_percent),
                        (Metric::StorePercentUsage, usage.store_percent),
                        (Metric::TempPercentUsage, usage.temp_percent),
                    ]);
                    broker.merge(Source::Jolokia, &values);
                }
            }
            let rates = &view.overview.message_stats;
            totals.extend(rates.publish.map(|v| (Metric::MessagesInPerSec, v)));
            totals.extend(rates.deliver_get.map(|v| (Metric::MessagesOutPerSec, v)));
        }
        if let Some(sizes) = &snapshot.log_sizes {
            let mut by_broker: BTreeMap<i32, (f64, BTreeMap<&str, f64>)> = BTreeMap::new();
            for replica in sizes.iter() {
                let entry = by_broker.entry(replica.broker).or_default();
                entry.0 += replica.bytes as f64;
                *entry.1.entry(replica.topic.as_str()).or_default() += replica.bytes as f64;
            }
            for (id, (total, topics)) in by_broker {
                let broker = brokers.entry(id).or_insert_with(|| BrokerMetrics::new(id));
                broker.merge(Source::Offsets, &[(Metric::LogSizeBytes, total)].into());
                for (topic, bytes) in topics {
                    broker
                        .topics
                        .entry(topic.to_owned())
                        .or_default()
                        .insert(Metric::LogSizeBytes, bytes);
                }
            }
        }
        if let Some(previous) = previous {
            for (leader, (rate, topics)) in leader_rates(snapshot, previous) {
                let broker = brokers.entry(leader).or_insert_with(|| BrokerMetrics::new(leader));
                broker.merge(Source::Offsets, &[(Metric::MessagesInPerSec, rate)].into());
                for (topic, rate) in topics {
                    broker
                        .topics
                        .entry(topic)
                        .or_default()
                        .entry(Metric::MessagesInPerSec)
                        .or_insert(rate);
                }
            }
        }
        ClusterMetrics { at: snapshot.taken_at, brokers: brokers.into_values().collect(), totals }
    }

    /// The cluster figure of `metric` over the brokers that have it.
    pub fn cluster_value(&self, metric: Metric) -> Option<f64> {
        if let Some(total) = self.totals.get(&metric) {
            return Some(*total);
        }
        let values = self.brokers.iter().filter_map(|b| b.values.get(&metric).copied());
        match metric.combine() {
            Combine::Sum => values.reduce(|a, b| a + b),
            Combine::Min => values.reduce(f64::min),
            Combine::Max => values.reduce(f64::max),
        }
    }

    pub fn cluster_values(&self) -> BTreeMap<Metric, f64> {
        Metric::ALL.into_iter().filter_map(|m| Some((m, self.cluster_value(m)?))).collect()
    }

    /// Per topic, `metric` summed over brokers.
    pub fn topic_values(&self, metric: Metric) -> BTreeMap<&str, f64> {
        let mut sums: BTreeMap<&str, f64> = BTreeMap::new();
        for broker in &self.brokers {
            for (topic, values) in &broker.topics {
                if let Some(value) = values.get(&metric) {
                    *sums.entry(topic.as_str()).or_default() += value;
                }
            }
        }
        sums
    }

    pub fn broker(&self, id: i32) -> Option<&BrokerMetrics> {
        self.brokers.iter().find(|b| b.broker == id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cluster_figures_sum_rates_and_take_the_least_idle_broker() {
        let broker = |id, bytes_in: f64, idle: f64| {
            let mut b = BrokerMetrics::new(id);
            b.merge(
                Source::Prometheus,
                &[(Metric::BytesInPerSec, bytes_in), (Metric::RequestHandlerIdlePercent, idle)]
                    .into(),
            );
            b
        };
        let metrics = ClusterMetrics {
            at: 0,
            brokers: vec![broker(1, 100.0, 80.0), broker(2, 50.0, 15.0)],
            totals: BTreeMap::new(),
        };
        assert_eq!(metrics.cluster_value(Metric::BytesInPerSec), Some(150.0));
        assert_eq!(metrics.cluster_value(Metric::RequestHandlerIdlePercent), Some(15.0));
        assert_eq!(metrics.cluster_value(Metric::HeapUsedBytes), None);
    }

    #[test]
    fn leaders_take_in_what_their_partitions_grew_and_scrapes_win() {
        use crate::domain::fixtures::{partition, snapshot, topic};
        let at = |t: i64, ends: (i64, i64)| {
            snapshot(
                t,
                vec![topic(
                    "orders",
                    vec![partition(0, Some(1), (0, ends.0)), partition(1, Some(2), (0, ends.1))],
                )],
            )
        };
        let (before, now) = (at(0, (100, 50)), at(10_000, (300, 60)));
        let mut jolokia = BrokerMetrics::new(2);
        jolokia.merge(Source::Jolokia, &[(Metric::MessagesInPerSec, 7.0)].into());
        let metrics = ClusterMetrics::assemble(&now, Some(&before), vec![jolokia]);
        let broker = |id| metrics.broker(id).unwrap();
        assert_eq!(broker(1).values[&Metric::MessagesInPerSec], 20.0);
        assert_eq!(broker(1).topics["orders"][&Metric::MessagesInPerSec], 20.0);
        assert_eq!(broker(2).values[&Metric::MessagesInPerSec], 7.0, "the scrape wins");
        assert_eq!(metrics.cluster_value(Metric::MessagesInPerSec), Some(27.0));
        assert!(
            ClusterMetrics::assemble(&now, None, vec![])
                .cluster_value(Metric::MessagesInPerSec)
                .is_none()
        );
    }

    #[test]
    fn rabbit_node_memory_lands_on_the_ids_of_the_node_brokers() {
        use crate::domain::fixtures::snapshot;
        use crate::domain::queue::{Node, Overview, QueueSnapshot, node_id};
        let node = |name: &str, running: bool, mem_used: u64| Node {
            name: name.into(),
            running,
            mem_used: Some(mem_used),
            mem_limit: Some(1000),
            ..Node::default()
        };
        let mut now = snapshot(10_000, vec![]);
        now.kind = crate::domain::ClusterKind::Rabbitmq;
        // Listed out of name order, with a stopped node between: positions are no ids.
        let nodes = vec![
            node("rabbit@c", true, 300),
            node("rabbit@b", false, 200),
            node("rabbit@a", true, 100),
        ];
        now.brokers = ["rabbit@a", "rabbit@c"]
            .into_iter()
            .map(|name| crate::domain::Broker {
                id: node_id(name),
                host: name.into(),
                port: 0,
                rack: None,
            })
            .collect();
        now.brokers.sort_by_key(|b| b.id);
        now.queues = Some(std::sync::Arc::new(QueueSnapshot {
            taken_at: 10_000,
            overview: Overview::default(),
            nodes,
            queues: vec![],
        }));
        let metrics = ClusterMetrics::assemble(&now, None, vec![]);
        let ids: Vec<i32> = metrics.brokers.iter().map(|b| b.broker).collect();
        let mut expected = vec![node_id("rabbit@a"), node_id("rabbit@c")];
        expected.sort_unstable();
        assert_eq!(ids, expected, "no broker at a positional id, none for the stopped node");
        let used = |name| metrics.broker(node_id(name)).unwrap().values[&Metric::HeapUsedBytes];
        assert_eq!(used("rabbit@a"), 100.0);
        assert_eq!(used("rabbit@c"), 300.0);
        assert_eq!(metrics.broker(node_id("rabbit@a")).unwrap().sources, [Source::Management]);
        assert!(metrics.broker(node_id("rabbit@b")).is_none());
        assert_eq!(metrics.cluster_value(Metric::HeapUsedBytes), Some(400.0));
    }

    #[test]
    fn a_better_source_keeps_its_value_and_names_round_trip() {
        let mut b = BrokerMetrics::new(1);
        b.merge(Source::Jolokia, &[(Metric::MessagesInPerSec, 10.0)].into());
        b.merge(
            Source::Offsets,
            &[(Metric::MessagesInPerSec, 9.0), (Metric::LogSizeBytes, 5.0)].into(),
        );
        assert_eq!(b.values[&Metric::MessagesInPerSec], 10.0);
        assert_eq!(b.sources, [Source::Jolokia, Source::Offsets]);
        for metric in Metric::ALL {
            assert_eq!(Metric::parse(metric.as_str()), Some(metric));
        }
    }
}
