//! Kafka's JMX MBeans as the two common bridges show them — a Prometheus JMX exporter's metric
//! names and Jolokia's MBean reads — mapped onto [`Metric`]; counters become rates in
//! [`CounterBook`], which remembers each counter's last value.

use std::collections::{BTreeMap, HashMap};

use super::prometheus::Sample;
use crate::domain::Millis;
use crate::domain::metrics::Metric;

/// What one source value means.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Reading {
    /// A monotonic count: its rate per second is the metric.
    Counter(f64),
    /// Already a rate per second (a meter's OneMinuteRate).
    Rate(f64),
    Gauge(f64),
}

/// One value for a metric, of a broker or one of its topics; `scale` converts the source unit.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    pub metric: Metric,
    pub topic: Option<String>,
    pub reading: Reading,
    pub scale: f64,
}

fn observe(metric: Metric, topic: Option<&str>, reading: Reading, scale: f64) -> Observation {
    Observation { metric, topic: topic.map(str::to_owned), reading, scale }
}

/// BrokerTopicMetrics meters by the part of their name after the type.
const TOPIC_METERS: [(&str, Metric); 8] = [
    ("bytesin", Metric::BytesInPerSec),
    ("bytesout", Metric::BytesOutPerSec),
    ("messagesin", Metric::MessagesInPerSec),
    ("bytesrejected", Metric::BytesRejectedPerSec),
    ("totalproducerequests", Metric::ProduceRequestsPerSec),
    ("failedproducerequests", Metric::FailedProduceRequestsPerSec),
    ("totalfetchrequests", Metric::FetchRequestsPerSec),
    ("failedfetchrequests", Metric::FailedFetchRequestsPerSec),
];

/// How a meter reads from its name's ending: `_total`/`_count` counts, `_oneminuterate` rates.
fn meter_reading(name: &str, value: f64) -> Option<Reading> {
    if name.ends_with("_total") || name.ends_with("_count") {
        Some(Reading::Counter(value))
    } else if name.ends_with("oneminuterate") {
        Some(Reading::Rate(value))
    } else {
        None
    }
}

fn request_metric(request: Option<&str>) -> Option<Metric> {
    match request? {
        "Produce" => Some(Metric::ProduceTimeMs),
        "FetchConsumer" | "Fetch" => Some(Metric::FetchTimeMs),
        _ => None,
    }
}

/// A Prometheus JMX exporter scrape (the kafka-2_0_0.yml / Strimzi naming, either rate or
/// count style) as observations. Unknown names are ignored.
pub fn from_prometheus(samples: &[Sample]) -> Vec<Observation> {
    let mut observations = Vec::new();
    for sample in samples {
        let lower = sample.name.to_ascii_lowercase();
        let compact: String = lower.chars().filter(|c| *c != '_').collect();
        let topic = sample.label("topic");
        let value = sample.value;
        if let Some(after) = compact.split("brokertopicmetrics").nth(1) {
            let meter = TOPIC_METERS.iter().find(|(key, _)| after.starts_with(key));
            if let (Some((_, metric)), Some(reading)) = (meter, meter_reading(&lower, value)) {
                observations.push(observe(*metric, topic, reading, 1.0));
            }
        } else if compact.contains("replicamanagerunderreplicatedpartitions") {
            observations.push(observe(
                Metric::UnderReplicatedPartitions,
                None,
                Reading::Gauge(value),
                1.0,
            ));
        } else if compact.contains("kafkacontrollerofflinepartitionscount") {
            observations.push(observe(Metric::OfflinePartitions, None, Reading::Gauge(value), 1.0));
        } else if compact.contains("kafkacontrolleractivecontrollercount") {
            observations.push(observe(Metric::ActiveControllers, None, Reading::Gauge(value), 1.0));
        } else if compact.contains("requesthandleravgidlepercent") {
            // A meter marked with idle nanoseconds: its rate is the idle fraction.
            let observation = match meter_reading(&lower, value) {
                Some(Reading::Counter(count)) => observe(
                    Metric::RequestHandlerIdlePercent,
                    None,
                    Reading::Counter(count),
                    100.0 / 1e9,
                ),
                Some(reading) => observe(Metric::RequestHandlerIdlePercent, None, reading, 100.0),
                None => {
                    observe(Metric::RequestHandlerIdlePercent, None, Reading::Gauge(value), 100.0)
                }
            };
            observations.push(observation);
        } else if compact.contains("networkprocessoravgidlepercent") {
            observations.push(observe(
                Metric::NetworkProcessorIdlePercent,
                None,
                Reading::Gauge(value),
                100.0,
            ));
        } else if compact.contains("requestmetricstotaltimems") {
            let Some(metric) = request_metric(sample.label("request")) else { continue };
            let p99 = sample.label("quantile") == Some("0.99") || lower.ends_with("99thpercentile");
            if p99 {
                observations.push(observe(metric, None, Reading::Gauge(value), 1.0));
            }
        } else if matches!(lower.as_str(), "jvm_memory_bytes_used" | "jvm_memory_used_bytes")
            && sample.label("area") == Some("heap")
        {
            observations.push(observe(Metric::HeapUsedBytes, None, Reading::Gauge(value), 1.0));
        } else if matches!(lower.as_str(), "jvm_memory_bytes_max" | "jvm_memory_max_bytes")
            && sample.label("area") == Some("heap")
        {
            observations.push(observe(Metric::HeapMaxBytes, None, Reading::Gauge(value), 1.0));
        } else if lower == "jvm_gc_collection_seconds_count" {
            observations.push(observe(Metric::GcPerSec, None, Reading::Counter(value), 1.0));
        } else if lower == "jvm_gc_collection_seconds_sum" {
            observations.push(observe(
                Metric::GcTimeMsPerSec,
                None,
                Reading::Counter(value),
                1000.0,
            ));
        } else if let Some(observation) = rabbitmq(&lower, sample) {
            observations.push(observation);
        }
    }
    observations
}

/// RabbitMQ's own prometheus plugin (aggregated metrics).
fn rabbitmq(name: &str, sample: &Sample) -> Option<Observation> {
    let value = sample.value;
    let (metric, reading) = match name {
        "rabbitmq_global_messages_received_total" => {
            (Metric::MessagesInPerSec, Reading::Counter(value))
        }
        "rabbitmq_global_messages_delivered_total" => {
            (Metric::MessagesOutPerSec, Reading::Counter(value))
        }
        "rabbitmq_process_resident_memory_bytes" => (Metric::HeapUsedBytes, Reading::Gauge(value)),
        "rabbitmq_resident_memory_limit_bytes" => (Metric::HeapMaxBytes, Reading::Gauge(value)),
        _ => return None,
    };
    Some(observe(metric, None, reading, 1.0))
}

/// The MBeans a Jolokia bulk read asks for, with the attributes read.
pub fn jolokia_requests() -> serde_json::Value {
    let meter = ["Count", "OneMinuteRate"];
    let mut requests = Vec::new();
    for name in [
        "BytesInPerSec",
        "BytesOutPerSec",
        "MessagesInPerSec",
        "BytesRejectedPerSec",
        "TotalProduceRequestsPerSec",
        "FailedProduceRequestsPerSec",
        "TotalFetchRequestsPerSec",
        "FailedFetchRequestsPerSec",
    ] {
        for suffix in ["", ",topic=*"] {
            requests.push(serde_json::json!({"type": "read",
                "mbean": format!("kafka.server:type=BrokerTopicMetrics,name={name}{suffix}"), "attribute": meter}));
        }
    }
    for (mbean, attribute) in [
        ("kafka.server:type=ReplicaManager,name=UnderReplicatedPartitions", "Value"),
        ("kafka.controller:type=KafkaController,name=OfflinePartitionsCount", "Value"),
        ("kafka.controller:type=KafkaController,name=ActiveControllerCount", "Value"),
        (
            "kafka.server:type=KafkaRequestHandlerPool,name=RequestHandlerAvgIdlePercent",
            "OneMinuteRate",
        ),
        ("kafka.network:type=SocketServer,name=NetworkProcessorAvgIdlePercent", "Value"),
        ("kafka.network:type=RequestMetrics,name=TotalTimeMs,request=Produce", "99thPercentile"),
        (
            "kafka.network:type=RequestMetrics,name=TotalTimeMs,request=FetchConsumer",
            "99thPercentile",
        ),
        ("java.lang:type=Memory", "HeapMemoryUsage"),
    ] {
        // Always a list of attributes: Jolokia then answers with a map of them (a single
        // attribute named as a string comes back bare).
        requests
            .push(serde_json::json!({"type": "read", "mbean": mbean, "attribute": [attribute]}));
    }
    requests.push(
        serde_json::json!({"type": "read", "mbean": "java.lang:type=GarbageCollector,name=*",
        "attribute": ["CollectionCount", "CollectionTime"]}),
    );
    serde_json::Value::Array(requests)
}

/// `domain:k=v,k=v` → (domain, properties).
fn mbean_name(name: &str) -> (&str, HashMap<&str, &str>) {
    let (domain, properties) = name.split_once(':').unwrap_or((name, ""));
    let properties =
        properties.split(',').filter_map(|p| p.split_once('=')).collect::<HashMap<_, _>>();
    (domain, properties)
}

/// Observations from the attributes of one MBean.
fn mbean_observations(
    name: &str,
    attributes: &serde_json::Map<String, serde_json::Value>,
) -> Vec<Observation> {
    let (domain, properties) = mbean_name(name);
    let number = |attribute: &str| attributes.get(attribute).and_then(serde_json::Value::as_f64);
    let mut out = Vec::new();
    let bean = properties.get("name").copied().unwrap_or_default().to_ascii_lowercase();
    match (domain, properties.get("type").copied()) {
        ("kafka.server", Some("BrokerTopicMetrics")) => {
            let topic = properties.get("topic").copied();
            if let Some((_, metric)) = TOPIC_METERS.iter().find(|(key, _)| bean.starts_with(key)) {
                if let Some(count) = number("Count") {
                    out.push(observe(*metric, topic, Reading::Counter(count), 1.0));
                }
                if let Some(rate) = number("OneMinuteRate") {
                    out.push(observe(*metric, topic, Reading::Rate(rate), 1.0));
                }
            }
        }
        ("kafka.server", Some("ReplicaManager")) if bean == "underreplicatedpartitions" => {
            out.extend(
                number("Value").map(|v| {
                    observe(Metric::UnderReplicatedPartitions, None, Reading::Gauge(v), 1.0)
                }),
            );
        }
        ("kafka.controller", Some("KafkaController")) => {
            let metric = match bean.as_str() {
                "offlinepartitionscount" => Some(Metric::OfflinePartitions),
                "activecontrollercount" => Some(Metric::ActiveControllers),
                _ => None,
            };
            if let (Some(metric), Some(v)) = (metric, number("Value")) {
                out.push(observe(metric, None, Reading::Gauge(v), 1.0));
            }
        }
        ("kafka.server", Some("KafkaRequestHandlerPool"))
            if bean == "requesthandleravgidlepercent" =>
        {
            out.extend(number("OneMinuteRate").map(|v| {
                observe(Metric::RequestHandlerIdlePercent, None, Reading::Rate(v), 100.0)
            }));
        }
        ("kafka.network", Some("SocketServer")) if bean == "networkprocessoravgidlepercent" => {
            out.extend(number("Value").map(|v| {
                observe(Metric::NetworkProcessorIdlePercent, None, Reading::Gauge(v), 100.0)
            }));
        }
        ("kafka.network", Some("RequestMetrics")) if bean == "totaltimems" => {
            if let (Some(metric), Some(v)) =
                (request_metric(properties.get("request").copied()), number("99thPercentile"))
            {
                out.push(observe(metric, None, Reading::Gauge(v), 1.0));
            }
        }
        ("java.lang", Some("Memory")) => {
            let heap = attributes.get("HeapMemoryUsage");
            let field = |f: &str| heap.and_then(|h| h.get(f)).and_then(serde_json::Value::as_f64);
            out.extend(
                field("used").map(|v| observe(Metric::HeapUsedBytes, None, Reading::Gauge(v), 1.0)),
            );
            out.extend(
                field("max")
                    .filter(|v| *v > 0.0)
                    .map(|v| observe(Metric::HeapMaxBytes, None, Reading::Gauge(v), 1.0)),
            );
        }
        ("java.lang", Some("GarbageCollector")) => {
            out.extend(
                number("CollectionCount")
                    .map(|v| observe(Metric::GcPerSec, None, Reading::Counter(v), 1.0)),
            );
            out.extend(
                number("CollectionTime")
                    .map(|v| observe(Metric::GcTimeMsPerSec, None, Reading::Counter(v), 1.0)),
            );
        }
        _ => {}
    }
    out
}

/// A Jolokia bulk response as observations. Reads the broker does not have (status 404: a
/// JVM that is no Kafka broker, an older Kafka) are skipped; the count of failed reads is
/// returned with the first error for the page.
pub fn from_jolokia(
    responses: &serde_json::Value,
) -> Result<(Vec<Observation>, Option<String>), String> {
    let responses =
        responses.as_array().ok_or("the Jolokia answer is not a bulk response (a JSON array)")?;
    let mut observations = Vec::new();
    let mut first_error = None;
    for response in responses {
        let status = response.get("status").and_then(serde_json::Value::as_i64).unwrap_or(0);
        let mbean = response
            .pointer("/request/mbean")
            .and_then(serde_json::Value::as_str)
            .unwrap_or_default();
        if status != 200 {
            if status != 404 && first_error.is_none() {
                let error = response
                    .get("error")
                    .and_then(serde_json::Value::as_str)
                    .unwrap_or("no error text");
                first_error = Some(format!("{mbean}: {status} {error}"));
            }
            continue;
        }
        let Some(value) = response.get("value").and_then(serde_json::Value::as_object) else {
            continue;
        };
        if mbean.contains('*') {
            // A pattern read: the value maps each matching MBean to its attributes.
            for (name, attributes) in value {
                if let Some(attributes) = attributes.as_object() {
                    observations.extend(mbean_observations(name, attributes));
                }
            }
        } else {
            observations.extend(mbean_observations(mbean, value));
        }
    }
    Ok((observations, first_error))
}

/// A counter not seen in a broker's scrapes this long is forgotten.
const FORGET_AFTER: Millis = 10 * 60 * 1000;

/// Turns observations into values: counters into rates against the previous reading of the
/// same counter, sums over label sets (e.g. every garbage collector), scales applied. A broker
/// total that the source only gives per topic is the sum of its topics.
#[derive(Debug, Default)]
pub struct CounterBook {
    last: HashMap<(i32, Metric, Option<String>), (Millis, f64)>,
}

type Values = BTreeMap<Metric, f64>;

impl CounterBook {
    pub fn apply(
        &mut self,
        broker: i32,
        at: Millis,
        observations: &[Observation],
    ) -> (Values, BTreeMap<String, Values>) {
        // Same (metric, topic, kind): summed first (several GCs, several request labels).
        let mut counters: BTreeMap<(Metric, Option<String>), (f64, f64)> = BTreeMap::new();
        let mut rates: BTreeMap<(Metric, Option<String>), f64> = BTreeMap::new();
        let mut gauges: BTreeMap<(Metric, Option<String>), f64> = BTreeMap::new();
        for o in observations {
            let key = (o.metric, o.topic.clone());
            match o.reading {
                Reading::Counter(v) => {
                    let entry = counters.entry(key).or_insert((0.0, o.scale));
                    entry.0 += v;
                }
                Reading::Rate(v) => *rates.entry(key).or_default() += v * o.scale,
                Reading::Gauge(v) => *gauges.entry(key).or_default() += v * o.scale,
            }
        }
        let mut resolved: BTreeMap<(Metric, Option<String>), f64> = gauges;
        for ((metric, topic), (value, scale)) in counters {
            let key = (broker, metric, topic.clone());
            if let Some((then, before)) = self.last.insert(key, (at, value))
                && at > then
                && value >= before
            {
                let rate = (value - before) * 1000.0 / (at - then) as f64 * scale;
                resolved.insert((metric, topic), rate);
            }
        }
        // Counters of this broker not read for a while belong to deleted topics: forget them,
        // so a cluster whose topics come and go keeps a bounded book.
        self.last.retain(|(b, _, _), (then, _)| *b != broker || at - *then <= FORGET_AFTER);
        // A meter's one-minute rate stands in until a counter has two readings.
        for (key, rate) in rates {
            resolved.entry(key).or_insert(rate);
        }
        let mut broker_values = Values::new();
        let mut topics: BTreeMap<String, Values> = BTreeMap::new();
        for ((metric, topic), value) in resolved {
            match topic {
                Some(topic) => {
                    topics.entry(topic).or_default().insert(metric, value);
                }
                None => {
                    broker_values.insert(metric, value);
                }
            }
        }
        for values in topics.values() {
            for (metric, value) in values {
                if !observations.iter().any(|o| o.metric == *metric && o.topic.is_none()) {
                    *broker_values.entry(*metric).or_default() += value;
                }
            }
        }
        (broker_values, topics)
    }

    /// Forgets counters of brokers no longer scraped.
    pub fn retain_brokers(&mut self, brokers: &[i32]) {
        self.last.retain(|(broker, _, _), _| brokers.contains(broker));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::brokers::scrape::prometheus::{Limits, parse};

    #[test]
    fn counters_of_topics_gone_for_a_while_are_forgotten() {
        let counter = |topic: &str, value: f64| Observation {
            metric: Metric::BytesInPerSec,
            topic: Some(topic.into()),
            reading: Reading::Counter(value),
            scale: 1.0,
        };
        let mut book = CounterBook::default();
        let topics: Vec<String> = (0..1_000).map(|i| format!("short-lived-{i}")).collect();
        let first: Vec<Observation> = topics.iter().map(|t| counter(t, 1.0)).collect();
        book.apply(1, 0, &first);
        book.apply(2, 0, &[counter("other-broker", 1.0)]);
        assert_eq!(book.last.len(), 1_001);
        for minute in 1..=11 {
            book.apply(1, minute * 60_000, &[counter("kept", minute as f64)]);
        }
        assert_eq!(book.last.len(), 2, "broker 1's gone topics forgotten, broker 2 untouched");
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-6 * b.abs().max(1.0)
    }

    #[test]
    fn a_recorded_jmx_exporter_scrape_maps_onto_the_metrics_with_counters_as_rates() {
        let t0 =
            parse(include_str!("fixtures/kafka_jmx_exporter_t0.txt"), Limits::default()).unwrap();
        let t10 =
            parse(include_str!("fixtures/kafka_jmx_exporter_t10.txt"), Limits::default()).unwrap();
        let mut book = CounterBook::default();
        let (first, _) = book.apply(1, 0, &from_prometheus(&t0));
        assert!(!first.contains_key(&Metric::BytesInPerSec), "a counter needs two readings");
        assert_eq!(first[&Metric::UnderReplicatedPartitions], 2.0);
        let (values, topics) = book.apply(1, 10_000, &from_prometheus(&t10));
        let expect = [
            (Metric::BytesInPerSec, 6_000.0),
            (Metric::BytesOutPerSec, 17_000.0),
            (Metric::MessagesInPerSec, 60.0),
            (Metric::BytesRejectedPerSec, 0.0),
            (Metric::ProduceRequestsPerSec, 20.0),
            (Metric::FailedProduceRequestsPerSec, 0.1),
            (Metric::FetchRequestsPerSec, 40.0),
            (Metric::UnderReplicatedPartitions, 2.0),
            (Metric::OfflinePartitions, 0.0),
            (Metric::ActiveControllers, 1.0),
            (Metric::RequestHandlerIdlePercent, 75.0),
            (Metric::NetworkProcessorIdlePercent, 93.0),
            (Metric::ProduceTimeMs, 12.0),
            (Metric::FetchTimeMs, 502.0),
            (Metric::HeapUsedBytes, 536_870_912.0),
            (Metric::HeapMaxBytes, 1_073_741_824.0),
            (Metric::GcPerSec, 0.2),
            (Metric::GcTimeMsPerSec, 5.0),
        ];
        for (metric, expected) in expect {
            let got = values.get(&metric).copied();
            assert!(got.is_some_and(|v| close(v, expected)), "{metric:?}: {got:?} ≠ {expected}");
        }
        assert!(close(topics["orders"][&Metric::BytesInPerSec], 5_000.0));
        assert!(close(topics["payments"][&Metric::MessagesInPerSec], 10.0));
    }

    #[test]
    fn a_recorded_jolokia_bulk_answer_maps_onto_the_metrics() {
        let answer: serde_json::Value =
            serde_json::from_str(include_str!("fixtures/kafka_jolokia.json")).unwrap();
        let (observations, warning) = from_jolokia(&answer).unwrap();
        assert!(
            warning.unwrap().contains("403"),
            "a refused read is reported, a missing one is not"
        );
        let (values, topics) = CounterBook::default().apply(1, 0, &observations);
        // One reading: meters give their one-minute rate until counters have two.
        assert_eq!(values[&Metric::BytesInPerSec], 5_873.25);
        assert_eq!(values[&Metric::MessagesInPerSec], 59.5);
        assert_eq!(values[&Metric::UnderReplicatedPartitions], 2.0);
        assert_eq!(values[&Metric::RequestHandlerIdlePercent], 75.0);
        assert!(close(values[&Metric::NetworkProcessorIdlePercent], 93.0));
        assert_eq!(values[&Metric::ProduceTimeMs], 12.0);
        assert_eq!(values[&Metric::HeapUsedBytes], 536_870_912.0);
        assert_eq!(values[&Metric::HeapMaxBytes], 1_073_741_824.0);
        assert!(!values.contains_key(&Metric::GcPerSec), "GC counts need two readings");
        assert_eq!(topics["orders"][&Metric::BytesInPerSec], 4_900.5);
        assert!(from_jolokia(&serde_json::json!({"error": "no"})).is_err());
    }

    #[test]
    fn the_request_names_every_kafka_mbean_with_attribute_lists() {
        let requests = jolokia_requests();
        let requests = requests.as_array().unwrap();
        assert!(requests.iter().all(|r| r["attribute"].is_array()));
        assert!(requests.iter().any(
            |r| r["mbean"] == "kafka.server:type=BrokerTopicMetrics,name=BytesInPerSec,topic=*"
        ));
        assert!(requests.iter().any(|r| r["mbean"] == "java.lang:type=Memory"));
    }

    #[test]
    fn a_counter_that_went_backwards_restarts_instead_of_going_negative() {
        let count = |v| vec![observe(Metric::BytesInPerSec, None, Reading::Counter(v), 1.0)];
        let mut book = CounterBook::default();
        book.apply(1, 0, &count(1000.0));
        assert_eq!(book.apply(1, 1000, &count(1500.0)).0[&Metric::BytesInPerSec], 500.0);
        assert!(
            book.apply(1, 2000, &count(10.0)).0.is_empty(),
            "a broker restart resets its counters"
        );
        assert_eq!(book.apply(1, 3000, &count(110.0)).0[&Metric::BytesInPerSec], 100.0);
    }
}
