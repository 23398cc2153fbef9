//! Burrow (Debian's 1.2.1, LinkedIn's lag checker) and Osprey side by side on cluster K3 (Kafka
//! 3.9, ZooKeeper mode: Burrow's 2019 client predates Kafka 4): the same groups — healthy, slow,
//! stopped, rewound — judged by both. The verdicts go to `target/test-artefacts/burrow.md`, the
//! table BENCHMARKS.md records; where they must agree, the test says so.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use rdkafka::admin::{AdminOptions, NewTopic, TopicReplication};
use rdkafka::producer::FutureRecord;
use serde_json::Value;

use crate::helpers::*;

fn bootstrap() -> String {
    peer("OSPREY_TEST_KAFKA_ZK_BOOTSTRAP")
}

struct Burrow {
    child: Child,
    url: String,
    _dir: tempfile::TempDir,
}

impl Burrow {
    fn start() -> Burrow {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let servers: Vec<String> = bootstrap().split(',').map(|s| format!("\"{s}\"")).collect();
        let servers = servers.join(",");
        let zookeeper = peer("OSPREY_TEST_KAFKA_ZK_CONNECT");
        let (zookeeper, _) = zookeeper.split_once('/').unwrap();
        let root = unique("burrow");
        let config = format!(
            r#"
[general]
pidfile = "{dir}/burrow.pid"
[logging]
filename = "{dir}/burrow.log"
level = "info"
[zookeeper]
servers = ["{zookeeper}"]
root-path = "/{root}"
[client-profile.k3]
kafka-version = "2.0.0"
client-id = "burrow"
[cluster.k3]
class-name = "kafka"
servers = [{servers}]
client-profile = "k3"
topic-refresh = 10
offset-refresh = 2
[consumer.k3]
class-name = "kafka"
cluster = "k3"
servers = [{servers}]
client-profile = "k3"
offsets-topic = "__consumer_offsets"
start-latest = false
[httpserver.default]
address = "127.0.0.1:{port}"
[storage.default]
class-name = "inmemory"
intervals = 10
min-distance = 1
[evaluator.default]
class-name = "caching"
expire-cache = 1
"#,
            dir = dir.path().display()
        );
        std::fs::write(dir.path().join("burrow.toml"), config).unwrap();
        let child = Command::new(peer("OSPREY_TEST_BURROW"))
            .arg("--config-dir")
            .arg(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("burrow starts");
        Burrow { child, url: format!("http://127.0.0.1:{port}"), _dir: dir }
    }

    /// Burrow's status of `group`'s only partition: it lists partitions only when they are not
    /// OK, and otherwise gives the group's status.
    async fn status(&self, group: &str) -> Option<String> {
        let url = format!("{}/v3/kafka/k3/consumer/{group}/status", self.url);
        let body: Value = reqwest::get(url).await.ok()?.json().await.ok()?;
        let status = &body["status"];
        status["partitions"][0]["status"].as_str().or(status["status"].as_str()).map(str::to_owned)
    }
}

impl Drop for Burrow {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What each group does every two seconds while the producer sends 10 messages.
#[derive(Clone, Copy, Debug)]
enum Behaviour {
    /// Commits the end of the log.
    Healthy,
    /// Commits two messages further: lag grows by eight every round.
    Slow,
    /// Committed once, at the start, and never again.
    Stopped,
    /// Keeps up, then commits an offset behind the last one.
    Rewound,
}

#[tokio::test(flavor = "multi_thread")]
async fn burrow_and_osprey_judge_the_same_groups() {
    let topic = unique("judged");
    let new = NewTopic::new(&topic, 1, TopicReplication::Fixed(3));
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(20)));
    for result in admin(&bootstrap()).create_topics([&new], &options).await.expect("created") {
        result.expect("topic created");
    }
    let groups: Vec<(String, Behaviour)> =
        [Behaviour::Healthy, Behaviour::Slow, Behaviour::Stopped, Behaviour::Rewound]
            .into_iter()
            .map(|b| (unique(&format!("{b:?}").to_lowercase()), b))
            .collect();
    // Burrow finds `__consumer_offsets` only if it exists when it starts: a first commit makes it.
    crate::groups::commit(&bootstrap(), &unique("burrow-warm-up"), &[(&topic, 0, 0)]);
    let burrow = Burrow::start();
    let mut cluster = kafka_cluster("k3", &bootstrap());
    cluster.poll_interval = Duration::from_secs(2);
    cluster.poll_timeout = Duration::from_secs(2);
    let toml = "[lag]\nwindow = \"30s\"\nmin_samples = 5\n";
    let app = TestApp::from_toml(toml, vec![cluster]).await;

    let producer = producer(&bootstrap());
    let mut end: i64 = 0;
    let mut slow: i64 = 0;
    const ROUNDS: i64 = 25;
    for round in 0..ROUNDS {
        for _ in 0..10 {
            let record = FutureRecord::<str, str>::to(&topic).partition(0).payload("m");
            producer.send(record, Duration::from_secs(10)).await.expect("delivered");
            end += 1;
        }
        slow += 2;
        for (group, behaviour) in &groups {
            let offset = match behaviour {
                Behaviour::Healthy => Some(end),
                Behaviour::Slow => Some(slow),
                Behaviour::Stopped => (round == 0).then_some(end),
                Behaviour::Rewound if round == ROUNDS - 3 => Some(end - 25),
                Behaviour::Rewound => Some(end),
            };
            if let Some(offset) = offset {
                crate::groups::commit(&bootstrap(), group, &[(&topic, 0, offset)]);
            }
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }

    // Osprey judges a group once a poll after its last commit has seen it; on a loaded machine
    // that poll may still be running here (the group then reads NOTFOUND for a moment).
    // (CI once waited 30 s in vain on a loaded machine: the wait is longer now and says which
    // groups had no verdict and what the API answered for them.)
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let mut undecided = Vec::new();
        for (group, _) in &groups {
            let shown = app.json(&format!("/api/v1/clusters/k3/groups/{group}")).await;
            if shown["group"]["status"].as_str().is_none_or(|s| s == "NOTFOUND") {
                let answer = shown.to_string().chars().take(300).collect::<String>();
                undecided.push(format!("{group}: {answer}"));
            }
        }
        if undecided.is_empty() {
            break;
        }
        let summary = app.json("/api/v1/clusters/k3").await["summary"].to_string();
        assert!(
            tokio::time::Instant::now() < deadline,
            "no verdict from Osprey within 60 s for {undecided:#?}\ncluster: {summary}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let mut table = String::from("| group | behaviour | Burrow | Osprey |\n|---|---|---|---|\n");
    let mut verdicts = Vec::new();
    for (group, behaviour) in &groups {
        let burrow_says = burrow.status(group).await.unwrap_or_else(|| "NOTFOUND".into());
        let shown = app.json(&format!("/api/v1/clusters/k3/groups/{group}")).await;
        let osprey_says = shown["group"]["status"].as_str().unwrap_or("?").to_owned();
        table.push_str(&format!("| {group} | {behaviour:?} | {burrow_says} | {osprey_says} |\n"));
        verdicts.push((*behaviour, burrow_says, osprey_says));
    }
    std::fs::write(artefacts_dir().join("burrow.md"), &table).unwrap();
    println!("{table}");
    for (behaviour, burrow_says, osprey_says) in &verdicts {
        match behaviour {
            Behaviour::Healthy => {
                assert_eq!((burrow_says.as_str(), osprey_says.as_str()), ("OK", "OK"), "{table}")
            }
            Behaviour::Slow => assert_eq!(osprey_says, "WARN", "{table}"),
            Behaviour::Stopped => assert_eq!(osprey_says, "STOP", "{table}"),
            Behaviour::Rewound => assert_eq!(osprey_says, "REWIND", "{table}"),
        }
    }
    app.stop().await;
}
