//! Writing a poll: the cluster, broker, topic, group and partition samples of one poll, in one transaction.

use super::*;

impl Store {
    /// Writes one poll in a single transaction, so a chart never sees half a poll.
    #[tracing::instrument(skip_all, fields(cluster = %record.cluster.cluster, topics = record.topics.len()))]
    pub async fn record_poll(&self, record: &PollRecord) -> Result<(), StoreError> {
        let ts = record.cluster.ts;
        self.cover(ts).await?;
        match self.write_poll(record).await {
            // Another instance's retention dropped the day this process thought was there.
            Err(e) if partitions::no_partition_for_row(&e) => {
                self.forget_day(ts).await;
                self.cover(ts).await?;
                self.write_poll(record).await
            }
            written => written,
        }
    }

    async fn write_poll(&self, record: &PollRecord) -> Result<(), StoreError> {
        let c = &record.cluster;
        let mut tx = self.write_transaction().await?;
        if let Some(fence) = &record.fence {
            leases::check_fence(&mut tx, self.dialect, fence).await?;
            if let Some(state) = &record.published {
                leases::publish_state(&mut tx, self.dialect, fence, &c.cluster, c.ts, state)
                    .await?;
                notices::notify_published(&mut tx, self.dialect, &c.cluster).await?;
            }
        }
        sqlx::query(&self.dialect.sql(
            "INSERT INTO cluster_samples (cluster, ts, reachable, brokers, topics, partitions, \
             under_replicated, offline, end_offset_sum, messages_in_per_sec, poll_millis, error, \
             polled_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        ))
        .bind(&c.cluster)
        .bind(c.ts)
        .bind(i64::from(c.reachable))
        .bind(c.brokers)
        .bind(c.topics)
        .bind(c.partitions)
        .bind(c.under_replicated)
        .bind(c.offline)
        .bind(c.end_offset_sum)
        .bind(c.messages_in_per_sec)
        .bind(c.poll_millis)
        .bind(c.error.as_deref())
        .bind(c.polled_by.as_deref())
        // Not cached: see `insert_rows`.
        .persistent(false)
        .execute(&mut *tx)
        .await?;

        let d = self.dialect;
        insert_rows(
            &mut tx,
            d,
            "topic_samples (cluster, topic, ts, partitions, end_offset_sum, messages_in_per_sec)",
            6,
            &record.topics,
            |q, t| {
                q.bind(c.cluster.clone())
                    .bind(t.topic.clone())
                    .bind(c.ts)
                    .bind(t.partitions)
                    .bind(t.end_offset_sum)
                    .bind(t.messages_in_per_sec)
            },
        )
        .await?;
        insert_rows(
            &mut tx,
            d,
            "broker_samples (cluster, broker_id, ts, up)",
            4,
            &record.brokers,
            |q, b| {
                q.bind(c.cluster.clone())
                    .bind(i64::from(b.broker_id))
                    .bind(c.ts)
                    .bind(i64::from(b.up))
            },
        )
        .await?;
        insert_rows(&mut tx, d, "group_samples (cluster, group_name, ts, lag_messages, max_lag, lag_seconds, status, consume_per_sec, produce_per_sec)", 9, &record.groups, |q, g| {
            q.bind(c.cluster.clone()).bind(g.group.clone()).bind(c.ts).bind(g.lag).bind(g.max_lag).bind(g.lag_seconds).bind(g.status).bind(g.consume_per_sec).bind(g.produce_per_sec)
        })
        .await?;
        insert_rows(
            &mut tx,
            d,
            "group_partition_samples (cluster, group_name, topic, partition_id, ts, \
             committed_offset, end_offset, lag_messages, lag_seconds)",
            9,
            &record.group_partitions,
            |q, g| {
                q.bind(c.cluster.clone())
                    .bind(g.group.clone())
                    .bind(g.topic.clone())
                    .bind(i64::from(g.partition))
                    .bind(c.ts)
                    .bind(g.committed)
                    .bind(g.end)
                    .bind(g.lag)
                    .bind(g.lag_seconds)
            },
        )
        .await?;
        insert_rows(
            &mut tx,
            d,
            "group_topic_samples (cluster, group_name, topic, ts, lag_messages, lag_seconds)",
            6,
            &record.group_topics,
            |q, g| {
                q.bind(c.cluster.clone())
                    .bind(g.group.clone())
                    .bind(g.topic.clone())
                    .bind(c.ts)
                    .bind(g.lag)
                    .bind(g.lag_seconds)
            },
        )
        .await?;
        insert_rows(
            &mut tx,
            d,
            "queue_samples (cluster, vhost, queue, ts, backlog, ready, unacked, consumers, \
             publish_rate, deliver_rate)",
            10,
            &record.queues,
            |q, s| {
                q.bind(c.cluster.clone())
                    .bind(s.vhost.clone())
                    .bind(s.queue.clone())
                    .bind(c.ts)
                    .bind(s.backlog)
                    .bind(s.ready)
                    .bind(s.unacked)
                    .bind(s.consumers)
                    .bind(s.publish_rate)
                    .bind(s.deliver_rate)
            },
        )
        .await?;
        insert_rows(
            &mut tx,
            d,
            "metric_samples (cluster, scope, metric, ts, value)",
            5,
            &record.metrics,
            |q, m| {
                q.bind(c.cluster.clone())
                    .bind(m.scope.clone())
                    .bind(m.metric)
                    .bind(c.ts)
                    .bind(m.value)
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
