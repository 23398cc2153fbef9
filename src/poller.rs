//! Poller: one supervised task per cluster that asks its adapter for a snapshot every interval,
//! publishes the latest state on a `watch` channel (pages read it and never wait on a broker) and
//! writes history to the store. It decides nothing about alerts and renders nothing.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use tokio::sync::watch;
use tokio::time::MissedTickBehavior;
use tokio_util::sync::CancellationToken;

use crate::brokers::scrape::Scraper;
use crate::brokers::{AdapterError, ClusterAdapter};
use crate::clock::now_millis;
use crate::config::{ClusterConfig, HistoryConfig, LagConfig};
use crate::domain::ClusterKind;
use crate::domain::canary::{CanaryFigures, CanaryReading};
use crate::domain::metrics::{BrokerMetrics, ClusterMetrics};
use crate::domain::{Broker, ClusterSnapshot, Millis};
use crate::evaluator::{GroupLag, LagBook, TopicFlows};
use crate::instances::{Holding, Ownership};
use crate::store::{
    BACKGROUND_WAIT, BrokerSample, ClusterSample, GroupPartitionSample, GroupSample,
    GroupTopicSample, MetricSample, PollRecord, Store, within,
};

mod deadline;
pub mod following;
pub mod published;
mod samplers;
pub mod writer;
pub use deadline::{FIRST_POLL_ALLOWANCE, PollDeadline};
pub use samplers::{QueueSampler, TopicSampler};

/// Longest wait between two attempts at an unreachable cluster.
const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// Longest error message kept (the store's column holds 1,000 characters).
const MAX_ERROR_CHARS: usize = 1000;

fn shorten(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars.saturating_sub(1)) {
        Some((cut, _)) if text.chars().count() > max_chars => format!("{}…", &text[..cut]),
        _ => text.to_owned(),
    }
}

/// What the web layer knows of a cluster: the last good snapshot and how the last poll went.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct ClusterState {
    pub name: String,
    pub kind: ClusterKind,
    /// Where Osprey reaches the cluster: bootstrap servers, management API or name servers.
    pub addresses: String,
    pub poll_interval_secs: u64,
    /// How far apart per-topic and per-queue history rows are (`history.topic_sample_interval`):
    /// charts of that history use buckets no finer than this.
    pub topic_sample_millis: Millis,
    /// The last successful poll; kept while the cluster is unreachable.
    #[serde(skip)]
    pub snapshot: Option<Arc<ClusterSnapshot>>,
    pub last_attempt_at: Option<Millis>,
    /// When the cluster was last reached, from this run or (after a restart) from history.
    pub last_good_at: Option<Millis>,
    pub last_error: Option<String>,
    pub consecutive_failures: u32,
    /// Failed polls since this process started.
    pub poll_failures_total: u64,
    /// Brokers seen earlier in this run that the last good poll did not list.
    pub missing_brokers: Vec<Broker>,
    /// Consumer lag of every group as of the last good poll, sorted by group name.
    #[serde(skip)]
    pub groups: Arc<Vec<GroupLag>>,
    /// Broker metrics as of the last good poll.
    #[serde(skip)]
    pub metrics: Option<Arc<ClusterMetrics>>,
    /// Each topic's end-offset totals over the last two hours, for `producer_stopped`.
    #[serde(skip)]
    pub flows: Arc<TopicFlows>,
    /// With several instances: the one that polls the cluster (holds its lease).
    pub polled_by: Option<String>,
    /// The end-to-end canary's topic or queue, when it is enabled.
    #[serde(default)]
    pub canary_topic: Option<String>,
    /// RabbitMQ: the canary queue's vhost.
    #[serde(default)]
    pub canary_vhost: Option<String>,
    /// What the canary measured as of its last round.
    #[serde(default)]
    pub canary: Option<Arc<CanaryReading>>,
}

/// The history rows of the canary's figures: the cluster's (scope `canary`) and each broker's
/// (`canary:broker:ID`).
fn canary_samples(reading: &CanaryReading) -> Vec<MetricSample> {
    let scoped = |scope: String, figures: &CanaryFigures| {
        let values = [
            ("produce_p50_ms", figures.produce_p50_ms),
            ("produce_p99_ms", figures.produce_p99_ms),
            ("end_to_end_p50_ms", figures.end_to_end_p50_ms),
            ("end_to_end_p99_ms", figures.end_to_end_p99_ms),
            ("sent", Some(figures.sent as f64)),
            ("lost", Some(figures.lost as f64)),
        ];
        values
            .into_iter()
            .filter_map(|(metric, value)| {
                Some(MetricSample { scope: scope.clone(), metric, value: value? })
            })
            .collect::<Vec<_>>()
    };
    let brokers = reading
        .brokers
        .iter()
        .flat_map(|b| scoped(format!("canary:broker:{}", b.broker), &b.figures));
    scoped(CANARY_SCOPE.into(), &reading.cluster).into_iter().chain(brokers).collect()
}

/// The history scope of the canary's cluster figures.
pub const CANARY_SCOPE: &str = "canary";

/// The history rows of a poll's metrics: the cluster figures and each broker's.
fn metric_samples(metrics: &ClusterMetrics) -> Vec<MetricSample> {
    let cluster = metrics.cluster_values().into_iter().map(|(metric, value)| MetricSample {
        scope: String::new(),
        metric: metric.as_str(),
        value,
    });
    let brokers = metrics.brokers.iter().flat_map(|b| {
        b.values.iter().filter(|(_, v)| v.is_finite()).map(|(metric, value)| MetricSample {
            scope: format!("broker:{}", b.broker),
            metric: metric.as_str(),
            value: *value,
        })
    });
    cluster.filter(|m| m.value.is_finite()).chain(brokers).collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ClusterStatus {
    /// Not polled yet.
    Pending,
    Up,
    /// The last poll failed.
    Down,
}

impl ClusterStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ClusterStatus::Pending => "pending",
            ClusterStatus::Up => "up",
            ClusterStatus::Down => "down",
        }
    }
}

impl ClusterState {
    pub fn new(config: &ClusterConfig) -> Self {
        ClusterState {
            name: config.name.clone(),
            kind: config.kind(),
            addresses: config.connection.addresses().to_owned(),
            poll_interval_secs: config.poll_interval.as_secs(),
            // The configured value is filled in by `PollBook::new`.
            topic_sample_millis: millis(HistoryConfig::default().topic_sample_interval),
            snapshot: None,
            last_attempt_at: None,
            last_good_at: None,
            last_error: None,
            consecutive_failures: 0,
            poll_failures_total: 0,
            missing_brokers: Vec::new(),
            groups: Arc::default(),
            metrics: None,
            flows: Arc::default(),
            polled_by: None,
            canary_topic: config.canary.enabled.then(|| config.canary.topic_for(config.kind())),
            canary_vhost: config
                .canary
                .enabled
                .then(|| config.canary.vhost.clone().unwrap_or_else(|| "/".into())),
            canary: None,
        }
    }

    pub fn status(&self) -> ClusterStatus {
        match (self.last_attempt_at, self.consecutive_failures) {
            (None, _) => ClusterStatus::Pending,
            (Some(_), 0) => ClusterStatus::Up,
            (Some(_), _) => ClusterStatus::Down,
        }
    }
}

/// The clusters this process polls, in configuration order, each with its latest state.
#[derive(Debug, Default, Clone)]
pub struct Clusters {
    entries: Vec<(String, watch::Receiver<Arc<ClusterState>>)>,
}

impl Clusters {
    pub fn push(&mut self, name: String, state: watch::Receiver<Arc<ClusterState>>) {
        self.entries.push((name, state));
    }

    pub fn get(&self, name: &str) -> Option<Arc<ClusterState>> {
        self.entries.iter().find(|(n, _)| n == name).map(|(_, rx)| Arc::clone(&rx.borrow()))
    }

    pub fn all(&self) -> Vec<Arc<ClusterState>> {
        self.entries.iter().map(|(_, rx)| Arc::clone(&rx.borrow())).collect()
    }
}

/// Group names longer than the history column are shown live but not kept in history.
fn storable(group: &str) -> bool {
    group.len() <= 255
}

fn group_sample(g: &GroupLag) -> GroupSample {
    GroupSample {
        group: g.summary.name.clone(),
        lag: g.summary.lag,
        max_lag: g.summary.max_lag,
        lag_seconds: g.summary.lag_seconds,
        status: i64::from(g.summary.status.code()),
        consume_per_sec: g.summary.consume_per_sec,
        produce_per_sec: g.summary.produce_per_sec,
    }
}

/// Turns one poll's outcome into the next published state and the history to write. Pure:
/// everything it needs comes in as arguments.
#[derive(Debug)]
pub struct PollBook {
    state: ClusterState,
    seen_brokers: BTreeMap<i32, Broker>,
    sampler: TopicSampler,
    queue_sampler: QueueSampler,
    lag: LagBook,
    partition_interval: Millis,
    partitions_written_at: Option<Millis>,
}

impl PollBook {
    pub fn new(mut state: ClusterState, history: &HistoryConfig, lag: &LagConfig) -> Self {
        state.topic_sample_millis = millis(history.topic_sample_interval);
        state.flows = Arc::new(TopicFlows::new(state.topic_sample_millis));
        PollBook {
            state,
            seen_brokers: BTreeMap::new(),
            sampler: TopicSampler::new(history.topic_sample_interval),
            queue_sampler: QueueSampler::new(history.topic_sample_interval),
            lag: LagBook::new(lag_rules(lag)),
            partition_interval: i64::try_from(lag.partition_sample_interval.as_millis())
                .unwrap_or(i64::MAX),
            partitions_written_at: None,
        }
    }

    /// Every group partition's lag, when a partition sample interval has passed.
    fn partition_samples(&mut self, now: Millis, groups: &[GroupLag]) -> Vec<GroupPartitionSample> {
        if self.partitions_written_at.is_some_and(|at| now - at < self.partition_interval) {
            return Vec::new();
        }
        self.partitions_written_at = Some(now);
        groups
            .iter()
            .filter(|g| storable(&g.summary.name))
            .flat_map(|g| {
                g.topics.iter().flat_map(move |t| {
                    t.partitions.iter().map(move |p| GroupPartitionSample {
                        group: g.summary.name.clone(),
                        topic: t.topic.clone(),
                        partition: p.partition,
                        committed: p.committed,
                        end: p.end,
                        lag: p.lag,
                        lag_seconds: p.lag_seconds,
                    })
                })
            })
            .collect()
    }

    pub fn state(&self) -> &ClusterState {
        &self.state
    }

    /// The canary's latest reading, published with the next poll's state.
    pub fn canary(&mut self, reading: Option<Arc<CanaryReading>>) {
        self.state.canary = reading;
    }

    pub fn succeeded(&mut self, snapshot: ClusterSnapshot) -> PollRecord {
        self.succeeded_with(snapshot, Vec::new())
    }

    /// A good poll with the broker metrics scraped beside it (Prometheus, Jolokia).
    pub fn succeeded_with(
        &mut self,
        mut snapshot: ClusterSnapshot,
        scraped: Vec<BrokerMetrics>,
    ) -> PollRecord {
        let previous = self.state.snapshot.clone();
        if let Some(topic) = &self.state.canary_topic {
            snapshot.mark_canary(topic);
            if let (Some(view), Some(vhost)) = (&mut snapshot.queues, &self.state.canary_vhost) {
                // Just made by the adapter: changed in place, not copied.
                Arc::make_mut(view).set_aside(vhost, topic);
            }
        }
        if let Some(previous) = &previous {
            snapshot.derive_rates_from(previous);
        }
        let metrics = ClusterMetrics::assemble(&snapshot, previous.as_deref(), scraped);
        let now = snapshot.taken_at;
        for broker in &snapshot.brokers {
            self.seen_brokers.insert(broker.id, broker.clone());
        }
        let present = |id: i32| snapshot.brokers.binary_search_by_key(&id, |b| b.id).is_ok();
        let brokers: Vec<BrokerSample> = self
            .seen_brokers
            .keys()
            .map(|&id| BrokerSample { broker_id: id, up: present(id) })
            .collect();
        self.state.missing_brokers =
            self.seen_brokers.values().filter(|b| !present(b.id)).cloned().collect();
        let groups = self.lag.evaluate(&snapshot);
        let group_partitions = self.partition_samples(now, &groups);
        let record = PollRecord {
            cluster: ClusterSample {
                cluster: snapshot.cluster.clone(),
                ts: now,
                reachable: true,
                brokers: snapshot.brokers.len() as i64,
                topics: snapshot.topics.len() as i64,
                partitions: snapshot.partition_count() as i64,
                under_replicated: snapshot.under_replicated() as i64,
                offline: snapshot.offline() as i64,
                end_offset_sum: snapshot.end_offset_sum(),
                messages_in_per_sec: snapshot.messages_in_per_sec(),
                poll_millis: i64::try_from(snapshot.poll_millis).unwrap_or(i64::MAX),
                error: None,
                polled_by: None,
            },
            topics: self.sampler.sample(&snapshot),
            brokers,
            groups: groups.iter().filter(|g| storable(&g.summary.name)).map(group_sample).collect(),
            group_topics: groups
                .iter()
                .filter(|g| storable(&g.summary.name))
                .flat_map(|g| {
                    g.topics.iter().map(|t| GroupTopicSample {
                        group: g.summary.name.clone(),
                        topic: t.topic.clone(),
                        lag: t.lag,
                        lag_seconds: t.lag_seconds,
                    })
                })
                .collect(),
            group_partitions,
            queues: self.queue_sampler.sample(&snapshot),
            metrics: metric_samples(&metrics)
                .into_iter()
                .chain(self.state.canary.as_deref().map(canary_samples).unwrap_or_default())
                .collect(),
            fence: None,
            published: None,
        };
        self.state.metrics = Some(Arc::new(metrics));
        self.state.groups = Arc::new(groups);
        // Copied only when a sample is due (once per topic sample interval): between samples the
        // published states share one.
        if self.state.flows.changes_with(&snapshot) {
            Arc::make_mut(&mut self.state.flows).record(&snapshot);
        }
        self.state.last_attempt_at = Some(now);
        self.state.last_good_at = Some(now);
        self.state.last_error = None;
        self.state.consecutive_failures = 0;
        self.state.snapshot = Some(Arc::new(snapshot));
        record
    }

    pub fn failed(&mut self, now: Millis, error: &AdapterError, poll_millis: u64) -> PollRecord {
        let message = shorten(&error.to_string(), MAX_ERROR_CHARS);
        self.state.last_attempt_at = Some(now);
        self.state.last_error = Some(message.clone());
        self.state.consecutive_failures = self.state.consecutive_failures.saturating_add(1);
        self.state.poll_failures_total += 1;
        PollRecord {
            cluster: ClusterSample {
                cluster: self.state.name.clone(),
                ts: now,
                reachable: false,
                brokers: 0,
                topics: 0,
                partitions: 0,
                under_replicated: 0,
                offline: 0,
                end_offset_sum: 0,
                messages_in_per_sec: None,
                poll_millis: i64::try_from(poll_millis).unwrap_or(i64::MAX),
                error: Some(message),
                polled_by: None,
            },
            ..PollRecord::default()
        }
    }

    /// How long to wait before the next attempt: the interval while healthy, doubling per
    /// consecutive failure up to [`MAX_BACKOFF`] (never below the interval).
    pub fn next_delay(&self, interval: Duration) -> Duration {
        let failures = self.state.consecutive_failures;
        if failures <= 1 {
            return interval;
        }
        let factor = 1u32 << (failures - 1).min(6);
        (interval * factor).min(MAX_BACKOFF.max(interval))
    }
}

/// What every cluster's poller shares.
#[derive(Debug, Clone)]
pub struct PollerShared {
    pub history: HistoryConfig,
    pub lag: LagConfig,
    /// Read at start-up (the last good poll) and, while another instance holds the cluster,
    /// for the state it publishes; written through `held`.
    pub store: Store,
    pub held: Arc<writer::HistoryQueue>,
    /// Whether this instance polls the cluster or follows the one that does.
    pub ownership: Ownership,
    /// What wakes a follower when the cluster's holder published.
    pub follow: Arc<following::FollowSignals>,
}

/// Waits for the canary's next reading; forever without a canary (or once its task is gone).
async fn canary_changed(
    canary: &mut Option<crate::canary::Readings>,
) -> Option<Arc<CanaryReading>> {
    if let Some(rx) = canary
        && rx.changed().await.is_ok()
    {
        return rx.borrow_and_update().clone();
    }
    std::future::pending().await
}

/// Waits for a change of the leases held; forever for a single instance.
async fn leases_changed(
    leases: &mut Option<watch::Receiver<BTreeMap<String, crate::store::Fence>>>,
) {
    if let Some(rx) = leases
        && rx.changed().await.is_ok()
    {
        return;
    }
    std::future::pending().await
}

pub async fn run_cluster(
    adapter: impl ClusterAdapter,
    config: ClusterConfig,
    shared: PollerShared,
    mut canary: Option<crate::canary::Readings>,
    state: watch::Sender<Arc<ClusterState>>,
    cancel: CancellationToken,
) {
    let PollerShared { history, lag, store, held, ownership, follow } = shared;
    let lease = crate::instances::cluster_lease(&config.name);
    let polled_by = ownership.identity().map(|i| i.name.clone());
    let mut leases = ownership.watch();
    let mut following = tokio::time::interval(following::FOLLOW_EVERY);
    following.set_missed_tick_behavior(MissedTickBehavior::Skip);
    let published = follow.signal(&config.name);
    let mut last_read = tokio::time::Instant::now();
    let mut seen: Option<Millis> = None;
    let mut epoch: Option<i64> = None;
    let mut initial = ClusterState::new(&config);
    match within(crate::store::PAGE_WAIT, store.last_good_poll(&config.name)).await {
        Ok(at) => initial.last_good_at = at,
        Err(e) => {
            tracing::warn!(cluster = %config.name, error = %e, "could not read the last good poll from history")
        }
    }
    let mut book = PollBook::new(initial, &history, &lag);
    state.send_replace(Arc::new(book.state().clone()));
    let mut scraper = match Scraper::from_cluster(&config) {
        Ok(scraper) => scraper,
        Err(e) => {
            tracing::error!(cluster = %config.name, error = %e, "broker metric endpoints ignored");
            None
        }
    };

    // Clusters configured together start their polls spread over up to a second.
    let jitter = Duration::from_millis(config.name.bytes().map(u64::from).sum::<u64>() * 37 % 1000);
    let mut ticker =
        tokio::time::interval_at(tokio::time::Instant::now() + jitter, config.poll_interval);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Skip);
    let mut next_attempt = tokio::time::Instant::now();
    let mut deadline = PollDeadline::new(config.poll_timeout);
    'polling: loop {
        let mut tick_at = tokio::select! {
            _ = cancel.cancelled() => break,
            tick_at = ticker.tick() => tick_at,
            _ = published.notified(), if ownership.holding(&lease) == Holding::Elsewhere => {
                following::follow(&store, &config.name, &mut seen, &state).await;
                last_read = tokio::time::Instant::now();
                continue;
            }
            _ = following.tick(), if ownership.holding(&lease) == Holding::Elsewhere => {
                if seen.is_none() || follow.read_due(last_read.elapsed()) {
                    following::follow(&store, &config.name, &mut seen, &state).await;
                    last_read = tokio::time::Instant::now();
                }
                continue;
            }
            // A canary round is told at once (its rules are evaluated on it), not at the next poll.
            reading = canary_changed(&mut canary) => {
                book.canary(reading);
                state.send_replace(Arc::new(book.state().clone()));
                continue;
            }
            () = leases_changed(&mut leases) => match ownership.holding(&lease) {
                // A lease just gained is polled at once: the cluster moved here.
                Holding::Held(fence) if epoch != Some(fence.epoch) => tokio::time::Instant::now(),
                _ => continue,
            },
        };
        // A tick handed out long after its time (the process was paused) starts the grid again
        // from now: the next poll is an interval later, not at the next old tick moments away.
        let now_instant = tokio::time::Instant::now();
        if now_instant.saturating_duration_since(tick_at) > config.poll_interval / 2 {
            ticker.reset();
            tick_at = now_instant;
        }
        let fence = match ownership.holding(&lease) {
            Holding::Alone => None,
            Holding::Elsewhere => {
                if epoch.take().is_some() {
                    tracing::info!(cluster = %config.name, "another instance polls this cluster now");
                }
                continue;
            }
            Holding::Held(fence) => {
                if epoch != Some(fence.epoch) {
                    tracing::info!(cluster = %config.name, epoch = fence.epoch, "this instance polls the cluster now");
                    epoch = Some(fence.epoch);
                    // Carry on from what the previous holder published (rates, brokers seen).
                    let mut carried = state.borrow().as_ref().clone();
                    carried.polled_by = polled_by.clone();
                    book = PollBook::new(carried, &history, &lag);
                    next_attempt = tick_at;
                    ticker.reset();
                }
                Some(fence)
            }
        };
        if tick_at < next_attempt {
            continue;
        }
        let now = now_millis();
        let started = tokio::time::Instant::now();
        let allowed = deadline.current();
        let poll = tokio::time::timeout(allowed, adapter.snapshot(now));
        tokio::pin!(poll);
        let outcome = loop {
            tokio::select! {
                _ = cancel.cancelled() => break 'polling,
                outcome = &mut poll => break outcome,
                // A poll that hangs on a broker does not hold the canary's news back.
                reading = canary_changed(&mut canary) => {
                    book.canary(reading);
                    state.send_replace(Arc::new(book.state().clone()));
                }
            }
        };
        let outcome = match outcome {
            Ok(outcome) => {
                deadline.finished(started.elapsed());
                outcome
            }
            Err(_) => {
                deadline.timed_out();
                Err(AdapterError::Timeout(allowed))
            }
        };
        let was_down = book.state().status() == ClusterStatus::Down;
        let mut record = match outcome {
            Ok(snapshot) => {
                if was_down {
                    tracing::info!(cluster = %config.name, "cluster reachable again");
                }
                tracing::debug!(cluster = %config.name, poll_ms = snapshot.poll_millis, topics = snapshot.topics.len(), "poll done");
                let scraped = match &mut scraper {
                    Some(scraper) => tokio::select! {
                        _ = cancel.cancelled() => break,
                        scraped = scraper.scrape(now) => scraped,
                    },
                    None => Vec::new(),
                };
                book.succeeded_with(snapshot, scraped)
            }
            Err(error) => {
                let poll_millis = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
                let record = book.failed(now, &error, poll_millis);
                let failures = book.state().consecutive_failures;
                if failures == 1 || failures.is_power_of_two() {
                    tracing::warn!(cluster = %config.name, failures, %error, "poll failed; showing the cluster as unreachable");
                }
                record
            }
        };
        next_attempt = tick_at + book.next_delay(config.poll_interval);
        record.cluster.polled_by = polled_by.clone();
        if fence.is_some() {
            // Tens of milliseconds for a cluster of 20,000 partitions: off the async workers.
            let latest = book.state().clone();
            match tokio::task::spawn_blocking(move || published::encode(&latest)).await {
                Ok(Ok(bytes)) => record.published = Some(bytes),
                Ok(Err(e)) => {
                    tracing::error!(cluster = %config.name, error = %e, "cannot publish the cluster's state")
                }
                Err(e) => {
                    tracing::error!(cluster = %config.name, error = %e, "publishing the cluster's state failed")
                }
            }
        }
        record.fence = fence;
        state.send_replace(Arc::new(book.state().clone()));
        // The writer stores it; a slow or absent database never holds up the next poll.
        held.push(record);
    }
    tracing::debug!(cluster = %config.name, "poller stopped");
}

/// Writes the pollers' history records (see [`writer`]) until cancelled.
pub async fn run_history_writer(
    store: Store,
    held: Arc<writer::HistoryQueue>,
    cancel: CancellationToken,
) {
    writer::run(&held, &store, cancel).await;
}

/// Keeps history in shape: rolls complete buckets up every minute, applies each level's
/// retention every hour (both right after start-up too).
pub async fn run_history(
    store: Store,
    history: HistoryConfig,
    held: Arc<writer::HistoryQueue>,
    ownership: Ownership,
    cancel: CancellationToken,
) {
    let mut ticker = tokio::time::interval(Duration::from_secs(60));
    ticker.set_missed_tick_behavior(MissedTickBehavior::Skip);
    let mut ticks: u64 = 0;
    loop {
        tokio::select! {
            _ = cancel.cancelled() => break,
            _ = ticker.tick() => {}
        }
        // Polls held through an outage are older than the rollups' next bucket: roll up only
        // once they are written, or they would never reach the 1-minute and 1-hour charts.
        if !held.is_empty() {
            tracing::debug!("rollups wait for the held polls");
            continue;
        }
        // With several instances, the one holding the history lease does it, fenced.
        let fence = match ownership.holding(crate::instances::HISTORY_LEASE) {
            Holding::Elsewhere => continue,
            Holding::Alone => None,
            Holding::Held(fence) => Some(fence),
        };
        let rolled = within(BACKGROUND_WAIT, store.roll_up(now_millis(), fence.as_ref())).await;
        match rolled {
            Ok(0) => {}
            Ok(rows) => tracing::debug!(rows, "history rolled up"),
            Err(e) => tracing::error!(error = %e, "could not roll up history"),
        }
        if ticks.is_multiple_of(60) {
            if let Err(e) = within(BACKGROUND_WAIT, store.prepare_partitions(now_millis())).await {
                tracing::error!(error = %e, "could not make the next days' history partitions");
            }
            let retention = store.apply_retention(retention(&history), now_millis());
            match within(BACKGROUND_WAIT, retention).await {
                Ok(0) => {}
                Ok(rows) => tracing::info!(rows, "retention deleted old history"),
                Err(e) => tracing::error!(error = %e, "retention could not delete old history"),
            }
        }
        ticks += 1;
    }
}

/// The evaluator's window rules as the `[lag]` section sets them.
fn lag_rules(lag: &LagConfig) -> crate::evaluator::Rules {
    crate::evaluator::Rules { window: millis(lag.window), min_samples: lag.min_samples }
}

/// How long each level of history is kept, as `[history]` says.
fn retention(history: &HistoryConfig) -> crate::store::Retention {
    crate::store::Retention {
        raw: millis(history.retention),
        minute: millis(history.minute_retention),
        hour: millis(history.hour_retention),
        audit: millis(history.audit_retention),
    }
}

fn millis(duration: Duration) -> Millis {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests;
