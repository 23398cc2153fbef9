//! Alert-storm benchmark (issue 4): 2,000 consumer groups start lagging at once under three
//! rules. Measures the decision round (rule evaluation + engine), the transaction that writes
//! states, incidents and outbox rows into SQLite, the steady-state round after it, and how fast
//! the outbox drains into a local webhook receiver. No broker: the clusters' latest states are
//! built in memory, as the poller publishes them.
//!
//! Run through `scripts/bench.sh alerts`.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use osprey::alerting::definition::{ChannelDef, RuleDef};
use osprey::alerting::service::{Alerting, Decisions, deliver_due, evaluate_round};
use osprey::config::{AlertsConfig, ClusterConfig};
use osprey::domain::ClusterKind;
use osprey::domain::{Broker, ClusterSnapshot};
use osprey::evaluator::{Drain, GroupLag, GroupSummary, PartitionStatus, TopicLag};
use osprey::poller::{ClusterState, Clusters};
use osprey::store::Store;
use tokio::sync::watch;

const GROUPS: usize = 2_000;

fn group(i: usize, lag: i64) -> GroupLag {
    GroupLag {
        membership_changes: Default::default(),
        summary: GroupSummary {
            retention: Default::default(),
            lag_trend_per_sec: None,
            name: format!("group-{i:04}"),
            state: "Stable".into(),
            protocol_type: "consumer".into(),
            protocol: "range".into(),
            group_type: None,
            coordinator: Some(1),
            members: 1,
            status: if lag > 0 { PartitionStatus::Stall } else { PartitionStatus::Ok },
            status_thin: false,
            lag,
            max_lag: lag,
            lag_seconds: Some(lag as f64 / 100.0),
            lag_seconds_floor: false,
            consume_per_sec: Some(0.0),
            produce_per_sec: Some(100.0),
            drain_seconds: None,
            drain: Drain::of(lag, None, None),
            offsets_error: None,
        },
        topics: vec![TopicLag {
            retention: Default::default(),
            lag_trend_per_sec: None,
            topic: format!("events-{i:04}"),
            lag,
            max_lag: lag,
            lag_seconds: Some(lag as f64 / 100.0),
            lag_seconds_floor: false,
            status: PartitionStatus::Ok,
            status_thin: false,
            partitions: vec![],
        }],
    }
}

fn cluster_state(lag: i64, at: i64) -> Arc<ClusterState> {
    let config: ClusterConfig =
        toml::from_str("name = \"bench\"\nkind = \"kafka\"\nbootstrap_servers = \"127.0.0.1:9\"")
            .unwrap();
    let mut state = ClusterState::new(&config);
    state.last_attempt_at = Some(at);
    state.snapshot = Some(Arc::new(ClusterSnapshot {
        poll_millis: 1,
        controller_id: Some(1),
        brokers: vec![Broker { id: 1, host: "127.0.0.1".into(), port: 9, rack: None }],
        ..ClusterSnapshot::empty("bench", ClusterKind::Kafka, at)
    }));
    state.groups = Arc::new((0..GROUPS).map(|i| group(i, lag)).collect());
    Arc::new(state)
}

fn ms(since: Instant) -> f64 {
    since.elapsed().as_secs_f64() * 1000.0
}

#[tokio::main]
async fn main() {
    // The receiver is on loopback.
    let loopback = AlertsConfig { allow_private_targets: true, ..AlertsConfig::default() };
    // Before grouping: every (rule, subject) its own notice, told the round it fires.
    let ungrouped = AlertsConfig {
        group_by: vec!["subject".into()],
        group_wait: Duration::ZERO,
        group_interval: Duration::ZERO,
        ..loopback.clone()
    };
    storm("one notice per alert (group_by = [\"subject\"])", ungrouped).await;
    storm("grouped by cluster and rule (the default: 30 s wait)", loopback).await;
}

/// One storm under `settings`: the rounds before, during and after it, and the outbox drained.
async fn storm(label: &str, settings: AlertsConfig) {
    println!("== {label}");
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("osprey.db").display());
    let store = Store::connect(&url, 8).await.unwrap();

    // A webhook receiver that counts calls.
    let received = Arc::new(AtomicUsize::new(0));
    let counter = received.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move || {
            let counter = counter.clone();
            async move {
                counter.fetch_add(1, Ordering::Relaxed);
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hook = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });

    let channel: ChannelDef =
        toml::from_str(&format!("name = \"hook\"\nkind = \"webhook\"\nurl = \"{hook}\"")).unwrap();
    let rules: Vec<RuleDef> = [
        "name = \"lag\"\nkind = \"consumer_lag\"\nthreshold = 1000\nchannels = [\"hook\"]",
        "name = \"lag-seconds\"\nkind = \"consumer_lag_seconds\"\nthreshold = 3600\nchannels = [\"hook\"]",
        "name = \"stalled\"\nkind = \"consumer_status\"\nstatus = \"STALL\"\nfor = \"1m\"\nchannels = [\"hook\"]",
    ]
    .iter()
    .map(|t| toml::from_str(t).unwrap())
    .collect();
    store.sync_alert_config(&[channel], &rules, 0).await.unwrap();
    let wait = i64::try_from(settings.group_wait.as_millis()).unwrap();
    let alerting = Alerting::new(store.clone(), settings);

    let (tx, rx) = watch::channel(cluster_state(0, 1_000));
    let mut clusters = Clusters::default();
    clusters.push("bench".into(), rx);
    let mut decisions = Decisions::default();
    let polled = std::collections::BTreeSet::from(["bench".to_string()]);

    let started = Instant::now();
    let quiet =
        evaluate_round(&alerting, &mut decisions, &clusters, &polled, &Default::default(), 1_000)
            .await
            .unwrap();
    println!(
        "round, {GROUPS} groups all OK, 3 rules: {:.1} ms ({} writes)",
        ms(started),
        quiet.states.len()
    );

    tx.send_replace(cluster_state(50_000, 2_000));
    let started = Instant::now();
    let storm =
        evaluate_round(&alerting, &mut decisions, &clusters, &polled, &Default::default(), 2_000)
            .await
            .unwrap();
    let decided = ms(started);
    let started = Instant::now();
    store.write_round(&storm, 2_000).await.unwrap();
    println!(
        "storm round: {} incidents, {} notices queued, {} state changes decided in {decided:.1} ms; written (one SQLite transaction) in {:.1} ms",
        storm.incidents.len(),
        storm.deliveries.len(),
        storm.states.len(),
        ms(started)
    );

    let mut queued = storm.deliveries.len();
    let mut steady = Vec::new();
    for i in 0..5 {
        // The fifth round comes after group_wait: the grouped notices leave then.
        let now = if i == 4 { 2_000 + wait } else { 3_000 + i * 1_000 };
        tx.send_replace(cluster_state(50_000, now));
        let started = Instant::now();
        let round =
            evaluate_round(&alerting, &mut decisions, &clusters, &polled, &Default::default(), now)
                .await
                .unwrap();
        steady.push(ms(started));
        store.write_round(&round, now).await.unwrap();
        queued += round.deliveries.len();
    }
    steady.sort_by(f64::total_cmp);
    println!("steady rounds while the alerts fire: median {:.1} ms", steady[2]);

    let started = Instant::now();
    let mut sent = 0;
    while sent < queued {
        sent += deliver_due(&alerting).await.unwrap();
    }
    let took = started.elapsed().as_secs_f64();
    println!(
        "outbox drained: {sent} webhook deliveries in {:.2} s (receiver saw {})",
        took,
        received.load(Ordering::Relaxed)
    );
}
