//! Topic lists (paging, search, sort, RocketMQ classes) and one topic with its partitions and consuming groups; the paging shared by every list.

use super::*;

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
pub(super) fn empty_as_none<'de, D, T>(de: D) -> Result<Option<T>, D::Error>
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

pub(super) fn topic_row(topic: &Topic, class: Option<TopicClass>) -> TopicRow {
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
pub(super) fn classes(state: &ClusterState) -> HashMap<&str, TopicClass> {
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

pub(super) fn partition_row(p: &Partition) -> PartitionRow {
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
    let history = within(
        PAGE_WAIT,
        store.topic_series(
            cluster,
            topic,
            range.level(),
            now - range.millis(),
            now,
            range.bucket_millis_for(state.poll_interval_secs, state.topic_sample_millis),
        ),
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
