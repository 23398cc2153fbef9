//! Consumer-group changes: offset resets (planned from the last poll, only without active members, applied exactly as previewed) and deletion.

use super::*;

pub(super) fn group_of(state: &AppState, cluster: &str, group: &str) -> Result<GroupLag, WebError> {
    let cluster_state = state
        .clusters
        .get(cluster)
        .ok_or_else(|| WebError::Query(QueryError::UnknownCluster(cluster.to_owned())))?;
    cluster_state.groups.iter().find(|g| g.summary.name == group).cloned().ok_or_else(|| {
        WebError::Query(QueryError::UnknownGroup {
            cluster: cluster.to_owned(),
            group: group.to_owned(),
        })
    })
}

pub(super) async fn reset(
    state: &AppState,
    caller: &Caller,
    cluster: &str,
    group_name: &str,
    body: ResetRequest,
) -> Result<ResetOutcome, WebError> {
    let action = if body.apply { "group.reset" } else { "group.reset.preview" };
    let what = Action { action, cluster: Some(cluster), object: Some(group_name) };
    let group = group_of(state, cluster, group_name);
    change(state, caller, Role::Operator, what, async |actions: &KafkaActions| {
        let group = group?;
        let snapshot = state
            .clusters
            .get(cluster)
            .and_then(|c| c.snapshot.clone())
            .ok_or_else(|| WebError::Query(QueryError::NotPolledYet(cluster.to_owned())))?;
        let mut at_time = HashMap::new();
        if let Some(at) = operate::reset_time(&body)? {
            for (topic, partitions) in operate::reset_scope(&group, &body) {
                let found = actions.offsets_at(topic, &partitions, at).await?;
                at_time.insert(topic.to_owned(), found);
            }
        }
        let changes = operate::plan_reset(&group, &snapshot, &body, &at_time)?;
        if body.apply {
            let offsets: Vec<(String, i32, i64)> =
                changes.iter().map(|c| (c.topic.clone(), c.partition, c.new)).collect();
            actions.commit_offsets(group_name, &offsets).await.map_err(broker_error)?;
        }
        Ok(ResetOutcome { changes, applied: body.apply })
    })
    .await
}

pub(super) async fn delete_group(
    state: &AppState,
    caller: &Caller,
    cluster: &str,
    group: &str,
) -> Result<(), WebError> {
    let what = Action { action: "group.delete", cluster: Some(cluster), object: Some(group) };
    change(state, caller, Role::Admin, what, async |actions: &KafkaActions| {
        actions.delete_group(group).await.map_err(broker_error)
    })
    .await
}
