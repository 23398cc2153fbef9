use super::*;

fn reading(name: &str, enqueued: u64, orders_added: u64) -> BrokerReading {
    BrokerReading {
        name: name.into(),
        version: "6.3.1".into(),
        runtime_version: "Java 17".into(),
        uptime_millis: Some(60_000),
        connections: 2,
        consumers: 1,
        enqueued,
        dequeued: 0,
        usage: Usage { memory_percent: Some(3.0), store_percent: Some(100.0), temp_percent: None },
        backup: false,
        destinations: vec![Destination {
            mbean: format!(
                "org.apache.activemq:type=Broker,brokerName={name},destinationType=Queue,destinationName=orders"
            ),
            name: "orders".into(),
            kind: "queue",
            messages: 9,
            in_flight: 2,
            scheduled: 1,
            consumers: 0,
            added: orders_added,
            acknowledged: 0,
            paused: false,
        }],
        topology: Vec::new(),
    }
}

#[test]
fn destinations_become_queues_scoped_by_broker_with_rates_and_usage() {
    let names = ["amq-b".to_owned(), "amq-a".to_owned()];
    let flavors = [Some(ActivemqFlavor::Classic), None];
    let down = || Err(AdapterError::Unreachable("refused".into()));
    let mut meter = RateMeter::default();
    let first =
        snapshot_from(&names, &flavors, &[Ok(reading("amq-b", 10, 10)), down()], 1_000, &mut meter);
    assert_eq!(first.overview.message_stats.publish, None, "no earlier poll");
    let second =
        snapshot_from(&names, &flavors, &[Ok(reading("amq-b", 30, 14)), down()], 3_000, &mut meter);
    let nodes: Vec<_> = second.nodes.iter().map(|n| (n.name.as_str(), n.running)).collect();
    assert_eq!(nodes, [("amq-a", false), ("amq-b", true)], "a broker down keeps its name");
    assert!(second.nodes[1].disk_free_alarm, "a full store holds producers back");
    assert_eq!(second.overview.product, "ActiveMQ Classic");
    assert_eq!(second.overview.message_stats.publish, Some(10.0));
    let orders = &second.queues[0];
    assert_eq!(
        (orders.vhost.as_str(), orders.name.as_str(), orders.kind.as_str()),
        ("amq-b", "orders", "queue")
    );
    assert_eq!((orders.messages_ready, orders.messages_unacknowledged, orders.delayed), (6, 2, 1));
    assert_eq!(orders.message_stats.publish, Some(2.0));
    let brokers = brokers_of(&second.nodes);
    assert_eq!(brokers.len(), 1);
    assert_eq!(brokers[0].host, "amq-b");
    assert_eq!(brokers[0].id, crate::domain::queue::node_id("amq-b"));
}

#[test]
fn browsed_messages_of_either_flavor_read_alike() {
    let classic = json!({"JMSMessageID": "ID:1", "JMSTimestamp": "2026-12-02T14:10:12.934Z",
        "Text": "hello", "JMSDeliveryMode": "PERSISTENT", "StringProperties": {"k": "v"},
        "IntProperties": {"n": 3}, "JMSCorrelationID": null});
    let artemis = json!({"messageID": "23", "timestamp": 1796220625460_u64, "text": "x".repeat(70_000),
        "durable": false, "StringProperties": null, "type": 3});
    let bytes = json!({"JMSMessageID": "ID:2", "BodyPreview": [104, 105, -1]});
    let classic = browsed(&classic);
    assert_eq!((classic.id.as_str(), classic.text.as_deref()), ("ID:1", Some("hello")));
    assert_eq!(classic.persistent, Some(true));
    assert_eq!(classic.properties.get("n").map(String::as_str), Some("3"));
    let artemis = browsed(&artemis);
    assert_eq!((artemis.id.as_str(), artemis.timestamp.as_str()), ("23", "1796220625460"));
    assert_eq!(
        artemis.text.unwrap().chars().count(),
        SHOWN_TEXT_CHARS + 1,
        "cut, with an ellipsis"
    );
    assert_eq!(artemis.persistent, Some(false));
    let bytes = browsed(&bytes);
    assert_eq!(bytes.text, None, "not a text message");
    assert_eq!(bytes.preview.as_deref(), Some("hi\u{fffd}"), "its bytes previewed");
}

#[test]
fn brokers_sharing_a_name_are_told_apart_by_their_address() {
    let cluster = ClusterConfig::activemq(
        "amq",
        "http://a:8161/api/jolokia, http://b:8161/api/jolokia, http://c:8161/api/jolokia",
    );
    let crate::config::Connection::Activemq(connection) = &cluster.connection else { panic!() };
    let adapter = ActivemqAdapter::from_cluster(&cluster, connection).unwrap();
    assert_eq!(adapter.broker_names(), ["a:8161", "b:8161", "c:8161"], "before any answer");
    for (broker, name) in adapter.brokers.iter().zip(["localhost", "localhost", "amq-c"]) {
        broker.known.lock().unwrap().name = Some(name.into());
    }
    let names = adapter.broker_names();
    assert_eq!(names, ["localhost@a:8161", "localhost@b:8161", "amq-c"]);
    assert!(std::ptr::eq(adapter.broker("localhost@b:8161").unwrap(), &adapter.brokers[1]));
    assert!(adapter.broker("localhost").is_err(), "a shared name alone names no broker");
}
