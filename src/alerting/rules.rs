//! Rule evaluation: what one rule sees in the clusters' latest states — one observation per
//! subject it selects, the facts of each consumer group it observes (for the notices), and the
//! clusters it could not read this round — and what a rule measures now, for the Alerts page.
//! Pure.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use super::definition::{RuleDef, RuleKind, matches_pattern};
use super::engine::Observation;
use super::message::{GroupFacts, Subject, TopicFacts};
use crate::evaluator::{
    DIAGNOSIS_LOOKBACK, GroupLag, PartitionStatus, RetentionRisk, TopicLag, canary_failing,
    diagnose, flow::end_total, seconds_to_pass,
};
use crate::poller::ClusterState;

/// Most topics a notice lists; the others are counted.
const NOTICE_TOPICS: usize = 10;

/// One round of one rule.
#[derive(Debug, Default, PartialEq)]
pub struct RuleRound {
    pub observations: Vec<(Subject, Observation)>,
    /// Clusters the rule selects whose data is missing or stale: their subjects keep their
    /// alert state rather than resolve.
    pub unknown_clusters: BTreeSet<String>,
    /// Subjects (by key) whose measure this round rests on too little to judge — a status from
    /// a window not complete yet, lag seconds not known yet while messages are behind — as
    /// after a restart or a lease hand-over: they keep their alert state too.
    pub unknown_subjects: BTreeSet<String>,
    /// Consumer-group rules: each observed subject's group as it stands, by subject key, for
    /// the notices about it.
    pub group_facts: BTreeMap<String, GroupFacts>,
}

fn observation(subject: &Subject, value: f64, threshold: f64, breaching: bool) -> Observation {
    Observation { subject: subject.key(), breaching, value, threshold }
}

/// Evaluates `rule` over the latest state of every cluster that `polled` since the previous
/// round; the others count as unknown, so each poll is one observation (which `for_polls`
/// counts) however many clusters there are.
pub fn evaluate(
    rule: &RuleDef,
    clusters: &[Arc<ClusterState>],
    polled: impl Fn(&str) -> bool,
) -> RuleRound {
    let mut round = RuleRound::default();
    for state in clusters.iter().filter(|s| matches_pattern(&rule.cluster, &s.name)) {
        if !polled(&state.name) {
            round.unknown_clusters.insert(state.name.clone());
            continue;
        }
        let cluster = Subject { cluster: state.name.clone(), ..Subject::default() };
        if rule.kind == RuleKind::ClusterDown {
            if state.last_attempt_at.is_none() {
                round.unknown_clusters.insert(state.name.clone());
            } else {
                let failures = f64::from(state.consecutive_failures);
                round.observations.push((
                    cluster.clone(),
                    observation(&cluster, failures, 0.0, state.consecutive_failures > 0),
                ));
            }
            continue;
        }
        // The canary measures the cluster whether or not its poll went through.
        if rule.kind.is_about_canary() {
            observe_canary(rule, &cluster, state, &mut round);
            continue;
        }
        let snapshot = match &state.snapshot {
            Some(snapshot) if state.consecutive_failures == 0 => snapshot,
            _ => {
                round.unknown_clusters.insert(state.name.clone());
                continue;
            }
        };
        match rule.kind {
            RuleKind::ClusterDown | RuleKind::CanaryLatency | RuleKind::CanaryLoss => {}
            RuleKind::BrokerDown => {
                let subject_of = |broker: &crate::domain::Broker| Subject {
                    broker: Some(broker.id),
                    node: broker_name(snapshot.kind, broker),
                    ..cluster.clone()
                };
                for broker in &state.missing_brokers {
                    let subject = subject_of(broker);
                    round
                        .observations
                        .push((subject.clone(), observation(&subject, 1.0, 0.0, true)));
                }
                for broker in &snapshot.brokers {
                    let subject = subject_of(broker);
                    round
                        .observations
                        .push((subject.clone(), observation(&subject, 0.0, 0.0, false)));
                }
            }
            RuleKind::UnderReplicated | RuleKind::OfflinePartitions => {
                let threshold = rule.threshold_or_default();
                let topics = snapshot
                    .topics
                    .iter()
                    .filter(|t| rule.topic.as_deref().is_none_or(|p| matches_pattern(p, &t.name)));
                for topic in topics {
                    let count = if rule.kind == RuleKind::UnderReplicated {
                        topic.under_replicated()
                    } else {
                        topic.partitions.iter().filter(|p| p.is_offline()).count()
                    } as f64;
                    let subject = Subject { topic: Some(topic.name.clone()), ..cluster.clone() };
                    round.observations.push((
                        subject.clone(),
                        observation(&subject, count, threshold, count > threshold),
                    ));
                }
            }
            RuleKind::ConnectionChurn => {
                let Some(opened) = snapshot
                    .queues
                    .as_ref()
                    .and_then(|v| v.overview.churn_rates.connections_opened)
                else {
                    continue;
                };
                let threshold = rule.threshold_or_default();
                round.observations.push((
                    cluster.clone(),
                    observation(&cluster, opened, threshold, opened > threshold),
                ));
            }
            RuleKind::ProducerStopped => {
                let threshold = rule.threshold_or_default();
                let topics = snapshot.topics.iter().filter(|t| {
                    !t.internal && rule.topic.as_deref().is_none_or(|p| matches_pattern(p, &t.name))
                });
                for topic in topics {
                    let subject = Subject { topic: Some(topic.name.clone()), ..cluster.clone() };
                    let flow = end_total(topic).and_then(|end| {
                        state.flows.flow(&topic.name, end, snapshot.taken_at, rule.window_millis())
                    });
                    // Not yet a window of history (a start, a new lease holder): unknown.
                    let Some(flow) = flow else {
                        round.unknown_subjects.insert(subject.key());
                        continue;
                    };
                    let received = flow.received as f64;
                    let stopped = flow.before > 0 && received < threshold;
                    round.observations.push((
                        subject.clone(),
                        observation(&subject, received, threshold, stopped),
                    ));
                }
            }
            RuleKind::QueueBacklog
            | RuleKind::QueueBacklogGrowing
            | RuleKind::QueueNoConsumers
            | RuleKind::QueueBuried => {
                let Some(view) = &snapshot.queues else { continue };
                let threshold = rule.threshold_or_default();
                let queues = view.queues.iter().filter(|q| {
                    rule.vhost.as_deref().is_none_or(|p| matches_pattern(p, &q.vhost))
                        && rule.queue.as_deref().is_none_or(|p| matches_pattern(p, &q.name))
                });
                for queue in queues {
                    let backlog = queue.backlog() as f64;
                    let subject = Subject {
                        queue: Some(format!("{}/{}", queue.vhost, queue.name)),
                        ..cluster.clone()
                    };
                    let rates = &queue.message_stats;
                    // Net inflow: published minus delivered per second.
                    let inflow = rates.publish.unwrap_or(0.0) - rates.deliver_get.unwrap_or(0.0);
                    let (value, limit, breaching) = match rule.kind {
                        RuleKind::QueueBacklog => (backlog, threshold, backlog > threshold),
                        RuleKind::QueueBuried => {
                            let held = queue.held as f64;
                            (held, threshold, held > threshold)
                        }
                        RuleKind::QueueBacklogGrowing => {
                            (inflow, 0.0, backlog > 0.0 && inflow > 0.0)
                        }
                        _ => (backlog, 0.0, queue.consumers == 0 && backlog > 0.0),
                    };
                    round
                        .observations
                        .push((subject.clone(), observation(&subject, value, limit, breaching)));
                }
            }
            RuleKind::NodeAlarm => {
                let Some(view) = &snapshot.queues else { continue };
                for node in &view.nodes {
                    // 0 running, 1 memory alarm, 2 disk alarm, 3 both, 4 down.
                    let code = if !node.running {
                        4
                    } else {
                        u8::from(node.mem_alarm) + 2 * u8::from(node.disk_free_alarm)
                    };
                    let subject = Subject { node: Some(node.name.clone()), ..cluster.clone() };
                    round.observations.push((
                        subject.clone(),
                        observation(&subject, f64::from(code), 0.0, code > 0),
                    ));
                }
            }
            RuleKind::BrokerMetric => {
                let (Some(metric), Some(metrics)) = (rule.metric, &state.metrics) else { continue };
                let threshold = rule.threshold_or_default();
                for broker in &metrics.brokers {
                    let Some(value) = broker.values.get(&metric).copied() else { continue };
                    let breaching = if rule.below { value < threshold } else { value > threshold };
                    let subject = Subject { broker: Some(broker.broker), ..cluster.clone() };
                    round.observations.push((
                        subject.clone(),
                        observation(&subject, value, threshold, breaching),
                    ));
                }
            }
            RuleKind::ConsumerLag
            | RuleKind::ConsumerLagSeconds
            | RuleKind::ConsumerStatus
            | RuleKind::LagForecast
            | RuleKind::RetentionRisk
            | RuleKind::GroupRebalancing => {
                if snapshot.groups_error.is_some() {
                    round.unknown_clusters.insert(state.name.clone());
                    continue;
                }
                let groups = state.groups.iter().filter(|g| {
                    rule.group.as_deref().is_none_or(|p| matches_pattern(p, &g.summary.name))
                });
                for group in groups {
                    observe_group(rule, &cluster, group, state, &mut round);
                }
            }
        }
    }
    round
}

/// Each broker's canary figures against the rule: the 99th percentile of end-to-end latency
/// (ms) or the markers lost over the canary's window. A cluster without a canary has nothing to
/// observe; one whose canary has not finished a round yet is unknown.
fn observe_canary(rule: &RuleDef, cluster: &Subject, state: &ClusterState, round: &mut RuleRound) {
    let Some(reading) = &state.canary else { return };
    if reading.at.is_none() {
        round.unknown_clusters.insert(cluster.cluster.clone());
        return;
    }
    let threshold = rule.threshold_or_default();
    for broker in &reading.brokers {
        let node = broker.node.clone();
        let subject = Subject { broker: Some(broker.broker), node, ..cluster.clone() };
        let value = match rule.kind {
            RuleKind::CanaryLatency => broker.figures.end_to_end_p99_ms,
            _ => Some(broker.figures.lost as f64),
        };
        // Every marker of the window lost: no latency to judge (canary_loss tells).
        let Some(value) = value else {
            round.unknown_subjects.insert(subject.key());
            continue;
        };
        round
            .observations
            .push((subject.clone(), observation(&subject, value, threshold, value > threshold)));
    }
}

/// What `rule` measures now for each subject it selects, by subject key, in every cluster's
/// latest state; subjects of clusters that cannot be read now are absent.
pub fn current_values(rule: &RuleDef, clusters: &[Arc<ClusterState>]) -> HashMap<String, f64> {
    evaluate(rule, clusters, |_| true)
        .observations
        .into_iter()
        .map(|(_, o)| (o.subject, o.value))
        .collect()
}

fn observe_group(
    rule: &RuleDef,
    cluster: &Subject,
    group: &GroupLag,
    state: &ClusterState,
    round: &mut RuleRound,
) {
    let summary = &group.summary;
    let subject = Subject { group: Some(summary.name.clone()), ..cluster.clone() };
    match &rule.topic {
        None => observe(rule, subject, Measured::of_group(group), state, round),
        Some(pattern) => {
            for topic in group.topics.iter().filter(|t| matches_pattern(pattern, &t.topic)) {
                let subject = Subject { topic: Some(topic.topic.clone()), ..subject.clone() };
                observe(rule, subject, Measured::of_topic(group, topic), state, round);
            }
        }
    }
}

/// One subject of a consumer-group rule: unknown when its measure is too thin to judge, else
/// observed with the group's facts for the notice — and, when it breaches, the diagnosis of
/// why the group is behind.
fn observe(
    rule: &RuleDef,
    subject: Subject,
    measured: Measured,
    state: &ClusterState,
    round: &mut RuleRound,
) {
    if too_thin(rule, &measured) {
        round.unknown_subjects.insert(subject.key());
        return;
    }
    let now = state.snapshot.as_ref().map_or(0, |s| s.taken_at);
    let (value, threshold) = measure(rule, &measured, now);
    let observed = observation(&subject, value, threshold, value > threshold);
    let mut facts = group_facts(rule, measured.group, measured.topic);
    facts.retention = (rule.kind == RuleKind::RetentionRisk).then_some(measured.retention);
    if let (true, Some(snapshot)) = (observed.breaching, &state.snapshot) {
        // Around the incident's start: the hold it waits out and a quarter hour before.
        let lookback = rule.hold_millis().saturating_add(DIAGNOSIS_LOOKBACK);
        let metrics = state.metrics.as_deref();
        facts.hints = diagnose(measured.group, snapshot, metrics, snapshot.taken_at, lookback);
        facts.hints.extend(canary_failing(state.canary.as_deref()));
    }
    round.group_facts.insert(observed.subject.clone(), facts);
    round.observations.push((subject, observed));
}

/// The group as a notice tells it: its topics worst first (only `topic` when the subject is
/// one), those at or worse than the floor of a status rule, at most [`NOTICE_TOPICS`].
fn group_facts(rule: &RuleDef, group: &GroupLag, topic: Option<&TopicLag>) -> GroupFacts {
    let summary = &group.summary;
    let mut topics: Vec<&TopicLag> = match topic {
        Some(topic) => vec![topic],
        None => group.topics.iter().collect(),
    };
    if rule.kind == RuleKind::ConsumerStatus {
        let floor = status_floor(rule);
        topics.retain(|t| t.status >= floor);
    }
    topics.sort_by(|a, b| worst_first(rule.kind, a, b));
    let more_topics = topics.len().saturating_sub(NOTICE_TOPICS);
    topics.truncate(NOTICE_TOPICS);
    let (lag, lag_seconds, trend) = topic
        .map_or((summary.lag, summary.lag_seconds, summary.lag_trend_per_sec), |t| {
            (t.lag, t.lag_seconds, t.lag_trend_per_sec)
        });
    // At this rate, when the lag passes the rule's threshold (forecast rules).
    let passes_in = (rule.kind == RuleKind::LagForecast)
        .then(|| seconds_to_pass(lag, trend?, rule.threshold_or_default()))
        .flatten();
    GroupFacts {
        hints: Default::default(),
        topics: topics
            .into_iter()
            .map(|t| TopicFacts {
                topic: t.topic.clone(),
                status: t.status,
                lag: t.lag,
                lag_seconds: t.lag_seconds,
            })
            .collect(),
        more_topics,
        lag,
        lag_seconds,
        members: summary.members,
        state: summary.state.clone(),
        passes_in,
        retention: None,
    }
}

/// Worst first by what the rule compares (status, seconds or messages behind), then by name.
fn worst_first(kind: RuleKind, a: &TopicLag, b: &TopicLag) -> Ordering {
    let seconds = |t: &TopicLag| t.lag_seconds.unwrap_or(-1.0);
    let order = match kind {
        RuleKind::ConsumerStatus => b.status.cmp(&a.status).then(b.lag.cmp(&a.lag)),
        RuleKind::ConsumerLagSeconds => seconds(b).total_cmp(&seconds(a)).then(b.lag.cmp(&a.lag)),
        _ => b.lag.cmp(&a.lag).then(b.status.cmp(&a.status)),
    };
    order.then_with(|| a.topic.cmp(&b.topic))
}

/// Whether what `rule` compares is not known yet: a status rule on a status that is OK only for
/// want of a full window; a seconds rule on messages behind whose age is unknown, or known only
/// as a floor under the threshold; a forecast without a trend yet (fewer than three polls).
/// Such a subject is neither breaching nor clear: its alert keeps its state (a restart or a new
/// lease holder starts with no history).
fn too_thin(rule: &RuleDef, m: &Measured) -> bool {
    match rule.kind {
        RuleKind::ConsumerStatus => m.status_thin,
        RuleKind::ConsumerLagSeconds => {
            let threshold = rule.threshold_or_default();
            m.lag > 0 && m.lag_seconds.is_none_or(|s| m.lag_seconds_floor && s <= threshold)
        }
        RuleKind::LagForecast => m.lag > 0 && m.trend.is_none(),
        RuleKind::RetentionRisk => m.retention.used_pct.is_none(),
        _ => false,
    }
}

/// The status a status rule fires at, or worse.
fn status_floor(rule: &RuleDef) -> PartitionStatus {
    rule.status.unwrap_or(PartitionStatus::Warn)
}

/// What a group (or one of its topics) measures this round.
struct Measured<'a> {
    group: &'a GroupLag,
    /// The topic measured, when the rule is per topic.
    topic: Option<&'a TopicLag>,
    lag: i64,
    lag_seconds: Option<f64>,
    lag_seconds_floor: bool,
    status: PartitionStatus,
    status_thin: bool,
    trend: Option<f64>,
    retention: RetentionRisk,
    /// When the membership changes of the group were seen.
    changes: Vec<crate::domain::Millis>,
}

impl<'a> Measured<'a> {
    fn of_group(group: &'a GroupLag) -> Self {
        let s = &group.summary;
        Measured {
            group,
            topic: None,
            lag: s.lag,
            lag_seconds: s.lag_seconds,
            lag_seconds_floor: s.lag_seconds_floor,
            status: s.status,
            status_thin: s.status_thin,
            trend: s.lag_trend_per_sec,
            retention: s.retention,
            changes: group.membership_changes.iter().map(|c| c.at).collect(),
        }
    }

    fn of_topic(group: &'a GroupLag, t: &'a TopicLag) -> Self {
        Measured {
            group,
            topic: Some(t),
            lag: t.lag,
            lag_seconds: t.lag_seconds,
            lag_seconds_floor: t.lag_seconds_floor,
            status: t.status,
            status_thin: t.status_thin,
            trend: t.lag_trend_per_sec,
            retention: t.retention,
            changes: group.membership_changes.iter().map(|c| c.at).collect(),
        }
    }
}

/// The compared value and threshold. Status rules compare status codes; the threshold is just
/// below the chosen status, so "at or worse" reads as "above". Forecast rules compare the lag
/// the trend reaches at the horizon, and only while the lag grows (a lag above the threshold
/// that drains is a `consumer_lag` alert's business, not a forecast's).
fn measure(rule: &RuleDef, m: &Measured, now: crate::domain::Millis) -> (f64, f64) {
    match rule.kind {
        RuleKind::GroupRebalancing => {
            let since = now.saturating_sub(rule.window_millis());
            let changes = m.changes.iter().filter(|&&at| at > since).count();
            (changes as f64, rule.threshold_or_default())
        }
        RuleKind::ConsumerLagSeconds => (m.lag_seconds.unwrap_or(0.0), rule.threshold_or_default()),
        RuleKind::RetentionRisk => {
            (m.retention.used_pct.unwrap_or(0.0), rule.threshold_or_default())
        }
        RuleKind::ConsumerStatus => {
            let floor = status_floor(rule);
            // NOTFOUND sorts below OK; it is not a problem a status rule reports.
            let value = if m.status == PartitionStatus::Notfound { 0 } else { m.status.code() };
            (f64::from(value), f64::from(floor.code()) - 0.5)
        }
        RuleKind::LagForecast => {
            let threshold = rule.threshold_or_default();
            let value = match m.trend.filter(|t| *t > 0.0) {
                Some(growth) => m.lag as f64 + growth * rule.horizon_or_default().as_secs_f64(),
                // Not growing: nothing to forecast, whatever the lag.
                None => (m.lag as f64).min(threshold),
            };
            (value, threshold)
        }
        _ => (m.lag as f64, rule.threshold_or_default()),
    }
}

/// What a broker is called where its id is only a hash of its name (RabbitMQ nodes, RocketMQ
/// brokers, [`crate::domain::name_id`]): notices name it by that, not by the number. Kafka's
/// broker ids are the operators' own.
fn broker_name(kind: crate::domain::ClusterKind, broker: &crate::domain::Broker) -> Option<String> {
    use crate::domain::ClusterKind;
    match kind {
        ClusterKind::Kafka => None,
        ClusterKind::Rabbitmq | ClusterKind::Activemq => Some(broker.host.clone()),
        ClusterKind::Beanstalkd | ClusterKind::Gearman => {
            Some(format!("{}:{}", broker.host, broker.port))
        }
        ClusterKind::Rocketmq => Some(format!(
            "{} {}:{}",
            broker.rack.as_deref().unwrap_or_default(),
            broker.host,
            broker.port
        )),
    }
}

#[cfg(test)]
pub(crate) mod tests;
