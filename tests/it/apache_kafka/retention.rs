//! Data-loss risk on the real cluster: a group stopped at the start of a topic whose retention
//! (2 s, segments rolled every 500 ms, checked every 5 s on the test cluster) deletes what it
//! never read — counted as lost on the Group page, the Consumers list (sorted by risk), the API,
//! `/metrics` and a `retention_risk` notice.

use std::time::Duration;

use rdkafka::admin::{AdminOptions, NewTopic, TopicReplication};
use rdkafka::producer::FutureRecord;

use super::bootstrap;
use crate::alerts::{SmtpSink, mail_channel};
use crate::groups::commit;
use crate::helpers::*;

#[tokio::test(flavor = "multi_thread")]
async fn retention_deleting_unread_messages_counts_them_lost_and_fires_a_retention_risk() {
    let topic = unique("fleeting");
    let group = unique("fleeting-readers");
    let new = NewTopic::new(&topic, 1, TopicReplication::Fixed(1))
        .set("retention.ms", "2000")
        .set("segment.ms", "500");
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(20)));
    for result in admin(&bootstrap()).create_topics([&new], &options).await.expect("created") {
        result.expect("topic created");
    }
    commit(&bootstrap(), &group, &[(&topic, 0, 0)]);
    let smtp = SmtpSink::start(None).await;
    let toml = format!(
        r#"{}
        [[alerts.rules]]
        name = "fleeting"
        kind = "retention_risk"
        cluster = "k4rt"
        group = "{group}"
        threshold = 90
        channels = ["mail"]
        "#,
        mail_channel("mail", smtp.port, None)
    );
    let dir = tempfile::tempdir().unwrap();
    let app =
        TestApp::spawn(toml_config(&dir, &toml, vec![kafka_cluster("k4rt", &bootstrap())])).await;

    // A message every 200 ms rolls a segment each half second; retention deletes the old ones.
    let producer = producer(&bootstrap());
    let api = format!("/api/v1/clusters/k4rt/groups/{group}");
    let detail = eventually(Duration::from_secs(90), "unread messages deleted", || async {
        for _ in 0..5 {
            let record = FutureRecord::<str, str>::to(&topic).partition(0).payload("gone soon");
            producer.send(record, Duration::from_secs(10)).await.expect("sent");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let detail = app.json(&api).await;
        (detail["group"]["retention"]["lost"].as_i64() > Some(0)).then_some(detail)
    })
    .await;
    let risk = &detail["group"]["retention"];
    assert_eq!(risk["used_pct"], 100.0, "{detail}");
    assert_eq!(risk["loss_eta_seconds"], 0.0, "{detail}");
    let lost = risk["lost"].as_i64().unwrap();
    let partition = &detail["group"]["topics"][0]["partitions"][0];
    assert_eq!(partition["retention"]["lost"], lost, "one partition holds it all: {detail}");

    // What the topic says: the log start passed the committed offset 0 by exactly `lost`.
    let topic_detail = app.json(&format!("/api/v1/clusters/k4rt/topics/{topic}")).await;
    let start = topic_detail["partitions"][0]["earliest_offset"].as_i64().unwrap();
    assert!(start >= lost && start > 0, "log start {start}, lost {lost}");

    let (subject, raw) = eventually(Duration::from_secs(60), "the retention notice", || async {
        smtp.messages().into_iter().find(|(subject, _)| subject.contains("[FIRING"))
    })
    .await;
    let subject = subject.replace("\r\n ", " ").replace("\n ", " ");
    assert!(subject.contains("oldest unread message 100 % > 90 % into retention"), "{subject}");
    let body = raw.replace("=\r\n", "").replace("=\n", "");
    // Fired when the oldest unread message outlived the 2 s retention: deleted already, or
    // about to be at the next retention check.
    assert!(
        body.contains("deleted by retention unread")
            || body.contains("retention deletes unread messages in about 0s"),
        "{body}"
    );

    let page = app.html(&format!("/clusters/k4rt/groups/{group}")).await;
    assert!(page.contains(r#"id="retention-risk""#) && page.contains("lost unread"), "{page}");
    // The Consumers list sorts by risk, riskiest first: groups that lost messages (earlier
    // runs' on a reused cluster too) lead, this one among them.
    let list = app.json("/api/v1/clusters/k4rt/groups?sort=retention&dir=desc&per_page=500").await;
    let rows = list["rows"].as_array().unwrap();
    let lost: Vec<i64> = rows.iter().map(|r| r["retention"]["lost"].as_i64().unwrap()).collect();
    assert!(lost.windows(2).all(|w| w[0] >= w[1]), "riskiest first: {lost:?}");
    let at = rows.iter().position(|r| r["name"] == group.as_str()).expect("listed");
    assert!(lost[at] > 0 && at < lost.iter().filter(|&&l| l > 0).count(), "{list}");
    let html = app.html("/clusters/k4rt/groups?sort=retention&dir=desc").await;
    assert!(html.contains("lost unread"), "{html}");
    let metrics = app.get("/metrics").await.text().await.unwrap();
    let series = format!(r#"osprey_consumergroup_lost_messages{{cluster="k4rt",group="{group}"}}"#);
    assert!(metrics.contains(&series), "{metrics}");
    app.stop().await;
}
