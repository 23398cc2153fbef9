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
    ClusterPoint, GroupPoint, Level, MetricPoint, PartitionPoint, SeriesPoint, Store, StoreError,
};

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
    pub bootstrap_servers: String,
    pub poll_interval_secs: u64,
    pub last_attempt_at: Option<Millis>,
    pub last_good_at: Option<Millis>,
    pub error: Option<String>,
    /// When the data below was taken (the last good poll); `None` before the first one.
    pub data_at: Option<Millis>,
    pub cluster_id: Option<String>,
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
        bootstrap_servers: state.bootstrap_servers.clone(),
        poll_interval_secs: state.poll_interval_secs,
        last_attempt_at: state.last_attempt_at,
        last_good_at: state.last_good_at,
        error: state.last_error.clone(),
        data_at: snapshot.map(|s| s.taken_at),
        cluster_id: snapshot.and_then(|s| s.cluster_id.clone()),
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
    match snapshot.and_then(|s| s.rabbit.as_deref()) {
        // RabbitMQ has queues where Kafka has topics, and no partitions or replicas.
        Some(rabbit) => ClusterSummary {
            topics: Some(rabbit.queues.len()),
            partitions: None,
            under_replicated: None,
            offline: None,
            messages_in_per_sec: rabbit
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
    /// RabbitMQ clusters: the overview and every node with its alarms.
    pub rabbit: Option<RabbitSummary>,
    /// RocketMQ clusters: every broker (masters and slaves) with its runtime stats.
    pub rocket_brokers: Option<Vec<crate::domain::rocket::RocketBroker>>,
    pub range: Range,
    pub history: Vec<ClusterPoint>,
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
    let (history, availability) = tokio::try_join!(
        store.cluster_series(name, range.level(), from, now, bucket),
        store.broker_availability(name, from, now),
    )?;
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
    let rabbit = state.snapshot.as_ref().and_then(|s| s.rabbit.as_ref()).map(|r| RabbitSummary {
        overview: r.overview.clone(),
        nodes: r.nodes.clone(),
        queues: r.queues.len(),
        backlog: r.queues.iter().map(crate::domain::rabbit::Queue::backlog).sum(),
        without_consumers: r.queues.iter().filter(|q| q.consumers == 0 && q.backlog() > 0).count(),
    });
    let rocket_brokers = rocket_of(&state).map(|r| r.brokers.clone());
    Ok(ClusterDetail {
        summary: summarize(&state),
        brokers,
        rabbit,
        rocket_brokers,
        range,
        history,
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TopicSort {
    #[default]
    Name,
    Partitions,
    Messages,
    MessagesInPerSec,
    UnderReplicated,
}

impl TopicSort {
    pub const ALL: [TopicSort; 5] = [
        TopicSort::Name,
        TopicSort::Partitions,
        TopicSort::Messages,
        TopicSort::MessagesInPerSec,
        TopicSort::UnderReplicated,
    ];

    pub fn code(self) -> &'static str {
        match self {
            TopicSort::Name => "name",
            TopicSort::Partitions => "partitions",
            TopicSort::Messages => "messages",
            TopicSort::MessagesInPerSec => "messages_in_per_sec",
            TopicSort::UnderReplicated => "under_replicated",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    #[default]
    Asc,
    Desc,
}

pub const DEFAULT_PER_PAGE: usize = 50;
pub const MAX_PER_PAGE: usize = 500;

/// The 1-based `page` of `items` (clamped into range), the page count, and that page's items.
pub(crate) fn paginate<T>(items: &[T], page: usize, per_page: usize) -> (usize, usize, &[T]) {
    let per_page = per_page.clamp(1, MAX_PER_PAGE);
    let pages = items.len().div_ceil(per_page).max(1);
    let page = page.clamp(1, pages);
    let start = ((page - 1) * per_page).min(items.len());
    (page, pages, &items[start..(start + per_page).min(items.len())])
}

/// An optional query-string value where an empty one (`?class=`) means none.
fn empty_as_none<'de, D, T>(de: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::de::DeserializeOwned,
{
    let text: Option<String> = Option::deserialize(de)?;
    match text.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(value) => {
            T::deserialize(serde::de::value::StrDeserializer::<serde::de::value::Error>::new(value))
                .map(Some)
                .map_err(serde::de::Error::custom)
        }
    }
}

/// Paging, search and sort of the topic list, as given in the query string.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TopicQuery {
    /// Case-insensitive substring of the topic name.
    pub q: String,
    pub sort: TopicSort,
    pub dir: Direction,
    /// 1-based.
    pub page: usize,
    pub per_page: usize,
    /// Leave out internal topics (`__consumer_offsets`, …).
    pub hide_internal: bool,
    /// RocketMQ: only topics of this class (an empty `class=` from the form means all).
    #[serde(deserialize_with = "empty_as_none")]
    pub class: Option<TopicClass>,
    /// Show the topics the servers make for themselves (RocketMQ's system topics), which are
    /// left out unless asked for here or by `class=system`.
    pub system: bool,
}

impl Default for TopicQuery {
    fn default() -> Self {
        TopicQuery {
            q: String::new(),
            sort: TopicSort::Name,
            dir: Direction::Asc,
            page: 1,
            per_page: DEFAULT_PER_PAGE,
            hide_internal: false,
            class: None,
            system: false,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct TopicRow {
    pub name: String,
    pub internal: bool,
    pub partitions: usize,
    pub replication_factor: usize,
    pub under_replicated: usize,
    pub offline: usize,
    /// Messages retained (latest − earliest over partitions).
    pub messages: i64,
    pub end_offset_sum: i64,
    pub messages_in_per_sec: Option<f64>,
    /// RocketMQ: normal, retry, dead-letter or system.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub class: Option<TopicClass>,
}

fn topic_row(topic: &Topic, class: Option<TopicClass>) -> TopicRow {
    TopicRow {
        name: topic.name.clone(),
        internal: topic.internal,
        partitions: topic.partitions.len(),
        replication_factor: topic.replication_factor(),
        under_replicated: topic.under_replicated(),
        offline: topic.offline(),
        messages: topic.messages(),
        end_offset_sum: topic.end_offset_sum(),
        messages_in_per_sec: topic.messages_in_per_sec,
        class,
    }
}

/// RocketMQ topic classes by topic name (the RocketMQ view lists topics in the same order).
fn classes(state: &ClusterState) -> HashMap<&str, TopicClass> {
    rocket_of(state)
        .map(|r| r.topics.iter().map(|t| (t.name.as_str(), t.class)).collect())
        .unwrap_or_default()
}

#[derive(Debug, Clone, Serialize)]
pub struct TopicList {
    pub cluster: ClusterSummary,
    /// Topics in the cluster.
    pub total: usize,
    /// Topics matching the search.
    pub matched: usize,
    pub page: usize,
    pub pages: usize,
    pub query: TopicQuery,
    pub rows: Vec<TopicRow>,
}

/// One page of the topic list. Sorting works on references and only the page's rows are built,
/// so a request costs O(n log n) comparisons and no copying of the whole cluster.
pub fn topic_list(
    clusters: &Clusters,
    name: &str,
    query: &TopicQuery,
) -> Result<TopicList, QueryError> {
    let state = cluster_state(clusters, name)?;
    let mut query = query.clone();
    query.per_page = query.per_page.clamp(1, MAX_PER_PAGE);
    query.q = query.q.trim().to_owned();
    let needle = query.q.to_lowercase();
    let topics: &[Topic] = state.snapshot.as_deref().map(|s| s.topics.as_slice()).unwrap_or(&[]);
    let classes = classes(&state);
    let mut matched: Vec<&Topic> = topics
        .iter()
        .filter(|t| !(query.hide_internal && t.internal))
        .filter(|t| query.class.is_none() || classes.get(t.name.as_str()) == query.class.as_ref())
        .filter(|t| {
            query.system
                || query.class == Some(TopicClass::System)
                || classes.get(t.name.as_str()) != Some(&TopicClass::System)
        })
        .filter(|t| needle.is_empty() || t.name.to_lowercase().contains(&needle))
        .collect();
    // Topics are already in name order; a stable sort keeps that as the tie-break.
    match query.sort {
        TopicSort::Name => {}
        TopicSort::Partitions => matched.sort_by_key(|t| t.partitions.len()),
        TopicSort::Messages => matched.sort_by_cached_key(|t| t.messages()),
        TopicSort::UnderReplicated => matched.sort_by_cached_key(|t| t.under_replicated()),
        TopicSort::MessagesInPerSec => matched.sort_by(|a, b| {
            a.messages_in_per_sec.unwrap_or(-1.0).total_cmp(&b.messages_in_per_sec.unwrap_or(-1.0))
        }),
    }
    if query.dir == Direction::Desc {
        matched.reverse();
    }
    let (page, pages, shown) = paginate(&matched, query.page, query.per_page);
    query.page = page;
    let rows = shown.iter().map(|t| topic_row(t, classes.get(t.name.as_str()).copied())).collect();
    Ok(TopicList {
        cluster: summarize(&state),
        total: topics.len(),
        matched: matched.len(),
        page: query.page,
        pages,
        query,
        rows,
    })
}

/// A partition as the Topic page shows it: the partition itself plus its derived flags.
#[derive(Debug, Clone, Serialize)]
pub struct PartitionRow {
    #[serde(flatten)]
    pub partition: Partition,
    pub messages: Option<i64>,
    pub under_replicated: bool,
    pub offline: bool,
    pub preferred_leader: bool,
}

fn partition_row(p: &Partition) -> PartitionRow {
    PartitionRow {
        partition: p.clone(),
        messages: p.messages(),
        under_replicated: p.is_under_replicated(),
        offline: p.is_offline(),
        preferred_leader: p.is_led_by_preferred(),
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct TopicDetail {
    pub cluster: ClusterSummary,
    pub topic: TopicRow,
    pub partitions: Vec<PartitionRow>,
    /// `None` when the broker did not answer DescribeConfigs.
    pub configs: Option<Arc<Vec<ConfigEntry>>>,
    pub range: Range,
    pub history: Vec<SeriesPoint>,
    /// Consumer groups with committed offsets on this topic.
    pub consumers: Vec<TopicConsumer>,
    /// RocketMQ: the broker and queue id behind each partition, the route, the class.
    pub rocket: Option<RocketTopic>,
    /// Bytes on disk of each partition's leader replica (DescribeLogDirs), by partition.
    pub log_bytes: BTreeMap<i32, i64>,
}

/// A consumer group as seen from one of its topics.
#[derive(Debug, Clone, Serialize)]
pub struct TopicConsumer {
    pub group: String,
    pub state: String,
    pub status: PartitionStatus,
    pub lag: i64,
    pub lag_seconds: Option<f64>,
}

pub async fn topic_detail(
    clusters: &Clusters,
    store: &Store,
    cluster: &str,
    topic: &str,
    range: Range,
    now: Millis,
) -> Result<TopicDetail, QueryError> {
    let state = cluster_state(clusters, cluster)?;
    let snapshot =
        state.snapshot.as_deref().ok_or_else(|| QueryError::NotPolledYet(cluster.to_owned()))?;
    let found = snapshot.topic(topic).ok_or_else(|| QueryError::UnknownTopic {
        cluster: cluster.to_owned(),
        topic: topic.to_owned(),
    })?;
    let history = store
        .topic_series(
            cluster,
            topic,
            range.level(),
            now - range.millis(),
            now,
            range.bucket_millis_for(state.poll_interval_secs, state.topic_sample_millis),
        )
        .await?;
    let rocket = rocket_of(&state).and_then(|r| r.topics.iter().find(|t| t.name == topic)).cloned();
    let log_bytes = snapshot
        .log_sizes
        .iter()
        .flat_map(|sizes| sizes.iter())
        .filter(|r| {
            r.topic == topic
                && found
                    .partitions
                    .iter()
                    .any(|p| p.id == r.partition && p.leader == Some(r.broker))
        })
        .map(|r| (r.partition, r.bytes))
        .collect();
    Ok(TopicDetail {
        cluster: summarize(&state),
        topic: topic_row(found, rocket.as_ref().map(|r| r.class)),
        partitions: found.partitions.iter().map(partition_row).collect(),
        configs: found.configs.clone(),
        range,
        history,
        consumers: state
            .groups
            .iter()
            .filter_map(|g| {
                let on_topic = g.topics.iter().find(|t| t.topic == topic)?;
                Some(TopicConsumer {
                    group: g.summary.name.clone(),
                    state: g.summary.state.clone(),
                    status: on_topic.status,
                    lag: on_topic.lag,
                    lag_seconds: on_topic.lag_seconds,
                })
            })
            .collect(),
        rocket,
        log_bytes,
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GroupSort {
    #[default]
    Name,
    Lag,
    LagSeconds,
    Status,
    Members,
}

impl GroupSort {
    pub const ALL: [GroupSort; 5] = [
        GroupSort::Name,
        GroupSort::Lag,
        GroupSort::LagSeconds,
        GroupSort::Status,
        GroupSort::Members,
    ];

    pub fn code(self) -> &'static str {
        match self {
            GroupSort::Name => "name",
            GroupSort::Lag => "lag",
            GroupSort::LagSeconds => "lag_seconds",
            GroupSort::Status => "status",
            GroupSort::Members => "members",
        }
    }
}

/// Paging, filtering and sorting of the consumer group list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct GroupQuery {
    /// Case-insensitive substring of the group name.
    pub q: String,
    /// Only groups consuming this topic.
    pub topic: String,
    /// Only groups with this status.
    pub status: Option<PartitionStatus>,
    pub sort: GroupSort,
    pub dir: Direction,
    pub page: usize,
    pub per_page: usize,
}

impl Default for GroupQuery {
    fn default() -> Self {
        GroupQuery {
            q: String::new(),
            topic: String::new(),
            status: None,
            sort: GroupSort::Name,
            dir: Direction::Asc,
            page: 1,
            per_page: DEFAULT_PER_PAGE,
        }
    }
}

/// A consumer group as the group list shows it: its figures and the topics it consumes.
#[derive(Debug, Clone, Serialize)]
pub struct GroupRow {
    #[serde(flatten)]
    pub summary: GroupSummary,
    pub topics: Vec<String>,
}

fn group_row(g: &GroupLag) -> GroupRow {
    GroupRow { summary: g.summary.clone(), topics: g.topic_names().map(str::to_owned).collect() }
}

#[derive(Debug, Clone, Serialize)]
pub struct GroupList {
    pub cluster: ClusterSummary,
    pub total: usize,
    pub matched: usize,
    pub page: usize,
    pub pages: usize,
    pub query: GroupQuery,
    /// Why groups could not be read at the last good poll.
    pub groups_error: Option<String>,
    pub rows: Vec<GroupRow>,
}

/// One page of the consumer group list, from the last good poll.
pub fn group_list(
    clusters: &Clusters,
    name: &str,
    query: &GroupQuery,
) -> Result<GroupList, QueryError> {
    let state = cluster_state(clusters, name)?;
    let mut query = query.clone();
    query.q = query.q.trim().to_owned();
    let needle = query.q.to_lowercase();
    let mut matched: Vec<&GroupLag> = state
        .groups
        .iter()
        .filter(|g| needle.is_empty() || g.summary.name.to_lowercase().contains(&needle))
        .filter(|g| query.topic.is_empty() || g.topic_names().any(|t| t == query.topic))
        .filter(|g| query.status.is_none_or(|s| g.summary.status == s))
        .collect();
    match query.sort {
        GroupSort::Name => {}
        GroupSort::Lag => matched.sort_by_key(|g| g.summary.lag),
        GroupSort::Status => matched.sort_by_key(|g| g.summary.status),
        GroupSort::Members => matched.sort_by_key(|g| g.summary.members),
        GroupSort::LagSeconds => matched.sort_by(|a, b| {
            a.summary.lag_seconds.unwrap_or(-1.0).total_cmp(&b.summary.lag_seconds.unwrap_or(-1.0))
        }),
    }
    if query.dir == Direction::Desc {
        matched.reverse();
    }
    let (page, pages, shown) = paginate(&matched, query.page, query.per_page);
    query.page = page;
    Ok(GroupList {
        cluster: summarize(&state),
        total: state.groups.len(),
        matched: matched.len(),
        page,
        pages,
        groups_error: state.snapshot.as_ref().and_then(|s| s.groups_error.clone()),
        query,
        rows: shown.iter().map(|g| group_row(g)).collect(),
    })
}

#[derive(Debug, Clone, Serialize)]
pub struct GroupDetail {
    pub cluster: ClusterSummary,
    pub group: GroupLag,
    pub members: Vec<GroupMember>,
    /// RocketMQ: online clients with language and version, subscriptions, and per queue the
    /// broker, queue id and the store time of the last consumed message.
    pub rocket: Option<RocketGroupView>,
    pub range: Range,
    pub history: Vec<GroupPoint>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RocketGroupView {
    #[serde(flatten)]
    pub group: RocketGroup,
    /// Per topic, the broker and queue id of each partition index.
    pub topic_queues: BTreeMap<String, Vec<MessageQueue>>,
}

impl RocketGroupView {
    /// `broker:queue` of a topic's partition index, as RocketMQ users name queues.
    pub fn queue_label(&self, topic: &str, partition: &i32) -> String {
        usize::try_from(*partition)
            .ok()
            .and_then(|i| self.topic_queues.get(topic)?.get(i))
            .map_or_else(|| partition.to_string(), |q| format!("{}:{}", q.broker, q.queue_id))
    }

    /// Store time of the last message `group` consumed from a topic's partition.
    pub fn last_consumed_at(&self, topic: &str, partition: &i32) -> Option<Millis> {
        let queue = self.topic_queues.get(topic)?.get(usize::try_from(*partition).ok()?)?;
        self.group
            .queues
            .iter()
            .find(|q| q.topic == topic && q.broker == queue.broker && q.queue_id == queue.queue_id)?
            .last_consumed_at
    }
}

pub async fn group_detail(
    clusters: &Clusters,
    store: &Store,
    cluster: &str,
    group: &str,
    range: Range,
    now: Millis,
) -> Result<GroupDetail, QueryError> {
    let state = cluster_state(clusters, cluster)?;
    let snapshot =
        state.snapshot.as_deref().ok_or_else(|| QueryError::NotPolledYet(cluster.to_owned()))?;
    let unknown =
        || QueryError::UnknownGroup { cluster: cluster.to_owned(), group: group.to_owned() };
    let lag = state.groups.iter().find(|g| g.summary.name == group).ok_or_else(unknown)?;
    let members = snapshot
        .groups
        .binary_search_by(|g| g.name.as_str().cmp(group))
        .map(|i| snapshot.groups[i].members.clone())
        .unwrap_or_default();
    let history = store
        .group_series(
            cluster,
            group,
            range.level(),
            now - range.millis(),
            now,
            range.bucket_millis(state.poll_interval_secs),
        )
        .await?;
    let rocket = rocket_of(&state).and_then(|r| {
        let group = r.groups.iter().find(|g| g.name == group)?.clone();
        let queues = lag
            .topics
            .iter()
            .filter_map(|t| {
                let topic = r.topics.iter().find(|rt| rt.name == t.topic)?;
                Some((t.topic.clone(), topic.queues.clone()))
            })
            .collect();
        Some(RocketGroupView { group, topic_queues: queues })
    });
    Ok(GroupDetail {
        cluster: summarize(&state),
        group: lag.clone(),
        members,
        rocket,
        range,
        history,
    })
}

/// A topic's traffic as the brokers' metrics give it.
#[derive(Debug, Clone, Serialize)]
pub struct TopicRates {
    pub topic: String,
    pub bytes_in_per_sec: Option<f64>,
    pub bytes_out_per_sec: Option<f64>,
    pub messages_in_per_sec: Option<f64>,
}

/// Topics shown on a metrics page: the busiest by bytes in, else by messages in.
pub const TOP_TOPICS: usize = 20;

/// Broker metrics of a cluster (or of one broker): the latest values, each broker's, the
/// busiest topics, and the history of every metric in the range.
#[derive(Debug, Clone, Serialize)]
pub struct MetricsDetail {
    pub cluster: ClusterSummary,
    /// `None` for the cluster, else the broker shown.
    pub broker: Option<i32>,
    /// When the latest metrics were taken; `None` before the first good poll.
    pub at: Option<Millis>,
    pub values: BTreeMap<Metric, f64>,
    pub brokers: Vec<BrokerMetrics>,
    pub top_topics: Vec<TopicRates>,
    pub range: Range,
    /// Metric name → chart points.
    pub history: BTreeMap<String, Vec<MetricPoint>>,
}

pub async fn metrics_detail(
    clusters: &Clusters,
    store: &Store,
    cluster: &str,
    broker: Option<i32>,
    range: Range,
    now: Millis,
) -> Result<MetricsDetail, QueryError> {
    let state = cluster_state(clusters, cluster)?;
    let metrics = state.metrics.clone().unwrap_or_default();
    let (values, brokers) = match broker {
        None => (metrics.cluster_values(), metrics.brokers.clone()),
        Some(id) => {
            let listed =
                state.snapshot.as_deref().is_some_and(|s| s.brokers.iter().any(|b| b.id == id));
            let found = metrics.broker(id).cloned();
            if found.is_none() && !listed {
                return Err(QueryError::UnknownBroker { cluster: cluster.to_owned(), broker: id });
            }
            let found = found.unwrap_or_else(|| BrokerMetrics::new(id));
            (found.values.clone(), vec![found])
        }
    };
    let mut top_topics: Vec<TopicRates> = {
        // The brokers shown (all, or the one): their topics' values, summed.
        let shown = ClusterMetrics { brokers: brokers.clone(), ..ClusterMetrics::default() };
        let per = |metric| -> BTreeMap<String, f64> {
            shown.topic_values(metric).into_iter().map(|(t, v)| (t.to_owned(), v)).collect()
        };
        let (bytes_in, bytes_out, messages_in) = (
            per(Metric::BytesInPerSec),
            per(Metric::BytesOutPerSec),
            per(Metric::MessagesInPerSec),
        );
        let mut names: Vec<&String> =
            bytes_in.keys().chain(bytes_out.keys()).chain(messages_in.keys()).collect();
        names.sort();
        names.dedup();
        names
            .into_iter()
            .map(|topic| TopicRates {
                topic: topic.clone(),
                bytes_in_per_sec: bytes_in.get(topic).copied(),
                bytes_out_per_sec: bytes_out.get(topic).copied(),
                messages_in_per_sec: messages_in.get(topic).copied(),
            })
            .collect()
    };
    top_topics.sort_by(|a, b| {
        let key = |t: &TopicRates| {
            (t.bytes_in_per_sec.unwrap_or(-1.0), t.messages_in_per_sec.unwrap_or(-1.0))
        };
        key(b).0.total_cmp(&key(a).0).then(key(b).1.total_cmp(&key(a).1))
    });
    top_topics.truncate(TOP_TOPICS);
    let scope = broker.map(|id| format!("broker:{id}")).unwrap_or_default();
    let history = store
        .metric_series(
            cluster,
            &scope,
            range.level(),
            now - range.millis(),
            now,
            range.bucket_millis(state.poll_interval_secs),
        )
        .await?;
    Ok(MetricsDetail {
        cluster: summarize(&state),
        broker,
        at: state.metrics.as_ref().map(|m| m.at),
        values,
        brokers,
        top_topics,
        range,
        history,
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

/// One group partition's lag history, at `lag.partition_sample_interval` grain.
#[derive(Debug, Clone, Serialize)]
pub struct PartitionHistory {
    pub cluster: String,
    pub group: String,
    pub topic: String,
    pub partition: i32,
    pub range: Range,
    pub points: Vec<PartitionPoint>,
}

#[allow(clippy::too_many_arguments)]
pub async fn partition_history(
    clusters: &Clusters,
    store: &Store,
    cluster: &str,
    group: &str,
    topic: &str,
    partition: i32,
    range: Range,
    now: Millis,
) -> Result<PartitionHistory, QueryError> {
    cluster_state(clusters, cluster)?;
    let points =
        store.partition_series(cluster, group, topic, partition, now - range.millis(), now).await?;
    Ok(PartitionHistory {
        cluster: cluster.to_owned(),
        group: group.to_owned(),
        topic: topic.to_owned(),
        partition,
        range,
        points,
    })
}

/// A RabbitMQ cluster at a glance.
#[derive(Debug, Clone, Serialize)]
pub struct RabbitSummary {
    pub overview: crate::domain::rabbit::Overview,
    pub nodes: Vec<crate::domain::rabbit::Node>,
    pub queues: usize,
    /// Ready + unacknowledged over every queue.
    pub backlog: u64,
    /// Queues holding messages that nobody consumes.
    pub without_consumers: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QueueSort {
    Name,
    #[default]
    Backlog,
    Consumers,
    Publish,
    Deliver,
}

impl QueueSort {
    pub const ALL: [QueueSort; 5] = [
        QueueSort::Name,
        QueueSort::Backlog,
        QueueSort::Consumers,
        QueueSort::Publish,
        QueueSort::Deliver,
    ];

    pub fn code(self) -> &'static str {
        match self {
            QueueSort::Name => "name",
            QueueSort::Backlog => "backlog",
            QueueSort::Consumers => "consumers",
            QueueSort::Publish => "publish",
            QueueSort::Deliver => "deliver",
        }
    }
}

/// Paging, filters and sort of the queue list, as given in the query string.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct QueueQuery {
    /// Case-insensitive substring of the queue name.
    pub q: String,
    /// Only this vhost (exact); empty: every vhost.
    pub vhost: String,
    pub sort: QueueSort,
    pub dir: Direction,
    pub page: usize,
    pub per_page: usize,
}

impl Default for QueueQuery {
    fn default() -> Self {
        QueueQuery {
            q: String::new(),
            vhost: String::new(),
            sort: QueueSort::Backlog,
            dir: Direction::Desc,
            page: 1,
            per_page: DEFAULT_PER_PAGE,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct QueueList {
    pub cluster: ClusterSummary,
    pub query: QueueQuery,
    pub vhosts: Vec<String>,
    pub total: usize,
    pub matched: usize,
    pub page: usize,
    pub pages: usize,
    pub rows: Vec<crate::domain::rabbit::Queue>,
}

/// The queues of a RabbitMQ cluster as of its last good poll, filtered, sorted and paged.
pub fn queue_list(
    clusters: &Clusters,
    name: &str,
    query: &QueueQuery,
) -> Result<QueueList, QueryError> {
    use crate::domain::rabbit::Queue;
    let state = cluster_state(clusters, name)?;
    let snapshot =
        state.snapshot.clone().ok_or_else(|| QueryError::NotPolledYet(name.to_owned()))?;
    let empty = Vec::new();
    let all: &Vec<Queue> = snapshot.rabbit.as_ref().map_or(&empty, |r| &r.queues);
    let needle = query.q.to_lowercase();
    let mut matched: Vec<&Queue> = all
        .iter()
        .filter(|q| query.vhost.is_empty() || q.vhost == query.vhost)
        .filter(|q| needle.is_empty() || q.name.to_lowercase().contains(&needle))
        .collect();
    let rate = |r: Option<f64>| r.unwrap_or(0.0);
    matched.sort_by(|a, b| {
        let order = match query.sort {
            QueueSort::Name => (&a.vhost, &a.name).cmp(&(&b.vhost, &b.name)),
            QueueSort::Backlog => a.backlog().cmp(&b.backlog()),
            QueueSort::Consumers => a.consumers.cmp(&b.consumers),
            QueueSort::Publish => {
                rate(a.message_stats.publish).total_cmp(&rate(b.message_stats.publish))
            }
            QueueSort::Deliver => {
                rate(a.message_stats.deliver_get).total_cmp(&rate(b.message_stats.deliver_get))
            }
        };
        let order = if query.dir == Direction::Desc { order.reverse() } else { order };
        order.then_with(|| (&a.vhost, &a.name).cmp(&(&b.vhost, &b.name)))
    });
    let per_page = query.per_page.clamp(1, MAX_PER_PAGE);
    let (page, pages, rows) = paginate(&matched, query.page, per_page);
    let mut vhosts: Vec<String> = all.iter().map(|q| q.vhost.clone()).collect();
    vhosts.sort();
    vhosts.dedup();
    Ok(QueueList {
        cluster: summarize(&state),
        query: QueueQuery { per_page, ..query.clone() },
        vhosts,
        total: all.len(),
        matched: matched.len(),
        page,
        pages,
        rows: rows.iter().map(|q| (*q).clone()).collect(),
    })
}

/// One RabbitMQ queue: its figures as of the last poll and its history over `range`.
#[derive(Debug, Clone, Serialize)]
pub struct QueueDetail {
    pub cluster: ClusterSummary,
    pub queue: crate::domain::rabbit::Queue,
    pub range: Range,
    pub history: Vec<crate::store::QueuePoint>,
}

pub async fn queue_detail(
    clusters: &Clusters,
    store: &Store,
    name: &str,
    vhost: &str,
    queue: &str,
    range: Range,
    now: Millis,
) -> Result<QueueDetail, QueryError> {
    let state = cluster_state(clusters, name)?;
    let snapshot =
        state.snapshot.clone().ok_or_else(|| QueryError::NotPolledYet(name.to_owned()))?;
    let found = snapshot
        .rabbit
        .as_ref()
        .and_then(|r| r.queues.iter().find(|q| q.vhost == vhost && q.name == queue))
        .cloned()
        .ok_or_else(|| QueryError::UnknownQueue {
            cluster: name.to_owned(),
            queue: format!("{vhost}/{queue}"),
        })?;
    let from = now - range.millis();
    let bucket = range.bucket_millis_for(state.poll_interval_secs, state.topic_sample_millis);
    let history = store.queue_series(name, vhost, queue, from, now, bucket).await?;
    Ok(QueueDetail { cluster: summarize(&state), queue: found, range, history })
}
