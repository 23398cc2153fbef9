//! Pages and API in-process: the router of `osprey::app::build` (no listener, no pollers) driven
//! with `tower::ServiceExt::oneshot` over fixture snapshots published as if a poll had seen
//! them. Nothing here needs a peer; the real-peer tests beside this one stay as they are.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Method, Request, StatusCode, header};
use osprey::app::Parts;
use osprey::config::ClusterConfig;
use osprey::domain::rocket::{
    MessageQueue, QueueRoute, RocketBroker, RocketSnapshot, RocketTopic, TopicClass,
};
use osprey::domain::{
    Broker, ClusterKind, ClusterSnapshot, CommittedOffset, ConsumerGroup, GroupMember, Millis,
    Partition, Topic,
};
use osprey::evaluator::{LagBook, Rules};
use osprey::poller::ClusterState;
use serde_json::Value;
use tower::ServiceExt;

use crate::helpers::sqlite_config;

/// An address nothing listens on: the cluster clients are created but no request here uses them.
const NOWHERE: &str = "127.0.0.1:9";

/// The Kafka topic the group `billing` lags on: partition → (earliest, latest, committed).
const ORDERS: [(i64, i64, i64); 3] = [(0, 100, 90), (0, 60, 50), (10, 30, 30)];

/// RocketMQ topics of the fixture: name and queue count. The first three are system topics.
const ROCKET_TOPICS: [(&str, i32); 4] =
    [("RMQ_SYS_TRANS_HALF_TOPIC", 1), ("SCHEDULE_TOPIC_XXXX", 18), ("TBW102", 8), ("trades", 4)];

/// The app with Kafka cluster `fx` and RocketMQ cluster `rq`, each with a published fixture
/// snapshot, on a fresh SQLite file; pages and reads open without a login.
struct Web {
    parts: Parts,
    _dir: tempfile::TempDir,
}

/// What a request got back.
struct Reply {
    status: StatusCode,
    content_type: String,
    body: String,
}

impl Reply {
    fn is_html(&self) -> bool {
        self.content_type.starts_with("text/html")
    }

    fn is_json(&self) -> bool {
        self.content_type.starts_with("application/json")
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| {
            let start: String = self.body.chars().take(500).collect();
            panic!("not JSON ({e}): {start}")
        })
    }

    /// The `code` of a JSON error, after checking `status` and the content type.
    fn error_code(&self, status: StatusCode) -> String {
        assert_eq!(self.status, status, "{}", self.body);
        assert!(self.is_json(), "content type {:?}", self.content_type);
        self.json()["error"]["code"].as_str().unwrap_or_default().to_owned()
    }

    /// The page, after checking `status` and that it is HTML.
    fn page(&self, status: StatusCode) -> &str {
        assert_eq!(self.status, status, "{}", self.body);
        assert!(self.is_html(), "content type {:?}", self.content_type);
        &self.body
    }

    /// The JSON body, after checking `status` and the content type.
    fn ok_json(&self) -> Value {
        assert_eq!(self.status, StatusCode::OK, "{}", self.body);
        assert!(self.is_json(), "content type {:?}", self.content_type);
        self.json()
    }
}

impl Web {
    async fn new() -> Web {
        let dir = tempfile::tempdir().unwrap();
        let kafka = ClusterConfig::kafka("fx", NOWHERE);
        let rocket = ClusterConfig::rocketmq("rq", NOWHERE);
        // Never polled here: it stays pending.
        let password = osprey::secret::Secret::new("p");
        let rabbit = ClusterConfig::rabbitmq("rb", &format!("http://{NOWHERE}/"), "u", password);
        let config = sqlite_config(&dir, vec![kafka.clone(), rocket.clone(), rabbit]);
        let parts = osprey::app::build(&config).await.expect("the app builds");
        let now = osprey::clock::now_millis();
        assert!(parts.publish(polled(&kafka, kafka_snapshot(now))));
        assert!(parts.publish(polled(&rocket, rocket_snapshot(now))));
        Web { parts, _dir: dir }
    }

    async fn send(&self, mut request: Request<Body>) -> Reply {
        // As `axum::serve` would attach it (the audit log reads it; without it, `unknown`).
        request.extensions_mut().insert(ConnectInfo(SocketAddr::from(([127, 0, 0, 1], 40_000))));
        let response = self.parts.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let content_type = response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
        Reply { status, content_type, body: String::from_utf8_lossy(&bytes).into_owned() }
    }

    async fn get(&self, path: &str) -> Reply {
        self.send(Request::get(path).body(Body::empty()).unwrap()).await
    }

    async fn get_in_chinese(&self, path: &str) -> Reply {
        let request = Request::get(path)
            .header(header::COOKIE, "osprey_lang=zh")
            .body(Body::empty())
            .unwrap();
        self.send(request).await
    }
}

/// The state a successful poll of `cluster` publishes, with its groups' lag evaluated.
fn polled(cluster: &ClusterConfig, snapshot: ClusterSnapshot) -> ClusterState {
    let mut state = ClusterState::new(cluster);
    state.last_attempt_at = Some(snapshot.taken_at);
    state.last_good_at = Some(snapshot.taken_at);
    state.groups = Arc::new(LagBook::new(Rules::default()).evaluate(&snapshot));
    state.snapshot = Some(Arc::new(snapshot));
    state
}

fn partition(id: i32, leader: i32, replicas: Vec<i32>, offsets: (i64, i64)) -> Partition {
    Partition {
        id,
        leader: Some(leader),
        isr: replicas.clone(),
        replicas,
        earliest_offset: Some(offsets.0),
        latest_offset: Some(offsets.1),
    }
}

fn topic(name: &str, internal: bool, partitions: Vec<Partition>) -> Topic {
    Topic {
        name: name.into(),
        internal,
        canary: false,
        partitions,
        configs: None,
        messages_in_per_sec: None,
    }
}

fn snapshot(cluster: &str, kind: ClusterKind, taken_at: Millis) -> ClusterSnapshot {
    ClusterSnapshot {
        cluster: cluster.into(),
        kind,
        taken_at,
        poll_millis: 12,
        cluster_id: None,
        controller_id: None,
        brokers: Vec::new(),
        topics: Vec::new(),
        groups: Vec::new(),
        groups_error: None,
        queues: None,
        rocket: None,
        log_sizes: None,
        quorum: None,
        zookeeper: None,
        protocol_version: None,
    }
}

/// Three brokers; topics (in name order) `__consumer_offsets`, `orders` (3 partitions) and
/// `payments.v2-eu_west`; group `billing` 20 messages behind on `orders`.
fn kafka_snapshot(now: Millis) -> ClusterSnapshot {
    let replicas = |p: i32| (0..3).map(|i| 1 + (p + i) % 3).collect::<Vec<i32>>();
    let orders = ORDERS
        .iter()
        .zip(0..)
        .map(|(&(earliest, latest, _), p)| partition(p, 1 + p % 3, replicas(p), (earliest, latest)))
        .collect();
    let offsets = ORDERS
        .iter()
        .zip(0..)
        .map(|(&(_, _, committed), p)| CommittedOffset {
            topic: "orders".into(),
            partition: p,
            offset: committed,
            oldest_unconsumed_at: None,
        })
        .collect();
    ClusterSnapshot {
        cluster_id: Some("fx-cluster-id".into()),
        controller_id: Some(1),
        brokers: (1..=3)
            .map(|id| Broker { id, host: "127.0.0.1".into(), port: 9091 + id as u16, rack: None })
            .collect(),
        topics: vec![
            topic("__consumer_offsets", true, vec![partition(0, 1, replicas(0), (0, 7))]),
            topic("orders", false, orders),
            topic("payments.v2-eu_west", false, vec![partition(0, 2, replicas(1), (0, 5))]),
        ],
        groups: vec![ConsumerGroup {
            name: "billing".into(),
            state: "Stable".into(),
            protocol_type: "consumer".into(),
            protocol: "range".into(),
            group_type: None,
            coordinator: Some(1),
            members: vec![GroupMember {
                member_id: "billing-1-abc".into(),
                client_id: "billing-1".into(),
                host: "/10.0.0.7".into(),
                assignment: vec![("orders".into(), vec![0, 1, 2])],
            }],
            offsets,
            offsets_error: None,
        }],
        ..snapshot("fx", ClusterKind::Kafka, now)
    }
}

/// One master `broker-a`; the system topics `RMQ_SYS_TRANS_HALF_TOPIC`, `SCHEDULE_TOPIC_XXXX`
/// and `TBW102` with many queues, and the normal topic `trades` with 4.
fn rocket_snapshot(now: Millis) -> ClusterSnapshot {
    let infrastructure = ["DefaultCluster", "broker-a"];
    let topics = ROCKET_TOPICS
        .iter()
        .map(|&(name, queues)| {
            topic(name, false, (0..queues).map(|q| partition(q, 0, vec![0], (0, 10))).collect())
        })
        .collect();
    let rocket_topics = ROCKET_TOPICS
        .iter()
        .map(|&(name, queues)| RocketTopic {
            name: name.into(),
            class: TopicClass::of(name, &infrastructure),
            queues: (0..queues)
                .map(|queue_id| MessageQueue {
                    broker: "broker-a".into(),
                    queue_id,
                    last_update: None,
                })
                .collect(),
            route: vec![QueueRoute {
                broker: "broker-a".into(),
                master: Some("127.0.0.1:10911".into()),
                read_queues: queues,
                write_queues: queues,
                perm: 6,
            }],
        })
        .collect();
    ClusterSnapshot {
        brokers: vec![Broker { id: 0, host: "127.0.0.1".into(), port: 10911, rack: None }],
        topics,
        rocket: Some(Arc::new(RocketSnapshot {
            namesrv: NOWHERE.into(),
            brokers: vec![RocketBroker {
                cluster: "DefaultCluster".into(),
                name: "broker-a".into(),
                broker_id: 0,
                address: "127.0.0.1:10911".into(),
                runtime: None,
                error: None,
            }],
            topics: rocket_topics,
            groups: Vec::new(),
        })),
        ..snapshot("rq", ClusterKind::Rocketmq, now)
    }
}

/// The names of a topic list's rows.
fn row_names(list: &Value) -> Vec<String> {
    list["rows"]
        .as_array()
        .unwrap_or_else(|| panic!("no rows: {list}"))
        .iter()
        .map(|r| r["name"].as_str().unwrap().to_owned())
        .collect()
}

/// `text` with every byte percent-encoded (a path segment any router decodes back).
fn percent_encoded(text: &str) -> String {
    text.bytes().map(|b| format!("%{b:02X}")).collect()
}

#[tokio::test]
async fn the_overview_page_and_the_clusters_api_list_every_cluster() {
    let web = Web::new().await;

    let overview = web.get("/").await;
    let page = overview.page(StatusCode::OK);
    assert!(page.contains(r#"data-cluster="fx""#), "{page}");
    assert!(page.contains(r#"data-cluster="rq""#), "{page}");

    let clusters = web.get("/api/v1/clusters").await.ok_json();
    let listed: Vec<(&str, &str, &str)> = clusters
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap(),
                c["kind"].as_str().unwrap(),
                c["status"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        listed,
        [("fx", "kafka", "up"), ("rq", "rocketmq", "up"), ("rb", "rabbitmq", "pending")]
    );
    assert_eq!(clusters[0]["brokers"], 3);
    assert_eq!(clusters[0]["topics"], 3);
    assert_eq!(clusters[0]["partitions"], 5);
}

#[tokio::test]
async fn the_kafka_topic_page_and_api_agree_on_the_partition_count_and_the_lagging_group() {
    let web = Web::new().await;

    let detail = web.get("/api/v1/clusters/fx/topics/orders").await.ok_json();
    assert_eq!(detail["topic"]["name"], "orders");
    assert_eq!(detail["topic"]["partitions"], ORDERS.len());
    assert_eq!(detail["partitions"].as_array().unwrap().len(), ORDERS.len());
    let consumers = detail["consumers"].as_array().unwrap();
    assert_eq!(consumers.len(), 1, "{detail}");
    assert_eq!(consumers[0]["group"], "billing");
    let lag: i64 = ORDERS.iter().map(|(_, latest, committed)| latest - committed).sum();
    assert_eq!(consumers[0]["lag"], lag);

    let reply = web.get("/clusters/fx/topics/orders").await;
    let page = reply.page(StatusCode::OK);
    assert_eq!(page.matches("data-partition=\"").count(), ORDERS.len(), "{page}");
    assert!(page.contains(r#"data-group="billing""#), "{page}");

    let other = web.get("/api/v1/clusters/fx/topics/payments.v2-eu_west").await.ok_json();
    assert_eq!(other["topic"]["partitions"], 1);
    let page = web.get("/clusters/fx/topics/payments.v2-eu_west").await;
    assert_eq!(page.page(StatusCode::OK).matches("data-partition=\"").count(), 1);
}

#[tokio::test]
async fn an_unknown_cluster_is_a_404_page_in_chinese_and_a_json_404_and_a_long_name_is_clipped() {
    let web = Web::new().await;

    let reply = web.get_in_chinese("/clusters/nope").await;
    let page = reply.page(StatusCode::NOT_FOUND);
    assert!(page.contains(r#"<html lang="zh-CN">"#), "{page}");
    assert!(page.contains("未找到"), "{page}");
    assert!(page.contains("未配置名为“nope”的集群"), "{page}");

    let reply = web.get("/api/v1/clusters/nope").await;
    assert_eq!(reply.error_code(StatusCode::NOT_FOUND), "unknown_cluster");
    assert!(reply.json()["error"]["message"].as_str().unwrap().contains("nope"));

    // A name of 300 non-ASCII characters: its links (login, language switch) carry it
    // percent-encoded, so the page holds the name as such only where a message repeats it.
    let long = "é".repeat(300);
    let path = percent_encoded(&long);
    let reply = web.get_in_chinese(&format!("/clusters/{path}")).await;
    let page = reply.page(StatusCode::NOT_FOUND);
    assert!(page.contains("未配置名为"), "{page}");
    assert!(!page.contains(&long), "the page repeats the whole 300-character name");
    assert!(page.contains(&format!("{}…", "é".repeat(osprey::domain::CLIP_CHARS))), "{page}");

    let reply = web.get(&format!("/api/v1/clusters/{path}")).await;
    assert_eq!(reply.error_code(StatusCode::NOT_FOUND), "unknown_cluster");
    assert!(!reply.body.contains(&long), "the JSON repeats the whole 300-character name");
    assert!(reply.json()["error"]["message"].as_str().unwrap().contains('…'), "{}", reply.body);

    let reply = web.get(&format!("/api/v1/clusters/{path}/topics")).await;
    assert_eq!(reply.error_code(StatusCode::NOT_FOUND), "unknown_cluster");
    assert!(!reply.body.contains(&long));
}

#[tokio::test]
async fn a_malformed_query_parameter_is_a_400_as_json_and_as_a_page() {
    let web = Web::new().await;

    let reply = web.get("/api/v1/clusters/fx?range=5y").await;
    assert_eq!(reply.error_code(StatusCode::BAD_REQUEST), "bad_request");
    let message = reply.json()["error"]["message"].as_str().unwrap().to_owned();
    assert!(message.contains("invalid query parameters"), "{message}");

    let reply = web.get("/clusters/fx?range=5y").await;
    let page = reply.page(StatusCode::BAD_REQUEST);
    assert!(page.contains(r#"id="error-message""#), "{page}");
    assert!(page.contains("could not be read"), "{page}");

    // The same parameter, well formed, is fine.
    web.get("/api/v1/clusters/fx?range=24h").await.ok_json();
    web.get("/clusters/fx?range=24h").await.page(StatusCode::OK);
}

#[tokio::test]
async fn unknown_paths_answer_json_404_under_the_api_and_a_404_page_elsewhere() {
    let web = Web::new().await;

    let reply = web.get("/api/v1/no/such/thing").await;
    assert_eq!(reply.error_code(StatusCode::NOT_FOUND), "not_found");
    assert!(reply.json()["error"]["message"].as_str().unwrap().contains("/api/v1/no/such/thing"));

    let reply = web.get("/no/such/page").await;
    let page = reply.page(StatusCode::NOT_FOUND);
    assert!(page.contains(r#"id="error-message""#), "{page}");
    assert!(page.contains("/no/such/page"), "{page}");
}

#[tokio::test]
async fn a_json_body_over_16_mib_is_refused_with_413_too_large() {
    let web = Web::new().await;
    // Anonymous: with `anonymous_read` the middleware lets the request through (only sessions
    // need a CSRF token), and the handler's extractors read the body before the handler checks
    // the operator role — so the body limit answers first: 413, not 401.
    let name = "x".repeat(17 * 1024 * 1024);
    let body = format!(r#"{{"name":"{name}","partitions":1}}"#);
    let request = Request::builder()
        .method(Method::POST)
        .uri("/api/v1/clusters/fx/topics")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body))
        .unwrap();
    let reply = web.send(request).await;
    assert_eq!(reply.error_code(StatusCode::PAYLOAD_TOO_LARGE), "too_large");
    assert!(
        reply.json()["error"]["message"].as_str().unwrap().contains("16 MiB"),
        "{}",
        reply.body
    );
}

#[tokio::test]
async fn rocketmq_system_topics_are_left_out_of_the_topic_list_and_the_partition_count_by_default()
{
    let web = Web::new().await;
    let system: Vec<&str> =
        ROCKET_TOPICS.iter().map(|(n, _)| *n).filter(|n| *n != "trades").collect();
    let trades_queues = ROCKET_TOPICS.iter().find(|(n, _)| *n == "trades").unwrap().1;

    let list = web.get("/api/v1/clusters/rq/topics").await.ok_json();
    assert_eq!(row_names(&list), ["trades"], "system topics listed by default: {list}");
    assert_eq!(list["rows"][0]["class"], TopicClass::Normal.as_str());
    assert_eq!(list["cluster"]["partitions"], trades_queues, "{}", list["cluster"]);

    // Asked for (by class, or all of them with `system=true`), they are there.
    let list = web.get("/api/v1/clusters/rq/topics?class=system").await.ok_json();
    assert_eq!(row_names(&list), system);
    let list = web.get("/api/v1/clusters/rq/topics?system=true").await.ok_json();
    assert_eq!(row_names(&list), ROCKET_TOPICS.map(|(name, _)| name));
    let list = web.get("/api/v1/clusters/rq/topics?class=normal").await.ok_json();
    assert_eq!(row_names(&list), ["trades"]);

    let clusters = web.get("/api/v1/clusters").await.ok_json();
    let rq = clusters.as_array().unwrap().iter().find(|c| c["name"] == "rq").unwrap();
    assert_eq!(rq["partitions"], trades_queues, "system-topic queues counted: {rq}");
    let detail = web.get("/api/v1/clusters/rq").await.ok_json();
    assert_eq!(detail["summary"]["partitions"], trades_queues, "{}", detail["summary"]);

    let reply = web.get("/clusters/rq/topics").await;
    let page = reply.page(StatusCode::OK);
    assert!(page.contains(r#"data-topic="trades""#), "{page}");
    for name in &system {
        assert!(!page.contains(&format!(r#"data-topic="{name}""#)), "{name} listed: {page}");
    }
}

#[tokio::test]
async fn a_rocketmq_cluster_page_shows_rocketmq_facts_and_no_kafka_ones() {
    let web = Web::new().await;
    let reply = web.get("/clusters/rq").await;
    let page = reply.page(StatusCode::OK);
    assert!(page.contains("Name servers"), "{page}");
    assert!(!page.contains("Bootstrap servers"), "{page}");
    assert!(!page.contains(r#"id="controller""#), "no controller on RocketMQ: {page}");
    assert!(!page.contains("Under-replicated"), "no replication on RocketMQ: {page}");
    let summary = web.get("/api/v1/clusters/rq").await.ok_json()["summary"].clone();
    assert_eq!(summary["capabilities"]["replication"], false, "{summary}");
    assert_eq!(summary["capabilities"]["queues_as_partitions"], true, "{summary}");
    assert!(summary["under_replicated"].is_null() && summary["controller_id"].is_null());
    // The Kafka cluster keeps its own facts.
    let kafka = web.get("/clusters/fx").await;
    let kafka = kafka.page(StatusCode::OK);
    assert!(kafka.contains("Bootstrap servers") && kafka.contains(r#"id="controller""#));
}

#[tokio::test]
async fn a_rabbitmq_cluster_page_names_its_management_api_not_bootstrap_servers() {
    let web = Web::new().await;
    let reply = web.get("/clusters/rb").await;
    let page = reply.page(StatusCode::OK);
    assert!(page.contains("Management API"), "{page}");
    assert!(!page.contains("Bootstrap servers"), "{page}");
    let summary = web.get("/api/v1/clusters/rb").await.ok_json()["summary"].clone();
    assert_eq!(summary["addresses"], format!("http://{NOWHERE}/"), "{summary}");
}

#[tokio::test]
async fn rocketmq_topics_link_to_no_page_the_kind_does_not_have() {
    let web = Web::new().await;
    let reply = web.get("/clusters/rq/topics/trades").await;
    let topic = reply.page(StatusCode::OK);
    assert!(!topic.contains("/topics/trades/messages"), "no browse on RocketMQ: {topic}");
    assert!(!topic.contains(r#"id="topic-manage""#), "no Kafka topic admin on RocketMQ");
    let reply = web.get("/clusters/fx/topics/orders").await;
    let kafka = reply.page(StatusCode::OK);
    assert!(kafka.contains(r#"id="configs""#) || kafka.contains("orders"), "{kafka}");
    let reply = web.get("/clusters/rq/metrics").await;
    let metrics = reply.page(StatusCode::OK);
    assert!(metrics.contains("GET_BROKER_RUNTIME_INFO") && !metrics.contains("JMX exporter"));
}

#[tokio::test]
async fn charts_speak_the_readers_language() {
    let web = Web::new().await;
    let reply = web.get_in_chinese("/clusters/fx").await;
    let page = reply.page(StatusCode::OK);
    assert!(page.contains(r#"data-time-label="时间""#), "the chart legend's time in Chinese");
    assert!(page.contains(r#"data-lang="zh""#), "{page}");
}
