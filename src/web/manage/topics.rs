//! Topic changes on a Kafka cluster: create, edit configs (merged into the explicitly set ones), add partitions, delete (the name typed to confirm).

use super::*;

pub(super) async fn create_topic(
    state: &AppState,
    caller: &Caller,
    cluster: &str,
    body: TopicRequest,
) -> Result<(), WebError> {
    let what = Action { action: "topic.create", cluster: Some(cluster), object: Some(&body.name) };
    change(state, caller, Role::Admin, what, async |actions: &KafkaActions| {
        operate::check_new_topic(&body)?;
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

/// The explicitly set configs of a topic as of the last poll.
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
    let found = snapshot.topic(topic).ok_or_else(|| {
        WebError::Query(QueryError::UnknownTopic {
            cluster: cluster.to_owned(),
            topic: topic.to_owned(),
        })
    })?;
    Ok(operate::explicit_configs(found)?)
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
        let merged = operate::merge_configs(current?, &set, &remove);
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
