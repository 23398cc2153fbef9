//! Broker adapters: one per cluster kind, each turning a cluster into a [`ClusterSnapshot`].
//! Adapters only talk to brokers; they keep no history and know nothing of the store or the web.

pub mod activemq;
pub mod beanstalkd;
pub mod canary;
mod clients;
pub mod gearman;
pub mod kafka;
pub mod rabbitmq;
pub mod rocketmq;
pub mod scrape;
mod servers;
pub mod tls;

use std::future::Future;
use std::time::Duration;

use crate::domain::{ClusterSnapshot, Millis};

/// An HTTP client for a management API: `timeout` per request, no redirects (credentials stay
/// with the host they were meant for), and the certificate authorities of `tls_ca_file` trusted
/// besides the public roots.
pub(crate) fn management_client(
    timeout: Duration,
    tls_ca_file: Option<&str>,
) -> Result<reqwest::Client, AdapterError> {
    let mut builder =
        reqwest::Client::builder().timeout(timeout).redirect(reqwest::redirect::Policy::none());
    if let Some(file) = tls_ca_file {
        let pem = crate::local_file::read_ca_file(file)
            .map_err(|e| AdapterError::Config(format!("tls_ca_file {file:?}: {e}")))?;
        let certificates = reqwest::Certificate::from_pem_bundle(&pem)
            .map_err(|e| AdapterError::Config(format!("tls_ca_file {file:?}: {e}")))?;
        for certificate in certificates {
            builder = builder.add_root_certificate(certificate);
        }
    }
    builder.build().map_err(|e| AdapterError::Config(e.to_string()))
}

/// The body of an HTTP answer, refused once it passes `max` bytes (no more is read).
pub(crate) async fn read_body_capped(
    response: reqwest::Response,
    max: usize,
) -> Result<Vec<u8>, String> {
    if response.content_length().is_some_and(|n| n > max as u64) {
        return Err(format!("the answer is larger than {max} bytes"));
    }
    let mut body = Vec::new();
    let mut response = response;
    while let Some(chunk) =
        response.chunk().await.map_err(|e| crate::telemetry::error_chain(&e.without_url()))?
    {
        if body.len() + chunk.len() > max {
            return Err(format!("the answer is larger than {max} bytes"));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Reads a frame body of the `length` a peer announced (already checked against a cap), growing
/// the buffer as bytes arrive: a peer that announces 64 MiB and sends ten bytes costs ten bytes,
/// not 64 MiB.
pub(crate) async fn read_announced<R>(reader: &mut R, length: usize) -> std::io::Result<Vec<u8>>
where
    R: tokio::io::AsyncRead + Unpin,
{
    use tokio::io::AsyncReadExt;
    let mut frame = Vec::with_capacity(length.min(64 * 1024));
    let read = reader.take(length as u64).read_to_end(&mut frame).await?;
    if read < length {
        return Err(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            format!("the peer closed the connection after {read} of {length} announced bytes"),
        ));
    }
    Ok(frame)
}

pub use clients::ClusterClient;

/// Milliseconds since `started`, as a poll's duration.
pub(crate) fn millis_since(started: std::time::Instant) -> u64 {
    u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX)
}

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

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn an_announced_frame_is_read_as_it_arrives_and_a_short_one_is_an_error() {
        let mut whole: &[u8] = b"0123456789";
        assert_eq!(super::read_announced(&mut whole, 4).await.unwrap(), b"0123");
        // A peer that announces 64 MiB and sends ten bytes: an error, and no 64 MiB buffer.
        let mut short: &[u8] = b"0123456789";
        let error = super::read_announced(&mut short, 64 * 1024 * 1024).await.unwrap_err();
        assert_eq!(error.kind(), std::io::ErrorKind::UnexpectedEof);
        assert!(error.to_string().contains("after 10 of 67108864"), "{error}");
    }
}
