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
        membership_changes: Default::default(),
        summary: GroupSummary {
            retention: Default::default(),
            lag_trend_per_sec: None,
            name: name.into(),
            state: "Empty".into(),
            protocol_type: "consumer".into(),
            protocol: String::new(),
            group_type: None,
            coordinator: Some(1),
            members: 0,
            status,
            status_thin: false,
            lag,
            max_lag: lag,
            lag_seconds: Some(lag as f64 / 10.0),
            lag_seconds_floor: false,
            consume_per_sec: None,
            produce_per_sec: None,
            drain_seconds: None,
            drain: Drain::of(lag, None, None),
            offsets_error: None,
        },
        topics: vec![TopicLag {
            retention: Default::default(),
            lag_trend_per_sec: None,
            topic: "orders".into(),
            lag,
            max_lag: lag,
            lag_seconds: None,
            lag_seconds_floor: false,
            status,
            status_thin: false,
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
            canary: false,
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
        queues: None,
        rocket: None,
        log_sizes: None,
        quorum: None,
        zookeeper: None,
        protocol_version: None,
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
        &rule("kind = \"consumer_lag\"\ncluster = \"prod\"\ngroup = \"bill*\"\nthreshold = 100"),
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
    TopicLag {
        retention: Default::default(),
        lag_trend_per_sec: None,
        topic: name.into(),
        lag,
        max_lag: lag,
        lag_seconds,
        lag_seconds_floor: false,
        status,
        status_thin: false,
        partitions: vec![],
    }
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
    let mut state = (*cluster("prod", vec![group("billing", 500, PartitionStatus::Ok)])).clone();
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
    use crate::domain::queue::{Node, Overview, Queue, QueueSnapshot, Rates};
    let queue = |vhost: &str, name: &str, ready: u64, consumers: u64| Queue {
        name: name.into(),
        vhost: vhost.into(),
        kind: "classic".into(),
        state: "running".into(),
        messages_ready: ready,
        messages_unacknowledged: 0,
        delayed: 0,
        held: 0,
        messages: ready,
        consumers,
        consumer_utilisation: None,
        idle_since: None,
        message_stats: Rates::default(),
    };
    let node = |name: &str, running: bool, mem_alarm: bool| Node {
        name: name.into(),
        running,
        mem_alarm,
        ..Node::default()
    };
    let mut state = (*cluster("rabbit", vec![])).clone();
    let mut snapshot = (**state.snapshot.as_ref().unwrap()).clone();
    snapshot.queues = Some(Arc::new(QueueSnapshot {
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
    let backlog = evaluate(&rule("kind = \"queue_backlog\"\nthreshold = 100"), &clusters, |_| true);
    assert_eq!(breaching(&backlog), [("rabbit/queue///orders".to_string(), 500.0)]);
    let scoped = evaluate(
        &rule("kind = \"queue_backlog\"\nvhost = \"eu\"\nthreshold = 0"),
        &clusters,
        |_| true,
    );
    assert!(breaching(&scoped).is_empty() && scoped.observations.len() == 1);
    let idle = evaluate(&rule("kind = \"queue_no_consumers\""), &clusters, |_| true);
    assert_eq!(breaching(&idle), [("rabbit/queue///audit".to_string(), 3.0)], "eu/orders is empty");
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
            &[(Metric::RequestHandlerIdlePercent, idle), (Metric::UnderReplicatedPartitions, urp)]
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
    let urp =
        rule("kind = \"broker_metric\"\nmetric = \"under_replicated_partitions\"\nthreshold = 0");
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

#[test]
fn a_status_or_age_known_too_thinly_is_unknown_not_clear() {
    // After a restart or a lease hand-over the windows are empty: OK for want of a full window
    // and an age that is only a floor say nothing, so the alerts keep their state.
    let mut thin = group("billing", 500, PartitionStatus::Ok);
    thin.summary.status_thin = true;
    thin.summary.lag_seconds = Some(12.0);
    thin.summary.lag_seconds_floor = true;
    let clusters = [cluster("prod", vec![thin.clone()])];
    let status =
        evaluate(&rule("kind = \"consumer_status\"\nstatus = \"STOP\""), &clusters, |_| true);
    assert!(status.observations.is_empty(), "{:?}", status.observations);
    assert_eq!(status.unknown_subjects, BTreeSet::from(["prod/group/billing".to_string()]));
    let seconds = rule("kind = \"consumer_lag_seconds\"\nthreshold = 300.0");
    let round = evaluate(&seconds, &clusters, |_| true);
    assert_eq!(round.unknown_subjects.len(), 1, "a floor under the threshold is unknown");

    // A floor above the threshold is evidence enough; a judged status is observed.
    thin.summary.lag_seconds = Some(400.0);
    let round = evaluate(&seconds, &[cluster("prod", vec![thin.clone()])], |_| true);
    assert_eq!(breaching(&round), vec![("prod/group/billing".to_string(), 400.0)]);
    thin.summary.status_thin = false;
    let status = evaluate(
        &rule("kind = \"consumer_status\"\nstatus = \"STOP\""),
        &[cluster("prod", vec![thin])],
        |_| true,
    );
    assert_eq!(status.observations.len(), 1);
    assert!(status.unknown_subjects.is_empty());
}

#[test]
fn a_forecast_fires_on_where_the_trend_leads_not_where_the_lag_is() {
    let forecast = rule("kind = \"lag_forecast\"\nthreshold = 10000.0\nhorizon = \"15m\"");
    let mut heading = group("billing", 2_000, PartitionStatus::Ok);
    heading.summary.lag_trend_per_sec = Some(10.0);
    let round = evaluate(&forecast, &[cluster("prod", vec![heading.clone()])], |_| true);
    // 2,000 + 10/s × 900 s = 11,000 > 10,000: fires, and says when the lag passes.
    assert_eq!(breaching(&round), vec![("prod/group/billing".to_string(), 11_000.0)]);
    assert_eq!(round.group_facts["prod/group/billing"].passes_in, Some(800.0));

    heading.summary.lag_trend_per_sec = Some(-5.0);
    let round = evaluate(&forecast, &[cluster("prod", vec![heading.clone()])], |_| true);
    assert!(breaching(&round).is_empty(), "a draining lag heads nowhere");
    heading.summary.lag = 20_000;
    let round = evaluate(&forecast, &[cluster("prod", vec![heading.clone()])], |_| true);
    assert!(breaching(&round).is_empty(), "above and draining: the lag rule's business");

    heading.summary.lag_trend_per_sec = None;
    let round = evaluate(&forecast, &[cluster("prod", vec![heading])], |_| true);
    assert_eq!(round.unknown_subjects.len(), 1, "no trend yet: unknown, not clear");
}

#[test]
fn a_retention_risk_fires_on_the_unread_share_and_tells_the_loss() {
    use crate::evaluator::RetentionRisk;
    let risk = rule("kind = \"retention_risk\"\nthreshold = 80.0");
    let mut group = group("billing", 900, PartitionStatus::Ok);
    group.summary.retention =
        RetentionRisk { used_pct: Some(85.0), loss_eta_seconds: Some(120.0), lost: 0 };
    let round = evaluate(&risk, &[cluster("prod", vec![group.clone()])], |_| true);
    assert_eq!(breaching(&round), vec![("prod/group/billing".to_string(), 85.0)]);
    let facts = &round.group_facts["prod/group/billing"];
    assert_eq!(facts.retention.map(|r| r.loss_eta_seconds), Some(Some(120.0)));

    group.summary.retention.used_pct = Some(40.0);
    let round = evaluate(&risk, &[cluster("prod", vec![group.clone()])], |_| true);
    assert!(breaching(&round).is_empty() && round.observations.len() == 1);

    group.summary.retention.used_pct = None;
    let round = evaluate(&risk, &[cluster("prod", vec![group])], |_| true);
    assert_eq!(round.unknown_subjects.len(), 1, "no log start known: unknown, not clear");
    assert!(rule("kind = \"retention_risk\"\nthreshold = 100.0").validate(|_| true).is_err());
}

#[test]
fn a_rebalance_storm_counts_membership_changes_within_the_window() {
    use crate::evaluator::MembershipChange;
    let storm = rule("kind = \"group_rebalancing\"\nthreshold = 2.0\nwindow = \"5m\"");
    let mut group = group("billing", 10, PartitionStatus::Ok);
    let change =
        |at: i64| MembershipChange { at, joined: vec!["c (h)".into()], left: vec![], members: 1 };
    // The cluster's snapshot is taken at 1 ms: changes at or before −5 min fall out.
    group.membership_changes =
        vec![change(-400_000), change(-200_000), change(-100_000), change(0)];
    let round = evaluate(&storm, &[cluster("prod", vec![group.clone()])], |_| true);
    assert_eq!(breaching(&round), vec![("prod/group/billing".to_string(), 3.0)]);
    let hints = &round.group_facts["prod/group/billing"].hints;
    assert!(
        hints.iter().any(|h| matches!(h, crate::evaluator::Hint::MembersChanged { .. })),
        "{hints:?}"
    );
    group.membership_changes.truncate(2);
    let round = evaluate(&storm, &[cluster("prod", vec![group])], |_| true);
    assert!(breaching(&round).is_empty());
    assert!(
        rule("kind = \"group_rebalancing\"\nthreshold = 2.0\nwindow = \"2h\"")
            .validate(|_| true)
            .is_err()
    );
    assert!(
        rule("kind = \"consumer_lag\"\nthreshold = 2.0\nwindow = \"5m\"")
            .validate(|_| true)
            .is_err()
    );
}

#[test]
fn a_topic_that_had_traffic_and_went_quiet_fires_producer_stopped() {
    let stopped = rule("kind = \"producer_stopped\"\nthreshold = 5.0\nwindow = \"10m\"");
    let mut state = (*cluster("prod", vec![])).clone();
    let base = state.snapshot.clone().unwrap();
    // Every partition of `orders` at `end` (three partitions), `minutes` into the run.
    let at = |minutes: i64, end: i64| {
        let mut s = (*base).clone();
        s.taken_at = minutes * 60_000;
        for p in &mut s.topics[0].partitions {
            p.latest_offset = Some(end);
        }
        s
    };
    let mut flows = crate::evaluator::TopicFlows::new(60_000);
    for minute in 0..=25 {
        // Traffic for the first 12 minutes, then 1 message in total.
        let end = 10 * minute.min(12) + i64::from(minute > 20);
        flows.record(&at(minute, end));
        state.flows = Arc::new(flows.clone());
        state.snapshot = Some(Arc::new(at(minute, end)));
    }
    let round = evaluate(&stopped, &[Arc::new(state.clone())], |_| true);
    // 3 partitions × 1 message in the last 10 minutes: 3 < 5, after 360 before.
    assert_eq!(breaching(&round), vec![("prod/topic/orders".to_string(), 3.0)]);

    let quiet_long = rule("kind = \"producer_stopped\"\nthreshold = 5.0\nwindow = \"30m\"");
    let round = evaluate(&quiet_long, &[Arc::new(state.clone())], |_| true);
    assert_eq!(round.unknown_subjects.len(), 1, "the history does not reach back 30 minutes");
    let busy = rule("kind = \"producer_stopped\"\nthreshold = 5.0\nwindow = \"20m\"");
    let round = evaluate(&busy, &[Arc::new(state)], |_| true);
    assert!(breaching(&round).is_empty(), "traffic within 20 minutes");
}

#[test]
fn connection_churn_compares_the_opened_rate_and_skips_clusters_without_one() {
    use crate::domain::queue::{ChurnRates, Overview, QueueSnapshot};
    let churn = rule("kind = \"connection_churn\"\nthreshold = 5.0");
    let with_opened = |opened: Option<f64>| {
        let mut state = (*cluster("rabbit", vec![])).clone();
        let mut snapshot = (**state.snapshot.as_ref().unwrap()).clone();
        let churn_rates = ChurnRates { connections_opened: opened, connections_closed: opened };
        let overview = Overview { churn_rates, ..Overview::default() };
        snapshot.queues = Some(Arc::new(QueueSnapshot::assembled(1, overview, vec![], vec![])));
        state.snapshot = Some(Arc::new(snapshot));
        Arc::new(state)
    };
    let round = evaluate(&churn, &[with_opened(Some(12.5))], |_| true);
    assert_eq!(breaching(&round), vec![("rabbit".to_string(), 12.5)]);
    let round = evaluate(&churn, &[with_opened(Some(0.4))], |_| true);
    assert!(breaching(&round).is_empty() && round.observations.len() == 1);
    let round = evaluate(&churn, &[with_opened(None)], |_| true);
    assert!(round.observations.is_empty(), "no rate (not RabbitMQ, or not yet): nothing observed");
}

#[test]
fn canary_rules_judge_each_broker_and_keep_going_while_polls_fail() {
    use crate::domain::canary::{BrokerCanary, CanaryFigures, CanaryReading};
    let figures = |lost: u64, p99: Option<f64>| CanaryFigures {
        sent: 12,
        lost,
        end_to_end_p99_ms: p99,
        ..CanaryFigures::default()
    };
    let with_canary = |at: Option<i64>, failing_polls: u32| {
        let mut state = (*cluster("kc", vec![])).clone();
        state.consecutive_failures = failing_polls;
        state.canary = Some(Arc::new(CanaryReading {
            topic: "__osprey_canary".into(),
            interval_ms: 10_000,
            window_ms: 60_000,
            at,
            error: None,
            cluster: figures(4, Some(900.0)),
            brokers: vec![
                BrokerCanary { broker: 1, node: None, figures: figures(0, Some(12.0)) },
                BrokerCanary { broker: 2, node: None, figures: figures(4, None) },
            ],
            last_lost: vec![],
        }));
        Arc::new(state)
    };
    let loss = rule("kind = \"canary_loss\"");
    // The cluster's polls fail (broker 2 hangs them): the canary still tells.
    let round = evaluate(&loss, &[with_canary(Some(1), 3)], |_| true);
    let breaching: Vec<_> = round.observations.iter().filter(|(_, o)| o.breaching).collect();
    assert_eq!(breaching.len(), 1);
    assert_eq!((breaching[0].0.broker, breaching[0].1.value), (Some(2), 4.0));
    assert!(round.unknown_clusters.is_empty());

    let latency = rule("kind = \"canary_latency\"\nthreshold = 10");
    let round = evaluate(&latency, &[with_canary(Some(1), 0)], |_| true);
    assert_eq!(round.observations.len(), 1, "broker 1 judged: {round:?}");
    assert!(round.observations[0].1.breaching && round.observations[0].1.value == 12.0);
    assert_eq!(round.unknown_subjects.len(), 1, "broker 2 read nothing back: no latency");

    let round = evaluate(&loss, &[with_canary(None, 0)], |_| true);
    assert!(round.unknown_clusters.contains("kc"), "no round yet");
    let round = evaluate(&loss, &[cluster("kc", vec![])], |_| true);
    assert!(round.observations.is_empty() && round.unknown_clusters.is_empty(), "no canary");
}
