//! The fault suite: real peers made to fail — a database cut off mid-run — and what Osprey
//! keeps doing meanwhile and afterwards.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use osprey::secret::Secret;
use sqlx::Connection as _;

use crate::helpers::*;
use crate::store::TempDatabase;

/// A TCP relay to a real server that can be cut: every open connection is reset and new ones
/// are closed as soon as they are accepted, as when the server's host goes away.
struct Cuttable {
    port: u16,
    open: Arc<AtomicBool>,
    relays: Arc<Mutex<Vec<tokio::task::AbortHandle>>>,
}

impl Cuttable {
    async fn start(upstream: String) -> Cuttable {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let open = Arc::new(AtomicBool::new(true));
        let relays: Arc<Mutex<Vec<tokio::task::AbortHandle>>> = Arc::default();
        let (accepting, tracked) = (open.clone(), relays.clone());
        tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                if !accepting.load(Ordering::SeqCst) {
                    continue; // dropped: closed at once
                }
                let upstream = upstream.clone();
                let relay = tokio::spawn(async move {
                    if let Ok(mut server) = tokio::net::TcpStream::connect(&upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
                tracked.lock().unwrap().push(relay.abort_handle());
            }
        });
        Cuttable { port, open, relays }
    }

    fn cut(&self) {
        self.open.store(false, Ordering::SeqCst);
        for relay in self.relays.lock().unwrap().drain(..) {
            relay.abort();
        }
    }

    fn restore(&self) {
        self.open.store(true, Ordering::SeqCst);
    }
}

/// `url` with its host and port replaced by the relay's, and the original `host:port`.
fn through(url: &str, port: u16) -> (String, String) {
    let parsed = url::Url::parse(url).unwrap();
    let upstream = format!("{}:{}", parsed.host_str().unwrap(), parsed.port().unwrap());
    let mut relayed = parsed.clone();
    relayed.set_host(Some("127.0.0.1")).unwrap();
    relayed.set_port(Some(port)).unwrap();
    (relayed.to_string(), upstream)
}

/// Every poll time of `cluster` in the database, oldest first.
async fn poll_times(url: &str, cluster: &str) -> Vec<i64> {
    let mut conn = sqlx::AnyConnection::connect(url).await.unwrap();
    let rows: Vec<(i64,)> = sqlx::query_as(&format!(
        "SELECT ts FROM cluster_samples WHERE cluster = '{cluster}' ORDER BY ts"
    ))
    .fetch_all(&mut conn)
    .await
    .unwrap();
    rows.into_iter().map(|(ts,)| ts).collect()
}

async fn a_database_outage_loses_no_poll(admin_var: &str) {
    let db = TempDatabase::create(admin_var).await;
    let broker = Broker::start(BrokerKind::Noida).await;
    create_topics(&broker.bootstrap(), &[("outage", 1)]).await;
    // The relay learns the server's address from the URL; Osprey connects through it.
    let (_, upstream) = through(&db.url, 1);
    let relay = Cuttable::start(upstream).await;
    let (relayed_url, _) = through(&db.url, relay.port);
    let mut config = osprey::config::Config::default();
    config.database.url = Secret::new(relayed_url);
    config.auth.anonymous_read = true;
    let mut cluster = kafka_cluster("outage", &broker.bootstrap());
    cluster.poll_interval = Duration::from_secs(1);
    config.clusters = vec![cluster];
    let app = TestApp::spawn(config).await;
    eventually(Duration::from_secs(30), "history before the outage", || async {
        (poll_times(&db.url, "outage").await.len() >= 3).then_some(())
    })
    .await;

    // An operator has Osprey open: their login was checked before the outage.
    app.json("/api/v1/clusters").await;
    relay.cut();
    let cut_at = osprey::clock::now_millis();
    // While the database is away: readiness says so, the live state still serves, and what
    // needs the database answers 503 in a few seconds instead of hanging.
    let ready = app.get("/readyz").await;
    assert_eq!(ready.status(), reqwest::StatusCode::SERVICE_UNAVAILABLE);
    let live = app.json("/api/v1/clusters").await;
    assert!(live.to_string().contains("outage"), "{live}");
    assert_eq!(app.get("/").await.status(), reqwest::StatusCode::OK, "the overview is live state");
    let started = std::time::Instant::now();
    let (status, detail) =
        app.call(reqwest::Method::GET, "/api/v1/clusters/outage", serde_json::Value::Null).await;
    assert_eq!(status, 503, "{detail}");
    assert_eq!(detail["error"]["code"], "store_unavailable", "{detail}");
    assert!(started.elapsed() < Duration::from_secs(15), "{:?}", started.elapsed());
    tokio::time::sleep(Duration::from_secs(30)).await;
    let restored_at = osprey::clock::now_millis();
    relay.restore();

    // The polls taken during the outage reach the database after it: no hole in the history.
    let times = eventually(Duration::from_secs(60), "the held polls written", || async {
        let times = poll_times(&db.url, "outage").await;
        times.iter().any(|t| *t > restored_at + 2_000).then_some(times)
    })
    .await;
    let during: Vec<i64> =
        times.iter().copied().filter(|t| (cut_at..restored_at).contains(t)).collect();
    assert!(during.len() >= 25, "{} polls of the 30 s outage stored: {during:?}", during.len());
    let widest_gap = times.windows(2).map(|w| w[1] - w[0]).max().unwrap_or(0);
    assert!(widest_gap < 5_000, "a {widest_gap} ms hole in the history");
    assert_eq!(app.get("/readyz").await.status(), reqwest::StatusCode::OK);
    app.stop().await;
    db.drop_it().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_postgres_outage_loses_no_poll() {
    a_database_outage_loses_no_poll("OSPREY_TEST_POSTGRES_URL").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_mariadb_outage_loses_no_poll() {
    a_database_outage_loses_no_poll("OSPREY_TEST_MYSQL_URL").await;
}

/// The live summary of `cluster` from the cluster list.
async fn summary(app: &TestApp, cluster: &str) -> serde_json::Value {
    let list = app.json("/api/v1/clusters").await;
    let rows = list.as_array().cloned().unwrap_or_default();
    rows.into_iter().find(|c| c["name"] == cluster).unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_frozen_broker_shows_down_and_holds_up_nothing() {
    let broker = Broker::start(BrokerKind::Noida).await;
    create_topics(&broker.bootstrap(), &[("frozen", 1)]).await;
    let mut cluster = kafka_cluster("frozen", &broker.bootstrap());
    cluster.poll_interval = Duration::from_secs(1);
    let app = TestApp::with_clusters(vec![cluster]).await;
    eventually(Duration::from_secs(30), "the cluster up", || async {
        (summary(&app, "frozen").await["status"] == "up").then_some(())
    })
    .await;

    // SIGSTOP: the kernel still accepts connections; nothing ever answers.
    broker.signal("STOP");
    let down = eventually(Duration::from_secs(60), "the cluster down", || async {
        let summary = summary(&app, "frozen").await;
        (summary["status"] == "down").then_some(summary)
    })
    .await;
    assert!(down["error"].as_str().is_some_and(|e| !e.is_empty()), "{down}");
    // Pages and a browse answer meanwhile: a browse gives up within its deadline.
    assert_eq!(app.get("/").await.status(), reqwest::StatusCode::OK);
    let started = std::time::Instant::now();
    let browse = app.get("/api/v1/clusters/frozen/topics/frozen/messages?from=earliest").await;
    assert!(browse.status().is_server_error(), "{}", browse.status());
    assert!(started.elapsed() < Duration::from_secs(25), "browse took {:?}", started.elapsed());

    broker.signal("CONT");
    eventually(Duration::from_secs(60), "the cluster up again", || async {
        (summary(&app, "frozen").await["status"] == "up").then_some(())
    })
    .await;
    app.stop().await;
}

/// A server on a free port that answers every connection with `answer` and then holds it.
async fn answering(answer: &'static [u8]) -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                use tokio::io::{AsyncReadExt, AsyncWriteExt};
                let mut buffer = [0_u8; 4096];
                let _ = socket.read(&mut buffer).await;
                let _ = socket.write_all(answer).await;
                tokio::time::sleep(Duration::from_secs(60)).await;
            });
        }
    });
    port
}

#[tokio::test(flavor = "multi_thread")]
async fn peers_answering_garbage_show_down_with_an_error_and_the_process_stays_up() {
    // A frame that declares 2 GiB, an HTTP answer to a Kafka request, JSON where none fits.
    let huge_frame = answering(b"\x7f\xff\xff\xff\x00\x00\x00\x01garbage").await;
    let http_page = answering(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello").await;
    let not_json = answering(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 9\r\n\r\n{\"a\":[1,2",
    )
    .await;
    let rabbit = |name: &str, port: u16| {
        let toml = format!(
            "[[clusters]]\nname = \"{name}\"\nkind = \"rabbitmq\"\nmanagement_url = \
             \"http://127.0.0.1:{port}\"\nusername = \"guest\"\npassword = \"guest\"\n\
             poll_interval = \"1s\"\n"
        );
        osprey::config::Config::from_toml_str(&toml).unwrap().clusters.remove(0)
    };
    let rocket = |name: &str, port: u16| {
        let toml = format!(
            "[[clusters]]\nname = \"{name}\"\nkind = \"rocketmq\"\nnamesrv_addrs = \
             \"127.0.0.1:{port}\"\npoll_interval = \"1s\"\n"
        );
        osprey::config::Config::from_toml_str(&toml).unwrap().clusters.remove(0)
    };
    let mut kafka_huge = kafka_cluster("kafka-huge", &format!("127.0.0.1:{huge_frame}"));
    kafka_huge.poll_interval = Duration::from_secs(1);
    let mut kafka_http = kafka_cluster("kafka-http", &format!("127.0.0.1:{http_page}"));
    kafka_http.poll_interval = Duration::from_secs(1);
    let clusters = vec![
        kafka_huge,
        kafka_http,
        rocket("rocket-huge", huge_frame),
        rocket("rocket-http", http_page),
        rabbit("rabbit-html", http_page),
        rabbit("rabbit-json", not_json),
        rabbit("rabbit-frame", huge_frame),
    ];
    let names: Vec<String> = clusters.iter().map(|c| c.name.clone()).collect();
    let app = TestApp::with_clusters(clusters).await;
    for name in &names {
        let down = eventually(Duration::from_secs(60), "the cluster down", || async {
            let summary = summary(&app, name).await;
            (summary["status"] == "down").then_some(summary)
        })
        .await;
        let error = down["error"].as_str().unwrap_or_default();
        assert!(!error.is_empty() && error.len() < 2_000, "{name}: {down}");
    }
    assert_eq!(app.get("/healthz").await.status(), reqwest::StatusCode::OK);
    assert_eq!(app.get("/").await.status(), reqwest::StatusCode::OK);
    app.stop().await;
}
