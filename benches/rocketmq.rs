//! RocketMQ scale benchmark (issue 15): 1,000 topics of 8 queues (4 on each of the two masters)
//! and 500 subscription groups, each with offsets on two topics, on Apache RocketMQ 5.5.0. Measures
//! Osprey's poll (wall and CPU), the process's RSS and the pages of a running Osprey, and in the
//! same run `mqadmin consumerProgress` (every group's progress, one JVM) and `mqadmin topicList`
//! doing the same by hand.
//!
//! Run through `scripts/bench.sh rocketmq` (it starts the cluster of the tests and stops it).

mod common;

use std::time::{Duration, Instant};

use common::*;
use futures::StreamExt;
use osprey::brokers::rocketmq::admin::{PERM_READ_WRITE, TopicChange};
use osprey::brokers::rocketmq::message::Outgoing;
use osprey::brokers::rocketmq::{RocketAdapter, RocketSettings};

const TOPICS: usize = 1_000;
const QUEUES_PER_MASTER: i32 = 4;
const GROUPS: usize = 500;

fn topic(i: usize) -> String {
    format!("bench-topic-{i:04}")
}

fn group(i: usize) -> String {
    format!("bench-group-{i:03}")
}

/// Runs `mqadmin` and returns its wall time in ms and how many lines it printed.
fn mqadmin(args: &[&str]) -> (f64, usize) {
    let started = Instant::now();
    let output = std::process::Command::new("java")
        .args(["-Xmx512m", "-cp", &env("OSPREY_BENCH_ROCKETMQ_TOOLS_CP")])
        .env("ROCKETMQ_HOME", std::env::temp_dir())
        .arg("org.apache.rocketmq.tools.command.MQAdminStartup")
        .args(args)
        .output()
        .expect("java runs");
    assert!(
        output.status.success(),
        "mqadmin {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    (
        started.elapsed().as_secs_f64() * 1000.0,
        String::from_utf8_lossy(&output.stdout).lines().count(),
    )
}

async fn populate(adapter: &RocketAdapter) {
    let masters = adapter.masters().await.unwrap();
    assert_eq!(masters.len(), 2, "two masters: {masters:?}");
    let started = Instant::now();
    futures::stream::iter((0..TOPICS).flat_map(|i| masters.iter().map(move |m| (i, m.1.clone()))))
        .map(|(i, address)| async move {
            let change = TopicChange {
                name: topic(i),
                read_queues: QUEUES_PER_MASTER,
                write_queues: QUEUES_PER_MASTER,
                perm: PERM_READ_WRITE,
            };
            adapter.upsert_topic_on(&address, &change).await.unwrap();
        })
        .buffer_unordered(8)
        .collect::<Vec<_>>()
        .await;
    println!("created {TOPICS} topics in {:.1} s", started.elapsed().as_secs_f64());
    // The name server learns new topics when the brokers register them.
    let deadline = Instant::now() + Duration::from_secs(120);
    while adapter.route(&topic(TOPICS - 1)).await.map_or(true, |r| r.len() < 2) {
        assert!(Instant::now() < deadline, "the name server never listed the topics");
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    // One message per queue of the first half of the topics, so groups have something to lag.
    let started = Instant::now();
    futures::stream::iter(0..TOPICS / 2)
        .map(|i| {
            let masters = masters.clone();
            async move {
                for (broker, _) in &masters {
                    for q in 0..QUEUES_PER_MASTER {
                        let message = Outgoing {
                            topic: topic(i),
                            body: b"x".to_vec(),
                            ..Outgoing::default()
                        };
                        adapter.send(&message, Some((broker, q)), 0).await.unwrap();
                    }
                }
            }
        })
        .buffer_unordered(16)
        .collect::<Vec<_>>()
        .await;
    println!("sent {} messages in {:.1} s", TOPICS / 2 * 8, started.elapsed().as_secs_f64());
    let started = Instant::now();
    futures::stream::iter(0..GROUPS)
        .map(|g| {
            let masters = masters.clone();
            async move {
                for (_, address) in &masters {
                    adapter.create_group(address, &group(g)).await.unwrap();
                    // Offsets on two topics: caught up on one, one message behind on the other.
                    for (t, offset) in [(g % (TOPICS / 2), 1), ((g + 1) % (TOPICS / 2), 0)] {
                        for q in 0..QUEUES_PER_MASTER {
                            adapter
                                .commit_offset(address, &group(g), &topic(t), q, offset)
                                .await
                                .unwrap();
                        }
                    }
                }
            }
        })
        .buffer_unordered(16)
        .collect::<Vec<_>>()
        .await;
    println!("created {GROUPS} groups with offsets in {:.1} s", started.elapsed().as_secs_f64());
}

#[tokio::main]
async fn main() {
    let namesrv = env("OSPREY_BENCH_ROCKETMQ_NAMESRV");
    let adapter = RocketAdapter::new(RocketSettings {
        namesrv_addrs: vec![namesrv.clone()],
        proxy_addrs: Vec::new(),
        timeout: Duration::from_secs(30),
        credentials: None,
    });
    if std::env::var("OSPREY_BENCH_POPULATE").is_ok_and(|v| v == "1") {
        populate(&adapter).await;
    }

    let rss_before = rss_mb(std::process::id());
    let (first, first_ms, walls, cpus) = time_polls(&adapter, 5).await;
    let queues: usize = first.topics.iter().map(|t| t.partitions.len()).sum();
    println!(
        "Osprey poll ({} topics, {queues} queues, {} groups): first {first_ms:.0} ms; then wall {}; CPU {}",
        first.topics.len(),
        first.groups.len(),
        stats(walls),
        stats(cpus)
    );
    println!(
        "RSS of this process: {rss_before:.0} MB before the polls, {:.0} MB after",
        rss_mb(std::process::id())
    );

    // By hand: `consumerProgress` without a group lists only groups with a retry topic (online
    // consumers made one), and with a group but no topic it fails on those without one, so an
    // operator asks group by group and topic by topic: one JVM each.
    let (one_group, its_topic) = (group(7), topic(7));
    for (label, args) in [
        (
            "mqadmin consumerProgress -g -t (one group, one topic)",
            vec![
                "consumerProgress",
                "-n",
                namesrv.as_str(),
                "-g",
                one_group.as_str(),
                "-t",
                its_topic.as_str(),
            ],
        ),
        ("mqadmin consumerProgress (no group)", vec!["consumerProgress", "-n", namesrv.as_str()]),
        ("mqadmin topicList", vec!["topicList", "-n", namesrv.as_str()]),
    ] {
        let mut times = Vec::new();
        let mut lines = 0;
        for _ in 0..3 {
            let (ms, printed) = mqadmin(&args);
            times.push(ms);
            lines = printed;
        }
        println!("{label}: {} ({lines} lines)", stats(times));
    }

    // The pages of a running Osprey polling this cluster.
    let dir = tempfile::tempdir().unwrap();
    let mut config = osprey::config::Config::default();
    config.database.url =
        osprey::secret::Secret::new(format!("sqlite://{}/o.db", dir.path().display()));
    config.auth.anonymous_read = true;
    let mut cluster = osprey::config::ClusterConfig::rocketmq("rocket", &namesrv);
    cluster.poll_interval = Duration::from_secs(30);
    cluster.poll_timeout = Duration::from_secs(30);
    config.clusters = vec![cluster];
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let running = osprey::app::start(config, listener).await.unwrap();
    let app = format!("http://{}", running.addr);
    let http = reqwest::Client::new();
    wait_polled(&http, &app, TOPICS).await;
    measure_paths(
        &http,
        &app,
        &[
            ("Cluster page", "/clusters/rocket"),
            ("Topics page, first page", "/clusters/rocket/topics"),
            ("Topics page, search", "/clusters/rocket/topics?q=bench-topic-04"),
            ("Consumers page, sorted by lag", "/clusters/rocket/groups?sort=lag"),
            ("Group page", "/clusters/rocket/groups/bench-group-007"),
            ("Topic page (live route)", "/clusters/rocket/topics/bench-topic-0007"),
            ("API: groups", "/api/v1/clusters/rocket/groups"),
        ],
        10,
    )
    .await;
    println!("RSS with the app running: {:.0} MB", rss_mb(std::process::id()));
    running.stop().await.unwrap();
}
