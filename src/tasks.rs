//! Background tasks: each one named, cancelled through one token, restarted with backoff if it
//! panics, and awaited on shutdown.

use std::future::Future;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

const FIRST_RESTART_DELAY: Duration = Duration::from_secs(1);
const MAX_RESTART_DELAY: Duration = Duration::from_secs(60);

#[derive(Clone, Default)]
pub struct Tasks {
    tracker: TaskTracker,
    cancel: CancellationToken,
}

impl Tasks {
    pub fn new() -> Self {
        Tasks::default()
    }

    pub fn cancel_token(&self) -> CancellationToken {
        self.cancel.clone()
    }

    /// Runs `make()` under supervision until it returns or the tasks are cancelled; a panic is
    /// logged and the task restarted after a growing delay.
    pub fn spawn_supervised<F, Fut>(&self, name: String, make: F)
    where
        F: Fn(CancellationToken) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let cancel = self.cancel.clone();
        self.tracker.spawn(async move {
            let mut delay = FIRST_RESTART_DELAY;
            loop {
                tracing::debug!(task = %name, "task starting");
                match tokio::spawn(make(cancel.clone())).await {
                    Ok(()) => break,
                    Err(e) if e.is_panic() => {
                        tracing::error!(task = %name, restart_in = ?delay, "task panicked; restarting it");
                    }
                    Err(_) => break,
                }
                tokio::select! {
                    _ = cancel.cancelled() => break,
                    _ = tokio::time::sleep(delay) => {}
                }
                delay = (delay * 2).min(MAX_RESTART_DELAY);
            }
            tracing::debug!(task = %name, "task ended");
        });
    }

    /// Cancels every task and waits until all of them have returned, or [`SHUTDOWN_DEADLINE`]
    /// has passed (a task stuck in a call that ignores cancellation does not hold the process;
    /// the runtime drops it on exit).
    pub async fn shutdown(&self) {
        self.shutdown_within(SHUTDOWN_DEADLINE).await;
    }

    pub async fn shutdown_within(&self, deadline: Duration) {
        self.cancel.cancel();
        self.tracker.close();
        if tokio::time::timeout(deadline, self.tracker.wait()).await.is_err() {
            tracing::warn!(
                still_running = self.tracker.len(),
                ?deadline,
                "background tasks did not stop in time; leaving without them"
            );
        }
    }
}

/// How long shutdown waits for background tasks (history's last writes take up to 5 s).
pub const SHUTDOWN_DEADLINE: Duration = Duration::from_secs(10);

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[tokio::test(start_paused = true)]
    async fn a_panicking_task_is_restarted_and_shutdown_waits_for_it() {
        let tasks = Tasks::new();
        let runs = Arc::new(AtomicU32::new(0));
        let counter = Arc::clone(&runs);
        tasks.spawn_supervised("flaky".into(), move |cancel| {
            let counter = Arc::clone(&counter);
            async move {
                if counter.fetch_add(1, Ordering::SeqCst) == 0 {
                    panic!("first run fails");
                }
                cancel.cancelled().await;
            }
        });
        tokio::time::sleep(Duration::from_secs(5)).await;
        assert_eq!(runs.load(Ordering::SeqCst), 2);
        tasks.shutdown().await;
    }

    #[tokio::test(start_paused = true)]
    async fn shutdown_leaves_a_task_that_ignores_cancellation_behind_its_deadline() {
        let tasks = Tasks::new();
        tasks.spawn_supervised("stuck".into(), |_| std::future::pending());
        let started = tokio::time::Instant::now();
        tasks.shutdown().await;
        assert_eq!(started.elapsed(), SHUTDOWN_DEADLINE);
    }
}
