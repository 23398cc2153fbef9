//! Topic and group changes against real brokers: created, grown, configured and deleted topics
//! show in metadata; a reset moves committed offsets exactly as previewed, never under a live
//! member; viewers change nothing.

use std::time::Duration;

use osprey::auth::Role;
use rdkafka::ClientConfig;
use rdkafka::admin::{AdminOptions, ResourceSpecifier};
use rdkafka::consumer::{BaseConsumer, Consumer};
use serde_json::{Value, json};

use crate::groups::commit;
use crate::helpers::*;

on_both_brokers!(topics_are_created_grown_and_deleted);

async fn app_for(broker: &Broker) -> TestApp {
    TestApp::with_clusters(vec![kafka_cluster("it", &broker.bootstrap())]).await
}

async fn call(
    client: &reqwest::Client,
    method: reqwest::Method,
    url: String,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = client.request(method, url);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    (response.status().as_u16(), response.json().await.unwrap_or(Value::Null))
}

async fn partitions_of(app: &TestApp, topic: &str) -> Option<usize> {
    let response = app.get(&format!("/api/v1/clusters/it/topics/{topic}")).await;
    if !response.status().is_success() {
        return None;
    }
    response.json::<Value>().await.ok()?["partitions"].as_array().map(Vec::len)
}

async fn topics_are_created_grown_and_deleted(kind: BrokerKind) {
    let broker = Broker::start(kind).await;
    // tansu cannot list metadata while it has no topic at all.
    create_topics(&broker.bootstrap(), &[("seed", 1)]).await;
    let app = app_for(&broker).await;
    let base = format!("{}/api/v1/clusters/it/topics", app.base);
    let post = reqwest::Method::POST;

    let (status, error) =
        call(&app.http, post.clone(), base.clone(), Some(json!({"name": "bad name"}))).await;
    assert_eq!(status, 422, "{error}");
    let viewer = app.client_as("vera", Role::Viewer).await;
    let (status, _) =
        call(&viewer, post.clone(), base.clone(), Some(json!({"name": "made"}))).await;
    assert_eq!(status, 403);
    let (status, body) = call(
        &app.http,
        post.clone(),
        base.clone(),
        Some(json!({"name": "made", "partitions": 2, "configs": {"retention.ms": "3600000"}})),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let (status, body) =
        call(&app.http, post.clone(), base.clone(), Some(json!({"name": "made"}))).await;
    assert_eq!(status, 502, "the broker's refusal of a duplicate comes back: {body}");
    assert_eq!(body["error"]["code"], "broker_error", "{body}");
    assert!(body["error"].get("field").is_none(), "a broker refusal names no field: {body}");
    eventually(Duration::from_secs(20), "the new topic in metadata", || async {
        (partitions_of(&app, "made").await == Some(2)).then_some(())
    })
    .await;

    let grow = format!("{base}/made/partitions");
    let (status, body) =
        call(&app.http, post.clone(), grow.clone(), Some(json!({"total": 3}))).await;
    if kind == BrokerKind::Tansu {
        // tansu has no CreatePartitions: the broker's refusal is what the operator sees.
        assert_eq!(status, 502);
        assert!(body["error"]["message"].as_str().unwrap().contains("not supported"), "{body}");
    } else {
        assert_eq!(status, 204, "{body}");
        eventually(Duration::from_secs(20), "the added partition in metadata", || async {
            (partitions_of(&app, "made").await == Some(3)).then_some(())
        })
        .await;
        let (status, body) = call(&app.http, post.clone(), grow, Some(json!({"total": 2}))).await;
        assert_eq!(status, 422, "partitions are never removed: {body}");
    }

    let delete = reqwest::Method::DELETE;
    let (status, _) =
        call(&viewer, delete.clone(), format!("{base}/made?confirm=made"), None).await;
    assert_eq!(status, 403, "a viewer cannot delete");
    assert!(partitions_of(&app, "made").await.is_some(), "still there");
    let (status, _) =
        call(&app.http, delete.clone(), format!("{base}/made?confirm=nope"), None).await;
    assert_eq!(status, 422, "the name must be typed");
    let (status, _) = call(&app.http, delete, format!("{base}/made?confirm=made"), None).await;
    assert_eq!(status, 204);
    eventually(Duration::from_secs(20), "the topic gone from metadata", || async {
        partitions_of(&app, "made").await.is_none().then_some(())
    })
    .await;
    let audit = app.json("/api/v1/audit").await;
    for (action, result) in [
        ("topic.create", "ok"),
        ("topic.create", "denied"),
        ("topic.create", "failed"),
        ("topic.delete", "ok"),
    ] {
        assert!(
            audit
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["action"] == action && e["result"] == result),
            "{action} {result}"
        );
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn topic_configs_change_incrementally() {
    let broker = Broker::start(BrokerKind::Noida).await;
    create_topics(&broker.bootstrap(), &[("tuned", 1)]).await;
    let app = app_for(&broker).await;
    let url = format!("{}/api/v1/clusters/it/topics/tuned/configs", app.base);
    eventually(Duration::from_secs(20), "the topic's configs", || async {
        let topic = app.get("/api/v1/clusters/it/topics/tuned").await;
        let topic: Value = topic.status().is_success().then_some(topic)?.json().await.ok()?;
        topic["configs"].is_array().then_some(())
    })
    .await;
    let (status, body) = call(
        &app.http,
        reqwest::Method::PATCH,
        url,
        Some(json!({"set": {"retention.ms": "7200000"}})),
    )
    .await;
    assert_eq!(status, 204, "{body}");
    let admin: rdkafka::admin::AdminClient<rdkafka::client::DefaultClientContext> =
        ClientConfig::new().set("bootstrap.servers", broker.bootstrap()).create().unwrap();
    let described = admin
        .describe_configs([&ResourceSpecifier::Topic("tuned")], &AdminOptions::new())
        .await
        .unwrap();
    let resource = described.into_iter().next().unwrap().unwrap();
    let retention = resource.get("retention.ms").and_then(|e| e.value.clone());
    assert_eq!(retention.as_deref(), Some("7200000"));
    app.stop().await;
}

fn committed(bootstrap: &str, group: &str, topic: &str, partition: i32) -> i64 {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", group)
        .create()
        .unwrap();
    let mut list = rdkafka::TopicPartitionList::new();
    list.add_partition(topic, partition);
    let offsets = consumer.committed_offsets(list, Duration::from_secs(10)).unwrap();
    match offsets.find_partition(topic, partition).unwrap().offset() {
        rdkafka::Offset::Offset(o) => o,
        other => panic!("no committed offset: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reset_moves_offsets_exactly_as_previewed() {
    let broker = Broker::start(BrokerKind::Noida).await;
    let bootstrap = broker.bootstrap();
    create_topics(&bootstrap, &[("work", 1)]).await;
    produce_one_by_one(&bootstrap, "work", 0, 10).await;
    commit(&bootstrap, "batch", &[("work", 0, 2)]);
    let app = app_for(&broker).await;
    let reset = format!("{}/api/v1/clusters/it/groups/batch/reset", app.base);
    eventually(Duration::from_secs(20), "the group in the app", || async {
        let group = app.get("/api/v1/clusters/it/groups/batch").await;
        group.status().is_success().then_some(())
    })
    .await;

    let (status, preview) =
        call(&app.http, reqwest::Method::POST, reset.clone(), Some(json!({"to": "latest"}))).await;
    assert_eq!(status, 200, "{preview}");
    assert_eq!(preview["applied"], false);
    assert_eq!(
        preview["changes"][0],
        json!({"topic": "work", "partition": 0, "current": 2, "new": 10})
    );
    assert_eq!(committed(&bootstrap, "batch", "work", 0), 2, "a preview moves nothing");

    // More messages arrive; applying the preview commits what was shown, not the new end.
    produce_one_by_one(&bootstrap, "work", 0, 5).await;
    let offsets = previewed_offsets(&preview);
    let viewer = app.client_as("vera", Role::Viewer).await;
    let body = json!({"to": "offsets", "offsets": offsets, "apply": true});
    let (status, _) = call(&viewer, reqwest::Method::POST, reset.clone(), Some(body.clone())).await;
    assert_eq!(status, 403);
    assert_eq!(committed(&bootstrap, "batch", "work", 0), 2, "a viewer moves nothing");
    let (status, applied) = call(&app.http, reqwest::Method::POST, reset, Some(body)).await;
    assert_eq!((status, applied["applied"].clone()), (200, json!(true)), "{applied}");
    assert_eq!(committed(&bootstrap, "batch", "work", 0), 10);

    // The page shows the same preview with a form that applies exactly it.
    let page = app
        .http
        .post(format!("{}/clusters/it/groups/batch/reset", app.base))
        .form(&[("to", "earliest"), ("topic", "work")])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("id=\"reset-changes\"") && page.contains("data-new=\"0\""), "{page}");
    assert!(page.contains("id=\"apply-reset\"") && page.contains("work,0,0"), "{page}");
    assert_eq!(committed(&bootstrap, "batch", "work", 0), 10, "the preview page moves nothing");

    // Deleting the group removes it.
    let (status, _) = call(
        &app.http,
        reqwest::Method::DELETE,
        format!("{}/api/v1/clusters/it/groups/batch", app.base),
        None,
    )
    .await;
    assert_eq!(status, 204);
    eventually(Duration::from_secs(20), "the group gone", || async {
        let group = app.get("/api/v1/clusters/it/groups/batch").await;
        (group.status() == 404).then_some(())
    })
    .await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_group_with_live_members_is_not_reset() {
    let broker = Broker::start(BrokerKind::Noida).await;
    let bootstrap = broker.bootstrap();
    create_topics(&bootstrap, &[("busy", 1)]).await;
    produce_one_by_one(&bootstrap, "busy", 0, 5).await;
    commit(&bootstrap, "live", &[("busy", 0, 1)]);
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let member = {
        let (bootstrap, stop) = (bootstrap.clone(), stop.clone());
        std::thread::spawn(move || {
            let consumer: BaseConsumer = ClientConfig::new()
                .set("bootstrap.servers", &bootstrap)
                .set("group.id", "live")
                .set("enable.auto.commit", "false")
                .create()
                .unwrap();
            consumer.subscribe(&["busy"]).unwrap();
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let _ = consumer.poll(Duration::from_millis(100));
            }
        })
    };
    let app = app_for(&broker).await;
    eventually(Duration::from_secs(40), "the live member", || async {
        let group = app.get("/api/v1/clusters/it/groups/live").await;
        let group: Value = group.status().is_success().then_some(group)?.json().await.ok()?;
        (group["group"]["members"] == 1).then_some(())
    })
    .await;
    let (status, refused) = call(
        &app.http,
        reqwest::Method::POST,
        format!("{}/api/v1/clusters/it/groups/live/reset", app.base),
        Some(json!({"to": "earliest", "apply": true})),
    )
    .await;
    assert_eq!(status, 422);
    assert!(refused["error"]["message"].as_str().unwrap().contains("active members"), "{refused}");
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    member.join().unwrap();
    assert_eq!(committed(&bootstrap, "live", "busy", 0), 1);
    app.stop().await;
}
