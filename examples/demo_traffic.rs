//! Steady demo traffic for `scripts/demo.sh`: creates a few topics on a broker and keeps
//! producing to them at different rates until stopped.
//!
//! `cargo run --release --example demo_traffic -- 127.0.0.1:19092`

use std::time::Duration;

use rdkafka::ClientConfig;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
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
