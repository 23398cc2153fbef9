//! A slave and then a master of the real cluster stop and come back: each shows down by its own
//! address, `broker_down` fires and resolves for each, the topic's route drops the stopped
//! master, and the group's lag alert keeps its incident and follows the lag on the master left.

use std::process::Command;
use std::time::Duration;

use serde_json::Value;

use super::*;
use crate::alerts::{Receiver, hook_channel};

/// Stops or starts one broker (`a0`, `b0`, `a1`) of the shared cluster through
/// `scripts/rocketmq.sh`.
fn rocketmq_broker(action: &str, name: &str) {
    let status = Command::new("bash")
        .arg(peer("OSPREY_TEST_APACHE_ROCKETMQ_SCRIPT"))
        .arg(action)
        .arg(peer("OSPREY_TEST_APACHE_ROCKETMQ_DIR"))
        .arg(name)
        .status()
        .expect("bash runs");
    assert!(status.success(), "{action} {name}");
}

/// Brings a stopped broker back even when the test fails half-way, for the tests after it.
struct Stopped(&'static str);

impl Stopped {
    fn broker(name: &'static str) -> Stopped {
        rocketmq_broker("stop-broker", name);
        Stopped(name)
    }
}

impl Drop for Stopped {
    fn drop(&mut self) {
        rocketmq_broker("start-broker", self.0);
    }
}

/// Ports of the brokers Osprey shows down.
async fn down_ports(app: &TestApp) -> Vec<i64> {
    let detail = app.json("/api/v1/clusters/rmqf").await;
    let mut ports: Vec<i64> = detail["brokers"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["up"] == false)
        .map(|b| b["port"].as_i64().unwrap())
        .collect();
    ports.sort();
    ports
}

async fn firing(app: &TestApp) -> Vec<(String, String)> {
    let alerts = app.json("/api/v1/alerts").await;
    let mut firing: Vec<(String, String)> = alerts["firing"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (i["rule"].as_str().unwrap().to_owned(), i["summary"].as_str().unwrap().to_owned())
        })
        .collect();
    firing.sort();
    firing
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stopped_slave_and_master_show_down_by_address_and_lag_alerts_keep_working() {
    let (topic, group) = (rocket_name("routed"), rocket_name("follower"));
    create_topic(&topic, 2);
    let namesrv = namesrv();
    JavaClient::run("produce", &["--namesrv", &namesrv, "--topic", &topic, "--count", "8"]).await;
    let mut consumer = JavaClient::start(
        "push",
        &["--namesrv", &namesrv, "--topic", &topic, "--group", &group, "--count", "8"],
    );
    consumer.wait_for("done", Duration::from_secs(90)).await;
    consumer.stop();
    // One message behind on each of the four queues (two per master).
    JavaClient::run("produce", &["--namesrv", &namesrv, "--topic", &topic, "--count", "4"]).await;

    let hook = Receiver::start().await;
    let rules = format!(
        r#"
        [[alerts.rules]]
        name = "broker-down"
        kind = "broker_down"
        cluster = "rmqf"
        for = "0s"
        channels = ["hook"]

        [[alerts.rules]]
        name = "lagging"
        kind = "consumer_lag"
        cluster = "rmqf"
        group = "{group}"
        threshold = 1
        for = "0s"
        channels = ["hook"]
        "#
    );
    let toml = format!("{}{rules}", hook_channel("hook", &hook.url));
    let app = TestApp::from_toml(&toml, vec![apache_rocket_cluster("rmqf", &namesrv)]).await;
    group_with_lag(&app, "rmqf", &group, 4).await;
    eventually(Duration::from_secs(30), "only the lag alert firing", || async {
        let firing = firing(&app).await;
        (firing.len() == 1 && firing[0].0 == "lagging").then_some(())
    })
    .await;
    let (a1, b0) = (peer_port("a1"), peer_port("b0"));

    // The slave stops: it alone shows down, and broker_down names its address.
    let slave = Stopped::broker("a1");
    eventually(Duration::from_secs(60), "the slave down", || async {
        (down_ports(&app).await == [a1]).then_some(())
    })
    .await;
    let down = eventually(Duration::from_secs(30), "broker_down firing", || async {
        firing(&app).await.into_iter().find(|(rule, _)| rule == "broker-down")
    })
    .await;
    assert!(down.1.contains(&a1.to_string()), "{down:?}");

    // A master stops too: its queues leave the route, the lag alert stays firing (one incident)
    // and follows the lag on broker-a as it grows.
    let master = Stopped::broker("b0");
    let mut both = vec![a1, b0];
    both.sort();
    eventually(Duration::from_secs(60), "the master down too", || async {
        (down_ports(&app).await == both).then_some(())
    })
    .await;
    let route = eventually(Duration::from_secs(60), "broker-b out of the route", || async {
        let detail = app.json(&format!("/api/v1/clusters/rmqf/topics/{topic}")).await;
        let route = detail["rocket"]["route"].as_array()?.clone();
        (route.len() == 1).then_some(route)
    })
    .await;
    assert_eq!(route[0]["broker"], "broker-a", "{route:?}");
    JavaClient::run("produce", &["--namesrv", &namesrv, "--topic", &topic, "--count", "6"]).await;
    let detail = eventually(Duration::from_secs(60), "broker-a's lag grown by 6", || async {
        let detail = app.json(&format!("/api/v1/clusters/rmqf/groups/{group}")).await;
        let on_a: i64 = lag_by_osprey(&detail)
            .iter()
            .filter(|(queue, _)| queue.starts_with("broker-a:"))
            .map(|(_, lag)| lag)
            .sum();
        (on_a == 8).then_some(detail)
    })
    .await;
    assert!(detail["group"]["lag"].as_i64().unwrap() >= 8, "{}", detail["group"]);
    let lag_notices = |status: &str| {
        hook.bodies()
            .into_iter()
            .filter(|b| b["rule"] == "lagging" && b["status"] == status)
            .count()
    };
    assert_eq!((lag_notices("firing"), lag_notices("resolved")), (1, 0), "{:?}", hook.bodies());

    drop(master);
    drop(slave);
    eventually(Duration::from_secs(120), "every broker back, broker_down resolved", || async {
        let back = down_ports(&app).await.is_empty();
        let firing = firing(&app).await;
        (back && firing.iter().all(|(rule, _)| rule != "broker-down")).then_some(())
    })
    .await;
    let notices: Vec<Value> =
        hook.bodies().into_iter().filter(|b| b["rule"] == "broker-down").collect();
    // Alerts told, not bodies: two brokers coming back in one round are one grouped notice.
    let count = |status: &str| {
        let alerts =
            notices.iter().flat_map(|b| b["alerts"].as_array().cloned().unwrap_or_default());
        alerts.filter(|a| a["status"] == status).count()
    };
    assert_eq!((count("firing"), count("resolved")), (2, 2), "{notices:?}");
    app.stop().await;
}

/// The port broker `name` (`a0`, `b0`, `a1`) listens on, from the cluster's start-up file.
fn peer_port(name: &str) -> i64 {
    let config = std::path::Path::new(&peer("OSPREY_TEST_APACHE_ROCKETMQ_DIR"))
        .join(name)
        .join("broker.conf");
    let text = std::fs::read_to_string(&config).expect("broker.conf");
    let line = text.lines().find(|l| l.starts_with("listenPort=")).expect("listenPort");
    line["listenPort=".len()..].parse().unwrap()
}
