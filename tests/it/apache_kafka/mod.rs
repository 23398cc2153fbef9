//! Against Apache Kafka itself (from Maven Central, started by `scripts/peers.sh`): a KRaft
//! cluster of three combined nodes. The cluster is shared by the run; each test has its own
//! topics and groups and leaves every node running (the fail-over test brings back the node it
//! stops). These tests take turns (`.config/nextest.toml`).

use std::process::Command;
use std::time::Duration;

use rdkafka::admin::{AdminOptions, NewTopic, TopicReplication};
use serde_json::Value;

use crate::helpers::*;

fn bootstrap() -> String {
    peer("OSPREY_TEST_KAFKA_BOOTSTRAP")
}

/// What one of Kafka's own command-line tools prints: the reference Osprey is compared with.
fn kafka_tool(class: &str, args: &[&str]) -> String {
    let libs = peer("OSPREY_TEST_KAFKA_LIBS");
    let output = Command::new("java")
        .args(["-Xmx128m", "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn", "-cp"])
        .arg(format!("{libs}/*"))
        .arg(class)
        .args(args)
        .output()
        .expect("java runs");
    assert!(output.status.success(), "{class}: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The active controller as `kafka-metadata-quorum describe --status` tells it.
fn quorum_leader_by_the_kafka_tool() -> i64 {
    let status = kafka_tool(
        "org.apache.kafka.tools.MetadataQuorumCommand",
        &["--bootstrap-server", &bootstrap(), "describe", "--status"],
    );
    let line = status.lines().find(|l| l.starts_with("LeaderId:")).expect("a LeaderId line");
    line.trim_start_matches("LeaderId:").trim().parse().expect("a numeric leader id")
}

/// Each quorum member's lag and status (`Leader`, `Follower`, `Observer`) by node id, as
/// `kafka-metadata-quorum describe --replication` tells them.
fn quorum_replication_by_the_kafka_tool() -> std::collections::BTreeMap<i64, (i64, String)> {
    let table = kafka_tool(
        "org.apache.kafka.tools.MetadataQuorumCommand",
        &["--bootstrap-server", &bootstrap(), "describe", "--replication"],
    );
    // NodeId DirectoryId LogEndOffset Lag LastFetchTimestamp LastCaughtUpTimestamp Status
    table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let columns: Vec<&str> = line.split_whitespace().collect();
            let id = columns.first()?.parse().ok()?;
            let lag = columns.get(3)?.parse().ok()?;
            Some((id, (lag, (*columns.last()?).to_owned())))
        })
        .collect()
}

/// The finalized `metadata.version` as `kafka-features describe` tells it (`4.1-IV1`).
fn metadata_version_by_the_kafka_tool() -> String {
    let features = kafka_tool(
        "org.apache.kafka.tools.FeatureCommand",
        &["--bootstrap-server", &bootstrap(), "describe"],
    );
    let line = features.lines().find(|l| l.contains("metadata.version")).expect("metadata.version");
    let level = line.split("FinalizedVersionLevel:").nth(1).expect("a finalized level");
    level.split_whitespace().next().expect("a version").to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_kraft_cluster_shows_three_brokers_and_the_active_controller_of_its_quorum() {
    let topic = unique("replicated");
    let new = NewTopic::new(&topic, 3, TopicReplication::Fixed(3));
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(20)));
    for result in admin(&bootstrap()).create_topics([&new], &options).await.expect("created") {
        result.expect("topic created");
    }
    let app = TestApp::with_clusters(vec![kafka_cluster("k4", &bootstrap())]).await;

    let summary = |detail: &Value| detail["summary"].clone();
    let detail = eventually(Duration::from_secs(60), "three brokers and the topic", || async {
        let detail = app.get("/api/v1/clusters/k4").await.json::<Value>().await.ok()?;
        let topic = app.get(&format!("/api/v1/clusters/k4/topics/{topic}")).await;
        (summary(&detail)["brokers"] == 3 && topic.status().is_success()).then_some(detail)
    })
    .await;
    let s = summary(&detail);
    assert_eq!(s["metadata_mode"], "kraft", "{s}");
    let metadata_version = metadata_version_by_the_kafka_tool();
    assert_eq!(s["protocol_version"], metadata_version, "{s}");
    // The controller is the quorum's leader — what Kafka's own tool says — and stays the same
    // from poll to poll (DescribeCluster names any live broker on KRaft).
    let leader = quorum_leader_by_the_kafka_tool();
    assert_eq!(s["controller_id"], leader, "{s}");
    assert_eq!(detail["quorum"]["leader_id"], leader, "{}", detail["quorum"]);
    let voters: Vec<i64> = detail["quorum"]["voters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["id"].as_i64().unwrap())
        .collect();
    assert_eq!(voters, [1, 2, 3]);
    let first_poll = s["last_attempt_at"].as_i64().unwrap();
    for _ in 0..3 {
        let next = eventually(Duration::from_secs(10), "another poll", || async {
            let s = summary(&app.json("/api/v1/clusters/k4").await);
            (s["last_attempt_at"].as_i64() > Some(first_poll)).then_some(s)
        })
        .await;
        assert_eq!(next["controller_id"], leader, "the same controller every poll: {next}");
    }

    // Every partition of the topic has three replicas in sync.
    let topic_detail = app.json(&format!("/api/v1/clusters/k4/topics/{topic}")).await;
    for partition in topic_detail["partitions"].as_array().unwrap() {
        assert_eq!(partition["replicas"].as_array().unwrap().len(), 3, "{partition}");
        assert_eq!(partition["isr"].as_array().unwrap().len(), 3, "{partition}");
    }
    assert_eq!(s["under_replicated"], 0, "{s}");

    // Each voter's progress is what Kafka's tool tells: the same members, each fetching
    // lately and close to the high watermark (the metadata log grows all the time, so a few
    // records either way), and no observers on combined nodes.
    let replication = quorum_replication_by_the_kafka_tool();
    let quorum = app.json("/api/v1/clusters/k4").await["quorum"].clone();
    let now = osprey::clock::now_millis();
    let members: Vec<&Value> = quorum["voters"]
        .as_array()
        .unwrap()
        .iter()
        .chain(quorum["observers"].as_array().unwrap())
        .collect();
    assert_eq!(members.len(), replication.len(), "{quorum} against {replication:?}");
    for member in members {
        let id = member["id"].as_i64().unwrap();
        let (tool_lag, tool_status) = replication.get(&id).expect("the tool lists the member");
        assert_ne!(tool_status, "Observer", "combined nodes vote: {replication:?}");
        let end = member["log_end_offset"].as_i64().expect("a log end offset");
        let lag = quorum["high_watermark"].as_i64().unwrap() - end;
        assert!(lag.abs() <= 200 && *tool_lag <= 200, "voter {id}: {lag} and {tool_lag} behind");
        if id != leader {
            let fetched = member["last_fetch_at"].as_i64().expect("a last fetch time");
            assert!(now - fetched < 60_000, "voter {id} fetched {} ms ago", now - fetched);
        }
    }

    // The page says KRaft and lists the quorum with the leader marked; so does the overview.
    let overview = app.html("/").await;
    assert!(overview.contains(r#"data-mode="kraft""#), "{overview}");
    let page = app.html("/clusters/k4").await;
    assert!(page.contains(r#"id="metadata-mode" data-mode="kraft""#), "{page}");
    let version = format!(r#"id="kafka-version" data-version="{metadata_version}""#);
    assert!(page.contains(&version), "{page}");
    assert!(page.contains(&format!(r#"data-node="{leader}" data-role="leader""#)), "{page}");
    app.stop().await;
}

/// A first poll longer than the timeout still finishes: until one has, each attempt is given
/// twice the time of the one before (here the timeout is 1 ms, and the real cluster's first
/// poll takes hundreds). Before, that allowance stopped at 8 × the timeout and a cluster whose
/// first poll took longer stayed unreachable for ever.
#[tokio::test(flavor = "multi_thread")]
async fn a_first_poll_longer_than_the_timeout_still_brings_a_real_cluster_up() {
    let topic = unique("first-poll");
    create_topics(&bootstrap(), &[(&topic, 3)]).await;
    let mut cluster = kafka_cluster("k4-slow", &bootstrap());
    cluster.poll_timeout = Duration::from_millis(1);
    let app = TestApp::with_clusters(vec![cluster]).await;
    let summary = eventually(Duration::from_secs(120), "a first poll that finishes", || async {
        let summary = app.json("/api/v1/clusters/k4-slow").await["summary"].clone();
        (summary["brokers"] == 3).then_some(summary)
    })
    .await;
    assert!(summary["topics"].as_u64() > Some(0), "{summary}");
    assert!(summary["last_good_at"].is_i64(), "{summary}");
    app.stop().await;
}

mod burrow;
mod canary;
mod diagnosis;
mod failover;
mod foresight;
mod jmx;
pub(super) mod lag;
mod operations;
mod retention;
mod secure;
mod zookeeper;
