//! The canary on the real RocketMQ cluster: a marker to a queue of Osprey's own topic on each
//! master, pulled back with nothing committed (no consumer group appears) and timed per broker;
//! then the topic made write-only on one master (sends are taken, pulls refused) fires
//! `canary_loss` naming that broker.

use std::time::Duration;

use osprey::config::CanaryConfig;
use serde_json::Value;

use super::{apache_rocket_cluster, mqadmin, namesrv, rocket_name};
use crate::alerts::{SmtpSink, mail_channel};
use crate::helpers::*;

#[tokio::test(flavor = "multi_thread")]
async fn a_topic_that_takes_markers_and_serves_none_fires_canary_loss() {
    let topic = rocket_name("CANARY");
    let smtp = SmtpSink::start(None).await;
    let rules = r#"
        [[alerts.rules]]
        name = "canary-lost"
        kind = "canary_loss"
        cluster = "rmqc"
        for = "0s"
        channels = ["mail"]
    "#;
    let toml = format!("{}\n{rules}", mail_channel("mail", smtp.port, None));
    let mut cluster = apache_rocket_cluster("rmqc", &namesrv());
    cluster.canary = CanaryConfig {
        enabled: true,
        interval: Duration::from_secs(2),
        topic: Some(topic.clone()),
        ..CanaryConfig::default()
    };
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(toml_config(&dir, &toml, vec![cluster])).await;
    let canary = || async {
        let detail: Value = app.get("/api/v1/clusters/rmqc").await.json().await.ok()?;
        Some((detail["canary"].clone(), detail)).filter(|(c, _)| !c.is_null())
    };
    let (healthy, detail) =
        eventually(Duration::from_secs(120), "markers from both masters", || async {
            let (canary, detail) = canary().await?;
            let brokers = canary["brokers"].as_array()?;
            let back = |b: &Value| {
                b["figures"]["sent"].as_u64() >= Some(2)
                    && b["figures"]["end_to_end_p99_ms"].is_number()
            };
            (brokers.len() == 2 && brokers.iter().all(back)).then_some((canary, detail))
        })
        .await;
    assert_eq!(healthy["cluster"]["lost"], 0, "{healthy}");
    let groups: Value = app.json("/api/v1/clusters/rmqc/groups").await;
    assert!(!groups.to_string().contains("TOOLS_CONSUMER"), "no group for the canary: {groups}");

    // broker-a's copy of the topic becomes write-only: sends are stored, pulls refused.
    let node = "broker-a";
    let rocket = detail["rocket_brokers"].as_array().expect("the broker table");
    let master = rocket
        .iter()
        .find(|b| b["name"] == node && b["broker_id"] == 0)
        .unwrap_or_else(|| panic!("{node}'s master in {detail}"));
    let address = master["address"].as_str().unwrap();
    mqadmin(&["updateTopicPerm", "-n", &namesrv(), "-b", address, "-t", &topic, "-p", "2"]);
    let (subject, _) = eventually(Duration::from_secs(60), "the canary_loss notice", || async {
        smtp.messages().into_iter().find(|(subject, _)| subject.contains("[FIRING"))
    })
    .await;
    let subject = subject.replace("\r\n ", " ").replace("\n ", " ");
    assert!(subject.contains("canary markers lost") && subject.contains(node), "{subject}");
    let (canary, _) = canary().await.unwrap();
    let lost = |name: &str| {
        canary["brokers"].as_array().unwrap().iter().find(|b| b["node"] == name).unwrap()["figures"]
            ["lost"]
            .as_u64()
    };
    assert!(lost(node) > Some(0), "{canary}");
    assert_eq!(lost("broker-b"), Some(0), "only broker-a loses: {canary}");
    app.stop().await;
}
