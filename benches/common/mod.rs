//! Helpers shared by the benchmarks: a broker and an `osprey serve` of their own, timing and
//! memory readings. Run the benchmarks through `scripts/bench.sh`.
#![allow(dead_code)]

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use osprey::config::ClusterConfig;

pub fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set: run scripts/bench.sh"))
}

pub fn free_port() -> u16 {
    (21_000..32_000)
        .find(|p| std::net::TcpListener::bind(("127.0.0.1", *p)).is_ok())
        .expect("a free port")
}

pub struct Killed(pub Child);
impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn wait_port(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "port {port} never opened");
        std::thread::sleep(Duration::from_millis(50));
    }
}

pub fn start_broker(dir: &std::path::Path) -> (Killed, String) {
    let port = free_port();
    let child = Command::new(env("OSPREY_BENCH_NOIDA_BIN"))
        .args(["start", "--only", "kafka", "--host", "127.0.0.1", "--kafka-port"])
        .arg(port.to_string())
        .arg("--data-dir")
        .arg(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("noida-db starts");
    wait_port(port);
    (Killed(child), format!("127.0.0.1:{port}"))
}

pub fn cluster(name: &str, bootstrap: &str) -> ClusterConfig {
    ClusterConfig {
        poll_interval: Duration::from_secs(10),
        poll_timeout: Duration::from_secs(10),
        ..ClusterConfig::kafka(name, bootstrap)
    }
}

pub fn rss_mb(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0.0);
    kb / 1024.0
}

pub fn stats(mut samples: Vec<f64>) -> String {
    samples.sort_by(f64::total_cmp);
    let pick = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    format!(
        "median {:.1} ms, p95 {:.1} ms, min {:.1} ms, max {:.1} ms (n={})",
        pick(0.5),
        pick(0.95),
        pick(0.0),
        pick(1.0),
        samples.len()
    )
}

pub async fn get_ms(http: &reqwest::Client, url: &str) -> f64 {
    let started = Instant::now();
    let response = http.get(url).send().await.unwrap();
    assert!(response.status().is_success(), "{url}: {}", response.status());
    let _ = response.bytes().await.unwrap();
    started.elapsed().as_secs_f64() * 1000.0
}

pub fn start_osprey(dir: &std::path::Path, bootstrap: &str) -> (Killed, String) {
    let port = free_port();
    let config = dir.join("osprey.toml");
    std::fs::write(
        &config,
        format!(
            "[server]\nlisten = \"127.0.0.1:{port}\"\n[database]\nurl = \"sqlite://{}/osprey.db\"\n\
             [auth]\nanonymous_read = true\n\
             [[clusters]]\nname = \"bench\"\nkind = \"kafka\"\nbootstrap_servers = \"{bootstrap}\"\n\
             poll_interval = \"10s\"\npoll_timeout = \"10s\"\n",
            dir.display()
        ),
    )
    .unwrap();
    (serve(&config, port), format!("http://127.0.0.1:{port}"))
}

/// `osprey serve` on `config`, once it listens on `port`; warnings and errors to stderr.
pub fn serve(config: &std::path::Path, port: u16) -> Killed {
    let child = Command::new(env!("CARGO_BIN_EXE_osprey"))
        .args(["serve", "--config"])
        .arg(config)
        .env("OSPREY_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    wait_port(port);
    Killed(child)
}

pub async fn wait_polled(http: &reqwest::Client, base: &str, topics: usize) {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let body: serde_json::Value =
            http.get(format!("{base}/api/v1/clusters")).send().await.unwrap().json().await.unwrap();
        if body[0]["topics"].as_u64().is_some_and(|t| t as usize >= topics) {
            return;
        }
        assert!(Instant::now() < deadline, "never polled: {body}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// User + system CPU seconds of this process so far.
pub fn process_cpu_secs() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> =
        stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("").split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

/// Prints the round-trip time of each `(label, path)` of a running `osprey serve`: one warm-up,
/// then `n` requests.
pub async fn measure_paths(http: &reqwest::Client, base: &str, cases: &[(&str, &str)], n: usize) {
    for (label, path) in cases {
        let url = format!("{base}{path}");
        get_ms(http, &url).await;
        let mut samples = Vec::with_capacity(n);
        for _ in 0..n {
            samples.push(get_ms(http, &url).await);
        }
        println!("- {label}: **{}** (HTTP round trip on loopback)", stats(samples));
    }
}

/// Polls `adapter` `n` times after a first poll; returns the first poll, its wall time in ms,
/// and the wall and CPU milliseconds of the next `n`.
pub async fn time_polls(
    adapter: &impl osprey::brokers::ClusterAdapter,
    n: usize,
) -> (osprey::domain::ClusterSnapshot, f64, Vec<f64>, Vec<f64>) {
    let started = Instant::now();
    let first = adapter.snapshot(0).await.unwrap();
    let first_ms = started.elapsed().as_secs_f64() * 1000.0;
    let (mut walls, mut cpus) = (Vec::with_capacity(n), Vec::with_capacity(n));
    for _ in 0..n {
        let cpu = process_cpu_secs();
        let started = Instant::now();
        let snapshot = adapter.snapshot(0).await.unwrap();
        walls.push(started.elapsed().as_secs_f64() * 1000.0);
        cpus.push((process_cpu_secs() - cpu) * 1000.0);
        assert_eq!(snapshot.topics.len(), first.topics.len());
        assert_eq!(snapshot.groups.len(), first.groups.len());
    }
    (first, first_ms, walls, cpus)
}
