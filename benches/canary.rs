//! The RabbitMQ canary's latency (issue 20): Osprey's AMQP probe timing a marker to the publisher
//! confirm and to its delivery, against pika timing the same path on the same node in the same
//! run (benches/amqp_round_trip.py), and against the management API's publish and `get` that
//! the canary used before it spoke AMQP.
//!
//! Run through `scripts/bench.sh canary` (it starts an isolated RabbitMQ node).

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use osprey::brokers::canary::CanaryProbe;
use osprey::brokers::rabbitmq::RabbitAdapter;
use osprey::brokers::rabbitmq::canary::RabbitCanary;
use osprey::config::{CanaryConfig, ClusterConfig, Connection};
use osprey::secret::Secret;
use serde_json::json;

const ROUNDS: usize = 300;
const TIMEOUT: Duration = Duration::from_secs(2);

/// p50, p99 and the largest of `samples`, nearest rank.
fn summary(mut samples: Vec<f64>) -> String {
    samples.sort_by(f64::total_cmp);
    let rank =
        |q: f64| samples[((q * samples.len() as f64).ceil() as usize).clamp(1, samples.len()) - 1];
    format!("p50 {:6.2} ms  p99 {:6.2} ms  max {:6.2} ms", rank(0.5), rank(0.99), rank(1.0))
}

fn report(what: &str, produce: Vec<f64>, end_to_end: Vec<f64>) {
    println!("{what}");
    println!("  produce    {}", summary(produce));
    println!("  end-to-end {}", summary(end_to_end));
}

async fn osprey_canary(management: &str, amqp: &str) {
    let mut cluster = ClusterConfig::rabbitmq("bench", management, "guest", Secret::new("guest"));
    if let Connection::Rabbitmq(rabbit) = &mut cluster.connection {
        rabbit.amqp_url = Some(amqp.into());
    }
    cluster.canary = CanaryConfig {
        enabled: true,
        topic: Some("osprey.bench.canary".into()),
        ..CanaryConfig::default()
    };
    let Connection::Rabbitmq(rabbit) = &cluster.connection else { unreachable!() };
    let adapter = Arc::new(RabbitAdapter::from_cluster(&cluster, rabbit).unwrap());
    let probe = RabbitCanary::new(&cluster, adapter, "benchtoken".into()).unwrap();
    // The first rounds declare the queue and open the session.
    for _ in 0..3 {
        probe.round(0, TIMEOUT).await.unwrap();
    }
    let (mut produce, mut end_to_end) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        let markers = probe.round(0, TIMEOUT).await.unwrap();
        let marker = &markers[0];
        assert!(marker.error.is_none() && !marker.lost(), "{marker:?}");
        produce.push(marker.produce_ms.unwrap());
        end_to_end.push(marker.end_to_end_ms.unwrap());
    }
    report("Osprey's canary (AMQP: confirm, then delivery to its consumer)", produce, end_to_end);
}

fn pika(amqp: &str) {
    let url = format!("amqp://guest:guest@{}/%2F", amqp.trim_start_matches("amqp://"));
    let output = std::process::Command::new(env("OSPREY_BENCH_PYTHON"))
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/benches/amqp_round_trip.py"))
        .args(["--url", &url, "--queue", "osprey.bench.pika", "--rounds", &ROUNDS.to_string()])
        .output()
        .expect("run benches/amqp_round_trip.py");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let figures: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let column = |key: &str| -> Vec<f64> {
        figures[key].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect()
    };
    report("pika (same path, same node)", column("produce_ms"), column("end_to_end_ms"));
}

/// A management API POST as guest; its JSON answer.
async fn post(http: &reqwest::Client, url: String, body: serde_json::Value) -> serde_json::Value {
    let request = http.post(url).basic_auth("guest", Some("guest")).json(&body);
    request.send().await.unwrap().json().await.unwrap()
}

/// The management API's publish, then `get` (acknowledged) asked again until the marker is back.
async fn management_api(management: &str) {
    let http = reqwest::Client::new();
    let queue = "osprey.bench.http";
    let put = http.put(format!("{management}/api/queues/%2F/{queue}"));
    put.basic_auth("guest", Some("guest")).json(&json!({"durable": true})).send().await.unwrap();
    let (publish, get) = (
        format!("{management}/api/exchanges/%2F/amq.default/publish"),
        format!("{management}/api/queues/%2F/{queue}/get"),
    );
    let (mut produce, mut end_to_end) = (Vec::new(), Vec::new());
    for round in 0..ROUNDS {
        let payload = format!("marker {round}");
        let started = Instant::now();
        let message = json!({"properties": {}, "routing_key": queue, "payload": payload, "payload_encoding": "string"});
        let routed = post(&http, publish.clone(), message).await;
        assert_eq!(routed["routed"], true);
        produce.push(started.elapsed().as_secs_f64() * 1000.0);
        let take = json!({"count": 10, "ackmode": "ack_requeue_false", "encoding": "auto"});
        loop {
            let taken = post(&http, get.clone(), take.clone()).await;
            if taken.as_array().unwrap().iter().any(|m| m["payload"] == payload.as_str()) {
                break;
            }
        }
        end_to_end.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    report("the management API (publish, then get until back; no pause)", produce, end_to_end);
}

#[tokio::main]
async fn main() {
    let management = env("OSPREY_TEST_RABBITMQ_HTTP");
    let amqp = format!("amqp://{}", env("OSPREY_TEST_RABBITMQ_AMQP_ADDR"));
    println!("{ROUNDS} markers one after another, each path on its own queue\n");
    osprey_canary(&management, &amqp).await;
    pika(&amqp);
    management_api(&management).await;
}
