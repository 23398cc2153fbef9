//! beanstalkd against the real server from `scripts/peers.sh`, with greenstalk producers and
//! workers (`scripts/beanstalk_client.py`): the protocol client, the cluster's pages in English
//! and Chinese, alerts by e-mail and webhook, and the operator actions. Each test has tubes of
//! its own.

use std::io::BufRead;
use std::time::Duration;

use osprey::auth::Role;
use osprey::brokers::AdapterError;
use osprey::brokers::beanstalkd::{Connection, Peek};
use osprey::config::ClusterConfig;
use serde_json::{Value, json};

use crate::alerts::{Receiver, SmtpSink, hook_channel, mail_channel};
use crate::helpers::*;

/// greenstalk through scripts/beanstalk_client.py: `put` runs to its end; `work` reserves
/// (and deletes or buries) until dropped.
pub struct Client(std::process::Child);

impl Client {
    fn spawn(action: &str, tube: &str, extra: &[&str]) -> Client {
        let mut child = std::process::Command::new(peer("OSPREY_TEST_PYTHON"))
            .arg(peer("OSPREY_TEST_BEANSTALK_CLIENT"))
            .args([action, "--server", &peer("OSPREY_TEST_BEANSTALKD"), "--tube", tube])
            .args(extra)
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("start the beanstalkd client");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        assert!(!line.trim().is_empty(), "the {action} client said nothing");
        Client(child)
    }

    pub fn put(tube: &str, count: usize, extra: &[&str]) {
        let count = count.to_string();
        let mut client = Client::spawn("put", tube, &[&["--count", &count][..], extra].concat());
        assert!(client.0.wait().unwrap().success());
    }

    pub fn work(tube: &str, extra: &[&str]) -> Client {
        Client::spawn("work", tube, extra)
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn cluster(name: &str) -> ClusterConfig {
    let mut cluster = ClusterConfig::beanstalkd(name, &peer("OSPREY_TEST_BEANSTALKD"));
    cluster.poll_interval = Duration::from_secs(1);
    cluster.poll_timeout = Duration::from_secs(5);
    cluster
}

/// The tube as the queue API shows it, once `ready` (described by `what`) holds.
async fn tube_where(
    app: &TestApp,
    name: &str,
    tube: &str,
    what: &str,
    ready: impl Fn(&Value) -> bool,
) -> Value {
    let server = peer("OSPREY_TEST_BEANSTALKD");
    eventually(Duration::from_secs(30), &format!("tube {tube}: {what}"), || async {
        let response = app.get(&format!("/api/v1/clusters/{name}/queues?q={tube}")).await;
        // 503 until the first poll.
        let list: Value = response.status().is_success().then_some(response)?.json().await.ok()?;
        let row = list["rows"].as_array()?.iter().find(|r| r["name"] == tube)?.clone();
        (row["vhost"] == server.as_str() && ready(&row)).then_some(row)
    })
    .await
}

async fn connect() -> Connection {
    Connection::open(&peer("OSPREY_TEST_BEANSTALKD"), Duration::from_secs(5)).await.unwrap()
}

#[tokio::test]
async fn jobs_are_put_peeked_counted_and_kicked() {
    let tube = unique("jobs");
    let mut server = connect().await;
    // A body with a line break inside is a body, not a second command.
    let ready = b"resize\r\nimage-1".to_vec();
    let id = server.put(&tube, 10, Duration::ZERO, Duration::from_secs(60), &ready).await.unwrap();
    server
        .put(&tube, 10, Duration::from_secs(3600), Duration::from_secs(60), b"later")
        .await
        .unwrap();

    let peeked = server.peek(&tube, Peek::Ready).await.unwrap().unwrap();
    assert_eq!((peeked.id, peeked.body), (id, ready));
    assert_eq!(server.peek(&tube, Peek::Delayed).await.unwrap().unwrap().body, b"later");
    assert!(server.peek(&tube, Peek::Buried).await.unwrap().is_none());

    assert!(server.tubes().await.unwrap().contains(&tube));
    let stats = server.tube_stats(&tube).await.unwrap().unwrap();
    assert_eq!(
        (stats["current-jobs-ready"].as_str(), stats["current-jobs-delayed"].as_str()),
        ("1", "1"),
        "{stats:?}"
    );
    assert!(server.tube_stats(&unique("never")).await.unwrap().is_none());
    // Nothing buried: kick moves the delayed job instead.
    assert_eq!(server.kick(&tube, 10).await.unwrap(), 1);
    let stats = server.tube_stats(&tube).await.unwrap().unwrap();
    assert_eq!(stats["current-jobs-ready"], "2", "{stats:?}");

    let about = server.stats().await.unwrap();
    assert!(about.get("version").is_some_and(|v| !v.is_empty()), "{about:?}");
    assert!(about.contains_key("uptime"), "{about:?}");
}

#[tokio::test]
async fn refusals_are_clear_and_the_connection_stays_usable() {
    let tube = unique("refusals");
    let mut server = connect().await;
    let hour = Duration::from_secs(3600);
    let injected = server.put("jobs\r\nkick 1000", 1, Duration::ZERO, hour, b"x").await;
    assert!(matches!(injected, Err(AdapterError::Config(_))), "{injected:?}");
    // Past the server's max-job-size (64 KiB by default).
    let big = vec![b'x'; 70_000];
    let error = server.put(&tube, 1, Duration::ZERO, hour, &big).await.unwrap_err();
    assert!(error.to_string().contains("JOB_TOO_BIG"), "{error}");
    assert!(server.stats().await.is_ok(), "still usable");

    let nobody = format!("127.0.0.1:{}", free_port());
    let closed = Connection::open(&nobody, Duration::from_secs(2)).await;
    assert!(matches!(closed, Err(AdapterError::Unreachable(_))), "{:?}", closed.err());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tube_nobody_works_mails_a_backlog_alert_and_its_worker_resolves_it() {
    let tube = unique("mail");
    Client::put(&tube, 6, &[]);
    let smtp = SmtpSink::start(None).await;
    let rules = format!(
        r#"
        [[alerts.rules]]
        name = "tube-backlog"
        kind = "queue_backlog"
        cluster = "bs"
        queue = "{tube}"
        threshold = 5
        for = "0s"
        channels = ["mail"]
        "#
    );
    let toml = format!("{}{rules}", mail_channel("mail", smtp.port, None));
    let app = TestApp::from_toml(&toml, vec![cluster("bs")]).await;
    let row = tube_where(&app, "bs", &tube, "6 ready", |r| r["messages_ready"] == 6).await;
    assert_eq!((row["consumers"].clone(), row["type"].clone()), (json!(0), json!("tube")));

    let subject_of =
        |status: &str| smtp.messages().into_iter().find(|(subject, _)| subject.contains(status));
    let (subject, body) =
        eventually(Duration::from_secs(60), "the firing e-mail", || async { subject_of("FIRING") })
            .await;
    assert!(subject.contains("backlog 6 > 5") && subject.contains(&tube), "{subject}");
    assert!(body.contains(&peer("OSPREY_TEST_BEANSTALKD")) && body.contains("bs"), "{body}");
    let metrics = app.get("/metrics").await.text().await.unwrap();
    let ready = format!(r#"queue="{tube}",state="ready"}} 6"#);
    assert!(metrics.lines().any(|l| l.starts_with("osprey_queue_messages") && l.ends_with(&ready)));

    let worker = Client::work(&tube, &[]);
    tube_where(&app, "bs", &tube, "worked off", |r| r["messages"] == 0 && r["consumers"] == 1)
        .await;
    eventually(Duration::from_secs(60), "the resolved e-mail", || async { subject_of("RESOLVED") })
        .await;
    assert_eq!(smtp.messages().len(), 2, "one e-mail each way");
    drop(worker);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn buried_jobs_alert_and_are_peeked_kicked_and_purged_by_the_right_roles() {
    let tube = unique("buried");
    let server = peer("OSPREY_TEST_BEANSTALKD");
    let hook = Receiver::start().await;
    let rules = format!(
        r#"
        [[alerts.rules]]
        name = "buried"
        kind = "queue_buried"
        cluster = "bs"
        queue = "{tube}"
        threshold = 1
        for = "0s"
        channels = ["hook"]
        "#
    );
    let toml = format!("{}{rules}", hook_channel("hook", &hook.url));
    let mut read_only = cluster("frozen");
    read_only.read_only = true;
    let app = TestApp::from_toml(&toml, vec![cluster("bs"), read_only]).await;
    // A worker that buries what it takes, then a delayed job nobody can take yet.
    let burier = Client::work(&tube, &["--bury"]);
    Client::put(&tube, 2, &[]);
    tube_where(&app, "bs", &tube, "2 buried", |r| r["held"] == 2).await;
    drop(burier);
    Client::put(&tube, 1, &["--delay", "3600"]);
    let row = tube_where(&app, "bs", &tube, "1 delayed, no worker", |r| {
        r["delayed"] == 1 && r["consumers"] == 0
    })
    .await;
    assert_eq!(row["held"], 2, "{row}");
    let firing = eventually(Duration::from_secs(30), "the buried webhook", || async {
        hook.bodies().first().cloned()
    })
    .await;
    assert_eq!((firing["status"].clone(), firing["value"].clone()), (json!("firing"), json!(2.0)));
    assert_eq!(firing["queue"], format!("{server}/{tube}"));

    let api = |action: &str| format!("/api/v1/clusters/bs/tubes/{server}/{tube}/{action}");
    let (status, peeked) =
        app.call(reqwest::Method::POST, &api("peek"), json!({"state": "buried"})).await;
    assert_eq!(status, 200, "{peeked}");
    assert_eq!(
        (peeked["body"].clone(), peeked["stats"]["state"].clone()),
        (json!("job 0"), json!("buried"))
    );
    let (_, none) = app.call(reqwest::Method::POST, &api("peek"), json!({"state": "ready"})).await;
    assert_eq!(none, Value::Null, "nothing ready");

    let operator = app.client_as("olga", Role::Operator).await;
    let viewer = app.client_as("vic", Role::Viewer).await;
    let post = |client: &reqwest::Client, path: String, body: Value| {
        let request = client.post(format!("{}{path}", app.base)).json(&body);
        async move {
            let response = request.send().await.unwrap();
            (response.status().as_u16(), response.json::<Value>().await.unwrap_or_default())
        }
    };
    let job = json!({"body": "from osprey", "priority": 5});
    assert_eq!(post(&viewer, api("put"), job.clone()).await.0, 403);
    let (status, put) = post(&operator, api("put"), job.clone()).await;
    assert_eq!(status, 200, "{put}");
    assert!(put["id"].as_u64().is_some_and(|id| id > 0), "{put}");
    let frozen = format!("/api/v1/clusters/frozen/tubes/{server}/{tube}/put");
    assert_eq!(post(&operator, frozen, job).await.0, 403, "read-only cluster");
    let elsewhere = format!("/api/v1/clusters/bs/tubes/127.0.0.1:1/{tube}/put");
    let (status, refused) = post(&operator, elsewhere, json!({"body": "x"})).await;
    assert!(status >= 400 && refused.to_string().contains("not one of"), "{status} {refused}");

    let (status, kicked) = post(&operator, api("kick"), json!({"count": 10})).await;
    assert_eq!((status, kicked["kicked"].clone()), (200, json!(2)), "{kicked}");
    tube_where(&app, "bs", &tube, "kicked", |r| r["held"] == 0 && r["messages_ready"] == 3).await;
    eventually(Duration::from_secs(30), "the resolved webhook", || async {
        (hook.bodies().len() == 2).then_some(())
    })
    .await;

    assert_eq!(post(&operator, api("purge"), json!({"confirm": tube})).await.0, 403, "admins only");
    let (status, _) =
        app.call(reqwest::Method::POST, &api("purge"), json!({"confirm": "no"})).await;
    assert_eq!(status, 422);
    let (status, purged) =
        app.call(reqwest::Method::POST, &api("purge"), json!({"confirm": tube})).await;
    assert_eq!((status, purged["deleted"].clone()), (200, json!(4)), "3 ready and 1 delayed");
    // beanstalkd drops a tube once it holds no job and nobody uses it.
    eventually(Duration::from_secs(30), "the purged tube gone", || async {
        let list = app.json(&format!("/api/v1/clusters/bs/queues?q={tube}")).await;
        (list["matched"] == 0).then_some(())
    })
    .await;
    let audit = app.json("/api/v1/audit").await.to_string();
    for action in ["beanstalkd.put", "beanstalkd.kick", "beanstalkd.purge", "beanstalkd.peek"] {
        assert!(audit.contains(action), "{action} not audited");
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_servers_tubes_and_a_tube_read_in_english_and_chinese() {
    let tube = unique("pages");
    let server = peer("OSPREY_TEST_BEANSTALKD");
    Client::put(&tube, 3, &[]);
    let app = TestApp::with_clusters(vec![cluster("bs")]).await;
    tube_where(&app, "bs", &tube, "3 ready", |r| r["messages_ready"] == 3).await;

    let detail = app.json("/api/v1/clusters/bs").await;
    assert_eq!(detail["summary"]["kind"], "beanstalkd", "{detail}");
    assert_eq!(detail["queues"]["overview"]["product"], "beanstalkd");
    assert!(detail["queues"]["nodes"][0]["running"].as_bool().unwrap(), "{detail}");
    assert_eq!(detail["brokers"][0]["up"], true, "the server is a broker: {detail}");

    let cluster_page = app.html("/clusters/bs").await;
    assert!(cluster_page.contains("beanstalkd 1."), "version shown");
    assert!(cluster_page.contains(&server) && cluster_page.contains("Tubes"));
    assert!(!cluster_page.contains("exchanges-link"), "no exchanges on beanstalkd");
    let list = app.html(&format!("/clusters/bs/queues?q={tube}&sort=held")).await;
    assert!(list.contains(&tube) && list.contains("Buried") && list.contains("Workers"));
    let path = format!("/clusters/bs/queues/{}/{tube}", server.replace(':', "%3A"));
    let page = app.html(&path).await;
    assert!(page.contains("id=\"buried\"") && page.contains("tube-actions"), "tube page");
    assert!(!page.contains("links-error"), "no RabbitMQ links asked of beanstalkd");

    let chinese = app.text_in_chinese(&format!("/clusters/bs/queues?q={tube}")).await;
    assert!(chinese.contains("管道") && chinese.contains("已埋藏"), "{chinese}");
    let chinese = app.text_in_chinese(&path).await;
    assert!(chinese.contains("工作进程") && chinese.contains("放入与完成速率"), "{chinese}");
    let put = app.html(&format!("/clusters/bs/put?tube={tube}")).await;
    assert!(put.contains(&format!("value=\"{tube}\"")) && put.contains(&server));
    let jobs = app.html(&format!("/clusters/bs/jobs?tube={tube}&state=ready")).await;
    assert!(jobs.contains("purge-form") && jobs.contains("kick-form"));
    app.stop().await;
}

#[test]
fn a_beanstalkd_cluster_needs_servers_and_takes_no_other_kinds_keys() {
    let base = "[[clusters]]\nname = \"b\"\nkind = \"beanstalkd\"\n";
    let missing = osprey::config::Config::from_toml_str(base).unwrap_err().to_string();
    assert!(missing.contains("clusters[0].servers"), "{missing}");
    let bad = format!("{base}servers = \"localhost\"");
    let bad = osprey::config::Config::from_toml_str(&bad).unwrap_err().to_string();
    assert!(bad.contains("clusters[0].servers") && bad.contains("host:11300"), "{bad}");
    let foreign = format!("{base}servers = \"h:11300\"\nmanagement_url = \"http://x\"");
    let foreign = osprey::config::Config::from_toml_str(&foreign).unwrap_err().to_string();
    assert!(foreign.contains("management_url") && foreign.contains("servers"), "{foreign}");
}
