//! Scale benchmark (issue 2): 5,000 topics × 4 partitions on a local noida-db broker.
//! Measures a full poll, the Topics page (first page, a search), the topic API and the RSS of
//! `osprey serve` idle and under that load; and, in the same run, what a person does by hand
//! (confluent-kafka listing metadata and every partition's watermarks).
//!
//! Run through `scripts/bench.sh`, which installs and locates the broker and the Python client.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::*;
use osprey::brokers::ClusterClient;
use rdkafka::ClientConfig;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::producer::{FutureProducer, FutureRecord};

const TOPICS: usize = 5_000;
const PARTITIONS: i32 = 4;

async fn populate(bootstrap: &str) {
    let admin: AdminClient<DefaultClientContext> =
        ClientConfig::new().set("bootstrap.servers", bootstrap).create().unwrap();
    let names: Vec<String> = (0..TOPICS).map(|i| format!("topic-{i:05}")).collect();
    let started = Instant::now();
    for chunk in names.chunks(500) {
        let new: Vec<NewTopic<'_>> = chunk
            .iter()
            .map(|n| NewTopic::new(n, PARTITIONS, TopicReplication::Fixed(1)))
            .collect();
        for result in admin
            .create_topics(
                &new,
                &AdminOptions::new().operation_timeout(Some(Duration::from_secs(60))),
            )
            .await
            .unwrap()
        {
            result.unwrap();
        }
    }
    eprintln!("created {TOPICS} topics × {PARTITIONS} partitions in {:?}", started.elapsed());
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("linger.ms", "50")
        .set("queue.buffering.max.messages", "1000000")
        .create()
        .unwrap();
    let started = Instant::now();
    let mut pending = Vec::new();
    for (i, name) in names.iter().enumerate() {
        for partition in 0..PARTITIONS {
            // Every partition gets a few messages, so offsets are real numbers.
            for _ in 0..(1 + (i as i32 + partition) % 3) {
                let record = FutureRecord::<str, str>::to(name).partition(partition).payload("x");
                pending.push(producer.send_result(record).map_err(|(e, _)| e).unwrap());
            }
        }
    }
    for delivery in pending {
        delivery.await.unwrap().unwrap();
    }
    eprintln!("produced to every partition in {:?}", started.elapsed());
}

#[tokio::main]
async fn main() {
    let http = reqwest::Client::new();
    println!("# Osprey scale benchmark ({TOPICS} topics × {PARTITIONS} partitions, noida-db)\n");

    // `scripts/bench.sh poll` measures only the poll (for quick iterations on the adapter).
    let poll_only = std::env::args().any(|a| a == "poll");
    if !poll_only {
        idle_rss(&http).await;
    }

    let dir = tempfile::tempdir().unwrap();
    let (_broker, bootstrap) = start_broker(&dir.path().join("kafka"));
    populate(&bootstrap).await;
    measure_poll(&bootstrap).await;
    if !poll_only {
        measure_by_hand(&bootstrap);
        measure_pages(&http, dir.path(), &bootstrap).await;
    }
}

/// RSS of `osprey serve` with one cluster whose broker has only its internal topics.
async fn idle_rss(http: &reqwest::Client) {
    let idle_dir = tempfile::tempdir().unwrap();
    let (_idle_broker, idle_bootstrap) = start_broker(&idle_dir.path().join("kafka"));
    let (idle_osprey, idle_base) = start_osprey(idle_dir.path(), &idle_bootstrap);
    wait_polled(http, &idle_base, 1).await;
    tokio::time::sleep(Duration::from_secs(25)).await;
    let idle_rss = rss_mb(idle_osprey.0.id());
    drop(idle_osprey);
    println!(
        "- RSS of `osprey serve`, idle, one cluster (2 internal topics, 100 partitions), after 3 polls: **{idle_rss:.1} MB**"
    );
}

/// A full poll, in-process, through the same adapter `serve` uses.
async fn measure_poll(bootstrap: &str) {
    let ClusterClient::Kafka { poll: adapter, .. } =
        ClusterClient::connect(&cluster("bench", bootstrap)).unwrap()
    else {
        unreachable!("a Kafka cluster has Kafka clients")
    };
    let (first, first_ms, polls, cpu) = time_polls(&adapter, 10).await;
    let partitions: usize = first.topics.iter().map(|t| t.partitions.len()).sum();
    let configs = first.topics.iter().filter(|t| t.configs.is_some()).count();
    println!(
        "- First full poll ({} topics, {partitions} partitions, offsets, and configs of {configs} topics): **{first_ms:.0} ms**",
        first.topics.len()
    );
    println!(
        "- Full poll (metadata + earliest/latest offsets of every partition): **{}**",
        stats(polls)
    );
    println!("- CPU time of a full poll in this process: {}", stats(cpu));
}

/// The same read by hand: confluent-kafka, metadata + watermarks per partition.
fn measure_by_hand(bootstrap: &str) {
    let started = Instant::now();
    let by_hand = Command::new(env("OSPREY_BENCH_PYTHON"))
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/benches/by_hand_offsets.py"))
        .arg(bootstrap)
        .output()
        .unwrap();
    let by_hand_ms = started.elapsed().as_secs_f64() * 1000.0;
    assert!(by_hand.status.success(), "{}", String::from_utf8_lossy(&by_hand.stderr));
    println!(
        "- Same figures by hand (confluent-kafka `list_topics` + `get_watermark_offsets` per partition): **{by_hand_ms:.0} ms** ({})",
        String::from_utf8_lossy(&by_hand.stdout).trim()
    );
}

/// Pages and API of a running `osprey serve`, and its RSS afterwards.
async fn measure_pages(http: &reqwest::Client, dir: &std::path::Path, bootstrap: &str) {
    let (osprey, base) = start_osprey(dir, bootstrap);
    wait_polled(http, &base, TOPICS).await;
    let pid = osprey.0.id();
    let cases = [
        ("Topics page, first page (50 of 5,002)", "/clusters/bench/topics"),
        ("Topics page, search `topic-0123` (11 matches)", "/clusters/bench/topics?q=topic-0123"),
        (
            "Topics page, sorted by messages, descending, page 40",
            "/clusters/bench/topics?sort=messages&dir=desc&page=40",
        ),
        ("Topics API, first page", "/api/v1/clusters/bench/topics"),
        (
            "Topic API (4 partitions, configs, 1 h chart)",
            "/api/v1/clusters/bench/topics/topic-01234",
        ),
        ("Topic page", "/clusters/bench/topics/topic-01234"),
        ("Overview page", "/"),
        ("Cluster page (1 h chart)", "/clusters/bench"),
    ];
    measure_paths(http, &base, &cases, 50).await;
    tokio::time::sleep(Duration::from_secs(22)).await;
    println!(
        "- RSS of `osprey serve` with the 5,000-topic cluster, after the page requests and 3+ polls: **{:.1} MB**",
        rss_mb(pid)
    );
}
