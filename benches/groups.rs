//! Consumer-group benchmark (issue 3): 2,000 topics × 20 partitions (40,000 partitions) and
//! 2,000 groups with committed offsets, on a local noida-db broker or — `OSPREY_BENCH_BOOTSTRAP`
//! with `OSPREY_BENCH_POPULATE=1` — on any cluster, such as the Apache Kafka test cluster
//! (`scripts/bench.sh groups-kafka`). Measures first polls (each by a new client, as after a
//! restart) and steady polls over `OSPREY_BENCH_RUNS` runs (wall and CPU), the RSS of
//! `osprey serve` and the Consumers pages; and, in the same run, what a person does by hand
//! with confluent-kafka's admin client.
//!
//! Run through `scripts/bench.sh groups`.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::*;
use futures::StreamExt;
use osprey::brokers::ClusterClient;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};

/// Topics, and groups (group *i* consumes topic *i*): 2,000 unless `OSPREY_BENCH_TOPICS` says
/// otherwise (a smaller cluster for brokers that cannot take 40,000 partitions here).
fn topics() -> usize {
    std::env::var("OSPREY_BENCH_TOPICS").ok().and_then(|t| t.parse().ok()).unwrap_or(2_000)
}
const PARTITIONS: i32 = 20;

fn topic_name(i: usize) -> String {
    format!("events-{i:04}")
}

/// Replicas of each benchmark topic (`OSPREY_BENCH_REPLICATION`, default 1).
fn replication() -> i32 {
    std::env::var("OSPREY_BENCH_REPLICATION").ok().and_then(|r| r.parse().ok()).unwrap_or(1)
}

/// A real cluster accepts CreateTopics long before its brokers have made every partition (tens
/// of thousands take minutes); producing before that times out, so wait until each has a leader.
fn wait_for_leaders(bootstrap: &str, names: &[String]) {
    let started = Instant::now();
    let consumer: BaseConsumer =
        ClientConfig::new().set("bootstrap.servers", bootstrap).create().unwrap();
    let wanted = names.len() * PARTITIONS as usize;
    loop {
        let metadata = consumer.fetch_metadata(None, Duration::from_secs(60)).unwrap();
        let led: usize = metadata
            .topics()
            .iter()
            .filter(|t| t.name().starts_with("events-"))
            .flat_map(|t| t.partitions())
            .filter(|p| p.leader() >= 0 && p.error().is_none())
            .count();
        eprintln!("{led} of {wanted} partitions have a leader after {:?}", started.elapsed());
        if led >= wanted {
            return;
        }
        std::thread::sleep(Duration::from_secs(10));
    }
}

async fn populate(bootstrap: &str) {
    let admin: AdminClient<DefaultClientContext> =
        ClientConfig::new().set("bootstrap.servers", bootstrap).create().unwrap();
    let names: Vec<String> = (0..topics()).map(topic_name).collect();
    for chunk in names.chunks(200) {
        let new: Vec<NewTopic<'_>> = chunk
            .iter()
            .map(|n| NewTopic::new(n, PARTITIONS, TopicReplication::Fixed(replication())))
            .collect();
        for result in admin.create_topics(&new, &AdminOptions::new()).await.unwrap() {
            result.unwrap();
        }
    }
    wait_for_leaders(bootstrap, &names);
    let started = Instant::now();
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("linger.ms", "50")
        .set("message.timeout.ms", "900000")
        .set("queue.buffering.max.messages", "1000000")
        .create()
        .unwrap();
    // Brokers apply new metadata at their own pace, so a send can still meet "unknown
    // partition" after every leader is known: send again what failed, until nothing does.
    let mut todo: Vec<(&str, i32)> = names
        .iter()
        .flat_map(|name| (0..PARTITIONS).flat_map(move |p| [(name.as_str(), p); 3]))
        .collect();
    while !todo.is_empty() {
        let sends = todo.iter().map(|&(name, partition)| {
            let record = FutureRecord::<str, str>::to(name).partition(partition).payload("x");
            let producer = &producer;
            async move {
                producer
                    .send(record, Duration::from_secs(900))
                    .await
                    .err()
                    .map(|_| (name, partition))
            }
        });
        let failed: Vec<(&str, i32)> = futures::stream::iter(sends)
            .buffer_unordered(10_000)
            .filter_map(|f| async move { f })
            .collect()
            .await;
        if !failed.is_empty() {
            eprintln!("{} sends failed; again in 5 s", failed.len());
            tokio::time::sleep(Duration::from_secs(5)).await;
        }
        todo = failed;
    }
    eprintln!(
        "created {} topics × {PARTITIONS} partitions, 3 messages each, in {:?}",
        topics(),
        started.elapsed()
    );

    // Group i has consumed one message of every partition of topic i.
    let started = Instant::now();
    let commits = (0..topics()).map(|i| {
        let bootstrap = bootstrap.to_owned();
        tokio::task::spawn_blocking(move || {
            let consumer: BaseConsumer = ClientConfig::new()
                .set("bootstrap.servers", &bootstrap)
                .set("group.id", format!("group-{i:04}"))
                .create()
                .unwrap();
            let mut list = TopicPartitionList::new();
            for partition in 0..PARTITIONS {
                list.add_partition_offset(&topic_name(i), partition, Offset::Offset(1)).unwrap();
            }
            consumer.commit(&list, CommitMode::Sync).unwrap();
        })
    });
    let done: Vec<_> = futures::stream::iter(commits).buffer_unordered(16).collect().await;
    assert!(done.iter().all(Result::is_ok));
    eprintln!("committed offsets for {} groups in {:?}", topics(), started.elapsed());
}

#[tokio::main]
async fn main() {
    osprey::telemetry::init();
    let http = reqwest::Client::new();
    let label = std::env::var("OSPREY_BENCH_LABEL").unwrap_or_else(|_| "noida-db".into());
    println!(
        "# Osprey consumer-group benchmark ({} topics × {PARTITIONS} partitions, as many groups, {label})\n",
        topics()
    );
    let dir = tempfile::tempdir().unwrap();
    // OSPREY_BENCH_BOOTSTRAP points at a broker already populated by an earlier run (for quick
    // iterations on the poll: `scripts/bench.sh groups poll`); otherwise the run makes its own.
    let (_broker, bootstrap) = match std::env::var("OSPREY_BENCH_BOOTSTRAP") {
        Ok(bootstrap) => (None, bootstrap),
        Err(_) => {
            let (broker, bootstrap) = start_broker(&dir.path().join("kafka"));
            (Some(broker), bootstrap)
        }
    };
    if std::env::var("OSPREY_BENCH_BOOTSTRAP").is_err()
        || std::env::var("OSPREY_BENCH_POPULATE").is_ok()
    {
        populate(&bootstrap).await;
    }
    let poll_only = std::env::args().any(|a| a == "poll");

    // Each run polls through new clients, as after a restart: its first poll opens every
    // connection and asks every group in full; the five after it are the steady state.
    let runs: usize =
        std::env::var("OSPREY_BENCH_RUNS").ok().and_then(|r| r.parse().ok()).unwrap_or(3);
    let (mut firsts, mut walls, mut cpus) = (Vec::new(), Vec::new(), Vec::new());
    let mut shape = None;
    for _ in 0..runs {
        let ClusterClient::Kafka { poll: adapter, .. } =
            ClusterClient::connect(&cluster("bench", &bootstrap)).unwrap()
        else {
            unreachable!("a Kafka cluster has Kafka clients")
        };
        let (first, first_ms, run_walls, run_cpus) = time_polls(&adapter, 5).await;
        assert_eq!(first.groups.len(), topics(), "every group listed");
        firsts.push(first_ms);
        walls.extend(run_walls);
        cpus.extend(run_cpus);
        shape = Some(first);
    }
    let first = shape.expect("at least one run");
    let committed: usize = first.groups.iter().map(|g| g.offsets.len()).sum();
    println!(
        "- Full poll ({} brokers, {} topics, {} partitions with earliest/latest offsets, {} groups with {committed} committed offsets), {runs} runs × 5: **{}**",
        first.brokers.len(),
        first.topics.len(),
        first.partition_count(),
        first.groups.len(),
        stats(walls)
    );
    println!("- CPU time of a full poll: **{}**", stats(cpus));
    println!(
        "- First poll of a new client (every connection new, every group asked in full), {runs} runs: **{}**",
        stats(firsts)
    );
    if poll_only {
        return;
    }

    let started = Instant::now();
    let by_hand = Command::new(env("OSPREY_BENCH_PYTHON"))
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/benches/by_hand_lag.py"))
        .arg(&bootstrap)
        .output()
        .unwrap();
    let by_hand_ms = started.elapsed().as_secs_f64() * 1000.0;
    assert!(by_hand.status.success(), "{}", String::from_utf8_lossy(&by_hand.stderr));
    println!(
        "- Same lag by hand (confluent-kafka: list groups, each group's offsets, each partition's watermarks): **{by_hand_ms:.0} ms** ({})",
        String::from_utf8_lossy(&by_hand.stdout).trim()
    );

    let (osprey, base) = start_osprey(dir.path(), &bootstrap);
    wait_polled(&http, &base, topics()).await;
    // Two more polls so rates and windows hold data.
    tokio::time::sleep(Duration::from_secs(21)).await;
    let cases = [
        ("Consumers page, first page (50 groups)", "/clusters/bench/groups"),
        ("Consumers page, sorted by lag, descending", "/clusters/bench/groups?sort=lag&dir=desc"),
        (
            "Consumers page, sorted by lag seconds, page 20",
            "/clusters/bench/groups?sort=lag_seconds&dir=desc&page=20",
        ),
        ("Consumers page, search `group-01`", "/clusters/bench/groups?q=group-01"),
        ("Groups API, first page", "/api/v1/clusters/bench/groups"),
        ("Group page (20 partitions, 1 h charts)", "/clusters/bench/groups/group-0042"),
        ("Group API", "/api/v1/clusters/bench/groups/group-0042"),
        ("Topic page with its consuming group", "/clusters/bench/topics/events-0042"),
        ("/metrics (a lag series per group partition)", "/metrics"),
    ];
    measure_paths(&http, &base, &cases, 30).await;
    println!(
        "- RSS of `osprey serve` with this cluster after 3+ polls and the page requests: **{:.1} MB**",
        rss_mb(osprey.0.id())
    );
}
