//! The same cluster over its SSL and SASL_SSL (SCRAM-SHA-512 and PLAIN) listeners, with the
//! throwaway CA `scripts/kafka.sh` made: polled (the batched wire path over TLS, SCRAM and PLAIN
//! too), lag, send and browse with headers, and topic changes.

use std::time::Duration;

use osprey::config::ClusterConfig;
use rdkafka::ClientConfig;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::{Offset, TopicPartitionList};
use serde_json::{Value, json};

use crate::helpers::*;

#[derive(Clone, Copy, Debug)]
enum Listener {
    Ssl,
    SaslSsl,
    /// The SASL_SSL listener with the PLAIN mechanism.
    SaslPlain,
}

impl Listener {
    fn bootstrap(self) -> String {
        match self {
            Listener::Ssl => peer("OSPREY_TEST_KAFKA_SSL_BOOTSTRAP"),
            Listener::SaslSsl | Listener::SaslPlain => peer("OSPREY_TEST_KAFKA_SASL_BOOTSTRAP"),
        }
    }

    /// The librdkafka properties a client of this listener needs, as an operator writes them.
    fn properties(self) -> Vec<(&'static str, String)> {
        let mut properties = vec![("ssl.ca.location", peer("OSPREY_TEST_KAFKA_CA"))];
        match self {
            Listener::Ssl => properties.push(("security.protocol", "SSL".into())),
            Listener::SaslSsl => properties.extend([
                ("security.protocol", "SASL_SSL".into()),
                ("sasl.mechanism", "SCRAM-SHA-512".into()),
                ("sasl.username", peer("OSPREY_TEST_KAFKA_SCRAM_USER")),
                ("sasl.password", peer("OSPREY_TEST_KAFKA_SCRAM_PASSWORD")),
            ]),
            Listener::SaslPlain => properties.extend([
                ("security.protocol", "SASL_SSL".into()),
                ("sasl.mechanism", "PLAIN".into()),
                ("sasl.username", peer("OSPREY_TEST_KAFKA_PLAIN_USER")),
                ("sasl.password", peer("OSPREY_TEST_KAFKA_PLAIN_PASSWORD")),
            ]),
        }
        properties
    }

    fn cluster(self, name: &str) -> ClusterConfig {
        let mut cluster = kafka_cluster(name, &self.bootstrap());
        cluster.poll_timeout = Duration::from_secs(5);
        let osprey::config::Connection::Kafka(kafka) = &mut cluster.connection else {
            unreachable!("a kafka cluster")
        };
        for (key, value) in self.properties() {
            kafka.properties.insert(key.into(), value);
        }
        cluster
    }

    fn client(self) -> ClientConfig {
        let mut config = ClientConfig::new();
        config.set("bootstrap.servers", self.bootstrap());
        for (key, value) in self.properties() {
            config.set(key, value);
        }
        config
    }
}

/// Consumes `count` messages of partition 0 of `topic` as `group` and commits where it got.
fn consume_and_commit(listener: Listener, group: &str, topic: &str, count: usize) {
    let consumer: BaseConsumer = listener
        .client()
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .create()
        .expect("consumer");
    let mut assignment = TopicPartitionList::new();
    assignment.add_partition_offset(topic, 0, Offset::Beginning).unwrap();
    consumer.assign(&assignment).unwrap();
    let mut next = None;
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let mut read = 0;
    while read < count && std::time::Instant::now() < deadline {
        if let Some(Ok(m)) = consumer.poll(Duration::from_millis(200)) {
            read += 1;
            next = Some(rdkafka::Message::offset(&m) + 1);
        }
    }
    assert_eq!(read, count, "read back over {listener:?}");
    let mut done = TopicPartitionList::new();
    done.add_partition_offset(topic, 0, Offset::Offset(next.unwrap())).unwrap();
    consumer.commit(&done, CommitMode::Sync).expect("commit");
}

async fn a_secured_cluster_is_polled_and_operated(listener: Listener, name: &str) {
    let app = TestApp::with_clusters(vec![listener.cluster(name)]).await;
    let api = format!("/api/v1/clusters/{name}");
    let up = eventually(Duration::from_secs(60), "three brokers over TLS", || async {
        let detail = app.get(&api).await.json::<Value>().await.ok()?;
        (detail["summary"]["brokers"] == 3).then_some(detail)
    })
    .await;
    assert_eq!(up["summary"]["error"], Value::Null, "{up}");
    // The batched wire path speaks TLS, SCRAM and PLAIN too: the quorum (read only over it) is
    // there.
    let leader = super::quorum_leader_by_the_kafka_tool();
    assert_eq!(up["quorum"]["leader_id"], leader, "{up}");
    assert_eq!(up["summary"]["controller_id"], leader, "{up}");

    // A topic made through Osprey with three replicas, grown to two partitions.
    let topic = unique("secured");
    let (status, body) = app
        .call(
            reqwest::Method::POST,
            &format!("{api}/topics"),
            json!({"name": topic, "partitions": 1, "replication_factor": 3}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let replicas = eventually(Duration::from_secs(30), "the topic in metadata", || async {
        let topic = app.get(&format!("{api}/topics/{topic}")).await.json::<Value>().await.ok()?;
        topic["partitions"][0]["replicas"].as_array().map(Vec::len)
    })
    .await;
    assert_eq!(replicas, 3);

    // Sent through Osprey with a header, read back by Osprey's browse and by a real consumer.
    let (status, sent) = app
        .call(
            reqwest::Method::POST,
            &format!("{api}/topics/{topic}/messages"),
            json!({"key": "k{{i}}", "value": "v{{i}}", "headers": [["trace", "t{{i}}"]],
               "partition": 0, "count": 5}),
        )
        .await;
    assert_eq!(status, 200, "{sent}");
    let browsed = app.json(&format!("{api}/topics/{topic}/messages?from=earliest")).await;
    let messages = browsed["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 5, "{browsed}");
    assert_eq!(messages[0]["value"], "v1");
    assert_eq!(messages[0]["headers"], json!([["trace", "t1"]]));

    let group = unique("secured-reader");
    consume_and_commit(listener, &group, &topic, 3);
    let lag = eventually(Duration::from_secs(30), "the group's lag", || async {
        let group = app.get(&format!("{api}/groups/{group}")).await.json::<Value>().await.ok()?;
        group["group"]["lag"].as_i64()
    })
    .await;
    assert_eq!(lag, 2, "5 sent, 3 consumed");

    let (status, body) = app
        .call(
            reqwest::Method::POST,
            &format!("{api}/topics/{topic}/partitions"),
            json!({"total": 2}),
        )
        .await;
    assert_eq!(status, 204, "{body}");
    eventually(Duration::from_secs(30), "the second partition", || async {
        let topic = app.get(&format!("{api}/topics/{topic}")).await.json::<Value>().await.ok()?;
        (topic["partitions"].as_array()?.len() == 2).then_some(())
    })
    .await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_ssl_cluster_is_polled_and_operated() {
    a_secured_cluster_is_polled_and_operated(Listener::Ssl, "k4ssl").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sasl_ssl_scram_cluster_is_polled_and_operated() {
    a_secured_cluster_is_polled_and_operated(Listener::SaslSsl, "k4sasl").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sasl_ssl_plain_cluster_is_polled_and_operated() {
    a_secured_cluster_is_polled_and_operated(Listener::SaslPlain, "k4plain").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_scram_password_is_a_clear_error_and_the_app_stays_up() {
    let mut cluster = Listener::SaslSsl.cluster("k4badpw");
    let osprey::config::Connection::Kafka(kafka) = &mut cluster.connection else { unreachable!() };
    kafka.properties.insert("sasl.password".into(), "not-the-password".into());
    let app = TestApp::with_clusters(vec![cluster]).await;
    let error = eventually(Duration::from_secs(60), "an authentication error", || async {
        let detail = app.get("/api/v1/clusters/k4badpw").await.json::<Value>().await.ok()?;
        detail["summary"]["error"].as_str().map(str::to_owned)
    })
    .await;
    assert!(error.to_lowercase().contains("authentication"), "{error}");
    assert!(!error.contains("not-the-password"), "the password never shows: {error}");
    let page = app.html("/clusters/k4badpw").await;
    assert!(page.contains("SASL authentication error"), "the page says why: {page}");
    assert!(!page.contains("not-the-password"));
    app.stop().await;
}
