//! The Kafka story against both real brokers: topics, partitions and offsets shown exactly in the
//! API and the pages; an unreachable broker shown as such while the app keeps serving.

use std::time::Duration;

use futures::future::join_all;
use rdkafka::producer::FutureRecord;
use serde_json::Value;

use crate::helpers::*;

on_both_brokers!(
    pages_and_api_show_exactly_the_topics_partitions_and_offsets,
    an_unreachable_broker_is_shown_and_the_app_keeps_serving,
    batched_production_is_counted,
);

fn names(rows: &Value) -> Vec<String> {
    rows.as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap().to_owned()).collect()
}

fn column(partitions: &Value, key: &str) -> Vec<i64> {
    partitions.as_array().unwrap().iter().map(|p| p[key].as_i64().unwrap_or(-1)).collect()
}

/// The HTML of the table row that carries `attr` (e.g. `data-partition="1"`).
fn row<'a>(html: &'a str, attr: &str) -> &'a str {
    let start = html.find(attr).unwrap_or_else(|| panic!("no row with {attr}"));
    let end = html[start..].find("</tr>").unwrap() + start;
    &html[start..end]
}

async fn pages_and_api_show_exactly_the_topics_partitions_and_offsets(kind: BrokerKind) {
    let broker = Broker::start(kind).await;
    let bootstrap = broker.bootstrap();
    create_topics(&bootstrap, &[("alpha", 3), ("beta", 2)]).await;
    for (topic, partition, count) in
        [("alpha", 0, 5), ("alpha", 1, 7), ("beta", 0, 3), ("beta", 1, 4)]
    {
        produce_one_by_one(&bootstrap, topic, partition, count).await;
    }
    let app = TestApp::with_clusters(vec![kafka_cluster("it", &bootstrap)]).await;

    let list =
        eventually(Duration::from_secs(30), "both topics with all their messages", || async {
            let list = app.json("/api/v1/clusters/it/topics?hide_internal=true").await;
            let rows = list["rows"].as_array()?;
            (rows.len() == 2 && rows[0]["end_offset_sum"] == 12 && rows[1]["end_offset_sum"] == 7)
                .then_some(list)
        })
        .await;
    assert_eq!(names(&list["rows"]), ["alpha", "beta"]);
    assert_eq!(list["rows"][0]["partitions"], 3);
    assert_eq!(list["rows"][1]["partitions"], 2);
    assert_eq!(list["rows"][0]["messages"], 12);
    assert_eq!(list["rows"][1]["messages"], 7);
    assert_eq!(list["rows"][0]["replication_factor"], 1);

    let alpha = app.json("/api/v1/clusters/it/topics/alpha").await;
    let partitions = &alpha["partitions"];
    assert_eq!(column(partitions, "id"), [0, 1, 2]);
    assert_eq!(column(partitions, "earliest_offset"), [0, 0, 0]);
    assert_eq!(column(partitions, "latest_offset"), [5, 7, 0]);
    assert!(
        partitions
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["leader"].is_i64() && !p["offline"].as_bool().unwrap())
    );
    match kind {
        // noida answers DescribeConfigs with every topic config; tansu only with those set
        // explicitly (a documented gap), which for a fresh topic is none.
        BrokerKind::Noida => {
            assert!(alpha["configs"].as_array().unwrap().len() > 10, "{}", alpha["configs"])
        }
        BrokerKind::Tansu => assert!(alpha["configs"].is_array()),
    }

    let searched = app.json("/api/v1/clusters/it/topics?q=ALP").await;
    assert_eq!(names(&searched["rows"]), ["alpha"]);
    let sorted =
        app.json("/api/v1/clusters/it/topics?hide_internal=true&sort=messages&dir=desc").await;
    assert_eq!(names(&sorted["rows"]), ["alpha", "beta"]);

    let cluster = app.json("/api/v1/clusters/it").await;
    let brokers = cluster["brokers"].as_array().unwrap();
    assert_eq!(brokers.len(), 1);
    assert_eq!(brokers[0]["port"], broker.port);
    assert_eq!(cluster["summary"]["controller_id"], brokers[0]["id"]);
    assert_eq!(brokers[0]["controller"], true);
    assert_eq!(cluster["summary"]["status"], "up");

    // Pages show the same figures.
    let overview = app.html("/").await;
    assert!(row(&overview, r#"data-cluster="it""#).contains("status up"));
    let topics = app.html("/clusters/it/topics?hide_internal=true").await;
    assert!(row(&topics, r#"data-topic="alpha""#).contains(">12<"));
    assert!(row(&topics, r#"data-topic="beta""#).contains(">7<"));
    assert!(!topics.contains(r#"data-topic="__"#), "internal topics hidden on request");
    let topic = app.html("/clusters/it/topics/alpha").await;
    assert!(row(&topic, r#"data-partition="0""#).contains(r#"<td class="num latest">5</td>"#));
    assert!(row(&topic, r#"data-partition="1""#).contains(r#"<td class="num latest">7</td>"#));
    assert!(row(&topic, r#"data-partition="2""#).contains(r#"<td class="num latest">0</td>"#));
    let cluster_page = app.html("/clusters/it").await;
    assert!(row(&cluster_page, "data-broker=").contains("controller"));

    // History reaches the store and comes back as a chart series.
    eventually(Duration::from_secs(20), "history points", || async {
        let detail = app.json("/api/v1/clusters/it").await;
        let points = detail["history"].as_array()?.clone();
        points
            .iter()
            .any(|p| p["reachable"] == 1.0 && p["partitions"].as_f64() >= Some(5.0))
            .then_some(())
    })
    .await;
    app.stop().await;
}

async fn an_unreachable_broker_is_shown_and_the_app_keeps_serving(kind: BrokerKind) {
    let mut broker = Broker::start(kind).await;
    let bootstrap = broker.bootstrap();
    create_topics(&bootstrap, &[("kept", 2)]).await;
    produce_one_by_one(&bootstrap, "kept", 0, 2).await;
    let app = TestApp::with_clusters(vec![kafka_cluster("flaky", &bootstrap)]).await;
    eventually(Duration::from_secs(30), "the cluster up with its topic", || async {
        let list = app.json("/api/v1/clusters/flaky/topics?q=kept").await;
        (list["rows"][0]["end_offset_sum"] == 2).then_some(())
    })
    .await;

    broker.stop();
    let summary = eventually(Duration::from_secs(30), "the cluster shown unreachable", || async {
        let clusters = app.json("/api/v1/clusters").await;
        (clusters[0]["status"] == "down").then(|| clusters[0].clone())
    })
    .await;
    let error = summary["error"].as_str().unwrap();
    assert!(!error.is_empty());
    assert!(summary["last_good_at"].is_i64(), "the time of the last good poll is kept");
    // The last good data stays visible, and every page still answers.
    let list = app.json("/api/v1/clusters/flaky/topics?q=kept").await;
    assert_eq!(names(&list["rows"]), ["kept"]);
    let page = app.html("/clusters/flaky").await;
    assert!(page.contains(r#"id="unreachable""#), "the cluster page says it is unreachable");
    assert!(page.contains(&html_escape(error)), "and shows the error");
    assert!(app.html("/").await.contains("status down"));
    assert_eq!(app.get("/healthz").await.status(), 200);
    assert_eq!(app.get("/readyz").await.status(), 200);

    broker.restart().await;
    if kind == BrokerKind::Tansu {
        // tansu keeps topics in memory, so they are gone after its restart; and librdkafka
        // fails a metadata request against a tansu broker with no topic at all
        // ("InvalidArgument"), so the cluster only reads as up once it has a topic again.
        create_topics(&bootstrap, &[("kept", 2)]).await;
    }
    eventually(Duration::from_secs(90), "the cluster up again", || async {
        let clusters = app.json("/api/v1/clusters").await;
        (clusters[0]["status"] == "up").then_some(())
    })
    .await;
    app.stop().await;
}

fn html_escape(text: &str) -> String {
    text.replace('&', "&#38;")
        .replace('<', "&#60;")
        .replace('>', "&#62;")
        .replace('"', "&#34;")
        .replace('\'', "&#39;")
}

/// Records sent in batches. noida reports the exact high watermark. tansu 0.6 reports the base
/// offset of the last batch + 1 (a known broker bug), so its count may be short; Osprey shows
/// what the broker says and the test only checks that it stays within the truth.
async fn batched_production_is_counted(kind: BrokerKind) {
    let broker = Broker::start(kind).await;
    let bootstrap = broker.bootstrap();
    create_topics(&bootstrap, &[("batched", 1)]).await;
    let producer = producer(&bootstrap);
    let payloads: Vec<String> = (0..20).map(|i| format!("record {i}")).collect();
    let sends = payloads.iter().map(|p| {
        producer.send(
            FutureRecord::<str, str>::to("batched").partition(0).payload(p),
            Duration::from_secs(10),
        )
    });
    for result in join_all(sends).await {
        result.expect("delivered");
    }
    let app = TestApp::with_clusters(vec![kafka_cluster("b", &bootstrap)]).await;
    let latest = eventually(Duration::from_secs(30), "the batched topic", || async {
        let topic = app.get("/api/v1/clusters/b/topics/batched").await;
        if !topic.status().is_success() {
            return None;
        }
        let topic: Value = topic.json().await.ok()?;
        topic["partitions"][0]["latest_offset"].as_i64()
    })
    .await;
    match kind {
        BrokerKind::Noida => assert_eq!(latest, 20),
        BrokerKind::Tansu => assert!((1..=20).contains(&latest), "latest offset {latest}"),
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_requests_get_clear_errors_in_api_and_pages() {
    let broker = Broker::start(BrokerKind::Noida).await;
    let app = TestApp::with_clusters(vec![kafka_cluster("it", &broker.bootstrap())]).await;
    let check = |status: u16, code: &'static str, path: &'static str| {
        let app = &app;
        async move {
            let response = app.get(path).await;
            assert_eq!(response.status(), status, "{path}");
            let body: Value = response.json().await.unwrap();
            assert_eq!(body["error"]["code"], code, "{path}: {body}");
            assert!(!body["error"]["message"].as_str().unwrap().is_empty());
        }
    };
    check(404, "unknown_cluster", "/api/v1/clusters/nope").await;
    check(404, "unknown_cluster", "/api/v1/clusters/nope/topics").await;
    check(400, "bad_request", "/api/v1/clusters/it/topics?sort=sideways").await;
    check(400, "bad_request", "/api/v1/clusters/it?range=5y").await;
    check(404, "not_found", "/api/v1/no/such/path").await;
    eventually(Duration::from_secs(30), "first poll", || async {
        (app.json("/api/v1/clusters").await[0]["status"] == "up").then_some(())
    })
    .await;
    check(404, "unknown_topic", "/api/v1/clusters/it/topics/no.such.topic").await;

    let page = app.get("/clusters/it/topics/no.such.topic").await;
    assert_eq!(page.status(), 404);
    let html = page.text().await.unwrap();
    assert!(html.contains("has no topic named"), "{html}");
    let page = app.get("/clusters/it/topics?page=minus-one").await;
    assert_eq!(page.status(), 400);
    let page = app.get("/definitely/not/here").await;
    assert_eq!(page.status(), 404);
    // Chinese readers get the page in Chinese.
    let zh = app.text_in_chinese("/clusters/it/topics/no.such.topic").await;
    assert!(zh.contains("未找到") && zh.contains("中没有名为“no.such.topic”的主题"), "{zh}");
    app.stop().await;
}
