//! The fault suite: real peers made to fail — a database cut off mid-run, a disk that fills,
//! an SMTP server away for a minute, brokers that freeze or answer garbage — and what Osprey
//! keeps doing meanwhile and afterwards.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use osprey::secret::Secret;
use sqlx::Connection as _;

use crate::alerts::{Receiver, SmtpSink, hook_channel, lag_rule, lagging_group, mail_channel};
use crate::groups::commit;
use crate::helpers::*;
use crate::store::TempDatabase;

/// A TCP relay to a real server that can be cut — every open connection is reset and new ones
/// are closed as soon as they are accepted, as when the server's host goes away — or frozen:
/// connections stay open and nothing passes either way, as when the server hangs or the
/// network drops everything silently (no error ever reaches the client).
struct Cuttable {
    port: u16,
    open: Arc<AtomicBool>,
    frozen: tokio::sync::watch::Sender<bool>,
    relays: Arc<Mutex<Vec<tokio::task::AbortHandle>>>,
}

/// How a database goes away in the outage tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outage {
    Cut,
    Freeze,
}

impl Cuttable {
    async fn start(upstream: String) -> Cuttable {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let open = Arc::new(AtomicBool::new(true));
        let (frozen, watching) = tokio::sync::watch::channel(false);
        let relays: Arc<Mutex<Vec<tokio::task::AbortHandle>>> = Arc::default();
        let (accepting, tracked) = (open.clone(), relays.clone());
        tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                if !accepting.load(Ordering::SeqCst) {
                    continue; // dropped: closed at once
                }
                let (upstream, mut frozen) = (upstream.clone(), watching.clone());
                let relay = tokio::spawn(async move {
                    let frozen_now = *frozen.borrow();
                    if frozen_now {
                        // Accepted, then silence: the socket is held until the thaw ends it.
                        std::future::pending::<()>().await;
                    }
                    if let Ok(mut server) = tokio::net::TcpStream::connect(&upstream).await {
                        tokio::select! {
                            _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                            () = async { drop(frozen.wait_for(|frozen| *frozen).await) } => {
                                // Both sockets stay open; nothing is relayed any more.
                                std::future::pending::<()>().await;
                            }
                        }
                    }
                });
                tracked.lock().unwrap().push(relay.abort_handle());
            }
        });
        Cuttable { port, open, frozen, relays }
    }

    fn go_away(&self, how: Outage) {
        match how {
            Outage::Cut => self.cut(),
            Outage::Freeze => {
                self.frozen.send_replace(true);
            }
        }
    }

    /// Ends an outage: a frozen relay's connections are reset (the client finds out then).
    fn come_back(&self) {
        self.frozen.send_replace(false);
        for relay in self.relays.lock().unwrap().drain(..) {
            relay.abort();
        }
        self.restore();
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

async fn a_database_outage_loses_no_poll(admin_var: &str, how: Outage) {
    let db = TempDatabase::create(admin_var).await;
    let broker = Broker::start(BrokerKind::Noida).await;
    create_topics(&broker.bootstrap(), &[("outage", 1)]).await;
    // The relay learns the server's address from the URL; Osprey connects through it.
    let (_, upstream) = through(&db.url, 1);
    let relay = Cuttable::start(upstream).await;
    let (relayed_url, _) = through(&db.url, relay.port);
    // A rule on a group that starts lagging only while the database is away.
    let hook = Receiver::start().await;
    let rule = lag_rule("\"hook\"").replace("cluster = \"prod\"", "cluster = \"outage\"");
    let rule = rule.replace("topic = \"orders\"", "topic = \"outage\"");
    let mut config = osprey::config::Config::from_toml_str(&format!(
        "{}{rule}",
        hook_channel("hook", &hook.url)
    ))
    .unwrap();
    config.database.url = Secret::new(relayed_url);
    config.auth.anonymous_read = true;
    config.alerts.allow_private_targets = true;
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
    relay.go_away(how);
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
    assert!(started.elapsed() < Duration::from_secs(15), "{how:?}: {:?}", started.elapsed());
    // Group `billing` falls 30 behind while nothing can be written.
    produce_one_by_one(&broker.bootstrap(), "outage", 0, 30).await;
    commit(&broker.bootstrap(), "billing", &[("outage", 0, 0)]);
    tokio::time::sleep(Duration::from_secs(30)).await;
    assert!(hook.bodies().is_empty(), "no notice while its incident cannot be recorded");
    let restored_at = osprey::clock::now_millis();
    relay.come_back();

    // The polls taken during the outage reach the database after it: no hole in the history.
    let times = eventually(Duration::from_secs(60), "the held polls written", || async {
        let times = poll_times(&db.url, "outage").await;
        times.iter().any(|t| *t > restored_at + 2_000).then_some(times)
    })
    .await;
    let during: Vec<i64> =
        times.iter().copied().filter(|t| (cut_at..restored_at).contains(t)).collect();
    // A poll may take longer than the 1 s interval (ticks are then skipped): the gap check
    // below is what proves nothing was dropped.
    assert!(during.len() >= 12, "{} polls of the 30 s outage stored: {during:?}", during.len());
    let widest_gap = times.windows(2).map(|w| w[1] - w[0]).max().unwrap_or(0);
    assert!(widest_gap < 5_000, "a {widest_gap} ms hole in the history");
    assert_eq!(app.get("/readyz").await.status(), reqwest::StatusCode::OK);

    // The alert the outage held back goes out after it, once.
    eventually(Duration::from_secs(60), "the firing notice", || async {
        (!hook.bodies().is_empty()).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let bodies = hook.bodies();
    assert_eq!(bodies.len(), 1, "{bodies:?}");
    assert_eq!(bodies[0]["status"], "firing", "{}", bodies[0]);
    app.stop().await;
    db.drop_it().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_postgres_outage_loses_no_poll() {
    a_database_outage_loses_no_poll("OSPREY_TEST_POSTGRES_URL", Outage::Cut).await;
}

/// The same outage, but the database hangs instead of refusing: every wait on it is bounded
/// (pages answer 503 within seconds, the alert rounds and the leases go on), and nothing is
/// lost either.
#[tokio::test(flavor = "multi_thread")]
async fn a_hung_postgres_loses_no_poll_and_holds_up_nothing() {
    a_database_outage_loses_no_poll("OSPREY_TEST_POSTGRES_URL", Outage::Freeze).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_mariadb_outage_loses_no_poll() {
    a_database_outage_loses_no_poll("OSPREY_TEST_MYSQL_URL", Outage::Cut).await;
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

/// A tmpfs of `size` of the test's own, unmounted when dropped; `None` (the test says why and
/// passes) where this process may not mount one.
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    fn mount(size: &str) -> Option<SmallDisk> {
        let dir = tempfile::tempdir().unwrap();
        let mounted = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .status()
            .is_ok_and(|s| s.success());
        if !mounted {
            eprintln!("skipped: cannot mount a tmpfs here (needs root)");
            return None;
        }
        Some(SmallDisk { dir })
    }

    /// Writes a file until the disk has no room left.
    fn fill(&self) {
        use std::io::Write;
        let mut filler = std::fs::File::create(self.dir.path().join("filler")).unwrap();
        let chunk = vec![0_u8; 64 * 1024];
        while filler.write_all(&chunk).is_ok() {}
        let _ = filler.flush();
    }

    fn free(&self) {
        std::fs::remove_file(self.dir.path().join("filler")).unwrap();
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg("-l").arg(self.dir.path()).status();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_full_disk_under_sqlite_holds_the_polls_says_so_and_writes_them_after() {
    let Some(disk) = SmallDisk::mount("32m") else { return };
    let broker = Broker::start(BrokerKind::Noida).await;
    create_topics(&broker.bootstrap(), &[("full", 1)]).await;
    let db_url = format!("sqlite://{}", disk.dir.path().join("osprey.db").display());
    let mut config = osprey::config::Config::default();
    config.database.url = Secret::new(db_url.clone());
    config.auth.anonymous_read = true;
    let mut cluster = kafka_cluster("full", &broker.bootstrap());
    cluster.poll_interval = Duration::from_secs(1);
    config.clusters = vec![cluster];
    let app = TestApp::spawn(config).await;
    eventually(Duration::from_secs(30), "history before the disk fills", || async {
        (poll_times(&db_url, "full").await.len() >= 3).then_some(())
    })
    .await;
    assert_eq!(app.get("/status/history").await.text().await.unwrap(), "");

    disk.fill();
    let full_at = osprey::clock::now_millis();
    // The pages say so, in both languages, and keep serving the live state.
    let banner = eventually(Duration::from_secs(30), "the history banner", || async {
        let text = app.get("/status/history").await.text().await.unwrap();
        text.contains("out of space").then_some(text)
    })
    .await;
    assert!(banner.contains("polls are held"), "{banner}");
    let chinese = app.text_in_chinese("/status/history").await;
    assert!(chinese.contains("数据库空间已满"), "{chinese}");
    let ready = app.get("/readyz").await;
    assert_eq!(ready.status(), reqwest::StatusCode::SERVICE_UNAVAILABLE);
    assert!(ready.text().await.unwrap().contains("cannot be written"));
    assert_eq!(app.get("/").await.status(), reqwest::StatusCode::OK);
    assert!(app.html("/").await.contains("hx-get=\"/status/history\""));
    assert!(summary(&app, "full").await.to_string().contains("\"up\""));
    tokio::time::sleep(Duration::from_secs(10)).await;

    disk.free();
    let freed_at = osprey::clock::now_millis();
    let times = eventually(Duration::from_secs(60), "the held polls written", || async {
        let times = poll_times(&db_url, "full").await;
        times.iter().any(|t| *t > freed_at + 2_000).then_some(times)
    })
    .await;
    let during: Vec<i64> =
        times.iter().copied().filter(|t| (full_at..freed_at).contains(t)).collect();
    // Slow polls skip ticks on a loaded machine: the gap check below is what proves no loss.
    assert!(during.len() >= 4, "{} polls of the full disk stored: {during:?}", during.len());
    let widest_gap = times.windows(2).map(|w| w[1] - w[0]).max().unwrap_or(0);
    assert!(widest_gap < 5_000, "a {widest_gap} ms hole in the history");
    eventually(Duration::from_secs(30), "the banner gone", || async {
        app.get("/status/history").await.text().await.unwrap().is_empty().then_some(())
    })
    .await;
    assert_eq!(app.get("/readyz").await.status(), reqwest::StatusCode::OK);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_smtp_server_away_for_a_minute_delays_the_notice_and_it_arrives_once() {
    let broker = lagging_group().await;
    let port = free_port();
    let mut smtp = SmtpSink::on_port(port, None);
    let dir = tempfile::tempdir().unwrap();
    // The shipped back-off, shortened in scale: 5 s doubling to 20 s.
    let toml = format!(
        "[alerts]\nretry_initial = \"5s\"\nretry_max = \"20s\"\ngroup_wait = \"0s\"\ngroup_interval = \"0s\"\n{}{}",
        mail_channel("mail", port, None),
        lag_rule("\"mail\"")
    );
    let app = TestApp::spawn(crate::alerts::config(&broker, &dir, &toml)).await;
    let failed = eventually(Duration::from_secs(30), "a failed delivery", || async {
        let alerts = app.json("/api/v1/alerts").await;
        let delivery = alerts["firing"][0]["deliveries"][0].clone();
        (delivery["attempts"].as_i64().unwrap_or(0) >= 1).then_some(delivery)
    })
    .await;
    let error = failed["attempt_log"][0]["error"].as_str().unwrap();
    assert!(
        error.contains(&format!("SMTP 127.0.0.1:{port}")) && error.contains("refused"),
        "a clear error: {error}"
    );
    tokio::time::sleep(Duration::from_secs(60)).await;
    let alerts = app.json("/api/v1/alerts").await;
    let delivery = &alerts["firing"][0]["deliveries"][0];
    assert_eq!(delivery["status"], "pending", "{delivery}");
    let attempts = delivery["attempts"].as_i64().unwrap();
    // 5 + 10 + 20 + 20 s: a few tries a minute, not a flood.
    assert!((3..=7).contains(&attempts), "{attempts} attempts in a minute");

    smtp.run().await;
    eventually(Duration::from_secs(40), "the e-mail once the server is back", || async {
        (!smtp.messages().is_empty()).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(smtp.messages().len(), 1, "delivered exactly once");
    let alerts = app.json("/api/v1/alerts").await;
    let delivery = &alerts["firing"][0]["deliveries"][0];
    assert_eq!(delivery["status"], "sent");
    let log = delivery["attempt_log"].as_array().unwrap();
    assert!(log.last().unwrap()["ok"] == true, "{log:?}");
    app.stop().await;
}
