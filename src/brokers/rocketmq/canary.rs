//! RocketMQ's canary probe: a marker sent to one queue of the canary topic on every master (so
//! each broker is measured), pulled back from the offset the broker gave it — under
//! `TOOLS_CONSUMER`, committing nothing, so no consumer group exists for it.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::RocketAdapter;
use super::admin::TopicChange;
use super::message::Outgoing;
use crate::brokers::AdapterError;
use crate::brokers::canary::{CanaryProbe, marker_partition, marker_text};
use crate::config::ClusterConfig;
use crate::domain::Millis;
use crate::domain::canary::MarkerOutcome;
use crate::domain::rocket::broker_ids;

/// The group a pull names: the one Apache RocketMQ's own tools use, never registered.
const PULL_GROUP: &str = "TOOLS_CONSUMER";
/// Read and write (PERM_READ | PERM_WRITE).
const READ_WRITE: i32 = 6;
/// Pause between two pulls while a marker is on its way.
const STEP: Duration = Duration::from_millis(20);

pub struct RocketCanary {
    adapter: Arc<RocketAdapter>,
    topic: String,
    create: bool,
    token: String,
    rounds: AtomicU64,
}

impl RocketCanary {
    pub fn new(
        cluster: &ClusterConfig,
        adapter: Arc<RocketAdapter>,
        token: String,
    ) -> RocketCanary {
        let canary = &cluster.canary;
        RocketCanary {
            adapter,
            topic: canary.topic_for(cluster.kind()),
            create: canary.create && !cluster.read_only,
            token,
            rounds: AtomicU64::new(0),
        }
    }

    /// Sends the marker of `round` to `queue_id` on the master `broker` at `address` and pulls
    /// it back, until `timeout`.
    async fn marker(
        &self,
        (broker, address, queue_id): (&str, &str, i32),
        id: Option<i32>,
        round: u64,
        now: Millis,
        timeout: Duration,
    ) -> MarkerOutcome {
        let mut marker = MarkerOutcome {
            partition: queue_id,
            broker: id,
            node: Some(broker.to_owned()),
            produce_ms: None,
            end_to_end_ms: None,
            error: None,
        };
        let started = Instant::now();
        let elapsed_ms = || started.elapsed().as_secs_f64() * 1000.0;
        let outgoing = Outgoing {
            topic: self.topic.clone(),
            tag: Some("osprey-canary".into()),
            keys: Vec::new(),
            body: marker_text(&self.token, round, queue_id).into_bytes(),
            properties: BTreeMap::new(),
        };
        let send = self.adapter.send(&outgoing, Some((broker, queue_id)), now);
        let offset = match tokio::time::timeout(timeout, send).await {
            Ok(Ok(stored)) => {
                marker.produce_ms = Some(elapsed_ms());
                stored.queue_offset
            }
            Ok(Err(e)) => {
                marker.error = Some(e.to_string());
                return marker;
            }
            Err(_) => {
                marker.error = Some(AdapterError::Timeout(timeout).to_string());
                return marker;
            }
        };
        let Some(offset) = offset else {
            marker.error = Some("the broker did not say where it stored the marker".into());
            return marker;
        };
        while started.elapsed() < timeout {
            let left = timeout.saturating_sub(started.elapsed());
            let pull = self.adapter.pull(address, PULL_GROUP, &self.topic, queue_id, offset, 1);
            match tokio::time::timeout(left, pull).await {
                Ok(Ok(messages)) => {
                    let ours = messages.iter().any(|m| {
                        m.content().is_ok_and(|body| {
                            marker_partition(&body, &self.token, round) == Some(queue_id)
                        })
                    });
                    if ours {
                        marker.end_to_end_ms = Some(elapsed_ms());
                        break;
                    }
                }
                Ok(Err(e)) => tracing::debug!(error = %e, %broker, "canary: pull failed"),
                Err(_) => break,
            }
            tokio::time::sleep(STEP).await;
        }
        marker
    }
}

impl CanaryProbe for RocketCanary {
    async fn round(
        &self,
        now: Millis,
        timeout: Duration,
    ) -> Result<Vec<MarkerOutcome>, AdapterError> {
        if self.adapter.route_if_exists(&self.topic).await?.is_none() {
            if !self.create {
                return Err(AdapterError::Protocol(format!(
                    "the canary topic {} does not exist, and the canary may not create it",
                    self.topic
                )));
            }
            let change = TopicChange {
                name: self.topic.clone(),
                read_queues: 1,
                write_queues: 1,
                perm: READ_WRITE,
            };
            let masters = self.adapter.upsert_topic(&change, &[]).await?;
            tracing::info!(topic = %self.topic, ?masters, "canary topic created");
            return Ok(Vec::new());
        }
        let (_, brokers) = self.adapter.brokers().await?;
        let ids: BTreeMap<&str, i32> = brokers
            .iter()
            .zip(broker_ids(&brokers))
            .filter(|(b, _)| b.is_master())
            .map(|(b, id)| (b.name.as_str(), id))
            .collect();
        // One queue per master: each broker measured once a round.
        let mut queues = self.adapter.writable_queues(&self.topic).await?;
        queues.dedup_by(|a, b| a.0 == b.0);
        let round = self.rounds.fetch_add(1, Ordering::Relaxed);
        let markers = queues.iter().map(|(broker, address, queue_id)| {
            let id = ids.get(broker.as_str()).copied();
            self.marker((broker, address, *queue_id), id, round, now, timeout)
        });
        Ok(futures::future::join_all(markers).await)
    }
}
