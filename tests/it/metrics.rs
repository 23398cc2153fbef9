//! Broker metrics against real sources: messages/s from offsets while a producer sends at a
//! known rate, JMX over Jolokia from a real JVM (ZooKeeper with the test agent), Prometheus text
//! from RabbitMQ's prometheus plugin; malformed and oversized answers refused with clear errors.

use std::collections::BTreeMap;
use std::time::Duration;

use osprey::brokers::ClusterAdapter;
use osprey::brokers::ClusterClient;
use osprey::brokers::scrape::Scraper;
use osprey::domain::metrics::{ClusterMetrics, Metric, Source};
use rdkafka::producer::FutureRecord;

use crate::helpers::*;

/// Sends `count` messages at a steady 100 msg/s (one every 10 ms; a late tick is made up at
/// once), round-robin over `partitions`.
fn produce_steadily(
    bootstrap: &str,
    topic: &'static str,
    partitions: u32,
    count: u32,
) -> tokio::task::JoinHandle<()> {
    let producer = producer(bootstrap);
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(Duration::from_millis(10));
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
        for i in 0..count {
            ticker.tick().await;
            let payload = i.to_string();
            let partition = i32::try_from(i % partitions).unwrap();
            let record = FutureRecord::<str, str>::to(topic).partition(partition).payload(&payload);
            producer.send(record, Duration::from_secs(5)).await.expect("delivered");
        }
    })
}

fn jolokia(url: &str) -> Scraper {
    Scraper::new(BTreeMap::new(), [(1, url.to_owned())].into(), Duration::from_secs(5), 16 << 20)
        .unwrap()
}

fn prometheus(url: &str, max_body: usize) -> Scraper {
    Scraper::new([(0, url.to_owned())].into(), BTreeMap::new(), Duration::from_secs(5), max_body)
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn messages_per_second_from_offsets_match_a_producer_at_a_known_rate() {
    const RATE: f64 = 100.0;
    let broker = Broker::start(BrokerKind::Noida).await;
    create_topics(&broker.bootstrap(), &[("metered", 2)]).await;
    let ClusterClient::Kafka { poll: adapter, .. } =
        ClusterClient::connect(&kafka_cluster("metered", &broker.bootstrap())).unwrap()
    else {
        unreachable!("a Kafka cluster has Kafka clients")
    };
    let sending = produce_steadily(&broker.bootstrap(), "metered", 2, 900);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let first = adapter.snapshot(osprey::clock::now_millis()).await.unwrap();
    tokio::time::sleep(Duration::from_secs(5)).await;
    let second = adapter.snapshot(osprey::clock::now_millis()).await.unwrap();
    sending.await.unwrap();
    let metrics = ClusterMetrics::assemble(&second, Some(&first), Vec::new());
    let measured = metrics.cluster_value(Metric::MessagesInPerSec).expect("a rate from offsets");
    assert!((measured - RATE).abs() <= RATE * 0.10, "{measured:.1} msg/s, sent {RATE}");
    let leader = &metrics.brokers[0];
    assert_eq!(leader.sources, [Source::Offsets]);
    let topic = leader.topics["metered"][&Metric::MessagesInPerSec];
    assert!((topic - RATE).abs() <= RATE * 0.10, "{topic:.1} msg/s on the topic");
}

#[tokio::test(flavor = "multi_thread")]
async fn jolokia_reads_a_real_jvm_through_the_same_client() {
    let url = peer("OSPREY_TEST_JOLOKIA_URL");
    let mut scraper = jolokia(&url);
    let first = scraper.scrape(osprey::clock::now_millis()).await;
    let jvm = &first[0];
    assert_eq!((jvm.broker, jvm.error.as_deref()), (1, None), "{jvm:?}");
    assert_eq!(jvm.sources, [Source::Jolokia]);
    let heap = jvm.values[&Metric::HeapUsedBytes];
    let max = jvm.values[&Metric::HeapMaxBytes];
    assert!(heap > 0.0 && heap <= max && max <= 64.0 * 1024.0 * 1024.0, "{heap} of {max}");
    assert!(!jvm.values.contains_key(&Metric::BytesInPerSec), "ZooKeeper has no Kafka MBeans");
    // Counters (GC) become rates from the second reading on.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let second = scraper.scrape(osprey::clock::now_millis()).await;
    assert!(second[0].values.get(&Metric::GcPerSec).is_some_and(|v| *v >= 0.0), "{:?}", second[0]);
    // An address where nothing answers is an error of that broker only.
    let mut nothing = jolokia(&format!("http://127.0.0.1:{}/jolokia/", free_port()));
    let failed = nothing.scrape(0).await;
    assert!(failed[0].error.as_deref().is_some_and(|e| e.contains("127.0.0.1")), "{failed:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn rabbitmq_prometheus_plugin_text_is_scraped_into_the_metric_model() {
    let url = peer("OSPREY_TEST_RABBITMQ_PROMETHEUS");
    let mut scraper = prometheus(&url, 16 << 20);
    let first = scraper.scrape(osprey::clock::now_millis()).await;
    let node = &first[0];
    assert_eq!(node.error, None, "{node:?}");
    assert!(node.values[&Metric::HeapUsedBytes] > 0.0, "{node:?}");
    assert!(node.values[&Metric::HeapMaxBytes] > node.values[&Metric::HeapUsedBytes]);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let second = scraper.scrape(osprey::clock::now_millis()).await;
    assert!(
        second[0].values.get(&Metric::MessagesInPerSec).is_some_and(|v| *v >= 0.0),
        "{:?}",
        second[0]
    );
}

/// Serves `body` as text to every request, on a free port.
async fn serve(body: Vec<u8>) -> String {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", free_port())).await.unwrap();
    let url = format!("http://{}/metrics", listener.local_addr().unwrap());
    let body = std::sync::Arc::new(body);
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        while let Ok((mut socket, _)) = listener.accept().await {
            let body = body.clone();
            tokio::spawn(async move {
                let mut request = [0u8; 4096];
                let _ = socket.read(&mut request).await;
                let head = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                    body.len()
                );
                let _ = socket.write_all(head.as_bytes()).await;
                let _ = socket.write_all(&body).await;
            });
        }
    });
    url
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_and_oversized_expositions_are_refused_with_a_clear_error() {
    let garbage = serve(b"kafka_server_x 1\nthis is { not prometheus\n".to_vec()).await;
    let result = prometheus(&garbage, 1 << 20).scrape(0).await;
    let error = result[0].error.clone().unwrap();
    assert!(error.contains("not Prometheus text") && error.contains("line 2"), "{error}");

    // 8 MiB of valid-looking text against a 1 MiB cap: refused, not read whole.
    let huge =
        serve("kafka_server_brokertopicmetrics_bytesin_total 1\n".repeat(180_000).into_bytes())
            .await;
    let result = prometheus(&huge, 1 << 20).scrape(0).await;
    let error = result[0].error.clone().unwrap();
    assert!(error.contains("larger than 1048576 bytes"), "{error}");
    assert!(result[0].values.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn the_metrics_pages_and_api_show_offsets_and_jolokia_values_with_history() {
    let broker = Broker::start(BrokerKind::Noida).await;
    create_topics(&broker.bootstrap(), &[("busy", 1)]).await;
    let mut cluster = kafka_cluster("k", &broker.bootstrap());
    // noida's node id is 1; the real JVM behind Jolokia stands in for its JMX.
    cluster.jolokia_urls = [("1".to_owned(), peer("OSPREY_TEST_JOLOKIA_URL"))].into();
    let app = TestApp::with_clusters(vec![cluster]).await;
    let producing = produce_steadily(&broker.bootstrap(), "busy", 1, 1000);
    let metrics = eventually(Duration::from_secs(30), "messages in/s and heap", || async {
        let metrics = app.json("/api/v1/clusters/k/metrics").await;
        let values = &metrics["values"];
        (values["messages_in_per_sec"].as_f64()? > 0.0 && values["heap_used_bytes"].as_f64()? > 0.0)
            .then_some(metrics)
    })
    .await;
    producing.await.unwrap();
    let sources = metrics["brokers"][0]["sources"].as_array().unwrap();
    assert!(
        sources.contains(&"jolokia".into()) && sources.contains(&"offsets".into()),
        "{metrics}"
    );
    assert_eq!(metrics["top_topics"][0]["topic"], "busy", "{metrics}");

    let page = app.html("/clusters/k/metrics").await;
    assert!(
        page.contains("id=\"broker-metrics\"") && page.contains("data-metric=\"heap_used_bytes\""),
        "{page}"
    );
    assert!(page.contains("data-topic=\"busy\""), "{page}");
    let broker_page = app.html("/clusters/k/brokers/1").await;
    assert!(broker_page.contains("id=\"metric-values\""), "{broker_page}");
    // History: the broker's metrics reach the store every poll and chart.
    let history = eventually(Duration::from_secs(20), "metric history", || async {
        let detail = app.json("/api/v1/clusters/k/brokers/1/metrics").await;
        let points = detail["history"]["heap_used_bytes"].as_array()?.len();
        (points >= 2).then_some(detail)
    })
    .await;
    assert!(history["history"]["messages_in_per_sec"].as_array().is_some_and(|p| !p.is_empty()));
    let charted = app.html("/clusters/k/brokers/1").await;
    assert!(charted.contains("data-series=") && charted.contains("Heap used"), "{charted}");
    // /metrics exports them too, in text Osprey's own exposition parser reads back.
    let exposition = app.html("/metrics").await;
    assert!(
        exposition.contains(
            "osprey_broker_metric{cluster=\"k\",broker=\"1\",metric=\"heap_used_bytes\"}"
        ),
        "{exposition}"
    );
    assert!(exposition.contains(
        "osprey_topic_metric{cluster=\"k\",topic=\"busy\",metric=\"messages_in_per_sec\"}"
    ));
    let samples =
        osprey::brokers::scrape::prometheus::parse(&exposition, Default::default()).unwrap();
    assert!(
        samples
            .iter()
            .any(|s| s.name == "osprey_cluster_metric"
                && s.label("metric") == Some("heap_max_bytes"))
    );
    // Log sizes from DescribeLogDirs: per broker, per topic, and per partition on the topic page.
    let sized = eventually(Duration::from_secs(20), "log sizes", || async {
        let metrics = app.json("/api/v1/clusters/k/brokers/1/metrics").await;
        (metrics["values"]["log_size_bytes"].as_f64()? > 0.0).then_some(metrics)
    })
    .await;
    assert!(
        sized["brokers"][0]["topics"]["busy"]["log_size_bytes"].as_f64().unwrap() > 0.0,
        "{sized}"
    );
    let topic_page = app.html("/clusters/k/topics/busy").await;
    assert!(topic_page.contains("class=\"num log-size\""), "{topic_page}");
    let missing = app.get("/api/v1/clusters/k/brokers/99/metrics").await;
    assert_eq!(missing.status(), 404);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_broker_metric_rule_fires_on_a_jolokia_value() {
    let broker = Broker::start(BrokerKind::Noida).await;
    let hook = crate::alerts::Receiver::start().await;
    let rules = r#"
        [[alerts.rules]]
        name = "heap"
        kind = "broker_metric"
        metric = "heap_used_bytes"
        threshold = 1000
        channels = ["hook"]
        "#;
    let toml = format!("{}{rules}", crate::alerts::hook_channel("hook", &hook.url));
    let mut cluster = kafka_cluster("k", &broker.bootstrap());
    cluster.jolokia_urls = [("1".to_owned(), peer("OSPREY_TEST_JOLOKIA_URL"))].into();
    let app = TestApp::from_toml(&toml, vec![cluster]).await;
    let firing = eventually(Duration::from_secs(30), "the firing webhook", || async {
        hook.bodies().first().cloned()
    })
    .await;
    assert_eq!((firing["status"].as_str(), firing["broker"].as_i64()), (Some("firing"), Some(1)));
    assert_eq!(firing["metric"], "heap_used_bytes");
    assert!(firing["value"].as_f64().unwrap() > 1000.0, "{firing}");
    let rules = app.html("/alerts/rules").await;
    assert!(
        rules.contains("heap_used_bytes &#62; 1,000") || rules.contains("heap_used_bytes > 1,000"),
        "{rules}"
    );
    app.stop().await;
}
