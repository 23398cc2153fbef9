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
use crate::evaluator::{GroupLag, PartitionStatus, TopicLag};
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
        let snapshot = match &state.snapshot {
            Some(snapshot) if state.consecutive_failures == 0 => snapshot,
            _ => {
                round.unknown_clusters.insert(state.name.clone());
                continue;
            }
        };
        match rule.kind {
            RuleKind::ClusterDown => {}
            RuleKind::BrokerDown => {
                for broker in &state.missing_brokers {
                    let subject = Subject { broker: Some(broker.id), ..cluster.clone() };
                    round
                        .observations
                        .push((subject.clone(), observation(&subject, 1.0, 0.0, true)));
                }
                for broker in &snapshot.brokers {
                    let subject = Subject { broker: Some(broker.id), ..cluster.clone() };
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
            RuleKind::QueueBacklog | RuleKind::QueueBacklogGrowing | RuleKind::QueueNoConsumers => {
                let Some(rabbit) = &snapshot.rabbit else { continue };
                let threshold = rule.threshold_or_default();
                let queues = rabbit.queues.iter().filter(|q| {
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
                let Some(rabbit) = &snapshot.rabbit else { continue };
                for node in &rabbit.nodes {
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
            RuleKind::ConsumerLag | RuleKind::ConsumerLagSeconds | RuleKind::ConsumerStatus => {
                if snapshot.groups_error.is_some() {
                    round.unknown_clusters.insert(state.name.clone());
                    continue;
                }
                let groups = state.groups.iter().filter(|g| {
                    rule.group.as_deref().is_none_or(|p| matches_pattern(p, &g.summary.name))
                });
                for group in groups {
                    observe_group(rule, &cluster, group, &mut round);
                }
            }
        }
    }
    round
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

fn observe_group(rule: &RuleDef, cluster: &Subject, group: &GroupLag, round: &mut RuleRound) {
    let summary = &group.summary;
    let subject = Subject { group: Some(summary.name.clone()), ..cluster.clone() };
    match &rule.topic {
        None => {
            let (value, threshold) =
                measure(rule, summary.lag, summary.lag_seconds, summary.status);
            let observed = observation(&subject, value, threshold, value > threshold);
            round.group_facts.insert(observed.subject.clone(), group_facts(rule, group, None));
            round.observations.push((subject, observed));
        }
        Some(pattern) => {
            for topic in group.topics.iter().filter(|t| matches_pattern(pattern, &t.topic)) {
                let (value, threshold) = measure(rule, topic.lag, topic.lag_seconds, topic.status);
                let subject = Subject { topic: Some(topic.topic.clone()), ..subject.clone() };
                let observed = observation(&subject, value, threshold, value > threshold);
                round
                    .group_facts
                    .insert(observed.subject.clone(), group_facts(rule, group, Some(topic)));
                round.observations.push((subject, observed));
            }
        }
    }
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
    let (lag, lag_seconds) =
        topic.map_or((summary.lag, summary.lag_seconds), |t| (t.lag, t.lag_seconds));
    GroupFacts {
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

/// The status a status rule fires at, or worse.
fn status_floor(rule: &RuleDef) -> PartitionStatus {
    rule.status.unwrap_or(PartitionStatus::Warn)
}

/// The compared value and threshold. Status rules compare status codes; the threshold is just
/// below the chosen status, so "at or worse" reads as "above".
fn measure(
    rule: &RuleDef,
    lag: i64,
    lag_seconds: Option<f64>,
    status: PartitionStatus,
) -> (f64, f64) {
    match rule.kind {
        RuleKind::ConsumerLagSeconds => (lag_seconds.unwrap_or(0.0), rule.threshold_or_default()),
        RuleKind::ConsumerStatus => {
            let floor = status_floor(rule);
            // NOTFOUND sorts below OK; it is not a problem a status rule reports.
            let value = if status == PartitionStatus::Notfound { 0 } else { status.code() };
            (f64::from(value), f64::from(floor.code()) - 0.5)
        }
        _ => (lag as f64, rule.threshold_or_default()),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::config::ClusterConfig;
    use crate::domain::ClusterKind;
    use crate::domain::{Broker, ClusterSnapshot, Partition, Topic};
    use crate::evaluator::{Drain, GroupSummary, TopicLag};

    pub(crate) fn rule(text: &str) -> RuleDef {
        toml::from_str(&format!("name = \"r\"\nchannels = [\"c\"]\n{text}")).unwrap()
    }

    pub(crate) fn group(name: &str, lag: i64, status: PartitionStatus) -> GroupLag {
        GroupLag {
            summary: GroupSummary {
                name: name.into(),
                state: "Empty".into(),
                protocol_type: "consumer".into(),
                protocol: String::new(),
                coordinator: Some(1),
                members: 0,
                status,
                lag,
                max_lag: lag,
                lag_seconds: Some(lag as f64 / 10.0),
                consume_per_sec: None,
                produce_per_sec: None,
                drain_seconds: None,
                drain: Drain::of(lag, None, None),
                offsets_error: None,
            },
            topics: vec![TopicLag {
                topic: "orders".into(),
                lag,
                max_lag: lag,
                lag_seconds: None,
                status,
                partitions: vec![],
            }],
        }
    }

    fn partition(id: i32, leader: Option<i32>, isr: &[i32]) -> Partition {
        Partition {
            id,
            leader,
            replicas: vec![1, 2],
            isr: isr.to_vec(),
            earliest_offset: Some(0),
            latest_offset: Some(10),
        }
    }

    pub(crate) fn cluster(name: &str, groups: Vec<GroupLag>) -> Arc<ClusterState> {
        let config: ClusterConfig = toml::from_str(&format!(
            "name = \"{name}\"\nkind = \"kafka\"\nbootstrap_servers = \"x:1\""
        ))
        .unwrap();
        let mut state = ClusterState::new(&config);
        state.last_attempt_at = Some(1);
        state.snapshot = Some(Arc::new(ClusterSnapshot {
            cluster: name.into(),
            kind: ClusterKind::Kafka,
            taken_at: 1,
            poll_millis: 1,
            cluster_id: None,
            controller_id: None,
            brokers: vec![Broker { id: 1, host: "h".into(), port: 1, rack: None }],
            topics: vec![Topic {
                name: "orders".into(),
                internal: false,
                partitions: vec![
                    partition(0, Some(1), &[1, 2]),
                    partition(1, None, &[1]),
                    partition(2, Some(1), &[1]),
                ],
                configs: None,
                messages_in_per_sec: None,
            }],
            groups: vec![],
            groups_error: None,
            rabbit: None,
            rocket: None,
            log_sizes: None,
        }));
        state.groups = Arc::new(groups);
        Arc::new(state)
    }

    fn breaching(round: &RuleRound) -> Vec<(String, f64)> {
        round
            .observations
            .iter()
            .filter(|(_, o)| o.breaching)
            .map(|(s, o)| (s.key(), o.value))
            .collect()
    }

    #[test]
    fn lag_rules_select_groups_by_pattern_and_cluster() {
        let clusters = [
            cluster(
                "prod",
                vec![
                    group("billing", 500, PartitionStatus::Ok),
                    group("audit", 900, PartitionStatus::Ok),
                ],
            ),
            cluster("test", vec![group("billing", 900, PartitionStatus::Ok)]),
        ];
        let round = evaluate(
            &rule(
                "kind = \"consumer_lag\"\ncluster = \"prod\"\ngroup = \"bill*\"\nthreshold = 100",
            ),
            &clusters,
            |_| true,
        );
        assert_eq!(breaching(&round), [("prod/group/billing".to_string(), 500.0)]);
        let per_topic = evaluate(
            &rule("kind = \"consumer_lag\"\ntopic = \"orders\"\nthreshold = 600"),
            &clusters,
            |_| true,
        );
        assert_eq!(
            breaching(&per_topic),
            [
                ("prod/group/audit/topic/orders".to_string(), 900.0),
                ("test/group/billing/topic/orders".to_string(), 900.0)
            ]
        );
        let seconds =
            evaluate(&rule("kind = \"consumer_lag_seconds\"\nthreshold = 60"), &clusters, |_| true);
        assert_eq!(breaching(&seconds).len(), 2, "900 messages at 10/s is 90 s behind");
    }

    #[test]
    fn status_rules_fire_at_or_worse_than_the_chosen_status() {
        let clusters = [cluster(
            "prod",
            vec![
                group("a", 1, PartitionStatus::Warn),
                group("b", 1, PartitionStatus::Stall),
                group("c", 1, PartitionStatus::Stop),
                group("d", 1, PartitionStatus::Notfound),
            ],
        )];
        let round =
            evaluate(&rule("kind = \"consumer_status\"\nstatus = \"STALL\""), &clusters, |_| true);
        let keys: Vec<String> = breaching(&round).into_iter().map(|(k, _)| k).collect();
        assert_eq!(keys, ["prod/group/b", "prod/group/c"]);
    }

    fn topic(name: &str, lag: i64, lag_seconds: Option<f64>, status: PartitionStatus) -> TopicLag {
        TopicLag { topic: name.into(), lag, max_lag: lag, lag_seconds, status, partitions: vec![] }
    }

    /// `payments`: two members, topics orders (STOP), audit (STALL), clicks (OK, most lag).
    fn mixed_group() -> GroupLag {
        let mut g = group("payments", 0, PartitionStatus::Stop);
        g.summary.members = 2;
        g.summary.state = "Stable".into();
        g.summary.lag = 1_246 + 5_000;
        g.summary.lag_seconds = Some(312.0);
        g.topics = vec![
            topic("clicks", 5_000, Some(20.0), PartitionStatus::Ok),
            topic("audit", 12, None, PartitionStatus::Stall),
            topic("orders", 1_234, Some(312.0), PartitionStatus::Stop),
        ];
        g
    }

    fn topic_list(facts: &GroupFacts) -> Vec<(&str, &str)> {
        facts.topics.iter().map(|t| (t.topic.as_str(), t.status.as_str())).collect()
    }

    #[test]
    fn a_status_notice_gets_the_topics_at_or_worse_than_the_rule_worst_first() {
        let idle = group("idle", 0, PartitionStatus::Ok);
        let clusters = [cluster("prod", vec![mixed_group(), idle])];
        let round =
            evaluate(&rule("kind = \"consumer_status\"\nstatus = \"STALL\""), &clusters, |_| true);
        let facts = &round.group_facts["prod/group/payments"];
        assert_eq!(topic_list(facts), [("orders", "STOP"), ("audit", "STALL")]);
        assert_eq!((facts.lag, facts.lag_seconds, facts.members), (6_246, Some(312.0), 2));
        assert_eq!(facts.state, "Stable");
        assert_eq!(facts.topics[0].lag_seconds, Some(312.0));
        let idle = &round.group_facts["prod/group/idle"];
        assert!(idle.topics.is_empty(), "a healthy group has no topic to name");
        assert_eq!(idle.members, 0);
        assert_eq!(round.group_facts.len(), round.observations.len(), "one per subject");
    }

    #[test]
    fn lag_notices_list_every_topic_by_what_the_rule_compares() {
        let clusters = [cluster("prod", vec![mixed_group()])];
        let lag = evaluate(&rule("kind = \"consumer_lag\"\nthreshold = 1"), &clusters, |_| true);
        assert_eq!(
            topic_list(&lag.group_facts["prod/group/payments"]),
            [("clicks", "OK"), ("orders", "STOP"), ("audit", "STALL")]
        );
        let seconds =
            evaluate(&rule("kind = \"consumer_lag_seconds\"\nthreshold = 1"), &clusters, |_| true);
        assert_eq!(
            topic_list(&seconds.group_facts["prod/group/payments"]),
            [("orders", "STOP"), ("clicks", "OK"), ("audit", "STALL")],
            "unknown seconds last"
        );
        let per_topic = evaluate(
            &rule("kind = \"consumer_lag\"\ntopic = \"orders\"\nthreshold = 1"),
            &clusters,
            |_| true,
        );
        let facts = &per_topic.group_facts["prod/group/payments/topic/orders"];
        assert_eq!(topic_list(facts), [("orders", "STOP")]);
        assert_eq!((facts.lag, facts.lag_seconds, facts.members), (1_234, Some(312.0), 2));
    }

    #[test]
    fn a_group_with_many_topics_names_the_worst_and_counts_the_rest() {
        let mut many = group("wide", 0, PartitionStatus::Ok);
        many.topics = (0..NOTICE_TOPICS as i64 + 3)
            .map(|i| topic(&format!("t{i:02}"), i, None, PartitionStatus::Ok))
            .collect();
        let clusters = [cluster("prod", vec![many])];
        let round = evaluate(&rule("kind = \"consumer_lag\"\nthreshold = 1"), &clusters, |_| true);
        let facts = &round.group_facts["prod/group/wide"];
        assert_eq!((facts.topics.len(), facts.more_topics), (NOTICE_TOPICS, 3));
        assert_eq!(facts.topics[0].topic, format!("t{:02}", NOTICE_TOPICS + 2));
    }

    #[test]
    fn other_rules_have_no_group_facts() {
        let clusters = [cluster("prod", vec![mixed_group()])];
        let round = evaluate(&rule("kind = \"under_replicated\""), &clusters, |_| true);
        assert!(!round.observations.is_empty() && round.group_facts.is_empty());
    }

    #[test]
    fn current_values_are_what_the_rule_measures_now_and_skip_unreadable_clusters() {
        let mut down = (*cluster("down", vec![group("billing", 7, PartitionStatus::Ok)])).clone();
        down.consecutive_failures = 2;
        let clusters =
            [cluster("prod", vec![group("billing", 500, PartitionStatus::Ok)]), Arc::new(down)];
        let lag = current_values(&rule("kind = \"consumer_lag\"\nthreshold = 1000"), &clusters);
        assert_eq!(lag, HashMap::from([("prod/group/billing".to_string(), 500.0)]));
        let status = current_values(
            &rule("kind = \"consumer_status\"\nstatus = \"STALL\""),
            &[cluster("prod", vec![mixed_group()])],
        );
        assert_eq!(status["prod/group/payments"], f64::from(PartitionStatus::Stop.code()));
    }

    #[test]
    fn replication_rules_count_partitions_per_topic() {
        let clusters = [cluster("prod", vec![])];
        let urp = evaluate(&rule("kind = \"under_replicated\""), &clusters, |_| true);
        assert_eq!(breaching(&urp), [("prod/topic/orders".to_string(), 2.0)]);
        let offline =
            evaluate(&rule("kind = \"offline_partitions\"\nthreshold = 1"), &clusters, |_| true);
        assert!(breaching(&offline).is_empty(), "one offline partition is not above 1");
    }

    #[test]
    fn a_cluster_that_cannot_be_read_is_down_and_unknown_to_other_rules() {
        let mut state =
            (*cluster("prod", vec![group("billing", 500, PartitionStatus::Ok)])).clone();
        state.consecutive_failures = 3;
        let clusters = [Arc::new(state)];
        let down = evaluate(&rule("kind = \"cluster_down\""), &clusters, |_| true);
        assert_eq!(breaching(&down), [("prod".to_string(), 3.0)]);
        let lag = evaluate(&rule("kind = \"consumer_lag\"\nthreshold = 1"), &clusters, |_| true);
        assert!(lag.observations.is_empty());
        assert_eq!(lag.unknown_clusters, BTreeSet::from(["prod".to_string()]));
    }

    #[test]
    fn a_cluster_not_polled_since_the_last_round_is_unknown() {
        let clusters = [cluster("prod", vec![group("billing", 500, PartitionStatus::Ok)])];
        let round = evaluate(&rule("kind = \"consumer_lag\"\nthreshold = 1"), &clusters, |_| false);
        assert!(round.observations.is_empty());
        assert!(round.unknown_clusters.contains("prod"));
    }

    fn rabbit_cluster() -> Arc<ClusterState> {
        use crate::domain::rabbit::{Node, Overview, Queue, RabbitSnapshot, Rates};
        let queue = |vhost: &str, name: &str, ready: u64, consumers: u64| Queue {
            name: name.into(),
            vhost: vhost.into(),
            kind: "classic".into(),
            state: "running".into(),
            messages_ready: ready,
            messages_unacknowledged: 0,
            messages: ready,
            consumers,
            consumer_utilisation: None,
            idle_since: None,
            message_stats: Rates::default(),
        };
        let node = |name: &str, running: bool, mem_alarm: bool| Node {
            name: name.into(),
            running,
            mem_used: None,
            mem_limit: None,
            mem_alarm,
            disk_free: None,
            disk_free_limit: None,
            disk_free_alarm: false,
            fd_used: None,
            fd_total: None,
            uptime: None,
        };
        let mut state = (*cluster("rabbit", vec![])).clone();
        let mut snapshot = (**state.snapshot.as_ref().unwrap()).clone();
        snapshot.rabbit = Some(Arc::new(RabbitSnapshot {
            taken_at: 1,
            overview: Overview::default(),
            nodes: vec![
                node("rabbit@a", true, false),
                node("rabbit@b", true, true),
                node("rabbit@c", false, false),
            ],
            queues: vec![
                Queue {
                    message_stats: Rates { publish: Some(8.0), deliver_get: Some(3.0), ack: None },
                    ..queue("/", "orders", 500, 1)
                },
                queue("/", "audit", 3, 0),
                queue("eu", "orders", 0, 0),
            ],
        }));
        state.snapshot = Some(Arc::new(snapshot));
        Arc::new(state)
    }

    #[test]
    fn queue_rules_read_backlog_consumers_and_node_alarms() {
        let clusters = [rabbit_cluster()];
        let backlog =
            evaluate(&rule("kind = \"queue_backlog\"\nthreshold = 100"), &clusters, |_| true);
        assert_eq!(breaching(&backlog), [("rabbit/queue///orders".to_string(), 500.0)]);
        let scoped = evaluate(
            &rule("kind = \"queue_backlog\"\nvhost = \"eu\"\nthreshold = 0"),
            &clusters,
            |_| true,
        );
        assert!(breaching(&scoped).is_empty() && scoped.observations.len() == 1);
        let idle = evaluate(&rule("kind = \"queue_no_consumers\""), &clusters, |_| true);
        assert_eq!(
            breaching(&idle),
            [("rabbit/queue///audit".to_string(), 3.0)],
            "eu/orders is empty"
        );
        let growing = evaluate(&rule("kind = \"queue_backlog_growing\""), &clusters, |_| true);
        assert_eq!(breaching(&growing), [("rabbit/queue///orders".to_string(), 5.0)]);
        let nodes = evaluate(&rule("kind = \"node_alarm\""), &clusters, |_| true);
        assert_eq!(
            breaching(&nodes),
            [("rabbit/node/rabbit@b".to_string(), 1.0), ("rabbit/node/rabbit@c".to_string(), 4.0)]
        );
    }

    #[test]
    fn broker_metric_rules_compare_each_brokers_value_above_or_below() {
        use crate::domain::metrics::{BrokerMetrics, ClusterMetrics, Metric, Source};
        let mut state = (*cluster("prod", vec![])).clone();
        let broker = |id, idle: f64, urp: f64| {
            let mut b = BrokerMetrics::new(id);
            b.merge(
                Source::Jolokia,
                &[
                    (Metric::RequestHandlerIdlePercent, idle),
                    (Metric::UnderReplicatedPartitions, urp),
                ]
                .into(),
            );
            b
        };
        state.metrics = Some(Arc::new(ClusterMetrics {
            at: 1,
            brokers: vec![broker(1, 85.0, 0.0), broker(2, 12.5, 3.0)],
            totals: Default::default(),
        }));
        let clusters = [Arc::new(state)];
        let idle = rule(
            "kind = \"broker_metric\"\nmetric = \"request_handler_idle_percent\"\nthreshold = 20\nbelow = true",
        );
        idle.validate(|_| true).unwrap();
        assert_eq!(
            breaching(&evaluate(&idle, &clusters, |_| true)),
            [("prod/broker/2".to_string(), 12.5)]
        );
        let urp = rule(
            "kind = \"broker_metric\"\nmetric = \"under_replicated_partitions\"\nthreshold = 0",
        );
        assert_eq!(
            breaching(&evaluate(&urp, &clusters, |_| true)),
            [("prod/broker/2".to_string(), 3.0)]
        );
        assert_eq!(
            rule("kind = \"broker_metric\"\nthreshold = 0").validate(|_| true).unwrap_err().field,
            "metric"
        );
        let misplaced = rule("kind = \"consumer_lag\"\nthreshold = 1\nmetric = \"gc_per_sec\"");
        assert_eq!(misplaced.validate(|_| true).unwrap_err().field, "metric");
        assert!(
            toml::from_str::<RuleDef>("name = \"r\"\nkind = \"broker_metric\"\nmetric = \"nope\"")
                .is_err()
        );
    }

    #[test]
    fn a_missing_broker_breaches_and_present_ones_clear() {
        let mut state = (*cluster("prod", vec![])).clone();
        state.missing_brokers = vec![Broker { id: 2, host: "h".into(), port: 1, rack: None }];
        let round = evaluate(&rule("kind = \"broker_down\""), &[Arc::new(state)], |_| true);
        assert_eq!(breaching(&round), [("prod/broker/2".to_string(), 1.0)]);
        assert_eq!(round.observations.len(), 2);
    }
}
