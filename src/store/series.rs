//! History read back for charts and pages: series per cluster, topic, group, partition, queue and metric, bucketed, and broker availability.

use super::*;

impl Store {
    /// Every metric of one scope (`""`: the cluster, `broker:ID`) in `[from, to)` at `level`,
    /// averaged over buckets of `bucket` milliseconds: metric → points.
    pub async fn metric_series(
        &self,
        cluster: &str,
        scope: &str,
        level: Level,
        from: Millis,
        to: Millis,
        bucket: Millis,
    ) -> Result<std::collections::BTreeMap<String, Vec<MetricPoint>>, StoreError> {
        let text = format!(
            "SELECT metric, {b} AS bucket, {value} FROM metric_samples{suffix} \
             WHERE cluster = ? AND scope = ? AND ts >= ? AND ts < ? \
             GROUP BY metric, bucket ORDER BY metric, bucket",
            b = self.dialect.bucket("ts"),
            value = self.dialect.as_double("AVG(value)"),
            suffix = level.suffix(),
        );
        let sql = self.dialect.sql(&text);
        let rows = sqlx::query(&sql)
            .bind(bucket.max(1))
            .bind(cluster)
            .bind(scope)
            .bind(from)
            .bind(to)
            .fetch_all(&self.pool)
            .await?;
        let mut series: std::collections::BTreeMap<String, Vec<MetricPoint>> = Default::default();
        for row in &rows {
            let metric: String = row.try_get(0)?;
            series
                .entry(metric)
                .or_default()
                .push(MetricPoint { ts: row.try_get(1)?, value: row.try_get(2)? });
        }
        Ok(series)
    }

    /// A queue's points in `[from, to)`, averaged over buckets of `bucket` milliseconds.
    pub async fn queue_series(
        &self,
        cluster: &str,
        vhost: &str,
        queue: &str,
        from: Millis,
        to: Millis,
        bucket: Millis,
    ) -> Result<Vec<QueuePoint>, StoreError> {
        let text = format!(
            "SELECT {b} AS bucket, {backlog}, {consumers}, AVG(publish_rate), AVG(deliver_rate) \
             FROM queue_samples WHERE cluster = ? AND vhost = ? AND queue = ? AND ts >= ? AND ts < ? \
             GROUP BY bucket ORDER BY bucket",
            b = self.dialect.bucket("ts"),
            backlog = self.dialect.as_double("AVG(backlog)"),
            consumers = self.dialect.as_double("AVG(consumers)"),
        );
        let sql = self.dialect.sql(&text);
        let rows = sqlx::query(&sql)
            .bind(bucket.max(1))
            .bind(cluster)
            .bind(vhost)
            .bind(queue)
            .bind(from)
            .bind(to)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| {
                Ok(QueuePoint {
                    ts: row.try_get(0)?,
                    backlog: row.try_get(1)?,
                    consumers: row.try_get(2)?,
                    publish_rate: row.try_get(3)?,
                    deliver_rate: row.try_get(4)?,
                })
            })
            .collect()
    }

    /// Cluster-wide points in `[from, to)`, averaged over buckets of `bucket` milliseconds.
    #[tracing::instrument(skip_all, fields(cluster))]
    pub async fn cluster_series(
        &self,
        cluster: &str,
        level: Level,
        from: Millis,
        to: Millis,
        bucket: Millis,
    ) -> Result<Vec<ClusterPoint>, StoreError> {
        let text = format!(
            "SELECT {b} AS bucket, AVG(messages_in_per_sec) AS messages_in_per_sec, \
             {reach} AS reachable, {parts} AS partitions, {urp} AS under_replicated \
             FROM cluster_samples{suffix} WHERE cluster = ? AND ts >= ? AND ts < ? \
             GROUP BY bucket ORDER BY bucket",
            b = self.dialect.bucket("ts"),
            reach = self.dialect.as_double("AVG(reachable)"),
            parts = self.dialect.as_double("AVG(CASE WHEN reachable > 0 THEN partitions END)"),
            urp = self.dialect.as_double("AVG(CASE WHEN reachable > 0 THEN under_replicated END)"),
            suffix = level.suffix(),
        );
        let sql = self.dialect.sql(&text);
        Ok(sqlx::query_as::<_, ClusterPoint>(&sql)
            .bind(bucket.max(1))
            .bind(cluster)
            .bind(from)
            .bind(to)
            .fetch_all(&self.pool)
            .await?)
    }

    /// A topic's messages/s in `[from, to)`, averaged over buckets of `bucket` milliseconds.
    /// Topic samples are written only when the topic moved, so a bucket in which the cluster
    /// was polled but the topic has no row is reported as 0 msg/s; a bucket in which the
    /// cluster was not reachable is left out.
    #[tracing::instrument(skip_all, fields(cluster, topic))]
    pub async fn topic_series(
        &self,
        cluster: &str,
        topic: &str,
        level: Level,
        from: Millis,
        to: Millis,
        bucket: Millis,
    ) -> Result<Vec<SeriesPoint>, StoreError> {
        let text = format!(
            "SELECT {b} AS bucket, AVG(messages_in_per_sec) FROM topic_samples \
             WHERE cluster = ? AND topic = ? AND ts >= ? AND ts < ? GROUP BY bucket ORDER BY bucket",
            b = self.dialect.bucket("ts"),
        );
        let sql = self.dialect.sql(&text);
        let rows = sqlx::query(&sql)
            .bind(bucket.max(1))
            .bind(cluster)
            .bind(topic)
            .bind(from)
            .bind(to)
            .fetch_all(&self.pool)
            .await?;
        let mut moved = std::collections::BTreeMap::new();
        for row in &rows {
            moved.insert(row.try_get::<i64, _>(0)?, row.try_get::<Option<f64>, _>(1)?);
        }
        let polled = self.cluster_series(cluster, level, from, to, bucket).await?;
        Ok(polled
            .into_iter()
            .filter(|p| p.reachable > 0.0)
            .map(|p| SeriesPoint {
                ts: p.ts,
                messages_in_per_sec: moved.get(&p.ts).copied().unwrap_or(Some(0.0)),
            })
            .collect())
    }

    /// A consumer group's lag and rates in `[from, to)`, per bucket of `bucket` milliseconds.
    #[tracing::instrument(skip_all, fields(cluster, group))]
    pub async fn group_series(
        &self,
        cluster: &str,
        group: &str,
        level: Level,
        from: Millis,
        to: Millis,
        bucket: Millis,
    ) -> Result<Vec<GroupPoint>, StoreError> {
        let d = self.dialect;
        let text = format!(
            "SELECT {b} AS bucket, {lag} AS lag, {max_lag} AS max_lag, AVG(lag_seconds) AS lag_seconds, \
             AVG(consume_per_sec) AS consume_per_sec, AVG(produce_per_sec) AS produce_per_sec \
             FROM group_samples{suffix} \
             WHERE cluster = ? AND group_name = ? AND ts >= ? AND ts < ? GROUP BY bucket ORDER BY bucket",
            b = d.bucket("ts"),
            lag = d.as_double("AVG(lag_messages)"),
            max_lag = d.as_double("MAX(max_lag)"),
            suffix = level.suffix(),
        );
        let sql = d.sql(&text);
        Ok(sqlx::query_as::<_, GroupPoint>(&sql)
            .bind(bucket.max(1))
            .bind(cluster)
            .bind(group)
            .bind(from)
            .bind(to)
            .fetch_all(&self.pool)
            .await?)
    }

    /// One group partition's lag history in `[from, to)`, as sampled (oldest first).
    pub async fn partition_series(
        &self,
        cluster: &str,
        group: &str,
        topic: &str,
        partition: i32,
        from: Millis,
        to: Millis,
    ) -> Result<Vec<PartitionPoint>, StoreError> {
        let sql = self.dialect.sql(
            "SELECT ts, committed_offset AS committed, end_offset, lag_messages AS lag, lag_seconds \
             FROM group_partition_samples \
             WHERE cluster = ? AND group_name = ? AND topic = ? AND partition_id = ? AND ts >= ? AND ts < ? \
             ORDER BY ts",
        );
        Ok(sqlx::query_as::<_, PartitionPoint>(&sql)
            .bind(cluster)
            .bind(group)
            .bind(topic)
            .bind(i64::from(partition))
            .bind(from)
            .bind(to)
            .fetch_all(&self.pool)
            .await?)
    }

    /// How often each broker was up in `[from, to)`.
    pub async fn broker_availability(
        &self,
        cluster: &str,
        from: Millis,
        to: Millis,
    ) -> Result<Vec<BrokerAvailability>, StoreError> {
        let text = format!(
            "SELECT broker_id, COUNT(*), {up}, MAX(CASE WHEN up = 1 THEN ts END) \
             FROM broker_samples WHERE cluster = ? AND ts >= ? AND ts < ? \
             GROUP BY broker_id ORDER BY broker_id",
            up = self.dialect.as_bigint("SUM(up)"),
        );
        let sql = self.dialect.sql(&text);
        let rows =
            sqlx::query(&sql).bind(cluster).bind(from).bind(to).fetch_all(&self.pool).await?;
        rows.iter()
            .map(|row| {
                Ok(BrokerAvailability {
                    broker_id: i32::try_from(row.try_get::<i64, _>(0)?).unwrap_or(-1),
                    polls: row.try_get(1)?,
                    polls_up: row.try_get(2)?,
                    last_seen_up: row.try_get(3)?,
                })
            })
            .collect()
    }

    /// When the cluster was last reached, from history (survives restarts).
    pub async fn last_good_poll(&self, cluster: &str) -> Result<Option<Millis>, StoreError> {
        let sql = self
            .dialect
            .sql("SELECT MAX(ts) FROM cluster_samples WHERE cluster = ? AND reachable = 1");
        Ok(sqlx::query(&sql).bind(cluster).fetch_one(&self.pool).await?.try_get(0)?)
    }

    /// The last sample written for a cluster.
    pub async fn latest_cluster_sample(
        &self,
        cluster: &str,
    ) -> Result<Option<ClusterSample>, StoreError> {
        let sql = self.dialect.sql(
            "SELECT cluster, ts, reachable, brokers, topics, partitions, under_replicated, offline, \
             end_offset_sum, messages_in_per_sec, poll_millis, error, polled_by FROM cluster_samples \
             WHERE cluster = ? ORDER BY ts DESC LIMIT 1",
        );
        let row = sqlx::query(&sql).bind(cluster).fetch_optional(&self.pool).await?;
        row.map(|row| {
            Ok(ClusterSample {
                cluster: row.try_get(0)?,
                ts: row.try_get(1)?,
                reachable: row.try_get::<i64, _>(2)? == 1,
                brokers: row.try_get(3)?,
                topics: row.try_get(4)?,
                partitions: row.try_get(5)?,
                under_replicated: row.try_get(6)?,
                offline: row.try_get(7)?,
                end_offset_sum: row.try_get(8)?,
                messages_in_per_sec: row.try_get(9)?,
                poll_millis: row.try_get(10)?,
                error: row.try_get(11)?,
                polled_by: row.try_get(12)?,
            })
        })
        .transpose()
    }
}
