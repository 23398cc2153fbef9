//! Consumer-group changes: offset resets (planned from the last poll, only without active members, applied exactly as previewed) and deletion.

use super::*;

// Groups

/// Where a reset moves a group's offsets.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResetBody {
    /// Only this topic; default: every topic the group has offsets on.
    #[serde(default)]
    pub topic: Option<String>,
    /// `earliest`, `latest`, `timestamp` (with `at`) or `offsets` (with `offsets`).
    pub to: String,
    #[serde(default)]
    pub at: Option<String>,
    /// Explicit (topic, partition, offset) targets.
    #[serde(default)]
    pub offsets: Vec<(String, i32, i64)>,
    /// Only compute the change (the default); `true` commits it.
    #[serde(default)]
    pub apply: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OffsetChange {
    pub topic: String,
    pub partition: i32,
    pub current: Option<i64>,
    pub new: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct ResetOutcome {
    pub changes: Vec<OffsetChange>,
    pub applied: bool,
}

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

/// The target offset of every partition in scope.
pub(super) async fn plan_reset(
    state: &AppState,
    actions: &KafkaActions,
    cluster: &str,
    group: &GroupLag,
    body: &ResetBody,
) -> Result<Vec<OffsetChange>, WebError> {
    if body.to == "offsets" {
        if body.offsets.is_empty() {
            return Err(invalid("name the offsets: topic, partition, offset"));
        }
        let current = |t: &str, p: i32| {
            group
                .topics
                .iter()
                .find(|x| x.topic == t)?
                .partitions
                .iter()
                .find(|x| x.partition == p)
                .map(|x| x.committed)
        };
        return body
            .offsets
            .iter()
            .map(|(t, p, o)| {
                if *o < 0 {
                    return Err(invalid(format!("offset {o} for {t}/{p} is negative")));
                }
                Ok(OffsetChange {
                    topic: t.clone(),
                    partition: *p,
                    current: current(t, *p),
                    new: *o,
                })
            })
            .collect();
    }
    let snapshot = state
        .clusters
        .get(cluster)
        .and_then(|c| c.snapshot.clone())
        .ok_or_else(|| WebError::Query(QueryError::NotPolledYet(cluster.to_owned())))?;
    let mut changes = Vec::new();
    for topic in
        group.topics.iter().filter(|t| body.topic.as_deref().is_none_or(|only| only == t.topic))
    {
        let partitions =
            snapshot.topics.iter().find(|t2| t2.name == topic.topic).map(|t2| &t2.partitions);
        let ids: Vec<i32> = topic.partitions.iter().map(|p| p.partition).collect();
        let at_time = match body.to.as_str() {
            "timestamp" => {
                let at = parse_time(body.at.as_deref().unwrap_or_default())?;
                Some(actions.offsets_at(&topic.topic, &ids, at).await.map_err(broker_error)?)
            }
            "earliest" | "latest" => None,
            other => {
                return Err(invalid(format!(
                    "to={other:?}: use earliest, latest, timestamp or offsets"
                )));
            }
        };
        for p in &topic.partitions {
            let bounds = partitions.and_then(|ps| ps.iter().find(|x| x.id == p.partition));
            let new = match (body.to.as_str(), &at_time) {
                ("earliest", _) => bounds.and_then(|b| b.earliest_offset),
                ("latest", _) => bounds.and_then(|b| b.latest_offset),
                (_, Some(found)) => {
                    found.iter().find(|(id, _)| *id == p.partition).map(|(_, o)| *o)
                }
                _ => None,
            }
            .ok_or_else(|| {
                invalid(format!("no offsets known for {}/{}", topic.topic, p.partition))
            })?;
            changes.push(OffsetChange {
                topic: topic.topic.clone(),
                partition: p.partition,
                current: Some(p.committed),
                new,
            });
        }
    }
    if changes.is_empty() {
        return Err(invalid("the group has no committed offsets in that scope"));
    }
    Ok(changes)
}

pub(super) async fn reset(
    state: &AppState,
    caller: &Caller,
    cluster: &str,
    group_name: &str,
    body: ResetBody,
) -> Result<ResetOutcome, WebError> {
    let action = if body.apply { "group.reset" } else { "group.reset.preview" };
    let what = Action { action, cluster: Some(cluster), object: Some(group_name) };
    let group = group_of(state, cluster, group_name);
    change(state, caller, Role::Operator, what, async |actions: &KafkaActions| {
        let group = group?;
        if group.summary.members > 0 {
            return Err(invalid(format!(
                "group {group_name} has {} active members; stop its consumers first",
                group.summary.members
            )));
        }
        let changes = plan_reset(state, actions, cluster, &group, &body).await?;
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
