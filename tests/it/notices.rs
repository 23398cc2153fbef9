//! Alert notices as on-call teams want them, against real beanstalkd servers, a real SMTP
//! server and local receivers: a storm of 2,000 backlogs is one e-mail and its growth one
//! follow-up; a cluster that goes down is one notice; a restart during `group_wait` neither
//! loses nor repeats the grouped notice; routes send `critical` to PagerDuty and the rest to
//! e-mail; an acknowledged incident sends no reminders. Inhibition by a gone broker is decided
//! over a real store with the cluster's state built as the poller publishes it.

use std::time::Duration;

use osprey::brokers::beanstalkd::{Connection, Peek};
use osprey::config::ClusterConfig;
use serde_json::json;

use crate::alerts::{Receiver, SmtpSink, mail_channel};
use crate::helpers::*;

/// A beanstalkd of the test's own (it is stopped to take the cluster down).
struct OwnBeanstalkd {
    child: Option<std::process::Child>,
    address: String,
}

impl OwnBeanstalkd {
    async fn start() -> OwnBeanstalkd {
        let port = free_port();
        let child = std::process::Command::new("beanstalkd")
            .args(["-l", "127.0.0.1", "-p", &port.to_string()])
            .spawn()
            .expect("beanstalkd is installed by scripts/peers.sh");
        let address = format!("127.0.0.1:{port}");
        let probe = address.clone();
        eventually(Duration::from_secs(10), "beanstalkd listening", || {
            let probe = probe.clone();
            async move { tokio::net::TcpStream::connect(&probe).await.ok().map(|_| ()) }
        })
        .await;
        OwnBeanstalkd { child: Some(child), address }
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for OwnBeanstalkd {
    fn drop(&mut self) {
        self.stop();
    }
}

fn beanstalkd_cluster(name: &str, address: &str) -> ClusterConfig {
    let mut cluster = ClusterConfig::beanstalkd(name, address);
    cluster.poll_interval = Duration::from_secs(1);
    cluster.poll_timeout = Duration::from_secs(5);
    cluster
}

/// One job in each of `tubes`.
async fn fill(address: &str, tubes: impl IntoIterator<Item = String>) {
    let mut server = Connection::open(address, Duration::from_secs(5)).await.unwrap();
    let hour = Duration::from_secs(3600);
    for tube in tubes {
        server.put(&tube, 1, Duration::ZERO, hour, b"job").await.unwrap();
    }
}

/// Deletes the ready jobs of `tubes` (the shared server outlives the test).
async fn drain(address: &str, tubes: impl IntoIterator<Item = String>) {
    let mut server = Connection::open(address, Duration::from_secs(5)).await.unwrap();
    for tube in tubes {
        while let Ok(Some(job)) = server.peek(&tube, Peek::Ready).await {
            let _ = server.delete(job.id).await;
        }
    }
}

fn subjects(smtp: &SmtpSink) -> Vec<String> {
    smtp.messages().into_iter().map(|(subject, _)| subject).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_storm_is_one_email_its_growth_one_follow_up_and_a_down_cluster_one_notice() {
    let mut server = OwnBeanstalkd::start().await;
    let smtp = SmtpSink::start(None).await;
    let toml = format!(
        r#"
        [alerts]
        group_wait = "3s"
        group_interval = "12s"
        {}
        [[alerts.rules]]
        name = "backlog"
        kind = "queue_backlog"
        cluster = "storm"
        queue = "t*"
        threshold = 0
        severity = "warning"
        channels = ["mail"]
        [[alerts.rules]]
        name = "down"
        kind = "cluster_down"
        cluster = "storm"
        severity = "critical"
        channels = ["mail"]
        "#,
        mail_channel("mail", smtp.port, None)
    );
    // The 2,000 tubes fill before Osprey's first poll: filled while it polls, on a busy machine
    // the fill outlasted group_wait and the storm came as two batches.
    fill(&server.address, (0..2_000).map(|i| format!("t{i:04}"))).await;
    let dir = tempfile::tempdir().unwrap();
    let cluster = beanstalkd_cluster("storm", &server.address);
    let app = TestApp::spawn(toml_config(&dir, &toml, vec![cluster])).await;

    let first = eventually(Duration::from_secs(90), "the storm's one e-mail", || async {
        subjects(&smtp).into_iter().find(|s| s.contains("[FIRING:2000"))
    })
    .await;
    assert!(first.contains("backlog on storm") && first.contains("and 1999 more"), "{first}");
    let (_, body) = smtp.messages().remove(0);
    assert!(body.contains("t0000") || body.contains("t1999"), "the e-mail lists tubes");

    fill(&server.address, (2_000..2_050).map(|i| format!("t{i:04}"))).await;
    let follow_up = eventually(Duration::from_secs(60), "one batched follow-up", || async {
        subjects(&smtp).into_iter().find(|s| s.contains("[FIRING:50 "))
    })
    .await;
    assert!(follow_up.contains("and 49 more"), "{follow_up}");
    assert_eq!(subjects(&smtp).len(), 2, "one e-mail per batch: {:?}", subjects(&smtp));

    server.stop();
    let down = eventually(Duration::from_secs(60), "the cluster's notice", || async {
        subjects(&smtp).into_iter().find(|s| s.contains("cluster storm"))
    })
    .await;
    assert!(down.starts_with("[FIRING · CRITICAL]"), "{down}");
    // Two group intervals more: nothing about the tubes while the cluster is down.
    tokio::time::sleep(Duration::from_secs(25)).await;
    assert_eq!(subjects(&smtp).len(), 3, "{:?}", subjects(&smtp));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_restart_during_group_wait_neither_loses_nor_repeats_the_grouped_notice() {
    let prefix = unique("wait");
    let server = peer("OSPREY_TEST_BEANSTALKD");
    let smtp = SmtpSink::start(None).await;
    let toml = format!(
        r#"
        [alerts]
        group_wait = "8s"
        group_interval = "1m"
        {}
        [[alerts.rules]]
        name = "backlog"
        kind = "queue_backlog"
        cluster = "bsw"
        queue = "{prefix}-*"
        threshold = 0
        channels = ["mail"]
        "#,
        mail_channel("mail", smtp.port, None)
    );
    let dir = tempfile::tempdir().unwrap();
    let config = || toml_config(&dir, &toml, vec![beanstalkd_cluster("bsw", &server)]);
    let app = TestApp::spawn(config()).await;
    fill(&server, (0..20).map(|i| format!("{prefix}-{i:02}"))).await;
    eventually(Duration::from_secs(30), "20 incidents decided", || async {
        let firing = app.json("/api/v1/alerts").await;
        (firing["firing"].as_array().map(Vec::len) == Some(20)).then_some(())
    })
    .await;
    assert!(smtp.messages().is_empty(), "still within group_wait");
    app.stop().await;

    let app = TestApp::spawn(config()).await;
    let told = eventually(Duration::from_secs(60), "the grouped notice", || async {
        subjects(&smtp).into_iter().find(|s| s.contains("[FIRING:20"))
    })
    .await;
    assert!(told.contains("and 19 more"), "{told}");
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(subjects(&smtp).len(), 1, "once: {:?}", subjects(&smtp));
    drain(&server, (0..20).map(|i| format!("{prefix}-{i:02}"))).await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn routes_page_critical_and_mail_the_rest_and_an_acknowledged_incident_stops_reminding() {
    let prefix = unique("route");
    let server = peer("OSPREY_TEST_BEANSTALKD");
    let smtp = SmtpSink::start(None).await;
    let pagerduty = Receiver::start().await;
    let toml = format!(
        r#"
        [alerts]
        group_wait = "0s"
        group_interval = "0s"
        [[alerts.routes]]
        severity = ["critical"]
        channels = ["pagerduty"]
        {}
        [[alerts.channels]]
        name = "pagerduty"
        kind = "webhook"
        format = "pagerduty"
        url = "{}"
        secret = "R0UTINGKEY"
        [[alerts.rules]]
        name = "critical-backlog"
        kind = "queue_backlog"
        cluster = "bsr"
        queue = "{prefix}-crit"
        threshold = 0
        severity = "critical"
        repeat_interval = "1m"
        channels = ["mail"]
        [[alerts.rules]]
        name = "warning-backlog"
        kind = "queue_backlog"
        cluster = "bsr"
        queue = "{prefix}-warn"
        threshold = 0
        severity = "warning"
        repeat_interval = "1m"
        channels = ["mail"]
        "#,
        mail_channel("mail", smtp.port, None),
        pagerduty.url
    );
    let dir = tempfile::tempdir().unwrap();
    let app =
        TestApp::spawn(toml_config(&dir, &toml, vec![beanstalkd_cluster("bsr", &server)])).await;
    fill(&server, [format!("{prefix}-crit"), format!("{prefix}-warn")]).await;

    let paged = eventually(Duration::from_secs(30), "the critical page", || async {
        pagerduty.bodies().into_iter().find(|b| b["event_action"] == "trigger")
    })
    .await;
    assert!(paged["payload"]["summary"].as_str().unwrap().contains(&format!("{prefix}-crit")));
    let mailed = eventually(Duration::from_secs(30), "the warning e-mail", || async {
        subjects(&smtp).into_iter().find(|s| s.contains("FIRING"))
    })
    .await;
    assert!(mailed.contains(&format!("{prefix}-warn")), "{mailed}");
    assert!(subjects(&smtp).iter().all(|s| !s.contains("-crit")), "critical is not mailed");

    // Acknowledged at once: the critical incident sends no reminder while the warning, not
    // acknowledged, reminds after its minute.
    let incident = paged["dedup_key"].as_str().unwrap().to_owned();
    let (status, ack) = app
        .call(
            reqwest::Method::POST,
            &format!("/api/v1/alerts/{incident}/ack"),
            json!({ "comment": "on it", "expires_in": "1h" }),
        )
        .await;
    assert_eq!(status, 200, "{ack}");
    assert_eq!((ack["by"].as_str(), ack["comment"].as_str()), (Some("it-admin"), Some("on it")));
    eventually(Duration::from_secs(90), "the warning's reminder", || async {
        (subjects(&smtp).len() >= 2).then_some(())
    })
    .await;
    let acknowledged = eventually(Duration::from_secs(20), "PagerDuty acknowledges", || async {
        pagerduty.bodies().into_iter().find(|b| b["event_action"] == "acknowledge")
    })
    .await;
    assert_eq!(acknowledged["dedup_key"], incident.as_str());
    tokio::time::sleep(Duration::from_secs(3)).await;
    let triggers = || pagerduty.bodies().iter().filter(|b| b["event_action"] == "trigger").count();
    assert_eq!(triggers(), 1, "no reminder while acknowledged: {:?}", pagerduty.bodies());
    let shown = app.json(&format!("/api/v1/alerts/{incident}")).await;
    assert_eq!(shown["ack"]["by"], "it-admin", "{shown}");
    let page = app.html(&format!("/alerts/incidents/{incident}")).await;
    assert!(page.contains(r#"id="acknowledged""#) && page.contains("on it"), "{page}");
    let list = app.html("/alerts").await;
    let api = app.json("/api/v1/alerts").await;
    assert!(list.contains(r#"class="flag acked""#), "the Alerts page marks it: {api}");
    let audit = app.json("/api/v1/audit").await;
    assert!(audit.to_string().contains("alert_incident.ack"), "audited: {audit}");

    let (status, _) = app
        .call(reqwest::Method::DELETE, &format!("/api/v1/alerts/{incident}/ack"), json!({}))
        .await;
    assert_eq!(status, 204);
    eventually(Duration::from_secs(90), "reminders again", || async {
        (triggers() > 1).then_some(())
    })
    .await;

    drain(&server, [format!("{prefix}-crit"), format!("{prefix}-warn")]).await;
    let resolved = eventually(Duration::from_secs(30), "the page resolved", || async {
        pagerduty.bodies().into_iter().find(|b| b["event_action"] == "resolve")
    })
    .await;
    assert_eq!(resolved["dedup_key"], incident.as_str());
    app.stop().await;
}

/// A Kafka cluster's state as the poller publishes it: brokers 1 and 2 (`gone`: 2 has left),
/// topics `orders` (replicas on 1 and 2) and `audit` (on 1 only), and groups reading each
/// 5,000 messages behind.
fn kafka_state(gone: bool, at: i64) -> std::sync::Arc<osprey::poller::ClusterState> {
    use osprey::domain::{Broker, ClusterKind, ClusterSnapshot, Partition, Topic};
    use osprey::evaluator::{Drain, GroupLag, GroupSummary, PartitionStatus, TopicLag};
    let config: ClusterConfig =
        toml::from_str("name = \"inh\"\nkind = \"kafka\"\nbootstrap_servers = \"127.0.0.1:9\"")
            .unwrap();
    let broker = |id| Broker { id, host: "127.0.0.1".into(), port: 9, rack: None };
    let topic = |name: &str, replicas: Vec<i32>| Topic {
        canary: false,
        name: name.into(),
        internal: false,
        partitions: vec![Partition {
            id: 0,
            leader: Some(1),
            isr: replicas.clone(),
            replicas,
            earliest_offset: Some(0),
            latest_offset: Some(5_000),
        }],
        configs: None,
        messages_in_per_sec: None,
    };
    let lagging = |group: &str, topic: &str| GroupLag {
        membership_changes: Default::default(),
        summary: GroupSummary {
            retention: Default::default(),
            lag_trend_per_sec: None,
            name: group.into(),
            state: "Stable".into(),
            protocol_type: "consumer".into(),
            protocol: "range".into(),
            group_type: None,
            coordinator: Some(1),
            members: 1,
            status: PartitionStatus::Stall,
            status_thin: false,
            lag: 5_000,
            max_lag: 5_000,
            lag_seconds: None,
            lag_seconds_floor: false,
            consume_per_sec: Some(0.0),
            produce_per_sec: Some(10.0),
            drain_seconds: None,
            drain: Drain::of(5_000, None, None),
            offsets_error: None,
        },
        topics: vec![TopicLag {
            retention: Default::default(),
            lag_trend_per_sec: None,
            topic: topic.into(),
            lag: 5_000,
            max_lag: 5_000,
            lag_seconds: None,
            lag_seconds_floor: false,
            status: PartitionStatus::Stall,
            status_thin: false,
            partitions: vec![],
        }],
    };
    let mut state = osprey::poller::ClusterState::new(&config);
    state.last_attempt_at = Some(at);
    let brokers = if gone { vec![broker(1)] } else { vec![broker(1), broker(2)] };
    if gone {
        state.missing_brokers = vec![broker(2)];
    }
    state.snapshot = Some(std::sync::Arc::new(ClusterSnapshot {
        controller_id: Some(1),
        brokers,
        topics: vec![topic("orders", vec![1, 2]), topic("audit", vec![1])],
        ..ClusterSnapshot::empty("inh", ClusterKind::Kafka, at)
    }));
    state.groups =
        std::sync::Arc::new(vec![lagging("billing", "orders"), lagging("reports", "audit")]);
    std::sync::Arc::new(state)
}

#[tokio::test]
async fn a_gone_broker_holds_back_the_lag_on_its_partitions_until_it_returns() {
    use osprey::alerting::definition::{ChannelDef, RuleDef};
    use osprey::alerting::service::{Alerting, Decisions, evaluate_round};
    use osprey::store::Store;

    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("osprey.db").display());
    let store = Store::connect(&url, 4).await.unwrap();
    let channel: ChannelDef =
        toml::from_str("name = \"hook\"\nkind = \"webhook\"\nurl = \"http://127.0.0.1:9/\"")
            .unwrap();
    let rules: Vec<RuleDef> = [
        "name = \"gone\"\nkind = \"broker_down\"\nchannels = [\"hook\"]",
        "name = \"lag\"\nkind = \"consumer_lag\"\ntopic = \"*\"\nthreshold = 1000\nchannels = [\"hook\"]",
    ]
    .iter()
    .map(|t| toml::from_str(t).unwrap())
    .collect();
    store.sync_alert_config(&[channel], &rules, 0).await.unwrap();
    let settings = osprey::config::AlertsConfig {
        group_wait: Duration::ZERO,
        group_interval: Duration::ZERO,
        ..Default::default()
    };
    let alerting = Alerting::new(store.clone(), settings);
    let (tx, rx) = tokio::sync::watch::channel(kafka_state(true, 1_000));
    let mut clusters = osprey::poller::Clusters::default();
    clusters.push("inh".into(), rx);
    let polled = std::collections::BTreeSet::from(["inh".to_owned()]);
    let mut decisions = Decisions::default();

    let round =
        evaluate_round(&alerting, &mut decisions, &clusters, &polled, &Default::default(), 1_000)
            .await
            .unwrap();
    store.write_round(&round, 1_000).await.unwrap();
    let told: Vec<String> = round.deliveries.iter().map(|d| d.message.title()).collect();
    assert_eq!(told.len(), 2, "{told:?}");
    assert!(told.iter().any(|t| t.contains("broker 2")), "{told:?}");
    assert!(told.iter().any(|t| t.contains("group reports")), "audit has no replica on 2");
    let overview = osprey::alerting::admin::overview(&store, &clusters.all(), 10).await.unwrap();
    assert_eq!(overview.held.len(), 1, "{:?}", overview.held);
    let held = &overview.held[0];
    assert!(held.subject.contains("billing"), "{held:?}");
    assert!(held.inhibited_by.as_deref().is_some_and(|by| by.starts_with("gone")), "{held:?}");

    // The broker returns, the lag stays: the held alert is told now.
    tx.send_replace(kafka_state(false, 2_000));
    let round =
        evaluate_round(&alerting, &mut decisions, &clusters, &polled, &Default::default(), 2_000)
            .await
            .unwrap();
    let told: Vec<String> = round.deliveries.iter().map(|d| d.message.title()).collect();
    assert!(told.iter().any(|t| t.starts_with("[RESOLVED]") && t.contains("broker 2")), "{told:?}");
    assert!(
        told.iter().any(|t| t.starts_with("[FIRING") && t.contains("group billing")),
        "{told:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn channel_templates_are_refused_with_their_line_previewed_and_used() {
    let tube = unique("tmpl");
    let server = peer("OSPREY_TEST_BEANSTALKD");
    let smtp = SmtpSink::start(None).await;
    let app = TestApp::from_toml("", vec![beanstalkd_cluster("bst", &server)]).await;
    let channel = |title: &str| {
        json!({
            "name": "mail", "kind": "email", "smtp_host": "127.0.0.1", "smtp_port": smtp.port,
            "tls": "none", "from": "osprey@example.com", "to": ["oncall@example.com"],
            "title_template": title,
            "body_template": "{% for a in alerts %}* {{ a.status }} {{ a.subject }}: {{ a.value }}\n{% endfor %}Rule {{ rule }} ({{ severity }})",
        })
    };
    let (status, refused) = app
        .call(reqwest::Method::POST, "/api/v1/alert-channels", channel("ok\n{{ severty }}"))
        .await;
    assert_eq!(status, 422, "{refused}");
    let said = refused.to_string();
    assert!(said.contains("title_template") && said.contains("line 2"), "{said}");
    let (status, saved) = app
        .call(
            reqwest::Method::POST,
            "/api/v1/alert-channels",
            channel("{{ severity|upper }} · {{ summary }}"),
        )
        .await;
    assert!(status == 200 || status == 201, "{status} {saved}");

    let page = app.html("/alerts/channels/mail/edit").await;
    assert!(page.contains(r#"id="template-preview""#), "{page}");
    assert!(
        page.contains("INFO · lag 12,345 &#62; 10,000 — group example-group on example"),
        "{page}"
    );

    let rule = json!({
        "name": "tmpl-backlog", "kind": "queue_backlog", "cluster": "bst", "queue": tube,
        "threshold": 0, "severity": "warning", "channels": ["mail"],
    });
    let (status, saved) = app.call(reqwest::Method::POST, "/api/v1/alert-rules", rule).await;
    assert!(status == 200 || status == 201, "{status} {saved}");
    fill(&server, [tube.clone()]).await;
    let (subject, body) = eventually(Duration::from_secs(60), "the templated e-mail", || async {
        smtp.messages().into_iter().next()
    })
    .await;
    assert!(subject.starts_with("WARNING · backlog 1 > 0"), "{subject}");
    assert!(body.contains("Rule tmpl-backlog (warning)"), "{body}");
    drain(&server, [tube]).await;
    app.stop().await;
}
