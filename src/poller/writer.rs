//! Poll history on its way to the database: pollers hand records over without waiting, one
//! writer stores them in order, and while the database is down it holds them (bounded, oldest
//! dropped first) and writes them once it is back — an outage leaves no hole in the charts.

use std::collections::VecDeque;
use std::future::Future;
use std::sync::Mutex;
use std::time::Duration;

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::store::{PollRecord, StoreError};

/// Sample rows held at most while the database is down (≈ 100 bytes each: ~50 MB). A
/// 1,000-topic cluster polled every 10 s writes ~1,200 rows a poll: over an hour of its polls.
pub const MAX_HELD_ROWS: usize = 500_000;

/// One write may take this long before it counts as failed (a hung database).
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(30);

/// On shutdown, held records are given this long to reach the database.
pub const FLUSH_ON_STOP: Duration = Duration::from_secs(5);

/// Where records go: the store, or a test's stand-in.
pub trait Sink: Send + Sync {
    fn write(&self, record: &PollRecord) -> impl Future<Output = Result<(), StoreError>> + Send;
}

impl Sink for crate::store::Store {
    async fn write(&self, record: &PollRecord) -> Result<(), StoreError> {
        self.record_poll(record).await
    }
}

/// Rows a record adds to the database.
fn rows(record: &PollRecord) -> usize {
    1 + record.topics.len()
        + record.brokers.len()
        + record.groups.len()
        + record.group_topics.len()
        + record.group_partitions.len()
        + record.queues.len()
        + record.metrics.len()
}

#[derive(Debug, Default)]
struct Held {
    records: VecDeque<PollRecord>,
    rows: usize,
    dropped: u64,
    failing: Option<WriteFailure>,
}

/// Why poll history is not reaching the database, since when: what pages and `/readyz` say.
#[derive(Debug, Clone, PartialEq)]
pub struct WriteFailure {
    pub since: crate::domain::Millis,
    /// The database is out of space (rather than down or hung).
    pub out_of_space: bool,
    /// Polls held meanwhile (written once the database takes them).
    pub held: usize,
}

/// Records waiting for the writer.
#[derive(Debug)]
pub struct HistoryQueue {
    held: Mutex<Held>,
    wake: Notify,
    max_rows: usize,
}

impl Default for HistoryQueue {
    fn default() -> Self {
        HistoryQueue::with_limit(MAX_HELD_ROWS)
    }
}

impl HistoryQueue {
    pub fn with_limit(max_rows: usize) -> Self {
        HistoryQueue { held: Mutex::default(), wake: Notify::new(), max_rows }
    }

    /// Hands a record to the writer; never waits. Past the limit the oldest records go first
    /// (the newest one always stays).
    pub fn push(&self, record: PollRecord) {
        let mut held = self.held.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        held.rows += rows(&record);
        held.records.push_back(record);
        while held.rows > self.max_rows && held.records.len() > 1 {
            if let Some(oldest) = held.records.pop_front() {
                held.rows -= rows(&oldest);
                held.dropped += 1;
                if held.dropped == 1 || held.dropped.is_power_of_two() {
                    tracing::warn!(
                        dropped = held.dropped,
                        limit_rows = self.max_rows,
                        "the database is behind: the oldest held polls are dropped"
                    );
                }
            }
        }
        drop(held);
        self.wake.notify_one();
    }

    /// Records waiting, and rows in them.
    pub fn len(&self) -> (usize, usize) {
        let held = self.held.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        (held.records.len(), held.rows)
    }

    pub fn is_empty(&self) -> bool {
        self.len().0 == 0
    }

    /// Why history is not being written, while the writer cannot write it.
    pub fn failing(&self) -> Option<WriteFailure> {
        let held = self.held.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        // The record being retried is back in the queue between tries, so it is counted.
        held.failing.clone().map(|failure| WriteFailure { held: held.records.len(), ..failure })
    }

    fn set_failing(&self, failure: Option<WriteFailure>) {
        self.held.lock().unwrap_or_else(std::sync::PoisonError::into_inner).failing = failure;
    }

    fn take(&self) -> Option<PollRecord> {
        let mut held = self.held.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let record = held.records.pop_front()?;
        held.rows -= rows(&record);
        Some(record)
    }

    /// Puts back a record that could not be written, ahead of the others.
    fn put_back(&self, record: PollRecord) {
        let mut held = self.held.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        held.rows += rows(&record);
        held.records.push_front(record);
    }
}

/// Writes queued records with `write` until cancelled, then flushes for [`FLUSH_ON_STOP`].
/// A database that is down or hung is waited for (backing off up to 30 s); a record the
/// database refuses for another reason (a constraint: it was written before a timeout) is
/// dropped and logged, so one bad record never blocks the rest.
pub async fn run(queue: &HistoryQueue, sink: &impl Sink, cancel: CancellationToken) {
    let mut backoff = Duration::from_secs(1);
    let mut failing_since: Option<tokio::time::Instant> = None;
    loop {
        let Some(record) = queue.take() else {
            tokio::select! {
                () = cancel.cancelled() => break,
                () = queue.wake.notified() => continue,
            }
        };
        match tokio::time::timeout(WRITE_TIMEOUT, sink.write(&record)).await {
            Ok(Ok(())) => {
                queue.set_failing(None);
                if let Some(since) = failing_since.take() {
                    let (waiting, _) = queue.len();
                    tracing::info!(down_for = ?since.elapsed(), waiting, "the database is back; writing the held polls");
                }
                backoff = Duration::from_secs(1);
            }
            Ok(Err(crate::store::StoreError::Fenced(lease))) => {
                queue.set_failing(None);
                tracing::info!(cluster = %record.cluster.cluster, at = record.cluster.ts, %lease, "a poll made under a lease since lost is not written (another instance polls the cluster now)");
            }
            Ok(Err(e)) if !e.is_unavailable() => {
                queue.set_failing(None);
                tracing::error!(cluster = %record.cluster.cluster, at = record.cluster.ts, error = %e, "a poll's history was refused by the database and is dropped");
            }
            failed => {
                let (error, out_of_space) = match failed {
                    Ok(Err(e)) => (e.to_string(), e.is_out_of_space()),
                    _ => (format!("no answer within {WRITE_TIMEOUT:?}"), false),
                };
                queue.put_back(record);
                if failing_since.is_none() {
                    failing_since = Some(tokio::time::Instant::now());
                    tracing::warn!(%error, "cannot write poll history; holding polls until the database is back");
                }
                let since = queue.failing().map_or_else(crate::clock::now_millis, |f| f.since);
                queue.set_failing(Some(WriteFailure { since, out_of_space, held: 0 }));
                tokio::select! {
                    () = cancel.cancelled() => break,
                    () = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(Duration::from_secs(30));
            }
        }
    }
    flush(queue, sink).await;
}

async fn flush(queue: &HistoryQueue, sink: &impl Sink) {
    let writing = async {
        while let Some(record) = queue.take() {
            if let Err(e) = sink.write(&record).await
                && e.is_unavailable()
            {
                queue.put_back(record);
                return;
            }
        }
    };
    let _ = tokio::time::timeout(FLUSH_ON_STOP, writing).await;
    let (left, _) = queue.len();
    if left > 0 {
        tracing::warn!(polls = left, "stopping with poll history the database did not take");
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::store::{ClusterSample, MetricSample};

    fn record(ts: i64, topics: usize) -> PollRecord {
        PollRecord {
            cluster: ClusterSample { cluster: "c".into(), ts, ..ClusterSample::default() },
            metrics: vec![MetricSample { scope: String::new(), metric: "m", value: 0.0 }; topics],
            ..PollRecord::default()
        }
    }

    fn down() -> StoreError {
        StoreError::Query(sqlx::Error::PoolTimedOut)
    }

    /// A database that answers `answer(ts, call)` for the call-th write of record `ts`: `None`
    /// hangs.
    struct Scripted<F> {
        answer: F,
        calls: AtomicUsize,
        written: Mutex<Vec<i64>>,
    }

    impl<F: Fn(i64, usize) -> Option<Result<(), StoreError>> + Send + Sync> Scripted<F> {
        fn new(answer: F) -> Self {
            Scripted { answer, calls: AtomicUsize::new(0), written: Mutex::default() }
        }
        fn written(&self) -> Vec<i64> {
            self.written.lock().unwrap().clone()
        }
    }

    impl<F: Fn(i64, usize) -> Option<Result<(), StoreError>> + Send + Sync> Sink for Scripted<F> {
        async fn write(&self, record: &PollRecord) -> Result<(), StoreError> {
            let call = self.calls.fetch_add(1, Ordering::SeqCst);
            let Some(answer) = (self.answer)(record.cluster.ts, call) else {
                return std::future::pending().await;
            };
            if answer.is_ok() {
                self.written.lock().unwrap().push(record.cluster.ts);
            }
            answer
        }
    }

    #[test]
    fn the_oldest_records_go_first_past_the_limit() {
        let queue = HistoryQueue::with_limit(10);
        for ts in 0..5 {
            queue.push(record(ts, 2));
        }
        assert_eq!(queue.len(), (3, 9), "three records of three rows fit");
        assert_eq!(queue.take().map(|r| r.cluster.ts), Some(2));
        queue.push(record(9, 50));
        assert_eq!(queue.len(), (1, 51), "the newest stays even alone over the limit");
    }

    #[tokio::test(start_paused = true)]
    async fn records_held_through_an_outage_are_written_in_order_after_it() {
        let queue = Arc::new(HistoryQueue::default());
        // The database is down for the first six attempts.
        let sink =
            Arc::new(Scripted::new(|_, call| Some(if call < 6 { Err(down()) } else { Ok(()) })));
        let cancel = CancellationToken::new();
        let writer = {
            let (queue, sink, cancel) = (queue.clone(), sink.clone(), cancel.clone());
            tokio::spawn(async move { run(&queue, sink.as_ref(), cancel).await })
        };
        for ts in 0..20 {
            queue.push(record(ts, 1));
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        tokio::time::sleep(Duration::from_secs(120)).await;
        assert_eq!(sink.written(), (0..20).collect::<Vec<_>>());
        cancel.cancel();
        writer.await.unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn a_refused_record_is_dropped_and_a_hung_write_retried() {
        let queue = HistoryQueue::default();
        queue.push(record(1, 0));
        queue.push(record(2, 0));
        let sink = Scripted::new(|ts, call| match (ts, call) {
            (1, _) => Some(Err(StoreError::Corrupt("duplicate".into()))),
            (2, 1) => None,
            _ => Some(Ok(())),
        });
        let cancel = CancellationToken::new();
        let stopper = async {
            tokio::time::sleep(WRITE_TIMEOUT * 3).await;
            cancel.cancel();
        };
        tokio::join!(run(&queue, &sink, cancel.clone()), stopper);
        assert_eq!(sink.written(), [2], "1 refused, 2 retried after hanging");
    }
}
