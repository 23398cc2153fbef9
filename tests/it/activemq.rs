//! ActiveMQ against the real brokers from `scripts/peers.sh` — Classic 6 (its Jolokia agent) and
//! Artemis 2 (its console's Jolokia) — with stomp.py as the real producer and consumer: the
//! flavor found out from the MBeans, clear errors for a wrong login or a wrong address, a backlog
//! alert by e-mail and its recovery from each, store use as a broker metric rule, and sending,
//! browsing and purging by role, with the pages in English and Chinese. Each test has queues of
//! its own.

use std::io::BufRead;
use std::time::Duration;

use osprey::auth::Role;
use osprey::brokers::AdapterError;
use osprey::brokers::activemq::ActivemqAdapter;
use osprey::config::{ActivemqConnection, ClusterConfig, Connection};
use osprey::secret::Secret;
use serde_json::{Value, json};

use crate::alerts::{Receiver, SmtpSink, hook_channel, mail_channel};
use crate::helpers::*;

/// One of the two test brokers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Flavor {
    Classic,
    Artemis,
}

impl Flavor {
    pub fn jolokia(self) -> String {
        match self {
            Flavor::Classic => peer("OSPREY_TEST_ACTIVEMQ_JOLOKIA"),
            Flavor::Artemis => peer("OSPREY_TEST_ARTEMIS_JOLOKIA"),
        }
    }

    fn stomp(self) -> String {
        match self {
            Flavor::Classic => peer("OSPREY_TEST_ACTIVEMQ_STOMP"),
            Flavor::Artemis => peer("OSPREY_TEST_ARTEMIS_STOMP"),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Flavor::Classic => "classic",
            Flavor::Artemis => "artemis",
        }
    }

    /// What the cluster page calls the product.
    pub fn product(self) -> &'static str {
        match self {
            Flavor::Classic => "ActiveMQ Classic",
            Flavor::Artemis => "ActiveMQ Artemis",
        }
    }
}

/// An ActiveMQ cluster of the one test broker of `flavor`, logged in (the password an `${ENV}`
/// reference, as operators keep it), flavor found out.
pub fn cluster(name: &str, flavor: Flavor) -> ClusterConfig {
    let mut cluster = ClusterConfig::activemq(name, &flavor.jolokia());
    if let Connection::Activemq(activemq) = &mut cluster.connection {
        activemq.username = Some(peer("OSPREY_TEST_ACTIVEMQ_USER"));
        activemq.password = Some(Secret::new("${OSPREY_TEST_ACTIVEMQ_PASSWORD}"));
    }
    cluster.poll_interval = Duration::from_secs(1);
    cluster.poll_timeout = Duration::from_secs(5);
    cluster
}

fn connection(cluster: &ClusterConfig) -> &ActivemqConnection {
    match &cluster.connection {
        Connection::Activemq(activemq) => activemq,
        _ => unreachable!("an ActiveMQ cluster"),
    }
}

/// A stomp.py producer or consumer (`scripts/stomp_client.py`).
pub struct Stomp(std::process::Child);

impl Stomp {
    fn spawn(action: &str, flavor: Flavor, queue: &str, extra: &[&str]) -> Stomp {
        let mut child = std::process::Command::new(peer("OSPREY_TEST_PYTHON"))
            .arg(peer("OSPREY_TEST_STOMP_CLIENT"))
            .args([action, "--server", &flavor.stomp(), "--queue", queue])
            .args(["--flavor", flavor.name()])
            .args(extra)
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("start the STOMP client");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        assert!(!line.trim().is_empty(), "the {action} client said nothing");
        Stomp(child)
    }

    /// Sends `count` persistent text messages to `queue`.
    pub fn send(flavor: Flavor, queue: &str, count: usize) {
        let mut client = Stomp::spawn("send", flavor, queue, &["--count", &count.to_string()]);
        assert!(client.0.wait().unwrap().success());
    }

    /// A consumer of `queue` that acknowledges everything, stopped when dropped.
    pub fn consume(flavor: Flavor, queue: &str) -> Stomp {
        Stomp::spawn("consume", flavor, queue, &[])
    }
}

impl Drop for Stomp {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Creates `queue` on `broker`, the test broker of `flavor`, through its own management
/// operation.
async fn create_queue(flavor: Flavor, broker: &str, queue: &str) {
    let url = flavor.jolokia();
    let origin = url.split('/').take(3).collect::<Vec<_>>().join("/");
    let request = match flavor {
        Flavor::Classic => json!({"type": "exec", "operation": "addQueue", "arguments": [queue],
            "mbean": format!("org.apache.activemq:type=Broker,brokerName={broker}")}),
        Flavor::Artemis => json!({"type": "exec",
            "operation": "createQueue(java.lang.String,java.lang.String,java.lang.String)",
            "arguments": [queue, queue, "ANYCAST"],
            "mbean": format!("org.apache.activemq.artemis:broker=\"{broker}\"")}),
    };
    let answer: Value = reqwest::Client::new()
        .post(&url)
        .basic_auth(peer("OSPREY_TEST_ACTIVEMQ_USER"), Some(peer("OSPREY_TEST_ACTIVEMQ_PASSWORD")))
        .header("Origin", origin)
        .json(&request)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(answer["status"], 200, "{answer}");
}

/// The queue as the queue API shows it, once `ready` (described by `what`) holds.
pub async fn queue_where(
    app: &TestApp,
    cluster: &str,
    queue: &str,
    what: &str,
    ready: impl Fn(&Value) -> bool,
) -> Value {
    eventually(Duration::from_secs(60), &format!("queue {queue}: {what}"), || async {
        let response = app.get(&format!("/api/v1/clusters/{cluster}/queues?q={queue}")).await;
        let list: Value = response.status().is_success().then_some(response)?.json().await.ok()?;
        let row = list["rows"].as_array()?.iter().find(|r| r["name"] == queue)?.clone();
        ready(&row).then_some(row)
    })
    .await
}

#[tokio::test]
async fn both_flavors_are_found_out_and_bad_logins_and_addresses_are_clear_errors() {
    for flavor in [Flavor::Classic, Flavor::Artemis] {
        let queue = unique(&format!("read-{}", flavor.name()));
        Stomp::send(flavor, &queue, 3);
        let config = cluster("amq", flavor);
        let adapter = ActivemqAdapter::from_cluster(&config, connection(&config)).unwrap();
        // A queue a STOMP producer just made may be listed a moment later (seen once in CI).
        let mut view = adapter.queue_snapshot(1_000).await.unwrap();
        for _ in 0..30 {
            if view.queues.iter().any(|q| q.name == queue && q.messages == 3) {
                break;
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
            view = adapter.queue_snapshot(1_000).await.unwrap();
        }
        assert_eq!(view.overview.product, flavor.product());
        assert!(view.overview.runtime_version.starts_with("Java "), "{:?}", view.overview);
        let node = &view.nodes[0];
        assert!(node.running && node.name.starts_with("osprey-"), "{node:?}");
        let usage = node.usage.expect("memory and store use");
        assert!(usage.memory_percent.is_some() && usage.store_percent.is_some(), "{usage:?}");
        let names: Vec<&str> = view.queues.iter().map(|q| q.name.as_str()).collect();
        let found = view.queues.iter().find(|q| q.name == queue);
        let found = found.unwrap_or_else(|| panic!("{flavor:?}: no {queue} in {names:?}"));
        assert_eq!(
            (found.messages, found.consumers, found.vhost.as_str()),
            (3, 0, node.name.as_str())
        );
        assert_eq!(adapter.broker_names(), std::slice::from_ref(&node.name));

        let mut wrong = config.clone();
        if let Connection::Activemq(activemq) = &mut wrong.connection {
            activemq.password = Some(Secret::new("not-the-password"));
        }
        let adapter = ActivemqAdapter::from_cluster(&wrong, connection(&wrong)).unwrap();
        let refused = adapter.queue_snapshot(1_000).await.unwrap_err();
        assert!(
            matches!(&refused, AdapterError::Protocol(m) if m.contains("wrong username or password")),
            "{flavor:?}: {refused}"
        );
    }
    // A broker that does not answer is a node down; the others are still read.
    let down = format!("http://127.0.0.1:{}/api/jolokia", free_port());
    let mut two = cluster("amq", Flavor::Classic);
    if let Connection::Activemq(activemq) = &mut two.connection {
        activemq.management_urls = format!("{}, {down}", Flavor::Classic.jolokia());
    }
    let adapter = ActivemqAdapter::from_cluster(&two, connection(&two)).unwrap();
    let view = adapter.queue_snapshot(1_000).await.unwrap();
    let nodes: Vec<_> =
        view.nodes.iter().map(|n| (n.name.starts_with("osprey-"), n.running)).collect();
    assert_eq!(nodes.len(), 2, "{:?}", view.nodes);
    assert!(nodes.contains(&(true, true)) && nodes.contains(&(false, false)), "{:?}", view.nodes);
    let nobody =
        ClusterConfig::activemq("amq", &format!("http://127.0.0.1:{}/api/jolokia", free_port()));
    let adapter = ActivemqAdapter::from_cluster(&nobody, connection(&nobody)).unwrap();
    let unreachable = adapter.queue_snapshot(1_000).await.unwrap_err();
    assert!(matches!(unreachable, AdapterError::Unreachable(_)), "{unreachable}");
    // An HTTP server that is not Jolokia: the Artemis console's own page.
    let console = Flavor::Artemis.jolokia().replace("/console/jolokia", "/console/");
    let mut not_jolokia = cluster("amq", Flavor::Artemis);
    if let Connection::Activemq(activemq) = &mut not_jolokia.connection {
        activemq.management_urls = console;
    }
    let adapter = ActivemqAdapter::from_cluster(&not_jolokia, connection(&not_jolokia)).unwrap();
    let garbage = adapter.queue_snapshot(1_000).await.unwrap_err();
    assert!(matches!(garbage, AdapterError::Protocol(_)), "{garbage}");
}

/// A queue nobody consumes mails a backlog alert; a consumer resolves it.
async fn backlog_mails_an_alert_and_a_consumer_resolves_it(flavor: Flavor) {
    let queue = unique(&format!("mail-{}", flavor.name()));
    Stomp::send(flavor, &queue, 4);
    let smtp = SmtpSink::start(None).await;
    let rules = format!(
        r#"
        [[alerts.rules]]
        name = "amq-backlog"
        kind = "queue_backlog"
        cluster = "amq"
        queue = "{queue}"
        threshold = 3
        for = "0s"
        channels = ["mail"]
        "#
    );
    let toml = format!("{}{rules}", mail_channel("mail", smtp.port, None));
    let app = TestApp::from_toml(&toml, vec![cluster("amq", flavor)]).await;
    let row = queue_where(&app, "amq", &queue, "4 waiting", |r| r["messages"] == 4).await;
    assert_eq!(row["consumers"], 0, "{row}");
    let subject_of =
        |status: &str| smtp.messages().into_iter().find(|(subject, _)| subject.contains(status));
    let (subject, body) =
        eventually(Duration::from_secs(60), "the firing e-mail", || async { subject_of("FIRING") })
            .await;
    assert!(subject.contains("backlog 4 > 3") && subject.contains(&queue), "{subject}");
    assert!(body.contains("amq") && body.contains("osprey-"), "{body}");

    let consumer = Stomp::consume(flavor, &queue);
    queue_where(&app, "amq", &queue, "consumed", |r| r["messages"] == 0).await;
    eventually(Duration::from_secs(60), "the resolved e-mail", || async { subject_of("RESOLVED") })
        .await;
    assert_eq!(smtp.messages().len(), 2, "one e-mail each way");
    drop(consumer);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_classic_queue_nobody_consumes_mails_a_backlog_alert() {
    backlog_mails_an_alert_and_a_consumer_resolves_it(Flavor::Classic).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_artemis_queue_nobody_consumes_mails_a_backlog_alert() {
    backlog_mails_an_alert_and_a_consumer_resolves_it(Flavor::Artemis).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn store_use_is_a_broker_metric_a_rule_watches() {
    // Artemis's store use is the disk's use against max-disk-usage: above 1 % on any machine.
    let hook = Receiver::start().await;
    let rules = r#"
        [[alerts.rules]]
        name = "store-use"
        kind = "broker_metric"
        cluster = "amq"
        metric = "store_percent_usage"
        threshold = 1
        for = "0s"
        channels = ["hook"]
        "#;
    let toml = format!("{}{rules}", hook_channel("hook", &hook.url));
    let app = TestApp::from_toml(&toml, vec![cluster("amq", Flavor::Artemis)]).await;
    let metrics = eventually(Duration::from_secs(30), "the broker metrics", || async {
        let metrics = app.json("/api/v1/clusters/amq/metrics").await;
        metrics["values"]["store_percent_usage"].as_f64().is_some().then_some(metrics)
    })
    .await;
    assert!(metrics["values"]["memory_percent_usage"].as_f64().is_some(), "{metrics}");
    let firing = eventually(Duration::from_secs(30), "the store-use webhook", || async {
        hook.bodies().first().cloned()
    })
    .await;
    assert_eq!(
        (firing["status"].clone(), firing["rule"].clone()),
        (json!("firing"), json!("store-use"))
    );
    assert!(firing["value"].as_f64().is_some_and(|v| v > 1.0), "{firing}");
    let page = app.html("/clusters/amq/metrics").await;
    assert!(page.contains("Store use") && page.contains("Memory and store use"), "{page}");
    let exported = app.get("/metrics").await.text().await.unwrap();
    assert!(exported.contains("store_percent_usage"), "{exported}");
    app.stop().await;
}

/// Sending, browsing and purging by role on a `flavor` broker, and the pages in both languages.
async fn operators_send_browse_and_purge(flavor: Flavor) {
    let queue = unique(&format!("ops-{}", flavor.name()));
    Stomp::send(flavor, &queue, 2);
    let mut read_only = cluster("frozen", flavor);
    read_only.read_only = true;
    let app = TestApp::with_clusters(vec![cluster("amq", flavor), read_only]).await;
    queue_where(&app, "amq", &queue, "2 waiting", |r| r["messages"] == 2).await;
    let broker = app.json("/api/v1/clusters/amq").await["queues"]["nodes"][0]["name"]
        .as_str()
        .unwrap()
        .to_owned();
    let api = |cluster: &str, action: &str| {
        format!("/api/v1/clusters/{cluster}/destinations/{broker}/{queue}/{action}")
    };
    let operator = app.client_as("olga", Role::Operator).await;
    let viewer = app.client_as("vic", Role::Viewer).await;
    let post = |client: &reqwest::Client, path: String, body: Value| {
        let request = client.post(format!("{}{path}", app.base)).json(&body);
        async move {
            let response = request.send().await.unwrap();
            (response.status().as_u16(), response.json::<Value>().await.unwrap_or_default())
        }
    };
    let message = json!({"body": "from osprey 你好", "properties": {"trace": "t-1"}});
    assert_eq!(post(&viewer, api("amq", "send"), message.clone()).await.0, 403);
    assert_eq!(post(&operator, api("frozen", "send"), message.clone()).await.0, 403);
    let (status, sent) = post(&operator, api("amq", "send"), message).await;
    assert_eq!(status, 200, "{sent}");
    assert!(sent["message_id"].as_str().is_some_and(|id| !id.is_empty()), "{sent}");
    let elsewhere = format!("/api/v1/clusters/amq/destinations/nobody/{queue}/send");
    let (status, refused) = post(&operator, elsewhere, json!({"body": "x"})).await;
    assert!(status >= 400 && refused.to_string().contains("not one of"), "{refused}");
    let big = json!({"body": "x".repeat(10 * 1024 * 1024)});
    let (status, refused) = post(&operator, api("amq", "send"), big).await;
    assert!(status >= 400 && refused.to_string().contains("larger than"), "{status} {refused}");

    let (status, browsed) = post(&operator, api("amq", "browse"), json!({"limit": 10})).await;
    assert_eq!(status, 200, "{browsed}");
    // STOMP producers' messages carry a content-length: bytes messages, previewed.
    let bodies: Vec<&str> = browsed
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["text"].as_str().or(m["preview"].as_str()))
        .collect();
    assert_eq!(bodies, ["message 0", "message 1", "from osprey 你好"], "{browsed}");
    let ours = &browsed[2];
    assert_eq!(ours["properties"]["trace"], "t-1", "{ours}");
    assert_eq!(ours["persistent"], true, "{ours}");
    queue_where(&app, "amq", &queue, "browsing took nothing", |r| r["messages"] == 3).await;

    assert_eq!(post(&operator, api("amq", "purge"), json!({"confirm": queue})).await.0, 403);
    let (status, _) =
        app.call(reqwest::Method::POST, &api("amq", "purge"), json!({"confirm": "no"})).await;
    assert_eq!(status, 422);
    let (status, purged) =
        app.call(reqwest::Method::POST, &api("amq", "purge"), json!({"confirm": queue})).await;
    assert_eq!((status, purged["deleted"].clone()), (200, json!(3)), "{purged}");
    queue_where(&app, "amq", &queue, "purged", |r| r["messages"] == 0).await;

    // A name with the characters MBean names quote or encode is used as the broker shows it.
    let hostile = format!("{queue} \"odd\" =:*");
    create_queue(flavor, &broker, &hostile).await;
    queue_where(&app, "amq", &hostile, "listed", |r| r["messages"] == 0).await;
    let path = |action: &str| {
        let name: String = url::form_urlencoded::byte_serialize(hostile.as_bytes()).collect();
        format!("/api/v1/clusters/amq/destinations/{broker}/{}/{action}", name.replace('+', "%20"))
    };
    let (status, sent) = post(&operator, path("send"), json!({"body": "odd"})).await;
    assert_eq!(status, 200, "{sent}");
    // Artemis routes a message sent through its management API to the queue on its own
    // executor: a browse at once may come a moment before it (CI saw an empty one).
    let browsed = eventually(Duration::from_secs(10), "the message in a browse", || async {
        let (_, browsed) = post(&operator, path("browse"), json!({})).await;
        (!browsed[0].is_null()).then_some(browsed)
    })
    .await;
    assert_eq!(browsed[0]["text"], "odd", "{browsed}");

    let detail = app.json("/api/v1/clusters/amq").await;
    assert_eq!(detail["summary"]["kind"], "activemq", "{detail}");
    assert_eq!(detail["queues"]["overview"]["product"], flavor.product());
    let page = app.html("/clusters/amq").await;
    assert!(page.contains(flavor.product()) && page.contains("activemq-actions"), "{page}");
    assert!(page.contains("usage-store") && page.contains(&broker), "{page}");
    let list = app.html(&format!("/clusters/amq/queues?q={queue}")).await;
    assert!(list.contains(&queue) && list.contains("Destinations") && list.contains("In flight"));
    let one = app.html(&format!("/clusters/amq/queues/{broker}/{queue}")).await;
    assert!(one.contains("destination-actions"), "{one}");
    let chinese = app.text_in_chinese(&format!("/clusters/amq/queues?q={queue}")).await;
    assert!(chinese.contains("目的地") && chinese.contains("投递中"), "{chinese}");
    let form =
        app.html(&format!("/clusters/amq/activemq/send?broker={broker}&queue={queue}")).await;
    assert!(form.contains(&format!("value=\"{queue}\"")) && form.contains(&broker), "{form}");
    let audit = app.json("/api/v1/audit").await.to_string();
    for action in ["activemq.send", "activemq.browse", "activemq.purge"] {
        assert!(audit.contains(action), "{action} not audited");
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn operators_send_browse_and_purge_on_classic() {
    operators_send_browse_and_purge(Flavor::Classic).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn operators_send_browse_and_purge_on_artemis() {
    operators_send_browse_and_purge(Flavor::Artemis).await;
}
