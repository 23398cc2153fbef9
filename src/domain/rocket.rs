//! What a poll sees of a RocketMQ cluster beyond the generic snapshot: broker names and roles with
//! their runtime stats, topic classes, and each consumer group's per-queue progress and clients.

use serde::Serialize;

use super::Millis;

#[derive(Debug, Clone, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct RocketSnapshot {
    /// Name server that answered this poll.
    pub namesrv: String,
    /// Sorted by (broker name, broker id); index `i` is generic broker id `i`.
    pub brokers: Vec<RocketBroker>,
    /// Same order as the generic snapshot's topics.
    pub topics: Vec<RocketTopic>,
    /// Same order as the generic snapshot's groups.
    pub groups: Vec<RocketGroup>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct RocketBroker {
    pub cluster: String,
    pub name: String,
    /// 0 is the master; slaves count up from 1.
    pub broker_id: i64,
    pub address: String,
    pub runtime: Option<BrokerRuntime>,
    /// Why the runtime stats could not be read this poll.
    pub error: Option<String>,
}

impl RocketBroker {
    pub fn is_master(&self) -> bool {
        self.broker_id == 0
    }

    /// `cluster/name/id`: what names this broker for good, whichever others run.
    pub fn key(&self) -> String {
        format!("{}/{}/{}", self.cluster, self.name, self.broker_id)
    }
}

/// Each broker's generic id, in the order of `brokers`: [`super::name_id`] of its key, not its
/// place in the name server's table, so a broker dropping out of the table (as a stopped one
/// does at once) moves no other broker's id, history or `broker_down` alert.
pub fn broker_ids(brokers: &[RocketBroker]) -> Vec<i32> {
    let ids = super::name_ids(brokers, RocketBroker::key);
    brokers
        .iter()
        .map(|broker| ids.iter().find(|(_, b)| std::ptr::eq(*b, broker)).map_or(0, |(id, _)| *id))
        .collect()
}

/// GET_BROKER_RUNTIME_INFO, the values a dashboard shows.
#[derive(Debug, Clone, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct BrokerRuntime {
    pub version: Option<String>,
    /// Messages stored per second (the broker's own 10 s average).
    pub put_tps: Option<f64>,
    /// Messages delivered to consumers per second.
    pub get_tps: Option<f64>,
    pub msg_put_today: Option<u64>,
    pub msg_get_today: Option<u64>,
    pub msg_put_yesterday: Option<u64>,
    pub msg_get_yesterday: Option<u64>,
    /// Fraction (0–1) of the commit log disk in use.
    pub commitlog_disk_ratio: Option<f64>,
    pub boot_at: Option<Millis>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TopicClass {
    Normal,
    /// `%RETRY%group`: messages a group failed to consume, to be retried.
    Retry,
    /// `%DLQ%group`: messages that ran out of retries.
    DeadLetter,
    /// Topics the servers create for themselves (TBW102, SCHEDULE_TOPIC_XXXX, rmq_sys_*, …).
    System,
}

impl TopicClass {
    pub fn as_str(self) -> &'static str {
        match self {
            TopicClass::Normal => "normal",
            TopicClass::Retry => "retry",
            TopicClass::DeadLetter => "dead_letter",
            TopicClass::System => "system",
        }
    }

    /// A topic's class from its name; `infrastructure` holds the cluster and broker names, for
    /// which brokers create topics of their own.
    pub fn of(topic: &str, infrastructure: &[&str]) -> TopicClass {
        const SYSTEM: [&str; 9] = [
            "TBW102",
            "SELF_TEST_TOPIC",
            "OFFSET_MOVED_EVENT",
            "SCHEDULE_TOPIC_XXXX",
            "BenchmarkTest",
            "TRANS_HALF_TOPIC",
            "TRANS_OP_HALF_TOPIC",
            "TRANS_CHECK_MAX_TIME_TOPIC",
            "DefaultHeartBeatSyncerTopic",
        ];
        if topic.starts_with("%RETRY%") {
            TopicClass::Retry
        } else if topic.starts_with("%DLQ%") {
            TopicClass::DeadLetter
        } else if SYSTEM.contains(&topic)
            || topic.starts_with("rmq_sys_")
            || topic.starts_with("RMQ_SYS_")
            // Request-reply topics: `<cluster>_REPLY_TOPIC` (some servers use the broker name).
            || topic.ends_with("_REPLY_TOPIC")
            || infrastructure.contains(&topic)
        {
            TopicClass::System
        } else {
            TopicClass::Normal
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct RocketTopic {
    pub name: String,
    pub class: TopicClass,
    /// The generic topic's partition `i` is `queues[i]`.
    pub queues: Vec<MessageQueue>,
    /// Route: per broker name, read and write queue counts and permission (`RW-`, `R--`, …).
    pub route: Vec<QueueRoute>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct MessageQueue {
    pub broker: String,
    pub queue_id: i32,
    /// When the queue last stored a message, when the broker says.
    pub last_update: Option<Millis>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct QueueRoute {
    pub broker: String,
    /// The broker's master address.
    pub master: Option<String>,
    pub read_queues: i32,
    pub write_queues: i32,
    pub perm: i32,
}

impl QueueRoute {
    pub fn perm_text(&self) -> String {
        let flag = |bit: i32, c: char| if self.perm & bit != 0 { c } else { '-' };
        [flag(4, 'R'), flag(2, 'W'), flag(1, 'X')].iter().collect()
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct RocketGroup {
    pub name: String,
    /// `CLUSTERING` or `BROADCASTING`, when clients are online.
    pub message_model: Option<String>,
    /// `CONSUME_PASSIVELY` (push) or `CONSUME_ACTIVELY` (pull).
    pub consume_type: Option<String>,
    pub consume_tps: Option<f64>,
    pub clients: Vec<ConsumerClient>,
    /// Topics the online clients subscribe to, with their tag expressions.
    pub subscriptions: Vec<(String, String)>,
    /// Per queue: where consumption stands. The generic group's offsets follow the same order.
    pub queues: Vec<QueueProgress>,
    /// Why the consume stats could not be read this poll.
    pub error: Option<String>,
    /// The subscription group's settings as the first master that lists it has them.
    pub settings: Option<GroupSettings>,
}

/// What a subscription group allows (`SubscriptionGroupConfig`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all(deserialize = "camelCase", serialize = "snake_case"))]
pub struct GroupSettings {
    #[serde(default = "yes")]
    pub consume_enable: bool,
    #[serde(default = "yes")]
    pub consume_broadcast_enable: bool,
    #[serde(default = "sixteen")]
    pub retry_max_times: i32,
    #[serde(default = "one")]
    pub retry_queue_nums: i32,
}

impl Default for GroupSettings {
    fn default() -> Self {
        GroupSettings {
            consume_enable: true,
            consume_broadcast_enable: true,
            retry_max_times: 16,
            retry_queue_nums: 1,
        }
    }
}

fn yes() -> bool {
    true
}
fn sixteen() -> i32 {
    16
}
fn one() -> i32 {
    1
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct ConsumerClient {
    pub client_id: String,
    pub address: String,
    pub language: String,
    pub version: String,
    /// The RocketMQ 5 proxy a gRPC client is connected through (brokers never see it).
    pub proxy: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct QueueProgress {
    pub topic: String,
    pub broker: String,
    pub queue_id: i32,
    pub broker_offset: i64,
    pub consumer_offset: i64,
    /// Store time of the last consumed message.
    pub last_consumed_at: Option<Millis>,
    /// Store time of the oldest message not yet consumed (the one at `consumer_offset`): the
    /// exact age of the backlog.
    pub oldest_unconsumed_at: Option<Millis>,
}

impl QueueProgress {
    pub fn lag(&self) -> i64 {
        (self.broker_offset - self.consumer_offset).max(0)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn broker_ids_follow_the_broker_not_its_place_in_the_table() {
        let broker = |name: &str, id: i64| RocketBroker {
            cluster: "c".into(),
            name: name.into(),
            broker_id: id,
            address: format!("{name}:{id}"),
            ..RocketBroker::default()
        };
        let all = [broker("a", 0), broker("a", 1), broker("b", 0)];
        let ids = broker_ids(&all);
        assert_eq!(
            ids,
            [
                super::super::name_id("c/a/0"),
                super::super::name_id("c/a/1"),
                super::super::name_id("c/b/0")
            ]
        );
        // The slave leaves the table: broker-b keeps its id.
        let without_slave = broker_ids(&[broker("a", 0), broker("b", 0)]);
        assert_eq!(without_slave, [ids[0], ids[2]]);
    }

    use super::*;

    #[test]
    fn topics_are_classified_by_name() {
        let infrastructure = ["DefaultCluster", "broker-a"];
        let class = |t: &str| TopicClass::of(t, &infrastructure);
        assert_eq!(class("orders"), TopicClass::Normal);
        assert_eq!(class("%RETRY%billing"), TopicClass::Retry);
        assert_eq!(class("%DLQ%billing"), TopicClass::DeadLetter);
        assert_eq!(class("TBW102"), TopicClass::System);
        assert_eq!(class("rmq_sys_wheel_timer"), TopicClass::System);
        assert_eq!(class("RMQ_SYS_TRANS_HALF_TOPIC"), TopicClass::System);
        assert_eq!(class("broker-a"), TopicClass::System);
        assert_eq!(class("DefaultCluster"), TopicClass::System);
        assert_eq!(class("broker-a_REPLY_TOPIC"), TopicClass::System);
    }

    #[test]
    fn permissions_read_like_the_dashboard() {
        let route = |perm| QueueRoute {
            broker: "b".into(),
            master: None,
            read_queues: 4,
            write_queues: 4,
            perm,
        };
        assert_eq!(route(6).perm_text(), "RW-");
        assert_eq!(route(4).perm_text(), "R--");
        assert_eq!(route(7).perm_text(), "RWX");
    }
}
