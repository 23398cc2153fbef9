//! `/metrics`: the latest state of every cluster in Prometheus' text format (consumer lag per
//! partition, lag seconds, group status; broker, cluster and topic metrics; Osprey's own poll
//! duration and errors; firing alerts and undelivered notices).

use std::fmt::Write;
use std::sync::Arc;

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;

use super::AppState;
use crate::domain::canary::{CanaryFigures, CanaryReading};
use crate::domain::metrics::Metric;
use crate::domain::queue::{Queue, QueueSnapshot};
use crate::evaluator::{GroupLag, GroupSummary, PartitionLag, TopicLag};
use crate::poller::{ClusterState, ClusterStatus};

/// Open when reading needs no login; otherwise for a logged-in viewer, an API token or the
/// configured `auth.metrics_token` (as Prometheus' `authorization` setting sends it).
pub async fn handler(
    State(state): State<AppState>,
    who: crate::auth::Principal,
    headers: axum::http::HeaderMap,
) -> axum::response::Response {
    let bearer = super::access::bearer_of(&headers);
    let mut allowed = state.auth.config().anonymous_read || who.has(crate::auth::Role::Viewer);
    if let (false, Some(token)) = (allowed, bearer) {
        allowed = state.auth.is_metrics_token(token)
            || state
                .auth
                .from_token(token, crate::clock::now_millis())
                .await
                .is_ok_and(|p| p.is_some_and(|p| p.has(crate::auth::Role::Viewer)));
    }
    if !allowed {
        return (
            axum::http::StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            "a bearer token is needed (auth.metrics_token or an API token)",
        )
            .into_response();
    }
    let mut text = render(&state.clusters.all());
    render_alerting(&state.store, &mut text).await;
    render_instances(&state, &mut text).await;
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], text).into_response()
}

/// Firing alerts per rule and severity, and notices not delivered yet. Left out (and logged)
/// when the database does not answer: cluster metrics still go out.
async fn render_alerting(store: &crate::store::Store, out: &mut String) {
    let (firing, pending) =
        match (store.incidents(true, 10_000).await, store.pending_delivery_count().await) {
            (Ok(firing), Ok(pending)) => (firing, pending),
            (Err(e), _) | (_, Err(e)) => {
                tracing::warn!(error = %e, "alert metrics left out of /metrics");
                return;
            }
        };
    let mut m = Family { out };
    let mut counts: std::collections::BTreeMap<(&str, &str), usize> = Default::default();
    for incident in &firing {
        *counts.entry((incident.rule.as_str(), incident.severity.as_str())).or_default() += 1;
    }
    m.header("osprey_alerts_firing", "gauge", "Incidents firing now, per rule and severity.");
    for ((rule, severity), count) in counts {
        m.sample("osprey_alerts_firing", &[("rule", rule), ("severity", severity)], count as f64);
    }
    m.header(
        "osprey_alert_deliveries_pending",
        "gauge",
        "Notices a channel has not accepted yet (retried with backoff).",
    );
    let _ = writeln!(m.out, "osprey_alert_deliveries_pending {pending}");
}

/// A figure of a lease, as one `/metrics` family exports it.
type LeaseValue = fn(&crate::store::LeaseRow) -> f64;

/// With several instances: each instance's liveness and the holder of each lease, as the
/// Instances page shows them. Left out (and logged) when the database does not answer.
async fn render_instances(state: &AppState, out: &mut String) {
    let view = match crate::query::instances(&state.store, &state.ownership, state.lease_ttl).await
    {
        Ok(view) if view.scale_out => view,
        Ok(_) => return,
        Err(e) => {
            tracing::warn!(error = %e, "instance metrics left out of /metrics");
            return;
        }
    };
    let mut m = Family { out };
    m.header(
        "osprey_instance_alive",
        "gauge",
        "1 while the instance renews its heartbeat (several instances on one database).",
    );
    for i in &view.instances {
        let labels =
            [("instance", i.name.as_str()), ("id", i.id.as_str()), ("version", i.version.as_str())];
        m.sample("osprey_instance_alive", &labels, f64::from(u8::from(i.alive)));
    }
    let leases: Vec<(&str, &crate::store::LeaseRow)> = view
        .instances
        .iter()
        .flat_map(|i| i.leases.iter().map(move |lease| (i.name.as_str(), lease)))
        .collect();
    let families: [(&str, &str, LeaseValue); 2] = [
        (
            "osprey_lease_epoch",
            "The epoch of each lease, by its holder; grows with each new holder.",
            |lease| lease.epoch as f64,
        ),
        (
            "osprey_lease_renewed_timestamp_seconds",
            "When each lease was last renewed by its holder.",
            |lease| lease.renewed_at as f64 / 1000.0,
        ),
    ];
    for (name, help, value) in families {
        m.header(name, "gauge", help);
        for (instance, lease) in &leases {
            m.sample(name, &[("lease", lease.name.as_str()), ("instance", instance)], value(lease));
        }
    }
}

/// A label value with `\`, `"` and newlines escaped as the text format requires.
fn escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

struct Family<'a> {
    out: &'a mut String,
}

impl Family<'_> {
    fn header(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.out, "# HELP {name} {help}\n# TYPE {name} {kind}");
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: f64) {
        let labels: Vec<String> =
            labels.iter().map(|(k, v)| format!("{k}=\"{}\"", escape(v))).collect();
        let _ = writeln!(self.out, "{name}{{{}}} {value}", labels.join(","));
    }
}

/// Every (cluster, group) of the latest states.
fn groups(clusters: &[Arc<ClusterState>]) -> impl Iterator<Item = (&str, &GroupLag)> {
    clusters.iter().flat_map(|c| c.groups.iter().map(move |g| (c.name.as_str(), g)))
}

/// A gauge family: its name, its help and its value for one subject, when it has one.
type Gauge<T> = (&'static str, &'static str, fn(&T) -> Option<f64>);

/// Every (cluster, group, topic, partition) of the latest states.
fn partitions(
    clusters: &[Arc<ClusterState>],
) -> impl Iterator<Item = (&str, &GroupLag, &TopicLag, &PartitionLag)> {
    groups(clusters).flat_map(|(cluster, g)| {
        g.topics.iter().flat_map(move |t| t.partitions.iter().map(move |p| (cluster, g, t, p)))
    })
}

pub fn render(clusters: &[Arc<ClusterState>]) -> String {
    let mut out = String::with_capacity(4096);
    let mut m = Family { out: &mut out };

    m.header("osprey_cluster_up", "gauge", "1 when the last poll of the cluster succeeded.");
    for c in clusters {
        m.sample(
            "osprey_cluster_up",
            &[("cluster", &c.name)],
            f64::from(u8::from(c.status() == ClusterStatus::Up)),
        );
    }
    m.header("osprey_poll_duration_seconds", "gauge", "Duration of the last successful full poll.");
    for c in clusters {
        if let Some(s) = &c.snapshot {
            m.sample(
                "osprey_poll_duration_seconds",
                &[("cluster", &c.name)],
                s.poll_millis as f64 / 1000.0,
            );
        }
    }
    m.header("osprey_poll_errors_total", "counter", "Failed polls since Osprey started.");
    for c in clusters {
        m.sample("osprey_poll_errors_total", &[("cluster", &c.name)], c.poll_failures_total as f64);
    }

    let per_partition: [Gauge<PartitionLag>; 3] = [
        ("kafka_consumergroup_lag", "Messages a consumer group is behind on a partition.", |p| {
            Some(p.lag as f64)
        }),
        (
            "kafka_consumergroup_lag_seconds",
            "Age of the oldest unconsumed message on a partition, in seconds.",
            |p| p.lag_seconds,
        ),
        (
            "osprey_consumergroup_retention_used_percent",
            "How much of its retention a consumer group's oldest unread message on a partition has used, percent (its age against retention.ms, else the unread share of the retained log; 100 once retention deleted unread messages).",
            |p| p.retention.used_pct,
        ),
    ];
    for (name, help, value) in per_partition {
        m.header(name, "gauge", help);
        for (cluster, g, t, p) in partitions(clusters) {
            let Some(value) = value(p) else { continue };
            let partition = p.partition.to_string();
            let labels = [
                ("cluster", cluster),
                ("group", &g.summary.name),
                ("topic", &t.topic),
                ("partition", &partition),
            ];
            m.sample(name, &labels, value);
        }
    }
    let per_group: [Gauge<GroupSummary>; 4] = [
        (
            "kafka_consumergroup_group_lag",
            "Messages a consumer group is behind, summed over its partitions.",
            |g| Some(g.lag as f64),
        ),
        (
            "osprey_consumergroup_lag_trend",
            "How fast a consumer group's lag grows, messages per second, by the line through the lag window (negative while it drains).",
            |g| g.lag_trend_per_sec,
        ),
        (
            "osprey_consumergroup_lost_messages",
            "Messages retention deleted before a consumer group read them: how far the log start has passed its committed offset.",
            |g| Some(g.retention.lost as f64),
        ),
        (
            "osprey_consumergroup_retention_loss_eta_seconds",
            "Seconds until retention deletes a consumer group's first unread message at the current pace (absent while it is not closing in).",
            |g| g.retention.loss_eta_seconds,
        ),
    ];
    for (name, help, value) in per_group {
        m.header(name, "gauge", help);
        for (cluster, g) in groups(clusters) {
            let Some(value) = value(&g.summary) else { continue };
            m.sample(name, &[("cluster", cluster), ("group", &g.summary.name)], value);
        }
    }
    m.header(
        "kafka_consumergroup_status",
        "gauge",
        "Group health: 0 NOTFOUND, 1 OK, 2 WARN, 3 REWIND, 4 STALL, 5 STOP.",
    );
    for (cluster, g) in groups(clusters) {
        m.sample(
            "kafka_consumergroup_status",
            &[("cluster", cluster), ("group", &g.summary.name)],
            f64::from(g.summary.status.code()),
        );
    }
    m.header(
        "kafka_topic_messages_in_per_second",
        "gauge",
        "Messages appended to a topic per second over the last poll.",
    );
    for c in clusters {
        for t in c.snapshot.iter().flat_map(|s| s.topics.iter()) {
            if let Some(rate) = t.messages_in_per_sec {
                m.sample(
                    "kafka_topic_messages_in_per_second",
                    &[("cluster", &c.name), ("topic", &t.name)],
                    rate,
                );
            }
        }
    }
    render_broker_metrics(clusters, &mut m);
    render_queues(clusters, &mut m);
    render_canary(clusters, &mut m);
    out
}

/// A counter family: name, help and the count it reads.
type Counter<T> = (&'static str, &'static str, fn(&T) -> u64);

/// The end-to-end canary of every cluster that runs one: markers sent and lost per broker since
/// it started, and latency quantiles over its window per broker and for the cluster.
fn render_canary(clusters: &[Arc<ClusterState>], m: &mut Family<'_>) {
    let readings: Vec<(&str, &CanaryReading)> =
        clusters.iter().filter_map(|c| Some((c.name.as_str(), c.canary.as_deref()?))).collect();
    let brokers = || {
        readings.iter().flat_map(|(cluster, r)| {
            r.brokers.iter().map(move |b| (*cluster, b.broker.to_string(), &b.figures))
        })
    };
    let counters: [Counter<CanaryFigures>; 2] = [
        ("osprey_canary_sent_total", "Canary markers sent to a broker's partitions.", |f| {
            f.sent_total
        }),
        (
            "osprey_canary_lost_total",
            "Canary markers sent to a broker's partitions and not read back in time.",
            |f| f.lost_total,
        ),
    ];
    for (name, help, value) in counters {
        m.header(name, "counter", help);
        for (cluster, broker, figures) in brokers() {
            m.sample(name, &[("cluster", cluster), ("broker", &broker)], value(figures) as f64);
        }
    }
    let quantiles = |f: &CanaryFigures| {
        [
            ("produce", "0.5", f.produce_p50_ms),
            ("produce", "0.99", f.produce_p99_ms),
            ("end_to_end", "0.5", f.end_to_end_p50_ms),
            ("end_to_end", "0.99", f.end_to_end_p99_ms),
        ]
    };
    let name = "osprey_canary_latency_seconds";
    m.header(
        name,
        "gauge",
        "Canary latency over its window: send to acknowledgement (produce) and to read back (end_to_end), per broker; broker \"\" is the whole cluster.",
    );
    let cluster_rows = readings.iter().map(|(cluster, r)| (*cluster, String::new(), &r.cluster));
    for (cluster, broker, figures) in brokers().chain(cluster_rows) {
        for (stage, quantile, ms) in quantiles(figures) {
            let Some(ms) = ms else { continue };
            let labels = [
                ("cluster", cluster),
                ("broker", &broker),
                ("stage", stage),
                ("quantile", quantile),
            ];
            m.sample(name, &labels, ms / 1000.0);
        }
    }
}

/// Every queue (RabbitMQ) and tube (beanstalkd): its messages by state, consumers and rates.
fn render_queues(clusters: &[Arc<ClusterState>], m: &mut Family<'_>) {
    let views: Vec<(&str, &QueueSnapshot)> = clusters
        .iter()
        .filter_map(|c| Some((c.name.as_str(), c.snapshot.as_ref()?.queues.as_deref()?)))
        .collect();
    let queues: Vec<(&str, &Queue)> =
        views.iter().flat_map(|&(c, v)| v.queues.iter().map(move |q| (c, q))).collect();
    m.header(
        "osprey_queue_messages",
        "gauge",
        "Messages (jobs) of a queue or tube by state: ready, unacked (reserved), delayed, held \
         (buried).",
    );
    for &(cluster, q) in &queues {
        let states = [
            ("ready", q.messages_ready),
            ("unacked", q.messages_unacknowledged),
            ("delayed", q.delayed),
            ("held", q.held),
        ];
        for (state, count) in states {
            let labels =
                [("cluster", cluster), ("vhost", &q.vhost), ("queue", &q.name), ("state", state)];
            m.sample("osprey_queue_messages", &labels, count as f64);
        }
    }
    m.header("osprey_queue_consumers", "gauge", "Consumers of a queue (workers watching a tube).");
    for &(cluster, q) in &queues {
        let labels = [("cluster", cluster), ("vhost", &q.vhost), ("queue", &q.name)];
        m.sample("osprey_queue_consumers", &labels, q.consumers as f64);
    }
    m.header(
        "osprey_connection_churn",
        "gauge",
        "RabbitMQ: connections opened and closed per second, by direction.",
    );
    for &(cluster, view) in &views {
        let churn = &view.overview.churn_rates;
        let rates = [("opened", churn.connections_opened), ("closed", churn.connections_closed)];
        for (direction, rate) in rates {
            let Some(rate) = rate else { continue };
            let labels = [("cluster", cluster), ("direction", direction)];
            m.sample("osprey_connection_churn", &labels, rate);
        }
    }
    m.header(
        "osprey_queue_rate",
        "gauge",
        "Messages per second published to (put into) and delivered from (done in) a queue.",
    );
    for &(cluster, q) in &queues {
        let rates =
            [("publish", q.message_stats.publish), ("deliver", q.message_stats.deliver_get)];
        for (direction, rate) in rates {
            let Some(rate) = rate else { continue };
            let labels = [
                ("cluster", cluster),
                ("vhost", &q.vhost),
                ("queue", &q.name),
                ("direction", direction),
            ];
            m.sample("osprey_queue_rate", &labels, rate);
        }
    }
}

/// The broker metrics model (from offsets, JMX exporters, Jolokia, RabbitMQ, RocketMQ): per
/// cluster, per broker and per topic, one gauge family each with a `metric` label.
fn render_broker_metrics(clusters: &[Arc<ClusterState>], m: &mut Family<'_>) {
    let latest = || clusters.iter().filter_map(|c| Some((c.name.as_str(), c.metrics.as_deref()?)));
    m.header(
        "osprey_cluster_metric",
        "gauge",
        "A cluster's broker metric (summed over brokers; idle: the least idle broker).",
    );
    for (cluster, metrics) in latest() {
        for (metric, value) in metrics.cluster_values() {
            m.sample(
                "osprey_cluster_metric",
                &[("cluster", cluster), ("metric", metric.as_str())],
                value,
            );
        }
    }
    m.header(
        "osprey_broker_metric",
        "gauge",
        "A broker's metric: rates per second, idle in percent, times in ms, sizes in bytes.",
    );
    for (cluster, metrics) in latest() {
        for broker in &metrics.brokers {
            let id = broker.broker.to_string();
            for (metric, value) in &broker.values {
                let labels =
                    [("cluster", cluster), ("broker", id.as_str()), ("metric", metric.as_str())];
                m.sample("osprey_broker_metric", &labels, *value);
            }
        }
    }
    m.header(
        "osprey_topic_metric",
        "gauge",
        "A topic's bytes and messages per second, summed over brokers.",
    );
    for (cluster, metrics) in latest() {
        for metric in [Metric::BytesInPerSec, Metric::BytesOutPerSec, Metric::MessagesInPerSec] {
            for (topic, value) in metrics.topic_values(metric) {
                let labels = [("cluster", cluster), ("topic", topic), ("metric", metric.as_str())];
                m.sample("osprey_topic_metric", &labels, value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::evaluator::{Drain, GroupSummary, PartitionStatus};

    #[test]
    fn lag_and_status_in_text_format() {
        let config = Config::example().clusters.remove(0);
        let mut state = ClusterState::new(&config);
        state.poll_failures_total = 3;
        state.groups = Arc::new(vec![GroupLag {
            membership_changes: Default::default(),
            summary: GroupSummary {
                retention: Default::default(),
                lag_trend_per_sec: None,
                name: "bill\"ing".into(),
                state: "Stable".into(),
                protocol_type: "consumer".into(),
                protocol: "range".into(),
                group_type: None,
                coordinator: Some(1),
                members: 1,
                status: PartitionStatus::Stop,
                status_thin: false,
                lag: 40,
                max_lag: 40,
                lag_seconds: Some(12.5),
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
                lag: 40,
                max_lag: 40,
                lag_seconds: Some(12.5),
                lag_seconds_floor: false,
                status: PartitionStatus::Stop,
                status_thin: false,
                partitions: vec![PartitionLag {
                    retention: Default::default(),
                    partition: 0,
                    committed: 60,
                    end: Some(100),
                    lag: 40,
                    lag_seconds: Some(12.5),
                    lag_seconds_floor: false,
                    status: PartitionStatus::Stop,
                    status_thin: false,
                    owner: None,
                }],
            }],
        }]);
        let text = render(&[Arc::new(state)]);
        assert!(text.contains(r#"kafka_consumergroup_lag{cluster="local",group="bill\"ing",topic="orders",partition="0"} 40"#), "{text}");
        assert!(text.contains(r#"kafka_consumergroup_lag_seconds{cluster="local",group="bill\"ing",topic="orders",partition="0"} 12.5"#));
        assert!(
            text.contains(r#"kafka_consumergroup_status{cluster="local",group="bill\"ing"} 5"#)
        );
        assert!(text.contains(r#"osprey_poll_errors_total{cluster="local"} 3"#));
        assert!(text.contains(r#"osprey_cluster_up{cluster="local"} 0"#));
        assert!(text.contains("# TYPE kafka_consumergroup_lag gauge"));
    }

    #[test]
    fn queues_and_tubes_by_state_with_consumers_and_known_rates() {
        use crate::domain::queue::{Queue, QueueSnapshot, Rates};
        let config = Config::example().clusters.remove(0);
        let mut state = ClusterState::new(&config);
        let tube = Queue {
            name: "mail".into(),
            vhost: "10.0.0.5:11300".into(),
            kind: "tube".into(),
            state: "running".into(),
            messages_ready: 4,
            messages_unacknowledged: 1,
            messages: 5,
            delayed: 2,
            held: 3,
            consumers: 0,
            consumer_utilisation: None,
            idle_since: None,
            message_stats: Rates { publish: Some(1.5), deliver_get: None, ack: None },
        };
        let mut snapshot = crate::domain::fixtures::snapshot(1_000, vec![]);
        snapshot.queues = Some(Arc::new(QueueSnapshot {
            taken_at: 1_000,
            overview: Default::default(),
            nodes: vec![],
            queues: vec![tube],
        }));
        state.snapshot = Some(Arc::new(snapshot));
        let text = render(&[Arc::new(state)]);
        let labels = r#"cluster="local",vhost="10.0.0.5:11300",queue="mail""#;
        for (state, value) in [("ready", 4), ("unacked", 1), ("delayed", 2), ("held", 3)] {
            let line = format!("osprey_queue_messages{{{labels},state=\"{state}\"}} {value}");
            assert!(text.contains(&line), "{line} in {text}");
        }
        assert!(text.contains(&format!("osprey_queue_consumers{{{labels}}} 0")));
        assert!(
            text.contains(&format!(r#"osprey_queue_rate{{{labels},direction="publish"}} 1.5"#))
        );
        assert!(!text.contains(r#"direction="deliver""#), "an unknown rate is left out");
    }

    #[test]
    fn canary_counters_per_broker_and_latency_quantiles_in_seconds() {
        use crate::domain::canary::{BrokerCanary, CanaryFigures, CanaryReading};
        let config = Config::example().clusters.remove(0);
        let mut state = ClusterState::new(&config);
        let figures = CanaryFigures {
            sent: 6,
            lost: 1,
            end_to_end_p99_ms: Some(250.0),
            sent_total: 60,
            lost_total: 2,
            ..CanaryFigures::default()
        };
        state.canary = Some(Arc::new(CanaryReading {
            topic: "__osprey_canary".into(),
            interval_ms: 10_000,
            window_ms: 60_000,
            at: Some(1),
            error: None,
            cluster: figures.clone(),
            brokers: vec![BrokerCanary { broker: 2, node: None, figures }],
            last_lost: vec![],
        }));
        let text = render(&[Arc::new(state)]);
        let name = &config.name;
        assert!(text.contains("# TYPE osprey_canary_lost_total counter"));
        assert!(
            text.contains(&format!(
                "osprey_canary_sent_total{{cluster=\"{name}\",broker=\"2\"}} 60"
            ))
        );
        assert!(
            text.contains(&format!(
                "osprey_canary_lost_total{{cluster=\"{name}\",broker=\"2\"}} 2"
            ))
        );
        let quantile = format!(
            "osprey_canary_latency_seconds{{cluster=\"{name}\",broker=\"\",stage=\"end_to_end\",quantile=\"0.99\"}} 0.25"
        );
        assert!(text.contains(&quantile), "{text}");
        assert!(!text.contains("stage=\"produce\""), "unknown quantiles are left out");
    }
}
