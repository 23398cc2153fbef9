//! The end-to-end canary: per cluster with `[clusters.canary] enabled`, one named task that runs
//! its kind's probe every interval — only where the cluster is polled, with several instances —
//! and hands what the rounds add up to (`CanaryBook`) to the cluster's poller, which publishes it
//! with the cluster's state and keeps its history.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::MissedTickBehavior;
use tokio_util::sync::CancellationToken;

use crate::brokers::AdapterError;
use crate::brokers::canary::CanaryProbe;
use crate::clock::now_millis;
use crate::domain::canary::CanaryReading;
use crate::instances::{Holding, Ownership};

mod book;
pub use book::CanaryBook;

/// The latest reading of a cluster's canary, for its poller; `None` before the first round.
pub type Readings = watch::Receiver<Option<Arc<CanaryReading>>>;

/// What a canary task needs besides its probe.
#[derive(Debug, Clone)]
pub struct CanaryTask {
    pub cluster: String,
    pub topic: String,
    pub interval: Duration,
    pub timeout: Duration,
    pub ownership: Ownership,
}

/// A token that tells this process's markers from those of another instance (or an earlier run).
pub fn marker_token(cluster: &str) -> String {
    let seed = cluster
        .bytes()
        .fold(u64::from(std::process::id()), |h, b| h.wrapping_mul(0x100_0000_01b3) ^ u64::from(b));
    format!("{:x}", seed ^ now_millis().unsigned_abs())
}

/// Runs a round every interval until cancelled, publishing each reading on `readings`.
pub async fn run(
    probe: impl CanaryProbe,
    task: CanaryTask,
    readings: watch::Sender<Option<Arc<CanaryReading>>>,
    cancel: CancellationToken,
) {
    let lease = crate::instances::cluster_lease(&task.cluster);
    let mut book = CanaryBook::new(task.topic.clone(), task.interval);
    let mut ticker = tokio::time::interval(task.interval);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Skip);
    // Metadata, the assignment and a topic's creation come on top of the markers' own wait.
    let bound = task.timeout * 3 + Duration::from_secs(1);
    let mut failing = false;
    loop {
        tokio::select! {
            _ = cancel.cancelled() => break,
            _ = ticker.tick() => {}
        }
        if task.ownership.holding(&lease) == Holding::Elsewhere {
            // The instance polling the cluster runs its canary; a new holder starts afresh.
            book = CanaryBook::new(task.topic.clone(), task.interval);
            continue;
        }
        let outcome = tokio::select! {
            _ = cancel.cancelled() => break,
            outcome = tokio::time::timeout(bound, probe.round(now_millis(), task.timeout)) => outcome,
        };
        let outcome = match outcome {
            Ok(Ok(markers)) => Ok(markers),
            Ok(Err(error)) => Err(error),
            Err(_) => Err(AdapterError::Timeout(bound)),
        };
        match &outcome {
            Err(error) if !failing => {
                tracing::warn!(cluster = %task.cluster, %error, "the canary could not send its markers");
            }
            Ok(_) if failing => tracing::info!(cluster = %task.cluster, "the canary sends again"),
            _ => {}
        }
        failing = outcome.is_err();
        if let Ok(markers) = &outcome
            && let lost = markers.iter().filter(|m| m.lost()).count()
            && lost > 0
        {
            tracing::info!(cluster = %task.cluster, lost, sent = markers.len(), "canary markers lost");
        }
        book.record(now_millis(), outcome.map_err(|e| e.to_string()));
        readings.send_replace(Some(Arc::new(book.reading())));
    }
    tracing::debug!(cluster = %task.cluster, "canary stopped");
}
