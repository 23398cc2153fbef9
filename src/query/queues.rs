//! Queue lists (RabbitMQ queues, beanstalkd tubes) and one queue with its history.

use super::*;

/// A cluster of queues at a glance.
#[derive(Debug, Clone, Serialize)]
pub struct QueuesSummary {
    pub overview: crate::domain::queue::Overview,
    pub nodes: Vec<crate::domain::queue::Node>,
    pub queues: usize,
    /// Ready + unacknowledged over every queue.
    pub backlog: u64,
    /// Queues holding messages that nobody consumes.
    pub without_consumers: usize,
    /// Jobs set aside (beanstalkd's buried) over every tube.
    pub held: u64,
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
    /// Buried jobs (beanstalkd).
    Held,
}

impl QueueSort {
    pub const ALL: [QueueSort; 6] = [
        QueueSort::Name,
        QueueSort::Backlog,
        QueueSort::Consumers,
        QueueSort::Publish,
        QueueSort::Deliver,
        QueueSort::Held,
    ];

    pub fn code(self) -> &'static str {
        match self {
            QueueSort::Name => "name",
            QueueSort::Backlog => "backlog",
            QueueSort::Consumers => "consumers",
            QueueSort::Publish => "publish",
            QueueSort::Deliver => "deliver",
            QueueSort::Held => "held",
        }
    }
}

/// Paging, filters and sort of the queue list, as given in the query string.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct QueueQuery {
    /// Case-insensitive substring of the queue name.
    pub q: String,
    /// Only this vhost or server (exact); empty: all of them.
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
    pub rows: Vec<crate::domain::queue::Queue>,
}

/// The queues of a cluster of queues as of its last good poll, filtered, sorted and paged.
pub fn queue_list(
    clusters: &Clusters,
    name: &str,
    query: &QueueQuery,
) -> Result<QueueList, QueryError> {
    use crate::domain::queue::Queue;
    let state = cluster_state(clusters, name)?;
    let snapshot =
        state.snapshot.clone().ok_or_else(|| QueryError::NotPolledYet(name.to_owned()))?;
    let empty = Vec::new();
    let all: &Vec<Queue> = snapshot.queues.as_ref().map_or(&empty, |r| &r.queues);
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
            QueueSort::Held => a.held.cmp(&b.held),
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

/// One queue: its figures as of the last poll and its history over `range`.
#[derive(Debug, Clone, Serialize)]
pub struct QueueDetail {
    pub cluster: ClusterSummary,
    pub queue: crate::domain::queue::Queue,
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
        .queues
        .as_ref()
        .and_then(|r| r.queues.iter().find(|q| q.vhost == vhost && q.name == queue))
        .cloned()
        .ok_or_else(|| QueryError::UnknownQueue {
            cluster: name.to_owned(),
            queue: format!("{vhost}/{queue}"),
        })?;
    let from = now - range.millis();
    let bucket = range.bucket_millis_for(state.poll_interval_secs, state.topic_sample_millis);
    let history =
        within(PAGE_WAIT, store.queue_series(name, vhost, queue, from, now, bucket)).await?;
    Ok(QueueDetail { cluster: summarize(&state), queue: found, range, history })
}
