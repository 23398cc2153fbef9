//! Offset resets planned from the last poll: to the earliest or latest offsets, to a time, or to
//! explicit offsets; only for a group without active members, applied exactly as previewed.

use serde::{Deserialize, Serialize};

use std::collections::HashMap;

use super::Refused;
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

/// The time a `timestamp` reset goes back to; `None` for the other kinds of reset.
pub fn reset_time(request: &ResetRequest) -> Result<Option<Millis>, Refused> {
    if request.to != "timestamp" {
        return Ok(None);
    }
    crate::clock::parse_utc(request.at.as_deref().unwrap_or_default())
        .map(Some)
        .map_err(|message| Refused::field("at", message))
}

/// The topics a reset covers, each with the group's partitions on it.
pub fn reset_scope<'a>(group: &'a GroupLag, request: &ResetRequest) -> Vec<(&'a str, Vec<i32>)> {
    group
        .topics
        .iter()
        .filter(|t| request.topic.as_deref().is_none_or(|only| only == t.topic))
        .map(|t| (t.topic.as_str(), t.partitions.iter().map(|p| p.partition).collect()))
        .collect()
}

/// The target offset of every partition of `group` in the request's scope, from `snapshot`'s
/// offsets, or for a `timestamp` reset from `at_time` (per topic, the offsets the brokers gave
/// for [`reset_time`] over [`reset_scope`]).
pub fn plan_reset(
    group: &GroupLag,
    snapshot: &ClusterSnapshot,
    request: &ResetRequest,
    at_time: &HashMap<String, Vec<(i32, i64)>>,
) -> Result<Vec<OffsetChange>, Refused> {
    if group.summary.members > 0 {
        return Err(Refused::whole(format!(
            "group {} has {} active members; stop its consumers first",
            crate::domain::clipped(&group.summary.name),
            group.summary.members
        )));
    }
    if request.to == "offsets" {
        return explicit(group, &request.offsets);
    }
    let mut changes = Vec::new();
    for topic in
        group.topics.iter().filter(|t| request.topic.as_deref().is_none_or(|only| only == t.topic))
    {
        let partitions =
            snapshot.topics.iter().find(|t2| t2.name == topic.topic).map(|t2| &t2.partitions);
        let at_time = match request.to.as_str() {
            "timestamp" => at_time.get(&topic.topic),
            "earliest" | "latest" => None,
            other => {
                return Err(Refused::field(
                    "to",
                    format!(
                        "to={}: use earliest, latest, timestamp or offsets",
                        crate::domain::clipped(other)
                    ),
                ));
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
        return Err(Refused::whole("the group has no committed offsets in that scope"));
    }
    Ok(changes)
}

/// Explicit (topic, partition, offset) targets, each beside the group's committed offset.
fn explicit(
    group: &GroupLag,
    offsets: &[(String, i32, i64)],
) -> Result<Vec<OffsetChange>, Refused> {
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
                return Err(Refused::field(
                    "offsets",
                    format!("offset {o} for {t}/{p} is negative"),
                ));
            }
            Ok(OffsetChange { topic: t.clone(), partition: *p, current: current(t, *p), new: *o })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::fixtures::{partition, snapshot, topic};
    use crate::evaluator::{Drain, GroupSummary, PartitionLag, PartitionStatus, TopicLag};

    fn group(members: usize) -> GroupLag {
        let partition = PartitionLag {
            retention: Default::default(),
            partition: 0,
            committed: 5,
            end: Some(40),
            lag: 35,
            lag_seconds: None,
            lag_seconds_floor: false,
            status: PartitionStatus::Ok,
            status_thin: false,
            owner: None,
        };
        GroupLag {
            membership_changes: Default::default(),
            summary: GroupSummary {
                retention: Default::default(),
                lag_trend_per_sec: None,
                name: "billing".into(),
                state: "Empty".into(),
                protocol_type: "consumer".into(),
                protocol: String::new(),
                group_type: None,
                coordinator: None,
                members,
                status: PartitionStatus::Ok,
                status_thin: false,
                lag: 35,
                max_lag: 35,
                lag_seconds: None,
                lag_seconds_floor: false,
                consume_per_sec: None,
                produce_per_sec: None,
                drain_seconds: None,
                drain: Drain::Unknown,
                offsets_error: None,
            },
            topics: vec![TopicLag {
                retention: Default::default(),
                lag_trend_per_sec: None,
                topic: "orders".into(),
                lag: 35,
                max_lag: 35,
                lag_seconds: None,
                lag_seconds_floor: false,
                status: PartitionStatus::Ok,
                status_thin: false,
                partitions: vec![partition],
            }],
        }
    }

    fn request(to: &str) -> ResetRequest {
        ResetRequest { to: to.into(), ..ResetRequest::default() }
    }

    #[test]
    fn resets_are_planned_from_the_last_poll_and_refused_while_members_consume() {
        let polled = snapshot(1, vec![topic("orders", vec![partition(0, Some(0), (2, 40))])]);
        let none = HashMap::new();
        let earliest = plan_reset(&group(0), &polled, &request("earliest"), &none).unwrap();
        assert_eq!(
            earliest[0],
            OffsetChange { topic: "orders".into(), partition: 0, current: Some(5), new: 2 }
        );
        let latest = plan_reset(&group(0), &polled, &request("latest"), &none).unwrap();
        assert_eq!(latest[0].new, 40);
        let busy = plan_reset(&group(2), &polled, &request("latest"), &none).unwrap_err();
        assert!(busy.message.contains("2 active members"), "{busy}");
        assert_eq!(
            plan_reset(&group(0), &polled, &request("sideways"), &none).unwrap_err().field,
            Some("to")
        );
    }

    #[test]
    fn a_reset_to_a_time_uses_the_offsets_the_brokers_gave() {
        let polled = snapshot(1, vec![topic("orders", vec![partition(0, Some(0), (2, 40))])]);
        let mut at = request("timestamp");
        at.at = Some("2026-12-01 08:00".into());
        assert!(reset_time(&at).unwrap().is_some());
        assert_eq!(reset_scope(&group(0), &at), [("orders", vec![0])]);
        let found = HashMap::from([("orders".to_string(), vec![(0, 17)])]);
        assert_eq!(plan_reset(&group(0), &polled, &at, &found).unwrap()[0].new, 17);
        at.at = Some("yesterday".into());
        assert_eq!(reset_time(&at).unwrap_err().field, Some("at"));
    }
}
