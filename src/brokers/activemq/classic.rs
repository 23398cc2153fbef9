//! ActiveMQ Classic's MBeans (5.x, 6.x): what a poll reads and how its answers become a
//! [`BrokerReading`]; the names of its queue operations.

use serde_json::Value;

use super::jolokia::{self, Answer};
use super::{BrokerReading, Destination, count, mbeans, percent, text};
use crate::domain::queue::Usage;

pub const BROKERS: &str = "org.apache.activemq:type=Broker,brokerName=*";
const DESTINATIONS: &str =
    "org.apache.activemq:type=Broker,brokerName=*,destinationType=*,destinationName=*";
/// Topics the broker publishes its own events on.
const ADVISORY_PREFIX: &str = "ActiveMQ.Advisory.";

pub const SEND: &str = "sendTextMessage(java.util.Map,java.lang.String)";
pub const BROWSE: &str = "browse()";
pub const PURGE: &str = "purge()";

/// The requests of one poll.
pub fn requests() -> Vec<Value> {
    vec![
        jolokia::read(
            BROKERS,
            &[
                "BrokerName",
                "BrokerVersion",
                "UptimeMillis",
                "CurrentConnectionsCount",
                "TotalConsumerCount",
                "TotalEnqueueCount",
                "TotalDequeueCount",
                "MemoryPercentUsage",
                "StorePercentUsage",
                "TempPercentUsage",
                "Slave",
            ],
        ),
        jolokia::read(
            DESTINATIONS,
            &[
                "Name",
                "QueueSize",
                "InFlightCount",
                "ConsumerCount",
                "ProducerCount",
                "EnqueueCount",
                "DequeueCount",
                "ExpiredCount",
            ],
        ),
        super::runtime_request(),
    ]
}

/// The broker of this endpoint as the answers to [`requests`] describe it.
pub fn reading(answers: Vec<Answer>) -> Result<BrokerReading, String> {
    let [broker, destinations, runtime]: [Answer; 3] =
        answers.try_into().map_err(|_| "an answer is missing".to_owned())?;
    let broker = broker?;
    let (broker_mbean, attributes) = mbeans(&broker)
        .next()
        .ok_or_else(|| "no ActiveMQ Classic broker is registered in this JVM".to_owned())?;
    // A JVM may hold several brokers: the destinations are the first one's.
    let name = key_property(broker_mbean, "brokerName");
    let mut destinations: Vec<Destination> = mbeans(&destinations?)
        .filter(|(mbean, _)| key_property(mbean, "brokerName") == name)
        .filter_map(|(mbean, attributes)| destination(mbean, attributes))
        .collect();
    destinations.sort_by(|a, b| (&a.name, a.kind).cmp(&(&b.name, b.kind)));
    Ok(BrokerReading {
        name: text(attributes, "BrokerName"),
        version: text(attributes, "BrokerVersion"),
        runtime_version: super::runtime_version(runtime),
        uptime_millis: attributes.get("UptimeMillis").and_then(Value::as_u64),
        connections: count(attributes, "CurrentConnectionsCount"),
        consumers: count(attributes, "TotalConsumerCount"),
        enqueued: count(attributes, "TotalEnqueueCount"),
        dequeued: count(attributes, "TotalDequeueCount"),
        usage: Usage {
            memory_percent: percent(attributes, "MemoryPercentUsage"),
            store_percent: percent(attributes, "StorePercentUsage"),
            temp_percent: percent(attributes, "TempPercentUsage"),
        },
        backup: attributes.get("Slave").and_then(Value::as_bool).unwrap_or(false),
        destinations,
        topology: Vec::new(),
    })
}

/// A queue or topic; temporary destinations and advisory topics are left out.
fn destination(mbean: &str, attributes: &Value) -> Option<Destination> {
    let kind = match key_property(mbean, "destinationType")? {
        "Queue" => "queue",
        "Topic" => "topic",
        _ => return None,
    };
    let name = text(attributes, "Name");
    if kind == "topic" && name.starts_with(ADVISORY_PREFIX) {
        return None;
    }
    Some(Destination {
        mbean: mbean.to_owned(),
        name,
        kind,
        messages: count(attributes, "QueueSize"),
        in_flight: count(attributes, "InFlightCount"),
        scheduled: 0,
        consumers: count(attributes, "ConsumerCount"),
        added: count(attributes, "EnqueueCount"),
        acknowledged: count(attributes, "DequeueCount"),
        paused: false,
    })
}

/// The value of `key` in an MBean name Classic registered (it replaces `,`, `=` and `:` in
/// the values it puts there, so they need no unquoting).
fn key_property<'a>(mbean: &'a str, key: &str) -> Option<&'a str> {
    let (_, properties) = mbean.split_once(':')?;
    properties.split(',').find_map(|pair| pair.strip_prefix(key)?.strip_prefix('='))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_classic_broker_and_its_queues_and_topics_without_advisories() {
        let broker = json!({"org.apache.activemq:type=Broker,brokerName=amq1": {
            "BrokerName": "amq1", "BrokerVersion": "6.3.1", "UptimeMillis": 5000,
            "CurrentConnectionsCount": 3, "TotalConsumerCount": 2, "TotalEnqueueCount": 10,
            "TotalDequeueCount": 4, "MemoryPercentUsage": 12, "StorePercentUsage": 91,
            "TempPercentUsage": 0, "Slave": false}});
        let prefix = "org.apache.activemq:type=Broker,brokerName=amq1";
        let destinations = json!({
            format!("{prefix},destinationType=Queue,destinationName=orders"): {
                "Name": "orders", "QueueSize": 7, "InFlightCount": 2, "ConsumerCount": 1,
                "EnqueueCount": 9, "DequeueCount": 2},
            format!("{prefix},destinationType=Topic,destinationName=ActiveMQ.Advisory.Queue"): {
                "Name": "ActiveMQ.Advisory.Queue", "QueueSize": 0},
            format!("{prefix},destinationType=Topic,destinationName=prices"): {
                "Name": "prices", "QueueSize": 0, "ConsumerCount": 2},
            format!("{prefix},destinationType=TempQueue,destinationName=ID_x"): {
                "Name": "ID:x", "QueueSize": 0},
            "org.apache.activemq:type=Broker,brokerName=amq2,destinationType=Queue,destinationName=other": {
                "Name": "other", "QueueSize": 1},
        });
        let runtime = json!({"VmVersion": "17.0.15+6", "SpecVersion": "17"});
        let reading = reading(vec![Ok(broker), Ok(destinations), Ok(runtime)]).unwrap();
        assert_eq!((reading.name.as_str(), reading.version.as_str()), ("amq1", "6.3.1"));
        assert_eq!(reading.runtime_version, "Java 17.0.15+6");
        assert_eq!(
            (reading.connections, reading.enqueued, reading.uptime_millis),
            (3, 10, Some(5000))
        );
        assert_eq!(reading.usage.store_percent, Some(91.0));
        let names: Vec<_> =
            reading.destinations.iter().map(|d| (d.name.as_str(), d.kind)).collect();
        assert_eq!(names, [("orders", "queue"), ("prices", "topic")]);
        let orders = &reading.destinations[0];
        assert_eq!((orders.messages, orders.in_flight, orders.added), (7, 2, 9));
    }

    #[test]
    fn a_jvm_without_a_broker_or_a_failed_read_is_an_error() {
        let error = reading(vec![Ok(json!({})), Ok(json!({})), Ok(json!({}))]).unwrap_err();
        assert!(error.contains("no ActiveMQ Classic broker"), "{error}");
        let error = reading(vec![Err("refused (403)".into()), Ok(json!({})), Ok(json!({}))]);
        assert_eq!(error.unwrap_err(), "refused (403)");
        assert!(reading(vec![]).is_err());
    }
}
