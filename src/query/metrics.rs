//! Broker metrics of a cluster or one broker: values, sources, busiest topics and chart series.

use super::*;

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
    let history = within(
        PAGE_WAIT,
        store.metric_series(
            cluster,
            &scope,
            range.level(),
            now - range.millis(),
            now,
            range.bucket_millis(state.poll_interval_secs),
        ),
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
