//! JMX on the real brokers, through the Jolokia agent and through the Prometheus JMX exporter
//! agent on every node: each metric the Metrics page lists has a value, messages in per second
//! matches a producer at a known rate, and the controller metrics come from the active
//! controller.

use std::collections::BTreeMap;
use std::time::Duration;

use osprey::brokers::scrape::Scraper;
use osprey::domain::metrics::{BrokerMetrics, Metric};
use rdkafka::admin::{AdminOptions, NewTopic, TopicReplication};
use rdkafka::producer::FutureRecord;
use serde_json::Value;

use super::{bootstrap, quorum_leader_by_the_kafka_tool};
use crate::helpers::*;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Agent {
    Jolokia,
    Exporter,
}

impl Agent {
    /// Broker id → the agent's URL on that node, as an operator configures them.
    fn urls(self) -> BTreeMap<String, String> {
        let urls = match self {
            Agent::Jolokia => peer("OSPREY_TEST_KAFKA_JOLOKIA_URLS"),
            Agent::Exporter => peer("OSPREY_TEST_KAFKA_EXPORTER_URLS"),
        };
        urls.split(',').enumerate().map(|(i, url)| ((i + 1).to_string(), url.to_owned())).collect()
    }

    fn scraper(self) -> Scraper {
        let by_id = self.urls().into_iter().map(|(id, url)| (id.parse().unwrap(), url)).collect();
        let (prometheus, jolokia) = match self {
            Agent::Jolokia => (BTreeMap::new(), by_id),
            Agent::Exporter => (by_id, BTreeMap::new()),
        };
        Scraper::new(prometheus, jolokia, Duration::from_secs(5), 16 << 20).unwrap()
    }
}

/// Every metric a Kafka broker's JMX gives (messages out is RabbitMQ's; log sizes come from
/// DescribeLogDirs, not JMX).
fn jmx_metrics() -> impl Iterator<Item = Metric> {
    // Messages out and log size come from elsewhere; memory, store and temporary store use are
    // ActiveMQ's.
    Metric::ALL.into_iter().filter(|m| {
        !matches!(
            m,
            Metric::MessagesOutPerSec
                | Metric::LogSizeBytes
                | Metric::MemoryPercentUsage
                | Metric::StorePercentUsage
                | Metric::TempPercentUsage
        )
    })
}

async fn replicated_topic(prefix: &str) -> String {
    let topic = unique(prefix);
    let new = NewTopic::new(&topic, 3, TopicReplication::Fixed(3));
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(20)));
    for result in admin(&bootstrap()).create_topics([&new], &options).await.expect("created") {
        result.expect("topic created");
    }
    topic
}

/// Sends `count` messages at a steady `rate` per second, round-robin over three partitions,
/// without waiting for one delivery before the next send.
fn produce_steadily(topic: String, rate: u64, count: u64) -> tokio::task::JoinHandle<()> {
    // A topic just made with three replicas may take its leaders a while on a loaded machine:
    // deliveries wait up to a minute (the rate compared is the one the brokers really stored).
    let producer: rdkafka::producer::FutureProducer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", bootstrap())
        .set("linger.ms", "0")
        .set("message.timeout.ms", "60000")
        .create()
        .unwrap();
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(Duration::from_micros(1_000_000 / rate));
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut deliveries = Vec::new();
        for i in 0..count {
            ticker.tick().await;
            let payload = i.to_string();
            let partition = i32::try_from(i % 3).unwrap();
            let record =
                FutureRecord::<str, str>::to(&topic).partition(partition).payload(&payload);
            deliveries.push(producer.send_result(record).map_err(|(e, _)| e).expect("queued"));
        }
        for delivery in deliveries {
            delivery.await.expect("delivered").expect("stored");
        }
    })
}

/// Messages stored in `topic` so far: the sum of its partitions' end offsets.
async fn stored(consumer: &std::sync::Arc<rdkafka::consumer::BaseConsumer>, topic: &str) -> f64 {
    let (consumer, topic) = (std::sync::Arc::clone(consumer), topic.to_owned());
    tokio::task::spawn_blocking(move || {
        use rdkafka::consumer::Consumer;
        (0..3)
            .map(|p| consumer.fetch_watermarks(&topic, p, Duration::from_secs(5)).unwrap().1)
            .sum::<i64>() as f64
    })
    .await
    .unwrap()
}

fn topic_rate(brokers: &[BrokerMetrics], topic: &str) -> f64 {
    brokers
        .iter()
        .filter_map(|b| b.topics.get(topic).and_then(|t| t.get(&Metric::MessagesInPerSec)))
        .sum()
}

async fn messages_in_match_a_producer_and_the_controller_is_the_quorum_leader(agent: Agent) {
    const RATE: f64 = 100.0;
    let topic = replicated_topic("metered").await;
    let mut scraper = agent.scraper();
    let offsets = std::sync::Arc::new(
        rdkafka::ClientConfig::new().set("bootstrap.servers", bootstrap()).create().unwrap(),
    );
    let sending = produce_steadily(topic.clone(), RATE as u64, 1_100);
    // A first scrape walks every MBean cold and can take a second on a loaded machine, reading
    // its counters well after the instant it is stamped with: warm the agents up first.
    scraper.scrape(osprey::clock::now_millis()).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    // The end offsets and the agents are read together, stamped with the same instants.
    let t0 = osprey::clock::now_millis();
    let (before, first) = tokio::join!(stored(&offsets, &topic), scraper.scrape(t0));
    for broker in &first {
        assert_eq!(broker.error, None, "{agent:?} on broker {}: {broker:?}", broker.broker);
    }
    tokio::time::sleep(Duration::from_secs(6)).await;
    let t1 = osprey::clock::now_millis();
    let (after, second) = tokio::join!(stored(&offsets, &topic), scraper.scrape(t1));
    sending.await.unwrap();

    // The rate the brokers really stored at (a loaded machine may slow the producer below its
    // target), against what the agents measured over the same seconds.
    let stored_rate = (after - before) * 1000.0 / (t1 - t0) as f64;
    // Measured in CI: 14 msg/s while the browser walks ran beside it on 2 cores; still enough to
    // compare the agents' rate with.
    assert!(stored_rate > RATE / 10.0, "the producer hardly ran: {stored_rate:.1} msg/s");
    let measured = topic_rate(&second, &topic);
    assert!(
        (measured - stored_rate).abs() <= stored_rate * 0.10,
        "{agent:?}: {measured:.1} msg/s, stored {stored_rate:.1} msg/s (sent at {RATE})"
    );
    for broker in &second {
        for metric in jmx_metrics() {
            assert!(
                broker.values.contains_key(&metric),
                "{agent:?}: broker {} has no {metric:?}: {:?}",
                broker.broker,
                broker.values
            );
        }
    }
    // In KRaft the controller metrics are the controllers' own: only the active one counts 1.
    let active: Vec<i32> = second
        .iter()
        .filter(|b| b.values[&Metric::ActiveControllers] == 1.0)
        .map(|b| b.broker)
        .collect();
    assert_eq!(active, [i32::try_from(quorum_leader_by_the_kafka_tool()).unwrap()], "{agent:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn jolokia_on_real_brokers_measures_a_producer_at_a_known_rate() {
    messages_in_match_a_producer_and_the_controller_is_the_quorum_leader(Agent::Jolokia).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_jmx_exporter_on_real_brokers_measures_a_producer_at_a_known_rate() {
    messages_in_match_a_producer_and_the_controller_is_the_quorum_leader(Agent::Exporter).await;
}

/// The Metrics page of a cluster whose brokers are read through `agent`: every metric it lists
/// has a value for every broker and for the cluster.
async fn the_metrics_page_is_filled_in(agent: Agent) {
    let mut cluster = kafka_cluster("k4jmx", &bootstrap());
    match agent {
        Agent::Jolokia => cluster.jolokia_urls = agent.urls(),
        Agent::Exporter => cluster.metrics_urls = agent.urls(),
    }
    let app = TestApp::with_clusters(vec![cluster]).await;
    let detail =
        eventually(Duration::from_secs(60), "every JMX metric of every broker", || async {
            let detail =
                app.get("/api/v1/clusters/k4jmx/metrics").await.json::<Value>().await.ok()?;
            let brokers = detail["brokers"].as_array()?;
            let complete = brokers.len() == 3
                && brokers.iter().all(|b| {
                    jmx_metrics().all(|m| b["values"][m.as_str()].is_number())
                        && b["error"].is_null()
                });
            complete.then_some(detail)
        })
        .await;
    for metric in jmx_metrics() {
        assert!(detail["values"][metric.as_str()].is_number(), "{agent:?}: cluster {metric:?}");
    }
    app.html("/clusters/k4jmx/metrics").await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_metrics_page_is_filled_in_from_jolokia_on_every_broker() {
    the_metrics_page_is_filled_in(Agent::Jolokia).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_metrics_page_is_filled_in_from_the_jmx_exporter_on_every_broker() {
    the_metrics_page_is_filled_in(Agent::Exporter).await;
}
