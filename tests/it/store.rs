//! One store story, run against SQLite, PostgreSQL and MariaDB; then the whole app writing its
//! history into PostgreSQL and MariaDB.

use std::time::Duration;

use osprey::secret::Secret;
use osprey::store::{
    BrokerSample, ClusterSample, GroupPartitionSample, GroupSample, GroupTopicSample, Level,
    MetricSample, PollRecord, QueueSample, Retention, StateNotice, Store, TopicSample,
};
use sqlx::Connection;

use crate::helpers::*;

/// A database of this test's own on a shared server, dropped at the end.
/// A database of its own on the shared PostgreSQL or MariaDB server.
pub struct TempDatabase {
    admin_url: String,
    name: String,
    pub url: String,
}

impl TempDatabase {
    pub async fn create(admin_var: &str) -> TempDatabase {
        sqlx::any::install_default_drivers();
        let admin_url = peer(admin_var);
        let name = unique("osprey_it");
        let mut conn = sqlx::AnyConnection::connect(&admin_url).await.expect("admin connection");
        sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut conn).await.unwrap();
        conn.close().await.unwrap();
        let base = admin_url.rsplit_once('/').unwrap().0;
        let url = format!("{base}/{name}");
        TempDatabase { admin_url, name, url }
    }

    pub async fn drop_it(self) {
        let mut conn = sqlx::AnyConnection::connect(&self.admin_url).await.unwrap();
        // A just-closed pool's PostgreSQL backends may still be on their way out.
        let force = if self.admin_url.starts_with("postgres") { " WITH (FORCE)" } else { "" };
        let drop = format!("DROP DATABASE {}{force}", self.name);
        sqlx::query(&drop).execute(&mut conn).await.unwrap();
    }
}

pub const BASE: i64 = 1_800_000_000_000; // a multiple of 20 s

pub fn poll(ts: i64, topics: Vec<TopicSample>, brokers: Vec<BrokerSample>) -> PollRecord {
    PollRecord {
        cluster: ClusterSample {
            cluster: "prod".into(),
            ts,
            reachable: true,
            brokers: brokers.iter().filter(|b| b.up).count() as i64,
            topics: 2,
            partitions: 6,
            under_replicated: 1,
            offline: 0,
            end_offset_sum: 1_000 + ts - BASE,
            messages_in_per_sec: Some(((ts - BASE) / 1000) as f64),
            poll_millis: 12,
            error: None,
            polled_by: Some("osprey-1".into()),
        },
        topics,
        brokers,
        groups: vec![GroupSample {
            group: "billing".into(),
            lag: (ts - BASE) / 1000,
            max_lag: (ts - BASE) / 1000,
            lag_seconds: Some(2.0),
            status: 1,
            consume_per_sec: Some(3.0),
            produce_per_sec: Some(4.0),
        }],
        group_topics: vec![GroupTopicSample {
            group: "billing".into(),
            topic: "orders".into(),
            lag: (ts - BASE) / 1000,
            lag_seconds: Some(2.0),
        }],
        group_partitions: vec![GroupPartitionSample {
            group: "billing".into(),
            topic: "orders".into(),
            partition: 1,
            committed: 100,
            end: Some(100 + (ts - BASE) / 1000),
            lag: (ts - BASE) / 1000,
            lag_seconds: None,
        }],
        queues: vec![QueueSample {
            vhost: "/".into(),
            queue: "jobs ✓".into(),
            backlog: (ts - BASE) / 1000,
            ready: (ts - BASE) / 1000,
            unacked: 0,
            consumers: 1,
            publish_rate: Some(2.0),
            deliver_rate: None,
        }],
        metrics: vec![MetricSample {
            scope: "broker:1".into(),
            metric: "bytes_in_per_sec",
            value: ((ts - BASE) / 1000) as f64,
        }],
        fence: None,
        published: None,
    }
}

fn topic(name: &str, rate: f64) -> TopicSample {
    TopicSample {
        topic: name.into(),
        partitions: 3,
        end_offset_sum: 500,
        messages_in_per_sec: Some(rate),
    }
}

fn brokers(second_up: bool) -> Vec<BrokerSample> {
    vec![BrokerSample { broker_id: 1, up: true }, BrokerSample { broker_id: 2, up: second_up }]
}

async fn store_story(url: &str) {
    sqlx::any::install_default_drivers();
    let store = Store::connect(url, 4).await.expect("connect and migrate");

    // Six good polls 10 s apart; broker 2 vanishes after the third; the topic moves twice.
    // Topic names differing only in case are different topics (case-sensitive keys everywhere).
    for i in 0..6 {
        let ts = BASE + i * 10_000;
        let topics = match i {
            0 => vec![topic("orders", 4.0), topic("Orders", 1.0)],
            3 => vec![topic("orders", 8.0)],
            _ => vec![],
        };
        store.record_poll(&poll(ts, topics, brokers(i < 3))).await.unwrap();
    }
    let mut failed = poll(BASE + 60_000, vec![], vec![]);
    failed.groups.clear();
    failed.group_topics.clear();
    failed.group_partitions.clear();
    failed.metrics.clear();
    failed.cluster.reachable = false;
    failed.cluster.messages_in_per_sec = None;
    failed.cluster.error = Some("cluster unreachable: Connection refused".into());
    store.record_poll(&failed).await.unwrap();
    // Another cluster's history never shows up in this one's.
    let mut other = poll(BASE, vec![topic("orders", 99.0)], brokers(true));
    other.cluster.cluster = "staging".into();
    store.record_poll(&other).await.unwrap();

    let series =
        store.cluster_series("prod", Level::Raw, BASE, BASE + 70_000, 20_000).await.unwrap();
    let buckets: Vec<i64> = series.iter().map(|p| p.ts - BASE).collect();
    assert_eq!(buckets, [0, 20_000, 40_000, 60_000]);
    let rates: Vec<Option<f64>> = series.iter().map(|p| p.messages_in_per_sec).collect();
    assert_eq!(rates, [Some(5.0), Some(25.0), Some(45.0), None]);
    assert_eq!(series[3].reachable, 0.0);
    assert_eq!(series[0].reachable, 1.0);
    assert_eq!(series[0].partitions, Some(6.0));
    assert_eq!(series[0].under_replicated, Some(1.0));

    let queue_series =
        store.queue_series("prod", "/", "jobs ✓", BASE, BASE + 70_000, 20_000).await.unwrap();
    assert!(!queue_series.is_empty(), "queue history reads back");
    assert_eq!(queue_series[0].publish_rate, Some(2.0));
    assert_eq!(queue_series[0].consumers, Some(1.0));
    let metrics = store
        .metric_series("prod", "broker:1", Level::Raw, BASE, BASE + 70_000, 20_000)
        .await
        .unwrap();
    let bytes_in: Vec<Option<f64>> = metrics["bytes_in_per_sec"].iter().map(|p| p.value).collect();
    assert_eq!(bytes_in, [Some(5.0), Some(25.0), Some(45.0)], "broker metric history reads back");
    assert!(
        store
            .metric_series("prod", "", Level::Raw, BASE, BASE + 70_000, 20_000)
            .await
            .unwrap()
            .is_empty()
    );

    let topic_series = store
        .topic_series("prod", "orders", Level::Raw, BASE, BASE + 70_000, 20_000)
        .await
        .unwrap();
    let points: Vec<(i64, Option<f64>)> =
        topic_series.iter().map(|p| (p.ts - BASE, p.messages_in_per_sec)).collect();
    assert_eq!(
        points,
        [(0, Some(4.0)), (20_000, Some(8.0)), (40_000, Some(0.0))],
        "idle buckets are 0 msg/s; the unreachable bucket is left out"
    );
    let upper = store
        .topic_series("prod", "Orders", Level::Raw, BASE, BASE + 20_000, 20_000)
        .await
        .unwrap();
    assert_eq!(upper[0].messages_in_per_sec, Some(1.0));

    let lag = store
        .group_series("prod", "billing", Level::Raw, BASE, BASE + 70_000, 20_000)
        .await
        .unwrap();
    let lags: Vec<(i64, Option<f64>, Option<f64>)> =
        lag.iter().map(|p| (p.ts - BASE, p.lag, p.max_lag)).collect();
    assert_eq!(
        lags,
        [
            (0, Some(5.0), Some(10.0)),
            (20_000, Some(25.0), Some(30.0)),
            (40_000, Some(45.0), Some(50.0))
        ]
    );
    assert_eq!(lag[0].consume_per_sec, Some(3.0));
    assert_eq!(lag[0].produce_per_sec, Some(4.0));
    assert_eq!(lag[0].lag_seconds, Some(2.0));

    let partition =
        store.partition_series("prod", "billing", "orders", 1, BASE, BASE + 70_000).await.unwrap();
    let lags: Vec<(i64, i64, Option<i64>)> =
        partition.iter().map(|p| (p.ts - BASE, p.lag, p.end)).collect();
    assert_eq!(lags.len(), 6);
    assert_eq!(lags[5], (50_000, 50, Some(150)));
    assert!(
        store
            .partition_series("prod", "billing", "orders", 0, BASE, BASE + 70_000)
            .await
            .unwrap()
            .is_empty()
    );

    let availability = store.broker_availability("prod", BASE, BASE + 70_000).await.unwrap();
    assert_eq!(availability.len(), 2);
    assert_eq!(
        (availability[0].broker_id, availability[0].polls, availability[0].polls_up),
        (1, 6, 6)
    );
    assert_eq!(
        (availability[1].broker_id, availability[1].polls, availability[1].polls_up),
        (2, 6, 3)
    );
    assert_eq!(availability[1].last_seen_up, Some(BASE + 20_000));

    assert_eq!(store.last_good_poll("prod").await.unwrap(), Some(BASE + 50_000));
    assert_eq!(store.last_good_poll("nobody").await.unwrap(), None);
    let latest = store.latest_cluster_sample("prod").await.unwrap().unwrap();
    assert_eq!(latest, failed.cluster);
    store.close().await;

    // A restart runs the migrations again (a no-op) and finds the history.
    let store = Store::connect(url, 2).await.expect("reconnect");
    assert_eq!(store.last_good_poll("prod").await.unwrap(), Some(BASE + 50_000));
    // Rollups: complete minute buckets, then hours, each once however often the job runs.
    let minutes = store.roll_up(BASE + 10 * 60_000, None).await.unwrap();
    assert_eq!(
        minutes,
        2 + 1 + 1 + 1 + 1 + 1,
        "prod's two minutes, staging's one, one group minute and one metric minute each"
    );
    assert_eq!(store.roll_up(BASE + 10 * 60_000, None).await.unwrap(), 0, "nothing twice");
    let by_minute =
        store.cluster_series("prod", Level::Minute, BASE, BASE + 3_600_000, 60_000).await.unwrap();
    let minute_points: Vec<(i64, f64, Option<f64>)> =
        by_minute.iter().map(|p| (p.ts - BASE, p.reachable, p.messages_in_per_sec)).collect();
    assert_eq!(minute_points, [(0, 1.0, Some(25.0)), (60_000, 0.0, None)]);
    assert_eq!(by_minute[0].partitions, Some(6.0));
    let lag_by_minute = store
        .group_series("prod", "billing", Level::Minute, BASE, BASE + 3_600_000, 60_000)
        .await
        .unwrap();
    assert_eq!((lag_by_minute[0].lag, lag_by_minute[0].max_lag), (Some(25.0), Some(50.0)));
    let metric_by_minute = store
        .metric_series("prod", "broker:1", Level::Minute, BASE, BASE + 3_600_000, 60_000)
        .await
        .unwrap();
    let bytes_in: Vec<(i64, Option<f64>)> =
        metric_by_minute["bytes_in_per_sec"].iter().map(|p| (p.ts - BASE, p.value)).collect();
    assert_eq!(bytes_in, [(0, Some(25.0))]);
    store.roll_up(BASE + 2 * 3_600_000, None).await.unwrap();
    let by_hour =
        store.cluster_series("prod", Level::Hour, BASE, BASE + 3_600_000, 3_600_000).await.unwrap();
    assert_eq!(by_hour.len(), 1);
    assert_eq!((by_hour[0].reachable, by_hour[0].messages_in_per_sec), (0.5, Some(25.0)));
    let lag_by_hour = store
        .group_series("prod", "billing", Level::Hour, BASE, BASE + 3_600_000, 3_600_000)
        .await
        .unwrap();
    assert_eq!((lag_by_hour[0].lag, lag_by_hour[0].max_lag), (Some(25.0), Some(50.0)));

    let keep_rollups =
        Retention { raw: 1_000, minute: i64::MAX / 2, hour: i64::MAX / 2, audit: i64::MAX / 2 };
    let deleted = store.apply_retention(keep_rollups, BASE + 31_000).await.unwrap();
    let series =
        store.cluster_series("prod", Level::Raw, BASE, BASE + 70_000, 10_000).await.unwrap();
    if url.starts_with("postgres") {
        // PostgreSQL drops whole days of samples (tests/it/partitions.rs): BASE's is kept.
        assert_eq!(deleted, 0);
        assert_eq!(series.first().map(|p| p.ts), Some(BASE));
    } else {
        assert_eq!(
            deleted,
            3 + 6 + 3 + 3 + 3 + (1 + 2 + 1 + 1 + 1),
            "three prod polls with their broker, group, group-topic and metric rows, and \
             staging's poll (topic samples are minute-grained and kept with the minute rollups)"
        );
        assert_eq!(series.first().map(|p| p.ts), Some(BASE + 30_000));
    }

    // The audit log has a retention of its own.
    for (id, at) in [("old", BASE), ("new", BASE + 30_000)] {
        let entry = osprey::store::AuditEntry {
            id: id.into(),
            at,
            actor: "root".into(),
            action: "login".into(),
            cluster: None,
            object: None,
            result: "ok".into(),
            detail: None,
            remote: None,
        };
        store.audit(&entry).await.unwrap();
    }
    let audit_kept = Retention { audit: 10_000, ..keep_rollups };
    store.apply_retention(audit_kept, BASE + 31_000).await.unwrap();
    let left: Vec<String> =
        store.audit_entries(10).await.unwrap().into_iter().map(|e| e.id).collect();
    assert_eq!(left, ["new"]);
    store.ping().await.unwrap();
    store.close().await;
}

#[tokio::test]
async fn store_story_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    store_story(&format!("sqlite://{}", dir.path().join("history/osprey.db").display())).await;
}

#[tokio::test]
async fn store_story_on_postgres() {
    let db = TempDatabase::create("OSPREY_TEST_POSTGRES_URL").await;
    store_story(&db.url).await;
    db.drop_it().await;
}

#[tokio::test]
async fn store_story_on_mariadb() {
    let db = TempDatabase::create("OSPREY_TEST_MYSQL_URL").await;
    store_story(&db.url).await;
    db.drop_it().await;
}

/// Leases on every database: one holder at a time, an expired lease taken over with a higher
/// epoch, a write under a lost lease refused whole, the published state read back byte for byte.
async fn lease_story(url: &str) {
    let store = Store::connect(url, 4).await.unwrap();
    for (id, name) in [("one", "osprey-1"), ("two", "osprey-2")] {
        store.register_instance(id, name, "http://127.0.0.1:1", "0.1.0").await.unwrap();
    }
    let first = store.acquire_lease("cluster:prod", "one", 1_000).await.unwrap().expect("free");
    assert_eq!(first.epoch, 1);
    assert_eq!(store.acquire_lease("cluster:prod", "two", 1_000).await.unwrap(), None, "held");
    assert_eq!(store.live_instances(60_000).await.unwrap(), ["one", "two"]);

    // PostgreSQL notifies listeners of each published state; the others have no notices.
    let mut notices = store.state_notices().await.unwrap();
    assert_eq!(notices.is_some(), url.starts_with("postgres"));
    let state = vec![0u8, 159, 146, 150, 255, 7];
    let mut record = poll(BASE, vec![], brokers(true));
    record.fence = Some(first.clone());
    record.published = Some(state.clone());
    store.record_poll(&record).await.unwrap();
    if let Some(notices) = &mut notices {
        let notice = tokio::time::timeout(Duration::from_secs(5), notices.next()).await;
        assert_eq!(notice.expect("a notice").unwrap(), StateNotice::Published("prod".into()));
    }
    assert_eq!(store.published_state("prod", None).await.unwrap(), Some((BASE, state.clone())));
    assert_eq!(store.published_state("prod", Some(BASE)).await.unwrap(), None, "nothing newer");

    // "one" stops renewing; "two" takes the lease once it expired.
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    let second =
        store.acquire_lease("cluster:prod", "two", 60_000).await.unwrap().expect("expired");
    assert_eq!(second.epoch, 2);
    assert!(store.renew_leases("one", 60_000).await.unwrap().is_empty(), "one lost it");
    assert_eq!(store.renew_leases("two", 60_000).await.unwrap(), std::slice::from_ref(&second));

    let mut stale = poll(BASE + 10_000, vec![], brokers(true));
    stale.fence = Some(first.clone());
    stale.published = Some(vec![1, 2, 3]);
    let refused = store.record_poll(&stale).await;
    assert!(matches!(refused, Err(osprey::store::StoreError::Fenced(_))), "{refused:?}");
    if let Some(notices) = &mut notices {
        let notice = tokio::time::timeout(Duration::from_millis(500), notices.next()).await;
        assert!(notice.is_err(), "a refused write notifies nobody: {notice:?}");
    }
    assert_eq!(store.published_state("prod", None).await.unwrap(), Some((BASE, state)));
    // A rollup under a lost lease is refused whole (the new holder may have rolled that range);
    // the holder's goes through.
    let later = BASE + 10 * 60_000;
    let refused = store.roll_up(later, Some(&first)).await;
    assert!(matches!(refused, Err(osprey::store::StoreError::Fenced(_))), "{refused:?}");
    assert!(store.roll_up(later, Some(&second)).await.unwrap() > 0, "the holder rolls up");
    let latest = store.latest_cluster_sample("prod").await.unwrap().expect("one poll");
    assert_eq!(
        (latest.ts, latest.polled_by.as_deref()),
        (BASE, Some("osprey-1")),
        "not the stale one"
    );

    let instances = store.instances(60_000).await.unwrap();
    let two = instances.iter().find(|i| i.id == "two").unwrap();
    assert_eq!((two.alive, two.leases.len(), two.leases[0].epoch), (true, 1, 2));
    store.stop_instance("two").await.unwrap();
    let again =
        store.acquire_lease("cluster:prod", "one", 60_000).await.unwrap().expect("given back");
    assert_eq!(again.epoch, 3);
    assert_eq!(store.live_instances(60_000).await.unwrap(), ["one"]);
}

#[tokio::test]
async fn leases_fence_writes_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    lease_story(&format!("sqlite://{}", dir.path().join("osprey.db").display())).await;
}

#[tokio::test]
async fn leases_fence_writes_on_postgres() {
    let db = TempDatabase::create("OSPREY_TEST_POSTGRES_URL").await;
    lease_story(&db.url).await;
    db.drop_it().await;
}

#[tokio::test]
async fn leases_fence_writes_on_mariadb() {
    let db = TempDatabase::create("OSPREY_TEST_MYSQL_URL").await;
    lease_story(&db.url).await;
    db.drop_it().await;
}

async fn app_writes_history_to(admin_var: &str) {
    let db = TempDatabase::create(admin_var).await;
    let broker = Broker::start(BrokerKind::Noida).await;
    create_topics(&broker.bootstrap(), &[("sql", 2)]).await;
    let mut config = osprey::config::Config::default();
    config.database.url = Secret::new(db.url.clone());
    config.clusters = vec![kafka_cluster("sql", &broker.bootstrap())];
    let app = TestApp::spawn(config).await;
    produce_one_by_one(&broker.bootstrap(), "sql", 1, 3).await;
    eventually(Duration::from_secs(30), "history in the database", || async {
        let detail = app.json("/api/v1/clusters/sql").await;
        let points = detail["history"].as_array()?;
        points.iter().any(|p| p["reachable"] == 1.0).then_some(())
    })
    .await;
    eventually(Duration::from_secs(30), "the topic's end offsets", || async {
        let topic = app.json("/api/v1/clusters/sql/topics/sql").await;
        (topic["topic"]["end_offset_sum"] == 3).then_some(())
    })
    .await;
    app.stop().await;
    db.drop_it().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_app_keeps_history_in_postgres() {
    app_writes_history_to("OSPREY_TEST_POSTGRES_URL").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_app_keeps_history_in_mariadb() {
    app_writes_history_to("OSPREY_TEST_MYSQL_URL").await;
}

/// The alerting tables on every database: definitions from the config file and the UI, the
/// engine's state, incidents, and the outbox with its claims, retries and ordering.
async fn alert_story(url: &str) {
    use osprey::alerting::AlertState;
    use osprey::alerting::definition::{ChannelDef, RuleDef};
    use osprey::alerting::message::{AlertMessage, MessageKind, Subject};
    use osprey::store::{
        DeliveryStatus, IncidentChange, NewDelivery, RoundWrite, Source, StoredSilence,
    };

    let store = Store::connect(url, 2).await.unwrap();
    let channel: ChannelDef = toml::from_str(
        "name = \"hook\"\nkind = \"webhook\"\nurl = \"http://127.0.0.1:9/x\"\nsecret = \"${HOOK_SECRET}\"",
    )
    .unwrap();
    let rule: RuleDef = toml::from_str(
        "name = \"lag\"\nkind = \"consumer_lag\"\nthreshold = 10\nchannels = [\"hook\"]",
    )
    .unwrap();
    let (channels, rules) = (std::slice::from_ref(&channel), std::slice::from_ref(&rule));
    assert_eq!(store.sync_alert_config(channels, rules, BASE).await.unwrap(), 2);
    assert_eq!(store.sync_alert_config(channels, rules, BASE).await.unwrap(), 0);
    let stored = store.alert_rules().await.unwrap();
    assert_eq!((stored[0].definition.clone(), stored[0].source), (rule.clone(), Source::Config));
    // An edit in the UI stays until the config file changes the rule.
    let edited = RuleDef { threshold: Some(99.0), ..rule.clone() };
    store.put_alert_rule(&edited, BASE + 1).await.unwrap();
    store.sync_alert_config(channels, rules, BASE + 2).await.unwrap();
    assert_eq!(store.alert_rule("lag").await.unwrap().unwrap().definition.threshold, Some(99.0));
    let changed = RuleDef { threshold: Some(20.0), ..rule.clone() };
    store.sync_alert_config(channels, &[changed], BASE + 3).await.unwrap();
    assert_eq!(store.alert_rule("lag").await.unwrap().unwrap().definition.threshold, Some(20.0));
    assert_eq!(store.alert_channel("hook").await.unwrap().unwrap().definition, channel);

    let message = |kind, at, value| AlertMessage {
        kind,
        incident: "00112233aabbccdd".into(),
        rule: "lag".into(),
        rule_kind: rule.kind,
        severity: rule.severity,
        subject: Subject {
            cluster: "prod".into(),
            group: Some("billing ✓".into()),
            ..Subject::default()
        },
        value: Some(value),
        threshold: 20.0,
        since: BASE,
        at,
        link: None,
        metric: None,
        below: false,
        group_facts: None,
        batch: None,
        acknowledged: None,
    };
    let firing = message(MessageKind::Firing, BASE + 10, 500.0);
    let state = AlertState::Firing {
        incident: firing.incident.clone(),
        since: BASE,
        notified_at: Some(BASE + 10),
        inhibited_by: None,
    };
    let key = ("lag".to_string(), "prod/group/billing ✓".to_string());
    let group = osprey::alerting::grouping::GroupState {
        id: firing.incident.clone(),
        rule: "lag".into(),
        cluster: "prod".into(),
        labels: [("cluster".to_owned(), "prod".to_owned()), ("rule".to_owned(), "lag".to_owned())]
            .into(),
        opened_at: BASE,
        sent_at: None,
        seq: 0,
        pending: vec![firing.clone(); 300],
        announced: Default::default(),
        unlisted: vec![],
    };
    let group_write = |state| osprey::store::GroupWrite {
        id: "g1".into(),
        rule: "lag".into(),
        cluster: "prod".into(),
        state,
    };
    let round = RoundWrite {
        states: vec![(key.clone(), Some(state.clone()))],
        incidents: vec![IncidentChange::Fired {
            message: firing.clone(),
            subject_key: key.1.clone(),
            group_id: None,
        }],
        deliveries: vec![NewDelivery { channel: "hook".into(), message: firing.clone() }],
        groups: vec![group_write(Some(group.clone()))],
        fences: vec![],
    };
    store.write_round(&round, BASE + 10).await.unwrap();
    store.write_round(&round, BASE + 10).await.unwrap_or_default();
    assert_eq!(store.alert_states().await.unwrap()["lag"][&key.1], state);
    let groups = store.alert_groups().await.unwrap();
    assert_eq!(groups.values().collect::<Vec<_>>(), [&group], "a notice group is kept");

    // An acknowledgement, seen while it holds, and taken back.
    let ack = osprey::store::Acknowledgement {
        by: "alice".into(),
        at: BASE + 11,
        comment: "on it ✓".into(),
        until: Some(BASE + 100),
    };
    assert!(store.acknowledge(&firing.incident, &ack).await.unwrap());
    assert!(!store.acknowledge("no-such-incident", &ack).await.unwrap());
    assert_eq!(store.acknowledged(BASE + 50).await.unwrap()[&firing.incident], ack);
    assert!(store.acknowledged(BASE + 100).await.unwrap().is_empty(), "expired");
    assert_eq!(store.incident(&firing.incident).await.unwrap().unwrap().ack, Some(ack));
    assert!(store.unacknowledge(&firing.incident).await.unwrap());
    assert_eq!(store.incident(&firing.incident).await.unwrap().unwrap().ack, None);
    let open = store.incidents(true, 10).await.unwrap();
    assert_eq!((open.len(), open[0].message.clone()), (1, firing.clone()));
    let history = store.incidents(false, 10).await.unwrap();
    assert!(!history.iter().any(|i| i.id == firing.incident), "still firing: not history yet");

    let resolved = message(MessageKind::Resolved, BASE + 20, 3.0);
    store
        .write_round(
            &RoundWrite {
                states: vec![(key.clone(), None)],
                incidents: vec![IncidentChange::Updated { message: resolved.clone() }],
                deliveries: vec![NewDelivery { channel: "hook".into(), message: resolved.clone() }],
                groups: vec![group_write(None)],
                fences: vec![],
            },
            BASE + 20,
        )
        .await
        .unwrap();
    assert!(store.alert_states().await.unwrap().is_empty());
    assert!(store.incidents(true, 10).await.unwrap().is_empty());
    let history = store.incidents(false, 10).await.unwrap();
    assert_eq!(
        history.iter().map(|i| i.id.as_str()).collect::<Vec<_>>(),
        [firing.incident.as_str()]
    );
    assert_eq!(history[0].resolved_at, Some(BASE + 20));

    // Only the firing notice is due: the resolved one waits behind it.
    let due = store.due_deliveries(BASE + 30, 10).await.unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].message.kind, MessageKind::Firing);
    assert!(store.claim_delivery(&due[0].id, BASE + 30, BASE + 90).await.unwrap());
    assert!(!store.claim_delivery(&due[0].id, BASE + 31, BASE + 91).await.unwrap(), "claimed once");
    assert!(store.due_deliveries(BASE + 31, 10).await.unwrap().is_empty());
    let failed = Some("POST answered 500");
    let recorded = store
        .record_attempt(
            &due[0],
            BASE + 90,
            BASE + 32,
            7,
            failed,
            DeliveryStatus::Pending,
            BASE + 40,
        )
        .await
        .unwrap();
    assert!(recorded);
    assert!(store.due_deliveries(BASE + 39, 10).await.unwrap().is_empty(), "backing off");
    let retry = store.due_deliveries(BASE + 40, 10).await.unwrap();
    assert_eq!((retry[0].attempts, retry[0].last_error.as_deref()), (1, Some("POST answered 500")));
    // A sender whose claim expired (it hung past it) while another claimed the delivery:
    // its late record is fenced off, and the current claim's record counts.
    assert!(store.claim_delivery(&retry[0].id, BASE + 40, BASE + 50).await.unwrap());
    assert!(store.claim_delivery(&retry[0].id, BASE + 50, BASE + 60).await.unwrap(), "expired");
    let stale = store
        .record_attempt(
            &retry[0],
            BASE + 50,
            BASE + 55,
            5,
            failed,
            DeliveryStatus::Pending,
            BASE + 70,
        )
        .await
        .unwrap();
    assert!(!stale, "the first claim no longer holds");
    let current = store
        .record_attempt(&retry[0], BASE + 60, BASE + 41, 5, None, DeliveryStatus::Sent, BASE + 41)
        .await
        .unwrap();
    assert!(current);
    let next = store.due_deliveries(BASE + 42, 10).await.unwrap();
    assert_eq!(next[0].message.kind, MessageKind::Resolved, "then the recovery notice");

    let deliveries = store.deliveries_of(std::slice::from_ref(&firing.incident)).await.unwrap();
    assert_eq!(
        deliveries.iter().map(|d| d.status).collect::<Vec<_>>(),
        [DeliveryStatus::Sent, DeliveryStatus::Pending]
    );
    let attempts = store.attempts_of(&[deliveries[0].id.clone()]).await.unwrap();
    assert_eq!(attempts.iter().map(|a| a.ok).collect::<Vec<_>>(), [false, true]);
    assert_eq!(store.pending_delivery_count().await.unwrap(), 1);
    assert!(store.claim_delivery(&next[0].id, BASE + 43, BASE + 100).await.unwrap());
    store
        .record_attempt(&next[0], BASE + 100, BASE + 43, 5, None, DeliveryStatus::Sent, BASE + 43)
        .await
        .unwrap();
    assert!(store.prune_alert_history(BASE + 20).await.unwrap() == 0, "resolved at, not before");
    assert!(store.prune_alert_history(BASE + 21).await.unwrap() > 0);
    assert!(store.incidents(false, 10).await.unwrap().is_empty(), "old resolved incidents pruned");

    let silence = StoredSilence {
        id: "s1".into(),
        rule: "lag".into(),
        subject: None,
        until: BASE + 100,
        note: "deploy".into(),
        created_at: BASE,
    };
    store.add_silence(&silence).await.unwrap();
    assert_eq!(store.active_silences(BASE + 50).await.unwrap(), vec![silence]);
    assert!(store.active_silences(BASE + 100).await.unwrap().is_empty(), "ended");
    assert!(store.delete_silence("s1").await.unwrap());
    assert!(store.delete_alert_rule("lag").await.unwrap());
    assert!(store.alert_rules().await.unwrap().is_empty());
    // A storm's Alerts page names more deliveries than one statement may bind (SQLite 32,766,
    // PostgreSQL 65,535 parameters).
    let many: Vec<String> = (0..70_000).map(|i| format!("missing-{i}")).collect();
    assert!(store.attempts_of(&many).await.unwrap().is_empty());
    assert!(store.deliveries_of(&many).await.unwrap().is_empty());
    store.close().await;
}

#[tokio::test]
async fn alert_story_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    alert_story(&format!("sqlite://{}", dir.path().join("osprey.db").display())).await;
}

#[tokio::test]
async fn alert_story_on_postgres() {
    let db = TempDatabase::create("OSPREY_TEST_POSTGRES_URL").await;
    alert_story(&db.url).await;
    db.drop_it().await;
}

#[tokio::test]
async fn alert_story_on_mariadb() {
    let db = TempDatabase::create("OSPREY_TEST_MYSQL_URL").await;
    alert_story(&db.url).await;
    db.drop_it().await;
}

/// A poll where every optional figure is missing, then one where each is known, on one
/// connection: both are stored. (Through the Any driver, a cached statement first prepared with
/// NULLs kept a parameter type PostgreSQL then refused for numbers, and every later poll's
/// history was lost.)
async fn missing_then_known_figures_are_both_stored(url: &str) {
    sqlx::any::install_default_drivers();
    let store = Store::connect(url, 1).await.expect("connect and migrate");
    let record = |ts: i64, known: bool| {
        let rate = known.then_some(2.5);
        let mut record = poll(ts, vec![topic("orders", 0.0)], brokers(true));
        record.cluster.messages_in_per_sec = rate;
        record.topics[0].messages_in_per_sec = rate;
        for g in &mut record.groups {
            (g.lag_seconds, g.consume_per_sec, g.produce_per_sec) = (rate, rate, rate);
        }
        for g in &mut record.group_topics {
            g.lag_seconds = rate;
        }
        record.group_partitions = vec![GroupPartitionSample {
            group: "billing".into(),
            topic: "orders".into(),
            partition: 0,
            committed: 5,
            end: known.then_some(9),
            lag: 4,
            lag_seconds: rate,
        }];
        record.queues = vec![QueueSample {
            vhost: "/".into(),
            queue: "jobs".into(),
            backlog: 1,
            ready: 1,
            unacked: 0,
            consumers: 0,
            publish_rate: rate,
            deliver_rate: rate,
        }];
        record
    };
    for (i, known) in [false, true, false, true].into_iter().enumerate() {
        let ts = BASE + i64::try_from(i).unwrap() * 10_000;
        store.record_poll(&record(ts, known)).await.unwrap_or_else(|e| panic!("poll {i}: {e}"));
    }
    let mut conn = sqlx::AnyConnection::connect(url).await.unwrap();
    for table in [
        "cluster_samples",
        "topic_samples",
        "group_samples",
        "group_topic_samples",
        "group_partition_samples",
        "queue_samples",
    ] {
        let (rows,): (i64,) = sqlx::query_as(&format!("SELECT COUNT(*) FROM {table}"))
            .fetch_one(&mut conn)
            .await
            .unwrap();
        assert!(rows >= 4, "{table}: {rows} rows");
    }
    store.close().await;
}

#[tokio::test]
async fn missing_then_known_figures_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    missing_then_known_figures_are_both_stored(&format!(
        "sqlite://{}",
        dir.path().join("osprey.db").display()
    ))
    .await;
}

#[tokio::test]
async fn missing_then_known_figures_on_postgres() {
    let db = TempDatabase::create("OSPREY_TEST_POSTGRES_URL").await;
    missing_then_known_figures_are_both_stored(&db.url).await;
    db.drop_it().await;
}

#[tokio::test]
async fn missing_then_known_figures_on_mariadb() {
    let db = TempDatabase::create("OSPREY_TEST_MYSQL_URL").await;
    missing_then_known_figures_are_both_stored(&db.url).await;
    db.drop_it().await;
}

/// A statement stuck behind a lock someone else holds (an operator's forgotten transaction)
/// ends at the statement timeout, as "unavailable", instead of holding its caller for as long
/// as the lock lasts.
async fn a_statement_stuck_behind_a_lock_ends_at_the_statement_timeout(admin_var: &str) {
    let db = TempDatabase::create(admin_var).await;
    let store = Store::connect(&db.url, 2).await.unwrap();
    let mut locker = sqlx::AnyConnection::connect(&db.url).await.unwrap();
    sqlx::query("BEGIN").execute(&mut locker).await.unwrap();
    let lock = if admin_var.contains("POSTGRES") {
        "LOCK TABLE alert_states IN ACCESS EXCLUSIVE MODE"
    } else {
        "LOCK TABLES alert_states WRITE"
    };
    sqlx::query(lock).execute(&mut locker).await.unwrap();
    let started = std::time::Instant::now();
    let stuck = tokio::time::timeout(Duration::from_secs(90), store.alert_states()).await;
    let took = started.elapsed();
    let error = stuck.expect("ended by the database, not by this test").unwrap_err();
    assert!(error.is_unavailable(), "{error}");
    assert!(took >= osprey::store::STATEMENT_TIMEOUT - Duration::from_secs(1), "{took:?}");
    drop(locker);
    store.close().await;
    db.drop_it().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_statement_stuck_behind_a_lock_ends_at_the_statement_timeout_on_postgres() {
    a_statement_stuck_behind_a_lock_ends_at_the_statement_timeout("OSPREY_TEST_POSTGRES_URL").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_statement_stuck_behind_a_lock_ends_at_the_statement_timeout_on_mariadb() {
    a_statement_stuck_behind_a_lock_ends_at_the_statement_timeout("OSPREY_TEST_MYSQL_URL").await;
}
