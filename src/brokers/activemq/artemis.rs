//! ActiveMQ Artemis's MBeans (2.x): what a poll reads and how its answers become a
//! [`BrokerReading`], the cluster topology, and the names of its queue operations.

use serde_json::Value;

use super::jolokia::{self, Answer};
use super::{BrokerReading, Destination, count, text};
use crate::domain::queue::{ClusterMember, Usage};

pub const BROKERS: &str = "org.apache.activemq.artemis:broker=*";
/// Queues the broker keeps for itself (MQTT sessions and the like).
const SYSTEM_PREFIX: &str = "$sys.";

/// A text message (Artemis's message type 3), durable or not, sent as the console's user.
pub const SEND: &str =
    "sendMessage(java.util.Map,int,java.lang.String,boolean,java.lang.String,java.lang.String)";
pub const TEXT_MESSAGE: i64 = 3;
pub const BROWSE: &str = "browse(int,int)";
pub const PURGE: &str = "removeAllMessages()";
pub const TOPOLOGY: &str = "listNetworkTopology()";
/// The broker's own queue listing, the one its console pages through: one JSON text for a page
/// of queues with every figure, three times faster than reading each queue's MBean by pattern
/// (BENCHMARKS.md).
const LIST_QUEUES: &str = "listQueues(java.lang.String,int,int)";
/// No filter, sorted by name, as the console asks.
const LIST_OPTIONS: &str =
    r#"{"field":"","operation":"","value":"","sortOrder":"asc","sortColumn":"name"}"#;
/// Queues asked for in one page.
pub const PAGE: usize = 1_000;
/// Most pages read in a poll: 100,000 queues.
pub const MAX_PAGES: usize = 100;

/// The requests of one poll of the broker whose MBean is `broker`: its figures, the JVM, the
/// first page of its queues and its topology.
pub fn requests(broker: &str) -> Vec<Value> {
    vec![
        jolokia::read(
            broker,
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
        super::runtime_request(),
        page_request(broker, 1),
        jolokia::exec(broker, TOPOLOGY, serde_json::json!([]), MAX_MEMBERS),
    ]
}

/// Page `page` (from 1) of the broker's queues.
pub fn page_request(broker: &str, page: usize) -> Value {
    jolokia::exec(broker, LIST_QUEUES, serde_json::json!([LIST_OPTIONS, page, PAGE]), 1)
}

/// The broker as the answers to [`requests`] describe it (its queues: the first page), and how
/// many queues it has in all.
pub fn reading(broker_mbean: &str, answers: Vec<Answer>) -> Result<(BrokerReading, u64), String> {
    let [broker, runtime, first_page, members]: [Answer; 4] =
        answers.try_into().map_err(|_| "an answer is missing".to_owned())?;
    let attributes = broker?;
    let (destinations, total) = queues(broker_mbean, &first_page?)?;
    // The disk is shared with everything else on the host: the broker blocks producers once
    // its use passes max-disk-usage, so the store is as full as the disk is of that limit.
    let disk = attributes.get("DiskStoreUsage").and_then(Value::as_f64).map(|f| f * 100.0);
    let limit = attributes.get("MaxDiskUsage").and_then(Value::as_f64).filter(|l| *l > 0.0);
    let store_percent = disk
        .map(|disk| limit.map_or(disk, |limit| disk * 100.0 / limit))
        .filter(|p| p.is_finite() && *p >= 0.0);
    let reading = BrokerReading {
        name: text(&attributes, "Name"),
        version: text(&attributes, "Version"),
        runtime_version: super::runtime_version(runtime),
        uptime_millis: attributes.get("UptimeMillis").and_then(Value::as_u64),
        connections: count(&attributes, "ConnectionCount"),
        consumers: count(&attributes, "TotalConsumerCount"),
        enqueued: count(&attributes, "TotalMessagesAdded"),
        dequeued: count(&attributes, "TotalMessagesAcknowledged"),
        usage: Usage {
            memory_percent: super::percent(&attributes, "AddressMemoryUsagePercentage"),
            store_percent,
            temp_percent: None,
        },
        backup: attributes.get("Backup").and_then(Value::as_bool).unwrap_or(false),
        destinations,
        // A broker that cannot list its topology is still a broker worth showing.
        topology: members.ok().and_then(|t| topology(&t).ok()).unwrap_or_default(),
    };
    Ok((reading, total))
}

/// The broker MBean's name from a search of [`BROKERS`].
pub fn broker_mbean(search: &Answer) -> Option<String> {
    let names = search.as_ref().ok()?.as_array()?;
    names.iter().filter_map(Value::as_str).min().map(str::to_owned)
}

/// One page of `listQueues`: its queues (temporary, internal and the broker's own left out)
/// and the number of queues in all.
pub fn queues(broker_mbean: &str, answer: &Value) -> Result<(Vec<Destination>, u64), String> {
    let listing: Value = answer
        .as_str()
        .and_then(|text| serde_json::from_str(text).ok())
        .ok_or("the queue listing is not JSON text")?;
    let total = listing.get("count").and_then(Value::as_u64).unwrap_or(0);
    let rows =
        listing.get("data").and_then(Value::as_array).ok_or("the queue listing has no data")?;
    Ok((rows.iter().filter_map(|row| queue(broker_mbean, row)).collect(), total))
}

/// A listed queue (its figures are texts).
fn queue(broker_mbean: &str, row: &Value) -> Option<Destination> {
    let field = |key: &str| row.get(key).and_then(Value::as_str).unwrap_or_default();
    let number = |key: &str| field(key).parse::<u64>().unwrap_or(0);
    let name = field("name");
    if field("temporary") == "true"
        || field("internalQueue") == "true"
        || name.starts_with(SYSTEM_PREFIX)
    {
        return None;
    }
    let kind = match field("routingType").to_ascii_lowercase().as_str() {
        "multicast" => "multicast",
        _ => "anycast",
    };
    Some(Destination {
        mbean: queue_mbean(broker_mbean, field("address"), kind, name),
        name: name.to_owned(),
        kind,
        messages: number("messageCount"),
        in_flight: number("deliveringCount"),
        scheduled: number("scheduledCount"),
        consumers: number("consumerCount"),
        added: number("messagesAdded"),
        acknowledged: number("messagesAcked"),
        paused: field("paused") == "true",
    })
}

/// A queue's MBean name as Artemis registers it (`ObjectNameBuilder`): the broker's, then the
/// address, routing type and queue, each quoted as `ObjectName.quote` does.
fn queue_mbean(broker_mbean: &str, address: &str, routing: &str, queue: &str) -> String {
    format!(
        "{broker_mbean},component=addresses,address={},subcomponent=queues,routing-type={},queue={}",
        quote(address),
        quote(routing),
        quote(queue)
    )
}

/// `javax.management.ObjectName.quote`.
fn quote(value: &str) -> String {
    let mut quoted = String::with_capacity(value.len() + 2);
    quoted.push('"');
    for c in value.chars() {
        match c {
            '"' | '*' | '?' | '\\' => {
                quoted.push('\\');
                quoted.push(c);
            }
            '\n' => quoted.push_str("\\n"),
            _ => quoted.push(c),
        }
    }
    quoted.push('"');
    quoted
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
    fn an_artemis_broker_and_its_listed_queues_without_temporary_internal_and_system_ones() {
        let mbean = "org.apache.activemq.artemis:broker=\"a1\"";
        let broker = json!({
            "Name": "a1", "Version": "2.40.0", "UptimeMillis": 9000, "ConnectionCount": 2,
            "TotalConsumerCount": 1, "TotalMessagesAdded": 30, "TotalMessagesAcknowledged": 20,
            "AddressMemoryUsagePercentage": 4, "DiskStoreUsage": 0.45, "MaxDiskUsage": 90,
            "Backup": false});
        let row = |name: &str, routing: &str, extra: Value| {
            let mut row = json!({"name": name, "address": name, "routingType": routing,
                "temporary": "false", "internalQueue": "false", "messageCount": "0"});
            row.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
            row
        };
        let listing = json!({"count": 1200, "data": [
            row("orders", "ANYCAST", json!({"messageCount": "10", "deliveringCount": "3",
                "scheduledCount": "2", "consumerCount": "1", "messagesAdded": "12",
                "messagesAcked": "2", "paused": "true"})),
            row("$sys.mqtt.sessions", "ANYCAST", json!({})),
            row("reply", "ANYCAST", json!({"temporary": "true"})),
            row("notif", "MULTICAST", json!({"internalQueue": "true"})),
            row("sub \"x\" *", "MULTICAST", json!({})),
        ]});
        let answers = vec![
            Ok(broker),
            Ok(json!({"VmVersion": "21.0.5"})),
            Ok(json!(listing.to_string())),
            Err("no topology (500)".into()),
        ];
        let (reading, total) = reading(mbean, answers).unwrap();
        assert_eq!(total, 1200, "more pages to ask for");
        assert_eq!((reading.name.as_str(), reading.version.as_str()), ("a1", "2.40.0"));
        assert_eq!(reading.usage.memory_percent, Some(4.0));
        let store = reading.usage.store_percent.unwrap();
        assert!((store - 50.0).abs() < 1e-9, "45 % of the disk is half of a 90 % limit: {store}");
        assert!(reading.topology.is_empty(), "a topology it cannot list is none");
        let names: Vec<_> =
            reading.destinations.iter().map(|d| (d.name.as_str(), d.kind)).collect();
        assert_eq!(names, [("orders", "anycast"), ("sub \"x\" *", "multicast")]);
        let orders = &reading.destinations[0];
        assert_eq!((orders.messages, orders.in_flight, orders.scheduled), (10, 3, 2));
        assert_eq!((orders.added, orders.acknowledged, orders.paused), (12, 2, true));
        assert_eq!(
            reading.destinations[1].mbean,
            "org.apache.activemq.artemis:broker=\"a1\",component=addresses,address=\"sub \\\"x\\\" \\*\",subcomponent=queues,routing-type=\"multicast\",queue=\"sub \\\"x\\\" \\*\""
        );
        assert!(queues(mbean, &json!("not json")).is_err());
        assert!(queues(mbean, &json!(42)).is_err());
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
