//! One group partition's lag history.

use super::*;

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
    let series =
        store.partition_series(cluster, group, topic, partition, now - range.millis(), now);
    let points = within(PAGE_WAIT, series).await?;
    Ok(PartitionHistory {
        cluster: cluster.to_owned(),
        group: group.to_owned(),
        topic: topic.to_owned(),
        partition,
        range,
        points,
    })
}
