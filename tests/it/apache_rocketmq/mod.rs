//! Against Apache RocketMQ itself (from Maven Central, started by `scripts/peers.sh`): a name
//! server, two masters, a slave of broker-a and a proxy, driven by the real Java clients
//! (`scripts/rocketmq/Driver.java`, remoting and gRPC) and compared with `mqadmin`. The cluster
//! is shared by the run; each test has its own topics and groups, and a test that stops a broker
//! brings it back (these tests take turns, `.config/nextest.toml`).

mod acl;
mod canary;
mod clients;
mod failover;
mod mail;
mod messages;

use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use osprey::config::ClusterConfig;
use serde_json::Value;

use crate::helpers::*;

fn namesrv() -> String {
    peer("OSPREY_TEST_APACHE_ROCKETMQ_NAMESRV")
}

fn proxy() -> String {
    peer("OSPREY_TEST_APACHE_ROCKETMQ_PROXY")
}

/// Osprey watching a cluster through `namesrv`, and the proxy's remoting port for gRPC clients.
fn apache_rocket_cluster(name: &str, namesrv: &str) -> ClusterConfig {
    let mut cluster = ClusterConfig::rocketmq(name, namesrv);
    if let osprey::config::Connection::Rocketmq(rocket) = &mut cluster.connection {
        rocket.proxy_addrs = Some(peer("OSPREY_TEST_APACHE_ROCKETMQ_PROXY_REMOTING"));
    }
    cluster.poll_interval = Duration::from_secs(2);
    cluster.poll_timeout = Duration::from_secs(5);
    cluster
}

/// A RocketMQ name without the characters the servers refuse (`unique` adds a dash and digits).
fn rocket_name(prefix: &str) -> String {
    unique(prefix).replace(['.', ':'], "-")
}

/// One of the real Java clients, run by `Driver` (its own JVM). Its output lines (JSON) are kept
/// as they arrive; a consumer stays online until `stop` (or drop).
pub struct JavaClient {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Arc<Mutex<Vec<Value>>>,
    what: String,
    _home: tempfile::TempDir,
}

impl JavaClient {
    pub fn start(command: &str, args: &[&str]) -> JavaClient {
        let home = tempfile::tempdir().unwrap();
        let mut child = Command::new("java")
            .args(["-Xmx128m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"])
            .arg(format!("-Duser.home={}", home.path().display()))
            .arg("-cp")
            .arg(peer("OSPREY_TEST_APACHE_ROCKETMQ_JAVA_CP"))
            .arg("Driver")
            .arg(command)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("java runs");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let stdout = child.stdout.take().unwrap();
        let sink = lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Ok(value) = serde_json::from_str::<Value>(&line) {
                    sink.lock().unwrap().push(value);
                }
            }
        });
        let stdin = child.stdin.take();
        JavaClient {
            child,
            stdin,
            lines,
            what: format!("{command} {}", args.join(" ")),
            _home: home,
        }
    }

    pub fn lines(&self) -> Vec<Value> {
        self.lines.lock().unwrap().clone()
    }

    /// Waits for the first line with `key` (`done`, `started`), or fails if the client died.
    pub async fn wait_for(&mut self, key: &str, timeout: Duration) -> Value {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if let Some(line) = self.lines().into_iter().find(|l| l.get(key).is_some()) {
                return line;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("{} exited with {status} before saying {key}", self.what);
            }
            assert!(tokio::time::Instant::now() < deadline, "{} never said {key}", self.what);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Runs a client that finishes on its own (a producer) and returns its lines.
    pub async fn run(command: &str, args: &[&str]) -> Vec<Value> {
        let mut client = JavaClient::start(command, args);
        client.wait_for("done", Duration::from_secs(120)).await;
        client.stop();
        client.lines()
    }

    /// Closes standard input (the client shuts down cleanly), then waits for it.
    pub fn stop(&mut self) {
        drop(self.stdin.take());
        for _ in 0..100 {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for JavaClient {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What `mqadmin` prints: RocketMQ's own admin tool, the reference Osprey is compared with.
fn mqadmin(args: &[&str]) -> String {
    let output = Command::new("java")
        .args(["-Xmx128m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-cp"])
        .arg(peer("OSPREY_TEST_APACHE_ROCKETMQ_TOOLS_CP"))
        .env("ROCKETMQ_HOME", std::env::temp_dir())
        .arg("org.apache.rocketmq.tools.command.MQAdminStartup")
        .args(args)
        .output()
        .expect("java runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "mqadmin {args:?}: {stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// A topic with `queues` read and write queues on every master of the cluster.
fn create_topic(topic: &str, queues: u32) {
    let queues = queues.to_string();
    let out = mqadmin(&[
        "updateTopic",
        "-n",
        &namesrv(),
        "-c",
        "OspreyCluster",
        "-t",
        topic,
        "-r",
        &queues,
        "-w",
        &queues,
    ]);
    assert!(out.contains("create topic to") && out.contains("success"), "{out}");
}

/// Per queue (`broker:queue`), the lag `mqadmin consumerProgress` prints for a group on a topic
/// (named: without it, mqadmin fails on groups that have no retry topic, as POP groups).
fn lag_by_mqadmin(group: &str, topic: &str) -> Vec<(String, i64)> {
    let out = mqadmin(&["consumerProgress", "-n", &namesrv(), "-g", group, "-t", topic]);
    let mut lags: Vec<(String, i64)> = out
        .lines()
        .filter_map(|line| {
            // #Topic  #Broker Name  #QID  #Broker Offset  #Consumer Offset  …
            let fields: Vec<&str> = line.split_whitespace().collect();
            let qid: i64 = fields.get(2)?.parse().ok()?;
            let broker_offset: i64 = fields.get(3)?.parse().ok()?;
            let consumer_offset: i64 = fields.get(4)?.parse().ok()?;
            (!fields[0].starts_with('%'))
                .then(|| (format!("{}:{qid}", fields[1]), broker_offset - consumer_offset))
        })
        .collect();
    lags.sort();
    lags
}

/// Per queue (`broker:queue`), the lag Osprey's API shows for a group.
fn lag_by_osprey(detail: &Value) -> Vec<(String, i64)> {
    let mut lags = Vec::new();
    for topic in detail["group"]["topics"].as_array().into_iter().flatten() {
        let name = topic["topic"].as_str().unwrap_or_default();
        if name.starts_with('%') {
            continue;
        }
        let queues = &detail["rocket"]["topic_queues"][name];
        for partition in topic["partitions"].as_array().into_iter().flatten() {
            let queue = &queues[partition["partition"].as_u64().unwrap() as usize];
            let label = format!("{}:{}", queue["broker"].as_str().unwrap(), queue["queue_id"]);
            lags.push((label, partition["lag"].as_i64().unwrap_or(-1)));
        }
    }
    lags.sort();
    lags
}

/// The group's detail once Osprey shows `lag` messages behind in total.
async fn group_with_lag(app: &TestApp, cluster: &str, group: &str, lag: i64) -> Value {
    eventually(Duration::from_secs(60), &format!("{group} {lag} behind"), || async {
        let response = app.get(&format!("/api/v1/clusters/{cluster}/groups/{group}")).await;
        let detail: Value =
            response.status().is_success().then_some(response)?.json().await.ok()?;
        (detail["group"]["lag"] == lag).then_some(detail)
    })
    .await
}
