//! Three `osprey serve` processes on one PostgreSQL (and one MariaDB) database watching six
//! clusters on the real beanstalkd: each cluster polled by exactly one instance and served by
//! all three, `kill -9` of a holder moving its clusters within two polls, a holder paused past
//! its lease (SIGSTOP) writing nothing when it wakes, a backlog alert that fires while its
//! cluster moves mailed exactly once, and a rolling restart that leaves no gap in history.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::Duration;

use serde_json::Value;
use sqlx::{Connection, Row};

use crate::alerts::{SmtpSink, mail_channel};
use crate::beanstalkd::Client;
use crate::helpers::*;
use crate::store::TempDatabase;

const POLL_SECS: i64 = 3;
const CLUSTERS: usize = 6;

/// One `osprey serve` process with a config of its own.
struct Instance {
    name: String,
    port: u16,
    config: PathBuf,
    log: PathBuf,
    child: Option<Child>,
}

/// `n` distinct free ports: each is held while the next is probed (two probes in the same
/// millisecond start from the same port).
fn distinct_ports(n: usize) -> Vec<u16> {
    let mut held = Vec::with_capacity(n);
    while held.len() < n {
        if let Ok(listener) = std::net::TcpListener::bind(("127.0.0.1", free_port())) {
            held.push(listener);
        }
    }
    held.iter().map(|l| l.local_addr().unwrap().port()).collect()
}

impl Instance {
    fn start(dir: &Path, name: &str, port: u16, database: &str, shared: &str) -> Instance {
        let config = format!(
            r#"
            [server]
            listen = "127.0.0.1:{port}"
            [database]
            url = "{database}"
            max_connections = 4
            [auth]
            anonymous_read = true
            [scale_out]
            enabled = true
            name = "{name}"
            lease_ttl = "{POLL_SECS}s"
            {shared}
            "#
        );
        Instance::launch(dir, name, port, &config)
    }

    /// Writes `config` as the instance's file and starts `osprey serve` on it.
    fn launch(dir: &Path, name: &str, port: u16, config: &str) -> Instance {
        let mut instance = Instance {
            name: name.to_owned(),
            port,
            config: write_config(dir, name, config),
            log: dir.join(format!("{name}.log")),
            child: None,
        };
        instance.spawn();
        instance
    }

    fn spawn(&mut self) {
        let log = std::fs::OpenOptions::new().create(true).append(true).open(&self.log).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_osprey"))
            .args(["serve", "--config"])
            .arg(&self.config)
            .env("OSPREY_LOG", "info")
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start osprey serve");
        self.child = Some(child);
    }

    fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    fn signal(&self, signal: &str) {
        let sent = Command::new("kill")
            .args([&format!("-{signal}"), &self.pid().to_string()])
            .status()
            .unwrap();
        assert!(sent.success(), "kill -{signal} {}", self.name);
    }

    fn kill_hard(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().unwrap();
            child.wait().unwrap();
        }
    }

    /// SIGTERM, then waits for the process to finish its shutdown.
    fn stop(&mut self) {
        self.signal("TERM");
        if let Some(mut child) = self.child.take() {
            let status = child.wait().unwrap();
            assert!(status.success(), "{} stopped cleanly: {status}\n{}", self.name, self.log());
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    async fn json(&self, path: &str) -> Option<Value> {
        reqwest::get(format!("{}{path}", self.base())).await.ok()?.json().await.ok()
    }

    async fn wait_serving(&self) {
        let health = format!("{}/healthz", self.base());
        for _ in 0..600 {
            if reqwest::get(&health).await.is_ok_and(|r| r.status().is_success()) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("{} is not serving after a minute:\n{}", self.name, self.log());
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("== {} ({})\n{}", self.name, self.log.display(), self.log());
        }
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill").args(["-CONT", &child.id().to_string()]).status();
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The test's view of the shared database.
struct Database {
    url: String,
}

impl Database {
    async fn connect(&self) -> sqlx::AnyConnection {
        sqlx::AnyConnection::connect(&self.url).await.expect("test connection")
    }

    async fn now(&self) -> i64 {
        let sql = if self.url.starts_with("postgres") {
            "SELECT CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT)"
        } else {
            "SELECT CAST(UNIX_TIMESTAMP(NOW(3)) * 1000 AS SIGNED)"
        };
        sqlx::query(sql).fetch_one(&mut self.connect().await).await.unwrap().get(0)
    }

    /// Who holds each unexpired lease, by the holder's instance name.
    async fn holders(&self) -> BTreeMap<String, String> {
        let now = self.now().await;
        let sql = format!(
            "SELECT l.name, i.name FROM leases l JOIN instances i ON i.id = l.holder \
             WHERE l.expires_at > {now}"
        );
        let rows = sqlx::query(&sql).fetch_all(&mut self.connect().await).await.unwrap();
        rows.iter().map(|r| (r.get(0), r.get(1))).collect()
    }

    /// Each cluster lease's epoch now (how many holders it has had).
    async fn epochs(&self) -> BTreeMap<String, i64> {
        let rows = sqlx::query("SELECT name, epoch FROM leases")
            .fetch_all(&mut self.connect().await)
            .await
            .unwrap();
        rows.iter().map(|r| (r.get::<String, _>(0).replace("cluster:", ""), r.get(1))).collect()
    }

    /// When `instance` took `lease`, if it holds it now.
    async fn acquired_by(&self, lease: &str, instance: &str) -> Option<i64> {
        let sql = format!(
            "SELECT l.acquired_at FROM leases l JOIN instances i ON i.id = l.holder \
             WHERE l.name = '{lease}' AND i.name = '{instance}'"
        );
        let row = sqlx::query(&sql).fetch_optional(&mut self.connect().await).await.unwrap();
        row.map(|r| r.get(0))
    }

    /// `cluster`'s polls since `from`: (time, the instance that polled).
    async fn polls(&self, cluster: &str, from: i64) -> Vec<(i64, String)> {
        let sql = format!(
            "SELECT ts, polled_by FROM cluster_samples WHERE cluster = '{cluster}' \
             AND ts >= {from} ORDER BY ts"
        );
        let rows = sqlx::query(&sql).fetch_all(&mut self.connect().await).await.unwrap();
        rows.iter().map(|r| (r.get(0), r.get::<Option<String>, _>(1).unwrap_or_default())).collect()
    }
}

fn cluster_names() -> Vec<String> {
    (0..CLUSTERS).map(|i| format!("s{i}")).collect()
}

fn clusters_toml(names: &[String]) -> String {
    let server = peer("OSPREY_TEST_BEANSTALKD");
    names
        .iter()
        .map(|name| {
            format!(
                r#"
                [[clusters]]
                name = "{name}"
                kind = "beanstalkd"
                servers = "{server}"
                poll_interval = "{POLL_SECS}s"
                "#
            )
        })
        .collect()
}

/// Waits until every cluster lease and the history lease has exactly one live holder among
/// `alive`; returns them.
async fn settled(db: &Database, alive: &[&str]) -> BTreeMap<String, String> {
    let wanted: BTreeSet<String> = cluster_names()
        .iter()
        .map(|c| format!("cluster:{c}"))
        .chain(["history".to_owned()])
        .collect();
    eventually(Duration::from_secs(60), "every lease held by a live instance", || async {
        let holders = db.holders().await;
        let covered =
            wanted.iter().all(|l| holders.get(l).is_some_and(|h| alive.contains(&h.as_str())));
        covered.then_some(holders)
    })
    .await
}

/// One writer per poll: every poll made by a named instance, and no more polls than intervals
/// plus one per lease hand-over (`new_epochs`: a cluster's new holder polls at once) — two
/// instances polling the cluster together would double them.
fn one_writer_per_poll(cluster: &str, polls: &[(i64, String)], new_epochs: i64) {
    assert!(polls.iter().all(|(_, by)| !by.is_empty()), "{cluster}: {polls:?}");
    if let (Some(first), Some(last)) = (polls.first(), polls.last()) {
        let poll = POLL_SECS * 1000;
        let intervals = (last.0 - first.0 + poll / 2) / poll;
        assert!(
            polls.len() as i64 <= intervals + 1 + new_epochs,
            "{cluster}: {} polls in {intervals} intervals with {new_epochs} new holders: {polls:?}",
            polls.len()
        );
    }
}

/// The longest time between two consecutive polls of `cluster` in `polls`.
fn longest_gap(polls: &[(i64, String)]) -> i64 {
    polls.windows(2).map(|p| p[1].0 - p[0].0).max().unwrap_or(0)
}

async fn three_instances_share_fail_over_and_alert_once(admin_var: &str) {
    let temp = TempDatabase::create(admin_var).await;
    let db = Database { url: temp.url.clone() };
    let dir = tempfile::tempdir().unwrap();
    let smtp = SmtpSink::start(None).await;
    let tube = unique("scaled");
    let shared = format!(
        r#"
        [alerts]
        group_wait = "0s"
        group_interval = "0s"
        allow_private_targets = true
        {channel}
        [[alerts.rules]]
        name = "scaled-backlog"
        kind = "queue_backlog"
        cluster = "s0"
        queue = "{tube}"
        threshold = 5
        for = "{hold}s"
        channels = ["mail"]
        {clusters}
        "#,
        channel = mail_channel("mail", smtp.port, None),
        hold = 2 * POLL_SECS,
        clusters = clusters_toml(&cluster_names()),
    );
    let ports = distinct_ports(3);
    let mut instances: Vec<Instance> = ["a", "b", "c"]
        .iter()
        .zip(ports)
        .map(|(n, port)| Instance::start(dir.path(), n, port, &temp.url, &shared))
        .collect();
    for instance in &instances {
        instance.wait_serving().await;
    }
    let started = db.now().await;
    let epochs_at_start = BTreeMap::<String, i64>::new();
    settled(&db, &["a", "b", "c"]).await;

    // Every instance serves every cluster, polled by one of them.
    for instance in &instances {
        let listed = eventually(Duration::from_secs(30), "every cluster up everywhere", || async {
            let clusters = instance.json("/api/v1/clusters").await?;
            let rows = clusters.as_array()?.clone();
            rows.iter().all(|c| c["status"] == "up" && c["polled_by"].is_string()).then_some(rows)
        })
        .await;
        assert_eq!(listed.len(), CLUSTERS);
        // A lease being handed over (a newcomer taking its share) is held by nobody for a moment.
        eventually(Duration::from_secs(30), "the Instances page lists cluster:s0", || async {
            let page = reqwest::get(format!("{}/instances", instance.base())).await.ok()?;
            let page = page.text().await.ok()?;
            (page.contains(r#"id="instances""#) && page.contains("cluster:s0")).then_some(())
        })
        .await;
    }
    eventually(
        Duration::from_secs(30),
        "/metrics names instance b and lease cluster:s0",
        || async {
            let metrics = reqwest::get(format!("{}/metrics", instances[0].base())).await.ok()?;
            let metrics = metrics.text().await.ok()?;
            (metrics.contains(r#"osprey_instance_alive{instance="b""#)
                && metrics.contains(r#"osprey_lease_epoch{lease="cluster:s0""#))
            .then_some(())
        },
    )
    .await;

    // The API says the same as the page, from any instance: three live instances.
    let api: serde_json::Value = reqwest::get(format!("{}/api/v1/instances", instances[2].base()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(api["scale_out"], true, "{api}");
    let alive = api["instances"].as_array().unwrap().iter().filter(|i| i["alive"] == true);
    assert_eq!(alive.count(), 3, "{api}");

    // Every instance serves data no older than one poll interval plus a second: followers read
    // the holder's published state on its notice. The three read at once; the best of a few
    // tries counts (a busy machine may delay one read).
    eventually(
        Duration::from_secs(30),
        "the three instances within a poll and a second",
        || async {
            let reads = instances.iter().map(|i| i.json("/api/v1/clusters/s1"));
            let times: Vec<i64> = futures::future::join_all(reads)
                .await
                .iter()
                .filter_map(|d| d.as_ref()?["summary"]["last_attempt_at"].as_i64())
                .collect();
            let spread = times.iter().max()? - times.iter().min()?;
            (times.len() == 3 && spread <= POLL_SECS * 1000 + 1000).then_some(())
        },
    )
    .await;

    tokio::time::sleep(Duration::from_secs(3 * POLL_SECS as u64)).await;
    for cluster in cluster_names() {
        let polls = db.polls(&cluster, started).await;
        assert!(polls.len() >= 2, "{cluster} is polled: {polls:?}");
        let new_epochs = db.epochs().await[&cluster] - epochs_at_start.get(&cluster).unwrap_or(&0);
        one_writer_per_poll(&cluster, &polls, new_epochs);
    }

    // A backlog on s0 goes pending; its holder dies before the hold is over; the next holder
    // continues the same incident and it is mailed once.
    let holders = settled(&db, &["a", "b", "c"]).await;
    let victim = holders["cluster:s0"].clone();
    Client::put(&tube, 6, &[]);
    eventually(Duration::from_secs(30), "the backlog seen", || async {
        let holder = instances.iter().find(|i| i.name == victim)?;
        let queues = holder.json(&format!("/api/v1/clusters/s0/queues?q={tube}")).await?;
        let rows = queues["rows"].as_array()?.clone();
        rows.iter().any(|r| r["name"] == tube.as_str() && r["messages_ready"] == 6).then_some(())
    })
    .await;
    let killed_at = db.now().await;
    let moved: Vec<String> = holders
        .iter()
        .filter(|(lease, holder)| **holder == victim && lease.starts_with("cluster:"))
        .map(|(lease, _)| lease.trim_start_matches("cluster:").to_owned())
        .collect();
    instances.iter_mut().find(|i| i.name == victim).unwrap().kill_hard();
    let alive: Vec<&str> = ["a", "b", "c"].into_iter().filter(|n| *n != victim).collect();
    let after = settled(&db, &alive).await;
    for cluster in &moved {
        let taken = eventually(Duration::from_secs(30), "a poll by the new holder", || async {
            let polls = db.polls(cluster, killed_at).await;
            polls.into_iter().find(|(_, by)| *by != victim)
        })
        .await;
        assert!(
            taken.0 - killed_at <= 2 * POLL_SECS * 1000,
            "{cluster} moved {} ms after the kill (two polls: {} ms); now held by {:?}",
            taken.0 - killed_at,
            2 * POLL_SECS * 1000,
            after.get(&format!("cluster:{cluster}"))
        );
        let polls = db.polls(cluster, started).await;
        assert!(
            longest_gap(&polls) <= 3 * POLL_SECS * 1000,
            "{cluster}: no gap beyond the kill's two polls: {polls:?}"
        );
    }
    let firing = |smtp: &SmtpSink| {
        smtp.messages()
            .into_iter()
            .filter(|(s, _)| s.contains("FIRING") && s.contains(&tube))
            .count()
    };
    for waited in 0.. {
        if firing(&smtp) > 0 {
            break;
        }
        let logs: Vec<String> =
            instances.iter().map(|i| format!("== {}\n{}", i.name, i.log())).collect();
        assert!(waited < 600, "no firing e-mail after a minute:\n{}", logs.join("\n"));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_secs(4 * POLL_SECS as u64)).await;
    assert_eq!(firing(&smtp), 1, "mailed exactly once: {:?}", smtp.messages());

    // A holder paused past its lease writes nothing stale when it wakes up.
    let holders = settled(&db, &alive).await;
    let sleeper = holders
        .iter()
        .find(|(lease, _)| lease.starts_with("cluster:"))
        .map(|(_, holder)| holder.clone())
        .unwrap();
    let sleeper_clusters: Vec<String> = holders
        .iter()
        .filter(|(lease, holder)| **holder == sleeper && lease.starts_with("cluster:"))
        .map(|(lease, _)| lease.trim_start_matches("cluster:").to_owned())
        .collect();
    let index = instances.iter().position(|i| i.name == sleeper && i.child.is_some()).unwrap();
    instances[index].signal("STOP");
    // After the signal: anything the sleeper stamped later was made after it woke up.
    let paused_at = db.now().await;
    let epochs_at_pause = db.epochs().await;
    let awake: Vec<&str> = alive.iter().copied().filter(|n| *n != sleeper).collect();
    settled(&db, &awake).await;
    for cluster in &sleeper_clusters {
        eventually(
            Duration::from_secs(30),
            "the paused holder's clusters polled by another",
            || async {
                let polls = db.polls(cluster, paused_at).await;
                polls.iter().any(|(_, by)| *by != sleeper).then_some(())
            },
        )
        .await;
    }
    instances[index].signal("CONT");
    tokio::time::sleep(Duration::from_secs(2 * POLL_SECS as u64)).await;
    for cluster in &sleeper_clusters {
        // Woken up, the sleeper may win its share back, but only under a new lease: none of
        // its polls after the pause is older than that lease.
        let polls = db.polls(cluster, paused_at).await;
        let regained = db.acquired_by(&format!("cluster:{cluster}"), &sleeper).await;
        let stale: Vec<_> = polls
            .iter()
            .filter(|(ts, by)| *by == sleeper && regained.is_none_or(|at| *ts < at))
            .collect();
        assert!(
            stale.is_empty(),
            "{cluster}: the paused holder wrote {stale:?} (lease regained at {regained:?})"
        );
        one_writer_per_poll(cluster, &polls, db.epochs().await[cluster] - epochs_at_pause[cluster]);
    }
    assert!(
        instances[index].log().contains("lease lost or given back"),
        "the woken instance saw it lost its leases:\n{}",
        instances[index].log()
    );

    // A rolling restart of the live instances: stop one, start it again, next.
    let rolling_from = db.now().await;
    let epochs_at_roll = db.epochs().await;
    let live: Vec<&str> = awake.iter().copied().chain([sleeper.as_str()]).collect();
    for instance in instances.iter_mut().filter(|i| i.child.is_some()) {
        instance.stop();
        instance.spawn();
        instance.wait_serving().await;
        settled(&db, &live).await;
    }
    for cluster in cluster_names() {
        let polls = db.polls(&cluster, rolling_from).await;
        one_writer_per_poll(
            &cluster,
            &polls,
            db.epochs().await[&cluster] - epochs_at_roll[&cluster],
        );
        assert!(
            longest_gap(&polls) <= 2 * POLL_SECS * 1000,
            "{cluster}: a rolling restart leaves no gap beyond two polls: {polls:?}"
        );
    }
    drop(instances);
    temp.drop_it().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn three_instances_on_postgresql_share_the_clusters_fail_over_and_alert_once() {
    three_instances_share_fail_over_and_alert_once("OSPREY_TEST_POSTGRES_URL").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn three_instances_on_mariadb_share_the_clusters_fail_over_and_alert_once() {
    three_instances_share_fail_over_and_alert_once("OSPREY_TEST_MYSQL_URL").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_process_on_one_sqlite_file_says_so_and_exits() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("osprey.db").display());
    let mut first = Instance::start_single(dir.path(), "first", &url);
    first.wait_serving().await;
    let second = Instance::start_single(dir.path(), "second", &url);
    let output = second.wait_exit();
    assert!(
        output.contains("another Osprey already uses the SQLite database"),
        "the second process says why: {output}"
    );
    assert!(reqwest::get(format!("{}/healthz", first.base())).await.unwrap().status().is_success());
    first.stop();

    let refused = Command::new(env!("CARGO_BIN_EXE_osprey"))
        .args(["check-config", "--config"])
        .arg(write_config(
            dir.path(),
            "sqlite-scaled",
            &format!("[database]\nurl = \"{url}\"\n[scale_out]\nenabled = true\n"),
        ))
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&refused.stderr).into_owned()
        + &String::from_utf8_lossy(&refused.stdout);
    assert!(!refused.status.success() && said.contains("scale_out.enabled"), "{said}");
}

fn write_config(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, text).unwrap();
    path
}

impl Instance {
    /// An instance alone on a SQLite file (no scale-out).
    fn start_single(dir: &Path, name: &str, database: &str) -> Instance {
        let port = free_port();
        let config =
            format!("[server]\nlisten = \"127.0.0.1:{port}\"\n[database]\nurl = \"{database}\"\n");
        Instance::launch(dir, name, port, &config)
    }

    /// Waits (at most a minute) for the process to exit by itself; its log.
    fn wait_exit(mut self) -> String {
        let mut child = self.child.take().expect("running");
        for _ in 0..600 {
            if let Some(status) = child.try_wait().unwrap() {
                assert!(!status.success(), "it refuses to run");
                return self.log();
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = child.kill();
        panic!("still running:\n{}", self.log());
    }
}
