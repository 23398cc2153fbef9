//! Consumer lag of every group, poll after poll: messages behind per partition, topic and group;
//! seconds behind from each partition's end-offset history; Burrow-style status over a window;
//! consume and produce rates and the time to drain. Keeps bounded state between polls; no I/O and
//! no clock — each poll's snapshot carries its own time.

use std::collections::{HashMap, HashSet, VecDeque};

use serde::Serialize;

use super::retention::{RetentionInput, RetentionRisk, pace};
use super::status::{PartitionStatus, Rules, Sample, group_status, judge_partition};
use super::time_lag::{Drain, EndOffsetHistory, drain_seconds};
use super::trend::lag_trend;
use crate::domain::{ClusterSnapshot, ConsumerGroup, Millis};

/// Most samples kept per group partition for the status window.
const MAX_WINDOW_SAMPLES: usize = 64;
/// How long membership changes are kept: the longest window a `group_rebalancing` rule counts.
pub const MEMBERSHIP_HORIZON: Millis = 3_600_000;
/// Most membership changes kept per group.
const MAX_MEMBERSHIP_CHANGES: usize = 64;

#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct PartitionLag {
    pub partition: i32,
    pub committed: i64,
    /// Log end offset; `None` when the leader did not answer.
    pub end: Option<i64>,
    pub lag: i64,
    pub lag_seconds: Option<f64>,
    /// `lag_seconds` is only a floor (`EndOffsetHistory::is_floor`): the lag may be older.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub lag_seconds_floor: bool,
    pub status: PartitionStatus,
    /// The status is OK only because the window is not complete yet ([`crate::evaluator::Judgement`]).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub status_thin: bool,
    /// Client id and host of the member that owns the partition.
    pub owner: Option<String>,
    /// How close retention is to deleting unread messages ([`crate::evaluator::retention`]).
    #[serde(default)]
    pub retention: RetentionRisk,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct TopicLag {
    pub topic: String,
    pub lag: i64,
    pub max_lag: i64,
    pub lag_seconds: Option<f64>,
    /// Some partition's lag seconds are only a floor: the topic's may be higher.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub lag_seconds_floor: bool,
    /// How fast the topic's lag grows, messages/s, by the line through the lag window
    /// ([`crate::evaluator::trend`]); negative while it drains, `None` until three polls.
    #[serde(default)]
    pub lag_trend_per_sec: Option<f64>,
    pub status: PartitionStatus,
    /// The status is OK only because some partition behind has too thin a window to judge.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub status_thin: bool,
    /// The worst of the partitions' retention risks.
    #[serde(default)]
    pub retention: RetentionRisk,
    pub partitions: Vec<PartitionLag>,
}

/// A group's figures without its per-partition detail: what a list of groups shows.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct GroupSummary {
    pub name: String,
    pub state: String,
    pub protocol_type: String,
    pub protocol: String,
    /// `consumer` for a KIP-848 group.
    pub group_type: Option<String>,
    pub coordinator: Option<i32>,
    pub members: usize,
    pub status: PartitionStatus,
    /// The status is OK only because some partition behind has too thin a window to judge
    /// (after a start or a lease change): it may still turn worse.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub status_thin: bool,
    /// Sum over partitions.
    pub lag: i64,
    /// Worst partition.
    pub max_lag: i64,
    /// Worst partition, seconds.
    pub lag_seconds: Option<f64>,
    /// Some partition's lag seconds are only a floor: the group's may be higher.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub lag_seconds_floor: bool,
    /// How fast the group's lag grows, messages/s, by the line through the lag window
    /// ([`crate::evaluator::trend`]); negative while it drains, `None` until three polls.
    #[serde(default)]
    pub lag_trend_per_sec: Option<f64>,
    /// Committed-offset growth over the last poll, messages/s, over the group's partitions.
    pub consume_per_sec: Option<f64>,
    /// Log-end growth over the last poll, messages/s, over the group's partitions.
    pub produce_per_sec: Option<f64>,
    /// Seconds to consume the backlog at the current rates: `Some(0.0)` without backlog, `None`
    /// when it does not shrink or the rates are not known yet ([`GroupSummary::drain`] says which).
    pub drain_seconds: Option<f64>,
    /// Where the backlog is heading, by the one rule documented on [`Drain`].
    pub drain: Drain,
    /// The worst of the partitions' retention risks: the group's risk of losing unread messages.
    #[serde(default)]
    pub retention: RetentionRisk,
    pub offsets_error: Option<String>,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct GroupLag {
    #[serde(flatten)]
    pub summary: GroupSummary,
    pub topics: Vec<TopicLag>,
    /// Who joined and left the group over the last hour, oldest first ([`MembershipChange`]).
    #[serde(default)]
    pub membership_changes: Vec<MembershipChange>,
}

/// Members joining or leaving a group between two polls: a rebalance Osprey saw. (A classic
/// group's generation is not in DescribeGroups' answer; a consumer that restarts comes back
/// with a new member id, so the change of the member set is the rebalance's trace. Members
/// that come and go between two polls go unseen.)
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct MembershipChange {
    pub at: Millis,
    /// `client-id (host)` of each member that joined, and of each that left.
    pub joined: Vec<String>,
    pub left: Vec<String>,
    /// Members after the change.
    pub members: usize,
}

impl GroupLag {
    pub fn topic_names(&self) -> impl Iterator<Item = &str> {
        self.topics.iter().map(|t| t.topic.as_str())
    }
}

type PartitionKey = (String, i32);
type GroupPartitionKey = (String, String, i32);
/// A group (topic `None`) or one of its topics.
type TrendKey = (String, Option<String>);

/// The state lag evaluation carries from poll to poll, bounded per partition.
#[derive(Debug, Default)]
pub struct LagBook {
    rules: Rules,
    histories: HashMap<PartitionKey, EndOffsetHistory>,
    windows: HashMap<GroupPartitionKey, VecDeque<Sample>>,
    /// Lag over the window per group (topic `None`) and per group topic, for the trend.
    lags: HashMap<TrendKey, VecDeque<(Millis, i64)>>,
    /// Log start offsets over the window per consumed partition, for the retention pace.
    starts: HashMap<PartitionKey, VecDeque<(Millis, i64)>>,
    /// Each group's members by member id (as `client-id (host)`) at the last poll, and the
    /// changes over the last [`MEMBERSHIP_HORIZON`].
    memberships: HashMap<String, (HashMap<String, String>, VecDeque<MembershipChange>)>,
}

/// Where each partition's log starts and ends this poll, and each topic's time-based retention.
struct Logs<'a> {
    ends: HashMap<(&'a str, i32), i64>,
    starts: HashMap<(&'a str, i32), i64>,
    retention_seconds: HashMap<&'a str, f64>,
}

impl LagBook {
    pub fn new(rules: Rules) -> Self {
        LagBook { rules, ..LagBook::default() }
    }

    /// Evaluates every group of `snapshot` (taken at `snapshot.taken_at`).
    pub fn evaluate(&mut self, snapshot: &ClusterSnapshot) -> Vec<GroupLag> {
        let now = snapshot.taken_at;
        let offsets_of = |offset: fn(&crate::domain::Partition) -> Option<i64>| {
            snapshot
                .topics
                .iter()
                .flat_map(|t| {
                    t.partitions
                        .iter()
                        .filter_map(move |p| Some(((t.name.as_str(), p.id), offset(p)?)))
                })
                .collect::<HashMap<(&str, i32), i64>>()
        };
        let logs = Logs {
            ends: offsets_of(|p| p.latest_offset),
            starts: offsets_of(|p| p.earliest_offset),
            retention_seconds: snapshot
                .topics
                .iter()
                .filter_map(|t| Some((t.name.as_str(), t.retention_seconds()?)))
                .collect(),
        };
        let ends = &logs.ends;

        // End-offset histories of consumed partitions only: that is where lag seconds are asked.
        let consumed: HashSet<(&str, i32)> = snapshot
            .groups
            .iter()
            .flat_map(|g| g.offsets.iter().map(|o| (o.topic.as_str(), o.partition)))
            .collect();
        for &(topic, partition) in &consumed {
            if let Some(&end) = ends.get(&(topic, partition)) {
                self.histories.entry((topic.to_owned(), partition)).or_default().record(now, end);
            }
        }
        self.histories.retain(|(t, p), _| consumed.contains(&(t.as_str(), *p)));
        for &(topic, partition) in &consumed {
            if let Some(&start) = logs.starts.get(&(topic, partition)) {
                let samples = self.starts.entry((topic.to_owned(), partition)).or_default();
                if samples.back().is_none_or(|&(at, _)| at < now) {
                    samples.push_back((now, start));
                }
                trim(samples, now, self.rules.window, |&(at, _)| at);
            }
        }
        self.starts.retain(|(t, p), _| consumed.contains(&(t.as_str(), *p)));

        let mut seen = HashSet::new();
        let mut lags: Vec<GroupLag> =
            snapshot.groups.iter().map(|g| self.group(g, &logs, now, &mut seen)).collect();
        self.windows.retain(|key, _| seen.contains(key));
        let mut trended = HashSet::new();
        for group in &mut lags {
            let name = &group.summary.name;
            group.summary.lag_trend_per_sec =
                self.trend((name.clone(), None), now, group.summary.lag, &mut trended);
            for topic in &mut group.topics {
                let key = (name.clone(), Some(topic.topic.clone()));
                topic.lag_trend_per_sec = self.trend(key, now, topic.lag, &mut trended);
            }
        }
        self.lags.retain(|key, _| trended.contains(key));
        for (group, lag) in snapshot.groups.iter().zip(&mut lags) {
            lag.membership_changes = self.membership(group, now);
        }
        let names: HashSet<&str> = snapshot.groups.iter().map(|g| g.name.as_str()).collect();
        self.memberships.retain(|name, _| names.contains(name.as_str()));
        lags
    }

    /// Records who joined and left `group` since the last poll; the changes of the last hour.
    fn membership(&mut self, group: &ConsumerGroup, now: Millis) -> Vec<MembershipChange> {
        let members: HashMap<String, String> = group
            .members
            .iter()
            .map(|m| (m.member_id.clone(), format!("{} ({})", m.client_id, m.host)))
            .collect();
        let (known, changes) = match self.memberships.entry(group.name.clone()) {
            std::collections::hash_map::Entry::Occupied(entry) => entry.into_mut(),
            // The first sight of a group is its baseline, not a change.
            std::collections::hash_map::Entry::Vacant(entry) => {
                entry.insert((members, VecDeque::new()));
                return Vec::new();
            }
        };
        let mut joined: Vec<String> = members
            .iter()
            .filter(|(id, _)| !known.contains_key(*id))
            .map(|(_, l)| l.clone())
            .collect();
        let mut left: Vec<String> = known
            .iter()
            .filter(|(id, _)| !members.contains_key(*id))
            .map(|(_, l)| l.clone())
            .collect();
        if !joined.is_empty() || !left.is_empty() {
            joined.sort();
            left.sort();
            changes.push_back(MembershipChange { at: now, joined, left, members: members.len() });
        }
        *known = members;
        while changes.len() > MAX_MEMBERSHIP_CHANGES
            || changes.front().is_some_and(|c| c.at < now - MEMBERSHIP_HORIZON)
        {
            changes.pop_front();
        }
        changes.iter().cloned().collect()
    }

    /// Records `lag` at `now` for `key` and draws the line through the window's lags.
    fn trend(
        &mut self,
        key: TrendKey,
        now: Millis,
        lag: i64,
        trended: &mut HashSet<TrendKey>,
    ) -> Option<f64> {
        let samples = self.lags.entry(key.clone()).or_default();
        if samples.back().is_none_or(|&(at, _)| at < now) {
            samples.push_back((now, lag));
        }
        trim(samples, now, self.rules.window, |&(at, _)| at);
        trended.insert(key);
        lag_trend(samples)
    }

    fn group(
        &mut self,
        group: &ConsumerGroup,
        logs: &Logs,
        now: Millis,
        seen: &mut HashSet<GroupPartitionKey>,
    ) -> GroupLag {
        let mut topics: Vec<TopicLag> = Vec::new();
        let (mut consumed, mut produced, mut elapsed_ms) = (0i64, 0i64, 0i64);
        for offset in &group.offsets {
            let log = (offset.topic.as_str(), offset.partition);
            let end = logs.ends.get(&log).copied();
            let key = (group.name.clone(), offset.topic.clone(), offset.partition);
            let window = self.windows.entry(key.clone()).or_default();
            if let Some(end) = end {
                if let Some(previous) = window.back().filter(|s| s.at < now) {
                    consumed += (offset.offset - previous.committed).max(0);
                    produced += (end - previous.end).max(0);
                    elapsed_ms = elapsed_ms.max(now - previous.at);
                }
                if window.back().is_none_or(|s| s.at < now) {
                    window.push_back(Sample { at: now, committed: offset.offset, end });
                }
            }
            trim(window, now, self.rules.window, |s| s.at);
            seen.insert(key);
            let owner = group.owner(&offset.topic, offset.partition);
            let owned = owner.is_some();
            let judgement = judge_partition(window.make_contiguous(), owned, now, &self.rules);
            let status = judgement.status;
            let lag = end.map_or(0, |end| (end - offset.offset).max(0));
            let history = self.histories.get(&(offset.topic.clone(), offset.partition));
            let (lag_seconds, lag_seconds_floor) = match (end, offset.oldest_unconsumed_at) {
                (None, _) => (None, false),
                // The broker told when the oldest unconsumed message was stored: exact.
                (Some(_), Some(stored_at)) if lag > 0 => {
                    (Some((now - stored_at).max(0) as f64 / 1000.0), false)
                }
                (Some(_), _) => history.map_or((None, false), |h| {
                    (h.lag_seconds(offset.offset, now), lag > 0 && h.is_floor(offset.offset))
                }),
            };
            let owner = owner.map(|m| format!("{} ({})", m.client_id, m.host));
            let retention = RetentionRisk::of(RetentionInput {
                committed: offset.offset,
                start: logs.starts.get(&log).copied(),
                end,
                start_pace: self
                    .starts
                    .get(&(offset.topic.clone(), offset.partition))
                    .and_then(|s| pace(s.iter().copied())),
                commit_pace: pace(window.iter().map(|s| (s.at, s.committed))),
                retention_seconds: logs.retention_seconds.get(offset.topic.as_str()).copied(),
                oldest_unread_seconds: lag_seconds,
            });
            let partition = PartitionLag {
                partition: offset.partition,
                committed: offset.offset,
                end,
                lag,
                lag_seconds,
                lag_seconds_floor,
                status,
                status_thin: judgement.thin,
                owner,
                retention,
            };
            match topics.last_mut().filter(|t| t.topic == offset.topic) {
                Some(topic) => topic.partitions.push(partition),
                None => topics.push(TopicLag {
                    topic: offset.topic.clone(),
                    lag: 0,
                    max_lag: 0,
                    lag_seconds: None,
                    lag_seconds_floor: false,
                    lag_trend_per_sec: None,
                    status: PartitionStatus::Notfound,
                    status_thin: false,
                    retention: RetentionRisk::default(),
                    partitions: vec![partition],
                }),
            }
        }
        for topic in &mut topics {
            topic.lag = topic.partitions.iter().map(|p| p.lag).sum();
            topic.max_lag = topic.partitions.iter().map(|p| p.lag).max().unwrap_or(0);
            topic.lag_seconds = max_seconds(topic.partitions.iter().map(|p| p.lag_seconds));
            topic.lag_seconds_floor = topic.partitions.iter().any(|p| p.lag_seconds_floor);
            topic.status = group_status(topic.partitions.iter().map(|p| p.status));
            topic.status_thin =
                thin_status(topic.status, topic.partitions.iter().map(|p| p.status_thin));
            topic.retention = RetentionRisk::worst(topic.partitions.iter().map(|p| p.retention));
        }
        let status = group_status(topics.iter().map(|t| t.status));
        let lag = topics.iter().map(|t| t.lag).sum();
        let rate = |count: i64| (elapsed_ms > 0).then(|| count as f64 * 1000.0 / elapsed_ms as f64);
        let (consume_per_sec, produce_per_sec) = (rate(consumed), rate(produced));
        let summary = GroupSummary {
            name: group.name.clone(),
            state: group.state.clone(),
            protocol_type: group.protocol_type.clone(),
            protocol: group.protocol.clone(),
            group_type: group.group_type.clone(),
            coordinator: group.coordinator,
            members: group.members.len(),
            status,
            status_thin: thin_status(status, topics.iter().map(|t| t.status_thin)),
            lag,
            max_lag: topics.iter().map(|t| t.max_lag).max().unwrap_or(0),
            lag_seconds: max_seconds(topics.iter().map(|t| t.lag_seconds)),
            lag_seconds_floor: topics.iter().any(|t| t.lag_seconds_floor),
            lag_trend_per_sec: None,
            drain_seconds: match (consume_per_sec, produce_per_sec) {
                (Some(c), Some(p)) => drain_seconds(lag, c, p),
                _ => (lag == 0).then_some(0.0),
            },
            drain: Drain::of(lag, consume_per_sec, produce_per_sec),
            consume_per_sec,
            produce_per_sec,
            retention: RetentionRisk::worst(topics.iter().map(|t| t.retention)),
            offsets_error: group.offsets_error.clone(),
        };
        GroupLag { summary, topics, membership_changes: Vec::new() }
    }
}

/// Drops the samples older than the window before `now`, and the oldest beyond
/// [`MAX_WINDOW_SAMPLES`].
fn trim<T>(samples: &mut VecDeque<T>, now: Millis, window: Millis, at: impl Fn(&T) -> Millis) {
    while samples.len() > MAX_WINDOW_SAMPLES
        || samples.front().is_some_and(|s| at(s) < now - window)
    {
        samples.pop_front();
    }
}

/// Whether a status of OK (or NOTFOUND) rests on a part too thin to judge; a worse status is
/// judged whatever the rest.
fn thin_status(status: PartitionStatus, parts: impl Iterator<Item = bool>) -> bool {
    status <= PartitionStatus::Ok && parts.into_iter().any(|thin| thin)
}

fn max_seconds(values: impl Iterator<Item = Option<f64>>) -> Option<f64> {
    values.flatten().reduce(f64::max)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::fixtures::{partition, snapshot, topic};
    use crate::domain::{CommittedOffset, GroupMember};

    const RULES: Rules = Rules { window: 50_000, min_samples: 4 };

    fn group(name: &str, committed: &[(&str, i32, i64)], owned: bool) -> ConsumerGroup {
        let offsets: Vec<CommittedOffset> = committed
            .iter()
            .map(|&(t, p, o)| CommittedOffset {
                topic: t.into(),
                partition: p,
                offset: o,
                oldest_unconsumed_at: None,
            })
            .collect();
        let members = if owned {
            vec![GroupMember {
                member_id: "m1".into(),
                client_id: "billing-1".into(),
                host: "/10.0.0.7".into(),
                assignment: vec![("orders".into(), vec![0, 1])],
            }]
        } else {
            vec![]
        };
        ConsumerGroup {
            name: name.into(),
            state: if owned { "Stable" } else { "Empty" }.into(),
            protocol_type: "consumer".into(),
            protocol: "range".into(),
            group_type: None,
            coordinator: Some(1),
            members,
            offsets,
            offsets_error: None,
        }
    }

    /// A poll at `at` seconds: `orders` has two partitions with ends `ends`; groups as given.
    fn poll(at: i64, ends: (i64, i64), groups: Vec<ConsumerGroup>) -> ClusterSnapshot {
        let mut s = snapshot(
            at * 1000,
            vec![topic(
                "orders",
                vec![partition(0, Some(1), (0, ends.0)), partition(1, Some(1), (0, ends.1))],
            )],
        );
        s.groups = groups;
        s
    }

    #[test]
    fn lag_is_end_minus_committed_per_partition_topic_and_group() {
        let mut book = LagBook::new(RULES);
        let lags = book.evaluate(&poll(
            0,
            (100, 50),
            vec![group("billing", &[("orders", 0, 60), ("orders", 1, 50)], true)],
        ));
        let g = &lags[0];
        assert_eq!((g.summary.lag, g.summary.max_lag), (40, 40));
        assert_eq!(g.topics[0].partitions[0].lag, 40);
        assert_eq!(g.topics[0].partitions[1].lag, 0);
        assert_eq!(g.topics[0].partitions[0].owner.as_deref(), Some("billing-1 (/10.0.0.7)"));
        assert_eq!(g.summary.status, PartitionStatus::Ok);
        assert_eq!(g.summary.consume_per_sec, None, "rates need two polls");
        assert_eq!(g.summary.drain, Drain::Unknown, "behind, rates unknown");
    }

    #[test]
    fn rates_seconds_and_drain_time_follow_the_polls() {
        let mut book = LagBook::new(RULES);
        // Producer 10 msg/s on partition 0; consumer 20 msg/s but 100 behind at first.
        let lags = book.evaluate(&poll(0, (100, 0), vec![group("g", &[("orders", 0, 0)], true)]));
        assert_eq!(lags[0].summary.drain, Drain::Unknown, "one poll: no rates yet");
        let lags = book.evaluate(&poll(10, (200, 0), vec![group("g", &[("orders", 0, 0)], true)]));
        let g = &lags[0];
        assert_eq!(g.summary.lag, 200);
        assert_eq!(g.summary.produce_per_sec, Some(10.0));
        assert_eq!(g.summary.consume_per_sec, Some(0.0));
        assert_eq!(g.summary.drain_seconds, None, "not consuming: never drains");
        assert_eq!(g.summary.drain, Drain::NotDraining);
        // Offset 0 was the log end... before the history: extrapolated at 10 msg/s → 20 s ago.
        assert_eq!(g.summary.lag_seconds, Some(20.0));

        let lags =
            book.evaluate(&poll(20, (300, 0), vec![group("g", &[("orders", 0, 250)], true)]));
        let g = &lags[0];
        assert_eq!(g.summary.consume_per_sec, Some(25.0));
        assert_eq!(g.summary.drain_seconds, Some(50.0 / 15.0));
        assert_eq!(g.summary.drain, Drain::Draining);
        // Offset 250 was the log end at t = 15 s.
        assert_eq!(g.summary.lag_seconds, Some(5.0));
    }

    #[test]
    fn an_ok_group_that_falls_behind_is_not_draining() {
        let mut book = LagBook::new(RULES);
        let lags = book.evaluate(&poll(0, (100, 0), vec![group("g", &[("orders", 0, 100)], true)]));
        assert_eq!(lags[0].summary.drain, Drain::Drained, "at the log end, before any rate");
        assert_eq!(lags[0].summary.drain_seconds, Some(0.0));
        // Produced 10 msg/s, consumed 5 msg/s: 50 behind, still OK by status.
        let lags =
            book.evaluate(&poll(10, (200, 0), vec![group("g", &[("orders", 0, 150)], true)]));
        let g = &lags[0].summary;
        assert_eq!((g.lag, g.status), (50, PartitionStatus::Ok));
        assert_eq!(g.drain, Drain::NotDraining, "the status does not decide the drain");
        assert_eq!(g.drain_seconds, None);
    }

    #[test]
    fn a_group_that_caught_up_is_drained_whatever_its_rates() {
        let mut book = LagBook::new(RULES);
        book.evaluate(&poll(0, (100, 0), vec![group("g", &[("orders", 0, 50)], true)]));
        let lags =
            book.evaluate(&poll(10, (100, 0), vec![group("g", &[("orders", 0, 100)], true)]));
        let g = &lags[0].summary;
        assert_eq!((g.lag, g.drain, g.drain_seconds), (0, Drain::Drained, Some(0.0)));
    }

    #[test]
    fn a_broker_told_store_time_gives_exact_seconds_over_the_history() {
        let mut book = LagBook::new(RULES);
        let mut g = group("g", &[("orders", 0, 40), ("orders", 1, 50)], true);
        // The message at offset 40 was stored at t = 3 s; partition 1 is caught up.
        g.offsets[0].oldest_unconsumed_at = Some(3_000);
        g.offsets[1].oldest_unconsumed_at = Some(1_000);
        let lags = book.evaluate(&poll(10, (100, 50), vec![g]));
        let partitions = &lags[0].topics[0].partitions;
        assert_eq!(partitions[0].lag_seconds, Some(7.0));
        assert_ne!(partitions[1].lag_seconds, Some(9.0), "no lag: the store time is not used");
        assert_eq!(lags[0].summary.lag_seconds, Some(7.0));
    }

    #[test]
    fn a_stopped_group_turns_stop_after_the_window_and_ok_after_catching_up() {
        let mut book = LagBook::new(RULES);
        let mut last = None;
        for i in 0..8 {
            let lags = book.evaluate(&poll(
                i * 10,
                (100 + i * 10, 0),
                vec![group("g", &[("orders", 0, 50)], false)],
            ));
            last = Some(lags[0].summary.status);
            if i < 5 {
                assert_eq!(
                    lags[0].summary.status,
                    PartitionStatus::Ok,
                    "window not complete at poll {i}"
                );
            }
        }
        assert_eq!(last, Some(PartitionStatus::Stop));
        let lags =
            book.evaluate(&poll(80, (180, 0), vec![group("g", &[("orders", 0, 180)], true)]));
        assert_eq!(lags[0].summary.status, PartitionStatus::Ok);
        assert_eq!(lags[0].summary.lag, 0);
    }

    #[test]
    fn what_a_fresh_book_cannot_judge_yet_says_so() {
        // A restart (or a new lease holder) meets a group 50 behind on a topic nobody writes
        // to: its status is OK only for want of a window, its age only a floor.
        let mut book = LagBook::new(RULES);
        let stopped = || vec![group("g", &[("orders", 0, 50)], false)];
        let lags = book.evaluate(&poll(0, (100, 0), stopped()));
        let g = &lags[0].summary;
        assert_eq!((g.status, g.status_thin), (PartitionStatus::Ok, true));
        assert_eq!((g.lag_seconds, g.lag_seconds_floor), (Some(0.0), true));
        let lags = book.evaluate(&poll(10, (100, 0), stopped()));
        assert_eq!(lags[0].summary.lag_seconds, Some(10.0), "at least as old as the history");
        assert!(lags[0].summary.lag_seconds_floor);
        // Production gives a rate to extrapolate with: an estimate, not a floor.
        let lags = book.evaluate(&poll(20, (120, 0), stopped()));
        assert!(!lags[0].summary.lag_seconds_floor);
        // A full window judges: STOP, no longer thin.
        let mut last = lags;
        for i in 3..8 {
            last = book.evaluate(&poll(i * 10, (120, 0), stopped()));
        }
        let g = &last[0].summary;
        assert_eq!((g.status, g.status_thin), (PartitionStatus::Stop, false));
        // A caught-up group is judged OK at once.
        let mut fresh = LagBook::new(RULES);
        let lags =
            fresh.evaluate(&poll(0, (100, 0), vec![group("g", &[("orders", 0, 100)], true)]));
        assert!(!lags[0].summary.status_thin && !lags[0].summary.lag_seconds_floor);
    }

    #[test]
    fn a_reset_backwards_is_rewind() {
        let mut book = LagBook::new(RULES);
        book.evaluate(&poll(0, (100, 0), vec![group("g", &[("orders", 0, 90)], false)]));
        let lags =
            book.evaluate(&poll(10, (100, 0), vec![group("g", &[("orders", 0, 10)], false)]));
        assert_eq!(lags[0].summary.status, PartitionStatus::Rewind);
    }

    #[test]
    fn groups_are_independent_and_state_is_dropped_with_them() {
        let mut book = LagBook::new(RULES);
        let both =
            vec![group("a", &[("orders", 0, 10)], false), group("b", &[("orders", 0, 100)], false)];
        let lags = book.evaluate(&poll(0, (100, 0), both));
        assert_eq!((lags[0].summary.lag, lags[1].summary.lag), (90, 0));
        book.evaluate(&poll(10, (100, 0), vec![group("b", &[("orders", 0, 100)], false)]));
        assert_eq!(book.windows.len(), 1, "group a's window is gone");
    }

    #[test]
    fn offsets_of_a_deleted_topic_have_no_end_and_no_lag() {
        let mut book = LagBook::new(RULES);
        let lags = book.evaluate(&poll(0, (100, 0), vec![group("g", &[("gone", 0, 10)], false)]));
        assert_eq!(lags[0].topics[0].partitions[0].end, None);
        assert_eq!(lags[0].summary.lag, 0);
        assert_eq!(lags[0].summary.lag_seconds, None);
    }

    #[test]
    fn retention_closing_in_on_a_stopped_group_gives_an_eta_then_counts_the_lost() {
        let mut book = LagBook::new(RULES);
        // The log holds 0..1000; the group stopped at 300. Retention deletes 10 offsets a second.
        let at = |seconds: i64, start: i64| {
            let mut s = snapshot(
                seconds * 1000,
                vec![topic("orders", vec![partition(0, Some(1), (start, 1000))])],
            );
            s.groups = vec![group("g", &[("orders", 0, 300)], false)];
            s
        };
        let first = book.evaluate(&at(0, 100));
        let risk = first[0].summary.retention;
        assert_eq!(risk.used_pct, Some(700.0 * 100.0 / 900.0));
        assert_eq!(risk.loss_eta_seconds, None, "one poll: no pace yet");
        let second = book.evaluate(&at(10, 200));
        assert_eq!(second[0].summary.retention.loss_eta_seconds, Some(10.0), "100 left at 10/s");
        assert_eq!(second[0].topics[0].retention, second[0].summary.retention);
        let third = book.evaluate(&at(20, 400));
        let risk = third[0].topics[0].partitions[0].retention;
        assert_eq!(
            (risk.used_pct, risk.lost, risk.loss_eta_seconds),
            (Some(100.0), 100, Some(0.0))
        );
    }

    #[test]
    fn members_joining_and_leaving_are_recorded_as_changes_after_the_first_sight() {
        let mut book = LagBook::new(RULES);
        let with = |members: &[(&str, &str)]| {
            let mut g = group("g", &[("orders", 0, 10)], false);
            g.members = members
                .iter()
                .map(|&(id, client)| GroupMember {
                    member_id: id.into(),
                    client_id: client.into(),
                    host: "/10.0.0.7".into(),
                    assignment: vec![],
                })
                .collect();
            g
        };
        let first = book.evaluate(&poll(0, (100, 0), vec![with(&[("m1", "a")])]));
        assert!(first[0].membership_changes.is_empty(), "the first sight is the baseline");
        let same = book.evaluate(&poll(10, (100, 0), vec![with(&[("m1", "a")])]));
        assert!(same[0].membership_changes.is_empty());
        let swapped = book.evaluate(&poll(20, (100, 0), vec![with(&[("m2", "b"), ("m3", "c")])]));
        let change = &swapped[0].membership_changes[0];
        assert_eq!(change.at, 20_000);
        assert_eq!(change.joined, vec!["b (/10.0.0.7)", "c (/10.0.0.7)"]);
        assert_eq!((change.left.clone(), change.members), (vec!["a (/10.0.0.7)".to_string()], 2));
        let later = book.evaluate(&poll(20 + 3_601, (100, 0), vec![with(&[("m2", "b")])]));
        assert_eq!(later[0].membership_changes.len(), 1, "the hour-old change fell out");
    }
}
