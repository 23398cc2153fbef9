//! Gearman against the real job server from `scripts/peers.sh` (Debian's gearmand), with the
//! project's own command-line client (`gearman`, from gearman-tools) as producer and worker:
//! the administrative protocol, the cluster's pages in English and Chinese, a backlog alert by
//! e-mail and its recovery, and submitting a job by role. Each test has functions of its own.

use std::time::Duration;

use osprey::auth::Role;
use osprey::brokers::AdapterError;
use osprey::brokers::gearman::{AdminConnection, Priority, submit_background};
use osprey::config::ClusterConfig;
use serde_json::{Value, json};

use crate::alerts::{SmtpSink, mail_channel};
use crate::helpers::*;

pub fn server() -> String {
    peer("OSPREY_TEST_GEARMAN")
}

/// `gearman` with the test server's host and port, then `args`.
fn gearman(args: &[&str]) -> std::process::Command {
    let server = server();
    let (host, port) = server.rsplit_once(':').unwrap();
    let mut command = std::process::Command::new("gearman");
    command.args(["-h", host, "-p", port]).args(args);
    command.stdout(std::process::Stdio::null()).stderr(std::process::Stdio::null());
    command
}

/// Submits `count` background jobs for `function` with the gearman client.
pub fn submit_jobs(function: &str, count: usize) {
    for i in 0..count {
        let status = gearman(&["-f", function, "-b", &format!("job {i}")]).status().unwrap();
        assert!(status.success(), "gearman -b failed");
    }
}

/// A `gearman -w` worker for `function` (echoes each job), stopped when dropped.
struct Worker(std::process::Child);

impl Worker {
    fn start(function: &str) -> Worker {
        Worker(gearman(&["-w", "-f", function, "--", "cat"]).spawn().expect("gearman -w"))
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn cluster(name: &str) -> ClusterConfig {
    let mut cluster = ClusterConfig::gearman(name, &server());
    cluster.poll_interval = Duration::from_secs(1);
    cluster.poll_timeout = Duration::from_secs(5);
    cluster
}

/// The function as the queue API shows it, once `ready` (described by `what`) holds.
async fn function_where(
    app: &TestApp,
    function: &str,
    what: &str,
    ready: impl Fn(&Value) -> bool,
) -> Value {
    eventually(Duration::from_secs(30), &format!("function {function}: {what}"), || async {
        let response = app.get(&format!("/api/v1/clusters/gm/queues?q={function}")).await;
        let list: Value = response.status().is_success().then_some(response)?.json().await.ok()?;
        let row = list["rows"].as_array()?.iter().find(|r| r["name"] == function)?.clone();
        (row["vhost"] == server().as_str() && ready(&row)).then_some(row)
    })
    .await
}

#[tokio::test]
async fn the_admin_protocol_reads_functions_workers_and_the_version() {
    let function = unique("admin");
    submit_jobs(&function, 2);
    let mut admin = AdminConnection::open(&server(), Duration::from_secs(5)).await.unwrap();
    assert!(admin.version().await.unwrap().starts_with("1."), "a gearmand 1.x");
    let status = admin.status().await.unwrap();
    let queued = status.iter().find(|f| f.name == function).unwrap();
    assert_eq!((queued.total, queued.running, queued.workers), (2, 0, 0));
    assert!(!admin.workers().await.unwrap().is_empty(), "at least this connection");
    let handle = submit_background(
        &server(),
        Duration::from_secs(5),
        &function,
        b"from osprey",
        Priority::High,
    )
    .await
    .unwrap();
    assert!(handle.starts_with("H:"), "{handle}");
    assert_eq!(admin.status().await.unwrap().iter().find(|f| f.name == function).unwrap().total, 3);
    let injected =
        submit_background(&server(), Duration::from_secs(5), "a\nstatus", b"", Priority::Normal)
            .await;
    assert!(matches!(injected, Err(AdapterError::Config(_))), "{injected:?}");
    let nobody = format!("127.0.0.1:{}", free_port());
    let closed = AdminConnection::open(&nobody, Duration::from_secs(2)).await;
    assert!(matches!(closed, Err(AdapterError::Unreachable(_))), "{:?}", closed.err());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_function_nobody_works_mails_a_backlog_alert_and_a_worker_resolves_it() {
    let function = unique("mail");
    submit_jobs(&function, 4);
    let smtp = SmtpSink::start(None).await;
    let rules = format!(
        r#"
        [[alerts.rules]]
        name = "function-backlog"
        kind = "queue_backlog"
        cluster = "gm"
        queue = "{function}"
        threshold = 3
        for = "0s"
        channels = ["mail"]
        "#
    );
    let toml = format!("{}{rules}", mail_channel("mail", smtp.port, None));
    let app = TestApp::from_toml(&toml, vec![cluster("gm")]).await;
    let row = function_where(&app, &function, "4 queued", |r| r["messages"] == 4).await;
    assert_eq!((row["consumers"].clone(), row["state"].clone()), (json!(0), json!("no workers")));
    let subject_of =
        |status: &str| smtp.messages().into_iter().find(|(subject, _)| subject.contains(status));
    let (subject, body) =
        eventually(Duration::from_secs(60), "the firing e-mail", || async { subject_of("FIRING") })
            .await;
    assert!(subject.contains("backlog 4 > 3") && subject.contains(&function), "{subject}");
    assert!(body.contains(&server()) && body.contains("gm"), "{body}");

    let worker = Worker::start(&function);
    function_where(&app, &function, "worked off", |r| r["messages"] == 0 && r["consumers"] == 1)
        .await;
    eventually(Duration::from_secs(60), "the resolved e-mail", || async { subject_of("RESOLVED") })
        .await;
    assert_eq!(smtp.messages().len(), 2, "one e-mail each way");
    drop(worker);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn jobs_are_submitted_by_operators_and_the_pages_read_in_english_and_chinese() {
    let function = unique("pages");
    let mut read_only = cluster("frozen");
    read_only.read_only = true;
    let app = TestApp::with_clusters(vec![cluster("gm"), read_only]).await;
    let api = |cluster: &str, server: &str| {
        format!("{}/api/v1/clusters/{cluster}/functions/{server}/{function}/submit", app.base)
    };
    let operator = app.client_as("otto", Role::Operator).await;
    let viewer = app.client_as("val", Role::Viewer).await;
    let post = |client: &reqwest::Client, url: String, body: Value| {
        let request = client.post(url).json(&body);
        async move {
            let response = request.send().await.unwrap();
            (response.status().as_u16(), response.json::<Value>().await.unwrap_or_default())
        }
    };
    let job = json!({"payload": "resize 42", "priority": "low"});
    assert_eq!(post(&viewer, api("gm", &server()), job.clone()).await.0, 403);
    assert_eq!(post(&operator, api("frozen", &server()), job.clone()).await.0, 403);
    let (status, refused) = post(&operator, api("gm", "127.0.0.1:1"), job.clone()).await;
    assert!(status >= 400 && refused.to_string().contains("not one of"), "{refused}");
    let (status, submitted) = post(&operator, api("gm", &server()), job).await;
    assert_eq!(status, 200, "{submitted}");
    assert!(submitted["handle"].as_str().is_some_and(|h| h.starts_with("H:")), "{submitted}");
    function_where(&app, &function, "1 queued", |r| r["messages_ready"] == 1).await;

    let detail = app.json("/api/v1/clusters/gm").await;
    assert_eq!(detail["summary"]["kind"], "gearman", "{detail}");
    assert_eq!(detail["queues"]["overview"]["product"], "Gearman");
    let page = app.html("/clusters/gm").await;
    assert!(page.contains("Gearman 1.") && page.contains("Functions") && page.contains(&server()));
    let list = app.html(&format!("/clusters/gm/queues?q={function}")).await;
    assert!(list.contains(&function) && list.contains("Running") && !list.contains("Buried"));
    let path = format!("/clusters/gm/queues/{}/{function}", server().replace(':', "%3A"));
    let one = app.html(&path).await;
    assert!(one.contains("function-actions") && !one.contains("links-error"), "{one}");
    let chinese = app.text_in_chinese(&format!("/clusters/gm/queues?q={function}")).await;
    assert!(chinese.contains("函数") && chinese.contains("运行中"), "{chinese}");
    let form = app.html(&format!("/clusters/gm/submit?function={function}")).await;
    assert!(form.contains(&format!("value=\"{function}\"")) && form.contains(&server()));
    let audit = app.json("/api/v1/audit").await.to_string();
    assert!(audit.contains("gearman.submit"), "{audit}");
    app.stop().await;
}
