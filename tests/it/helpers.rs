//! Test fixtures: brokers started per test, the app on 127.0.0.1:0, fresh databases, polling.

use std::future::Future;
use std::net::{SocketAddr, TcpListener as StdListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use osprey::app::Running;
use osprey::auth::Role;
use osprey::config::{ClusterConfig, Config};
use osprey::secret::Secret;
use rdkafka::ClientConfig;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::producer::{FutureProducer, FutureRecord};
use serde_json::Value;

/// Runs each scenario once against noida-db and once against tansu.
macro_rules! on_both_brokers {
    ($($scenario:ident),* $(,)?) => {
        mod noida {
            $(#[tokio::test(flavor = "multi_thread")]
            async fn $scenario() {
                super::$scenario(crate::helpers::BrokerKind::Noida).await
            })*
        }
        mod tansu {
            $(#[tokio::test(flavor = "multi_thread")]
            async fn $scenario() {
                super::$scenario(crate::helpers::BrokerKind::Tansu).await
            })*
        }
    };
}

/// A peer address or binary the provisioning script exports; tests cannot run without it.
pub fn peer(var: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| {
        panic!(
            "{var} is not set: run the tests through scripts/test.sh, which starts the real peers"
        )
    })
}

/// A free port below 32768 (the ephemeral range starts there), probed from a random start so
/// parallel tests rarely race for the same one.
pub fn free_port() -> u16 {
    let start = 20_000 + (std::process::id() as u16 % 97) * 100 + fastrand_u16(100);
    (0..12_000u16)
        .map(|i| 20_000 + (start - 20_000 + i) % 12_000)
        .find(|p| StdListener::bind(("127.0.0.1", *p)).is_ok())
        .expect("no free port between 20000 and 32000")
}

fn fastrand_u16(below: u16) -> u16 {
    let nanos = ((osprey::clock::now_millis() % 1000) as u32 * 1_000_003) ^ std::process::id();
    (nanos % u32::from(below)) as u16
}

/// A short unique suffix for database, topic and file names.
pub fn unique(prefix: &str) -> String {
    // Tests sharing a process (`cargo test`) within one millisecond differ by the counter.
    static MADE: std::sync::atomic::AtomicU16 = std::sync::atomic::AtomicU16::new(0);
    let made = MADE.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let suffix = fastrand_u16(60_000).wrapping_add(made.wrapping_mul(7)) % 60_000;
    format!("{prefix}_{}_{suffix}", std::process::id())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BrokerKind {
    Noida,
    Tansu,
}

/// A Kafka-protocol broker process of this test's own, killed on drop.
pub struct Broker {
    pub kind: BrokerKind,
    pub port: u16,
    child: Option<Child>,
    data_dir: tempfile::TempDir,
}

impl Broker {
    pub async fn start(kind: BrokerKind) -> Broker {
        let port = free_port();
        let data_dir = tempfile::tempdir().unwrap();
        let mut broker = Broker { kind, port, child: None, data_dir };
        broker.spawn().await;
        broker
    }

    async fn spawn(&mut self) {
        let port = self.port.to_string();
        let mut command = match self.kind {
            BrokerKind::Noida => {
                let mut c = Command::new(peer("OSPREY_TEST_NOIDA_BIN"));
                c.args([
                    "start",
                    "--only",
                    "kafka",
                    "--host",
                    "127.0.0.1",
                    "--kafka-port",
                    &port,
                    "--data-dir",
                ])
                .arg(self.data_dir.path());
                c
            }
            BrokerKind::Tansu => {
                let url = format!("tcp://127.0.0.1:{port}");
                let mut c = Command::new(peer("OSPREY_TEST_TANSU_BIN"));
                c.args(["broker", "--listener-url", &url, "--advertised-listener-url", &url])
                    .args(["--storage-engine", "memory://tansu/"]);
                c
            }
        };
        let log = std::fs::File::create(self.data_dir.path().join("broker.log")).unwrap();
        let child = command
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("broker binary starts");
        self.child = Some(child);
        let addr: SocketAddr = format!("127.0.0.1:{}", self.port).parse().unwrap();
        let log_path = self.data_dir.path().join("broker.log");
        let child = self.child.as_mut().unwrap();
        eventually(Duration::from_secs(20), "broker listening", || {
            let exited = child.try_wait().ok().flatten();
            if let Some(status) = exited {
                let log = std::fs::read_to_string(&log_path).unwrap_or_default();
                panic!("the broker exited ({status}) before listening:\n{log}");
            }
            let connected = TcpStream::connect_timeout(&addr, Duration::from_millis(200)).ok();
            async move { connected }
        })
        .await;
    }

    pub fn bootstrap(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Freezes (`STOP`) or thaws (`CONT`) the broker process: it keeps its sockets, so
    /// connections are accepted by the kernel and never answered.
    pub fn signal(&self, signal: &str) {
        let pid = self.child.as_ref().expect("a running broker").id().to_string();
        let sent = Command::new("kill").args([&format!("-{signal}"), &pid]).status().unwrap();
        assert!(sent.success(), "kill -{signal} {pid}");
    }

    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the broker again on the same port (noida keeps its data directory). tansu does
    /// not set SO_REUSEADDR, so it can only bind once the old sockets left TIME_WAIT (≈ 60 s).
    pub async fn restart(&mut self) {
        self.stop();
        let port = self.port;
        if self.kind == BrokerKind::Tansu {
            eventually(
                Duration::from_secs(120),
                "the broker port to leave TIME_WAIT",
                || async move { (!port_in_use(port)).then_some(()) },
            )
            .await;
        }
        self.spawn().await;
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Whether any TCP socket (listening, connected or in TIME_WAIT) still holds `port` locally.
/// `bind` from std cannot tell: it sets SO_REUSEADDR, which a broker may not.
fn port_in_use(port: u16) -> bool {
    let table = std::fs::read_to_string("/proc/net/tcp").unwrap_or_default();
    let needle = format!(":{port:04X} ");
    table.lines().skip(1).any(|line| {
        line.split_whitespace().nth(1).is_some_and(|local| format!("{local} ").ends_with(&needle))
    })
}

/// Polls `check` every 200 ms until it returns `Some`, failing the test after `timeout`.
pub async fn eventually<T, F, Fut>(timeout: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        if tokio::time::Instant::now() > deadline {
            panic!("timed out after {timeout:?} waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

pub fn kafka_cluster(name: &str, bootstrap: &str) -> ClusterConfig {
    ClusterConfig {
        poll_interval: Duration::from_secs(1),
        poll_timeout: Duration::from_secs(1),
        ..ClusterConfig::kafka(name, bootstrap)
    }
}

/// A config with a fresh SQLite file of its own.
/// Notices told the round they are decided (no group wait or interval), as most tests expect,
/// unless the test's `toml` sets grouping itself.
pub fn told_at_once(config: &mut Config, toml: &str) {
    if !toml.contains("group_wait") {
        config.alerts.group_wait = Duration::ZERO;
        config.alerts.group_interval = Duration::ZERO;
    }
}

/// [`sqlite_config`] with what `toml` says (alert rules and channels, say) on top.
pub fn toml_config(dir: &tempfile::TempDir, toml: &str, clusters: Vec<ClusterConfig>) -> Config {
    let mut config = Config::from_toml_str(toml).expect("the test's config is valid");
    told_at_once(&mut config, toml);
    let base = sqlite_config(dir, clusters);
    config.database = base.database;
    config.clusters = base.clusters;
    config.auth.anonymous_read = base.auth.anonymous_read;
    config.alerts.allow_private_targets = base.alerts.allow_private_targets;
    config
}

pub fn sqlite_config(dir: &tempfile::TempDir, clusters: Vec<ClusterConfig>) -> Config {
    let mut config = Config::default();
    told_at_once(&mut config, "");
    config.database.url =
        Secret::new(format!("sqlite://{}", dir.path().join("osprey.db").display()));
    config.clusters = clusters;
    // Most tests look at pages as a reader would; access control has its own tests.
    config.auth.anonymous_read = true;
    // The tests' SMTP sinks and webhook receivers listen on loopback.
    config.alerts.allow_private_targets = true;
    config
}

pub struct TestApp {
    pub base: String,
    pub http: reqwest::Client,
    running: Option<Running>,
    _dir: Option<tempfile::TempDir>,
}

impl TestApp {
    /// The app on 127.0.0.1:0. Its `http` client acts as an admin (an API token of user
    /// `it-admin`); [`TestApp::anonymous`] is a client without one.
    pub async fn spawn(config: Config) -> TestApp {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let running = osprey::app::start(config, listener).await.expect("app starts");
        let token = TestApp::token_for(&running, "it-admin", Role::Admin).await;
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(reqwest::header::AUTHORIZATION, format!("Bearer {token}").parse().unwrap());
        TestApp {
            base: format!("http://{}", running.addr),
            http: reqwest::Client::builder().default_headers(headers).build().unwrap(),
            running: Some(running),
            _dir: None,
        }
    }

    /// Creates user `name` with `role` and returns an API token acting as them.
    async fn token_for(running: &Running, name: &str, role: Role) -> String {
        let now = osprey::clock::now_millis();
        match running.auth.create_user(name, "integration-test-password", role, now).await {
            Ok(()) | Err(osprey::auth::AuthError::UserExists(_)) => {}
            Err(e) => panic!("cannot create user {name}: {e}"),
        }
        running.auth.create_token(name, "tests", now).await.unwrap().1
    }

    /// A client that acts as a new user with `role`.
    pub async fn client_as(&self, name: &str, role: Role) -> reqwest::Client {
        let running = self.running.as_ref().unwrap();
        let token = TestApp::token_for(running, name, role).await;
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(reqwest::header::AUTHORIZATION, format!("Bearer {token}").parse().unwrap());
        reqwest::Client::builder().default_headers(headers).build().unwrap()
    }

    /// A client with no credentials that does not follow redirects.
    pub fn anonymous(&self) -> reqwest::Client {
        reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
    }

    /// The app configured by `toml` (alert rules and channels, say) with a fresh SQLite
    /// database, polling `clusters`; pages open without a login.
    pub async fn from_toml(toml: &str, clusters: Vec<ClusterConfig>) -> TestApp {
        let dir = tempfile::tempdir().unwrap();
        let mut app = TestApp::spawn(toml_config(&dir, toml, clusters)).await;
        app._dir = Some(dir);
        app
    }

    /// The app with a fresh SQLite database, polling `clusters`.
    pub async fn with_clusters(clusters: Vec<ClusterConfig>) -> TestApp {
        let dir = tempfile::tempdir().unwrap();
        let mut app = TestApp::spawn(sqlite_config(&dir, clusters)).await;
        app._dir = Some(dir);
        app
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.http.get(format!("{}{path}", self.base)).send().await.unwrap()
    }

    pub async fn json(&self, path: &str) -> Value {
        let response = self.get(path).await;
        assert!(response.status().is_success(), "GET {path}: {}", response.status());
        response.json().await.unwrap()
    }

    /// `method` on `path` as the admin with a JSON `body`: the status and the JSON answer
    /// (`null` when there is none).
    pub async fn call(&self, method: reqwest::Method, path: &str, body: Value) -> (u16, Value) {
        let url = format!("{}{path}", self.base);
        let response = self.http.request(method, url).json(&body).send().await.unwrap();
        (response.status().as_u16(), response.json().await.unwrap_or(Value::Null))
    }

    pub async fn html(&self, path: &str) -> String {
        let response = self.get(path).await;
        assert!(response.status().is_success(), "GET {path}: {}", response.status());
        response.text().await.unwrap()
    }

    /// The body of `path` as a reader who asks for Chinese gets it, whatever its status.
    pub async fn text_in_chinese(&self, path: &str) -> String {
        let request = self.http.get(format!("{}{path}", self.base));
        let response = request.header("Accept-Language", "zh-CN,zh;q=0.9").send().await.unwrap();
        response.text().await.unwrap()
    }

    pub async fn stop(mut self) {
        if let Some(running) = self.running.take() {
            running.stop().await.unwrap();
        }
    }
}

pub fn admin(bootstrap: &str) -> AdminClient<DefaultClientContext> {
    ClientConfig::new().set("bootstrap.servers", bootstrap).create().unwrap()
}

pub async fn create_topics(bootstrap: &str, topics: &[(&str, i32)]) {
    let new: Vec<NewTopic<'_>> = topics
        .iter()
        .map(|(name, parts)| NewTopic::new(name, *parts, TopicReplication::Fixed(1)))
        .collect();
    let results = admin(bootstrap)
        .create_topics(&new, &AdminOptions::new().operation_timeout(Some(Duration::from_secs(10))))
        .await
        .expect("create topics");
    for result in results {
        result.expect("topic created");
    }
}

pub fn producer(bootstrap: &str) -> FutureProducer {
    ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("linger.ms", "0")
        .set("message.timeout.ms", "10000")
        .create()
        .unwrap()
}

/// Sends `count` messages to one partition, each awaited before the next, so every record is
/// its own batch.
pub async fn produce_one_by_one(bootstrap: &str, topic: &str, partition: i32, count: usize) {
    let producer = producer(bootstrap);
    for i in 0..count {
        let payload = format!("message {i}");
        producer
            .send(
                FutureRecord::<str, str>::to(topic).partition(partition).payload(&payload),
                Duration::from_secs(10),
            )
            .await
            .expect("message delivered");
    }
}

/// Where tests put screenshots and other artefacts a person may want to look at.
pub fn artefacts_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/test-artefacts");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The `(topic, partition, offset)` targets of a reset preview, as the reset API takes them to
/// apply exactly what was shown.
pub fn previewed_offsets(preview: &Value) -> Vec<Value> {
    preview["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| serde_json::json!([c["topic"], c["partition"], c["new"]]))
        .collect()
}
