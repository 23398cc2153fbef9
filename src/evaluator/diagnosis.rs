//! Why a consumer group is behind, from what Osprey already holds: its members coming and going,
//! one partition holding the lag alone, producers outpacing consumers, a rewound offset,
//! under-replicated partitions or a busy request handler on the brokers that lead its lagging
//! partitions, the cluster's canary losing markers. Each hint carries the numbers behind it.
//! Pure: `now` is a parameter.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::{GroupLag, PartitionStatus};
use crate::domain::canary::CanaryReading;
use crate::domain::metrics::{ClusterMetrics, Metric};
use crate::domain::{ClusterSnapshot, Millis};

/// How far back a diagnosis looks for membership changes (a rule adds its own hold).
pub const DIAGNOSIS_LOOKBACK: Millis = 15 * 60 * 1000;
/// Share of a group's lag one partition must hold, with others lagging little, to be "hot".
const HOT_SHARE_PCT: f64 = 80.0;
/// Producers outpace consumers when they send this many times what is read.
const OUTPACE_FACTOR: f64 = 1.5;
/// A request handler this idle or less is busy (Kafka's own guidance warns under 30 %).
const BUSY_IDLE_PCT: f64 = 20.0;

/// One reason a group may be behind, with its numbers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "hint", rename_all = "snake_case")]
pub enum Hint {
    /// Nobody consumes: the group has no member while messages wait.
    NoMembers,
    /// Members joined or left in the lookback: `changes` rebalances, the last `ago` seconds ago.
    MembersChanged { changes: usize, joined: Vec<String>, left: Vec<String>, ago_seconds: f64 },
    /// One partition holds most of the lag: a hot partition, or its consumer is stuck (`stalled`).
    HotPartition {
        topic: String,
        partition: i32,
        share_pct: f64,
        lag: i64,
        owner: Option<String>,
        stalled: bool,
    },
    /// Producers send faster than the group reads.
    Outpaced { produce_per_sec: f64, consume_per_sec: f64 },
    /// A committed offset went backwards: someone reset the group.
    Rewound { topic: String, partition: i32 },
    /// Partitions the group reads have fewer in-sync replicas than replicas.
    UnderReplicated { topic: String, partitions: usize },
    /// A broker leading lagging partitions has a busy request handler.
    BusyBroker { broker: i32, idle_pct: f64 },
    /// The cluster's end-to-end canary lost markers over its window (on these brokers): messages
    /// may not get through at all.
    CanaryFailing { lost: u64, sent: u64, brokers: Vec<i32> },
}

/// The canary's hint, when it lost markers over its window.
pub fn canary_failing(reading: Option<&CanaryReading>) -> Option<Hint> {
    let reading = reading?;
    (reading.cluster.lost > 0).then(|| Hint::CanaryFailing {
        lost: reading.cluster.lost,
        sent: reading.cluster.sent,
        brokers: reading.brokers.iter().filter(|b| b.figures.lost > 0).map(|b| b.broker).collect(),
    })
}

/// The hints for `group` as of `now`, looking back `lookback` for membership changes; in the
/// order an operator would check them. Empty when nothing stands out; only membership changes
/// when nothing is behind.
pub fn diagnose(
    group: &GroupLag,
    snapshot: &ClusterSnapshot,
    metrics: Option<&ClusterMetrics>,
    now: Millis,
    lookback: Millis,
) -> Vec<Hint> {
    let summary = &group.summary;
    let mut hints = Vec::new();
    if summary.lag > 0 && summary.members == 0 {
        hints.push(Hint::NoMembers);
    }
    let recent: Vec<_> =
        group.membership_changes.iter().filter(|c| c.at >= now - lookback).collect();
    if let Some(last) = recent.last() {
        let joined: BTreeSet<&String> = recent.iter().flat_map(|c| &c.joined).collect();
        let left: BTreeSet<&String> = recent.iter().flat_map(|c| &c.left).collect();
        hints.push(Hint::MembersChanged {
            changes: recent.len(),
            joined: joined.into_iter().cloned().collect(),
            left: left.into_iter().cloned().collect(),
            ago_seconds: (now - last.at).max(0) as f64 / 1000.0,
        });
    }
    // The rest explains a lag; without one, who came and went is all there is to tell (a
    // rebalance storm on a group that keeps up).
    if summary.lag <= 0 {
        return hints;
    }
    let partitions = || group.topics.iter().flat_map(|t| t.partitions.iter().map(move |p| (t, p)));
    let lagging = partitions().filter(|(_, p)| p.lag > 0).count();
    if let Some((topic, hottest)) = partitions().max_by_key(|(_, p)| p.lag) {
        let share_pct = hottest.lag as f64 * 100.0 / summary.lag as f64;
        if partitions().count() > 1 && share_pct >= HOT_SHARE_PCT {
            hints.push(Hint::HotPartition {
                topic: topic.topic.clone(),
                partition: hottest.partition,
                share_pct,
                lag: hottest.lag,
                owner: hottest.owner.clone(),
                stalled: hottest.status >= PartitionStatus::Stall,
            });
        }
    }
    if let (Some(produce), Some(consume)) = (summary.produce_per_sec, summary.consume_per_sec)
        && produce > 0.0
        && produce >= consume * OUTPACE_FACTOR
    {
        hints.push(Hint::Outpaced { produce_per_sec: produce, consume_per_sec: consume });
    }
    if let Some((topic, p)) = partitions().find(|(_, p)| p.status == PartitionStatus::Rewind) {
        hints.push(Hint::Rewound { topic: topic.topic.clone(), partition: p.partition });
    }
    let mut leaders = BTreeSet::new();
    for topic in &group.topics {
        let Some(polled) = snapshot.topics.iter().find(|t| t.name == topic.topic) else {
            continue;
        };
        let read: BTreeSet<i32> = topic.partitions.iter().map(|p| p.partition).collect();
        let under = polled
            .partitions
            .iter()
            .filter(|p| read.contains(&p.id) && p.is_under_replicated())
            .count();
        if under > 0 {
            hints.push(Hint::UnderReplicated { topic: topic.topic.clone(), partitions: under });
        }
        let behind: BTreeSet<i32> =
            topic.partitions.iter().filter(|p| p.lag > 0).map(|p| p.partition).collect();
        leaders.extend(
            polled.partitions.iter().filter(|p| behind.contains(&p.id)).filter_map(|p| p.leader),
        );
    }
    if lagging > 0 {
        for broker in metrics.into_iter().flat_map(|m| &m.brokers) {
            let idle = broker.values.get(&Metric::RequestHandlerIdlePercent).copied();
            if let Some(idle_pct) = idle.filter(|&i| i <= BUSY_IDLE_PCT)
                && leaders.contains(&broker.broker)
            {
                hints.push(Hint::BusyBroker { broker: broker.broker, idle_pct });
            }
        }
    }
    hints
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::fixtures::{partition, snapshot, topic};
    use crate::evaluator::{Drain, GroupSummary, MembershipChange, PartitionLag, TopicLag};

    fn partition_lag(partition: i32, lag: i64, status: PartitionStatus) -> PartitionLag {
        PartitionLag {
            partition,
            committed: 0,
            end: Some(lag),
            lag,
            lag_seconds: None,
            lag_seconds_floor: false,
            status,
            status_thin: false,
            owner: Some("billing-1 (/10.0.0.7)".into()),
            retention: Default::default(),
        }
    }

    fn lagging(partitions: Vec<PartitionLag>, members: usize) -> GroupLag {
        let lag = partitions.iter().map(|p| p.lag).sum();
        GroupLag {
            summary: GroupSummary {
                name: "billing".into(),
                state: "Stable".into(),
                protocol_type: "consumer".into(),
                protocol: "range".into(),
                group_type: None,
                coordinator: Some(1),
                members,
                status: PartitionStatus::Ok,
                status_thin: false,
                lag,
                max_lag: lag,
                lag_seconds: None,
                lag_seconds_floor: false,
                lag_trend_per_sec: None,
                consume_per_sec: Some(100.0),
                produce_per_sec: Some(100.0),
                drain_seconds: None,
                drain: Drain::Unknown,
                retention: Default::default(),
                offsets_error: None,
            },
            topics: vec![TopicLag {
                topic: "orders".into(),
                lag,
                max_lag: lag,
                lag_seconds: None,
                lag_seconds_floor: false,
                lag_trend_per_sec: None,
                status: PartitionStatus::Ok,
                status_thin: false,
                retention: Default::default(),
                partitions,
            }],
            membership_changes: Vec::new(),
        }
    }

    fn cluster() -> ClusterSnapshot {
        let mut under = partition(1, Some(2), (0, 10));
        under.isr = vec![2];
        snapshot(0, vec![topic("orders", vec![partition(0, Some(1), (0, 10)), under])])
    }

    #[test]
    fn a_stopped_member_and_a_stuck_hot_partition_are_named_with_their_numbers() {
        let mut group = lagging(
            vec![
                partition_lag(0, 950, PartitionStatus::Stall),
                partition_lag(1, 50, PartitionStatus::Ok),
            ],
            1,
        );
        group.membership_changes = vec![MembershipChange {
            at: 10_000,
            joined: vec![],
            left: vec!["billing-2 (/10.0.0.8)".into()],
            members: 1,
        }];
        let hints = diagnose(&group, &cluster(), None, 70_000, 900_000);
        assert_eq!(
            hints[0],
            Hint::MembersChanged {
                changes: 1,
                joined: vec![],
                left: vec!["billing-2 (/10.0.0.8)".into()],
                ago_seconds: 60.0
            }
        );
        assert_eq!(
            hints[1],
            Hint::HotPartition {
                topic: "orders".into(),
                partition: 0,
                share_pct: 95.0,
                lag: 950,
                owner: Some("billing-1 (/10.0.0.7)".into()),
                stalled: true
            }
        );
        assert!(hints.contains(&Hint::UnderReplicated { topic: "orders".into(), partitions: 1 }));
        // Long ago is not around this incident's start.
        assert!(
            !diagnose(&group, &cluster(), None, 10_000_000, 900_000)
                .iter()
                .any(|h| matches!(h, Hint::MembersChanged { .. }))
        );
    }

    #[test]
    fn producers_outpacing_an_empty_group_and_a_busy_leader() {
        let mut group = lagging(
            vec![
                partition_lag(0, 500, PartitionStatus::Ok),
                partition_lag(1, 400, PartitionStatus::Ok),
            ],
            0,
        );
        group.summary.produce_per_sec = Some(120.0);
        group.summary.consume_per_sec = Some(12.0);
        let metrics = ClusterMetrics {
            at: 0,
            brokers: vec![crate::domain::metrics::BrokerMetrics {
                broker: 2,
                sources: vec![],
                values: [(Metric::RequestHandlerIdlePercent, 8.0)].into(),
                topics: Default::default(),
                error: None,
            }],
            totals: Default::default(),
        };
        let hints = diagnose(&group, &cluster(), Some(&metrics), 0, 900_000);
        assert_eq!(hints[0], Hint::NoMembers);
        assert!(hints.contains(&Hint::Outpaced { produce_per_sec: 120.0, consume_per_sec: 12.0 }));
        assert!(hints.contains(&Hint::BusyBroker { broker: 2, idle_pct: 8.0 }), "{hints:?}");
        assert!(!hints.iter().any(|h| matches!(h, Hint::HotPartition { .. })), "lag spread evenly");
    }

    #[test]
    fn nothing_behind_nothing_to_say_and_a_rewind_is_told() {
        let idle = lagging(vec![partition_lag(0, 0, PartitionStatus::Ok)], 0);
        assert!(diagnose(&idle, &cluster(), None, 0, 900_000).is_empty());
        let reset = lagging(vec![partition_lag(0, 70, PartitionStatus::Rewind)], 1);
        let hints = diagnose(&reset, &cluster(), None, 0, 900_000);
        assert_eq!(hints, vec![Hint::Rewound { topic: "orders".into(), partition: 0 }]);
    }
}
