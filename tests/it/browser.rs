//! A person's walk through the dashboard in headless Chromium: Overview → Cluster → Topics →
//! Topic, then the same page in Chinese. Screenshots land in target/test-artefacts/.

use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

use osprey::config::ClusterConfig;

use crate::helpers::*;

/// Commits offsets for `group`, as a consumer that read that far does.
fn commit_offsets(bootstrap: &str, group: &str, offsets: &[(&str, i32, i64)]) {
    use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
    let consumer: BaseConsumer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", group)
        .create()
        .unwrap();
    let mut list = rdkafka::TopicPartitionList::new();
    for (topic, partition, offset) in offsets {
        list.add_partition_offset(topic, *partition, rdkafka::Offset::Offset(*offset)).unwrap();
    }
    consumer.commit(&list, CommitMode::Sync).unwrap();
}

async fn browser() -> Client {
    let flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1366,900",
    ];
    let profile = tempfile::tempdir().unwrap().keep();
    let mut args: Vec<String> = flags.iter().map(|f| f.to_string()).collect();
    args.push(format!("--user-data-dir={}", profile.display()));
    let capabilities = json!({
        "goog:chromeOptions": { "binary": peer("OSPREY_TEST_CHROMIUM"), "args": args }
    });
    // chromedriver speaks plain HTTP on loopback: no TLS stack needed.
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(capabilities.as_object().unwrap().clone())
        .connect(&peer("OSPREY_TEST_CHROMEDRIVER"))
        .await
        .expect("a chromedriver session")
}

async fn screenshot(client: &Client, name: &str) {
    let png = client.screenshot().await.unwrap();
    std::fs::write(artefacts_dir().join(format!("{name}.png")), png).unwrap();
}

async fn text_of(client: &Client, css: &str) -> String {
    client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|_| panic!("no {css}"))
        .text()
        .await
        .unwrap()
}

/// Waits for the page a form submission leads to.
async fn wait_for(client: &Client, css: &str) {
    let found = client.wait().at_most(Duration::from_secs(10)).for_element(Locator::Css(css)).await;
    if found.is_err() {
        panic!("no {css} on\n{}", client.source().await.unwrap_or_default());
    }
}

async fn count(client: &Client, css: &str) -> usize {
    client.find_all(Locator::Css(css)).await.unwrap().len()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_person_walks_overview_cluster_topics_topic() {
    let broker = Broker::start(BrokerKind::Noida).await;
    let bootstrap = broker.bootstrap();
    create_topics(&bootstrap, &[("clicks", 4), ("orders.v1", 2)]).await;
    produce_one_by_one(&bootstrap, "clicks", 2, 6).await;
    commit_offsets(&bootstrap, "dashboards", &[("clicks", 2, 1)]);
    let app = TestApp::with_clusters(vec![kafka_cluster("web", &bootstrap)]).await;
    // Wait for a few polls so the charts have history to draw.
    eventually(Duration::from_secs(30), "topics and history", || async {
        let detail = app.json("/api/v1/clusters/web").await;
        let topics = app.json("/api/v1/clusters/web/topics?q=clicks").await;
        (detail["history"].as_array()?.len() >= 2 && topics["rows"][0]["end_offset_sum"] == 6)
            .then_some(())
    })
    .await;

    let client = browser().await;
    client.goto(&app.base).await.unwrap();
    assert_eq!(client.title().await.unwrap(), "Overview · Osprey");
    let row = text_of(&client, r#"tr[data-cluster="web"]"#).await;
    assert!(row.contains("web") && row.contains("kafka") && row.contains("Up"), "{row}");
    screenshot(&client, "1-overview").await;

    client.find(Locator::Css(r#"tr[data-cluster="web"] a"#)).await.unwrap().click().await.unwrap();
    assert!(client.current_url().await.unwrap().path().ends_with("/clusters/web"));
    let brokers = text_of(&client, "#brokers tbody").await;
    assert!(brokers.contains("controller") && brokers.contains("127.0.0.1"), "{brokers}");
    assert_eq!(count(&client, "#brokers tbody tr").await, 1);
    eventually(Duration::from_secs(10), "the cluster chart drawn", || async {
        (count(&client, r#".chart[data-drawn="true"]"#).await == 1).then_some(())
    })
    .await;
    screenshot(&client, "2-cluster").await;

    client.find(Locator::LinkText("Topics")).await.unwrap().click().await.unwrap();
    let search = client.find(Locator::Css(r#"input[name="q"]"#)).await.unwrap();
    search.send_keys("orders").await.unwrap();
    client.find(Locator::Css("form.search button")).await.unwrap().click().await.unwrap();
    eventually(Duration::from_secs(10), "the search result page", || async {
        let url = client.current_url().await.ok()?;
        url.query().is_some_and(|q| q.contains("q=orders")).then_some(())
    })
    .await;
    assert_eq!(count(&client, "#topics tbody tr").await, 1);
    assert!(text_of(&client, "#topics tbody").await.contains("orders.v1"));
    client.back().await.unwrap();
    client.back().await.unwrap();
    client.find(Locator::LinkText("Topics")).await.unwrap().click().await.unwrap();
    let clicks = text_of(&client, r#"tr[data-topic="clicks"]"#).await;
    assert!(clicks.contains('4') && clicks.contains('6'), "partitions and messages: {clicks}");
    screenshot(&client, "3-topics").await;

    client.find(Locator::Css(r#"tr[data-topic="clicks"] a"#)).await.unwrap().click().await.unwrap();
    assert_eq!(client.title().await.unwrap(), "clicks · web · Osprey");
    assert_eq!(count(&client, "#partitions tbody tr").await, 4);
    let partition_two = text_of(&client, r#"tr[data-partition="2"]"#).await;
    assert!(partition_two.contains('6'), "{partition_two}");
    assert_eq!(text_of(&client, "#messages").await, "6");
    eventually(Duration::from_secs(10), "the topic chart drawn", || async {
        (count(&client, r#".chart[data-drawn="true"]"#).await == 1).then_some(())
    })
    .await;
    screenshot(&client, "4-topic").await;

    // The topic page lists its consuming group; the group page shows the lag per partition.
    let consumers = text_of(&client, "#consumers tbody").await;
    assert!(consumers.contains("dashboards"), "{consumers}");
    client.find(Locator::LinkText("Consumers")).await.unwrap().click().await.unwrap();
    let row = text_of(&client, r#"tr[data-group="dashboards"]"#).await;
    assert!(row.contains("clicks") && row.contains('5'), "lag 6 − 1: {row}");
    screenshot(&client, "4b-consumers").await;
    client
        .find(Locator::Css(r#"tr[data-group="dashboards"] a"#))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    assert_eq!(text_of(&client, "#group-lag").await, "5");
    assert_eq!(count(&client, "#partitions tbody tr").await, 1);
    assert!(
        client.find(Locator::Id("no-members")).await.is_ok(),
        "a group without members says so"
    );
    eventually(Duration::from_secs(10), "both group charts drawn", || async {
        (count(&client, r#".chart[data-drawn="true"]"#).await == 2).then_some(())
    })
    .await;
    screenshot(&client, "4c-group").await;
    client.back().await.unwrap();
    client.back().await.unwrap();

    client.find(Locator::Id("lang-switch")).await.unwrap().click().await.unwrap();
    assert!(client.current_url().await.unwrap().path().ends_with("/clusters/web/topics/clicks"));
    let heading = text_of(&client, "#partitions thead").await;
    assert!(heading.contains("最新位移"), "{heading}");
    assert_eq!(text_of(&client, "#lang-switch").await, "English");
    screenshot(&client, "5-topic-zh").await;

    client.close().await.unwrap();
    app.stop().await;
}

/// An operator sets up alerting in the browser: a webhook channel, then a lag rule through the
/// form, sees the group's alert fire on the Alerts page, and silences it.
#[tokio::test(flavor = "multi_thread")]
async fn an_operator_sets_up_a_lag_alert_in_the_browser() {
    let broker = Broker::start(BrokerKind::Noida).await;
    let bootstrap = broker.bootstrap();
    create_topics(&bootstrap, &[("payments", 1)]).await;
    produce_one_by_one(&bootstrap, "payments", 0, 12).await;
    commit_offsets(&bootstrap, "ledger", &[("payments", 0, 0)]);
    let app = TestApp::with_clusters(vec![kafka_cluster("web", &bootstrap)]).await;
    let client = browser().await;

    // Changes need a login: as the admin the test app has.
    client.goto(&format!("{}/alerts/channels/new", app.base)).await.unwrap();
    client.find(Locator::Id("login-link")).await.unwrap().click().await.unwrap();
    let form = client.form(Locator::Css("#login-form")).await.unwrap();
    form.set_by_name("username", "it-admin").await.unwrap();
    form.set_by_name("password", "integration-test-password").await.unwrap();
    form.submit().await.unwrap();
    wait_for(&client, "#logout").await;
    assert!(text_of(&client, "#who").await.contains("it-admin"));
    client.goto(&format!("{}/alerts/channels/new", app.base)).await.unwrap();
    let form = client.form(Locator::Css("#channel-form")).await.unwrap();
    form.set_by_name("name", "ops-hook").await.unwrap();
    form.set_by_name("kind", "webhook").await.unwrap();
    // Nothing listens there: the alert fires, its deliveries wait for retries.
    form.set_by_name("url", "http://127.0.0.1:9/hook").await.unwrap();
    form.submit().await.unwrap();
    wait_for(&client, "#flash").await;
    assert!(text_of(&client, "#flash").await.contains("ops-hook"));

    client.goto(&format!("{}/alerts/rules/new", app.base)).await.unwrap();
    let form = client.form(Locator::Css("#rule-form")).await.unwrap();
    form.set_by_name("name", "ledger-lag").await.unwrap();
    form.set_by_name("kind", "consumer_lag").await.unwrap();
    form.set_by_name("group", "ledger").await.unwrap();
    form.set_by_name("threshold", "5").await.unwrap();
    client
        .find(Locator::Css("input[name=channels][value=ops-hook]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    form.submit().await.unwrap();
    wait_for(&client, "#rules").await;
    assert!(text_of(&client, "#rules").await.contains("lag > 5"));
    screenshot(&client, "alerts-rules").await;

    client.goto(&format!("{}/alerts", app.base)).await.unwrap();
    eventually(Duration::from_secs(30), "the alert on the Alerts page", || async {
        client.refresh().await.unwrap();
        (count(&client, "#firing tr[data-incident]").await == 1).then_some(())
    })
    .await;
    let firing = text_of(&client, "#firing").await;
    assert!(firing.contains("lag 12 > 5 — group ledger on web") && firing.contains("warning"));
    screenshot(&client, "alerts-firing").await;

    client.find(Locator::Css("#firing a")).await.unwrap().click().await.unwrap();
    client.find(Locator::LinkText("Silence this alert")).await.unwrap().click().await.unwrap();
    let form = client.form(Locator::Css("#silence-form")).await.unwrap();
    form.set_by_name("note", "known backlog").await.unwrap();
    form.submit().await.unwrap();
    wait_for(&client, "#silences").await;
    assert!(text_of(&client, "#silences").await.contains("web/group/ledger"));
    screenshot(&client, "alerts-silences").await;
    client.close().await.unwrap();
    app.stop().await;
}

/// The operator's daily tool: log in, mock-send three messages to a topic, find them in browse.
#[tokio::test(flavor = "multi_thread")]
async fn an_operator_sends_three_messages_and_finds_them_in_browse() {
    let broker = Broker::start(BrokerKind::Noida).await;
    create_topics(&broker.bootstrap(), &[("checkout", 1)]).await;
    let app = TestApp::with_clusters(vec![kafka_cluster("web", &broker.bootstrap())]).await;
    eventually(Duration::from_secs(30), "the topic in the app", || async {
        let topics = app.json("/api/v1/clusters/web/topics").await;
        topics["rows"].as_array()?.iter().any(|t| t["name"] == "checkout").then_some(())
    })
    .await;
    let client = browser().await;
    client.goto(&format!("{}/login?next=/clusters/web/topics/checkout", app.base)).await.unwrap();
    let form = client.form(Locator::Css("#login-form")).await.unwrap();
    form.set_by_name("username", "it-admin").await.unwrap();
    form.set_by_name("password", "integration-test-password").await.unwrap();
    form.submit().await.unwrap();
    wait_for(&client, "#topic-actions").await;

    client.find(Locator::LinkText("Send messages")).await.unwrap().click().await.unwrap();
    wait_for(&client, "#send-form").await;
    let form = client.form(Locator::Css("#send-form")).await.unwrap();
    form.set_by_name("key", "cart-{{i}}").await.unwrap();
    form.set_by_name("value", "{\"cart\": {{i}}, \"items\": 2}").await.unwrap();
    form.set_by_name("value_format", "json").await.unwrap();
    form.set_by_name("count", "3").await.unwrap();
    form.submit().await.unwrap();
    wait_for(&client, "#send-result").await;
    assert!(text_of(&client, "#send-result").await.contains("3 / 3"));
    assert_eq!(count(&client, "#delivered tbody tr").await, 3);
    screenshot(&client, "messages-sent").await;

    client.find(Locator::LinkText("Browse messages")).await.unwrap().click().await.unwrap();
    wait_for(&client, "#browse-form").await;
    let form = client.form(Locator::Css("#browse-form")).await.unwrap();
    form.set_by_name("from", "earliest").await.unwrap();
    form.set_by_name("show", "json").await.unwrap();
    form.submit().await.unwrap();
    wait_for(&client, "#messages").await;
    assert_eq!(count(&client, "#messages tbody tr").await, 3);
    let table = text_of(&client, "#messages").await;
    for key in ["cart-1", "cart-2", "cart-3"] {
        assert!(table.contains(key), "{key} in\n{table}");
    }
    assert!(table.contains("\"items\": 2"), "pretty JSON: {table}");
    screenshot(&client, "messages-browsed").await;
    client.close().await.unwrap();
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_person_reads_broker_metrics_and_opens_a_broker() {
    let broker = Broker::start(BrokerKind::Noida).await;
    create_topics(&broker.bootstrap(), &[("busy", 1)]).await;
    let mut cluster = kafka_cluster("k", &broker.bootstrap());
    cluster.jolokia_urls = [("1".to_owned(), peer("OSPREY_TEST_JOLOKIA_URL"))].into();
    let app = TestApp::with_clusters(vec![cluster]).await;
    produce_one_by_one(&broker.bootstrap(), "busy", 0, 50).await;
    eventually(Duration::from_secs(30), "a few polls of metric history", || async {
        let metrics = app.json("/api/v1/clusters/k/metrics").await;
        (metrics["history"]["heap_used_bytes"].as_array()?.len() >= 2).then_some(())
    })
    .await;

    let client = browser().await;
    client.goto(&format!("{}/clusters/k", app.base)).await.unwrap();
    client.find(Locator::LinkText("Metrics")).await.unwrap().click().await.unwrap();
    wait_for(&client, "#metric-values").await;
    let heap = text_of(&client, r#"[data-metric="heap_used_bytes"] .v"#).await;
    assert!(heap.ends_with("MiB") || heap.ends_with("KiB"), "{heap}");
    let brokers = text_of(&client, "#broker-metrics tbody").await;
    assert!(brokers.contains("jolokia") && brokers.contains("offsets"), "{brokers}");
    eventually(Duration::from_secs(10), "the metric charts drawn", || async {
        (count(&client, r#".chart[data-drawn="true"]"#).await >= 2).then_some(())
    })
    .await;
    screenshot(&client, "metrics-cluster").await;

    client.find(Locator::Css(r#"tr[data-broker="1"] a"#)).await.unwrap().click().await.unwrap();
    assert_eq!(client.title().await.unwrap(), "Broker 1 · k · Osprey");
    wait_for(&client, "#metric-values").await;
    screenshot(&client, "metrics-broker").await;
    client.find(Locator::Id("lang-switch")).await.unwrap().click().await.unwrap();
    wait_for(&client, "#metric-values").await;
    let cards = text_of(&client, "#metric-values").await;
    assert!(cards.contains("已用堆内存"), "{cards}");
    screenshot(&client, "metrics-cluster-zh").await;
    client.close().await.unwrap();
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_person_walks_a_rocketmq_cluster_to_a_lagging_group() {
    let peers = crate::rocketmq::RocketPeers::start().await;
    peers.create_topic("orders", 2).await;
    peers.create_group("billing").await;
    peers.send("orders", 0, 4).await;
    peers.consume("billing", "orders", 0, 1).await;
    let _consumer = peers.heartbeat("10.0.0.9@billing-1", "billing", "orders").await;
    let mut cluster = kafka_cluster("rocket", "");
    cluster.connection = ClusterConfig::rocketmq("rocket", &peers.namesrv()).connection;
    let app = TestApp::with_clusters(vec![cluster]).await;
    // The rocketmq-rust peer answers slowly while the real clusters' tests load the machine.
    eventually(Duration::from_secs(60), "the group's lag", || async {
        let response = app.get("/api/v1/clusters/rocket/groups/billing").await;
        let group: serde_json::Value =
            response.status().is_success().then_some(response)?.json().await.ok()?;
        (group["group"]["lag"] == 3).then_some(())
    })
    .await;

    let client = browser().await;
    client.goto(&format!("{}/clusters/rocket", app.base)).await.unwrap();
    let brokers = text_of(&client, "#rocket-brokers tbody").await;
    assert!(brokers.contains("broker-a") && brokers.contains("OspreyCluster"), "{brokers}");
    screenshot(&client, "rocket-cluster").await;

    client.find(Locator::LinkText("Topics")).await.unwrap().click().await.unwrap();
    client
        .find(Locator::Css("#class-filter"))
        .await
        .unwrap()
        .select_by_value("normal")
        .await
        .unwrap();
    client.find(Locator::Css("form.search button")).await.unwrap().click().await.unwrap();
    eventually(Duration::from_secs(10), "the normal topics", || async {
        let url = client.current_url().await.ok()?;
        url.query().is_some_and(|q| q.contains("class=normal")).then_some(())
    })
    .await;
    let normal = text_of(&client, "#topics tbody").await;
    assert_eq!(count(&client, "#topics tbody tr").await, 1, "{normal}");
    screenshot(&client, "rocket-topics").await;

    client.find(Locator::Css(r#"tr[data-topic="orders"] a"#)).await.unwrap().click().await.unwrap();
    assert_eq!(count(&client, "#queues tbody tr").await, 2);
    assert!(text_of(&client, "#route").await.contains("RW-"));
    screenshot(&client, "rocket-topic").await;

    client
        .find(Locator::Css(r#"tr[data-group="billing"] a"#))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for(&client, "#partitions").await;
    let queue = text_of(&client, r#"tr[data-topic="orders"][data-partition="0"]"#).await;
    assert!(queue.contains("broker-a:0") && queue.contains('3'), "{queue}");
    assert!(text_of(&client, "#members").await.contains("10.0.0.9@billing-1"));
    screenshot(&client, "rocket-group").await;
    client.close().await.unwrap();
    app.stop().await;
}

/// A person walks a beanstalkd and a Gearman cluster: the Overview lists both, the tube with
/// buried jobs shows them, an operator puts a job and kicks the buried ones through the forms,
/// the tube list reads in Chinese; the Gearman function's queue is seen and a job submitted.
#[tokio::test(flavor = "multi_thread")]
async fn a_person_walks_a_beanstalkd_and_a_gearman_cluster_in_english_and_chinese() {
    let (tube, function) = (unique("walk"), unique("walk"));
    let burier = crate::beanstalkd::Client::work(&tube, &["--bury"]);
    crate::beanstalkd::Client::put(&tube, 2, &[]);
    crate::gearman::submit_jobs(&function, 3);
    let beanstalk_server = peer("OSPREY_TEST_BEANSTALKD");
    let app = TestApp::with_clusters(vec![
        crate::beanstalkd::cluster("bs"),
        crate::gearman::cluster("gm"),
    ])
    .await;
    eventually(Duration::from_secs(30), "two buried jobs", || async {
        let response = app.get(&format!("/api/v1/clusters/bs/queues?q={tube}")).await;
        let list: serde_json::Value =
            response.status().is_success().then_some(response)?.json().await.ok()?;
        (list["rows"][0]["held"] == 2).then_some(())
    })
    .await;
    drop(burier);
    let client = browser().await;
    client.goto(&format!("{}/login?next=/", app.base)).await.unwrap();
    let form = client.form(Locator::Css("#login-form")).await.unwrap();
    form.set_by_name("username", "it-admin").await.unwrap();
    form.set_by_name("password", "integration-test-password").await.unwrap();
    form.submit().await.unwrap();
    wait_for(&client, "#logout").await;
    client.goto(&app.base).await.unwrap();
    let row = text_of(&client, r#"tr[data-cluster="bs"]"#).await;
    assert!(row.contains("beanstalkd") && row.contains("Up"), "{row}");
    assert!(text_of(&client, r#"tr[data-cluster="gm"]"#).await.contains("gearman"));
    screenshot(&client, "queues-1-overview").await;

    client.find(Locator::Css(r#"tr[data-cluster="bs"] a"#)).await.unwrap().click().await.unwrap();
    assert!(text_of(&client, "#nodes").await.contains(&beanstalk_server));
    screenshot(&client, "queues-2-beanstalkd").await;
    client.find(Locator::LinkText("Tubes")).await.unwrap().click().await.unwrap();
    let row = text_of(&client, &format!(r#"tr[data-queue="{tube}"]"#)).await;
    assert!(row.contains(&beanstalk_server) && row.contains('2'), "{row}");
    client
        .find(Locator::Css(&format!(r#"tr[data-queue="{tube}"] a"#)))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    assert_eq!(text_of(&client, "#buried").await, "2");
    screenshot(&client, "queues-3-tube").await;

    client.find(Locator::LinkText("Put a job")).await.unwrap().click().await.unwrap();
    let form = client.form(Locator::Css("#put-form")).await.unwrap();
    form.set_by_name("body", "{\"invoice\": 7}").await.unwrap();
    form.submit().await.unwrap();
    wait_for(&client, "#put-result").await;
    assert!(text_of(&client, "#put-result").await.contains(&tube));
    client.goto(&format!("{}/clusters/bs/jobs?tube={tube}", app.base)).await.unwrap();
    let form = client.form(Locator::Css("#peek-form")).await.unwrap();
    form.set_by_name("state", "buried").await.unwrap();
    form.submit().await.unwrap();
    wait_for(&client, "#job-body").await;
    assert_eq!(text_of(&client, "#job-body").await, "job 0");
    screenshot(&client, "queues-4-peek").await;
    client.find(Locator::Css("#kick-form button")).await.unwrap().click().await.unwrap();
    wait_for(&client, "#change-result").await;
    assert!(text_of(&client, "#change-result").await.contains('2'), "two kicked");

    client.goto(&format!("{}/clusters/bs/queues?q={tube}", app.base)).await.unwrap();
    client.find(Locator::Id("lang-switch")).await.unwrap().click().await.unwrap();
    let heading = text_of(&client, "#queues thead").await;
    assert!(heading.contains("已埋藏") && heading.contains("管道"), "{heading}");
    screenshot(&client, "queues-5-tubes-zh").await;
    client.find(Locator::Id("lang-switch")).await.unwrap().click().await.unwrap();

    client.goto(&format!("{}/clusters/gm/queues?q={function}", app.base)).await.unwrap();
    let row = text_of(&client, &format!(r#"tr[data-queue="{function}"]"#)).await;
    assert!(row.contains('3') && row.contains("no workers"), "{row}");
    screenshot(&client, "queues-6-functions").await;
    client
        .find(Locator::Css(&format!(r#"tr[data-queue="{function}"] a"#)))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    client.find(Locator::LinkText("Submit a background job")).await.unwrap().click().await.unwrap();
    let form = client.form(Locator::Css("#submit-form")).await.unwrap();
    form.set_by_name("payload", "resize 9").await.unwrap();
    form.submit().await.unwrap();
    wait_for(&client, "#submit-result").await;
    assert!(text_of(&client, "#submit-result").await.contains(&function));
    screenshot(&client, "queues-7-submitted").await;
    client.close().await.unwrap();
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_person_walks_both_activemq_flavors_in_english_and_chinese() {
    use crate::activemq::{Flavor, Stomp, cluster, queue_where};
    let (classic_queue, artemis_queue) = (unique("walk"), unique("walk"));
    Stomp::send(Flavor::Classic, &classic_queue, 2);
    Stomp::send(Flavor::Artemis, &artemis_queue, 3);
    let app = TestApp::with_clusters(vec![
        cluster("amq", Flavor::Classic),
        cluster("art", Flavor::Artemis),
    ])
    .await;
    queue_where(&app, "amq", &classic_queue, "2 waiting", |r| r["messages"] == 2).await;
    queue_where(&app, "art", &artemis_queue, "3 waiting", |r| r["messages"] == 3).await;
    let client = browser().await;
    client.goto(&format!("{}/login?next=/", app.base)).await.unwrap();
    let form = client.form(Locator::Css("#login-form")).await.unwrap();
    form.set_by_name("username", "it-admin").await.unwrap();
    form.set_by_name("password", "integration-test-password").await.unwrap();
    form.submit().await.unwrap();
    wait_for(&client, "#logout").await;
    client.goto(&app.base).await.unwrap();
    let row = text_of(&client, r#"tr[data-cluster="amq"]"#).await;
    assert!(row.contains("activemq") && row.contains("Up"), "{row}");
    screenshot(&client, "activemq-1-overview").await;

    client.find(Locator::Css(r#"tr[data-cluster="amq"] a"#)).await.unwrap().click().await.unwrap();
    assert!(text_of(&client, "#version").await.contains("ActiveMQ Classic 6."));
    let nodes = text_of(&client, "#nodes").await;
    assert!(nodes.contains("osprey-classic") && nodes.contains("Store"), "{nodes}");
    screenshot(&client, "activemq-2-classic").await;
    client.find(Locator::LinkText("Destinations")).await.unwrap().click().await.unwrap();
    let row = text_of(&client, &format!(r#"tr[data-queue="{classic_queue}"]"#)).await;
    assert!(row.contains("osprey-classic") && row.contains('2'), "{row}");
    client
        .find(Locator::Css(&format!(r#"tr[data-queue="{classic_queue}"] a"#)))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    screenshot(&client, "activemq-3-queue").await;

    client.find(Locator::LinkText("Send a message")).await.unwrap().click().await.unwrap();
    let form = client.form(Locator::Css("#send-form")).await.unwrap();
    form.set_by_name("body", "{\"order\": 7}").await.unwrap();
    form.set_by_name("properties", "trace: walk").await.unwrap();
    form.submit().await.unwrap();
    wait_for(&client, "#send-result").await;
    assert!(text_of(&client, "#send-result").await.contains(&classic_queue));
    client
        .goto(&format!("{}/clusters/amq/activemq/browse?queue={classic_queue}", app.base))
        .await
        .unwrap();
    client.find(Locator::Css("#browse-form button")).await.unwrap().click().await.unwrap();
    wait_for(&client, "#browsed").await;
    let browsed = text_of(&client, "#browsed").await;
    assert!(browsed.contains("message 0") && browsed.contains("{\"order\": 7}"), "{browsed}");
    assert!(browsed.contains("trace: walk"), "{browsed}");
    screenshot(&client, "activemq-4-browse").await;
    let form = client.form(Locator::Css("#purge-form")).await.unwrap();
    form.set_by_name("queue", &classic_queue).await.unwrap();
    form.set_by_name("confirm", &classic_queue).await.unwrap();
    form.submit().await.unwrap();
    wait_for(&client, "#purge-result").await;
    assert!(text_of(&client, "#purge-result").await.contains('3'), "three purged");

    client.goto(&format!("{}/clusters/art/queues?q={artemis_queue}", app.base)).await.unwrap();
    client.find(Locator::Id("lang-switch")).await.unwrap().click().await.unwrap();
    let heading = text_of(&client, "#queues thead").await;
    assert!(heading.contains("目的地") && heading.contains("投递中"), "{heading}");
    let row = text_of(&client, &format!(r#"tr[data-queue="{artemis_queue}"]"#)).await;
    assert!(row.contains("osprey-artemis") && row.contains("anycast"), "{row}");
    screenshot(&client, "activemq-5-artemis-zh").await;
    client.goto(&format!("{}/clusters/art", app.base)).await.unwrap();
    assert!(text_of(&client, "#version").await.contains("ActiveMQ Artemis 2."));
    assert!(text_of(&client, "#nodes").await.contains("存储"), "the usage columns in Chinese");
    screenshot(&client, "activemq-6-artemis-cluster-zh").await;
    client.find(Locator::Id("lang-switch")).await.unwrap().click().await.unwrap();
    client.goto(&format!("{}/clusters/art/metrics", app.base)).await.unwrap();
    wait_for(&client, "#metrics-note").await;
    let page = client.source().await.unwrap();
    assert!(page.contains("Store use") && page.contains("Memory and store use"), "the usage panel");
    screenshot(&client, "activemq-7-artemis-metrics").await;
    client.close().await.unwrap();
    app.stop().await;
}
