//! Against cluster K3: Apache Kafka 3.9 in ZooKeeper mode, three brokers — what most EFAK users
//! run. The mode, the ZooKeeper connection string and the controller ZooKeeper names; replicas
//! and lag as on KRaft.

use std::process::Command;
use std::time::Duration;

use rdkafka::admin::{AdminOptions, NewTopic, TopicReplication};
use serde_json::Value;

use crate::helpers::*;

fn bootstrap() -> String {
    peer("OSPREY_TEST_KAFKA_ZK_BOOTSTRAP")
}

/// The broker id in ZooKeeper's `/controller` znode: the controller as ZooKeeper itself says.
fn controller_in_zookeeper() -> i64 {
    let connect = peer("OSPREY_TEST_KAFKA_ZK_CONNECT");
    let (server, chroot) = connect.split_once('/').expect("a chroot");
    let libs = peer("OSPREY_TEST_KAFKA_ZK_LIBS");
    let output = Command::new("java")
        .args(["-Xmx64m", "-cp"])
        .arg(format!("{libs}/*"))
        .args(["org.apache.zookeeper.ZooKeeperMain", "-server", server, "get"])
        .arg(format!("/{chroot}/controller"))
        .output()
        .expect("java runs");
    let text = String::from_utf8_lossy(&output.stdout);
    let json = text.lines().find(|l| l.contains("brokerid")).expect("the controller znode");
    let value: Value = serde_json::from_str(json.trim()).expect("JSON");
    value["brokerid"].as_i64().expect("a broker id")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_zookeeper_cluster_shows_its_mode_its_zookeeper_and_the_controller_zookeeper_names() {
    let topic = unique("zk-replicated");
    let new = NewTopic::new(&topic, 3, TopicReplication::Fixed(3));
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(20)));
    for result in admin(&bootstrap()).create_topics([&new], &options).await.expect("created") {
        result.expect("topic created");
    }
    produce_one_by_one(&bootstrap(), &topic, 0, 7).await;
    let group = unique("zk-reader");
    crate::groups::commit(&bootstrap(), &group, &[(&topic, 0, 3)]);

    let app = TestApp::with_clusters(vec![kafka_cluster("k3", &bootstrap())]).await;
    let detail = eventually(Duration::from_secs(60), "three brokers in ZooKeeper mode", || async {
        let detail = app.get("/api/v1/clusters/k3").await.json::<Value>().await.ok()?;
        let s = &detail["summary"];
        (s["brokers"] == 3 && s["metadata_mode"] == "zookeeper").then_some(detail)
    })
    .await;
    let s = &detail["summary"];
    assert_eq!(s["zookeeper"], peer("OSPREY_TEST_KAFKA_ZK_CONNECT"), "{s}");
    assert_eq!(detail["quorum"], Value::Null, "no metadata quorum in ZooKeeper mode");
    assert_eq!(s["protocol_version"], "3.9-IV0", "{s}");
    let controller = controller_in_zookeeper();
    assert_eq!(s["controller_id"], controller, "{s}");
    let first_poll = s["last_attempt_at"].as_i64().unwrap();
    let next = eventually(Duration::from_secs(10), "another poll", || async {
        let s = app.json("/api/v1/clusters/k3").await["summary"].clone();
        (s["last_attempt_at"].as_i64() > Some(first_poll)).then_some(s)
    })
    .await;
    assert_eq!(next["controller_id"], controller, "the same controller every poll");

    let shown = app.json(&format!("/api/v1/clusters/k3/topics/{topic}")).await;
    for partition in shown["partitions"].as_array().unwrap() {
        assert_eq!(partition["isr"].as_array().unwrap().len(), 3, "{partition}");
    }
    let lag = eventually(Duration::from_secs(30), "the group's lag", || async {
        let g = app.get(&format!("/api/v1/clusters/k3/groups/{group}")).await;
        g.json::<Value>().await.ok()?["group"]["lag"].as_i64()
    })
    .await;
    assert_eq!(lag, 4, "7 sent, 3 committed");

    let page = app.html("/clusters/k3").await;
    assert!(page.contains(r#"id="metadata-mode" data-mode="zookeeper""#), "{page}");
    assert!(page.contains(&peer("OSPREY_TEST_KAFKA_ZK_CONNECT")), "{page}");
    let overview = app.html("/").await;
    assert!(overview.contains(r#"data-mode="zookeeper""#), "{overview}");
    app.stop().await;
}
