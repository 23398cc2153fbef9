//! RabbitMQ scale benchmark (issue 6): 5,000 queues on one node. Measures Osprey's poll (the
//! paged, column-limited queue listing plus overview and nodes) and its Queues page, and in the
//! same run the management API's own full `/api/queues` listing, which the management UI uses.
//!
//! Run through `scripts/bench.sh rabbit` (it starts an isolated RabbitMQ node).

mod common;

use std::time::{Duration, Instant};

use common::*;
use futures::StreamExt;
use osprey::brokers::rabbitmq::{RabbitAdapter, RabbitSettings};
use serde_json::json;

const QUEUES: usize = 5_000;

fn ms(since: Instant) -> f64 {
    since.elapsed().as_secs_f64() * 1000.0
}

#[tokio::main]
async fn main() {
    let base = env("OSPREY_TEST_RABBITMQ_HTTP");
    let http = reqwest::Client::new();
    let vhost = "bench";
    http.put(format!("{base}/api/vhosts/{vhost}"))
        .basic_auth("guest", Some("guest"))
        .send()
        .await
        .unwrap();
    http.put(format!("{base}/api/permissions/{vhost}/guest"))
        .basic_auth("guest", Some("guest"))
        .json(&json!({"configure": ".*", "write": ".*", "read": ".*"}))
        .send()
        .await
        .unwrap();
    let started = Instant::now();
    futures::stream::iter(0..QUEUES)
        .map(|i| {
            let (http, base) = (http.clone(), base.clone());
            async move {
                let name = format!("q-{i:05}");
                http.put(format!("{base}/api/queues/{vhost}/{name}"))
                    .basic_auth("guest", Some("guest"))
                    .json(&json!({"durable": false}))
                    .send()
                    .await
                    .unwrap();
                if i % 10 == 0 {
                    http.post(format!("{base}/api/exchanges/{vhost}/amq.default/publish"))
                        .basic_auth("guest", Some("guest"))
                        .json(&json!({"properties": {}, "routing_key": name, "payload": "x", "payload_encoding": "string"}))
                        .send()
                        .await
                        .unwrap();
                }
            }
        })
        .buffer_unordered(16)
        .collect::<Vec<_>>()
        .await;
    println!("created {QUEUES} queues in {:.1} s", started.elapsed().as_secs_f64());
    tokio::time::sleep(Duration::from_secs(6)).await; // the management API's counters trail

    let adapter = RabbitAdapter::new(RabbitSettings {
        management_url: base.clone(),
        username: "guest".into(),
        password: "guest".into(),
        timeout: Duration::from_secs(60),
        tls_ca_file: None,
    })
    .unwrap();
    let mut polls = Vec::new();
    let mut seen = 0;
    for _ in 0..5 {
        let started = Instant::now();
        let snapshot = adapter.snapshot(0).await.unwrap();
        polls.push(ms(started));
        seen = snapshot.queues.len();
    }
    println!("Osprey poll ({seen} queues, paged 500, 13 columns): {}", stats(polls));

    // 0: one request for every queue, still with only the columns Osprey reads.
    for page_size in [100, 500, 0] {
        let mut times = Vec::new();
        for _ in 0..5 {
            let started = Instant::now();
            adapter.queues_in_pages_of(page_size).await.unwrap();
            times.push(ms(started));
        }
        let how = if page_size == 0 {
            "one request".to_string()
        } else {
            format!("pages of {page_size}")
        };
        println!("queue listing alone, {how}: {}", stats(times));
    }

    let mut full = Vec::new();
    let mut bytes = 0;
    for _ in 0..5 {
        let started = Instant::now();
        let body = http
            .get(format!("{base}/api/queues"))
            .basic_auth("guest", Some("guest"))
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        full.push(ms(started));
        bytes = body.len();
    }
    println!(
        "management API /api/queues, all columns ({:.1} MB): {}",
        bytes as f64 / 1e6,
        stats(full)
    );

    // The Queues page of a running Osprey polling this node.
    let dir = tempfile::tempdir().unwrap();
    let mut config = osprey::config::Config::default();
    config.database.url =
        osprey::secret::Secret::new(format!("sqlite://{}/o.db", dir.path().display()));
    config.auth.anonymous_read = true;
    let mut cluster = cluster("rabbit", "");
    let password = osprey::secret::Secret::new("guest");
    cluster.connection =
        osprey::config::ClusterConfig::rabbitmq("rabbit", &base, "guest", password).connection;
    cluster.poll_interval = Duration::from_secs(30);
    cluster.poll_timeout = Duration::from_secs(30);
    config.clusters = vec![cluster];
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let running = osprey::app::start(config, listener).await.unwrap();
    let app = format!("http://{}", running.addr);
    let client = reqwest::Client::new();
    loop {
        let response =
            client.get(format!("{app}/api/v1/clusters/rabbit/queues")).send().await.unwrap();
        if response.status().is_success() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let mut pages = Vec::new();
    for _ in 0..10 {
        pages.push(
            get_ms(&client, &format!("{app}/clusters/rabbit/queues?sort=backlog&dir=desc")).await,
        );
    }
    println!("Queues page, first page of {QUEUES} sorted by backlog: {}", stats(pages));
    let mut searches = Vec::new();
    for _ in 0..10 {
        searches.push(get_ms(&client, &format!("{app}/clusters/rabbit/queues?q=q-049")).await);
    }
    println!("Queues page, name search: {}", stats(searches));
    running.stop().await.unwrap();
    http.delete(format!("{base}/api/vhosts/{vhost}"))
        .basic_auth("guest", Some("guest"))
        .send()
        .await
        .unwrap();
}
