//! What the end-to-end canary measured on a cluster: markers sent, read back and lost, produce
//! and end-to-end latency percentiles — for the cluster and per broker (the partition's leader
//! when the marker was sent) — over the recent window.

use serde::{Deserialize, Serialize};

use super::Millis;

/// One marker of one round, as the cluster's probe saw it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MarkerOutcome {
    /// The partition (Kafka), queue id (RocketMQ) or 0 (a RabbitMQ queue) it was sent to.
    pub partition: i32,
    /// The broker that led it when sent; `None` when no leader was known.
    pub broker: Option<i32>,
    /// The broker's name where brokers are known by name (a RabbitMQ node).
    #[serde(default)]
    pub node: Option<String>,
    /// Send to acknowledgement, milliseconds; `None` when never acknowledged.
    pub produce_ms: Option<f64>,
    /// Send to read back, milliseconds; `None` when not read back in time: lost.
    pub end_to_end_ms: Option<f64>,
    /// Why the send failed, when the broker said.
    pub error: Option<String>,
}

impl MarkerOutcome {
    pub fn lost(&self) -> bool {
        self.end_to_end_ms.is_none()
    }
}

/// Markers and latencies over the canary's window (and sent and lost since it started).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CanaryFigures {
    pub sent: u64,
    pub lost: u64,
    pub produce_p50_ms: Option<f64>,
    pub produce_p99_ms: Option<f64>,
    pub end_to_end_p50_ms: Option<f64>,
    pub end_to_end_p99_ms: Option<f64>,
    pub sent_total: u64,
    pub lost_total: u64,
}

impl CanaryFigures {
    /// The share of the window's markers lost, 0–100.
    pub fn lost_percent(&self) -> Option<f64> {
        (self.sent > 0).then(|| self.lost as f64 * 100.0 / self.sent as f64)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BrokerCanary {
    pub broker: i32,
    /// Its name where brokers are known by name (a RabbitMQ node).
    #[serde(default)]
    pub node: Option<String>,
    pub figures: CanaryFigures,
}

/// The canary of one cluster as its last round left it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CanaryReading {
    pub topic: String,
    pub interval_ms: Millis,
    /// How far back the figures reach.
    pub window_ms: Millis,
    /// When the last round ended; `None` before the first.
    pub at: Option<Millis>,
    /// Why the last round sent nothing (no topic, no metadata), as the broker said.
    pub error: Option<String>,
    pub cluster: CanaryFigures,
    /// Sorted by broker id.
    pub brokers: Vec<BrokerCanary>,
    /// The last round's markers that were lost, with the broker's words when it gave any.
    pub last_lost: Vec<MarkerOutcome>,
}

impl CanaryReading {
    pub fn broker(&self, id: i32) -> Option<&CanaryFigures> {
        self.brokers.iter().find(|b| b.broker == id).map(|b| &b.figures)
    }
}
