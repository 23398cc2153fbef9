//! What kinds of cluster Osprey watches and what each can do ([`Capabilities`]: pages and
//! navigation ask this instead of testing the kind), the rule every name (cluster, rule,
//! channel, user) follows, and how a name is repeated in a message (clipped).

use serde::Deserialize;

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ClusterKind {
    Kafka,
    /// RabbitMQ through its management HTTP API (`management_url`, `username`, `password`).
    Rabbitmq,
    /// RocketMQ through its name servers and brokers (`namesrv_addrs`, optional ACL keys).
    Rocketmq,
    /// beanstalkd work queues through their text protocol (`servers`).
    Beanstalkd,
    /// Gearman job servers through their administrative protocol (`servers`).
    Gearman,
    /// ActiveMQ Classic and Artemis brokers through Jolokia (`management_urls`, `username`,
    /// `password`).
    Activemq,
}

impl std::fmt::Display for ClusterKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a kind of cluster has and what operators can do on it, and the words its pages use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Capabilities {
    /// Topics and consumer groups (Kafka, RocketMQ); otherwise queues (RabbitMQ, beanstalkd).
    pub topics: bool,
    /// What a queue's name is unique within: a virtual host or a server.
    pub scope: Scope,
    /// What its queues are called on its pages.
    pub queue_noun: QueueNoun,
    /// Exchanges and bindings, publishing through an exchange (RabbitMQ).
    pub exchanges: bool,
    /// Jobs delayed and buried beside ready and reserved ones, kicked back by operators
    /// (beanstalkd).
    pub jobs: bool,
    /// Brokers' memory, store and temporary store use against their limits (ActiveMQ).
    pub usage: bool,
    /// Queues of several types, worth a column: classic, quorum and stream queues (RabbitMQ),
    /// queues and topics (ActiveMQ).
    pub queue_types: bool,
    /// A topic's parts are queues spread over brokers (RocketMQ), not partitions.
    pub queues_as_partitions: bool,
    /// Replicas, in-sync replicas and a controller (Kafka).
    pub replication: bool,
    /// How the configured addresses are called on the cluster page.
    pub addresses: Addresses,
    /// Test messages to a topic (Kafka, RocketMQ) or an exchange (RabbitMQ).
    pub send: bool,
    /// Reading a topic's messages from a chosen position (Kafka).
    pub browse: bool,
    /// Peeking at a queue's messages without taking them (RabbitMQ, beanstalkd).
    pub peek: bool,
    /// Creating and deleting topics, adding partitions, editing configs (Kafka).
    pub topic_admin: bool,
    /// Resetting and deleting consumer groups (Kafka).
    pub group_admin: bool,
    /// Finding messages by store time, key and id, with each group's consumption, the trace,
    /// dead letters and producer connections (RocketMQ).
    pub message_query: bool,
    /// Topics as queues per broker with a permission, subscription groups with settings,
    /// offsets reset to a time (RocketMQ).
    pub queue_admin: bool,
    /// Topics the servers make for themselves, hidden from lists and counts by default.
    pub system_topics: bool,
}

/// What the configured addresses of a cluster are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Addresses {
    BootstrapServers,
    NameServers,
    ManagementApi,
    Servers,
}

/// What a kind calls its queues: queues (RabbitMQ), tubes (beanstalkd), functions (Gearman),
/// destinations (ActiveMQ's queues and topics).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum QueueNoun {
    Queue,
    Tube,
    Function,
    Destination,
}

/// What a queue's name is unique within, as the queue pages call it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    VirtualHost,
    Server,
    Broker,
}

impl ClusterKind {
    /// What clusters of this kind have and allow.
    pub fn capabilities(self) -> Capabilities {
        let none = Capabilities {
            topics: true,
            scope: Scope::VirtualHost,
            queue_noun: QueueNoun::Queue,
            exchanges: false,
            jobs: false,
            usage: false,
            queue_types: false,
            queues_as_partitions: false,
            replication: false,
            addresses: Addresses::BootstrapServers,
            send: true,
            browse: false,
            peek: false,
            topic_admin: false,
            group_admin: false,
            message_query: false,
            queue_admin: false,
            system_topics: false,
        };
        match self {
            ClusterKind::Kafka => Capabilities {
                replication: true,
                browse: true,
                topic_admin: true,
                group_admin: true,
                ..none
            },
            ClusterKind::Rocketmq => Capabilities {
                queues_as_partitions: true,
                addresses: Addresses::NameServers,
                system_topics: true,
                message_query: true,
                queue_admin: true,
                ..none
            },
            ClusterKind::Rabbitmq => Capabilities {
                topics: false,
                exchanges: true,
                queue_types: true,
                addresses: Addresses::ManagementApi,
                peek: true,
                ..none
            },
            ClusterKind::Beanstalkd => Capabilities {
                topics: false,
                scope: Scope::Server,
                queue_noun: QueueNoun::Tube,
                jobs: true,
                addresses: Addresses::Servers,
                peek: true,
                ..none
            },
            ClusterKind::Gearman => Capabilities {
                topics: false,
                scope: Scope::Server,
                queue_noun: QueueNoun::Function,
                addresses: Addresses::Servers,
                ..none
            },
            ClusterKind::Activemq => Capabilities {
                topics: false,
                scope: Scope::Broker,
                queue_noun: QueueNoun::Destination,
                usage: true,
                queue_types: true,
                addresses: Addresses::ManagementApi,
                peek: true,
                ..none
            },
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ClusterKind::Kafka => "kafka",
            ClusterKind::Rabbitmq => "rabbitmq",
            ClusterKind::Rocketmq => "rocketmq",
            ClusterKind::Beanstalkd => "beanstalkd",
            ClusterKind::Gearman => "gearman",
            ClusterKind::Activemq => "activemq",
        }
    }

    /// The broker id a `metrics_urls` / `jolokia_urls` key stands for, `None` when it stands for
    /// none. An integer is the broker id itself, whatever the kind. On a RabbitMQ cluster any other
    /// key is a node name (`rabbit@host`) and stands for
    /// [`node_id`](crate::domain::queue::node_id) of it, the id the node has as a broker: node
    /// positions are no ids. (Should two listed nodes' names hash alike, about one chance in 2^31,
    /// [`node_ids`](crate::domain::queue::node_ids) moves the later one to the next id; its key
    /// must then be that id.)
    pub fn broker_key(self, key: &str) -> Option<i32> {
        let key = key.trim();
        if let Ok(id) = key.parse::<i32>() {
            return Some(id);
        }
        let named = matches!(
            self,
            ClusterKind::Rabbitmq
                | ClusterKind::Beanstalkd
                | ClusterKind::Gearman
                | ClusterKind::Activemq
        );
        (named && !key.is_empty()).then(|| super::queue::node_id(key))
    }
}

/// Names of clusters, rules, channels and users: 1-64 letters, digits, `.`, `_` and `-`.
pub fn is_valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        // `.` and `..` in a URL path are resolved away by clients and proxies.
        && name.bytes().any(|b| b != b'.')
}

/// Longest piece of user or broker input an error message repeats.
pub const CLIP_CHARS: usize = 80;

/// `text` shortened to at most [`CLIP_CHARS`] characters, the rest replaced by `…`, so a
/// 300-character name neither floods a page nor a log line.
pub fn shortened(text: &str) -> std::borrow::Cow<'_, str> {
    match text.char_indices().nth(CLIP_CHARS) {
        Some((cut, _)) => format!("{}…", &text[..cut]).into(),
        None => text.into(),
    }
}

/// `text` quoted as an error message repeats it, [`shortened`].
pub fn clipped(text: &str) -> String {
    format!("{:?}", shortened(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_says_what_it_has_and_allows() {
        let kafka = ClusterKind::Kafka.capabilities();
        assert!(kafka.replication && kafka.browse && kafka.topic_admin && kafka.group_admin);
        let rocket = ClusterKind::Rocketmq.capabilities();
        assert!(rocket.queues_as_partitions && rocket.system_topics && rocket.send);
        assert!(!rocket.replication && !rocket.browse && !rocket.topic_admin);
        assert!(rocket.message_query && rocket.queue_admin && !kafka.message_query);
        assert_eq!(rocket.addresses, Addresses::NameServers);
        let rabbit = ClusterKind::Rabbitmq.capabilities();
        assert!(!rabbit.topics && rabbit.peek && rabbit.send && !rabbit.browse);
        assert!(rabbit.exchanges && !rabbit.jobs && rabbit.scope == Scope::VirtualHost);
        let beanstalk = ClusterKind::Beanstalkd.capabilities();
        assert!(!beanstalk.topics && beanstalk.jobs && beanstalk.peek && !beanstalk.exchanges);
        assert_eq!(beanstalk.scope, Scope::Server);
        let gearman = ClusterKind::Gearman.capabilities();
        assert!(!gearman.topics && !gearman.jobs && !gearman.peek && gearman.send);
        assert_eq!(gearman.queue_noun, QueueNoun::Function);
        let activemq = ClusterKind::Activemq.capabilities();
        assert!(!activemq.topics && activemq.usage && activemq.peek && activemq.send);
        assert!(!activemq.jobs && !activemq.exchanges && activemq.scope == Scope::Broker);
        assert_eq!(activemq.queue_noun, QueueNoun::Destination);
    }

    #[test]
    fn long_names_are_clipped_in_messages_and_short_ones_kept_whole() {
        assert_eq!(clipped("orders"), "\"orders\"");
        let long = "é".repeat(300);
        let shown = clipped(&long);
        assert_eq!(shown.chars().count(), CLIP_CHARS + 3);
        assert!(shown.ends_with("…\""));
    }
}
