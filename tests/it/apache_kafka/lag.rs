//! Lag on the real cluster equals what Kafka's own `kafka-consumer-groups --describe` prints for
//! the same moment (the producer paused): a stopped group, a classic group of two members and a
//! KIP-848 group (`group.protocol=consumer`), whose members and assignments show too.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use rdkafka::ClientConfig;
use rdkafka::Message;
use rdkafka::admin::{AdminOptions, NewTopic, TopicReplication};
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::producer::FutureRecord;
use rdkafka::{Offset, TopicPartitionList};
use serde_json::Value;

use super::{bootstrap, kafka_tool};
use crate::helpers::*;

const PARTITIONS: i32 = 3;
const PER_PARTITION: i64 = 30;
/// Members commit nothing past this offset, so every group lags.
const COMMITTED: i64 = 10;

/// A group member in a thread of its own: it consumes everything it is assigned, commits up to
/// [`COMMITTED`] on each partition, and stays in the group until dropped.
pub(super) struct Member {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Member {
    pub(super) fn join(group: &str, topic: &str, protocol: &str, client: &str) -> Member {
        let mut config = ClientConfig::new();
        config
            .set("bootstrap.servers", bootstrap())
            .set("group.id", group)
            .set("client.id", client)
            .set("group.protocol", protocol)
            .set("enable.auto.commit", "false")
            .set("auto.offset.reset", "earliest");
        let consumer: BaseConsumer = config.create().expect("consumer");
        consumer.subscribe(&[topic]).expect("subscribed");
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            while !stopping.load(Ordering::SeqCst) {
                let Some(Ok(message)) = consumer.poll(Duration::from_millis(100)) else { continue };
                if message.offset() < COMMITTED {
                    let mut done = TopicPartitionList::new();
                    done.add_partition_offset(
                        message.topic(),
                        message.partition(),
                        Offset::Offset(message.offset() + 1),
                    )
                    .unwrap();
                    let _ = consumer.commit(&done, CommitMode::Sync);
                }
            }
            consumer.unsubscribe();
        });
        Member { stop, thread: Some(thread) }
    }
}

impl Drop for Member {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// `(partition → (committed, log end, lag))` and the consumer ids of `group` on `topic`, as
/// `kafka-consumer-groups --describe` prints them.
fn described_by_the_kafka_tool(group: &str, topic: &str) -> BTreeMap<i64, (i64, i64, i64)> {
    let text = kafka_tool(
        "org.apache.kafka.tools.consumer.group.ConsumerGroupCommand",
        &["--bootstrap-server", &bootstrap(), "--describe", "--group", group],
    );
    text.lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .filter(|cols| cols.len() >= 6 && cols[0] == group && cols[1] == topic)
        .map(|cols| {
            let number = |i: usize| cols[i].parse::<i64>().unwrap_or(-1);
            (number(2), (number(3), number(4), number(5)))
        })
        .collect()
}

fn shown_by_osprey(detail: &Value) -> BTreeMap<i64, (i64, i64, i64)> {
    detail["group"]["topics"][0]["partitions"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| {
            let n = |k: &str| p[k].as_i64().unwrap_or(-1);
            (n("partition"), (n("committed"), n("end"), n("lag")))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn lag_equals_what_kafka_consumer_groups_prints_for_classic_stopped_and_kip848_groups() {
    let topic = unique("lagging");
    let new = NewTopic::new(&topic, PARTITIONS, TopicReplication::Fixed(3));
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(20)));
    for result in admin(&bootstrap()).create_topics([&new], &options).await.expect("created") {
        result.expect("topic created");
    }
    let producer = producer(&bootstrap());
    for i in 0..PER_PARTITION * i64::from(PARTITIONS) {
        let payload = i.to_string();
        let partition = i32::try_from(i % i64::from(PARTITIONS)).unwrap();
        let record = FutureRecord::<str, str>::to(&topic).partition(partition).payload(&payload);
        producer.send(record, Duration::from_secs(10)).await.expect("delivered");
    }

    let stopped = unique("stopped");
    crate::groups::commit(
        &bootstrap(),
        &stopped,
        &[(&topic, 0, 5), (&topic, 1, 17), (&topic, 2, 30)],
    );
    let classic = unique("classic");
    let kip848 = unique("kip848");
    let _members = [
        Member::join(&classic, &topic, "classic", "classic-a"),
        Member::join(&classic, &topic, "classic", "classic-b"),
        Member::join(&kip848, &topic, "consumer", "kip848-a"),
    ];

    let app = TestApp::with_clusters(vec![kafka_cluster("k4lag", &bootstrap())]).await;
    let group_api = |group: &str| format!("/api/v1/clusters/k4lag/groups/{group}");
    for (group, members) in [(&classic, 2), (&kip848, 1)] {
        eventually(Duration::from_secs(90), "members settled and offsets committed", || async {
            let detail = app.get(&group_api(group)).await.json::<Value>().await.ok()?;
            let shown = shown_by_osprey(&detail);
            let settled = detail["group"]["state"] == "Stable"
                && detail["members"].as_array()?.len() == members
                && shown.len() == 3
                && shown.values().all(|(committed, _, _)| *committed == COMMITTED);
            settled.then_some(())
        })
        .await;
    }

    for group in [&stopped, &classic, &kip848] {
        let expected = described_by_the_kafka_tool(group, &topic);
        assert_eq!(expected.len(), 3, "{group}: {expected:?}");
        let shown = eventually(Duration::from_secs(20), "the same figures as the tool", || async {
            let detail = app.get(&group_api(group)).await.json::<Value>().await.ok()?;
            let shown = shown_by_osprey(&detail);
            (shown == expected).then_some(shown)
        })
        .await;
        assert_eq!(shown, expected, "{group}");
    }

    // The KIP-848 group shows its state, its member and what the broker assigned it.
    let detail = app.json(&group_api(&kip848)).await;
    assert_eq!(detail["group"]["group_type"], "consumer", "{detail}");
    assert_eq!(detail["members"][0]["client_id"], "kip848-a", "{detail}");
    let assigned: Vec<i64> = detail["members"][0]["assignment"][0][1]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_i64().unwrap())
        .collect();
    assert_eq!(assigned, [0, 1, 2], "{detail}");
    let page = app.html(&format!("/clusters/k4lag/groups/{kip848}")).await;
    assert!(page.contains("KIP-848"), "{page}");
    app.stop().await;
}
