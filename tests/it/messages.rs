//! Mock-send and browse against real brokers: what is sent is read back by browse and by a real
//! consumer; browsing joins no group; limits, sizes, roles and read-only clusters hold.

use std::time::Duration;

use osprey::auth::Role;
use rdkafka::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Headers, Message};
use serde_json::{Value, json};

use crate::helpers::*;

on_both_brokers!(sent_messages_are_read_back_by_browse_and_by_a_consumer);

async fn app_with_topic(broker: &Broker, read_only: bool) -> TestApp {
    create_topics(&broker.bootstrap(), &[("mock", 2)]).await;
    let mut cluster = kafka_cluster("it", &broker.bootstrap());
    cluster.read_only = read_only;
    let app = TestApp::with_clusters(vec![cluster]).await;
    eventually(Duration::from_secs(30), "the topic in the app", || async {
        let topics = app.json("/api/v1/clusters/it/topics").await;
        topics["rows"].as_array()?.iter().any(|t| t["name"] == "mock").then_some(())
    })
    .await;
    app
}

async fn send(client: &reqwest::Client, app: &TestApp, body: Value) -> (u16, Value) {
    let response = client
        .post(format!("{}/api/v1/clusters/it/topics/mock/messages", app.base))
        .json(&body)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap_or(Value::Null))
}

async fn browse(app: &TestApp, query: &str) -> Value {
    let response = app.get(&format!("/api/v1/clusters/it/topics/mock/messages?{query}")).await;
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert!(status.is_success(), "browse {query}: {status} {body}");
    body
}

/// Reads partition `partition` of `mock` from the start with a plain consumer.
fn consume_all(bootstrap: &str, partition: i32, expected: usize) -> Vec<(String, String, String)> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", "it-reader")
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    let mut list = rdkafka::TopicPartitionList::new();
    list.add_partition_offset("mock", partition, rdkafka::Offset::Beginning).unwrap();
    consumer.assign(&list).unwrap();
    let mut seen = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while seen.len() < expected && std::time::Instant::now() < deadline {
        if let Some(Ok(m)) = consumer.poll(Duration::from_millis(200)) {
            let text =
                |b: Option<&[u8]>| String::from_utf8_lossy(b.unwrap_or_default()).into_owned();
            let header = m.headers().map(|h| text(h.get(0).value)).unwrap_or_default();
            seen.push((text(m.key()), text(m.payload()), header));
        }
    }
    seen
}

async fn sent_messages_are_read_back_by_browse_and_by_a_consumer(kind: BrokerKind) {
    let broker = Broker::start(kind).await;
    let app = app_with_topic(&broker, false).await;
    let (status, sent) = send(
        &app.http,
        &app,
        json!({
            "key": "k{{i}}",
            "value": "{\"n\": {{i}}}",
            "value_format": "json",
            "headers": [["trace", "t{{i}}"]],
            "partition": 1,
            "count": 3
        }),
    )
    .await;
    assert_eq!(status, 200, "{sent}");
    let results = sent["results"].as_array().unwrap();
    assert_eq!(results.len(), 3);
    for (i, result) in results.iter().enumerate() {
        assert_eq!((result["partition"].clone(), result["offset"].clone()), (json!(1), json!(i)));
        assert!(result["error"].is_null());
    }

    let read = browse(&app, "partition=1&from=earliest").await;
    let messages = read["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 3, "{read}");
    assert_eq!(messages[1]["key"], "k2");
    assert_eq!(messages[1]["value"], "{\"n\": 2}");
    assert_eq!(messages[1]["headers"][0], json!(["trace", "t2"]));
    assert!(messages[1]["timestamp"].is_i64());
    let filtered = browse(&app, "from=earliest&filter=t3").await;
    assert_eq!(filtered["messages"].as_array().unwrap().len(), 1);
    assert_eq!(filtered["messages"][0]["offset"], 2);
    let last = browse(&app, "partition=1&from=latest&at=1").await;
    assert_eq!(last["messages"][0]["key"], "k3");
    let hour_ago = osprey::clock::now_millis() - 3_600_000;
    let since = browse(&app, &format!("partition=1&from=timestamp&at={hour_ago}")).await;
    assert_eq!(since["messages"].as_array().unwrap().len(), 3, "{since}");
    if kind == BrokerKind::Noida {
        // tansu answers a ListOffsets for a future time with the first offset, not "none".
        let future = browse(&app, "partition=1&from=timestamp&at=2100-01-01").await;
        assert!(future["messages"].as_array().unwrap().is_empty(), "{future}");
    }
    let limited = browse(&app, "from=earliest&limit=2").await;
    assert_eq!(limited["messages"].as_array().unwrap().len(), 2);
    assert!(limited["stopped"].as_str().unwrap().contains("limit"));

    // A plain consumer reads what was sent; browsing left no consumer group behind.
    let bootstrap = broker.bootstrap();
    let consumed =
        tokio::task::spawn_blocking(move || consume_all(&bootstrap, 1, 3)).await.unwrap();
    assert_eq!(consumed[0], ("k1".into(), "{\"n\": 1}".into(), "t1".into()));
    assert_eq!(consumed.len(), 3);
    let groups = app.json("/api/v1/clusters/it/groups").await;
    let names: Vec<&str> =
        groups["rows"].as_array().unwrap().iter().filter_map(|g| g["name"].as_str()).collect();
    assert!(names.iter().all(|n| *n == "it-reader"), "browsing joined no group: {names:?}");

    // The page shows them too.
    let page =
        app.html("/clusters/it/topics/mock/messages?partition=1&from=earliest&show=json").await;
    let pretty = page.contains("&quot;n&quot;: 3") || page.contains("&#34;n&#34;: 3");
    assert!(page.contains("k1") && pretty, "{page}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn sends_are_checked_before_they_reach_the_broker() {
    let broker = Broker::start(BrokerKind::Noida).await;
    let app = app_with_topic(&broker, false).await;
    let (status, error) = send(&app.http, &app, json!({"value": "x".repeat(2_000_000)})).await;
    assert_eq!(status, 422);
    let message = error["error"]["message"].as_str().unwrap();
    assert!(message.contains("max.message.bytes"), "{message}");
    // Past axum's default 2 MiB body limit, a send is still read and refused for its size,
    // naming the field, not answered 400 "failed to buffer the request body".
    let (status, error) = send(&app.http, &app, json!({"value": "x".repeat(5_000_000)})).await;
    assert_eq!((status, error["error"]["field"].clone()), (422, json!("value")), "{error}");
    let (status, error) = send(&app.http, &app, json!({"value": "x".repeat(17 << 20)})).await;
    assert_eq!((status, error["error"]["code"].clone()), (413, json!("too_large")), "{error}");
    assert!(error["error"]["message"].as_str().unwrap().contains("16 MiB"), "{error}");
    let (status, error) =
        send(&app.http, &app, json!({"value": "{", "value_format": "json"})).await;
    assert_eq!((status, error["error"]["code"].clone()), (422, json!("invalid")));
    let message = error["error"]["message"].as_str().unwrap();
    assert!(message.starts_with("the value is not JSON"), "no prefix: {message}");
    assert_eq!(error["error"]["field"], "value");
    // The form comes back with what was typed and the error beside its field, even for a body
    // past axum's default 2 MiB limit.
    let big = "y".repeat(3_000_000);
    for (value, format, says) in
        [("{ kept", "json", "not JSON"), (big.as_str(), "text", "max.message.bytes")]
    {
        let form = app
            .http
            .post(format!("{}/clusters/it/topics/mock/send", app.base))
            .form(&[("key", "typed-key"), ("value", value), ("value_format", format)])
            .send()
            .await
            .unwrap();
        assert_eq!(form.status(), 422);
        let page = form.text().await.unwrap();
        let beside = page.split(r#"id="error-value">"#).nth(1).unwrap_or_default();
        assert!(
            beside.contains(says),
            "the error stands beside the value: {}",
            &page[..page.len().min(3000)]
        );
        assert!(!page.contains(r#"id="send-error""#), "not above the form");
        assert!(page.contains(r#"value="typed-key""#), "what was typed is kept");
    }
    let (status, _) = send(&app.http, &app, json!({"value": "x", "partition": 7})).await;
    assert_eq!(status, 200, "the broker's own error comes back per message");
    let (_, outcome) = send(&app.http, &app, json!({"value": "x", "partition": 7})).await;
    assert!(outcome["results"][0]["error"].as_str().is_some_and(|e| !e.is_empty()), "{outcome}");
    let unknown = app
        .http
        .post(format!("{}/api/v1/clusters/it/topics/nope/messages", app.base))
        .json(&json!({"value": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
    for page in ["send", "messages", "messages?from=latest"] {
        let answer = app
            .http
            .get(format!("{}/clusters/it/topics/nope/{page}", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 404, "{page} of a topic that does not exist");
    }
    let browse_unknown = app
        .http
        .get(format!("{}/api/v1/clusters/it/topics/nope/messages?from=latest", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(browse_unknown.status(), 404);

    // A viewer may neither send nor browse; nothing reaches the topic.
    let viewer = app.client_as("vic", Role::Viewer).await;
    let (status, _) = send(&viewer, &app, json!({"value": "from a viewer"})).await;
    assert_eq!(status, 403);
    let browse_as_viewer = viewer
        .get(format!("{}/api/v1/clusters/it/topics/mock/messages?from=earliest", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(browse_as_viewer.status(), 403);
    let everything = browse(&app, "from=earliest").await;
    assert!(everything["messages"].as_array().unwrap().is_empty(), "{everything}");
    let audit = app.json("/api/v1/audit").await;
    assert!(audit.as_array().unwrap().iter().any(|e| e["action"] == "message.send"
        && e["result"] == "denied"
        && e["actor"] == "vic"
        && e["cluster"] == "it"
        && e["object"] == "mock"));
    // One audit row per send, each with what came of it (no bare "ok" row beside it).
    let sends: Vec<_> = audit
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "message.send" && e["result"] != "denied")
        .collect();
    assert!(!sends.is_empty());
    assert!(sends.iter().all(|e| e["detail"].is_string()), "{sends:?}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_read_only_cluster_refuses_sends() {
    let broker = Broker::start(BrokerKind::Noida).await;
    let app = app_with_topic(&broker, true).await;
    let (status, error) = send(&app.http, &app, json!({"value": "x"})).await;
    assert_eq!(status, 403, "{error}");
    assert!(error["error"]["message"].as_str().unwrap().contains("read-only"));
    assert!(browse(&app, "from=earliest").await["messages"].as_array().unwrap().is_empty());
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_latest_messages_of_every_partition_share_the_limit() {
    let broker = Broker::start(BrokerKind::Noida).await;
    let app = app_with_topic(&broker, false).await;
    create_topics(&broker.bootstrap(), &[("wide", 6)]).await;
    eventually(Duration::from_secs(30), "the topic in the app", || async {
        let topics = app.json("/api/v1/clusters/it/topics").await;
        topics["rows"].as_array()?.iter().any(|t| t["name"] == "wide").then_some(())
    })
    .await;
    for partition in 0..6 {
        let response = app
            .http
            .post(format!("{}/api/v1/clusters/it/topics/wide/messages", app.base))
            .json(&json!({"value": "m{{i}}", "partition": partition, "count": 30}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    }
    let read =
        app.json("/api/v1/clusters/it/topics/wide/messages?from=latest&at=20&limit=50").await;
    let messages = read["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 50, "{read}");
    for partition in 0..6 {
        let from_it = messages.iter().filter(|m| m["partition"] == partition).count();
        assert!((8..=9).contains(&from_it), "partition {partition} gave {from_it}: {read}");
    }
    assert_eq!(read["left_out"], 70, "{read}");
    assert!(read["stopped"].as_str().unwrap().contains("70 older"), "{read}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_browse_holds_a_bounded_number_of_bytes() {
    let broker = Broker::start(BrokerKind::Noida).await;
    let app = app_with_topic(&broker, false).await;
    // 24 messages of 900 KB: 21.6 MB, more than a browse may hold (16 MiB).
    let producer = producer(&broker.bootstrap());
    let value = "x".repeat(900_000);
    let sends = (0..24).map(|_| {
        let record =
            rdkafka::producer::FutureRecord::<(), str>::to("mock").partition(0).payload(&value);
        producer.send(record, Duration::from_secs(30))
    });
    for sent in futures::future::join_all(sends).await {
        sent.unwrap();
    }
    let read = browse(&app, "from=earliest&limit=500&partition=0").await;
    let held = read["messages"].as_array().unwrap().len();
    assert!((18..24).contains(&held), "{held} messages held");
    let stopped = read["stopped"].as_str().unwrap_or_default();
    assert!(stopped.contains("16 MiB"), "{stopped}");
    app.stop().await;
}
