//! A broker of the real cluster stops and comes back: `broker_down` fires and resolves, and
//! `under_replicated` and `offline_partitions` (its partitions) are held back meanwhile, and after the restart the
//! "not on preferred leader" flag shows until Kafka's own preferred election clears it.

use std::process::Command;
use std::time::Duration;

use rdkafka::admin::{AdminOptions, NewTopic, TopicReplication};
use serde_json::Value;

use super::{bootstrap, kafka_tool};
use crate::alerts::{Receiver, hook_channel};
use crate::helpers::*;

/// Stops or starts one node of the shared cluster through `scripts/kafka.sh`.
fn kafka_node(action: &str, node: u8) {
    let status = Command::new("bash")
        .arg(peer("OSPREY_TEST_KAFKA_SCRIPT"))
        .arg(action)
        .arg(peer("OSPREY_TEST_KAFKA_DIR"))
        .arg(node.to_string())
        .status()
        .expect("bash runs");
    assert!(status.success(), "{action} {node}");
}

/// Brings a stopped node back even when the test fails half-way, for the tests after it.
struct Stopped(u8);

impl Stopped {
    fn node(node: u8) -> Stopped {
        kafka_node("stop-node", node);
        Stopped(node)
    }
}

impl Drop for Stopped {
    fn drop(&mut self) {
        kafka_node("start-node", self.0);
    }
}

fn rules(replicated: &str, single: &str) -> String {
    format!(
        r#"
        [[alerts.rules]]
        name = "broker-down"
        kind = "broker_down"
        cluster = "k4f"
        for = "0s"
        channels = ["hook"]

        [[alerts.rules]]
        name = "under-replicated"
        kind = "under_replicated"
        cluster = "k4f"
        topic = "{replicated}"
        for = "0s"
        channels = ["hook"]

        [[alerts.rules]]
        name = "offline"
        kind = "offline_partitions"
        cluster = "k4f"
        topic = "{single}"
        for = "0s"
        channels = ["hook"]
        "#
    )
}

/// The rules firing now, sorted.
async fn firing(app: &TestApp) -> Vec<String> {
    let alerts = app.json("/api/v1/alerts").await;
    let mut rules: Vec<String> = alerts["firing"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["rule"].as_str().unwrap().to_owned())
        .collect();
    rules.sort();
    rules
}

async fn partitions(app: &TestApp, topic: &str) -> Vec<Value> {
    let topic = app.json(&format!("/api/v1/clusters/k4f/topics/{topic}")).await;
    topic["partitions"].as_array().unwrap().clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stopped_broker_fires_its_alerts_and_a_preferred_election_puts_leaders_back() {
    let replicated = unique("guarded");
    let single = unique("lonely");
    // Three partitions whose preferred leaders are 1, 2 and 3, and one replica on broker 3 only.
    let assignment: [&[i32]; 3] = [&[1, 2, 3], &[2, 3, 1], &[3, 1, 2]];
    let on_three: [&[i32]; 1] = [&[3]];
    let topics = [
        NewTopic::new(&replicated, 3, TopicReplication::Variable(&assignment)),
        NewTopic::new(&single, 1, TopicReplication::Variable(&on_three)),
    ];
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(20)));
    for result in admin(&bootstrap()).create_topics(&topics, &options).await.expect("created") {
        result.expect("topic created");
    }
    let hook = Receiver::start().await;
    // A group wait, as in production: a partition that shows under-replicated a poll before its
    // broker leaves the metadata waits there and is taken back once broker_down explains it.
    let toml = format!(
        "[alerts]\ngroup_wait = \"15s\"\ngroup_interval = \"15s\"\n{}{}",
        hook_channel("hook", &hook.url),
        rules(&replicated, &single)
    );
    let app = TestApp::from_toml(&toml, vec![kafka_cluster("k4f", &bootstrap())]).await;
    eventually(Duration::from_secs(60), "the cluster in sync, nothing firing", || async {
        let s = app.json("/api/v1/clusters/k4f").await["summary"].clone();
        let healthy = s["brokers"] == 3 && s["under_replicated"] == 0 && s["offline"] == 0;
        (healthy && firing(&app).await.is_empty()).then_some(())
    })
    .await;

    let stopped = Stopped::node(3);
    // The gone broker explains the partitions with a replica on it: their alerts are held back.
    eventually(Duration::from_secs(90), "broker-down firing, the rest held back", || async {
        let alerts = app.json("/api/v1/alerts").await;
        let mut held: Vec<String> = alerts["held"]
            .as_array()?
            .iter()
            .filter(|h| h["inhibited_by"].as_str().is_some_and(|by| by.starts_with("broker-down")))
            .map(|h| h["rule"].as_str().unwrap_or_default().to_owned())
            .collect();
        held.sort();
        (firing(&app).await == ["broker-down"] && held == ["offline", "under-replicated"])
            .then_some(())
    })
    .await;
    let page = app.html("/alerts").await;
    assert!(page.contains(r#"id="held""#) && page.contains(r#"data-inhibited="true""#), "{page}");
    // Its notice leaves after the group wait; the broker comes back only once it is out (an
    // outage shorter than group_wait is never told, as it should not be).
    eventually(Duration::from_secs(60), "broker-down's firing notice", || async {
        hook.bodies().into_iter().find(|n| n["rule"] == "broker-down" && n["status"] == "firing")
    })
    .await;
    let s = app.json("/api/v1/clusters/k4f").await["summary"].clone();
    assert_eq!((s["brokers"].clone(), s["missing_brokers"].clone()), (2.into(), 1.into()), "{s}");
    for partition in partitions(&app, &replicated).await {
        assert_eq!(partition["under_replicated"], true, "{partition}");
        assert!(!partition["isr"].as_array().unwrap().contains(&3.into()), "{partition}");
        assert_ne!(partition["leader"], 3, "leaders moved off the stopped broker: {partition}");
    }
    let lonely = partitions(&app, &single).await;
    assert_eq!(lonely[0]["offline"], true, "{lonely:?}");
    assert_eq!(lonely[0]["leader"], Value::Null, "{lonely:?}");
    let alerts = app.json("/api/v1/alerts").await;
    let down = alerts["firing"].as_array().unwrap().iter().find(|i| i["rule"] == "broker-down");
    assert!(down.unwrap()["summary"].as_str().unwrap().contains('3'), "{alerts}");

    drop(stopped);
    eventually(Duration::from_secs(120), "everything resolved", || async {
        firing(&app).await.is_empty().then_some(())
    })
    .await;
    let notices =
        eventually(Duration::from_secs(30), "broker-down's firing and recovery", || async {
            let bodies = hook.bodies();
            let of = |status: &str| {
                bodies
                    .iter()
                    .filter(|n| n["rule"] == "broker-down" && n["status"] == status)
                    .count()
            };
            (of("firing") == 1 && of("resolved") == 1).then_some(bodies)
        })
        .await;
    // What was held back was never told while the broker was gone; a replica still catching up
    // after the broker's return may fire (and resolve) once on its own.
    for rule in ["under-replicated", "offline"] {
        let of = |status: &str| {
            notices.iter().filter(|n| n["rule"] == rule && n["status"] == status).count()
        };
        assert!(of("firing") <= 1 && of("firing") == of("resolved"), "{rule}: {notices:?}");
    }

    // Broker 3 is back but leads nothing it used to: its partition shows "not on preferred leader".
    let moved = eventually(Duration::from_secs(60), "broker 3 back in the ISR", || async {
        let parts = partitions(&app, &replicated).await;
        parts.iter().all(|p| p["isr"].as_array().unwrap().len() == 3).then_some(parts)
    })
    .await;
    assert_eq!(moved[2]["preferred_leader"], false, "{moved:?}");
    let page = app.html(&format!("/clusters/k4f/topics/{replicated}")).await;
    assert!(page.contains("class=\"flag\""), "the flag on the page: {page}");

    kafka_tool(
        "org.apache.kafka.tools.LeaderElectionCommand",
        &[
            "--bootstrap-server",
            &bootstrap(),
            "--election-type",
            "PREFERRED",
            "--topic",
            &replicated,
            "--partition",
            "2",
        ],
    );
    eventually(Duration::from_secs(30), "broker 3 leading its partition again", || async {
        let parts = partitions(&app, &replicated).await;
        (parts[2]["leader"] == 3 && parts.iter().all(|p| p["preferred_leader"] == true))
            .then_some(())
    })
    .await;
    app.stop().await;
}
