//! RocketMQ demo traffic for `scripts/demo.sh`: topic `trades` (4 queues) gets 20 messages/s
//! with tags and keys; group `settlement` keeps up; group `reporting` consumes for 20 s and then
//! stops, so its lag (in messages and exact seconds) grows and it turns STOP once the lag window
//! has passed.
//!
//! `cargo run --release --example demo_rocketmq -- 127.0.0.1:19876 127.0.0.1:20911`

use std::time::Duration;

use osprey::brokers::rocketmq::message::Outgoing;
use osprey::brokers::rocketmq::{RocketAdapter, RocketSettings};
use osprey::clock::now_millis;

const TOPIC: &str = "trades";
const QUEUES: i32 = 4;

fn adapter(namesrv: &str) -> RocketAdapter {
    RocketAdapter::new(RocketSettings {
        namesrv_addrs: vec![namesrv.to_owned()],
        proxy_addrs: Vec::new(),
        timeout: Duration::from_secs(5),
        credentials: None,
    })
}

/// Pulls and commits every queue of `TOPIC` once a second as `group`, for `run_for` (or for ever).
async fn consume(namesrv: String, broker: String, group: &'static str, run_for: Option<Duration>) {
    let client = adapter(&namesrv);
    let started = tokio::time::Instant::now();
    let mut offsets = [0i64; QUEUES as usize];
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tick.tick().await;
        if run_for.is_some_and(|limit| started.elapsed() > limit) {
            eprintln!("{group}: stopped consuming");
            return;
        }
        let client_id = format!("127.0.0.1@{group}-1");
        if let Err(e) = client.heartbeat(&broker, &client_id, group, TOPIC, now_millis()).await {
            eprintln!("{group}: heartbeat: {e}");
        }
        for (queue, offset) in (0..QUEUES).zip(offsets.iter_mut()) {
            match client.pull(&broker, group, TOPIC, queue, *offset, 64).await {
                Ok(messages) => {
                    if let Some(last) = messages.last() {
                        *offset = last.queue_offset + 1;
                        let committed =
                            client.commit_offset(&broker, group, TOPIC, queue, *offset).await;
                        if let Err(e) = committed {
                            eprintln!("{group}: commit: {e}");
                        }
                    }
                }
                Err(e) => eprintln!("{group}: pull: {e}"),
            }
        }
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let namesrv = args.next().unwrap_or_else(|| "127.0.0.1:19876".into());
    let broker = args.next().unwrap_or_else(|| "127.0.0.1:20911".into());
    let producer = adapter(&namesrv);
    producer.create_topic(&broker, TOPIC, QUEUES).await?;
    for group in ["settlement", "reporting"] {
        producer.create_group(&broker, group).await?;
    }
    // The broker registers the new topic with the name server within a few seconds.
    for _ in 0..60 {
        if producer.writable_queues(TOPIC).await.is_ok_and(|q| !q.is_empty()) {
            break;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    tokio::spawn(consume(namesrv.clone(), broker.clone(), "settlement", None));
    tokio::spawn(consume(
        namesrv.clone(),
        broker.clone(),
        "reporting",
        Some(Duration::from_secs(20)),
    ));
    let mut tick = tokio::time::interval(Duration::from_millis(50));
    for i in 0u64.. {
        tick.tick().await;
        let message = Outgoing {
            topic: TOPIC.into(),
            tag: Some(if i % 3 == 0 { "sell" } else { "buy" }.into()),
            keys: vec![format!("trade-{i}")],
            body: format!(r#"{{"trade":{i},"qty":{}}}"#, i % 100 + 1).into_bytes(),
            properties: Default::default(),
        };
        if let Err(e) = producer.send(&message, None, now_millis()).await {
            eprintln!("send: {e}");
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }
    Ok(())
}
