//! Why a group is behind, on the real cluster: a member that left and a hot partition named in
//! the firing notice, on the incident page, the Group page and in the API; a rebalance storm
//! from consumers joining and leaving that fires a `group_rebalancing` rule; a topic whose
//! producers stop firing `producer_stopped`, resolved when they send again.

use std::time::Duration;

use rdkafka::admin::{AdminOptions, NewTopic, TopicReplication};
use serde_json::Value;

use super::bootstrap;
use super::lag::Member;
use crate::alerts::{SmtpSink, mail_channel};
use crate::helpers::*;

async fn topic_of_two_partitions(prefix: &str) -> String {
    let topic = unique(prefix);
    let new = NewTopic::new(&topic, 2, TopicReplication::Fixed(1));
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(20)));
    for result in admin(&bootstrap()).create_topics([&new], &options).await.expect("created") {
        result.expect("topic created");
    }
    topic
}

/// Osprey watching the test cluster (`k4dx`) with `rules` (TOML) notifying `smtp`.
async fn watching(smtp: &SmtpSink, rules: &str) -> (tempfile::TempDir, TestApp) {
    let toml = format!("{}\n{rules}", mail_channel("mail", smtp.port, None));
    let dir = tempfile::tempdir().unwrap();
    let app =
        TestApp::spawn(toml_config(&dir, &toml, vec![kafka_cluster("k4dx", &bootstrap())])).await;
    (dir, app)
}

async fn members_seen(app: &TestApp, group: &str, count: u64) -> Value {
    let api = format!("/api/v1/clusters/k4dx/groups/{group}");
    eventually(Duration::from_secs(60), &format!("{count} members"), || async {
        // 404 until the first poll lists the group.
        let detail: Value = app.get(&api).await.json().await.ok()?;
        (detail["group"]["members"].as_u64() == Some(count)).then_some(detail)
    })
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_lag_incident_names_the_member_that_left_and_the_hot_partition() {
    let topic = topic_of_two_partitions("diagnosed").await;
    let group = unique("diagnosed-readers");
    for partition in 0..2 {
        produce_one_by_one(&bootstrap(), &topic, partition, 20).await;
    }
    let smtp = SmtpSink::start(None).await;
    let (_dir, app) = watching(
        &smtp,
        &format!(
            r#"
        [[alerts.rules]]
        name = "behind"
        kind = "consumer_lag"
        cluster = "k4dx"
        group = "{group}"
        threshold = 100
        channels = ["mail"]
            "#
        ),
    )
    .await;

    // Two members read (each commits up to offset 10 and no further); one leaves.
    let staying = Member::join(&group, &topic, "classic", "diag-stays");
    let leaving = Member::join(&group, &topic, "classic", "diag-leaves");
    members_seen(&app, &group, 2).await;
    drop(leaving);
    members_seen(&app, &group, 1).await;
    // Then a burst lands on partition 0 alone.
    produce_one_by_one(&bootstrap(), &topic, 0, 300).await;

    let (_, raw) = eventually(Duration::from_secs(60), "the lag notice", || async {
        smtp.messages().into_iter().find(|(subject, _)| subject.contains("[FIRING"))
    })
    .await;
    let body = raw.replace("=\r\n", "").replace("=\n", "");
    assert!(body.contains("Diagnosis:") && body.contains("diag-leaves"), "{body}");
    assert!(
        body.contains(" left ") && body.contains(&format!("partition 0 of {topic} holds")),
        "{body}"
    );

    let api = format!("/api/v1/clusters/k4dx/groups/{group}");
    // Once the group has settled, the member that stayed owns the hot partition.
    let hint = |detail: &Value, kind: &str| {
        detail["diagnosis"].as_array().unwrap().iter().find(|h| h["hint"] == kind).cloned()
    };
    let detail = eventually(Duration::from_secs(30), "the settled diagnosis", || async {
        let detail = app.json(&api).await;
        let owner = hint(&detail, "hot_partition")?["owner"].as_str()?.to_owned();
        owner.starts_with("diag-stays").then_some(detail)
    })
    .await;
    let left = hint(&detail, "members_changed").expect("a membership hint");
    assert!(left["left"][0].as_str().unwrap().starts_with("diag-leaves"), "{detail}");
    let hot = hint(&detail, "hot_partition").unwrap();
    assert_eq!(hot["partition"], 0, "{detail}");
    assert!(hot["share_pct"].as_f64().unwrap() >= 80.0, "{detail}");

    let page = app.html(&format!("/clusters/k4dx/groups/{group}")).await;
    assert!(page.contains(r#"id="diagnosis""#) && page.contains("diag-leaves"), "{page}");
    let alerts = app.json("/api/v1/alerts").await;
    let incident = alerts["firing"][0]["id"].as_str().unwrap().to_owned();
    let page = app.html(&format!("/alerts/incidents/{incident}")).await;
    assert!(page.contains("Diagnosis") && page.contains("diag-leaves"), "{page}");
    drop(staying);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn consumers_joining_and_leaving_fire_a_rebalance_storm() {
    let topic = topic_of_two_partitions("stormy").await;
    let group = unique("stormy-readers");
    let smtp = SmtpSink::start(None).await;
    let (_dir, app) = watching(
        &smtp,
        &format!(
            r#"
        [[alerts.rules]]
        name = "storm"
        kind = "group_rebalancing"
        cluster = "k4dx"
        group = "{group}"
        threshold = 2
        window = "5m"
        channels = ["mail"]
            "#
        ),
    )
    .await;

    let steady = Member::join(&group, &topic, "classic", "storm-steady");
    members_seen(&app, &group, 1).await;
    for round in 0..2 {
        let flapping = Member::join(&group, &topic, "classic", &format!("storm-flap-{round}"));
        members_seen(&app, &group, 2).await;
        drop(flapping);
        members_seen(&app, &group, 1).await;
    }
    let (subject, raw) = eventually(Duration::from_secs(60), "the storm notice", || async {
        smtp.messages().into_iter().find(|(subject, _)| subject.contains("[FIRING"))
    })
    .await;
    let subject = subject.replace("\r\n ", " ").replace("\n ", " ");
    assert!(subject.contains("rebalances > 2") && subject.contains(&group), "{subject}");
    let body = raw.replace("=\r\n", "").replace("=\n", "");
    assert!(body.contains("storm-flap-1"), "the notice names who came and went: {body}");
    let detail = app.json(&format!("/api/v1/clusters/k4dx/groups/{group}")).await;
    let changes = detail["group"]["membership_changes"].as_array().unwrap();
    assert!(changes.len() >= 3, "{detail}");
    drop(steady);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_topic_whose_producers_stop_fires_producer_stopped_and_resolves_when_they_return() {
    let topic = topic_of_two_partitions("quieting").await;
    let smtp = SmtpSink::start(None).await;
    let (_dir, app) = watching(
        &smtp,
        &format!(
            r#"
        [history]
        topic_sample_interval = "1s"
        [[alerts.rules]]
        name = "quiet"
        kind = "producer_stopped"
        cluster = "k4dx"
        topic = "{topic}"
        threshold = 1
        window = "1m"
        channels = ["mail"]
            "#
        ),
    )
    .await;
    eventually(Duration::from_secs(30), "the topic polled", || async {
        app.get(&format!("/api/v1/clusters/k4dx/topics/{topic}"))
            .await
            .status()
            .is_success()
            .then_some(())
    })
    .await;
    // Traffic for a few seconds, then none: a minute later the window holds nothing.
    for _ in 0..5 {
        produce_one_by_one(&bootstrap(), &topic, 0, 3).await;
        tokio::time::sleep(Duration::from_millis(600)).await;
    }
    let fired = eventually(Duration::from_secs(120), "the producer_stopped notice", || async {
        smtp.messages().into_iter().find(|(subject, _)| subject.contains("[FIRING"))
    })
    .await;
    let subject = fired.0.replace("\r\n ", " ").replace("\n ", " ");
    assert!(
        subject.contains(&format!("topic {topic}")) && subject.contains("producers stopped"),
        "{subject}"
    );
    assert!(subject.contains("0 messages received in the window, fewer than 1"), "{subject}");

    produce_one_by_one(&bootstrap(), &topic, 1, 1).await;
    let resolved = eventually(Duration::from_secs(60), "the resolved notice", || async {
        smtp.messages().into_iter().find(|(subject, _)| subject.contains("[RESOLVED"))
    })
    .await;
    let subject = resolved.0.replace("\r\n ", " ").replace("\n ", " ");
    assert!(subject.contains("receives messages again (1 in the window)"), "{subject}");
    app.stop().await;
}
