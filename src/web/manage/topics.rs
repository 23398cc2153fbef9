//! Topic changes on a Kafka cluster: create, edit configs (merged into the explicitly set ones), add partitions, delete (the name typed to confirm).

use super::*;

// Topics

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewTopicBody {
    pub name: String,
    #[serde(default = "one")]
    pub partitions: i32,
    #[serde(default = "one")]
    pub replication_factor: i32,
    #[serde(default)]
    pub configs: std::collections::BTreeMap<String, String>,
}

pub(super) fn one() -> i32 {
    1
}

/// Kafka's own rule for topic names.
pub fn check_topic_name(name: &str) -> Result<(), WebError> {
    let valid = !name.is_empty()
        && name.len() <= 249
        && name != "."
        && name != ".."
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if valid {
        Ok(())
    } else {
        Err(invalid(format!(
            "{name:?} is not a valid topic name: 1-249 letters, digits, '.', '_' or '-'"
        )))
    }
}

pub(super) async fn create_topic(
    state: &AppState,
    caller: &Caller,
    cluster: &str,
    body: NewTopicBody,
) -> Result<(), WebError> {
    let what = Action { action: "topic.create", cluster: Some(cluster), object: Some(&body.name) };
    change(state, caller, Role::Admin, what, async |actions: &KafkaActions| {
        check_topic_name(&body.name)?;
        if !(1..=10_000).contains(&body.partitions) || !(1..=32).contains(&body.replication_factor)
        {
            return Err(invalid("partitions must be 1-10000 and the replication factor 1-32"));
        }
        let spec = TopicSpec {
            name: body.name.clone(),
            partitions: body.partitions,
            replication_factor: body.replication_factor,
            configs: body.configs.clone().into_iter().collect(),
        };
        actions.create_topic(&spec).await.map_err(broker_error)
    })
    .await
}

pub(super) fn key_values(text: &str) -> Result<Vec<(String, String)>, WebError> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|line| {
            line.split_once('=')
                .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
                .ok_or_else(|| invalid(format!("{line:?} is not key=value")))
        })
        .collect()
}

/// The explicitly set (non-default) configs of a topic as of the last poll.
pub(super) fn explicit_configs(
    state: &AppState,
    cluster: &str,
    topic: &str,
) -> Result<Vec<(String, String)>, WebError> {
    let snapshot = state
        .clusters
        .get(cluster)
        .and_then(|c| c.snapshot.clone())
        .ok_or_else(|| WebError::Query(QueryError::NotPolledYet(cluster.to_owned())))?;
    let found = snapshot.topics.iter().find(|t| t.name == topic).ok_or_else(|| {
        WebError::Query(QueryError::UnknownTopic {
            cluster: cluster.to_owned(),
            topic: topic.to_owned(),
        })
    })?;
    let configs = found.configs.as_ref().ok_or_else(|| {
        invalid(
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

pub(super) async fn edit_configs(
    state: &AppState,
    caller: &Caller,
    cluster: &str,
    topic: &str,
    set: Vec<(String, String)>,
    remove: Vec<String>,
) -> Result<(), WebError> {
    let what = Action { action: "topic.configs", cluster: Some(cluster), object: Some(topic) };
    let current = explicit_configs(state, cluster, topic);
    change(state, caller, Role::Admin, what, async |actions: &KafkaActions| {
        let merged = merge_configs(current?, &set, &remove);
        actions.replace_configs(topic, &merged).await.map_err(broker_error)
    })
    .await
}

pub(super) async fn add_partitions(
    state: &AppState,
    caller: &Caller,
    cluster: &str,
    topic: &str,
    total: usize,
) -> Result<(), WebError> {
    let what = Action { action: "topic.partitions", cluster: Some(cluster), object: Some(topic) };
    let current =
        Some(crate::web::messages::partitions_of(state, cluster, topic)).filter(|n| *n > 0);
    change(state, caller, Role::Admin, what, async |actions: &KafkaActions| {
        if let Some(current) = current.filter(|c| total <= *c) {
            return Err(invalid(format!(
                "the topic has {current} partitions; partitions can only be added"
            )));
        }
        actions.add_partitions(topic, total).await.map_err(broker_error)
    })
    .await
}

pub(super) async fn delete_topic(
    state: &AppState,
    caller: &Caller,
    cluster: &str,
    topic: &str,
    confirm: &str,
) -> Result<(), WebError> {
    let what = Action { action: "topic.delete", cluster: Some(cluster), object: Some(topic) };
    change(state, caller, Role::Admin, what, async |actions: &KafkaActions| {
        if confirm != topic {
            return Err(invalid("type the topic's name to confirm its deletion"));
        }
        actions.delete_topic(topic).await.map_err(broker_error)
    })
    .await
}
