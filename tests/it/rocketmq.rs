//! The RocketMQ adapter against a real name server and broker (rocketmq-namesrv-rust and
//! rocketmq-broker-rust), one pair per test: topics with exact queue offsets, a consumer group
//! whose lag in messages and seconds is exact, online clients, test messages, alerts, errors.

use std::net::TcpStream;
use std::process::{Child, Command as Process, Stdio};
use std::time::Duration;

use osprey::brokers::AdapterError;
use osprey::brokers::rocketmq::message::{Outgoing, decode_all, pull_request};
use osprey::brokers::rocketmq::{RocketAdapter, RocketSettings};
use serde_json::json;

use osprey::config::ClusterConfig;

use crate::helpers::*;

/// A name server and one master broker of their own.
pub struct RocketPeers {
    pub namesrv_port: u16,
    pub broker_port: u16,
    children: Vec<Child>,
    dir: tempfile::TempDir,
}

impl RocketPeers {
    pub async fn start() -> RocketPeers {
        let dir = tempfile::tempdir().unwrap();
        let namesrv_port = free_port();
        let mut peers = RocketPeers { namesrv_port, broker_port: 0, children: Vec::new(), dir };
        let home = peers.dir.path().to_owned();
        std::fs::create_dir_all(home.join("conf")).unwrap();
        let mut namesrv = Process::new(peer("OSPREY_TEST_ROCKETMQ_NAMESRV_BIN"));
        namesrv
            .env("ROCKETMQ_HOME", &home)
            .arg("--rocketmqHome")
            .arg(&home)
            .args(["--listenPort", &namesrv_port.to_string(), "--bindAddress", "127.0.0.1"])
            .arg("--kvConfigPath")
            .arg(home.join("kvConfig.json"));
        let namesrv = peers.spawn(&mut namesrv, "namesrv.log");
        peers.children.push(namesrv);
        wait_listening(namesrv_port, "the name server").await;

        // The broker also listens on port − 2 (fast port) and its HA port: keep all three free.
        let broker_port = (0..50)
            .map(|_| free_port())
            .find(|p| *p > 20_010 && port_free(p - 2) && port_free(p + 1))
            .expect("three free ports");
        peers.broker_port = broker_port;
        let store = home.join("store");
        let config = format!(
            r#"[broker]
namesrvAddr = "127.0.0.1:{namesrv_port}"
brokerIp1 = "127.0.0.1"
listenPort = {broker_port}
storePathRootDir = "{store}"

[broker.brokerServerConfig]
bindAddress = "127.0.0.1"

[broker.brokerIdentity]
brokerName = "broker-a"
brokerClusterName = "OspreyCluster"
brokerId = 0

[store]
storeType = "LocalFile"
brokerRole = "ASYNC_MASTER"
storePathRootDir = "{store}"
haListenAddress = "127.0.0.1"
haListenPort = {ha_port}
mappedFileSizeCommitLog = 67108864
mappedFileSizeConsumeQueue = 600000
maxHashSlotNum = 50000
maxIndexNum = 200000
# The whole machine's disk, not the broker's share, decides when a broker stops taking
# messages (90 %); a shared machine with big build directories got there.
diskMaxUsedSpaceRatio = 95
diskSpaceWarningLevelRatio = 98
diskSpaceCleanForciblyRatio = 97
"#,
            store = store.display(),
            ha_port = broker_port + 1,
        );
        let config_path = home.join("conf/broker.toml");
        std::fs::write(&config_path, config).unwrap();
        let mut broker = Process::new(peer("OSPREY_TEST_ROCKETMQ_BROKER_BIN"));
        broker
            .env("ROCKETMQ_HOME", &home)
            .arg("-c")
            .arg(&config_path)
            .args(["-n", &format!("127.0.0.1:{namesrv_port}")]);
        let broker = peers.spawn(&mut broker, "broker.log");
        peers.children.push(broker);
        wait_listening(broker_port, "the broker").await;
        let adapter = peers.adapter();
        eventually(Duration::from_secs(20), "the broker registered", || async {
            let (_, brokers) = adapter.brokers().await.ok()?;
            (!brokers.is_empty()).then_some(())
        })
        .await;
        peers
    }

    fn spawn(&self, command: &mut Process, log: &str) -> Child {
        let log = std::fs::File::create(self.dir.path().join(log)).unwrap();
        command
            .current_dir(self.dir.path())
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("a RocketMQ server binary starts")
    }

    pub fn namesrv(&self) -> String {
        format!("127.0.0.1:{}", self.namesrv_port)
    }

    pub fn broker(&self) -> String {
        format!("127.0.0.1:{}", self.broker_port)
    }

    pub fn adapter(&self) -> RocketAdapter {
        RocketAdapter::new(RocketSettings {
            namesrv_addrs: vec![self.namesrv()],
            proxy_addrs: Vec::new(),
            // Generous: the suite loads the machine, and this is a helper, not a measurement.
            timeout: Duration::from_secs(20),
            credentials: None,
        })
    }

    pub fn stop_broker(&mut self) {
        if let Some(mut broker) = self.children.pop() {
            let _ = broker.kill();
            let _ = broker.wait();
        }
    }

    /// Creates `topic` with `queues` read and write queues on the broker, and waits until the
    /// name server routes it.
    pub async fn create_topic(&self, topic: &str, queues: i32) {
        let adapter = self.adapter();
        adapter.create_topic(&self.broker(), topic, queues).await.unwrap();
        eventually(Duration::from_secs(40), "the topic's route on the name server", || async {
            let queues = adapter.writable_queues(topic).await.ok()?;
            (!queues.is_empty()).then_some(())
        })
        .await;
    }

    pub async fn create_group(&self, group: &str) {
        self.adapter().create_group(&self.broker(), group).await.unwrap();
    }

    /// Sends `count` messages to queue `queue_id` of `topic`, one by one.
    pub async fn send(&self, topic: &str, queue_id: i32, count: usize) {
        let adapter = self.adapter();
        for i in 0..count {
            let message = Outgoing {
                topic: topic.into(),
                tag: Some("it".into()),
                keys: vec![format!("k{i}")],
                body: format!("m{i}").into_bytes(),
                properties: Default::default(),
            };
            let stored = adapter
                .send(&message, Some(("broker-a", queue_id)), osprey::clock::now_millis())
                .await
                .unwrap();
            assert_eq!(stored.queue_id, queue_id);
        }
    }

    /// Consumes (pulls and commits) the first `count` messages of a queue as `group` would.
    pub async fn consume(&self, group: &str, topic: &str, queue_id: i32, count: i64) {
        let adapter = self.adapter();
        let mut offset = 0;
        while offset < count {
            let messages =
                adapter.pull(&self.broker(), group, topic, queue_id, offset, 32).await.unwrap();
            assert!(!messages.is_empty(), "messages to pull from {offset}");
            offset = (messages.last().unwrap().queue_offset + 1).min(count);
        }
        adapter.commit_offset(&self.broker(), group, topic, queue_id, count).await.unwrap();
    }

    /// Tells the broker a consumer of `group` subscribed to `topic` is online. The consumer stays
    /// online while the returned client (its connection) lives.
    pub async fn heartbeat(&self, client_id: &str, group: &str, topic: &str) -> RocketAdapter {
        let client = self.adapter();
        let now = osprey::clock::now_millis();
        client.heartbeat(&self.broker(), client_id, group, topic, now).await.unwrap();
        client
    }
}

impl Drop for RocketPeers {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn port_free(port: u16) -> bool {
    std::net::TcpListener::bind(("127.0.0.1", port)).is_ok()
}

async fn wait_listening(port: u16, what: &str) {
    let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    eventually(Duration::from_secs(30), what, || {
        let connected = TcpStream::connect_timeout(&addr, Duration::from_millis(200)).ok();
        async move { connected.map(drop) }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_snapshot_has_the_broker_topics_and_exact_group_lag() {
    let peers = RocketPeers::start().await;
    peers.create_topic("orders", 2).await;
    peers.create_group("billing").await;
    peers.send("orders", 0, 5).await;
    peers.send("orders", 1, 3).await;
    let sent_at = osprey::clock::now_millis();
    peers.consume("billing", "orders", 0, 2).await;
    peers.consume("billing", "orders", 1, 3).await;
    let _consumer = peers.heartbeat("10.0.0.7@billing-1", "billing", "orders").await;

    let adapter = peers.adapter();
    let snapshot = adapter.read(osprey::clock::now_millis()).await.unwrap();
    let rocket = snapshot.rocket.as_deref().unwrap();
    assert_eq!(rocket.brokers.len(), 1);
    let broker = &rocket.brokers[0];
    assert_eq!((broker.cluster.as_str(), broker.name.as_str()), ("OspreyCluster", "broker-a"));
    assert!(broker.is_master(), "{broker:?}");
    let runtime = broker.runtime.as_ref().expect("runtime stats");
    assert!(runtime.version.is_some() && runtime.put_tps.is_some(), "{runtime:?}");
    assert!(runtime.msg_put_today.is_some_and(|n| n >= 8), "{runtime:?}");

    let orders = snapshot.topic("orders").expect("orders listed");
    assert_eq!(orders.partitions.len(), 2);
    assert_eq!(orders.partitions[0].latest_offset, Some(5));
    assert_eq!(orders.partitions[1].latest_offset, Some(3));
    assert!(!orders.internal);

    let group = snapshot.groups.iter().find(|g| g.name == "billing").expect("billing listed");
    let offsets: Vec<(i32, i64)> = group
        .offsets
        .iter()
        .filter(|o| o.topic == "orders")
        .map(|o| (o.partition, o.offset))
        .collect();
    assert_eq!(offsets, [(0, 2), (1, 3)]);
    let lagging = group.offsets.iter().find(|o| o.partition == 0).unwrap();
    let stored_at = lagging.oldest_unconsumed_at.expect("the store time of offset 2");
    assert!(stored_at <= sent_at && stored_at > sent_at - 60_000, "{stored_at} vs {sent_at}");
    assert_eq!(group.members.len(), 1, "the heartbeat's client: {:?}", group.members);
    assert_eq!(group.members[0].assignment, [("orders".to_owned(), vec![0, 1])]);
    let rocket_group = rocket.groups.iter().find(|g| g.name == "billing").unwrap();
    assert_eq!(rocket_group.clients[0].client_id, "10.0.0.7@billing-1");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unreachable_name_server_and_a_garbage_answer_say_so() {
    let port = free_port();
    let adapter = RocketAdapter::new(RocketSettings {
        namesrv_addrs: vec![format!("127.0.0.1:{port}")],
        proxy_addrs: Vec::new(),
        timeout: Duration::from_secs(2),
        credentials: None,
    });
    let error = adapter.read(0).await.unwrap_err();
    assert!(
        matches!(&error, AdapterError::Unreachable(m) if m.contains(&port.to_string())),
        "{error}"
    );

    // Something that is not a name server: an HTTP server answers garbage.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        use tokio::io::AsyncWriteExt;
        while let Ok((mut socket, _)) = listener.accept().await {
            let _ = socket.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n").await;
        }
    });
    let adapter = RocketAdapter::new(RocketSettings {
        namesrv_addrs: vec![address.to_string()],
        proxy_addrs: Vec::new(),
        timeout: Duration::from_secs(2),
        credentials: None,
    });
    let error = adapter.read(0).await.unwrap_err();
    assert!(matches!(&error, AdapterError::Protocol(m) if m.contains("garbage")), "{error}");
}

fn rocket_cluster(name: &str, peers: &RocketPeers) -> ClusterConfig {
    let mut cluster = kafka_cluster(name, "");
    cluster.connection = ClusterConfig::rocketmq(name, &peers.namesrv()).connection;
    cluster.poll_timeout = Duration::from_secs(1);
    cluster
}

#[tokio::test(flavor = "multi_thread")]
async fn exact_lag_on_pages_and_api_an_alert_that_fires_and_recovers_and_a_test_message() {
    let mut peers = RocketPeers::start().await;
    peers.create_topic("orders", 2).await;
    peers.create_group("billing").await;
    peers.send("orders", 0, 2).await;
    let oldest_sent_from = osprey::clock::now_millis();
    peers.send("orders", 0, 3).await;
    let oldest_sent_by = osprey::clock::now_millis();
    peers.send("orders", 1, 3).await;
    // Consumed: 2 of queue 0's 5 messages, all 3 of queue 1's.
    peers.consume("billing", "orders", 0, 2).await;
    peers.consume("billing", "orders", 1, 3).await;
    let _consumer = peers.heartbeat("10.0.0.7@billing-1", "billing", "orders").await;

    let hook = crate::alerts::Receiver::start().await;
    let rules = r#"
        [[alerts.rules]]
        name = "billing-lag"
        kind = "consumer_lag"
        cluster = "rocket"
        group = "billing"
        threshold = 2
        channels = ["hook"]
        [[alerts.rules]]
        name = "billing-late"
        kind = "consumer_lag_seconds"
        cluster = "rocket"
        group = "billing"
        threshold = 1
        channels = ["hook"]
        "#;
    let toml = format!("{}{rules}", crate::alerts::hook_channel("hook", &hook.url));
    let app = TestApp::from_toml(&toml, vec![rocket_cluster("rocket", &peers)]).await;

    // Lag per queue and in total is exact; seconds are the age of the oldest unconsumed message.
    let detail = eventually(Duration::from_secs(20), "the group's lag", || async {
        let response = app.get("/api/v1/clusters/rocket/groups/billing").await;
        let detail: serde_json::Value =
            response.status().is_success().then_some(response)?.json().await.ok()?;
        (detail["group"]["lag"] == 3).then_some(detail)
    })
    .await;
    let checked_at = osprey::clock::now_millis();
    let orders = &detail["group"]["topics"][0];
    assert_eq!(orders["topic"], "orders");
    let lags: Vec<i64> = orders["partitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["lag"].as_i64().unwrap())
        .collect();
    assert_eq!(lags, [3, 0]);
    let seconds = orders["partitions"][0]["lag_seconds"].as_f64().expect("lag seconds");
    let polled_at = detail["cluster"]["data_at"].as_i64().unwrap();
    let (shortest, longest) = (
        (polled_at - oldest_sent_by) as f64 / 1000.0,
        (checked_at - oldest_sent_from) as f64 / 1000.0,
    );
    assert!(
        seconds >= shortest - 0.01 && seconds <= longest + 0.01,
        "{seconds} s should lie in [{shortest}, {longest}]"
    );
    assert_eq!(detail["rocket"]["clients"][0]["client_id"], "10.0.0.7@billing-1");

    // Both alerts fire: lag in messages (exact) and in seconds.
    let notice = |rule: &'static str, status: &'static str| {
        hook.bodies().into_iter().find(|b| b["rule"] == rule && b["status"] == status)
    };
    let firing = eventually(Duration::from_secs(40), "the firing webhooks", || async {
        Some((notice("billing-lag", "firing")?, notice("billing-late", "firing")?))
    })
    .await;
    assert_eq!(
        (firing.0["group"].as_str(), firing.0["value"].as_f64()),
        (Some("billing"), Some(3.0))
    );
    assert!(firing.1["value"].as_f64().unwrap() > 1.0, "{}", firing.1);

    // Pages: brokers with runtime stats, topics by class, the topic's queues and route, the group.
    let cluster_page = app.html("/clusters/rocket").await;
    assert!(
        cluster_page.contains("id=\"rocket-brokers\"") && cluster_page.contains("broker-a"),
        "{cluster_page}"
    );
    let normal = app.html("/clusters/rocket/topics?class=normal").await;
    assert!(
        normal.contains("data-topic=\"orders\"") && !normal.contains("data-topic=\"TBW102\""),
        "{normal}"
    );
    let all = app.html("/clusters/rocket/topics?class=").await;
    assert!(all.contains("id=\"class-filter\""), "{all}");
    let topic_page = app.html("/clusters/rocket/topics/orders").await;
    assert!(
        topic_page.contains("data-queue=\"broker-a:0\"") && topic_page.contains("id=\"route\""),
        "{topic_page}"
    );
    assert!(topic_page.contains("RW-") && topic_page.contains(&peers.broker()), "{topic_page}");
    // The route is the name server's own (GET_ROUTEINFO_BY_TOPIC), with the master's address.
    let topic = app.json("/api/v1/clusters/rocket/topics/orders").await;
    let route = &topic["rocket"]["route"][0];
    assert_eq!(
        (route["broker"].as_str(), route["master"].as_str()),
        (Some("broker-a"), Some(peers.broker().as_str()))
    );
    assert_eq!((route["read_queues"].as_i64(), route["write_queues"].as_i64()), (Some(2), Some(2)));
    let group_page = app.html("/clusters/rocket/groups/billing").await;
    assert!(
        group_page.contains("broker-a:0") && group_page.contains("10.0.0.7@billing-1"),
        "{group_page}"
    );
    let consumers = app.json("/api/v1/clusters/rocket/groups?sort=lag_seconds&dir=desc").await;
    assert_eq!(consumers["rows"][0]["name"], "billing", "{consumers}");

    // A test message with tag, keys and a property, to a chosen queue.
    let sent: serde_json::Value = app
        .http
        .post(format!("{}/api/v1/clusters/rocket/topics/orders/messages", app.base))
        .json(&json!({"value": "hello", "tag": "TagA", "key": "o-1 o-2",
                      "headers": [["source", "osprey"]], "partition": 1}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let result = &sent["results"][0];
    assert!(result["error"].is_null(), "{sent}");
    assert_eq!((result["partition"].as_i64(), result["offset"].as_i64()), (Some(1), Some(3)));
    assert!(result["message_id"].as_str().is_some_and(|id| !id.is_empty()), "{sent}");
    let pulled = peers
        .adapter()
        .remoting()
        .call(&peers.broker(), pull_request("billing", "orders", 1, 3, 1))
        .await
        .unwrap();
    let message = &decode_all(&pulled.body).unwrap()[0];
    assert_eq!(message.body, b"hello");
    assert_eq!(
        (message.properties["TAGS"].as_str(), message.properties["KEYS"].as_str()),
        ("TagA", "o-1 o-2")
    );
    assert_eq!(message.properties["source"], "osprey");
    let viewer = app.client_as("rocket-viewer", osprey::auth::Role::Viewer).await;
    let refused = viewer
        .post(format!("{}/api/v1/clusters/rocket/topics/orders/messages", app.base))
        .json(&json!({"value": "no"}))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);

    // The consumer catches up (the new message too): the incident resolves.
    peers.consume("billing", "orders", 0, 5).await;
    peers.consume("billing", "orders", 1, 4).await;
    eventually(Duration::from_secs(40), "the resolved webhooks", || async {
        Some((notice("billing-lag", "resolved")?, notice("billing-late", "resolved")?))
    })
    .await;
    assert_eq!(hook.bodies().len(), 4, "one firing and one resolved notice per rule");

    // The broker goes away: the cluster is down, with the reason.
    peers.stop_broker();
    let down = eventually(Duration::from_secs(30), "the cluster down", || async {
        let clusters = app.json("/api/v1/clusters").await;
        let rocket = clusters.as_array()?.iter().find(|c| c["name"] == "rocket")?.clone();
        (rocket["status"] == "down").then_some(rocket)
    })
    .await;
    // The name server drops the broker at once or after a moment (meanwhile the broker's own
    // address is named): either way the reason is shown.
    let error = down["error"].as_str().unwrap();
    assert!(error.contains("no broker is registered") || error.contains(&peers.broker()), "{down}");
    app.stop().await;
}
