//! Read models: what pages and the JSON API show, computed from the pollers' latest state and
//! the store. Pages and API call these same functions; only the rendering differs.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::domain::metrics::{BrokerMetrics, ClusterMetrics, Metric};
use crate::domain::rocket::{MessageQueue, RocketGroup, RocketSnapshot, RocketTopic, TopicClass};
use crate::domain::{
    Capabilities, ClusterKind, ClusterSnapshot, ConfigEntry, GroupMember, Millis, Partition, Topic,
    clipped,
};
use crate::evaluator::{GroupLag, GroupSummary, PartitionStatus};
use crate::poller::{ClusterState, ClusterStatus, Clusters};
use crate::store::{
    ClusterPoint, GroupPoint, Level, MetricPoint, PAGE_WAIT, PartitionPoint, SeriesPoint, Store,
    StoreError, within,
};

mod groups;
mod history;
mod instances;
mod metrics;
mod queues;
mod topics;

pub use groups::*;
pub use history::*;
pub use instances::*;
pub use metrics::*;
pub use queues::*;
pub use topics::*;

#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    #[error("no cluster named {} is configured", clipped(.0))]
    UnknownCluster(String),
    #[error("cluster {} has no topic named {}", clipped(.cluster), clipped(.topic))]
    UnknownTopic { cluster: String, topic: String },
    #[error("cluster {} has not been reached yet; its data appears after the first good poll", clipped(.0))]
    NotPolledYet(String),
    #[error("cluster {} has no consumer group named {}", clipped(.cluster), clipped(.group))]
    UnknownGroup { cluster: String, group: String },
    #[error("cluster {} has no queue {}", clipped(.cluster), clipped(.queue))]
    UnknownQueue { cluster: String, queue: String },
    #[error("cluster {} has no broker {broker}", clipped(.cluster))]
    UnknownBroker { cluster: String, broker: i32 },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Time range of history charts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Range {
    #[default]
    #[serde(rename = "1h")]
    Hour,
    #[serde(rename = "24h")]
    Day,
    #[serde(rename = "7d")]
    Week,
}

/// Most points a chart gets; buckets widen to stay under it.
const CHART_POINTS: i64 = 360;

impl Range {
    pub const ALL: [Range; 3] = [Range::Hour, Range::Day, Range::Week];

    pub fn code(self) -> &'static str {
        match self {
            Range::Hour => "1h",
            Range::Day => "24h",
            Range::Week => "7d",
        }
    }

    pub fn millis(self) -> Millis {
        match self {
            Range::Hour => 3_600_000,
            Range::Day => 86_400_000,
            Range::Week => 7 * 86_400_000,
        }
    }

    /// The history a chart over this range reads: per-poll samples for an hour, 1-minute
    /// rollups for a day, 1-hour rollups for a week.
    pub fn level(self) -> Level {
        match self {
            Range::Hour => Level::Raw,
            Range::Day => Level::Minute,
            Range::Week => Level::Hour,
        }
    }

    /// Bucket width: at least one poll interval and the level's grain, at most
    /// [`CHART_POINTS`] buckets.
    pub fn bucket_millis(self, poll_interval_secs: u64) -> Millis {
        let poll = i64::try_from(poll_interval_secs.max(1) * 1000).unwrap_or(i64::MAX);
        (self.millis() / CHART_POINTS).max(poll).max(self.level().width())
    }

    /// Bucket width for history written every `data_millis` on a time grid (per-topic and
    /// per-queue samples): [`Range::bucket_millis`], widened to a whole number of data
    /// intervals, so every bucket holds at least one row and none is charted as a gap or a
    /// false zero. A `data_millis` of zero or less leaves the bucket as it is.
    pub fn bucket_millis_for(self, poll_interval_secs: u64, data_millis: Millis) -> Millis {
        let bucket = self.bucket_millis(poll_interval_secs);
        if data_millis <= 0 {
            return bucket;
        }
        let wide = bucket.max(data_millis);
        wide.saturating_add(data_millis - 1) / data_millis * data_millis
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ClusterSummary {
    pub name: String,
    pub kind: ClusterKind,
    /// What the cluster's kind has and allows (pages ask this, not the kind).
    pub capabilities: Capabilities,
    pub status: ClusterStatus,
    /// Where Osprey reaches the cluster ([`Capabilities::addresses`] says what they are).
    pub addresses: String,
    pub poll_interval_secs: u64,
    /// With several instances: the one polling the cluster.
    pub polled_by: Option<String>,
    pub last_attempt_at: Option<Millis>,
    pub last_good_at: Option<Millis>,
    pub error: Option<String>,
    /// When the data below was taken (the last good poll); `None` before the first one.
    pub data_at: Option<Millis>,
    pub cluster_id: Option<String>,
    /// Kafka clusters whose metadata quorum answered: `kraft` (the active controller is
    /// `controller_id`); `zookeeper` when the brokers name their ZooKeeper; `None` otherwise.
    pub metadata_mode: Option<&'static str>,
    /// ZooKeeper mode: the brokers' `zookeeper.connect`.
    pub zookeeper: Option<String>,
    /// KRaft's `metadata.version` or a ZooKeeper-mode broker's `inter.broker.protocol.version`.
    pub protocol_version: Option<String>,
    pub controller_id: Option<i32>,
    pub brokers: Option<usize>,
    pub missing_brokers: usize,
    pub topics: Option<usize>,
    pub partitions: Option<usize>,
    pub under_replicated: Option<usize>,
    pub offline: Option<usize>,
    pub messages_in_per_sec: Option<f64>,
    pub poll_millis: Option<u64>,
    /// Where the cluster's topics (Kafka) or queues (RabbitMQ) are listed, under the cluster's path.
    pub objects_path: &'static str,
}

fn summarize(state: &ClusterState) -> ClusterSummary {
    let snapshot = state.snapshot.as_deref();
    let from = |f: fn(&ClusterSnapshot) -> usize| snapshot.map(f);
    let capabilities = state.kind.capabilities();
    // Topics the servers make for themselves are not the operator's: left out of the counts.
    let classes = classes(state);
    let own = |t: &&Topic| classes.get(t.name.as_str()) != Some(&TopicClass::System);
    let replicated = |n: Option<usize>| n.filter(|_| capabilities.replication);
    let summary = ClusterSummary {
        name: state.name.clone(),
        kind: state.kind,
        capabilities,
        status: state.status(),
        addresses: state.addresses.clone(),
        poll_interval_secs: state.poll_interval_secs,
        polled_by: state.polled_by.clone(),
        last_attempt_at: state.last_attempt_at,
        last_good_at: state.last_good_at,
        error: state.last_error.clone(),
        data_at: snapshot.map(|s| s.taken_at),
        cluster_id: snapshot.and_then(|s| s.cluster_id.clone()),
        metadata_mode: snapshot.and_then(|s| {
            if s.quorum.is_some() {
                Some("kraft")
            } else {
                s.zookeeper.as_ref().map(|_| "zookeeper")
            }
        }),
        zookeeper: snapshot.and_then(|s| s.zookeeper.clone()),
        protocol_version: snapshot.and_then(|s| s.protocol_version.clone()),
        controller_id: snapshot.and_then(|s| s.controller_id).filter(|_| capabilities.replication),
        brokers: from(|s| s.brokers.len()),
        missing_brokers: state.missing_brokers.len(),
        topics: snapshot.map(|s| s.topics.iter().filter(own).count()),
        partitions: snapshot.map(|s| s.topics.iter().filter(own).map(|t| t.partitions.len()).sum()),
        under_replicated: replicated(from(ClusterSnapshot::under_replicated)),
        offline: replicated(from(ClusterSnapshot::offline)),
        messages_in_per_sec: snapshot.and_then(ClusterSnapshot::messages_in_per_sec),
        poll_millis: snapshot.map(|s| s.poll_millis),
        objects_path: "topics",
    };
    match snapshot.and_then(|s| s.queues.as_deref()) {
        // Queues where Kafka has topics, and no partitions or replicas.
        Some(view) => ClusterSummary {
            topics: Some(view.queues.len()),
            partitions: None,
            under_replicated: None,
            offline: None,
            messages_in_per_sec: view
                .queues
                .iter()
                .filter_map(|q| q.message_stats.publish)
                .reduce(|a, b| a + b),
            objects_path: "queues",
            ..summary
        },
        None => summary,
    }
}

fn rocket_of(state: &ClusterState) -> Option<&RocketSnapshot> {
    state.snapshot.as_deref()?.rocket.as_deref()
}

fn cluster_state(clusters: &Clusters, name: &str) -> Result<Arc<ClusterState>, QueryError> {
    clusters.get(name).ok_or_else(|| QueryError::UnknownCluster(name.to_owned()))
}

/// Whether `cluster`, as last polled, has `topic` (the pages about one topic answer 404
/// otherwise, before anything reaches a broker).
pub fn require_topic(clusters: &Clusters, cluster: &str, topic: &str) -> Result<(), QueryError> {
    let state = cluster_state(clusters, cluster)?;
    let snapshot =
        state.snapshot.as_deref().ok_or_else(|| QueryError::NotPolledYet(cluster.to_owned()))?;
    match snapshot.topic(topic) {
        Some(_) => Ok(()),
        None => {
            Err(QueryError::UnknownTopic { cluster: cluster.to_owned(), topic: topic.to_owned() })
        }
    }
}

/// Every configured cluster, in configuration order.
pub fn overview(clusters: &Clusters) -> Vec<ClusterSummary> {
    clusters.all().iter().map(|s| summarize(s)).collect()
}

#[derive(Debug, Clone, Serialize)]
pub struct BrokerRow {
    pub id: i32,
    pub host: String,
    pub port: u16,
    pub rack: Option<String>,
    pub controller: bool,
    /// Listed by the last good poll.
    pub up: bool,
    pub leader_partitions: usize,
    /// Share of polls in the chart range that listed the broker, in percent.
    pub availability_percent: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ClusterDetail {
    pub summary: ClusterSummary,
    pub brokers: Vec<BrokerRow>,
    /// Clusters of queues: the overview and every node or server with its alarms.
    pub queues: Option<QueuesSummary>,
    /// RocketMQ clusters: every broker (masters and slaves) with its runtime stats.
    pub rocket_brokers: Option<Vec<crate::domain::rocket::RocketBroker>>,
    /// KRaft clusters: the metadata quorum, voters and observers with their lag.
    pub quorum: Option<Arc<crate::domain::kraft::Quorum>>,
    pub range: Range,
    pub history: Vec<ClusterPoint>,
    /// The end-to-end canary as of its last round, when it is enabled.
    pub canary: Option<Arc<crate::domain::canary::CanaryReading>>,
    /// The canary's cluster figures over the range, by figure (`end_to_end_p99_ms`, `lost`…).
    pub canary_history: BTreeMap<String, Vec<MetricPoint>>,
}

pub async fn cluster_detail(
    clusters: &Clusters,
    store: &Store,
    name: &str,
    range: Range,
    now: Millis,
) -> Result<ClusterDetail, QueryError> {
    let state = cluster_state(clusters, name)?;
    let from = now - range.millis();
    let bucket = range.bucket_millis(state.poll_interval_secs);
    let canary_history = async {
        if state.canary_topic.is_none() {
            return Ok(BTreeMap::new());
        }
        let scope = crate::poller::CANARY_SCOPE;
        store.metric_series(name, scope, range.level(), from, now, bucket).await
    };
    let (history, availability, canary_history) = within(PAGE_WAIT, async {
        tokio::try_join!(
            store.cluster_series(name, range.level(), from, now, bucket),
            store.broker_availability(name, from, now),
            canary_history,
        )
    })
    .await?;
    let percent = |id: i32| {
        availability
            .iter()
            .find(|a| a.broker_id == id && a.polls > 0)
            .map(|a| a.polls_up as f64 * 100.0 / a.polls as f64)
    };
    let mut brokers = Vec::new();
    if let Some(snapshot) = state.snapshot.as_deref() {
        let leaders = snapshot.leader_counts();
        let listed = snapshot.brokers.iter().map(|b| (b, true));
        let missing = state.missing_brokers.iter().map(|b| (b, false));
        for (broker, up) in listed.chain(missing) {
            brokers.push(BrokerRow {
                id: broker.id,
                host: broker.host.clone(),
                port: broker.port,
                rack: broker.rack.clone(),
                controller: up && snapshot.controller_id == Some(broker.id),
                up,
                leader_partitions: leaders.get(&broker.id).copied().unwrap_or(0),
                availability_percent: percent(broker.id),
            });
        }
        brokers.sort_by_key(|b| b.id);
    }
    let queues = state.snapshot.as_ref().and_then(|s| s.queues.as_ref()).map(|r| QueuesSummary {
        overview: r.overview.clone(),
        nodes: r.nodes.clone(),
        queues: r.queues.len(),
        backlog: r.queues.iter().map(crate::domain::queue::Queue::backlog).sum(),
        without_consumers: r.queues.iter().filter(|q| q.consumers == 0 && q.backlog() > 0).count(),
        held: r.queues.iter().map(|q| q.held).sum(),
    });
    let rocket_brokers = rocket_of(&state).map(|r| r.brokers.clone());
    let quorum = state.snapshot.as_ref().and_then(|s| s.quorum.clone());
    Ok(ClusterDetail {
        summary: summarize(&state),
        brokers,
        queues,
        rocket_brokers,
        quorum,
        range,
        history,
        canary: state.canary.clone(),
        canary_history,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::domain::fixtures::*;
    use tokio::sync::watch;

    fn clusters_with(snapshot: ClusterSnapshot) -> Clusters {
        let config = Config::example().clusters.remove(0);
        let mut state = ClusterState::new(&config);
        state.last_attempt_at = Some(snapshot.taken_at);
        state.snapshot = Some(Arc::new(snapshot));
        let (_tx, rx) = watch::channel(Arc::new(state));
        let mut clusters = Clusters::default();
        clusters.push(config.name, rx);
        clusters
    }

    fn many_topics() -> Clusters {
        let mut topics: Vec<Topic> = (0..120)
            .map(|i| topic(&format!("orders-{i:03}"), vec![partition(0, Some(1), (0, i))]))
            .collect();
        topics.push(topic("__consumer_offsets", vec![partition(0, Some(1), (0, 0))]));
        topics[0].internal = false;
        let last = topics.len() - 1;
        topics[last].internal = true;
        topics.sort_by(|a, b| a.name.cmp(&b.name));
        clusters_with(snapshot(1, topics))
    }

    #[test]
    fn topic_list_pages_searches_and_sorts() {
        let clusters = many_topics();
        let first = topic_list(&clusters, "local", &TopicQuery::default()).unwrap();
        assert_eq!((first.total, first.matched, first.pages, first.rows.len()), (121, 121, 3, 50));
        assert_eq!(first.rows[0].name, "__consumer_offsets");

        let search = TopicQuery { q: " ORDERS-11".into(), ..TopicQuery::default() };
        let found = topic_list(&clusters, "local", &search).unwrap();
        let names: Vec<&str> = found.rows.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "orders-110",
                "orders-111",
                "orders-112",
                "orders-113",
                "orders-114",
                "orders-115",
                "orders-116",
                "orders-117",
                "orders-118",
                "orders-119"
            ]
        );

        let biggest = TopicQuery {
            sort: TopicSort::Messages,
            dir: Direction::Desc,
            per_page: 2,
            hide_internal: true,
            ..TopicQuery::default()
        };
        let top = topic_list(&clusters, "local", &biggest).unwrap();
        assert_eq!(top.rows[0].name, "orders-119");
        assert_eq!(top.rows[0].messages, 119);
        assert_eq!(top.matched, 120);

        let past_end = TopicQuery { page: 99, ..TopicQuery::default() };
        assert_eq!(topic_list(&clusters, "local", &past_end).unwrap().page, 3);
    }

    #[test]
    fn rocketmq_topics_filter_by_class_and_an_empty_class_means_all() {
        use crate::domain::rocket::{RocketSnapshot, RocketTopic, TopicClass};
        let names = ["%DLQ%billing", "%RETRY%billing", "TBW102", "orders"];
        let topics: Vec<Topic> =
            names.iter().map(|n| topic(n, vec![partition(0, Some(0), (0, 1))])).collect();
        let mut snap = snapshot(1, topics);
        snap.rocket = Some(Arc::new(RocketSnapshot {
            topics: names
                .iter()
                .map(|n| RocketTopic {
                    name: (*n).into(),
                    class: TopicClass::of(n, &[]),
                    queues: Vec::new(),
                    route: Vec::new(),
                })
                .collect(),
            ..RocketSnapshot::default()
        }));
        let clusters = clusters_with(snap);
        let of = |class: &str| {
            let uri: axum::http::Uri = format!("/topics?class={class}").parse().unwrap();
            let axum::extract::Query(query) =
                axum::extract::Query::<TopicQuery>::try_from_uri(&uri).unwrap();
            let list = topic_list(&clusters, "local", &query).unwrap();
            list.rows.iter().map(|r| r.name.clone()).collect::<Vec<_>>()
        };
        assert_eq!(of("retry"), ["%RETRY%billing"]);
        assert_eq!(of("dead_letter"), ["%DLQ%billing"]);
        assert_eq!(of("normal"), ["orders"]);
        assert_eq!(of("system"), ["TBW102"]);
        assert_eq!(of(""), ["%DLQ%billing", "%RETRY%billing", "orders"], "system topics left out");
        assert_eq!(of("&system=true").len(), 4);
        let bad: axum::http::Uri = "/topics?class=nope".parse().unwrap();
        assert!(axum::extract::Query::<TopicQuery>::try_from_uri(&bad).is_err());
    }

    #[test]
    fn unknown_cluster_is_an_error() {
        let clusters = many_topics();
        assert!(matches!(
            topic_list(&clusters, "nope", &TopicQuery::default()),
            Err(QueryError::UnknownCluster(_))
        ));
    }

    #[test]
    fn chart_buckets_never_undercut_the_poll_interval() {
        assert_eq!(Range::Hour.bucket_millis(10), 10_000);
        assert_eq!(Range::Day.bucket_millis(10), 240_000);
        assert_eq!(Range::Week.bucket_millis(10), 3_600_000, "no finer than the hour rollups");
        assert_eq!(Range::Hour.bucket_millis(60), 60_000);
    }

    #[test]
    fn buckets_of_sampled_history_are_never_finer_than_the_sample_interval() {
        for range in Range::ALL {
            for poll in [1, 5, 10, 30, 60, 120] {
                for data in [1_000, 10_000, 60_000, 90_000, 300_000, 7_200_000] {
                    let bucket = range.bucket_millis_for(poll, data);
                    assert!(bucket >= data, "{range:?} poll {poll}s data {data}ms: {bucket}");
                    assert!(bucket >= range.bucket_millis(poll), "{range:?} {poll} {data}");
                    assert_eq!(bucket % data, 0, "a whole number of sample intervals");
                }
            }
        }
        assert_eq!(Range::Hour.bucket_millis_for(10, 60_000), 60_000, "not 10 s");
        assert_eq!(Range::Day.bucket_millis_for(10, 60_000), 240_000);
        assert_eq!(Range::Day.bucket_millis_for(10, 90_000), 270_000);
        assert_eq!(Range::Week.bucket_millis_for(10, 60_000), 3_600_000);
        assert_eq!(Range::Hour.bucket_millis_for(10, 0), 10_000, "no interval known");
    }
}
