//! RabbitMQ's canary probe: a marker published to the canary queue through the default exchange
//! (acknowledged when the broker says it was routed) and taken back from it for good (basic.get
//! through the management API, acknowledged), timed. The queue's node is the broker measured.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::{Publish, RabbitAdapter, node_id};
use crate::brokers::AdapterError;
use crate::brokers::canary::{CanaryProbe, marker_partition, marker_text};
use crate::config::ClusterConfig;
use crate::domain::Millis;
use crate::domain::canary::MarkerOutcome;

/// How long the canary queue keeps a marker nobody took, and how many it holds at most.
const QUEUE_ARGUMENTS: (u64, u64) = (3_600_000, 10_000);
/// Pause between two takes while a marker is on its way: each is a management-API request.
const STEP: Duration = Duration::from_millis(25);

pub struct RabbitCanary {
    adapter: Arc<RabbitAdapter>,
    vhost: String,
    queue: String,
    create: bool,
    token: String,
    rounds: AtomicU64,
}

impl RabbitCanary {
    pub fn new(
        cluster: &ClusterConfig,
        adapter: Arc<RabbitAdapter>,
        token: String,
    ) -> RabbitCanary {
        let canary = &cluster.canary;
        RabbitCanary {
            adapter,
            vhost: canary.vhost.clone().unwrap_or_else(|| "/".into()),
            queue: canary.topic_for(cluster.kind()),
            create: canary.create && !cluster.read_only,
            token,
            rounds: AtomicU64::new(0),
        }
    }
}

impl CanaryProbe for RabbitCanary {
    async fn round(
        &self,
        _now: Millis,
        timeout: Duration,
    ) -> Result<Vec<MarkerOutcome>, AdapterError> {
        let (vhost, queue) = (self.vhost.as_str(), self.queue.as_str());
        let Some(node) = self.adapter.queue_node(vhost, queue).await? else {
            if !self.create {
                return Err(AdapterError::Protocol(format!(
                    "the canary queue {queue} (vhost {vhost}) does not exist, and the canary may not create it"
                )));
            }
            let (ttl, length) = QUEUE_ARGUMENTS;
            let arguments = serde_json::json!({"x-message-ttl": ttl, "x-max-length": length});
            self.adapter.declare_queue(vhost, queue, arguments).await?;
            tracing::info!(%vhost, %queue, "canary queue created");
            return Ok(Vec::new());
        };
        let round = self.rounds.fetch_add(1, Ordering::Relaxed);
        let mut marker = MarkerOutcome {
            partition: 0,
            broker: (!node.is_empty()).then(|| node_id(&node)),
            node: (!node.is_empty()).then(|| node.clone()),
            produce_ms: None,
            end_to_end_ms: None,
            error: None,
        };
        let started = Instant::now();
        let elapsed_ms = || started.elapsed().as_secs_f64() * 1000.0;
        let publish = Publish {
            vhost: vhost.to_owned(),
            routing_key: queue.to_owned(),
            payload: marker_text(&self.token, round, 0),
            ..Publish::default()
        };
        match tokio::time::timeout(timeout, self.adapter.publish(&publish)).await {
            Ok(Ok(true)) => marker.produce_ms = Some(elapsed_ms()),
            Ok(Ok(false)) => marker.error = Some("the marker was not routed to the queue".into()),
            Ok(Err(e)) => marker.error = Some(e.to_string()),
            Err(_) => marker.error = Some(AdapterError::Timeout(timeout).to_string()),
        }
        while marker.error.is_none() && started.elapsed() < timeout {
            let left = timeout.saturating_sub(started.elapsed());
            let taken = match tokio::time::timeout(left, self.adapter.take(vhost, queue, 100)).await
            {
                Ok(Ok(taken)) => taken,
                Ok(Err(e)) => {
                    tracing::debug!(error = %e, "canary: taking from the queue failed");
                    Vec::new()
                }
                Err(_) => break,
            };
            // Older rounds' markers, late or never taken, are drained along the way.
            let ours = taken.iter().any(|m| {
                m.payload_encoding == "string"
                    && marker_partition(m.payload.as_bytes(), &self.token, round) == Some(0)
            });
            if ours {
                marker.end_to_end_ms = Some(elapsed_ms());
                break;
            }
            tokio::time::sleep(STEP).await;
        }
        Ok(vec![marker])
    }
}
