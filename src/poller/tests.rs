use super::*;
use crate::domain::fixtures::*;
use crate::store::QueueSample;

fn cluster_config() -> ClusterConfig {
    crate::config::Config::example().clusters.remove(0)
}

fn book() -> PollBook {
    PollBook::new(
        ClusterState::new(&cluster_config()),
        &HistoryConfig::default(),
        &LagConfig::default(),
    )
}

fn broker(id: i32) -> Broker {
    Broker { id, host: "h".into(), port: 9092, rack: None }
}

#[test]
fn state_moves_pending_up_down_up() {
    let mut book = book();
    assert_eq!(book.state().status(), ClusterStatus::Pending);
    book.succeeded(snapshot(1_000, vec![]));
    assert_eq!(book.state().status(), ClusterStatus::Up);
    let record = book.failed(11_000, &AdapterError::Unreachable("refused".into()), 3);
    assert!(!record.cluster.reachable);
    assert_eq!(record.cluster.error.as_deref(), Some("cluster unreachable: refused"));
    let state = book.state();
    assert_eq!(state.status(), ClusterStatus::Down);
    assert!(state.snapshot.is_some(), "the last good snapshot stays visible");
    assert_eq!(state.last_good_at, Some(1_000));
    book.succeeded(snapshot(21_000, vec![]));
    assert_eq!(book.state().status(), ClusterStatus::Up);
    assert_eq!(book.state().last_error, None);
}

#[test]
fn long_errors_are_shortened_on_a_char_boundary() {
    assert_eq!(shorten("short", 10), "short");
    assert_eq!(shorten("ééééé", 3), "éé…");
    assert_eq!(shorten(&"x".repeat(2000), 1000).chars().count(), 1000);
}

#[test]
fn backoff_doubles_and_is_capped() {
    let mut book = book();
    let interval = Duration::from_secs(10);
    assert_eq!(book.next_delay(interval), interval);
    let error = AdapterError::Timeout(interval);
    let delays: Vec<u64> = (0..6)
        .map(|i| {
            book.failed(i, &error, 0);
            book.next_delay(interval).as_secs()
        })
        .collect();
    assert_eq!(delays, vec![10, 20, 40, 60, 60, 60]);
}

#[test]
fn rates_and_cluster_sample_come_from_consecutive_polls() {
    let mut book = book();
    book.succeeded(snapshot(0, vec![topic("a", vec![partition(0, Some(1), (0, 100))])]));
    let record =
        book.succeeded(snapshot(10_000, vec![topic("a", vec![partition(0, Some(1), (0, 150))])]));
    assert_eq!(record.cluster.messages_in_per_sec, Some(5.0));
    assert_eq!(record.cluster.partitions, 1);
    assert_eq!(record.cluster.end_offset_sum, 150);
}

#[test]
fn a_broker_that_vanishes_is_recorded_down() {
    let mut book = book();
    let mut first = snapshot(0, vec![]);
    first.brokers = vec![broker(1), broker(2)];
    book.succeeded(first);
    let mut second = snapshot(10_000, vec![]);
    second.brokers = vec![broker(1)];
    let record = book.succeeded(second);
    assert_eq!(
        record.brokers,
        vec![BrokerSample { broker_id: 1, up: true }, BrokerSample { broker_id: 2, up: false }]
    );
    assert_eq!(book.state().missing_brokers, vec![broker(2)]);
}

#[test]
fn partition_lag_goes_to_history_once_per_interval() {
    use crate::domain::{CommittedOffset, ConsumerGroup};
    let mut book = book();
    let at = |ts| {
        let mut s = snapshot(ts, vec![topic("a", vec![partition(0, Some(1), (0, 10))])]);
        s.groups = vec![ConsumerGroup {
            name: "g".into(),
            state: "Empty".into(),
            protocol_type: "consumer".into(),
            protocol: String::new(),
            group_type: None,
            coordinator: Some(1),
            members: vec![],
            offsets: vec![CommittedOffset {
                topic: "a".into(),
                partition: 0,
                offset: 4,
                oldest_unconsumed_at: None,
            }],
            offsets_error: None,
        }];
        s
    };
    let first = book.succeeded(at(0));
    assert_eq!(first.group_partitions.len(), 1);
    assert_eq!(first.group_partitions[0].lag, 6);
    assert_eq!(first.groups[0].lag, 6);
    assert!(
        book.succeeded(at(60_000)).group_partitions.is_empty(),
        "every poll writes group totals only"
    );
    assert_eq!(book.succeeded(at(300_000)).group_partitions.len(), 1, "five minutes later");
}

fn with_queues(taken_at: Millis, backlogs: &[(&str, u64, u64)]) -> ClusterSnapshot {
    use crate::domain::queue::{Overview, Queue, QueueSnapshot, Rates};
    let mut snap = snapshot(taken_at, vec![]);
    snap.queues = Some(Arc::new(QueueSnapshot {
        taken_at,
        overview: Overview::default(),
        nodes: vec![],
        queues: backlogs
            .iter()
            .map(|(name, ready, consumers)| Queue {
                name: (*name).into(),
                vhost: "/".into(),
                kind: "classic".into(),
                state: "running".into(),
                messages_ready: *ready,
                messages_unacknowledged: 0,
                delayed: 0,
                held: 0,
                messages: *ready,
                consumers: *consumers,
                consumer_utilisation: None,
                idle_since: None,
                message_stats: Rates::default(),
            })
            .collect(),
    }));
    snap
}

#[test]
fn queue_sampler_keeps_busy_and_changed_queues_once_per_interval() {
    let mut sampler = QueueSampler::new(Duration::from_secs(60));
    let names = |rows: Vec<QueueSample>| rows.into_iter().map(|r| r.queue).collect::<Vec<_>>();
    let first = sampler.sample(&with_queues(0, &[("busy", 5, 1), ("idle", 0, 0)]));
    assert_eq!(names(first), ["busy", "idle"], "everything once, to start the history");
    assert!(sampler.sample(&with_queues(30_000, &[("busy", 6, 1), ("idle", 0, 0)])).is_empty());
    let later = sampler.sample(&with_queues(60_000, &[("busy", 6, 1), ("idle", 0, 0)]));
    assert_eq!(names(later), ["busy"], "an idle, unchanged, empty queue costs nothing");
    let changed = sampler.sample(&with_queues(120_000, &[("busy", 0, 1), ("idle", 0, 2)]));
    assert_eq!(names(changed), ["busy", "idle"], "a drained queue and a new consumer are news");
}

/// Poll times every 10 s with up to ±2.5 s of jitter (a fixed pseudo-random sequence),
/// starting at an odd offset from the minute grid, for an hour.
fn jittery_polls() -> Vec<Millis> {
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    (0..360)
        .map(|i| {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            let jitter = i64::try_from(seed >> 33).unwrap() % 5_001 - 2_500;
            1_700_000_007_321 + i * 10_000 + jitter
        })
        .collect()
}

#[test]
fn a_topic_sampler_polled_every_ten_seconds_with_jitter_writes_one_row_per_minute_slot() {
    let mut sampler = TopicSampler::new(Duration::from_secs(60));
    let polls = jittery_polls();
    let mut rows_at = Vec::new();
    for &ts in &polls {
        // 3 messages per millisecond: the true rate is 3,000 msg/s.
        let snap = snapshot(ts, vec![topic("moving", vec![partition(0, Some(1), (0, ts * 3))])]);
        let rows = sampler.sample(&snap);
        assert!(rows.len() <= 1);
        if let Some(row) = rows.first() {
            if !rows_at.is_empty() {
                let rate = row.messages_in_per_sec.expect("a rate after the first row");
                assert!((rate - 3_000.0).abs() < 1e-6, "rate over the real elapsed time: {rate}");
            }
            rows_at.push(ts);
        }
    }
    let slot = |ts: Millis| ts.div_euclid(60_000);
    let first = slot(polls[0]);
    let last = slot(*polls.last().unwrap());
    let slots: Vec<Millis> = rows_at.iter().map(|&ts| slot(ts)).collect();
    assert_eq!(slots, (first..=last).collect::<Vec<_>>(), "exactly one row per minute slot");
    // After the first row (wherever the first poll fell in its slot), rows are the first
    // poll of each minute, so about a minute apart.
    for pair in rows_at[1..].windows(2) {
        assert!(pair[1] - pair[0] >= 45_000, "rows stay about a minute apart: {pair:?}");
    }
}

#[test]
fn a_queue_sampler_writes_one_row_per_grid_slot() {
    let mut sampler = QueueSampler::new(Duration::from_secs(60));
    let written: Vec<Millis> = jittery_polls()
        .into_iter()
        .filter(|&ts| !sampler.sample(&with_queues(ts, &[("busy", 5, 1)])).is_empty())
        .collect();
    let slots: Vec<Millis> = written.iter().map(|ts| ts.div_euclid(60_000)).collect();
    let mut unique = slots.clone();
    unique.dedup();
    assert_eq!(slots, unique, "never two rows in one slot");
    assert_eq!(slots.len() as i64, slots.last().unwrap() - slots[0] + 1, "no slot skipped");
}

#[test]
fn the_published_state_carries_the_topic_sample_interval() {
    let history = HistoryConfig {
        topic_sample_interval: Duration::from_secs(300),
        ..HistoryConfig::default()
    };
    let book = PollBook::new(ClusterState::new(&cluster_config()), &history, &LagConfig::default());
    assert_eq!(book.state().topic_sample_millis, 300_000);
}

#[test]
fn topic_sampler_writes_moving_topics_once_per_interval() {
    let mut sampler = TopicSampler::new(Duration::from_secs(60));
    let at = |ts, a, b| {
        snapshot(
            ts,
            vec![
                topic("a", vec![partition(0, Some(1), (0, a))]),
                topic("b", vec![partition(0, Some(1), (0, b))]),
            ],
        )
    };
    let first = sampler.sample(&at(0, 10, 5));
    assert_eq!(first.len(), 2, "the first tick writes a baseline for every topic");
    assert!(first.iter().all(|t| t.messages_in_per_sec.is_none()));
    assert!(sampler.sample(&at(30_000, 40, 5)).is_empty(), "not yet an interval later");
    let second = sampler.sample(&at(60_000, 70, 5));
    assert_eq!(second.len(), 1, "idle topic b is skipped");
    assert_eq!(second[0].topic, "a");
    assert_eq!(second[0].messages_in_per_sec, Some(1.0));
    let third = sampler.sample(&at(120_000, 70, 5));
    assert!(third.is_empty());
    let fourth = sampler.sample(&at(180_000, 70, 65));
    assert_eq!(fourth[0].topic, "b");
    assert_eq!(
        fourth[0].messages_in_per_sec,
        Some(1.0),
        "rate over one interval, not since the last row"
    );
}

/// A cluster whose poll takes `slow` until one has finished (new connections, every topic's
/// configuration), then `fast`: the shape of a big cluster's first poll.
struct SlowUntilFirstPoll {
    slow: Duration,
    fast: Duration,
    polled: std::sync::atomic::AtomicBool,
}

impl ClusterAdapter for SlowUntilFirstPoll {
    async fn snapshot(&self, now: Millis) -> Result<ClusterSnapshot, AdapterError> {
        use std::sync::atomic::Ordering;
        let took = if self.polled.load(Ordering::SeqCst) { self.fast } else { self.slow };
        tokio::time::sleep(took).await;
        self.polled.store(true, Ordering::SeqCst);
        let mut snapshot = snapshot(now, vec![]);
        snapshot.poll_millis = u64::try_from(took.as_millis()).unwrap_or(u64::MAX);
        Ok(snapshot)
    }
}

#[tokio::test]
async fn a_first_poll_longer_than_the_timeout_still_brings_the_cluster_up() {
    let mut config = cluster_config();
    config.poll_interval = Duration::from_secs(10);
    config.poll_timeout = Duration::from_secs(8);
    let adapter = SlowUntilFirstPoll {
        slow: Duration::from_secs(20),
        fast: Duration::from_secs(1),
        polled: Default::default(),
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("osprey.db").display());
    let store = Store::connect(&url, 1).await.expect("store");
    // Virtual time from here (history goes to a queue no writer empties).
    tokio::time::pause();
    let (sender, mut state) = watch::channel(Arc::new(ClusterState::new(&config)));
    let cancel = CancellationToken::new();
    let poller = tokio::spawn(run_cluster(
        adapter,
        config,
        super::PollerShared {
            history: HistoryConfig::default(),
            lag: LagConfig::default(),
            store,
            held: Arc::new(super::writer::HistoryQueue::default()),
            ownership: crate::instances::Ownership::alone(),
            follow: Default::default(),
        },
        None,
        sender,
        cancel.clone(),
    ));
    let up = tokio::time::timeout(Duration::from_secs(300), async {
        loop {
            if state.borrow_and_update().status() == ClusterStatus::Up {
                return;
            }
            state.changed().await.expect("the poller runs");
        }
    })
    .await;
    cancel.cancel();
    poller.await.expect("the poller stops");
    assert!(up.is_ok(), "the cluster never came up: {:?}", state.borrow().last_error);
    assert_eq!(state.borrow().consecutive_failures, 0);
}

#[test]
fn a_published_state_reads_back_whole_on_another_instance() {
    use crate::domain::metrics::{BrokerMetrics, Metric};
    let mut book = book();
    let mut first = with_queues(0, &[("orders", 5, 1)]);
    first.topics = vec![topic("a", vec![partition(0, Some(1), (0, 10))])];
    book.succeeded(first);
    let mut second = with_queues(10_000, &[("orders", 9, 0)]);
    second.topics = vec![topic("a", vec![partition(0, Some(1), (0, 30))])];
    if let Some(queues) = second.queues.as_mut() {
        Arc::make_mut(queues).queues[0].message_stats.publish = Some(0.4);
    }
    let scraped = vec![BrokerMetrics {
        values: [(Metric::BytesInPerSec, 12.5), (Metric::RequestHandlerIdlePercent, f64::NAN)]
            .into_iter()
            .collect(),
        ..BrokerMetrics::new(1)
    }];
    book.succeeded_with(second, scraped);
    let state = book.state();

    let bytes = published::encode(state).expect("encoded");
    let read = published::decode(&bytes).expect("decoded");
    assert_eq!(read.name, state.name);
    assert_eq!(read.last_good_at, state.last_good_at);
    assert_eq!(read.snapshot, state.snapshot, "topics, queues and their rates");
    assert_eq!(read.groups, state.groups);
    let metric = |s: &ClusterState, m| {
        let metrics = s.metrics.as_ref()?;
        metrics.brokers.iter().find(|b| b.broker == 1)?.values.get(&m).copied()
    };
    assert_eq!(metric(&read, Metric::BytesInPerSec), Some(12.5));
    assert!(
        metric(&read, Metric::RequestHandlerIdlePercent).is_some_and(f64::is_nan),
        "NaN survives"
    );

    assert!(published::decode(b"garbage").is_err());
    assert!(published::decode(&bytes[..bytes.len() / 2]).is_err(), "a cut row is refused");
}

#[test]
fn the_canary_topic_stays_out_of_the_rates_and_its_figures_go_to_history() {
    use crate::domain::canary::{BrokerCanary, CanaryFigures, CanaryReading};
    let mut config = cluster_config();
    config.canary.enabled = true;
    let mut book =
        PollBook::new(ClusterState::new(&config), &HistoryConfig::default(), &LagConfig::default());
    let at = |t: i64, canary_end: i64| {
        snapshot(
            t,
            vec![
                topic("__osprey_canary", vec![partition(0, Some(1), (0, canary_end))]),
                topic("orders", vec![partition(0, Some(1), (0, t / 100))]),
            ],
        )
    };
    book.succeeded(at(10_000, 0));
    let figures = CanaryFigures { sent: 6, end_to_end_p99_ms: Some(8.0), ..Default::default() };
    book.canary(Some(Arc::new(CanaryReading {
        topic: "__osprey_canary".into(),
        interval_ms: 10_000,
        window_ms: 60_000,
        at: Some(15_000),
        error: None,
        cluster: figures.clone(),
        brokers: vec![BrokerCanary { broker: 1, node: None, figures }],
        last_lost: vec![],
    })));
    let record = book.succeeded(at(20_000, 1_000));
    // orders: 100 messages in 10 s; the canary's thousand markers do not count.
    assert_eq!(record.cluster.messages_in_per_sec, Some(10.0));
    let snapshot = book.state().snapshot.clone().unwrap();
    assert!(snapshot.topic("__osprey_canary").is_some_and(|t| t.canary && t.internal));
    let leader = book.state().metrics.as_ref().unwrap().broker(1).unwrap().values
        [&crate::domain::metrics::Metric::MessagesInPerSec];
    assert_eq!(leader, 10.0);
    let rows: Vec<(&str, &str, f64)> =
        record.metrics.iter().map(|m| (m.scope.as_str(), m.metric, m.value)).collect();
    assert!(rows.contains(&("canary", "end_to_end_p99_ms", 8.0)));
    assert!(rows.contains(&("canary:broker:1", "sent", 6.0)));
    assert!(book.state().canary.is_some(), "published with the state");
}
