//! The end-to-end canary on the real cluster: a marker to every partition of a topic Osprey
//! creates, read back without a consumer group — sent, read and timed per broker on the Cluster
//! page, in the API and in `/metrics`, the topic kept out of the cluster's message rates — and a
//! broker that stops answering (SIGSTOP: it keeps its connections and says nothing) loses
//! markers and fires `canary_loss` naming it.

use std::process::Command;
use std::time::{Duration, Instant};

use osprey::config::CanaryConfig;
use serde_json::Value;

use super::bootstrap;
use crate::alerts::{SmtpSink, mail_channel};
use crate::helpers::*;

/// Canary rounds this far apart in the test (10 s by default).
const INTERVAL: Duration = Duration::from_secs(2);

/// A node of the shared cluster held with SIGSTOP, let go (SIGCONT) when dropped — also when
/// the test fails half-way, for the tests after it.
struct Paused(String);

impl Paused {
    fn node(node: i64) -> Paused {
        let pid_file = format!("{}/node-{node}/pid", peer("OSPREY_TEST_KAFKA_DIR"));
        let pid = std::fs::read_to_string(&pid_file).expect("the node's pid file");
        let pid = pid.trim().to_owned();
        signal("-STOP", &pid);
        Paused(pid)
    }
}

impl Drop for Paused {
    fn drop(&mut self) {
        signal("-CONT", &self.0);
    }
}

fn signal(which: &str, pid: &str) {
    let status = Command::new("kill").args([which, pid]).status().expect("kill runs");
    assert!(status.success(), "kill {which} {pid}");
}

async fn canary_of(app: &TestApp) -> Option<Value> {
    let detail: Value = app.get("/api/v1/clusters/k4c").await.json().await.ok()?;
    Some(detail["canary"].clone()).filter(|c| !c.is_null())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_paused_broker_loses_canary_markers_and_fires_canary_loss() {
    let topic = unique("canary");
    let smtp = SmtpSink::start(None).await;
    let rules = r#"
        [[alerts.rules]]
        name = "canary-lost"
        kind = "canary_loss"
        cluster = "k4c"
        for = "0s"
        channels = ["mail"]
    "#;
    let toml = format!("{}\n{rules}", mail_channel("mail", smtp.port, None));
    let mut cluster = kafka_cluster("k4c", &bootstrap());
    cluster.canary = CanaryConfig {
        enabled: true,
        interval: INTERVAL,
        topic: Some(topic.clone()),
        ..CanaryConfig::default()
    };
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(toml_config(&dir, &toml, vec![cluster])).await;

    // Healthy: the topic is created with a partition per broker, and every broker's markers
    // come back.
    let healthy = eventually(Duration::from_secs(90), "markers back from every broker", || async {
        let canary = canary_of(&app).await?;
        let brokers = canary["brokers"].as_array()?;
        let read_back = |b: &Value| {
            b["figures"]["sent"].as_u64() >= Some(2)
                && b["figures"]["end_to_end_p99_ms"].is_number()
        };
        (brokers.len() == 3 && brokers.iter().all(read_back)).then_some(canary)
    })
    .await;
    assert_eq!(healthy["topic"], topic.as_str());
    assert_eq!(healthy["cluster"]["lost"], 0, "nothing lost while healthy: {healthy}");
    assert!(healthy["cluster"]["produce_p99_ms"].as_f64().is_some());
    let page = app.get("/clusters/k4c").await.text().await.unwrap();
    assert!(page.contains(r#"id="canary""#) && page.contains(&topic), "the Cluster page shows it");
    assert!(page.contains(r#"data-broker="all""#));
    // Kept out of the rates and the default topic list: an internal topic of Osprey's own.
    let topics: Value = app.json(&format!("/api/v1/clusters/k4c/topics?q={topic}")).await;
    let listed = topics["rows"].as_array().and_then(|t| t.first()).cloned().unwrap_or_default();
    assert_eq!(listed["internal"], true, "{topics}");
    assert!(smtp.messages().is_empty(), "no notice while healthy");

    // A broker that is not the active controller stops answering.
    let detail: Value = app.json("/api/v1/clusters/k4c").await;
    let controller = detail["summary"]["controller_id"].as_i64();
    let broker = (1..=3).find(|id| Some(*id) != controller).unwrap();
    let paused_at = Instant::now();
    let paused = Paused::node(broker);
    let (subject, body) = eventually(Duration::from_secs(60), "the canary_loss notice", || async {
        smtp.messages().into_iter().find(|(subject, _)| subject.contains("[FIRING"))
    })
    .await;
    let took = paused_at.elapsed();
    eprintln!("canary_loss fired {took:?} after the broker paused (interval {INTERVAL:?})");
    let subject = subject.replace("\r\n ", " ").replace("\n ", " ");
    assert!(subject.contains("canary markers lost"), "{subject}");
    assert!(body.contains(&format!("broker {broker}")), "names the paused broker: {body}");
    let canary = canary_of(&app).await.expect("the canary");
    let lost = canary["brokers"]
        .as_array()
        .and_then(|b| b.iter().find(|b| b["broker"] == broker))
        .map(|b| b["figures"]["lost"].as_u64().unwrap_or_default());
    assert!(lost > Some(0), "the paused broker's markers are lost: {canary}");
    let metrics = app.get("/metrics").await.text().await.unwrap();
    let line = format!(r#"osprey_canary_lost_total{{cluster="k4c",broker="{broker}"}}"#);
    let counted = metrics.lines().find(|l| l.starts_with(&line)).expect("the lost counter");
    assert!(!counted.ends_with(" 0"), "{counted}");
    assert!(metrics.contains(r#"osprey_canary_latency_seconds{cluster="k4c",broker="",stage="end_to_end",quantile="0.99"}"#));

    // Let go, and wait until markers come back from every broker for the tests after this one.
    drop(paused);
    let resumed = osprey::clock::now_millis();
    eventually(Duration::from_secs(120), "markers back after the pause", || async {
        let canary = canary_of(&app).await?;
        let fresh = canary["at"].as_i64()? > resumed + 2 * INTERVAL.as_millis() as i64;
        (fresh && canary["last_lost"].as_array()?.is_empty()).then_some(())
    })
    .await;
    app.stop().await;
}
