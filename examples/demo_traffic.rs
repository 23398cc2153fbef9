//! Steady demo traffic for `scripts/demo.sh`: creates a few topics on a broker, keeps producing to
//! them at different rates, and runs three consumer groups until stopped — `analytics` keeps up
//! with `clicks`, `billing` reads `orders` slower than they arrive (its lag grows: WARN), and
//! `audit-archiver` reads `audit.log` for 20 s and leaves (STOP once the lag window has passed).
//!
//! `cargo run --release --example demo_traffic -- 127.0.0.1:19092`

use std::time::Duration;

use rdkafka::ClientConfig;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::producer::{FutureProducer, FutureRecord};

/// (topic, partitions, messages per second)
const TOPICS: &[(&str, i32, u32)] = &[
    ("orders", 6, 40),
    ("payments", 3, 12),
    ("clicks", 12, 150),
    ("audit.log", 1, 2),
    ("inventory.updates", 4, 0),
];

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let bootstrap = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:19092".into());
    let admin: AdminClient<DefaultClientContext> =
        ClientConfig::new().set("bootstrap.servers", &bootstrap).create()?;
    let new: Vec<NewTopic<'_>> = TOPICS
        .iter()
        .map(|(name, parts, _)| NewTopic::new(name, *parts, TopicReplication::Fixed(1)))
        .collect();
    for result in admin.create_topics(&new, &AdminOptions::new()).await? {
        if let Err((topic, error)) = result {
            eprintln!("topic {topic}: {error}");
        }
    }
    let producer: FutureProducer =
        ClientConfig::new().set("bootstrap.servers", &bootstrap).set("linger.ms", "20").create()?;
    spawn_consumer(&bootstrap, "analytics", "clicks", Pace::KeepUp);
    spawn_consumer(&bootstrap, "billing", "orders", Pace::PerSecond(30));
    spawn_consumer(
        &bootstrap,
        "audit-archiver",
        "audit.log",
        Pace::StopAfter(Duration::from_secs(20)),
    );
    eprintln!("producing demo traffic to {bootstrap}; Ctrl-C stops");
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    let mut sequence: u64 = 0;
    let mut ticks: u64 = 0;
    // Fractional messages carried from tick to tick, so slow topics still get theirs.
    let mut credit = vec![0.0f64; TOPICS.len()];
    loop {
        tick.tick().await;
        for ((topic, _, per_second), credit) in TOPICS.iter().zip(credit.iter_mut()) {
            // A rate that drifts over a few minutes, so the charts have a shape.
            let wave = 1.0 + 0.5 * ((ticks as f64) / 600.0).sin();
            *credit += f64::from(*per_second) * wave / 10.0;
            let count = credit.floor();
            *credit -= count;
            for _ in 0..count as u64 {
                sequence += 1;
                let key = format!("key-{}", sequence % 97);
                let payload = format!("{{\"seq\":{sequence},\"topic\":\"{topic}\"}}");
                let record = FutureRecord::to(topic).key(&key).payload(&payload);
                // Queue without waiting for each delivery, so rates hold at any broker latency.
                if let Err((error, _)) = producer.send_result(record) {
                    eprintln!("send to {topic} failed: {error}");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
        ticks += 1;
    }
}

/// How fast a demo consumer reads.
#[derive(Clone, Copy)]
enum Pace {
    /// As fast as messages come.
    KeepUp,
    /// At most this many messages a second.
    PerSecond(u32),
    /// Reads for this long, commits, then leaves the group.
    StopAfter(Duration),
}

/// A consumer in its own thread that reads `topic` for `group` at `pace` and commits every second.
fn spawn_consumer(bootstrap: &str, group: &str, topic: &str, pace: Pace) {
    let consumer: BaseConsumer = match ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", group)
        .set("client.id", format!("demo-{group}"))
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        .create()
    {
        Ok(consumer) => consumer,
        Err(e) => return eprintln!("consumer {group}: {e}"),
    };
    if let Err(e) = consumer.subscribe(&[topic]) {
        return eprintln!("consumer {group}: {e}");
    }
    let group = group.to_owned();
    std::thread::spawn(move || {
        let started = std::time::Instant::now();
        let mut second = std::time::Instant::now();
        let mut read_this_second = 0;
        loop {
            let may_read = match pace {
                Pace::KeepUp | Pace::StopAfter(_) => true,
                Pace::PerSecond(limit) => read_this_second < limit,
            };
            if may_read {
                if let Some(Ok(_)) = consumer.poll(Duration::from_millis(100)) {
                    read_this_second += 1;
                }
            } else {
                // Polling would read (and so consume) messages; librdkafka keeps the group
                // membership alive by itself meanwhile.
                std::thread::sleep(Duration::from_secs(1).saturating_sub(second.elapsed()));
            }
            if second.elapsed() >= Duration::from_secs(1) {
                // Nothing read yet means nothing to commit: not worth a message.
                let _ = consumer.commit_consumer_state(CommitMode::Sync);
                second = std::time::Instant::now();
                read_this_second = 0;
            }
            if let Pace::StopAfter(after) = pace
                && started.elapsed() >= after
            {
                let _ = consumer.commit_consumer_state(CommitMode::Sync);
                eprintln!("consumer {group} stops, as the demo wants");
                return;
            }
        }
    });
}
