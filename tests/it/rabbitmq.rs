//! The RabbitMQ adapter against a real node (an isolated one the provisioning script starts):
//! queues with their backlog, nodes, the overview; clear errors for wrong credentials and an
//! unreachable node. Each test works in a vhost of its own.

use std::time::Duration;

use osprey::brokers::AdapterError;
use osprey::brokers::rabbitmq::{RabbitAdapter, RabbitSettings};
use serde_json::json;

use osprey::config::ClusterConfig;

use crate::helpers::*;

struct Vhost {
    http: reqwest::Client,
    base: String,
    name: String,
}

impl Vhost {
    async fn create() -> Vhost {
        let base = peer("OSPREY_TEST_RABBITMQ_HTTP");
        let http = reqwest::Client::new();
        let name = unique("it");
        let put = |path: String, body: serde_json::Value| {
            let request =
                http.put(format!("{base}{path}")).basic_auth("guest", Some("guest")).json(&body);
            async move {
                let response = request.send().await.unwrap();
                assert!(response.status().is_success(), "PUT: {}", response.status());
            }
        };
        put(format!("/api/vhosts/{name}"), json!({})).await;
        put(
            format!("/api/permissions/{name}/guest"),
            json!({"configure": ".*", "write": ".*", "read": ".*"}),
        )
        .await;
        Vhost { http, base, name }
    }

    async fn queue(&self, queue: &str) {
        let response = self
            .http
            .put(format!("{}/api/queues/{}/{queue}", self.base, self.name))
            .basic_auth("guest", Some("guest"))
            .json(&json!({"durable": false}))
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success());
    }

    async fn publish(&self, queue: &str, count: usize) {
        for i in 0..count {
            let response = self
                .http
                .post(format!("{}/api/exchanges/{}/amq.default/publish", self.base, self.name))
                .basic_auth("guest", Some("guest"))
                .json(&json!({"properties": {}, "routing_key": queue, "payload": format!("m{i}"), "payload_encoding": "string"}))
                .send()
                .await
                .unwrap();
            assert_eq!(response.json::<serde_json::Value>().await.unwrap()["routed"], true);
        }
    }

    async fn drop_it(self) {
        let _ = self
            .http
            .delete(format!("{}/api/vhosts/{}", self.base, self.name))
            .basic_auth("guest", Some("guest"))
            .send()
            .await;
    }
}

fn adapter(url: &str, password: &str) -> RabbitAdapter {
    RabbitAdapter::new(RabbitSettings {
        management_url: url.into(),
        username: "guest".into(),
        password: password.into(),
        timeout: Duration::from_secs(5),
        tls_ca_file: None,
    })
    .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_snapshot_shows_queues_with_their_backlog_and_the_nodes() {
    let vhost = Vhost::create().await;
    vhost.queue("orders").await;
    vhost.queue("idle").await;
    vhost.publish("orders", 5).await;
    let rabbit = adapter(&vhost.base, "guest");
    // The management API's counters trail publishes by a few seconds.
    let snapshot =
        eventually(Duration::from_secs(30), "the backlog in the queue listing", || async {
            let snapshot = rabbit.snapshot(osprey::clock::now_millis()).await.ok()?;
            let orders =
                snapshot.queues.iter().find(|q| q.vhost == vhost.name && q.name == "orders")?;
            (orders.backlog() == 5).then_some(snapshot)
        })
        .await;
    let ours: Vec<&str> =
        snapshot.queues.iter().filter(|q| q.vhost == vhost.name).map(|q| q.name.as_str()).collect();
    assert_eq!(ours, ["idle", "orders"], "sorted by vhost and name");
    let orders =
        snapshot.queues.iter().find(|q| q.vhost == vhost.name && q.name == "orders").unwrap();
    assert_eq!((orders.messages_ready, orders.consumers, orders.kind.as_str()), (5, 0, "classic"));
    assert!(snapshot.overview.version.starts_with("3."), "{:?}", snapshot.overview);
    assert!(snapshot.overview.object_totals.queues >= 2);
    let node = &snapshot.nodes[0];
    assert!(node.running && !node.in_alarm(), "{node:?}");
    assert!(node.mem_used.is_some() && node.fd_total.is_some());
    vhost.drop_it().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn wrong_credentials_and_an_unreachable_node_say_so() {
    let base = peer("OSPREY_TEST_RABBITMQ_HTTP");
    let refused = adapter(&base, "not-the-password").snapshot(0).await.unwrap_err();
    assert!(
        matches!(&refused, AdapterError::Protocol(m) if m.contains("401") && m.contains("wrong username or password")),
        "{refused}"
    );
    let port = free_port();
    let unreachable =
        adapter(&format!("http://127.0.0.1:{port}"), "guest").snapshot(0).await.unwrap_err();
    assert!(matches!(unreachable, AdapterError::Unreachable(_)), "{unreachable}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_management_api_over_https_is_trusted_through_tls_ca_file() {
    let url = peer("OSPREY_TEST_RABBITMQ_HTTPS");
    let settings = |tls_ca_file: Option<String>| RabbitSettings {
        management_url: url.clone(),
        username: "guest".into(),
        password: "guest".into(),
        timeout: Duration::from_secs(5),
        tls_ca_file,
    };
    let trusted = RabbitAdapter::new(settings(Some(peer("OSPREY_TEST_RABBITMQ_CA")))).unwrap();
    let snapshot = trusted.snapshot(osprey::clock::now_millis()).await.unwrap();
    assert!(snapshot.nodes[0].running, "{:?}", snapshot.nodes);
    // Without the private CA the certificate is refused, and the error says why.
    let untrusted = RabbitAdapter::new(settings(None)).unwrap().snapshot(0).await.unwrap_err();
    assert!(
        matches!(&untrusted, AdapterError::Unreachable(m) if m.contains("certificate") && m.contains("UnknownIssuer")),
        "{untrusted}"
    );
}

fn rabbit_cluster(name: &str, url: &str, password: &str) -> ClusterConfig {
    let mut cluster = kafka_cluster(name, "");
    let password = osprey::secret::Secret::new(password);
    cluster.connection = ClusterConfig::rabbitmq(name, url, "guest", password).connection;
    cluster.poll_timeout = Duration::from_secs(1);
    cluster
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rabbitmq_cluster_is_polled_and_its_queues_listed() {
    let vhost = Vhost::create().await;
    vhost.queue("billing").await;
    vhost.queue("audit").await;
    vhost.publish("billing", 4).await;
    let app = TestApp::with_clusters(vec![
        rabbit_cluster("rabbit", &vhost.base, "guest"),
        rabbit_cluster("locked", &vhost.base, "wrong-password"),
    ])
    .await;
    let path = format!("/api/v1/clusters/rabbit/queues?vhost={}", vhost.name);
    let list = eventually(Duration::from_secs(30), "the backlog in the queue list", || async {
        let response = app.get(&path).await;
        let list: serde_json::Value =
            response.status().is_success().then_some(response)?.json().await.ok()?;
        (list["rows"][0]["name"] == "billing" && list["rows"][0]["messages_ready"] == 4)
            .then_some(list)
    })
    .await;
    assert_eq!(list["matched"], 2, "both queues of the vhost, biggest backlog first: {list}");
    assert_eq!(list["rows"][1]["name"], "audit");

    let detail = app.json("/api/v1/clusters/rabbit").await;
    assert_eq!(detail["summary"]["kind"], "rabbitmq");
    assert_eq!(detail["summary"]["status"], "up");
    assert!(detail["queues"]["nodes"][0]["running"].as_bool().unwrap(), "{detail}");
    let page = app.html("/clusters/rabbit").await;
    assert!(page.contains("id=\"nodes\"") && page.contains("RabbitMQ 3."), "{page}");
    // The Overview counts the cluster's queues where Kafka rows count topics.
    assert!(detail["summary"]["topics"].as_u64().unwrap() >= 2, "{detail}");
    assert!(detail["summary"]["partitions"].is_null(), "{detail}");
    let overview = app.html("/").await;
    assert!(overview.contains("href=\"/clusters/rabbit/queues\""), "{overview}");
    let queues_page =
        app.html(&format!("/clusters/rabbit/queues?vhost={}&sort=name&dir=asc", vhost.name)).await;
    let (audit, billing) =
        (queues_page.find("data-queue=\"audit\""), queues_page.find("data-queue=\"billing\""));
    assert!(audit.is_some() && audit < billing, "sorted by name");

    // The queue's own page and API, with its history.
    let queue = app.json(&format!("/api/v1/clusters/rabbit/queues/{}/billing", vhost.name)).await;
    assert_eq!(queue["queue"]["messages_ready"], 4);
    assert!(
        !queue["history"].as_array().unwrap().is_empty(),
        "the first poll starts the history: {queue}"
    );
    let page = app.html(&format!("/clusters/rabbit/queues/{}/billing", vhost.name)).await;
    assert!(page.contains("id=\"backlog\"") && page.contains("data-series="), "{page}");
    assert!(page.contains("id=\"no-consumers\"") && page.contains("id=\"bindings\""), "{page}");
    assert!(page.contains("/clusters/rabbit/exchanges"), "RabbitMQ navigation: {page}");
    let exchanges = app.json("/api/v1/clusters/rabbit/exchanges").await;
    assert!(
        exchanges
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["name"] == "amq.direct" && x["vhost"] == vhost.name)
    );
    let exchanges_page = app.html("/clusters/rabbit/exchanges").await;
    assert!(exchanges_page.contains("amq.fanout"), "{exchanges_page}");
    let missing = app.get(&format!("/api/v1/clusters/rabbit/queues/{}/nope", vhost.name)).await;
    assert_eq!(missing.status(), 404);

    // Wrong credentials: the cluster shows as unreachable with the reason.
    let locked = eventually(Duration::from_secs(20), "the refused poll", || async {
        let clusters = app.json("/api/v1/clusters").await;
        let locked = clusters.as_array()?.iter().find(|c| c["name"] == "locked")?.clone();
        (locked["status"] == "down").then_some(locked)
    })
    .await;
    assert!(locked["error"].as_str().unwrap().contains("wrong username or password"), "{locked}");
    app.stop().await;
    vhost.drop_it().await;
}

#[test]
fn a_rabbitmq_cluster_needs_its_management_url() {
    let text =
        "[[clusters]]\nname = \"r\"\nkind = \"rabbitmq\"\nusername = \"u\"\npassword = \"p\"";
    let error = osprey::config::Config::from_toml_str(text).unwrap_err().to_string();
    assert!(error.contains("clusters[0].management_url"), "{error}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_queue_nobody_consumes_fires_an_alert_and_recovers_when_drained() {
    let vhost = Vhost::create().await;
    vhost.queue("invoices").await;
    vhost.publish("invoices", 3).await;
    let hook = crate::alerts::Receiver::start().await;
    let rules = format!(
        r#"
        [[alerts.rules]]
        name = "idle-queues"
        kind = "queue_no_consumers"
        cluster = "rabbit"
        vhost = "{}"
        channels = ["hook"]
        "#,
        vhost.name
    );
    let toml = format!("{}{rules}", crate::alerts::hook_channel("hook", &hook.url));
    let app = TestApp::from_toml(&toml, vec![rabbit_cluster("rabbit", &vhost.base, "guest")]).await;
    let firing = eventually(Duration::from_secs(40), "the firing webhook", || async {
        hook.bodies().first().cloned()
    })
    .await;
    assert_eq!(firing["status"], "firing");
    assert_eq!(firing["queue"], format!("{}/invoices", vhost.name));
    assert_eq!(firing["value"], 3.0);
    // Draining the queue (as a consumer would) ends the incident.
    let purged = vhost
        .http
        .delete(format!("{}/api/queues/{}/invoices/contents", vhost.base, vhost.name))
        .basic_auth("guest", Some("guest"))
        .send()
        .await
        .unwrap();
    assert!(purged.status().is_success());
    eventually(Duration::from_secs(40), "the resolved webhook", || async {
        (hook.bodies().len() == 2).then_some(())
    })
    .await;
    assert_eq!(hook.bodies()[1]["status"], "resolved");
    app.stop().await;
    vhost.drop_it().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn publish_and_peek_round_trip_behind_the_operator_role() {
    let vhost = Vhost::create().await;
    vhost.queue("orders").await;
    let app = TestApp::with_clusters(vec![rabbit_cluster("rabbit", &vhost.base, "guest")]).await;
    let publish = |client: reqwest::Client, body: serde_json::Value| {
        let url = format!("{}/api/v1/clusters/rabbit/publish", app.base);
        async move {
            let response = client.post(url).json(&body).send().await.unwrap();
            (
                response.status().as_u16(),
                response.json::<serde_json::Value>().await.unwrap_or_default(),
            )
        }
    };
    let message = json!({
        "vhost": vhost.name, "routing_key": "orders", "payload": "{\"id\": 7}",
        "properties": {"content_type": "application/json"}, "headers": {"trace": "t-7"}
    });
    let (status, sent) = publish(app.http.clone(), message.clone()).await;
    assert_eq!((status, sent["routed"].clone()), (200, json!(true)), "{sent}");
    let (_, lost) = publish(
        app.http.clone(),
        json!({"vhost": vhost.name, "routing_key": "nowhere", "payload": "x"}),
    )
    .await;
    assert_eq!(lost["routed"], false, "no queue is bound to that key");
    let viewer = app.client_as("vera", osprey::auth::Role::Viewer).await;
    let (status, _) = publish(viewer, message).await;
    assert_eq!(status, 403);

    let peek_url = format!("{}/api/v1/clusters/rabbit/queues/{}/orders/get", app.base, vhost.name);
    let peek = || async {
        let response = app.http.post(&peek_url).json(&json!({"count": 5})).send().await.unwrap();
        assert!(response.status().is_success(), "{}", response.status());
        response.json::<serde_json::Value>().await.unwrap()
    };
    let first = peek().await;
    assert_eq!(first.as_array().unwrap().len(), 1, "the viewer's message never arrived: {first}");
    assert_eq!(first[0]["payload"], "{\"id\": 7}");
    assert_eq!(first[0]["properties"]["headers"]["trace"], "t-7");
    assert_eq!(first[0]["redelivered"], false);
    let second = peek().await;
    assert_eq!(second[0]["redelivered"], true, "peeking requeues and marks redelivered");
    let page = app.html("/clusters/rabbit/peek").await;
    assert!(page.contains("id=\"requeue-warning\""));
    app.stop().await;
    vhost.drop_it().await;
}

/// scripts/amqp_consumer.py (pika): consumes and acknowledges until dropped.
struct Consumer(std::process::Child);

impl Consumer {
    fn start(vhost: &str, queue: &str) -> Consumer {
        use std::io::BufRead;
        let url = format!("{}/{vhost}", peer("OSPREY_TEST_RABBITMQ_AMQP"));
        let mut child = std::process::Command::new(peer("OSPREY_TEST_PYTHON"))
            .arg(peer("OSPREY_TEST_AMQP_CONSUMER"))
            .args(["--url", &url, "--queue", queue])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start the AMQP consumer");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        assert_eq!(line.trim(), "consuming", "the consumer is attached");
        Consumer(child)
    }
}

impl Drop for Consumer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stopped_consumer_brings_a_backlog_e_mail_and_its_return_the_recovery() {
    let vhost = Vhost::create().await;
    vhost.queue("payments").await;
    let smtp = crate::alerts::SmtpSink::start(None).await;
    let dir = tempfile::tempdir().unwrap();
    let mut config = osprey::config::Config::from_toml_str(&format!(
        r#"
        [auth]
        anonymous_read = true
        [alerts]
        group_wait = "0s"
        group_interval = "0s"
        allow_private_targets = true
        [[alerts.channels]]
        name = "mail"
        kind = "email"
        smtp_host = "127.0.0.1"
        smtp_port = {}
        tls = "none"
        from = "osprey@example.com"
        to = ["oncall@example.com"]
        [[alerts.rules]]
        name = "payments-backlog"
        kind = "queue_backlog"
        cluster = "rabbit"
        vhost = "{}"
        queue = "payments"
        threshold = 5
        channels = ["mail"]
        "#,
        smtp.port, vhost.name
    ))
    .unwrap();
    config.database.url =
        osprey::secret::Secret::new(format!("sqlite://{}", dir.path().join("o.db").display()));
    config.clusters = vec![rabbit_cluster("rabbit", &vhost.base, "guest")];
    let app = TestApp::spawn(config).await;

    // While a consumer keeps up, nothing piles up and nothing is sent.
    let consumer = Consumer::start(&vhost.name, "payments");
    vhost.publish("payments", 10).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    drop(consumer);
    assert!(smtp.messages().is_empty());

    // The consumer stops, messages keep arriving: one backlog e-mail.
    vhost.publish("payments", 20).await;
    let firing = eventually(Duration::from_secs(40), "the backlog e-mail", || async {
        smtp.messages().first().cloned()
    })
    .await;
    // The management API's counters trail by seconds, so the first figure seen may be partial.
    let tail = format!(" > 5 — queue {}/payments on rabbit", vhost.name);
    assert!(
        firing.0.starts_with("[FIRING · WARNING] backlog ") && firing.0.ends_with(&tail),
        "{}",
        firing.0
    );
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(smtp.messages().len(), 1, "one e-mail while the backlog stands");

    // It comes back and drains the queue: one recovery e-mail.
    let _consumer = Consumer::start(&vhost.name, "payments");
    eventually(Duration::from_secs(40), "the recovery e-mail", || async {
        (smtp.messages().len() == 2).then_some(())
    })
    .await;
    assert!(smtp.messages()[1].0.starts_with("[RESOLVED] backlog 0"), "{:?}", smtp.messages()[1].0);
    app.stop().await;
    vhost.drop_it().await;
}

/// Clients that connect and disconnect in a loop: the overview's churn shows on the Cluster
/// page and in `/metrics`, and a `connection_churn` rule fires.
#[tokio::test(flavor = "multi_thread")]
async fn clients_reconnecting_in_a_loop_fire_connection_churn() {
    let vhost = Vhost::create().await;
    vhost.queue("flappy").await;
    let smtp = crate::alerts::SmtpSink::start(None).await;
    let dir = tempfile::tempdir().unwrap();
    let toml = format!(
        r#"{}
        [[alerts.rules]]
        name = "churn"
        kind = "connection_churn"
        cluster = "rabbit"
        threshold = 0.3
        channels = ["mail"]
        "#,
        crate::alerts::mail_channel("mail", smtp.port, None)
    );
    let app = TestApp::spawn(toml_config(
        &dir,
        &toml,
        vec![rabbit_cluster("rabbit", &vhost.base, "guest")],
    ))
    .await;
    let fired = eventually(Duration::from_secs(90), "the churn notice", || async {
        for _ in 0..3 {
            drop(Consumer::start(&vhost.name, "flappy"));
        }
        smtp.messages().into_iter().find(|(subject, _)| subject.contains("[FIRING"))
    })
    .await;
    assert!(
        fired.0.contains("connections opened") && fired.0.contains("/s > 0.3/s"),
        "{}",
        fired.0
    );
    let page = app.html("/clusters/rabbit").await;
    assert!(page.contains(r#"id="connection-churn""#) && page.contains("opened/s"), "{page}");
    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert!(
        metrics.contains(r#"osprey_connection_churn{cluster="rabbit",direction="opened"}"#),
        "{metrics}"
    );
    app.stop().await;
    vhost.drop_it().await;
}

/// The canary on RabbitMQ with its `amqp_url`: the AMQP listener the canary publishes to and
/// consumes from.
fn canary_cluster(name: &str, vhost: &Vhost, amqp_url: &str) -> ClusterConfig {
    let mut cluster = rabbit_cluster(name, &vhost.base, "guest");
    if let osprey::config::Connection::Rabbitmq(rabbit) = &mut cluster.connection {
        rabbit.amqp_url = Some(amqp_url.into());
    }
    cluster.canary = osprey::config::CanaryConfig {
        enabled: true,
        interval: Duration::from_secs(2),
        vhost: Some(vhost.name.clone()),
        ..Default::default()
    };
    cluster
}

/// Runs rabbitmqctl's `eval` on the test node.
fn rabbit_eval(code: &str) {
    let status = std::process::Command::new(peer("OSPREY_TEST_RABBITMQCTL"))
        .args(["eval", code])
        .status()
        .expect("run rabbitmqctl");
    assert!(status.success(), "rabbitmqctl eval {code}: {status}");
}

/// Freezes the canary queue's process inside the node until `thaw_canary_queue`: a process of
/// its own holds the suspension (one made by `eval` itself ends with it).
fn freeze_canary_queue(vhost: &str) {
    rabbit_eval(&format!(
        "{{ok, Q}} = rabbit_amqqueue:lookup(rabbit_misc:r(<<\"{vhost}\">>, queue, <<\"osprey.canary\">>)), \
         P = amqqueue:get_pid(Q), \
         Holder = spawn(fun() -> erlang:suspend_process(P), receive thaw -> ok end end), \
         register(list_to_atom(\"osprey_freeze_{vhost}\"), Holder)."
    ));
}

fn thaw_canary_queue(vhost: &str) {
    rabbit_eval(&format!("list_to_atom(\"osprey_freeze_{vhost}\") ! thaw."));
}

/// The canary's figures once `markers` went out and came back through the AMQP consumer.
async fn healthy_canary(app: &TestApp, cluster: &str, markers: u64) -> serde_json::Value {
    let path = format!("/api/v1/clusters/{cluster}");
    eventually(Duration::from_secs(60), "markers delivered back", || async {
        let detail: serde_json::Value = app.get(&path).await.json().await.ok()?;
        let brokers = detail["canary"]["brokers"].as_array()?;
        let back = brokers.len() == 1
            && brokers[0]["figures"]["sent"].as_u64() >= Some(markers)
            && brokers[0]["figures"]["produce_p99_ms"].is_number()
            && brokers[0]["figures"]["end_to_end_p99_ms"].is_number();
        back.then(|| detail["canary"].clone())
    })
    .await
}

/// The canary on RabbitMQ: a marker published over AMQP to its own queue (confirmed) and
/// delivered back to its consumer, timed, on the Cluster page and in the API, the queue kept out
/// of the queue list; then the queue's process frozen inside the node (it takes publishes and
/// neither confirms nor delivers) fires `canary_loss` naming the node.
#[tokio::test(flavor = "multi_thread")]
async fn a_frozen_canary_queue_fires_canary_loss() {
    let vhost = Vhost::create().await;
    let smtp = crate::alerts::SmtpSink::start(None).await;
    let dir = tempfile::tempdir().unwrap();
    let toml = format!(
        r#"{}
        [[alerts.rules]]
        name = "canary-lost"
        kind = "canary_loss"
        cluster = "rc"
        for = "0s"
        channels = ["mail"]
        "#,
        crate::alerts::mail_channel("mail", smtp.port, None)
    );
    let amqp = format!("amqp://{}", peer("OSPREY_TEST_RABBITMQ_AMQP_ADDR"));
    let cluster = canary_cluster("rc", &vhost, &amqp);
    let app = TestApp::spawn(toml_config(&dir, &toml, vec![cluster])).await;
    let healthy = healthy_canary(&app, "rc", 2).await;
    assert_eq!(healthy["topic"], "osprey.canary");
    assert_eq!(healthy["cluster"]["lost"], 0, "{healthy}");
    let node = healthy["brokers"][0]["node"].as_str().expect("the queue's node").to_owned();
    let page = app.html("/clusters/rc").await;
    assert!(page.contains(r#"id="canary""#) && page.contains(&node), "{page}");
    let queues: serde_json::Value =
        app.json(&format!("/api/v1/clusters/rc/queues?vhost={}", vhost.name)).await;
    assert!(!queues.to_string().contains("osprey.canary"), "kept out of the list: {queues}");

    freeze_canary_queue(&vhost.name);
    let (subject, _) = eventually(Duration::from_secs(60), "the canary_loss notice", || async {
        smtp.messages().into_iter().find(|(subject, _)| subject.contains("[FIRING"))
    })
    .await;
    let subject = subject.replace("\r\n ", " ").replace("\n ", " ");
    thaw_canary_queue(&vhost.name);
    assert!(subject.contains("canary markers lost") && subject.contains(&node), "{subject}");
    app.stop().await;
    vhost.drop_it().await;
}

/// The canary over AMQPS behind the private CA (`tls_ca_file`, the listener named in
/// `amqp_url`), and one whose listener answers nothing: its error on the page and in the API.
#[tokio::test(flavor = "multi_thread")]
async fn the_canary_speaks_amqps_and_says_when_the_listener_is_unreachable() {
    let vhost = Vhost::create().await;
    let mut tls = canary_cluster("rtls", &vhost, &peer("OSPREY_TEST_RABBITMQ_AMQPS"));
    if let osprey::config::Connection::Rabbitmq(rabbit) = &mut tls.connection {
        rabbit.tls_ca_file = Some(peer("OSPREY_TEST_RABBITMQ_CA"));
    }
    let closed = canary_cluster("rshut", &vhost, &format!("amqp://127.0.0.1:{}", free_port()));
    let app = TestApp::with_clusters(vec![tls, closed]).await;
    let healthy = healthy_canary(&app, "rtls", 2).await;
    assert_eq!(healthy["cluster"]["lost"], 0, "{healthy}");
    assert!(healthy["error"].is_null(), "{healthy}");

    // The canary's connection closed by an operator between rounds: the next round connects
    // again, and no marker is lost.
    let named = eventually(Duration::from_secs(30), "the canary's connection listed", || async {
        let listed: serde_json::Value = vhost
            .http
            .get(format!("{}/api/vhosts/{}/connections", vhost.base, vhost.name))
            .basic_auth("guest", Some("guest"))
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        let ours = listed
            .as_array()?
            .iter()
            .find(|c| c["client_properties"]["connection_name"] == "osprey canary")?;
        ours["name"].as_str().map(str::to_owned)
    })
    .await;
    let encoded: String = url::form_urlencoded::byte_serialize(named.as_bytes()).collect();
    let closed = vhost
        .http
        .delete(format!("{}/api/connections/{}", vhost.base, encoded.replace('+', "%20")))
        .basic_auth("guest", Some("guest"))
        .send()
        .await
        .unwrap();
    assert!(closed.status().is_success(), "close {named}: {}", closed.status());
    let sent = healthy["cluster"]["sent_total"].as_u64().unwrap();
    let after = eventually(Duration::from_secs(30), "three rounds after the close", || async {
        let detail: serde_json::Value = app.get("/api/v1/clusters/rtls").await.json().await.ok()?;
        let canary = detail["canary"].clone();
        (canary["cluster"]["sent_total"].as_u64()? >= sent + 3).then_some(canary)
    })
    .await;
    assert_eq!(after["cluster"]["lost_total"], 0, "reconnected without a lost marker: {after}");
    let error = eventually(Duration::from_secs(30), "the canary's error", || async {
        let detail: serde_json::Value =
            app.get("/api/v1/clusters/rshut").await.json().await.ok()?;
        detail["canary"]["error"].as_str().map(str::to_owned)
    })
    .await;
    assert!(error.contains("AMQP 127.0.0.1:") && error.contains("connect"), "{error}");
    let page = app.html("/clusters/rshut").await;
    assert!(page.contains("AMQP 127.0.0.1:"), "the error on the page: {page}");
    app.stop().await;
    vhost.drop_it().await;
}
