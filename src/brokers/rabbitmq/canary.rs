//! RabbitMQ's canary probe: over its own AMQP connection, a marker published to the canary queue
//! through the default exchange (timed to the publisher confirm) and delivered back to a consumer
//! on the same queue (timed to the delivery). The queue's node, from the management API, is the
//! broker measured; the queue is declared there too when it is missing.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::Mutex;

use super::amqp::{AmqpLogin, AmqpSession, Event};
use super::{RabbitAdapter, node_id};
use crate::brokers::canary::{CanaryProbe, marker_partition, marker_text};
use crate::brokers::{AdapterError, tls};
use crate::config::{ClusterConfig, Connection};
use crate::domain::Millis;
use crate::domain::canary::MarkerOutcome;

/// How long the canary queue keeps a marker nobody took, and how many it holds at most.
const QUEUE_ARGUMENTS: (u64, u64) = (3_600_000, 10_000);

/// The AMQP session kept between rounds, with the node its queue was last seen on.
struct Consuming {
    session: AmqpSession,
    node: String,
}

pub struct RabbitCanary {
    adapter: Arc<RabbitAdapter>,
    login: AmqpLogin,
    queue: String,
    create: bool,
    token: String,
    rounds: AtomicU64,
    consuming: Mutex<Option<Consuming>>,
}

impl RabbitCanary {
    /// The probe of a RabbitMQ cluster: its AMQP address and login come from the cluster's
    /// `amqp_url` (or management URL), user and CA file.
    pub fn new(
        cluster: &ClusterConfig,
        adapter: Arc<RabbitAdapter>,
        token: String,
    ) -> Result<RabbitCanary, AdapterError> {
        let Connection::Rabbitmq(rabbit) = &cluster.connection else {
            return Err(AdapterError::Config("not a RabbitMQ cluster".into()));
        };
        let canary = &cluster.canary;
        let (with_tls, addr) = rabbit.amqp_address().map_err(AdapterError::Config)?;
        let tls = match (with_tls, &rabbit.tls_ca_file) {
            (false, _) => None,
            (true, file) => {
                let pem = file.as_deref().map(|f| tls::read_ca_file(f, "tls_ca_file")).transpose();
                let pem = pem.map_err(AdapterError::Config)?;
                Some(tls::connector(pem.as_deref(), "tls_ca_file").map_err(AdapterError::Config)?)
            }
        };
        let password =
            crate::secret::interpolate(rabbit.password.expose(), |n| std::env::var(n).ok())
                .map_err(AdapterError::Config)?;
        let login = AmqpLogin {
            addr,
            tls,
            username: rabbit.username.clone(),
            password,
            vhost: canary.vhost.clone().unwrap_or_else(|| "/".into()),
        };
        Ok(RabbitCanary {
            adapter,
            login,
            queue: canary.topic_for(cluster.kind()),
            create: canary.create && !cluster.read_only,
            token,
            rounds: AtomicU64::new(0),
            consuming: Mutex::new(None),
        })
    }

    /// The queue's node, declaring the queue first when it is missing and the canary may.
    async fn queue_node(&self) -> Result<String, AdapterError> {
        let (vhost, queue) = (self.login.vhost.as_str(), self.queue.as_str());
        if let Some(node) = self.adapter.queue_node(vhost, queue).await? {
            return Ok(node);
        }
        if !self.create {
            return Err(AdapterError::Protocol(format!(
                "the canary queue {queue} (vhost {vhost}) does not exist, and the canary may not create it"
            )));
        }
        let (ttl, length) = QUEUE_ARGUMENTS;
        let arguments = serde_json::json!({"x-message-ttl": ttl, "x-max-length": length});
        self.adapter.declare_queue(vhost, queue, arguments).await?;
        tracing::info!(%vhost, %queue, "canary queue created");
        Ok(self.adapter.queue_node(vhost, queue).await?.unwrap_or_default())
    }

    /// A session consuming the queue: the one kept, or a new one.
    async fn consuming(
        &self,
        kept: &mut Option<Consuming>,
        timeout: Duration,
    ) -> Result<(), AdapterError> {
        if let Some(consuming) = kept {
            // The queue may have moved (a quorum queue's new leader); the management API being
            // slow or down is no reason to stop measuring the AMQP path.
            match self.adapter.queue_node(&self.login.vhost, &self.queue).await {
                Ok(Some(node)) => consuming.node = node,
                Ok(None) => *kept = None,
                Err(error) => tracing::debug!(%error, "canary: the queue's node is unknown"),
            }
        }
        if kept.is_some() {
            return Ok(());
        }
        let node = self.queue_node().await?;
        let amqp = |e: String| AdapterError::Protocol(format!("AMQP {}: {e}", self.login.addr));
        let mut session = AmqpSession::open(&self.login, timeout).await.map_err(amqp)?;
        session.consume(&self.queue, timeout).await.map_err(amqp)?;
        *kept = Some(Consuming { session, node });
        Ok(())
    }
}

impl CanaryProbe for RabbitCanary {
    async fn round(
        &self,
        _now: Millis,
        timeout: Duration,
    ) -> Result<Vec<MarkerOutcome>, AdapterError> {
        let mut kept = self.consuming.lock().await;
        let mut reconnected = false;
        loop {
            let reused = kept.is_some();
            self.consuming(&mut kept, timeout).await?;
            let Some(Consuming { session, node }) = kept.as_mut() else { return Ok(Vec::new()) };
            let round = self.rounds.fetch_add(1, Ordering::Relaxed);
            let mut marker = MarkerOutcome {
                partition: 0,
                broker: (!node.is_empty()).then(|| node_id(node)),
                node: (!node.is_empty()).then(|| node.clone()),
                produce_ms: None,
                end_to_end_ms: None,
                error: None,
            };
            let Err(error) = self.timed_marker(session, round, &mut marker, timeout).await else {
                return Ok(vec![marker]);
            };
            *kept = None;
            // A kept connection closed while it idled between rounds (a proxy's idle timeout, a
            // close forced by an operator) is no lost marker: once more on a new one.
            let untouched = marker.produce_ms.is_none() && marker.end_to_end_ms.is_none();
            if reused && untouched && !reconnected {
                tracing::info!(%error, "canary: the AMQP connection was closed; connecting again");
                reconnected = true;
                continue;
            }
            marker.error.get_or_insert(error);
            return Ok(vec![marker]);
        }
    }
}

impl RabbitCanary {
    /// Publishes the round's marker and reads until it is confirmed and delivered, or `timeout`
    /// passes; an error is the session's end.
    async fn timed_marker(
        &self,
        session: &mut AmqpSession,
        round: u64,
        marker: &mut MarkerOutcome,
        timeout: Duration,
    ) -> Result<(), String> {
        let started = Instant::now();
        let elapsed_ms = || started.elapsed().as_secs_f64() * 1000.0;
        let text = marker_text(&self.token, round, 0);
        let tag = session.publish(&self.queue, text.as_bytes()).await?;
        while marker.error.is_none()
            && (marker.produce_ms.is_none() || marker.end_to_end_ms.is_none())
        {
            let left = timeout.saturating_sub(started.elapsed());
            // Past the timeout the marker is lost; a late confirm or delivery is read past in
            // the next round.
            let Ok(event) = tokio::time::timeout(left, session.next_event()).await else { break };
            match event? {
                Event::Confirmed { tag: confirmed, multiple, taken }
                    if confirmed == tag || (multiple && confirmed > tag) =>
                {
                    if taken {
                        marker.produce_ms = Some(elapsed_ms());
                    } else {
                        marker.error = Some("the broker refused the marker (basic.nack)".into());
                    }
                }
                Event::Confirmed { .. } => {}
                Event::Returned { reason } => {
                    marker.error =
                        Some(format!("the marker was not routed to the queue ({reason})"));
                }
                // Older rounds' markers, late, are read past.
                Event::Delivered { body } => {
                    if marker_partition(&body, &self.token, round) == Some(0) {
                        marker.end_to_end_ms = Some(elapsed_ms());
                    }
                }
                Event::Closed { reason } => return Err(reason),
            }
        }
        Ok(())
    }
}
