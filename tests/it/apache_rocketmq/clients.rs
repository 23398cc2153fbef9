//! Groups consumed by each kind of real client: remoting push consumers (clustering and
//! broadcasting), gRPC simple (POP) and push consumers through the proxy, and a consumer that
//! fails every message (retry and dead-letter topics). Lag per queue equals `mqadmin`'s.

use std::time::Duration;

use serde_json::Value;

use super::*;

#[tokio::test(flavor = "multi_thread")]
async fn remoting_consumers_lag_exactly_what_mqadmin_prints_across_both_masters() {
    let (topic, stopped, live) =
        (rocket_name("orders"), rocket_name("billing"), rocket_name("audit"));
    create_topic(&topic, 4);
    let namesrv = namesrv();
    let sent =
        JavaClient::run("produce", &["--namesrv", &namesrv, "--topic", &topic, "--count", "16"])
            .await;
    let brokers: std::collections::BTreeSet<&str> =
        sent.iter().filter_map(|l| l["broker"].as_str()).collect();
    assert_eq!(brokers.into_iter().collect::<Vec<_>>(), ["broker-a", "broker-b"], "{sent:?}");

    // `billing` consumes the 16 and shuts down (its offsets stored); `audit` stays online.
    let mut billing = JavaClient::start(
        "push",
        &["--namesrv", &namesrv, "--topic", &topic, "--group", &stopped, "--count", "16"],
    );
    billing.wait_for("done", Duration::from_secs(90)).await;
    billing.stop();
    let mut audit = JavaClient::start(
        "push",
        &["--namesrv", &namesrv, "--topic", &topic, "--group", &live, "--count", "24"],
    );
    let backlog_from = osprey::clock::now_millis();
    JavaClient::run("produce", &["--namesrv", &namesrv, "--topic", &topic, "--count", "8"]).await;
    let backlog_by = osprey::clock::now_millis();
    audit.wait_for("done", Duration::from_secs(90)).await;

    let app = TestApp::with_clusters(vec![apache_rocket_cluster("rmq", &namesrv)]).await;
    let detail = group_with_lag(&app, "rmq", &stopped, 8).await;
    let checked_at = osprey::clock::now_millis();
    let by_osprey = lag_by_osprey(&detail);
    assert_eq!(by_osprey.len(), 8, "4 queues on each master: {by_osprey:?}");
    assert!(by_osprey.iter().all(|(_, lag)| *lag == 1), "{by_osprey:?}");
    assert_eq!(by_osprey, lag_by_mqadmin(&stopped, &topic));
    // Lag in seconds is the age of the oldest message not consumed.
    let seconds = detail["group"]["lag_seconds"].as_f64().expect("lag seconds");
    let polled_at = detail["cluster"]["data_at"].as_i64().unwrap();
    let (shortest, longest) =
        ((polled_at - backlog_by) as f64 / 1000.0, (checked_at - backlog_from) as f64 / 1000.0);
    assert!(
        seconds >= shortest - 0.01 && seconds <= longest + 0.01,
        "{seconds} s should lie in [{shortest}, {longest}]"
    );
    assert!(detail["rocket"]["clients"].as_array().unwrap().is_empty(), "{}", detail["rocket"]);

    // The online group: caught up, its client with language and version.
    let audit_detail = group_with_lag(&app, "rmq", &live, 0).await;
    assert_eq!(lag_by_osprey(&audit_detail), lag_by_mqadmin(&live, &topic));
    let clients = audit_detail["rocket"]["clients"].as_array().unwrap().clone();
    assert_eq!(clients.len(), 1, "{clients:?}");
    assert_eq!(
        (clients[0]["language"].as_str(), clients[0]["version"].as_str()),
        (Some("JAVA"), Some("V5_5_0"))
    );
    assert_eq!(audit_detail["rocket"]["message_model"], "CLUSTERING");
    assert_eq!(audit_detail["rocket"]["consume_type"], "CONSUME_PASSIVELY");
    let page = app.html(&format!("/clusters/rmq/groups/{live}")).await;
    assert!(page.contains("V5_5_0") && page.contains("broker-b:3"), "{page}");
    audit.stop();
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn grpc_consumers_through_the_proxy_are_seen_with_their_lag() {
    let (topic, simple, push) = (rocket_name("grpc"), rocket_name("pop"), rocket_name("gpush"));
    create_topic(&topic, 2);
    let proxy = proxy();
    JavaClient::run("grpc-produce", &["--proxy", &proxy, "--topic", &topic, "--count", "10"]).await;

    // A simple consumer (POP) takes 6 of the 10 and stays online; a push consumer takes all.
    let mut popper = JavaClient::start(
        "grpc-simple",
        &["--proxy", &proxy, "--topic", &topic, "--group", &simple, "--count", "6"],
    );
    popper.wait_for("done", Duration::from_secs(90)).await;
    let mut pusher = JavaClient::start(
        "grpc-push",
        &["--proxy", &proxy, "--topic", &topic, "--group", &push, "--count", "10"],
    );
    pusher.wait_for("done", Duration::from_secs(90)).await;

    let app = TestApp::with_clusters(vec![apache_rocket_cluster("rmq", &namesrv())]).await;
    let pushed = group_with_lag(&app, "rmq", &push, 0).await;
    assert_eq!(lag_by_osprey(&pushed), lag_by_mqadmin(&push, &topic));
    let clients =
        |detail: &Value| detail["rocket"]["clients"].as_array().cloned().unwrap_or_default();
    let online = eventually(Duration::from_secs(30), "the gRPC push consumer online", || async {
        let detail = app.json(&format!("/api/v1/clusters/rmq/groups/{push}")).await;
        (!clients(&detail).is_empty()).then_some(detail)
    })
    .await;
    // Only the proxy knows gRPC clients (the brokers answer "not online"): Osprey asks it.
    let client = &clients(&online)[0];
    assert_eq!(
        (client["language"].as_str(), client["version"].as_str()),
        (Some("JAVA"), Some("V5_5_0")),
        "{client}"
    );
    assert_eq!(client["proxy"], peer("OSPREY_TEST_APACHE_ROCKETMQ_PROXY_REMOTING"), "{client}");
    let page = app.html(&format!("/clusters/rmq/groups/{push}")).await;
    assert!(page.contains("gRPC, through proxy"), "{page}");

    let popped = eventually(Duration::from_secs(60), "the simple consumer's lag", || async {
        let detail = app.json(&format!("/api/v1/clusters/rmq/groups/{simple}")).await;
        (detail["group"]["lag"].as_i64().is_some() && !clients(&detail).is_empty())
            .then_some(detail)
    })
    .await;
    let lag = popped["group"]["lag"].as_i64().unwrap();
    assert!((0..=4).contains(&lag), "6 of 10 consumed: {}", popped["group"]);
    assert_eq!(lag_by_osprey(&popped), lag_by_mqadmin(&simple, &topic));
    popper.stop();
    pusher.stop();
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn failed_messages_reach_the_dead_letter_topic_and_broadcasting_groups_say_whose_lag_it_is() {
    let (topic, failing, broadcast) =
        (rocket_name("fragile"), rocket_name("failing"), rocket_name("fanout"));
    create_topic(&topic, 1);
    let namesrv = namesrv();
    JavaClient::run("produce", &["--namesrv", &namesrv, "--topic", &topic, "--count", "3"]).await;
    // Every message fails once and, with no retries allowed, goes to %DLQ%failing.
    let mut failer = JavaClient::start(
        "push",
        &["--namesrv", &namesrv, "--topic", &topic, "--group", &failing, "--fail"],
    );
    failer.wait_for("started", Duration::from_secs(90)).await;
    let mut fanout = JavaClient::start(
        "push",
        &[
            "--namesrv",
            &namesrv,
            "--topic",
            &topic,
            "--group",
            &broadcast,
            "--broadcast",
            "--count",
            "3",
        ],
    );
    fanout.wait_for("done", Duration::from_secs(90)).await;

    let app = TestApp::with_clusters(vec![apache_rocket_cluster("rmq", &namesrv)]).await;
    let dlq = format!("%DLQ%{failing}");
    let dead =
        eventually(Duration::from_secs(90), "3 messages in the dead-letter topic", || async {
            let path = format!("/api/v1/clusters/rmq/topics/{}", dlq.replace('%', "%25"));
            let response = app.get(&path).await;
            let detail: Value =
                response.status().is_success().then_some(response)?.json().await.ok()?;
            let messages: i64 = detail["partitions"]
                .as_array()?
                .iter()
                .map(|p| {
                    p["latest_offset"].as_i64().unwrap_or(0)
                        - p["earliest_offset"].as_i64().unwrap_or(0)
                })
                .sum();
            (messages == 3).then_some(detail)
        })
        .await;
    assert_eq!(dead["rocket"]["class"], "dead_letter", "{}", dead["rocket"]);
    let retry = app.json(&format!("/api/v1/clusters/rmq/topics/%25RETRY%25{failing}")).await;
    assert_eq!(retry["rocket"]["class"], "retry", "{retry}");
    // The failing group has moved past its messages: no lag on the topic itself.
    let failing_detail =
        eventually(Duration::from_secs(30), "the failing group's queues", || async {
            let detail = app.json(&format!("/api/v1/clusters/rmq/groups/{failing}")).await;
            // Both queues listed and caught up: the client stores its offsets a moment after the
            // messages went to the dead-letter topic.
            let lags = lag_by_osprey(&detail);
            (lags.len() == 2 && lags.iter().all(|(_, lag)| *lag == 0)).then_some(detail)
        })
        .await;
    assert_eq!(lag_by_osprey(&failing_detail), lag_by_mqadmin(&failing, &topic));
    let page = app.html("/clusters/rmq/topics?class=dead_letter").await;
    assert!(page.contains(&format!("data-topic=\"{dlq}\"")), "{page}");

    // A broadcasting group: its clients keep their offsets, so the brokers know no lag; Osprey
    // lists no queues for it (no invented lag of 0 per queue), no error, and says why.
    let fanned = eventually(Duration::from_secs(30), "the broadcasting group", || async {
        let detail = app.json(&format!("/api/v1/clusters/rmq/groups/{broadcast}")).await;
        (detail["rocket"]["message_model"] == "BROADCASTING").then_some(detail)
    })
    .await;
    assert_eq!(fanned["group"]["topics"], serde_json::json!([]), "{}", fanned["group"]);
    assert!(fanned["rocket"]["error"].is_null(), "{}", fanned["rocket"]);
    let page = app.html(&format!("/clusters/rmq/groups/{broadcast}")).await;
    assert!(page.contains("BROADCASTING") && page.contains("id=\"broadcast-note\""), "{page}");
    failer.stop();
    fanout.stop();
    app.stop().await;
}
