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

    // The page says KRaft and lists the quorum with the leader marked.
    let page = app.html("/clusters/k4").await;
    assert!(page.contains(r#"id="metadata-mode" data-mode="kraft""#), "{page}");
    let version = format!(r#"id="kafka-version" data-version="{metadata_version}""#);
    assert!(page.contains(&version), "{page}");
    assert!(page.contains(&format!(r#"data-node="{leader}" data-role="leader""#)), "{page}");
    app.stop().await;
}

mod burrow;
mod failover;
mod jmx;
mod lag;
mod operations;
mod secure;
mod zookeeper;
