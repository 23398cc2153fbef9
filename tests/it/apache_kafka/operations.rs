//! Operator actions on the real cluster: a topic created with three replicas and its own
//! configuration, configuration sources as DescribeConfigs reports them, configs changed
//! incrementally, partitions added, messages of every compression codec browsed with their
//! headers, a group reset and deleted, the topic deleted.

use std::time::Duration;

use rdkafka::ClientConfig;
use rdkafka::admin::{AdminOptions, ResourceSpecifier};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use serde_json::{Value, json};

use super::bootstrap;
use crate::helpers::*;

/// What the brokers themselves say the topic's value of `key` is.
async fn described(topic: &str, key: &str) -> Option<String> {
    let resources = admin(&bootstrap())
        .describe_configs([&ResourceSpecifier::Topic(topic)], &AdminOptions::new())
        .await
        .expect("described");
    let resource = resources.into_iter().next()?.ok()?;
    resource.get(key).and_then(|e| e.value.clone())
}

#[tokio::test(flavor = "multi_thread")]
async fn topics_configs_codecs_resets_and_deletions_work_on_real_kafka() {
    let app = TestApp::with_clusters(vec![kafka_cluster("k4ops", &bootstrap())]).await;
    let api = "/api/v1/clusters/k4ops";
    let topic = unique("operated");
    let (status, body) = app
        .call(
            reqwest::Method::POST,
            &format!("{api}/topics"),
            json!({"name": topic, "partitions": 2, "replication_factor": 3,
               "configs": {"retention.ms": "3600000"}}),
        )
        .await;
    assert_eq!(status, 201, "{body}");

    // Where each value comes from, as the brokers say.
    let configs = eventually(Duration::from_secs(30), "the topic's configs", || async {
        let shown = app.get(&format!("{api}/topics/{topic}")).await.json::<Value>().await.ok()?;
        (shown["partitions"].as_array()?.len() == 2).then_some(())?;
        shown["configs"].as_array().cloned()
    })
    .await;
    let source = |name: &str| {
        configs.iter().find(|c| c["name"] == name).map(|c| c["source"].clone()).unwrap_or_default()
    };
    assert_eq!(source("retention.ms"), "topic");
    assert_eq!(source("segment.bytes"), "broker_file", "log.segment.bytes in server.properties");
    assert_eq!(source("cleanup.policy"), "default");
    let page = app.html(&format!("/clusters/k4ops/topics/{topic}")).await;
    assert!(page.contains(r#"data-source="broker_file""#), "{page}");

    // Incremental changes touch only what they name.
    let (status, body) = app
        .call(
            reqwest::Method::PATCH,
            &format!("{api}/topics/{topic}/configs"),
            json!({"set": {"segment.bytes": "8388608"}, "remove": ["retention.ms"]}),
        )
        .await;
    assert_eq!(status, 204, "{body}");
    assert_eq!(described(&topic, "segment.bytes").await.as_deref(), Some("8388608"));
    assert_eq!(described(&topic, "retention.ms").await.as_deref(), Some("604800000"));

    let (status, body) = app
        .call(
            reqwest::Method::POST,
            &format!("{api}/topics/{topic}/partitions"),
            json!({"total": 4}),
        )
        .await;
    assert_eq!(status, 204, "{body}");

    // One message per codec, each with a header, all on partition 0; browsed back as sent.
    for codec in ["gzip", "snappy", "lz4", "zstd"] {
        let producer: FutureProducer = ClientConfig::new()
            .set("bootstrap.servers", bootstrap())
            .set("compression.type", codec)
            .create()
            .expect("producer");
        let headers = OwnedHeaders::new().insert(Header { key: "codec", value: Some(codec) });
        let value = format!("{codec} {}", "compressible ".repeat(50));
        producer
            .send(
                FutureRecord::to(&topic).partition(0).key(codec).payload(&value).headers(headers),
                Duration::from_secs(10),
            )
            .await
            .expect("delivered");
    }
    let browsed =
        app.json(&format!("{api}/topics/{topic}/messages?partition=0&from=earliest")).await;
    let messages = browsed["messages"].as_array().unwrap();
    let codecs: Vec<&str> = messages.iter().map(|m| m["key"].as_str().unwrap()).collect();
    assert_eq!(codecs, ["gzip", "snappy", "lz4", "zstd"], "{browsed}");
    for message in messages {
        let codec = message["key"].as_str().unwrap();
        assert!(message["value"].as_str().unwrap().starts_with(&format!("{codec} compressible")));
        assert_eq!(message["headers"], json!([["codec", codec]]), "{message}");
    }

    // Osprey's own send compresses with the codec asked for: Kafka's dump of the partition's
    // log names each batch's codec.
    for codec in ["gzip", "snappy", "lz4", "zstd"] {
        let value = format!("{codec} {}", "compressible ".repeat(50));
        let (status, body) = app
            .call(
                reqwest::Method::POST,
                &format!("{api}/topics/{topic}/messages"),
                json!({"key": codec, "value": value, "partition": 1, "compression": codec}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
    }
    let log =
        format!("{}/node-1/data/{topic}-1/00000000000000000000.log", peer("OSPREY_TEST_KAFKA_DIR"));
    let codecs = eventually(Duration::from_secs(30), "four batches on node 1", || async {
        let dump = super::kafka_tool("kafka.tools.DumpLogSegments", &["--files", &log]);
        let codecs: Vec<String> = dump
            .lines()
            .filter_map(|line| line.split("compresscodec: ").nth(1))
            .filter_map(|rest| rest.split_whitespace().next())
            .map(str::to_lowercase)
            .collect();
        (codecs.len() == 4).then_some(codecs)
    })
    .await;
    assert_eq!(codecs, ["gzip", "snappy", "lz4", "zstd"]);
    let browsed =
        app.json(&format!("{api}/topics/{topic}/messages?partition=1&from=earliest")).await;
    let keys: Vec<&str> =
        browsed["messages"].as_array().unwrap().iter().filter_map(|m| m["key"].as_str()).collect();
    assert_eq!(keys, ["gzip", "snappy", "lz4", "zstd"], "{browsed}");
    let (status, body) = app
        .call(
            reqwest::Method::POST,
            &format!("{api}/topics/{topic}/messages"),
            json!({"value": "x", "compression": "brotli"}),
        )
        .await;
    assert_eq!(status, 400, "an unknown codec is refused: {body}");

    // A group that read nothing is reset to the end, exactly as previewed, then deleted.
    let group = unique("rewound");
    crate::groups::commit(&bootstrap(), &group, &[(&topic, 0, 0)]);
    eventually(Duration::from_secs(30), "the group", || async {
        app.get(&format!("{api}/groups/{group}")).await.status().is_success().then_some(())
    })
    .await;
    let reset = format!("{api}/groups/{group}/reset");
    let (status, preview) =
        app.call(reqwest::Method::POST, &reset, json!({"to": "latest", "topic": topic})).await;
    assert_eq!(status, 200, "{preview}");
    let change = preview["changes"].as_array().unwrap().iter().find(|c| c["partition"] == 0);
    assert_eq!(change.unwrap()["new"], 4, "{preview}");
    let offsets = previewed_offsets(&preview);
    let (status, applied) = app
        .call(
            reqwest::Method::POST,
            &reset,
            json!({"to": "offsets", "offsets": offsets, "apply": true}),
        )
        .await;
    assert_eq!((status, applied["applied"].clone()), (200, json!(true)), "{applied}");
    eventually(Duration::from_secs(30), "no lag after the reset", || async {
        let shown = app.get(&format!("{api}/groups/{group}")).await.json::<Value>().await.ok()?;
        (shown["group"]["lag"] == 0).then_some(())
    })
    .await;
    let (status, _) =
        app.call(reqwest::Method::DELETE, &format!("{api}/groups/{group}"), Value::Null).await;
    assert_eq!(status, 204);
    let (status, _) = app
        .call(
            reqwest::Method::DELETE,
            &format!("{api}/topics/{topic}?confirm={topic}"),
            Value::Null,
        )
        .await;
    assert_eq!(status, 204);
    eventually(Duration::from_secs(30), "group and topic gone", || async {
        let group = app.get(&format!("{api}/groups/{group}")).await.status();
        let topic = app.get(&format!("{api}/topics/{topic}")).await.status();
        (group == 404 && topic == 404).then_some(())
    })
    .await;
    app.stop().await;
}
