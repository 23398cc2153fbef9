//! ActiveMQ Artemis's MBeans (2.x): what a poll reads and how its answers become a
//! [`BrokerReading`], the cluster topology, and the names of its queue operations.

use serde_json::Value;

use super::jolokia::{self, Answer};
use super::{BrokerReading, Destination, count, mbeans, text};
use crate::domain::queue::{ClusterMember, Usage};

pub const BROKERS: &str = "org.apache.activemq.artemis:broker=*";
const QUEUES: &str = "org.apache.activemq.artemis:broker=*,component=addresses,address=*,subcomponent=queues,routing-type=*,queue=*";
/// Queues the broker keeps for itself (MQTT sessions and the like).
const SYSTEM_PREFIX: &str = "$sys.";

/// A text message (Artemis's message type 3), durable or not, sent as the console's user.
pub const SEND: &str =
    "sendMessage(java.util.Map,int,java.lang.String,boolean,java.lang.String,java.lang.String)";
pub const TEXT_MESSAGE: i64 = 3;
pub const BROWSE: &str = "browse(int,int)";
pub const PURGE: &str = "removeAllMessages()";
pub const TOPOLOGY: &str = "listNetworkTopology()";

/// The requests of one poll (the topology is asked of the broker once its name is known).
pub fn requests() -> Vec<Value> {
    vec![
        jolokia::read(
            BROKERS,
            &[
                "Name",
                "Version",
                "UptimeMillis",
                "ConnectionCount",
                "TotalConsumerCount",
                "TotalMessagesAdded",
                "TotalMessagesAcknowledged",
                "AddressMemoryUsagePercentage",
                "DiskStoreUsage",
                "MaxDiskUsage",
                "Backup",
            ],
        ),
        jolokia::read(
            QUEUES,
            &[
                "Name",
                "RoutingType",
                "MessageCount",
                "DeliveringCount",
                "ScheduledCount",
                "ConsumerCount",
                "MessagesAdded",
                "MessagesAcknowledged",
                "Paused",
                "Temporary",
            ],
        ),
        super::runtime_request(),
    ]
}

/// The broker of this endpoint as the answers to [`requests`] describe it, and its MBean name
/// (to ask for the topology).
pub fn reading(answers: Vec<Answer>) -> Result<(BrokerReading, String), String> {
    let [broker, queues, runtime]: [Answer; 3] =
        answers.try_into().map_err(|_| "an answer is missing".to_owned())?;
    let broker = broker?;
    let (mbean, attributes) = mbeans(&broker)
        .next()
        .ok_or_else(|| "no ActiveMQ Artemis broker is registered in this JVM".to_owned())?;
    let mut destinations: Vec<Destination> =
        mbeans(&queues?).filter_map(|(mbean, attributes)| queue(mbean, attributes)).collect();
    destinations.sort_by(|a, b| (&a.name, a.kind).cmp(&(&b.name, b.kind)));
    // The disk is shared with everything else on the host: the broker blocks producers once
    // its use passes max-disk-usage, so the store is as full as the disk is of that limit.
    let disk = attributes.get("DiskStoreUsage").and_then(Value::as_f64).map(|f| f * 100.0);
    let limit = attributes.get("MaxDiskUsage").and_then(Value::as_f64).filter(|l| *l > 0.0);
    let store_percent = disk
        .map(|disk| limit.map_or(disk, |limit| disk * 100.0 / limit))
        .filter(|p| p.is_finite() && *p >= 0.0);
    let reading = BrokerReading {
        name: text(attributes, "Name"),
        version: text(attributes, "Version"),
        runtime_version: super::runtime_version(runtime),
        uptime_millis: attributes.get("UptimeMillis").and_then(Value::as_u64),
        connections: count(attributes, "ConnectionCount"),
        consumers: count(attributes, "TotalConsumerCount"),
        enqueued: count(attributes, "TotalMessagesAdded"),
        dequeued: count(attributes, "TotalMessagesAcknowledged"),
        usage: Usage {
            memory_percent: super::percent(attributes, "AddressMemoryUsagePercentage"),
            store_percent,
            temp_percent: None,
        },
        backup: attributes.get("Backup").and_then(Value::as_bool).unwrap_or(false),
        destinations,
        topology: Vec::new(),
    };
    Ok((reading, mbean.to_owned()))
}

/// A queue; temporary ones (management replies, non-durable subscriptions) and the broker's
/// own are left out.
fn queue(mbean: &str, attributes: &Value) -> Option<Destination> {
    let name = text(attributes, "Name");
    let temporary = attributes.get("Temporary").and_then(Value::as_bool).unwrap_or(false);
    if temporary || name.starts_with(SYSTEM_PREFIX) {
        return None;
    }
    let kind = match text(attributes, "RoutingType").to_ascii_lowercase().as_str() {
        "multicast" => "multicast",
        _ => "anycast",
    };
    Some(Destination {
        mbean: mbean.to_owned(),
        name,
        kind,
        messages: count(attributes, "MessageCount"),
        in_flight: count(attributes, "DeliveringCount"),
        scheduled: count(attributes, "ScheduledCount"),
        consumers: count(attributes, "ConsumerCount"),
        added: count(attributes, "MessagesAdded"),
        acknowledged: count(attributes, "MessagesAcknowledged"),
        paused: attributes.get("Paused").and_then(Value::as_bool).unwrap_or(false),
    })
}

/// `listNetworkTopology()`'s answer: a JSON text listing the members.
/// Most members kept: a cluster that lists more is shown cut.
pub const MAX_MEMBERS: usize = 1_000;

/// `listNetworkTopology()`'s answer: a JSON text listing the members (at most
/// [`MAX_MEMBERS`]).
pub fn topology(answer: &Value) -> Result<Vec<ClusterMember>, String> {
    let text = answer.as_str().ok_or("the topology is not a text")?;
    let mut members: Vec<ClusterMember> = serde_json::from_str(text)
        .map_err(|e| format!("the topology is not a list of members: {e}"))?;
    members.truncate(MAX_MEMBERS);
    Ok(members)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_artemis_broker_and_its_queues_without_temporary_and_system_ones() {
        let mbean = "org.apache.activemq.artemis:broker=\"a1\"";
        let broker = json!({mbean: {
            "Name": "a1", "Version": "2.40.0", "UptimeMillis": 9000, "ConnectionCount": 2,
            "TotalConsumerCount": 1, "TotalMessagesAdded": 30, "TotalMessagesAcknowledged": 20,
            "AddressMemoryUsagePercentage": 4, "DiskStoreUsage": 0.45, "MaxDiskUsage": 90,
            "Backup": false}});
        let key = |queue: &str, routing: &str| {
            format!(
                "org.apache.activemq.artemis:address=\"{queue}\",broker=\"a1\",component=addresses,queue=\"{queue}\",routing-type=\"{routing}\",subcomponent=queues"
            )
        };
        let queues = json!({
            key("orders", "anycast"): {"Name": "orders", "RoutingType": "ANYCAST",
                "MessageCount": 10, "DeliveringCount": 3, "ScheduledCount": 2,
                "ConsumerCount": 1, "MessagesAdded": 12, "MessagesAcknowledged": 2,
                "Paused": true, "Temporary": false},
            key("$sys.mqtt.sessions", "anycast"): {"Name": "$sys.mqtt.sessions"},
            key("reply", "anycast"): {"Name": "reply", "Temporary": true},
            key("sub", "multicast"): {"Name": "sub", "RoutingType": "MULTICAST"},
        });
        let (reading, name) =
            reading(vec![Ok(broker), Ok(queues), Ok(json!({"VmVersion": "21.0.5"}))]).unwrap();
        assert_eq!(name, mbean);
        assert_eq!((reading.name.as_str(), reading.version.as_str()), ("a1", "2.40.0"));
        assert_eq!(reading.usage.memory_percent, Some(4.0));
        let store = reading.usage.store_percent.unwrap();
        assert!((store - 50.0).abs() < 1e-9, "45 % of the disk is half of a 90 % limit: {store}");
        let names: Vec<_> =
            reading.destinations.iter().map(|d| (d.name.as_str(), d.kind)).collect();
        assert_eq!(names, [("orders", "anycast"), ("sub", "multicast")]);
        let orders = &reading.destinations[0];
        assert_eq!((orders.messages, orders.in_flight, orders.scheduled), (10, 3, 2));
        assert!(orders.paused);
    }

    #[test]
    fn the_topology_lists_live_and_backup_servers() {
        let answer = json!(
            r#"[{"nodeID":"n1","live":"10.0.0.1:61616","backup":"10.0.0.2:61616"},{"nodeID":"n2","live":"10.0.0.3:61616"}]"#
        );
        let members = topology(&answer).unwrap();
        assert_eq!(members.len(), 2);
        assert_eq!(members[0].backup.as_deref(), Some("10.0.0.2:61616"));
        assert_eq!(members[1].backup, None);
        assert!(topology(&json!(42)).is_err());
        assert!(topology(&json!("not json")).is_err());
    }
}
