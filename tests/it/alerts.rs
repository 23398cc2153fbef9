//! Lag alerts end to end: a real broker, a real SMTP server (scripts/smtp_sink.py, aiosmtpd) and
//! an HTTP webhook receiver run by the test. One firing and one resolved notice per incident,
//! retries when the SMTP server is down, no repeat after a restart, clear channel errors.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{HeaderMap, StatusCode};
use base64::Engine as _;
use osprey::config::Config;
use osprey::secret::Secret;
use serde_json::{Value, json};

use crate::groups::commit;
use crate::helpers::*;

/// scripts/smtp_sink.py on a port of this test's own; messages land in `maildir/new`.
pub struct SmtpSink {
    pub port: u16,
    dir: tempfile::TempDir,
    auth: Option<(String, String)>,
    /// `--tls-cert`, `--tls-key` and further flags.
    tls: Vec<String>,
    child: Option<Child>,
}

impl SmtpSink {
    pub fn on_port(port: u16, auth: Option<(&str, &str)>) -> SmtpSink {
        SmtpSink {
            port,
            dir: tempfile::tempdir().unwrap(),
            auth: auth.map(|(u, p)| (u.to_owned(), p.to_owned())),
            tls: Vec::new(),
            child: None,
        }
    }

    pub async fn start(auth: Option<(&str, &str)>) -> SmtpSink {
        let mut sink = SmtpSink::on_port(free_port(), auth);
        sink.run().await;
        sink
    }

    pub async fn run(&mut self) {
        let mut command = Command::new(peer("OSPREY_TEST_PYTHON"));
        command
            .arg(peer("OSPREY_TEST_SMTP_SINK"))
            .args(["--port", &self.port.to_string()])
            .arg("--maildir")
            .arg(self.maildir())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if let Some((user, password)) = &self.auth {
            command.args(["--user", user, "--password", password]);
        }
        command.args(&self.tls);
        self.child = Some(command.spawn().expect("start the SMTP sink"));
        let port = self.port;
        eventually(Duration::from_secs(20), "the SMTP sink to listen", || async move {
            std::net::TcpStream::connect(("127.0.0.1", port)).ok().map(drop)
        })
        .await;
    }

    fn maildir(&self) -> PathBuf {
        self.dir.path().join("maildir")
    }

    /// Every message received so far, oldest first, as (decoded subject, raw text).
    pub fn messages(&self) -> Vec<(String, String)> {
        let mut files: Vec<_> = std::fs::read_dir(self.maildir().join("new"))
            .map(|dir| dir.filter_map(Result::ok).map(|e| e.path()).collect())
            .unwrap_or_default();
        files.sort_by_key(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok());
        files
            .iter()
            .map(|p| {
                let raw = std::fs::read_to_string(p).unwrap();
                (subject_of(&raw), raw)
            })
            .collect()
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The `Subject:` header, unfolded and with RFC 2047 encoded words decoded.
fn subject_of(raw: &str) -> String {
    let mut header = String::new();
    let mut inside = false;
    for line in raw.lines() {
        if let Some(rest) = line.strip_prefix("Subject:") {
            header.push_str(rest.trim());
            inside = true;
        } else if inside && line.starts_with([' ', '\t']) {
            header.push(' ');
            header.push_str(line.trim());
        } else if inside {
            break;
        }
    }
    // Whitespace between two encoded words is dropped; elsewhere it is kept.
    let mut out = String::new();
    let mut previous_encoded = None;
    for word in header.split(' ') {
        let encoded = word.strip_prefix("=?utf-8?b?").and_then(|w| w.strip_suffix("?="));
        if previous_encoded.is_some() && !(previous_encoded == Some(true) && encoded.is_some()) {
            out.push(' ');
        }
        match encoded {
            Some(encoded) => {
                let bytes = base64::engine::general_purpose::STANDARD.decode(encoded).unwrap();
                out.push_str(&String::from_utf8(bytes).unwrap());
            }
            None => out.push_str(word),
        }
        previous_encoded = Some(encoded.is_some());
    }
    out
}

/// The body of a message, with quoted-printable soft breaks and `=XX` escapes undone.
fn body_of(raw: &str) -> String {
    let unfolded = raw.replace("=\r\n", "").replace("=\n", "");
    let mut out = Vec::new();
    let bytes = unfolded.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'='
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(&unfolded[i + 1..i + 3], 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// An HTTP server that records every webhook call and answers with a chosen status.
#[derive(Clone)]
pub struct Receiver {
    pub url: String,
    calls: Arc<Mutex<Vec<(HeaderMap, Value)>>>,
    status: Arc<AtomicU16>,
}

impl Receiver {
    pub async fn start() -> Receiver {
        let calls: Arc<Mutex<Vec<(HeaderMap, Value)>>> = Arc::default();
        let status = Arc::new(AtomicU16::new(200));
        let (recorded, answer) = (calls.clone(), status.clone());
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |headers: HeaderMap, body: axum::body::Bytes| {
                let (recorded, answer) = (recorded.clone(), answer.clone());
                async move {
                    let value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                    recorded.lock().unwrap().push((headers, value));
                    let status = StatusCode::from_u16(answer.load(Ordering::SeqCst)).unwrap();
                    (status, "receiver says so")
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Receiver { url, calls, status }
    }

    pub fn bodies(&self) -> Vec<Value> {
        self.calls.lock().unwrap().iter().map(|(_, body)| body.clone()).collect()
    }
}

/// Osprey watching `broker` as cluster `prod`, with the alerting part of `alerts_toml`.
pub fn config(broker: &Broker, dir: &tempfile::TempDir, alerts_toml: &str) -> Config {
    let mut config = Config::from_toml_str(alerts_toml).expect("the test's config is valid");
    crate::helpers::told_at_once(&mut config, alerts_toml);
    config.database.url =
        Secret::new(format!("sqlite://{}", dir.path().join("osprey.db").display()));
    config.clusters = vec![kafka_cluster("prod", &broker.bootstrap())];
    config.auth.anonymous_read = true;
    config.alerts.allow_private_targets = true;
    config
}

pub fn lag_rule(channels: &str) -> String {
    format!(
        r#"
        [[alerts.rules]]
        name = "billing-lag"
        kind = "consumer_lag"
        cluster = "prod"
        group = "billing"
        topic = "orders"
        threshold = 10
        for = "2s"
        repeat_interval = "1h"
        severity = "critical"
        channels = [{channels}]
        "#
    )
}

pub fn mail_channel(name: &str, port: u16, auth: Option<(&str, &str)>) -> String {
    let credentials =
        auth.map(|(u, p)| format!("username = \"{u}\"\npassword = \"{p}\"\n")).unwrap_or_default();
    format!(
        r#"
        [[alerts.channels]]
        name = "{name}"
        kind = "email"
        smtp_host = "127.0.0.1"
        smtp_port = {port}
        tls = "none"
        {credentials}
        from = "osprey@example.com"
        to = ["oncall@example.com", "dba@example.com"]
        timeout = "5s"
        "#
    )
}

pub fn hook_channel(name: &str, url: &str) -> String {
    format!(
        r#"
        [[alerts.channels]]
        name = "{name}"
        kind = "webhook"
        url = "{url}"
        format = "generic"
        secret = "hook-secret"
        headers = {{ "X-Team" = "data" }}
        timeout = "5s"
        "#
    )
}

pub const FAST_RETRIES: &str = "[alerts]\nretry_initial = \"300ms\"\nretry_max = \"1s\"\npublic_url = \"https://osprey.example.com\"\n";

/// A broker with `orders` holding 30 messages and group `billing` committed at 0: lag 30.
pub async fn lagging_group() -> Broker {
    let broker = Broker::start(BrokerKind::Noida).await;
    let bootstrap = broker.bootstrap();
    create_topics(&bootstrap, &[("orders", 1)]).await;
    produce_one_by_one(&bootstrap, "orders", 0, 30).await;
    commit(&bootstrap, "billing", &[("orders", 0, 0)]);
    broker
}

async fn wait_polls(app: &TestApp, polls: usize) {
    for _ in 0..polls {
        let before = app.json("/api/v1/clusters").await[0]["last_attempt_at"].clone();
        eventually(Duration::from_secs(10), "another poll", || async {
            (app.json("/api/v1/clusters").await[0]["last_attempt_at"] != before).then_some(())
        })
        .await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_lagging_group_gets_one_firing_and_one_resolved_notice_per_channel() {
    let broker = lagging_group().await;
    let smtp = SmtpSink::start(None).await;
    let hook = Receiver::start().await;
    let dir = tempfile::tempdir().unwrap();
    let toml = format!(
        "{FAST_RETRIES}{}{}{}",
        mail_channel("mail", smtp.port, None),
        hook_channel("hook", &hook.url),
        lag_rule("\"mail\", \"hook\"")
    );
    let app = TestApp::spawn(config(&broker, &dir, &toml)).await;

    let firing = eventually(Duration::from_secs(30), "the firing e-mail", || async {
        smtp.messages().first().cloned()
    })
    .await;
    assert_eq!(firing.0, "[FIRING · CRITICAL] lag 30 > 10 — group billing (topic orders) on prod");
    let body = body_of(&firing.1);
    for needle in [
        "Cluster:   prod",
        "Group:     billing",
        "Topic:     orders",
        "Value:     30",
        "Threshold: 10",
        "https://osprey.example.com/clusters/prod/groups/billing",
        "To: oncall@example.com, dba@example.com",
    ] {
        assert!(body.contains(needle), "{needle:?} in the e-mail:\n{body}");
    }
    assert!(body.contains("text/html"), "an HTML part too");

    let call = eventually(Duration::from_secs(10), "the firing webhook", || async {
        hook.calls.lock().unwrap().first().cloned()
    })
    .await;
    let (headers, json) = call;
    assert_eq!(json["status"], "firing");
    assert_eq!((json["cluster"].clone(), json["group"].clone()), (json!("prod"), json!("billing")));
    assert_eq!((json["topic"].clone(), json["value"].clone()), (json!("orders"), json!(30.0)));
    assert_eq!(json["threshold"], json!(10.0));
    assert_eq!(headers["x-team"], "data");
    assert!(headers["x-osprey-signature"].to_str().unwrap().starts_with("sha256="));
    // The delivery's id, for a receiver to drop a repeat (delivery is at least once).
    let delivery = headers["x-osprey-delivery"].to_str().unwrap().to_owned();
    let incidents = app.json("/api/v1/alerts").await.to_string();
    assert!(!delivery.is_empty() && incidents.contains(&delivery), "{delivery} in {incidents}");
    // The e-mail carries its own delivery's id as its Message-ID, the same on every attempt.
    let raw = smtp.messages()[0].1.clone();
    let message_id = raw
        .lines()
        .find_map(|line| line.trim_end().strip_prefix("Message-ID: <")?.strip_suffix("@osprey>"))
        .unwrap_or_else(|| panic!("a Message-ID in\n{raw}"));
    assert_ne!(message_id, delivery, "one delivery per channel");
    assert!(incidents.contains(message_id), "{message_id} in {incidents}");

    // Messages keep arriving, the group stays behind: no second notice before the repeat
    // interval.
    produce_one_by_one(&broker.bootstrap(), "orders", 0, 10).await;
    wait_polls(&app, 4).await;
    assert_eq!(smtp.messages().len(), 1, "one e-mail while the incident lasts");
    assert_eq!(hook.bodies().len(), 1, "one webhook call while the incident lasts");
    let alerts = app.json("/api/v1/alerts").await;
    assert_eq!(alerts["firing"].as_array().unwrap().len(), 1);
    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert!(
        metrics.contains(r#"osprey_alerts_firing{rule="billing-lag",severity="critical"} 1"#),
        "{metrics}"
    );
    let page = app.html("/alerts").await;
    assert!(page.contains("lag 30 &#62; 10 — group billing (topic orders) on prod"), "{page}");

    // The consumer catches up: one recovery notice on each channel.
    commit(&broker.bootstrap(), "billing", &[("orders", 0, 40)]);
    eventually(Duration::from_secs(30), "the resolved e-mail and webhook", || async {
        (smtp.messages().len() == 2 && hook.bodies().len() == 2).then_some(())
    })
    .await;
    assert_eq!(
        smtp.messages()[1].0,
        "[RESOLVED] lag 0 ≤ 10 — group billing (topic orders) on prod"
    );
    let resolved = &hook.bodies()[1];
    assert_eq!(resolved["status"], "resolved");
    assert_eq!(resolved["incident"], json["incident"], "the same incident");
    wait_polls(&app, 3).await;
    assert_eq!((smtp.messages().len(), hook.bodies().len()), (2, 2), "nothing more");
    let alerts = app.json("/api/v1/alerts").await;
    assert!(alerts["firing"].as_array().unwrap().is_empty());
    let history = &alerts["history"][0];
    assert!(history["resolved_at"].is_i64());
    let deliveries = history["deliveries"].as_array().unwrap();
    assert_eq!(deliveries.len(), 4, "firing and resolved, to both channels");
    assert!(deliveries.iter().all(|d| d["status"] == "sent" && d["attempt_log"][0]["ok"] == true));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_restart_while_firing_sends_no_second_firing_notice() {
    let broker = lagging_group().await;
    let hook = Receiver::start().await;
    let dir = tempfile::tempdir().unwrap();
    let toml = format!("{FAST_RETRIES}{}{}", hook_channel("hook", &hook.url), lag_rule("\"hook\""));
    let app = TestApp::spawn(config(&broker, &dir, &toml)).await;
    eventually(Duration::from_secs(30), "the firing webhook", || async {
        (!hook.bodies().is_empty()).then_some(())
    })
    .await;
    app.stop().await;

    let app = TestApp::spawn(config(&broker, &dir, &toml)).await;
    wait_polls(&app, 5).await;
    assert_eq!(hook.bodies().len(), 1, "no second firing notice after the restart");
    commit(&broker.bootstrap(), "billing", &[("orders", 0, 30)]);
    eventually(Duration::from_secs(30), "the resolved webhook", || async {
        (hook.bodies().len() == 2).then_some(())
    })
    .await;
    let bodies = hook.bodies();
    assert_eq!(
        (bodies[0]["status"].clone(), bodies[1]["status"].clone()),
        (json!("firing"), json!("resolved"))
    );
    assert_eq!(bodies[0]["incident"], bodies[1]["incident"]);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn channel_failures_show_a_clear_error_in_the_test_and_in_the_history() {
    let broker = lagging_group().await;
    let smtp = SmtpSink::start(Some(("osprey", "right-password"))).await;
    let hook = Receiver::start().await;
    hook.status.store(500, Ordering::SeqCst);
    let closed_port = free_port();
    let dir = tempfile::tempdir().unwrap();
    let toml = format!(
        "{FAST_RETRIES}{}{}{}{}{}",
        mail_channel("good-mail", smtp.port, Some(("osprey", "right-password"))),
        mail_channel("wrong-password", smtp.port, Some(("osprey", "wrong"))),
        mail_channel("no-server", closed_port, None),
        hook_channel("broken-hook", &hook.url),
        lag_rule("\"wrong-password\", \"no-server\", \"broken-hook\"")
    );
    let app = TestApp::spawn(config(&broker, &dir, &toml)).await;

    let test = |name: &'static str| {
        let app = &app;
        async move {
            let url = format!("{}/api/v1/alert-channels/{name}/test", app.base);
            app.http.post(url).send().await.unwrap().json::<Value>().await.unwrap()
        }
    };
    assert_eq!(test("good-mail").await, json!({ "ok": true, "error": null }));
    assert_eq!(subject_of(&smtp.messages()[0].1).split(' ').next(), Some("[TEST]"));
    let expectations = [
        ("wrong-password", "535"),
        ("no-server", "refused"),
        ("broken-hook", "answered 500 Internal Server Error: receiver says so"),
    ];
    for (name, needle) in expectations {
        let outcome = test(name).await;
        assert_eq!(outcome["ok"], false, "{name}");
        let error = outcome["error"].as_str().unwrap();
        assert!(error.contains(needle), "{name}: {error:?} should say {needle:?}");
    }
    // The page shows the same error.
    let page = app
        .http
        .post(format!("{}/alerts/channels/wrong-password/test", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("id=\"test-result\"") && page.contains("535"), "{page}");

    // The alert fires to the three broken channels; each attempt records its error.
    let incident =
        eventually(Duration::from_secs(30), "failed attempts on every channel", || async {
            let alerts = app.json("/api/v1/alerts").await;
            let incident = alerts["firing"][0].clone();
            let deliveries = incident["deliveries"].as_array()?;
            (deliveries.len() == 3 && deliveries.iter().all(|d| d["attempts"].as_i64() >= Some(1)))
                .then_some(incident)
        })
        .await;
    for (name, needle) in expectations {
        let delivery = incident["deliveries"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["channel"] == name)
            .unwrap();
        let error = delivery["attempt_log"][0]["error"].as_str().unwrap();
        assert!(error.contains(needle), "{name}: {error:?} should say {needle:?}");
    }
    let id = incident["id"].as_str().unwrap();
    let page = app.html(&format!("/alerts/incidents/{id}")).await;
    assert!(page.contains("answered 500 Internal Server Error"), "{page}");
    assert_eq!(smtp.messages().len(), 1, "only the test message got through");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn rules_channels_and_silences_are_managed_through_the_api_and_the_pages() {
    let app = TestApp::with_clusters(vec![]).await;
    let post_json = |path: &'static str, body: Value| {
        let app = &app;
        async move {
            let response =
                app.http.post(format!("{}{path}", app.base)).json(&body).send().await.unwrap();
            (response.status().as_u16(), response.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let (status, channel) = post_json(
        "/api/v1/alert-channels",
        json!({"name": "hook", "kind": "webhook", "url": "http://127.0.0.1:9/x", "secret": "s3cret"}),
    )
    .await;
    assert_eq!(status, 201);
    assert_eq!(channel["secret"], "<redacted>", "secrets never leave the server");
    let (status, error) = post_json(
        "/api/v1/alert-rules",
        json!({"name": "r", "kind": "consumer_lag", "channels": ["hook"]}),
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(error["error"]["field"], "threshold");
    let (status, rule) = post_json(
        "/api/v1/alert-rules",
        json!({"name": "r", "kind": "consumer_lag", "threshold": 5, "for": "1m", "channels": ["hook"]}),
    )
    .await;
    assert_eq!(
        (status, rule["source"].clone(), rule["for"].clone()),
        (201, json!("ui"), json!("1m"))
    );

    // The form edits the same rule; a bad value comes back with the form and its error.
    let form = |pairs: Vec<(&'static str, &'static str)>| {
        let app = &app;
        async move {
            app.http.post(format!("{}/alerts/rules/r", app.base)).form(&pairs).send().await.unwrap()
        }
    };
    let bad = form(vec![
        ("name", "r"),
        ("kind", "consumer_lag"),
        ("threshold", "many"),
        ("channels", "hook"),
    ])
    .await;
    assert_eq!(bad.status(), 422);
    let text = bad.text().await.unwrap();
    // The error stands beside the field it is about, and what was typed stays.
    let beside = text.split(r#"id="error-threshold">"#).nth(1).unwrap_or_default();
    assert!(
        beside.split("</small>").next().unwrap_or_default().contains("is not a number"),
        "{text}"
    );
    assert!(!text.contains(r#"id="form-error""#) && text.contains(r#"value="many""#), "{text}");
    let good = form(vec![
        ("name", "r"),
        ("kind", "consumer_lag"),
        ("threshold", "500"),
        ("channels", "hook"),
        ("enabled", "on"),
    ])
    .await;
    assert!(good.url().path().ends_with("/alerts/rules"), "redirected to the list");
    assert_eq!(app.json("/api/v1/alert-rules/r").await["threshold"], 500.0);
    let rules_page = app.html("/alerts/rules").await;
    assert!(rules_page.contains("lag &#62; 500"), "{rules_page}");

    // The channel and silence forms too put the error beside its field and keep what was typed.
    let error_beside = |text: &str, field: &str| {
        let after = text.split(&format!(r#"id="error-{field}">"#)).nth(1).unwrap_or_default();
        after.split("</small>").next().unwrap_or_default().to_owned()
    };
    let post_form = |path: &'static str, pairs: Vec<(&'static str, &'static str)>| {
        let app = &app;
        async move {
            let reply =
                app.http.post(format!("{}{path}", app.base)).form(&pairs).send().await.unwrap();
            (reply.status(), reply.text().await.unwrap())
        }
    };
    let (status, text) = post_form(
        "/alerts/channels/hook",
        vec![("name", "hook"), ("kind", "webhook"), ("url", "ftp://hooks.example")],
    )
    .await;
    assert_eq!(status, 422, "{text}");
    assert!(error_beside(&text, "url").contains("http"), "{text}");
    assert!(!text.contains(r#"id="form-error""#) && text.contains("ftp://hooks.example"));
    let (status, text) =
        post_form("/alerts/silences", vec![("rule", "r"), ("duration", "forever")]).await;
    assert_eq!(status, 422, "{text}");
    assert!(!error_beside(&text, "duration").is_empty(), "{text}");
    assert!(!text.contains(r#"id="form-error""#) && text.contains(r#"value="forever""#));

    let anonymous =
        app.anonymous().post(format!("{}/alerts/rules/r/delete", app.base)).send().await.unwrap();
    assert_eq!(anonymous.status(), 401, "changes need a login");
    assert_eq!(app.json("/api/v1/alert-rules/r").await["name"], "r", "nothing changed");

    let (status, silence) =
        post_json("/api/v1/silences", json!({"rule": "r", "duration": "1h", "note": "deploy"}))
            .await;
    assert_eq!(status, 201);
    assert!(app.html("/alerts/silences").await.contains("deploy"));
    let id = silence["id"].as_str().unwrap();
    let ended = app.http.delete(format!("{}/api/v1/silences/{id}", app.base)).send().await.unwrap();
    assert_eq!(ended.status(), 204);

    let in_use =
        app.http.delete(format!("{}/api/v1/alert-channels/hook", app.base)).send().await.unwrap();
    assert_eq!(in_use.status(), 422, "a channel used by a rule stays");
    for path in ["/api/v1/alert-rules/r", "/api/v1/alert-channels/hook"] {
        let gone = app.http.delete(format!("{}{path}", app.base)).send().await.unwrap();
        assert_eq!(gone.status(), 204, "{path}");
    }
    app.stop().await;
}

/// A certificate for `localhost` (its own CA), written as PEM files into `dir`; returns the
/// certificate's path, which a channel then trusts with `tls_ca_file`.
fn localhost_certificate(dir: &std::path::Path) -> (PathBuf, PathBuf) {
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let (cert_path, key_path) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert_path, cert.cert.pem()).unwrap();
    std::fs::write(&key_path, cert.key_pair.serialize_pem()).unwrap();
    (cert_path, key_path)
}

#[tokio::test(flavor = "multi_thread")]
async fn e_mail_goes_out_over_starttls_and_implicit_tls() {
    let certs = tempfile::tempdir().unwrap();
    let (cert, key) = localhost_certificate(certs.path());
    let tls_args = |implicit: bool| {
        let mut args = vec![
            "--tls-cert".to_string(),
            cert.display().to_string(),
            "--tls-key".to_string(),
            key.display().to_string(),
        ];
        if implicit {
            args.push("--implicit-tls".into());
        }
        args
    };
    let mut starttls = SmtpSink::on_port(free_port(), Some(("osprey", "secret")));
    starttls.tls = tls_args(false);
    starttls.run().await;
    let mut implicit = SmtpSink::on_port(free_port(), None);
    implicit.tls = tls_args(true);
    implicit.run().await;

    let channel = |name: &str, port: u16, mode: &str, ca: bool, auth: bool| {
        let ca = if ca { format!("tls_ca_file = \"{}\"\n", cert.display()) } else { String::new() };
        let auth = if auth { "username = \"osprey\"\npassword = \"secret\"\n" } else { "" };
        format!(
            "[[alerts.channels]]\nname = \"{name}\"\nkind = \"email\"\nsmtp_host = \"localhost\"\n\
             smtp_port = {port}\ntls = \"{mode}\"\n{ca}{auth}from = \"osprey@example.com\"\n\
             to = [\"oncall@example.com\"]\ntimeout = \"5s\"\n"
        )
    };
    let toml = [
        channel("starttls", starttls.port, "starttls", true, true),
        channel("implicit", implicit.port, "tls", true, false),
        channel("untrusted", starttls.port, "starttls", false, true),
        channel("plain-to-tls", starttls.port, "none", false, true),
    ]
    .concat();
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::from_toml_str(&toml).unwrap();
    crate::helpers::told_at_once(&mut config, &toml);
    config.database.url = Secret::new(format!("sqlite://{}", dir.path().join("o.db").display()));
    config.auth.anonymous_read = true;
    config.alerts.allow_private_targets = true;
    let app = TestApp::spawn(config).await;
    let test = |name: &'static str| {
        let app = &app;
        async move {
            let url = format!("{}/api/v1/alert-channels/{name}/test", app.base);
            app.http.post(url).send().await.unwrap().json::<Value>().await.unwrap()
        }
    };
    assert_eq!(test("starttls").await["ok"], true, "STARTTLS with AUTH");
    assert_eq!(test("implicit").await["ok"], true, "implicit TLS");
    assert_eq!((starttls.messages().len(), implicit.messages().len()), (1, 1));
    let untrusted = test("untrusted").await;
    let error = untrusted["error"].as_str().unwrap();
    assert!(
        error.to_lowercase().contains("certificate"),
        "an untrusted certificate says so: {error}"
    );
    let plain = test("plain-to-tls").await;
    assert_eq!(plain["ok"], false, "a server that requires STARTTLS refuses plain text: {plain}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn channel_tokens_and_header_values_are_shown_only_to_admins() {
    let toml = r#"
        [[alerts.channels]]
        name = "hook"
        kind = "webhook"
        url = "https://hooks.slack.com/services/T0/B0/PATHTOKEN?key=QUERYTOKEN"
        format = "slack"
        headers = { "Authorization" = "Bearer HEADERTOKEN" }
        "#;
    let app = TestApp::from_toml(toml, vec![]).await;
    let anonymous = reqwest::Client::new();
    for path in ["/api/v1/alert-channels", "/api/v1/alert-channels/hook", "/alerts/channels"] {
        let response = anonymous.get(format!("{}{path}", app.base)).send().await.unwrap();
        assert!(response.status().is_success(), "{path}: {}", response.status());
        let text = response.text().await.unwrap();
        for token in ["PATHTOKEN", "QUERYTOKEN", "HEADERTOKEN"] {
            assert!(!text.contains(token), "{path} shows {token} to a reader: {text}");
        }
        assert!(text.contains("hooks.slack.com"), "{path} still says where it points");
    }
    let definition = app.json("/api/v1/alert-channels/hook").await;
    assert!(definition["url"].as_str().unwrap().contains("PATHTOKEN"), "{definition}");
    assert_eq!(definition["headers"]["Authorization"], "Bearer HEADERTOKEN", "{definition}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn channels_made_in_the_api_read_only_allowed_variables_and_errors_never_echo_them() {
    // SAFETY: the variables are this test's own; nothing else reads or writes them.
    unsafe {
        std::env::set_var("OSPREY_TEST_ALLOWED_HOOK", "http://127.0.0.1:9/hook");
        std::env::set_var("OSPREY_TEST_FORBIDDEN", "postgres://u:SECRETVALUE@db/x");
        std::env::set_var("OSPREY_TEST_BAD_HOOK", "not a url SECRETVALUE");
    }
    let toml = r#"
        [alerts]
        env_allowlist = ["OSPREY_TEST_ALLOWED_HOOK"]
        [[alerts.channels]]
        name = "from-config"
        kind = "webhook"
        url = "${OSPREY_TEST_BAD_HOOK}"
        "#;
    let app = TestApp::from_toml(toml, vec![]).await;
    let hook = |name: &str, url: &str| json!({ "name": name, "kind": "webhook", "url": url });
    let (code, refused) = app
        .call(
            reqwest::Method::POST,
            "/api/v1/alert-channels",
            hook("leaky", "${OSPREY_TEST_FORBIDDEN}"),
        )
        .await;
    assert_eq!(code, 422, "{refused}");
    let text = refused.to_string();
    assert!(text.contains("env_allowlist") && !text.contains("SECRETVALUE"), "{text}");
    let (code, made) = app
        .call(
            reqwest::Method::POST,
            "/api/v1/alert-channels",
            hook("allowed", "${OSPREY_TEST_ALLOWED_HOOK}"),
        )
        .await;
    assert_eq!(code, 201, "{made}");

    // A config channel may read any variable, and its errors never repeat the value.
    let (_, tested) = app
        .call(reqwest::Method::POST, "/api/v1/alert-channels/from-config/test", Value::Null)
        .await;
    let error = tested["error"].as_str().unwrap_or_default();
    assert!(error.contains("not a valid URL") && !error.contains("SECRETVALUE"), "{tested}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_webhook_that_redirects_fails_and_its_target_hears_nothing() {
    let landed = Arc::new(AtomicU16::new(0));
    let counter = landed.clone();
    let receiver = axum::Router::new()
        .route(
            "/hop",
            axum::routing::post(|| async { axum::response::Redirect::temporary("/landing") }),
        )
        .route(
            "/landing",
            axum::routing::post(move || {
                let counter = counter.clone();
                async move {
                    counter.fetch_add(1, Ordering::SeqCst);
                    "landed"
                }
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hop", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, receiver).await });
    let app = TestApp::from_toml(&hook_channel("hop", &url), vec![]).await;
    let (_, tested) =
        app.call(reqwest::Method::POST, "/api/v1/alert-channels/hop/test", Value::Null).await;
    assert_eq!(tested["ok"], false, "{tested}");
    assert!(tested["error"].as_str().unwrap().contains("307"), "{tested}");
    assert_eq!(landed.load(Ordering::SeqCst), 0, "the headers went nowhere else");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_ca_file_is_named_in_the_config_only_and_read_bounded() {
    let toml = r#"
        [[alerts.channels]]
        name = "relay"
        kind = "email"
        smtp_host = "127.0.0.1"
        smtp_port = 9
        tls = "starttls"
        tls_ca_file = "/dev/zero"
        from = "osprey@example.com"
        to = ["oncall@example.com"]
        timeout = "2s"
        "#;
    let app = TestApp::from_toml(toml, vec![]).await;
    let mail = |name: &str, ca: &str| {
        json!({
            "name": name, "kind": "email", "smtp_host": "127.0.0.1", "tls": "starttls",
            "tls_ca_file": ca, "from": "osprey@example.com", "to": ["a@example.com"],
        })
    };
    let (code, refused) =
        app.call(reqwest::Method::POST, "/api/v1/alert-channels", mail("ui", "/etc/shadow")).await;
    assert_eq!(code, 422, "{refused}");
    assert!(refused.to_string().contains("config file"), "{refused}");
    // Editing the config's channel keeps its file, and cannot point it elsewhere.
    let url = "/api/v1/alert-channels/relay";
    let (code, moved) = app.call(reqwest::Method::PUT, url, mail("relay", "/etc/shadow")).await;
    assert_eq!(code, 422, "{moved}");
    let (code, kept) = app.call(reqwest::Method::PUT, url, mail("relay", "/dev/zero")).await;
    assert_eq!(code, 200, "{kept}");

    // /dev/zero would be read forever: the delivery says what is wrong and returns.
    let (_, tested) =
        app.call(reqwest::Method::POST, "/api/v1/alert-channels/relay/test", Value::Null).await;
    let error = tested["error"].as_str().unwrap_or_default();
    assert!(error.contains("not a regular file"), "{tested}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn notices_reach_internal_addresses_only_when_the_config_allows_it() {
    let hook = Receiver::start().await;
    let smtp = SmtpSink::start(None).await;
    let local_name = hook.url.replace("127.0.0.1", "localhost");
    let toml = format!(
        "{}{}{}{}",
        hook_channel("loopback-hook", &hook.url),
        hook_channel("named-loopback", &local_name),
        hook_channel("metadata", "http://169.254.169.254/latest/meta-data/"),
        mail_channel("loopback-mail", smtp.port, None),
    );
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::from_toml_str(&toml).unwrap();
    crate::helpers::told_at_once(&mut config, &toml);
    config.database.url =
        Secret::new(format!("sqlite://{}", dir.path().join("osprey.db").display()));
    config.auth.anonymous_read = true;
    assert!(!config.alerts.allow_private_targets, "refused by default");
    let app = TestApp::spawn(config).await;
    for name in ["loopback-hook", "named-loopback", "metadata", "loopback-mail"] {
        let url = format!("/api/v1/alert-channels/{name}/test");
        let (_, tested) = app.call(reqwest::Method::POST, &url, Value::Null).await;
        assert_eq!(tested["ok"], false, "{name}: {tested}");
        let error = tested["error"].as_str().unwrap();
        assert!(error.contains("allow_private_targets"), "{name}: {error}");
    }
    assert!(hook.bodies().is_empty(), "the receiver heard nothing");
    assert!(smtp.messages().is_empty(), "the relay heard nothing");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refusing_webhook_is_summarised_not_echoed() {
    let receiver = axum::Router::new().route(
        "/hook",
        axum::routing::post(|| async {
            let page = "<html><body>internal admin panel, build SECRET-BANNER</body></html>";
            (StatusCode::FORBIDDEN, [("content-type", "text/html")], page)
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, receiver).await });
    let app = TestApp::from_toml(&hook_channel("html", &url), vec![]).await;
    let (_, tested) =
        app.call(reqwest::Method::POST, "/api/v1/alert-channels/html/test", Value::Null).await;
    let error = tested["error"].as_str().unwrap();
    assert!(error.contains("403") && error.contains("text/html"), "{error}");
    assert!(!error.contains("SECRET-BANNER"), "{error}");
    app.stop().await;
}
