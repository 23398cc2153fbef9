//! Several instances (issue 18): 30 clusters — three noida-db brokers of 200 topics × 4
//! partitions, each broker watched as ten clusters — polled every 10 s by 1, 2 and 3
//! `osprey serve` processes sharing one PostgreSQL. For each, after every cluster is up, over
//! two minutes: CPU seconds of each instance, the database's commits and inserted rows, the bytes
//! of published state, and page times on every instance.
//!
//! Run through `scripts/bench.sh scale-out` (it starts PostgreSQL and builds the broker venv).

mod common;

use std::time::{Duration, Instant};

use common::*;
use rdkafka::ClientConfig;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use sqlx::{Connection, Row};

const BROKERS: usize = 3;
const CLUSTERS_PER_BROKER: usize = 10;
const TOPICS: usize = 200;
const PARTITIONS: i32 = 4;
const WINDOW: Duration = Duration::from_secs(120);

async fn populate(bootstrap: &str) {
    let admin: AdminClient<DefaultClientContext> =
        ClientConfig::new().set("bootstrap.servers", bootstrap).create().unwrap();
    let names: Vec<String> = (0..TOPICS).map(|i| format!("topic-{i:04}")).collect();
    let new: Vec<NewTopic<'_>> =
        names.iter().map(|n| NewTopic::new(n, PARTITIONS, TopicReplication::Fixed(1))).collect();
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(60)));
    for result in admin.create_topics(&new, &options).await.unwrap() {
        result.unwrap();
    }
}

/// User + system CPU seconds of process `pid` so far.
fn cpu_secs(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> =
        stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("").split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

/// The database's commits and inserted rows so far, and the published states' bytes now.
async fn database_load(url: &str, name: &str) -> (i64, i64, i64) {
    let mut conn = sqlx::AnyConnection::connect(url).await.unwrap();
    let sql = format!(
        "SELECT CAST(xact_commit AS BIGINT), CAST(tup_inserted AS BIGINT) FROM pg_stat_database \
         WHERE datname = '{name}'"
    );
    let row = sqlx::query(&sql).fetch_one(&mut conn).await.unwrap();
    let bytes =
        sqlx::query("SELECT CAST(COALESCE(SUM(LENGTH(state)), 0) AS BIGINT) FROM cluster_states")
            .fetch_one(&mut conn)
            .await
            .map(|r| r.get::<i64, _>(0))
            .unwrap_or(0);
    (row.get(0), row.get(1), bytes)
}

fn start_instance(dir: &std::path::Path, name: &str, url: &str, clusters: &str) -> (Killed, u16) {
    let port = free_port();
    let config = dir.join(format!("{name}.toml"));
    std::fs::write(
        &config,
        format!(
            "[server]\nlisten = \"127.0.0.1:{port}\"\n[database]\nurl = \"{url}\"\n\
             max_connections = 5\n[auth]\nanonymous_read = true\n[scale_out]\nenabled = true\n\
             name = \"{name}\"\n{clusters}"
        ),
    )
    .unwrap();
    (serve(&config, port), port)
}

#[tokio::main]
async fn main() {
    sqlx::any::install_default_drivers();
    let admin_url = env("OSPREY_TEST_POSTGRES_URL");
    let dir = tempfile::tempdir().unwrap();
    let mut brokers = Vec::new();
    for b in 0..BROKERS {
        let data = dir.path().join(format!("broker-{b}"));
        std::fs::create_dir_all(&data).unwrap();
        let (broker, bootstrap) = start_broker(&data);
        populate(&bootstrap).await;
        brokers.push((broker, bootstrap));
    }
    let clusters: String = brokers
        .iter()
        .enumerate()
        .flat_map(|(b, (_, bootstrap))| {
            (0..CLUSTERS_PER_BROKER).map(move |c| {
                format!(
                    "[[clusters]]\nname = \"c{b}-{c}\"\nkind = \"kafka\"\n\
                     bootstrap_servers = \"{bootstrap}\"\npoll_interval = \"10s\"\n"
                )
            })
        })
        .collect();
    let total = BROKERS * CLUSTERS_PER_BROKER;
    let http = reqwest::Client::new();
    println!(
        "## Several instances — {total} clusters of {TOPICS} topics × {PARTITIONS} partitions \
         (three noida-db brokers), polled every 10 s, one PostgreSQL"
    );
    for instances in 1..=3usize {
        let name = format!("osprey_bench_{instances}_{}", std::process::id());
        let mut conn = sqlx::AnyConnection::connect(&admin_url).await.unwrap();
        sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut conn).await.unwrap();
        let url = format!("{}/{name}", admin_url.rsplit_once('/').unwrap().0);
        let running: Vec<(Killed, u16)> = (0..instances)
            .map(|i| start_instance(dir.path(), &format!("i{i}"), &url, &clusters))
            .collect();
        let bases: Vec<String> =
            running.iter().map(|(_, port)| format!("http://127.0.0.1:{port}")).collect();
        let deadline = Instant::now() + Duration::from_secs(180);
        loop {
            let all_up = async {
                let listed: serde_json::Value = http
                    .get(format!("{}/api/v1/clusters", bases[0]))
                    .send()
                    .await
                    .ok()?
                    .json()
                    .await
                    .ok()?;
                let rows = listed.as_array()?.clone();
                Some(rows.len() == total && rows.iter().all(|c| c["status"] == "up"))
            };
            if all_up.await == Some(true) {
                break;
            }
            assert!(Instant::now() < deadline, "the clusters never came up");
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        let cpu_before: Vec<f64> = running.iter().map(|(k, _)| cpu_secs(k.0.id())).collect();
        let (commits_before, rows_before, _) = database_load(&url, &name).await;
        tokio::time::sleep(WINDOW).await;
        let cpu: Vec<String> = running
            .iter()
            .zip(&cpu_before)
            .map(|((k, _), before)| format!("{:.1}", cpu_secs(k.0.id()) - before))
            .collect();
        let rss: Vec<String> =
            running.iter().map(|(k, _)| format!("{:.0}", rss_mb(k.0.id()))).collect();
        let (commits, rows, state_bytes) = database_load(&url, &name).await;
        let minutes = WINDOW.as_secs_f64() / 60.0;
        println!("\n### {instances} instance(s)");
        println!(
            "- CPU seconds per instance over {} s: {} (RSS MB: {})",
            WINDOW.as_secs(),
            cpu.join(", "),
            rss.join(", ")
        );
        println!(
            "- PostgreSQL: {:.0} commits/min, {:.0} rows inserted/min; published state of all {total} clusters: {:.1} kB ({:.0} bytes per partition)",
            (commits - commits_before) as f64 / minutes,
            (rows - rows_before) as f64 / minutes,
            state_bytes as f64 / 1024.0,
            state_bytes as f64 / (total * TOPICS * PARTITIONS as usize) as f64
        );
        for base in &bases {
            println!("- pages on {base}:");
            measure_paths(
                &http,
                base,
                &[
                    ("Overview", "/"),
                    ("Topics of a cluster", "/clusters/c1-3/topics"),
                    ("clusters API", "/api/v1/clusters"),
                ],
                20,
            )
            .await;
        }
        drop(running);
        tokio::time::sleep(Duration::from_secs(2)).await;
        sqlx::query(&format!("DROP DATABASE {name} WITH (FORCE)")).execute(&mut conn).await.ok();
    }
}
