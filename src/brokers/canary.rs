//! The canary's seam: one probe per kind that sends a round of markers to the cluster and reads
//! them back on its own (no consumer group), timing each.

use std::future::Future;
use std::time::Duration;

use super::AdapterError;
use crate::domain::Millis;
use crate::domain::canary::MarkerOutcome;

/// Sends one round of markers and reads them back.
pub trait CanaryProbe: Send + Sync + 'static {
    /// One marker per partition (or queue), each with its produce and end-to-end latency; a
    /// marker not read back within `timeout` is lost. An error when nothing could be sent (no
    /// topic, no metadata). A round that creates the topic sends nothing. `now` stamps what the
    /// round sends where the protocol wants a time (a RocketMQ message's birth).
    fn round(
        &self,
        now: Millis,
        timeout: Duration,
    ) -> impl Future<Output = Result<Vec<MarkerOutcome>, AdapterError>> + Send;
}

/// A shared probe runs like the probe itself.
impl<P: CanaryProbe> CanaryProbe for std::sync::Arc<P> {
    fn round(
        &self,
        now: Millis,
        timeout: Duration,
    ) -> impl Future<Output = Result<Vec<MarkerOutcome>, AdapterError>> + Send {
        P::round(self, now, timeout)
    }
}

/// What a marker says, so the reader knows it among other messages: the probe's token (one
/// per process and cluster), the round and the partition it was sent to.
pub fn marker_text(token: &str, round: u64, partition: i32) -> String {
    format!("osprey-canary {token} {round} {partition}")
}

/// The partition a marker of `token`'s `round` names; `None` for anything else.
pub fn marker_partition(payload: &[u8], token: &str, round: u64) -> Option<i32> {
    let text = std::str::from_utf8(payload).ok()?;
    let rest = text.strip_prefix("osprey-canary ")?.strip_prefix(token)?.strip_prefix(' ')?;
    let (seen, partition) = rest.split_once(' ')?;
    (seen.parse::<u64>().ok()? == round).then_some(())?;
    partition.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_are_known_by_token_and_round() {
        let text = marker_text("a1b2", 7, 3);
        assert_eq!(marker_partition(text.as_bytes(), "a1b2", 7), Some(3));
        assert_eq!(marker_partition(text.as_bytes(), "a1b2", 6), None, "an older round");
        assert_eq!(marker_partition(text.as_bytes(), "ffff", 7), None, "another instance");
        assert_eq!(marker_partition(b"\xff\xfe", "a1b2", 7), None);
        assert_eq!(marker_partition(b"osprey-canary a1b2 7", "a1b2", 7), None);
    }
}
