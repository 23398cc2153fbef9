//! What kinds of cluster Osprey watches, the rule every name (cluster, rule, channel, user)
//! follows, and how a name is repeated in a message (clipped).

use serde::Deserialize;

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ClusterKind {
    Kafka,
    /// RabbitMQ through its management HTTP API (`management_url`, `username`, `password`).
    Rabbitmq,
    /// RocketMQ through its name servers and brokers (`namesrv_addrs`, optional ACL keys).
    Rocketmq,
}

impl ClusterKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ClusterKind::Kafka => "kafka",
            ClusterKind::Rabbitmq => "rabbitmq",
            ClusterKind::Rocketmq => "rocketmq",
        }
    }

    /// The broker id a `metrics_urls` / `jolokia_urls` key stands for, `None` when it stands for
    /// none. An integer is the broker id itself, whatever the kind. On a RabbitMQ cluster any other
    /// key is a node name (`rabbit@host`) and stands for
    /// [`node_id`](crate::domain::rabbit::node_id) of it, the id the node has as a broker: node
    /// positions are no ids. (Should two listed nodes' names hash alike, about one chance in 2^31,
    /// [`node_ids`](crate::domain::rabbit::node_ids) moves the later one to the next id; its key
    /// must then be that id.)
    pub fn broker_key(self, key: &str) -> Option<i32> {
        let key = key.trim();
        if let Ok(id) = key.parse::<i32>() {
            return Some(id);
        }
        (self == ClusterKind::Rabbitmq && !key.is_empty()).then(|| super::rabbit::node_id(key))
    }
}

/// Names of clusters, rules, channels and users: 1-64 letters, digits, `.`, `_` and `-`.
pub fn is_valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// Longest piece of user or broker input an error message repeats.
pub const CLIP_CHARS: usize = 80;

/// `text` quoted as an error message repeats it: at most [`CLIP_CHARS`] characters, the rest
/// replaced by `…`, so a 300-character name neither floods a page nor a log line.
pub fn clipped(text: &str) -> String {
    match text.char_indices().nth(CLIP_CHARS) {
        Some((cut, _)) => format!("{:?}", format!("{}…", &text[..cut])),
        None => format!("{text:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_names_are_clipped_in_messages_and_short_ones_kept_whole() {
        assert_eq!(clipped("orders"), "\"orders\"");
        let long = "é".repeat(300);
        let shown = clipped(&long);
        assert_eq!(shown.chars().count(), CLIP_CHARS + 3);
        assert!(shown.ends_with("…\""));
    }
}
