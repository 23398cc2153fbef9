//! Consumer groups against both real brokers: lag equals produced minus committed, status turns
//! STOP when a group stops, OK when it catches up, REWIND when reset backwards; lag in seconds
//! tracks the true age of the oldest unconsumed message.

use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::{ClientConfig, Message, Offset, TopicPartitionList};
use serde_json::Value;

use crate::helpers::*;

on_both_brokers!(
    lag_status_and_recovery_of_groups,
    lag_seconds_track_the_oldest_unconsumed_message
);

fn group_consumer(bootstrap: &str, group: &str) -> BaseConsumer {
    ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        .create()
        .unwrap()
}

/// Commits `offsets` (topic, partition, offset) for `group`, as a consumer does — retrying what
/// a consumer retries: a coordinator still loading `__consumer_offsets` (right after a real
/// broker restarted) or one that moved.
pub fn commit(bootstrap: &str, group: &str, offsets: &[(&str, i32, i64)]) {
    let mut list = TopicPartitionList::new();
    for (topic, partition, offset) in offsets {
        list.add_partition_offset(topic, *partition, Offset::Offset(*offset)).unwrap();
    }
    let consumer = group_consumer(bootstrap, group);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match consumer.commit(&list, CommitMode::Sync) {
            Ok(()) => return,
            Err(error) if coordinator_busy(&error) && Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(500))
            }
            Err(error) => panic!("commit: {error:?}"),
        }
    }
}

fn coordinator_busy(error: &rdkafka::error::KafkaError) -> bool {
    use rdkafka::types::RDKafkaErrorCode::*;
    matches!(
        error.rdkafka_error_code(),
        Some(CoordinatorLoadInProgress | CoordinatorNotAvailable | NotCoordinator)
    )
}

/// Really consumes `per_partition` messages from each partition of `topic` with manual
/// assignment (no rebalance), then commits the position reached, and stops.
fn consume_and_commit(
    bootstrap: &str,
    group: &str,
    topic: &str,
    partitions: i32,
    per_partition: i64,
) {
    let consumer = group_consumer(bootstrap, group);
    let mut assignment = TopicPartitionList::new();
    for p in 0..partitions {
        assignment.add_partition_offset(topic, p, Offset::Beginning).unwrap();
    }
    consumer.assign(&assignment).unwrap();
    let mut read = vec![0i64; partitions as usize];
    let deadline = Instant::now() + Duration::from_secs(30);
    while read.iter().any(|&n| n < per_partition) {
        assert!(Instant::now() < deadline, "consumed only {read:?}");
        if let Some(Ok(message)) = consumer.poll(Duration::from_millis(200)) {
            let slot = &mut read[message.partition() as usize];
            if *slot < per_partition {
                *slot += 1;
            }
        }
    }
    let positions: Vec<(&str, i32, i64)> =
        (0..partitions).map(|p| (topic, p, per_partition)).collect();
    drop(consumer);
    commit(bootstrap, group, &positions);
}

async fn group_json(app: &TestApp, group: &str) -> Option<Value> {
    let response = app.get(&format!("/api/v1/clusters/it/groups/{group}")).await;
    response.status().is_success().then_some(())?;
    response.json().await.ok()
}

fn partition_lags(detail: &Value) -> Vec<i64> {
    detail["group"]["topics"][0]["partitions"]
        .as_array()
        .map(|ps| ps.iter().map(|p| p["lag"].as_i64().unwrap()).collect())
        .unwrap_or_default()
}

fn lag_config(broker: &Broker) -> osprey::config::Config {
    let dir = tempfile::tempdir().unwrap().keep();
    let dir = tempfile::TempDir::new_in(dir).unwrap();
    let mut config = sqlite_config(&dir, vec![kafka_cluster("it", &broker.bootstrap())]);
    std::mem::forget(dir);
    // Short windows so STOP shows within seconds.
    config.lag.window = Duration::from_secs(5);
    config.lag.min_samples = 3;
    config
}

async fn lag_status_and_recovery_of_groups(kind: BrokerKind) {
    let broker = Broker::start(kind).await;
    let bootstrap = broker.bootstrap();
    create_topics(&bootstrap, &[("work", 2)]).await;
    for partition in 0..2 {
        produce_one_by_one(&bootstrap, "work", partition, 10).await;
    }
    consume_and_commit(&bootstrap, "slow", "work", 2, 4);
    commit(&bootstrap, "steady", &[("work", 0, 10), ("work", 1, 10)]);
    let app = TestApp::spawn(lag_config(&broker)).await;

    // Lag is produced minus committed on every partition, and each group is on its own.
    let slow = eventually(Duration::from_secs(30), "the slow group with its lag", || async {
        let detail = group_json(&app, "slow").await?;
        (partition_lags(&detail) == [6, 6]).then_some(detail)
    })
    .await;
    assert_eq!(slow["group"]["lag"], 12);
    assert_eq!(slow["group"]["max_lag"], 6);
    let steady = group_json(&app, "steady").await.unwrap();
    assert_eq!(partition_lags(&steady), [0, 0]);
    assert_eq!(steady["group"]["status"], "OK");

    // Stopped with lag: STOP once the window has passed.
    eventually(Duration::from_secs(30), "STOP for the stopped group", || async {
        (group_json(&app, "slow").await?["group"]["status"] == "STOP").then_some(())
    })
    .await;
    let list = app.json("/api/v1/clusters/it/groups?status=STOP").await;
    let names: Vec<&str> =
        list["rows"].as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["slow"]);
    let by_lag = app.json("/api/v1/clusters/it/groups?sort=lag&dir=desc").await;
    assert_eq!(by_lag["rows"][0]["name"], "slow");

    // Pages and metrics show the same.
    let page = app.html("/clusters/it/groups").await;
    assert!(page.contains(r#"data-group="slow""#) && page.contains("health STOP"), "{page}");
    let detail = app.html("/clusters/it/groups/slow").await;
    assert!(detail.contains(r#"data-topic="work" data-partition="1""#));
    assert!(detail.contains(r#"<td class="num lag">6</td>"#));
    let topic = app.html("/clusters/it/topics/work").await;
    assert!(topic.contains(r#"data-group="slow""#) && topic.contains(r#"data-group="steady""#));
    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert!(
        metrics.contains(
            r#"kafka_consumergroup_lag{cluster="it",group="slow",topic="work",partition="0"} 6"#
        ),
        "{metrics}"
    );
    assert!(metrics.contains(r#"kafka_consumergroup_status{cluster="it",group="slow"} 5"#));

    // The consumer resumes and catches up: lag falls to zero and the status is OK again.
    consume_and_commit(&bootstrap, "slow", "work", 2, 10);
    eventually(Duration::from_secs(30), "the slow group caught up", || async {
        let detail = group_json(&app, "slow").await?;
        (detail["group"]["lag"] == 0 && detail["group"]["status"] == "OK").then_some(())
    })
    .await;

    // Offsets reset backwards: REWIND.
    commit(&bootstrap, "steady", &[("work", 0, 2), ("work", 1, 2)]);
    eventually(Duration::from_secs(30), "REWIND after a reset", || async {
        (group_json(&app, "steady").await?["group"]["status"] == "REWIND").then_some(())
    })
    .await;

    // History reaches the store: the group chart has points.
    eventually(Duration::from_secs(20), "group history", || async {
        let detail = group_json(&app, "slow").await?;
        (detail["history"].as_array()?.len() >= 2).then_some(())
    })
    .await;
    assert_eq!(app.get("/api/v1/clusters/it/groups/nobody").await.status(), 404);
    app.stop().await;
}

async fn lag_seconds_track_the_oldest_unconsumed_message(kind: BrokerKind) {
    let broker = Broker::start(kind).await;
    let bootstrap = broker.bootstrap();
    create_topics(&bootstrap, &[("timed", 1)]).await;
    // The group has consumed nothing: its oldest unconsumed message is the first one produced.
    commit(&bootstrap, "late", &[("timed", 0, 0)]);
    let app = TestApp::spawn(lag_config(&broker)).await;
    eventually(Duration::from_secs(30), "the group listed", || async {
        group_json(&app, "late").await
    })
    .await;

    let first_sent = osprey::clock::now_millis();
    let producer = producer(&bootstrap);
    for i in 0..30 {
        let payload = format!("tick {i}");
        producer
            .send(
                rdkafka::producer::FutureRecord::<str, str>::to("timed")
                    .partition(0)
                    .payload(&payload),
                Duration::from_secs(10),
            )
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let detail = eventually(Duration::from_secs(30), "lag of all 30 messages", || async {
        let detail = group_json(&app, "late").await?;
        (detail["group"]["lag"] == 30).then_some(detail)
    })
    .await;
    let measured = detail["group"]["lag_seconds"].as_f64().expect("lag seconds");
    let polled_at = detail["cluster"]["data_at"].as_i64().unwrap();
    let true_age = (polled_at - first_sent) as f64 / 1000.0;
    // Within one poll interval (1 s) of the truth.
    assert!((measured - true_age).abs() <= 1.0, "lag {measured} s, true age {true_age} s");
    app.stop().await;
}

/// A live member (subscribed, never committing) shows with its client id and assignment, owns
/// its partitions, and its stuck offsets make the group STALL rather than STOP. noida only:
/// tansu's DescribeGroups carries no member details.
#[tokio::test(flavor = "multi_thread")]
async fn a_live_member_that_does_not_commit_stalls() {
    let broker = Broker::start(BrokerKind::Noida).await;
    let bootstrap = broker.bootstrap();
    create_topics(&bootstrap, &[("work", 2)]).await;
    for partition in 0..2 {
        produce_one_by_one(&bootstrap, "work", partition, 10).await;
    }
    commit(&bootstrap, "live", &[("work", 0, 2), ("work", 1, 2)]);
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let member = {
        let (bootstrap, stop) = (bootstrap.clone(), stop.clone());
        std::thread::spawn(move || {
            let consumer: BaseConsumer = ClientConfig::new()
                .set("bootstrap.servers", &bootstrap)
                .set("group.id", "live")
                .set("client.id", "it-member")
                .set("enable.auto.commit", "false")
                .create()
                .unwrap();
            consumer.subscribe(&["work"]).unwrap();
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let _ = consumer.poll(Duration::from_millis(100));
            }
        })
    };
    let app = TestApp::spawn(lag_config(&broker)).await;
    let detail = eventually(Duration::from_secs(40), "the member with its assignment", || async {
        let detail = group_json(&app, "live").await?;
        let members = detail["members"].as_array()?;
        (members.len() == 1 && members[0]["assignment"].as_array()?.len() == 1).then_some(detail)
    })
    .await;
    let member_json = &detail["members"][0];
    assert_eq!(member_json["client_id"], "it-member");
    assert_eq!(member_json["assignment"][0][0], "work");
    assert_eq!(member_json["assignment"][0][1].as_array().unwrap().len(), 2);
    assert_eq!(detail["group"]["state"], "Stable");
    assert_eq!(detail["group"]["members"], 1);
    let owner = detail["group"]["topics"][0]["partitions"][0]["owner"].as_str().unwrap();
    assert!(owner.starts_with("it-member"), "{owner}");
    eventually(Duration::from_secs(30), "STALL for a member that does not move", || async {
        (group_json(&app, "live").await?["group"]["status"] == "STALL").then_some(())
    })
    .await;
    let page = app.html("/clusters/it/groups/live").await;
    assert!(page.contains(r#"id="members""#) && page.contains("it-member"));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    member.join().unwrap();
    app.stop().await;
}
