//! Topic changes checked before they reach a broker: Kafka's name rule, partition and
//! replication bounds, and config edits merged into what the topic explicitly sets.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::Refused;
use crate::domain::Topic;

/// A topic to create.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TopicRequest {
    pub name: String,
    #[serde(default = "one")]
    pub partitions: i32,
    #[serde(default = "one")]
    pub replication_factor: i32,
    #[serde(default)]
    pub configs: BTreeMap<String, String>,
}

fn one() -> i32 {
    1
}

/// Kafka's own rule for topic names.
pub fn check_topic_name(name: &str) -> Result<(), Refused> {
    let valid = !name.is_empty()
        && name.len() <= 249
        && name != "."
        && name != ".."
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if valid {
        Ok(())
    } else {
        Err(Refused::field(
            "name",
            format!(
                "{} is not a valid topic name: 1-249 letters, digits, '.', '_' or '-'",
                crate::domain::clipped(name)
            ),
        ))
    }
}

/// A new topic's name, partition count and replication factor, within Kafka's bounds.
pub fn check_new_topic(request: &TopicRequest) -> Result<(), Refused> {
    check_topic_name(&request.name)?;
    if !(1..=10_000).contains(&request.partitions) {
        return Err(Refused::field("partitions", "partitions must be 1-10000"));
    }
    if !(1..=32).contains(&request.replication_factor) {
        return Err(Refused::field("replication_factor", "the replication factor must be 1-32"));
    }
    Ok(())
}

/// The explicitly set (non-default, non-sensitive) configs of `topic` as last polled.
pub fn explicit_configs(topic: &Topic) -> Result<Vec<(String, String)>, Refused> {
    let configs = topic.configs.as_ref().ok_or_else(|| {
        Refused::whole(
            "the brokers did not report this topic's configuration; try again after the next poll",
        )
    })?;
    Ok(configs
        .iter()
        .filter(|c| !c.is_default && !c.is_sensitive)
        .filter_map(|c| Some((c.name.clone(), c.value.clone()?)))
        .collect())
}

/// Merges `set` and `remove` into the current explicit configs: what an incremental change is.
pub fn merge_configs(
    mut current: Vec<(String, String)>,
    set: &[(String, String)],
    remove: &[String],
) -> Vec<(String, String)> {
    current.retain(|(k, _)| !remove.contains(k) && !set.iter().any(|(s, _)| s == k));
    current.extend(set.iter().cloned());
    current.sort();
    current
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_names_follow_kafka() {
        assert!(check_topic_name("orders.v1_eu-2").is_ok());
        for bad in ["", ".", "..", "with space", "ü", &"x".repeat(250)] {
            assert!(check_topic_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn config_edits_merge_into_what_is_set() {
        let current = vec![
            ("cleanup.policy".to_string(), "compact".to_string()),
            ("retention.ms".into(), "1000".into()),
        ];
        let merged = merge_configs(
            current,
            &[("retention.ms".into(), "5000".into()), ("segment.ms".into(), "60000".into())],
            &["cleanup.policy".into()],
        );
        assert_eq!(
            merged,
            [
                ("retention.ms".to_string(), "5000".to_string()),
                ("segment.ms".into(), "60000".into())
            ]
        );
    }
}
