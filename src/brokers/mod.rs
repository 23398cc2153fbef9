//! Broker adapters: one per cluster kind, each turning a cluster into a [`ClusterSnapshot`].
//! Adapters only talk to brokers; they keep no history and know nothing of the store or the web.

mod clients;
pub mod kafka;
pub mod rabbitmq;
pub mod rocketmq;
pub mod scrape;

use std::future::Future;
use std::time::Duration;

use crate::domain::{ClusterSnapshot, Millis};

pub use clients::ClusterClient;

/// Why a poll of a cluster failed. The message is shown to operators as it is.
#[derive(Debug, Clone, thiserror::Error, PartialEq)]
pub enum AdapterError {
    #[error("invalid client configuration: {0}")]
    Config(String),
    #[error("cluster unreachable: {0}")]
    Unreachable(String),
    #[error("the cluster answered with an error: {0}")]
    Protocol(String),
    #[error("no answer within {}", humantime::format_duration(*.0))]
    Timeout(Duration),
}

/// Where a test message landed, or why it did not.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SendOutcome {
    /// Partition (Kafka) or queue index in the topic's queue list (RocketMQ).
    pub partition: Option<i32>,
    pub offset: Option<i64>,
    /// RocketMQ: the message id the broker assigned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    pub error: Option<String>,
}

/// A connection to one cluster that can describe it.
pub trait ClusterAdapter: Send + Sync + 'static {
    /// Reads the whole cluster as it is now. `now` stamps the snapshot; the adapter never reads
    /// the clock for it, so callers (and tests) decide what time a poll belongs to.
    fn snapshot(
        &self,
        now: Millis,
    ) -> impl Future<Output = Result<ClusterSnapshot, AdapterError>> + Send;
}

/// A shared adapter polls like the adapter itself (the poller and the operator actions hold the
/// same client).
impl<A: ClusterAdapter> ClusterAdapter for std::sync::Arc<A> {
    fn snapshot(
        &self,
        now: Millis,
    ) -> impl Future<Output = Result<ClusterSnapshot, AdapterError>> + Send {
        A::snapshot(self, now)
    }
}
