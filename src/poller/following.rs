//! Following a cluster another instance polls: its published state read when PostgreSQL says it changed, and on a timer.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::sync::{Notify, watch};
use tokio_util::sync::CancellationToken;

use super::{ClusterState, published};
use crate::domain::Millis;
use crate::store::{StateNotice, Store};

/// How often a follower's timer fires: without notices it reads the published state every
/// time, so pages are at most one poll interval and this much behind the holder.
pub(super) const FOLLOW_EVERY: Duration = Duration::from_secs(1);

/// While notices arrive, the timer reads only this often: a safety net, not the way news come.
const SAFETY_NET: Duration = Duration::from_secs(30);

/// Longest wait between attempts to listen again.
const MAX_RETRY: Duration = Duration::from_secs(30);

/// Shortest silence taken for a dead listener.
const MIN_QUIET_LIMIT: Duration = Duration::from_secs(30);

/// Wakes each cluster's follower when PostgreSQL notifies that its holder published.
#[derive(Debug, Default)]
pub struct FollowSignals {
    by_cluster: HashMap<String, Arc<Notify>>,
    /// A listener is connected and notices flow: the timer can slow down.
    live: AtomicBool,
    /// Longest silence on a live listener: every holder (this instance too) notifies at each
    /// poll, so a listener that hears nothing this long is on a dead connection (a failed-over
    /// server, a half-open socket) and is made again.
    quiet_limit: Duration,
}

impl FollowSignals {
    /// Signals for `clusters`, the longest of which is polled every `longest_interval`.
    pub fn new<'a>(
        clusters: impl IntoIterator<Item = &'a str>,
        longest_interval: Duration,
    ) -> FollowSignals {
        let by_cluster = clusters.into_iter().map(|c| (c.to_owned(), Arc::default())).collect();
        let quiet_limit = (longest_interval * 3).max(MIN_QUIET_LIMIT);
        FollowSignals { by_cluster, live: AtomicBool::new(false), quiet_limit }
    }

    /// What wakes `cluster`'s follower (a signal nobody sends for a cluster not named at start).
    pub(super) fn signal(&self, cluster: &str) -> Arc<Notify> {
        self.by_cluster.get(cluster).cloned().unwrap_or_default()
    }

    /// Whether a timed read is due `since_last_read` after the previous read.
    pub(super) fn read_due(&self, since_last_read: Duration) -> bool {
        !self.live.load(Ordering::Relaxed) || since_last_read >= SAFETY_NET
    }

    fn wake_all(&self) {
        for signal in self.by_cluster.values() {
            signal.notify_one();
        }
    }

    /// Listens for published states until cancelled (PostgreSQL; returns at once elsewhere).
    /// While it cannot listen, followers read on their timer every second.
    pub async fn listen(self: Arc<Self>, store: Store, cancel: CancellationToken) {
        let mut retry = Duration::from_secs(1);
        loop {
            let connected = tokio::select! {
                _ = cancel.cancelled() => return,
                connected = store.state_notices() => connected,
            };
            let mut notices = match connected {
                Ok(Some(notices)) => notices,
                Ok(None) => return,
                Err(e) => {
                    tracing::warn!(error = %e, retry_in = ?retry, "cannot listen for published cluster states; following on a timer");
                    if sleep_or_cancel(retry, &cancel).await {
                        return;
                    }
                    retry = (retry * 2).min(MAX_RETRY);
                    continue;
                }
            };
            tracing::debug!("listening for published cluster states");
            retry = Duration::from_secs(1);
            self.live.store(true, Ordering::Relaxed);
            // What was published before the listening started.
            self.wake_all();
            loop {
                let next = tokio::select! {
                    _ = cancel.cancelled() => return,
                    next = tokio::time::timeout(self.quiet_limit, notices.next()) => next,
                };
                match next {
                    Ok(Ok(StateNotice::Published(cluster))) => {
                        self.live.store(true, Ordering::Relaxed);
                        if let Some(signal) = self.by_cluster.get(&cluster) {
                            signal.notify_one();
                        }
                    }
                    Ok(Ok(StateNotice::Reconnected)) => {
                        tracing::info!(
                            "listening for published cluster states again; reading each once"
                        );
                        self.wake_all();
                    }
                    // A lost connection or a silent one: listen again on a new connection.
                    lost => {
                        self.live.store(false, Ordering::Relaxed);
                        match lost {
                            Ok(Err(e)) => {
                                tracing::warn!(error = %e, "lost the listener for published cluster states; following on a timer")
                            }
                            _ => {
                                tracing::info!(quiet_for = ?self.quiet_limit, "no published state heard; listening again on a new connection")
                            }
                        }
                        break;
                    }
                }
            }
            if sleep_or_cancel(retry, &cancel).await {
                return;
            }
            retry = (retry * 2).min(MAX_RETRY);
        }
    }
}

/// Sleeps `wait`; true when cancelled first.
async fn sleep_or_cancel(wait: Duration, cancel: &CancellationToken) -> bool {
    tokio::select! {
        _ = cancel.cancelled() => true,
        _ = tokio::time::sleep(wait) => false,
    }
}

/// Reads the state another instance published for `cluster`, when it is newer than `seen`;
/// decoded off the async workers (a large cluster's state is megabytes unpacked).
pub(super) async fn follow(
    store: &Store,
    cluster: &str,
    seen: &mut Option<Millis>,
    state: &watch::Sender<Arc<ClusterState>>,
) {
    let published = store.published_state(cluster, *seen);
    let (at, bytes) = match crate::store::within(crate::store::PAGE_WAIT, published).await {
        Ok(Some(published)) => published,
        Ok(None) => return,
        Err(e) => {
            tracing::debug!(cluster, error = %e, "cannot read the published state");
            return;
        }
    };
    *seen = Some(at);
    let decoded = tokio::task::spawn_blocking(move || published::decode(&bytes))
        .await
        .unwrap_or_else(|e| Err(format!("decoding stopped: {e}")));
    match decoded {
        Ok(published) => {
            state.send_replace(Arc::new(published));
        }
        Err(e) => {
            tracing::warn!(cluster, error = %e, "the state another instance published cannot be read")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_timer_reads_every_time_until_notices_flow_then_only_as_a_safety_net() {
        let signals = FollowSignals::new(["prod", "staging"], Duration::from_secs(10));
        assert!(signals.read_due(Duration::ZERO));
        signals.live.store(true, Ordering::Relaxed);
        assert!(!signals.read_due(Duration::from_secs(1)));
        assert!(!signals.read_due(SAFETY_NET - Duration::from_millis(1)));
        assert!(signals.read_due(SAFETY_NET));
    }

    #[tokio::test]
    async fn a_notice_before_the_follower_waits_is_kept_for_it() {
        let signals = FollowSignals::new(["prod"], Duration::from_secs(10));
        let prod = signals.signal("prod");
        signals.wake_all();
        tokio::time::timeout(Duration::from_secs(1), prod.notified()).await.expect("kept");
        // A cluster not named at start gets a signal nobody sends.
        let unknown = signals.signal("other");
        signals.wake_all();
        assert!(tokio::time::timeout(Duration::from_millis(50), unknown.notified()).await.is_err());
    }
}
