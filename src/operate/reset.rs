//! Offset resets planned from the last poll: to the earliest or latest offsets, to a time, or to
//! explicit offsets; only for a group without active members, applied exactly as previewed.

use serde::{Deserialize, Serialize};

use super::{OperateError, Refused};
use crate::brokers::AdapterError;
use crate::domain::{ClusterSnapshot, Millis};
use crate::evaluator::GroupLag;

/// Where a reset moves a group's offsets.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResetRequest {
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

/// The target offset of every partition of `group` in the request's scope, from `snapshot`'s
/// offsets; `offsets_at` asks the brokers for a topic's offsets at a time.
pub async fn plan_reset(
    group: &GroupLag,
    snapshot: &ClusterSnapshot,
    request: &ResetRequest,
    offsets_at: impl AsyncFn(&str, &[i32], Millis) -> Result<Vec<(i32, i64)>, AdapterError>,
) -> Result<Vec<OffsetChange>, OperateError> {
    if group.summary.members > 0 {
        return Err(Refused::whole(format!(
            "group {} has {} active members; stop its consumers first",
            crate::domain::clipped(&group.summary.name),
            group.summary.members
        ))
        .into());
    }
    if request.to == "offsets" {
        return explicit(group, &request.offsets).map_err(OperateError::from);
    }
    let mut changes = Vec::new();
    for topic in
        group.topics.iter().filter(|t| request.topic.as_deref().is_none_or(|only| only == t.topic))
    {
        let partitions =
            snapshot.topics.iter().find(|t2| t2.name == topic.topic).map(|t2| &t2.partitions);
        let ids: Vec<i32> = topic.partitions.iter().map(|p| p.partition).collect();
        let at_time = match request.to.as_str() {
            "timestamp" => {
                let at = crate::clock::parse_utc(request.at.as_deref().unwrap_or_default())
                    .map_err(|message| Refused::field("at", message))?;
                Some(offsets_at(&topic.topic, &ids, at).await?)
            }
            "earliest" | "latest" => None,
            other => {
                return Err(Refused::field(
                    "to",
                    format!(
                        "to={}: use earliest, latest, timestamp or offsets",
                        crate::domain::clipped(other)
                    ),
                )
                .into());
            }
        };
        for p in &topic.partitions {
            let bounds = partitions.and_then(|ps| ps.iter().find(|x| x.id == p.partition));
            let new = match (request.to.as_str(), &at_time) {
                ("earliest", _) => bounds.and_then(|b| b.earliest_offset),
                ("latest", _) => bounds.and_then(|b| b.latest_offset),
                (_, Some(found)) => {
                    found.iter().find(|(id, _)| *id == p.partition).map(|(_, o)| *o)
                }
                _ => None,
            }
            .ok_or_else(|| {
                Refused::whole(format!("no offsets known for {}/{}", topic.topic, p.partition))
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
        return Err(Refused::whole("the group has no committed offsets in that scope").into());
    }
    Ok(changes)
}

/// Explicit (topic, partition, offset) targets, each beside the group's committed offset.
fn explicit(group: &GroupLag, offsets: &[(String, i32, i64)]) -> Result<Vec<OffsetChange>, Refused> {
    if offsets.is_empty() {
        return Err(Refused::field("offsets", "name the offsets: topic, partition, offset"));
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
    offsets
        .iter()
        .map(|(t, p, o)| {
            if *o < 0 {
                return Err(Refused::field("offsets", format!("offset {o} for {t}/{p} is negative")));
            }
            Ok(OffsetChange { topic: t.clone(), partition: *p, current: current(t, *p), new: *o })
        })
        .collect()
}
