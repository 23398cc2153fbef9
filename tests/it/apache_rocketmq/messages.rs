//! What rocketmq-dashboard users do every day, against Apache RocketMQ: messages found by time,
//! key and id with each group's consumption and the trace the Java clients record; a message
//! consumed again by a chosen client; producer connections; dead letters browsed, exported and
//! sent back; topics and groups created, changed and deleted; offsets reset to a time.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use super::*;

fn sent_lines(lines: &[Value]) -> Vec<Value> {
    lines.iter().filter(|l| l.get("sent").is_some()).cloned().collect()
}

fn text<'a>(value: &'a Value, key: &str) -> &'a str {
    value[key].as_str().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn messages_are_found_by_time_key_and_id_with_each_groups_consumption_and_trace() {
    let (topic, reader, picky) =
        (rocket_name("ledger"), rocket_name("reader"), rocket_name("picky"));
    create_topic(&topic, 2);
    let namesrv = namesrv();
    let common = ["--namesrv", namesrv.as_str(), "--topic", topic.as_str()];
    let produce = [&common[..], &["--count", "6", "--key", "order", "--tag", "paid", "--trace"]];
    let body = ["--body", r#"{"order":{i}}"#];
    let sends =
        sent_lines(&JavaClient::run("produce", &[&produce.concat()[..], &body].concat()).await);
    assert_eq!(sends.len(), 6);
    let mut consumer = JavaClient::start(
        "push",
        &[&common[..], &["--group", &reader, "--count", "6", "--trace"]].concat(),
    );
    consumer.wait_for("done", Duration::from_secs(90)).await;
    let mut filtering =
        JavaClient::start("push", &[&common[..], &["--group", &picky, "--tag", "refund"]].concat());
    filtering.wait_for("started", Duration::from_secs(90)).await;

    let app = TestApp::with_clusters(vec![apache_rocket_cluster("rmqq", &namesrv)]).await;
    group_with_lag(&app, "rmqq", &reader, 0).await;
    group_with_lag(&app, "rmqq", &picky, 0).await;
    let base = format!("/api/v1/clusters/rmqq/topics/{topic}");

    // By time: the last ten minutes, newest first, in pages.
    let begin = osprey::clock::now_millis() - 600_000;
    let first = app.json(&format!("{base}/query?begin={begin}&per_page=4")).await;
    assert_eq!((first["by"].as_str(), first["found"].as_u64()), (Some("time"), Some(6)), "{first}");
    assert_eq!(
        (first["pages"].as_u64(), first["messages"].as_array().unwrap().len()),
        (Some(2), 4)
    );
    let stored: Vec<i64> = first["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["stored_at"].as_i64().unwrap())
        .collect();
    assert!(stored.windows(2).all(|w| w[0] >= w[1]), "newest first: {stored:?}");
    let second = app.json(&format!("{base}/query?begin={begin}&per_page=4&page=2")).await;
    assert_eq!(second["messages"].as_array().unwrap().len(), 2);

    // By key (the index is built just after the store), by client id and by broker id.
    let third = &sends[3];
    let by_key = eventually(Duration::from_secs(30), "the key in the index", || async {
        let found = app.json(&format!("{base}/query?key=order-3")).await;
        (found["found"] == 1).then_some(found)
    })
    .await;
    assert_eq!(text(&by_key["messages"][0], "id"), text(third, "sent"), "{by_key}");
    for id in [text(third, "sent"), text(third, "offset_id")] {
        let by_id = app.json(&format!("{base}/query?id={id}")).await;
        assert_eq!(text(&by_id["messages"][0], "offset_id"), text(third, "offset_id"), "{by_id}");
    }

    // In detail: body, properties, where it is stored, and every group's consumption.
    let detail_path = format!("{base}/messages/{}", text(third, "offset_id"));
    let detail = app.json(&detail_path).await;
    assert_eq!(detail["body"], r#"{"order":3}"#);
    assert_eq!(
        (detail["properties"]["KEYS"].as_str(), detail["properties"]["TAGS"].as_str()),
        (Some("order-3"), Some("paid"))
    );
    assert_eq!(text(&detail["message"], "broker"), text(third, "broker"));
    assert_eq!(detail["message"]["queue_offset"], third["queue_offset"]);
    let status = |detail: &Value, group: &str| {
        detail["groups"]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["group"] == group)
            .map(|g| g["status"].clone())
    };
    assert_eq!(status(&detail, &reader), Some(json!("consumed")), "{}", detail["groups"]);
    assert_eq!(
        status(&detail, &picky),
        Some(json!("consumed_but_filtered")),
        "{}",
        detail["groups"]
    );

    // The trace both clients recorded: sent by the producer group, consumed by `reader`.
    let trace = eventually(Duration::from_secs(60), "the message's trace", || async {
        let detail = app.json(&detail_path).await;
        let kinds: Vec<String> =
            detail["trace"].as_array()?.iter().map(|e| e["kind"].to_string()).collect();
        (kinds.iter().any(|k| k.contains("pub")) && kinds.iter().any(|k| k.contains("sub_after")))
            .then_some(detail)
    })
    .await;
    let consumptions = trace["consumptions"].as_array().unwrap();
    assert!(
        consumptions.iter().any(|c| c["group"] == reader.as_str() && c["success"] == true),
        "{}",
        trace["trace"]
    );
    let html = app.html(&detail_path.replace("/api/v1", "")).await;
    assert!(html.contains("id=\"trace\"") && html.contains(&reader), "the page shows the trace");
    let page = app.html(&format!("/clusters/rmqq/topics/{topic}/query?key=order-3")).await;
    assert!(page.contains(text(third, "sent")) && page.contains("data-found=\"1\""), "{page}");
    let topic_page = app.html(&format!("/clusters/rmqq/topics/{topic}")).await;
    assert!(
        topic_page.contains("id=\"query-link\"") && topic_page.contains("id=\"producers-form\"")
    );
    assert!(topic_page.contains("id=\"rocket-topic-form\""), "admins see the queue form");

    // Consumed again by the online client of `reader`, which answers.
    let (status_code, resent) =
        app.call(Method::POST, &format!("{detail_path}/resend"), json!({ "group": reader })).await;
    assert_eq!(status_code, 200, "{resent}");
    assert_eq!(resent["result"]["consume_result"], "CR_SUCCESS", "{resent}");
    let consumed_again = consumer.lines().iter().filter(|l| l["id"] == third["sent"]).count();
    assert!(consumed_again >= 2, "the client took it again: {:?}", consumer.lines());

    // A message sent after `reader` went away is not consumed yet by it.
    consumer.stop();
    filtering.stop();
    let late = sent_lines(
        &JavaClient::run("produce", &[&common[..], &["--count", "1", "--key", "late"]].concat())
            .await,
    );
    let late_detail = app.json(&format!("{base}/messages/{}", text(&late[0], "offset_id"))).await;
    assert_eq!(
        status(&late_detail, &reader),
        Some(json!("not_consumed_yet")),
        "{}",
        late_detail["groups"]
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn producers_dead_letters_and_a_resend_to_the_group() {
    let (topic, group, producers) =
        (rocket_name("fragile-dlq"), rocket_name("doomed"), rocket_name("pg"));
    create_topic(&topic, 2);
    let namesrv = namesrv();
    let common = ["--namesrv", namesrv.as_str(), "--topic", topic.as_str()];
    let mut failer =
        JavaClient::start("push", &[&common[..], &["--group", &group, "--fail"]].concat());
    failer.wait_for("started", Duration::from_secs(90)).await;
    let mut producer = JavaClient::start(
        "produce",
        &[&common[..], &["--count", "3", "--key", "dead", "--group", &producers, "--hold"]]
            .concat(),
    );
    producer.wait_for("done", Duration::from_secs(90)).await;

    let app = TestApp::with_clusters(vec![apache_rocket_cluster("rmqd", &namesrv)]).await;
    let online = app
        .json(&format!("/api/v1/clusters/rmqd/topics/{topic}/producers?group={producers}"))
        .await;
    assert_eq!(online.as_array().map(Vec::len), Some(1), "{online}");
    assert_eq!(online[0]["language"], "JAVA", "{online}");
    producer.stop();

    let begin = osprey::clock::now_millis() - 600_000;
    // A group none of whose messages died has no dead-letter topic yet: nothing found, no error.
    let (code, none) = app
        .call(
            Method::GET,
            &format!("/api/v1/clusters/rmqd/groups/{}/dlq?begin={begin}", rocket_name("healthy")),
            Value::Null,
        )
        .await;
    assert_eq!((code, &none["found"]), (200, &json!(0)), "{none}");
    let dlq = format!("/api/v1/clusters/rmqd/groups/{group}/dlq");
    let found = eventually(Duration::from_secs(90), "three dead letters", || async {
        let found = app.json(&format!("{dlq}?begin={begin}")).await;
        (found["found"] == 3).then_some(found)
    })
    .await;
    failer.stop();
    let page = app.html(&format!("/clusters/rmqd/groups/{group}/dlq?begin={begin}")).await;
    assert!(page.contains("id=\"dlq-resend-form\"") && page.contains("data-found=\"3\""), "{page}");
    let group_page = eventually(Duration::from_secs(60), "the group polled", || async {
        let page = app.get(&format!("/clusters/rmqd/groups/{group}")).await;
        page.status().is_success().then_some(page)?.text().await.ok()
    })
    .await;
    for form in ["dlq-link", "reset-form", "group-settings-form", "delete-group-form"] {
        assert!(group_page.contains(&format!("id=\"{form}\"")), "{form} on the Group page");
    }
    let export = app.get(&format!("{dlq}/export?begin={begin}")).await;
    assert_eq!(export.headers()["content-type"], "application/x-ndjson");
    let lines: Vec<Value> =
        export.text().await.unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 3);
    assert!(lines.iter().all(|l| l["original_topic"] == topic.as_str()), "{lines:?}");

    // Two of them back to the group: a healthy consumer of it takes them up.
    let mut healthy = JavaClient::start("push", &[&common[..], &["--group", &group]].concat());
    healthy.wait_for("started", Duration::from_secs(90)).await;
    let ids: Vec<&str> = found["messages"]
        .as_array()
        .unwrap()
        .iter()
        .take(2)
        .map(|m| text(m, "offset_id"))
        .collect();
    let (code, results) =
        app.call(Method::POST, &format!("{dlq}/resend"), json!({ "ids": ids })).await;
    assert_eq!(code, 200, "{results}");
    assert!(results.as_array().unwrap().iter().all(|r| r["error"].is_null()), "{results}");
    healthy.wait_for("consumed", Duration::from_secs(90)).await;
    eventually(Duration::from_secs(60), "both taken up again", || async {
        (healthy.lines().iter().filter(|l| l.get("consumed").is_some()).count() >= 2).then_some(())
    })
    .await;
    healthy.stop();
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn topics_and_groups_are_changed_and_a_group_is_reset_to_a_time() {
    let (topic, group, made) =
        (rocket_name("rewind"), rocket_name("rewinder"), rocket_name("made"));
    create_topic(&topic, 2);
    let namesrv = namesrv();
    let common = ["--namesrv", namesrv.as_str(), "--topic", topic.as_str()];
    JavaClient::run("produce", &[&common[..], &["--count", "4"]].concat()).await;
    let mut consumer =
        JavaClient::start("push", &[&common[..], &["--group", &group, "--count", "4"]].concat());
    consumer.wait_for("done", Duration::from_secs(90)).await;
    consumer.stop();
    let app = TestApp::with_clusters(vec![apache_rocket_cluster("rmqa", &namesrv)]).await;
    group_with_lag(&app, "rmqa", &group, 0).await;

    // Reset to the epoch: previewed (nothing moves), then applied: 4 behind again.
    let reset = format!("/api/v1/clusters/rmqa/rocketmq/groups/{group}/reset");
    let (code, preview) =
        app.call(Method::POST, &reset, json!({ "topic": topic, "time": "0" })).await;
    assert_eq!(code, 200, "{preview}");
    let queues = preview["queues"].as_array().unwrap();
    assert_eq!(
        queues.iter().map(|q| q["current"].as_i64().unwrap_or(0)).sum::<i64>(),
        4,
        "{preview}"
    );
    assert!(queues.iter().all(|q| q["new"] == 0), "{preview}");
    let (code, applied) =
        app.call(Method::POST, &reset, json!({ "topic": topic, "time": "0", "apply": true })).await;
    assert_eq!((code, applied["applied"].as_bool()), (200, Some(true)), "{applied}");
    group_with_lag(&app, "rmqa", &group, 4).await;
    assert_eq!(lag_by_mqadmin(&group, &topic).iter().map(|(_, lag)| lag).sum::<i64>(), 4);

    // A topic on broker-a only, then read-only, then gone.
    let adapter =
        osprey::brokers::rocketmq::RocketAdapter::new(osprey::brokers::rocketmq::RocketSettings {
            namesrv_addrs: vec![namesrv.clone()],
            proxy_addrs: Vec::new(),
            timeout: Duration::from_secs(10),
            credentials: None,
        });
    let topics = format!("/api/v1/clusters/rmqa/rocketmq/topics/{made}");
    let body = json!({ "read_queues": 3, "write_queues": 3, "brokers": ["broker-a"] });
    let (code, saved) = app.call(Method::PUT, &topics, body).await;
    assert_eq!((code, saved["brokers"].clone()), (200, json!(["broker-a"])), "{saved}");
    let route = eventually(Duration::from_secs(30), "the new route", || async {
        adapter.route(&made).await.ok()
    })
    .await;
    assert_eq!(route.len(), 1);
    assert_eq!(
        (route[0].broker.as_str(), route[0].write_queues, route[0].perm),
        ("broker-a", 3, 6)
    );
    let (code, _) = app
        .call(
            Method::PUT,
            &topics,
            json!({ "read_queues": 3, "write_queues": 3, "perm": 4, "brokers": ["broker-a"] }),
        )
        .await;
    assert_eq!(code, 200);
    eventually(Duration::from_secs(30), "a read-only route", || async {
        adapter.route(&made).await.ok().filter(|r| r[0].perm == 4).map(drop)
    })
    .await;
    let (code, refused) =
        app.call(Method::PUT, &topics, json!({ "read_queues": 0, "write_queues": 3 })).await;
    assert_eq!(code, 422, "{refused}");
    let (code, _) = app.call(Method::DELETE, &topics, Value::Null).await;
    assert_eq!(code, 204);
    assert!(adapter.route(&made).await.is_err(), "no route after deletion");

    // A group with its own settings, then deleted.
    let groups = format!("/api/v1/clusters/rmqa/rocketmq/groups/{made}");
    let (code, _) = app
        .call(
            Method::PUT,
            &groups,
            json!({ "retry_max_times": 3, "consume_broadcast_enable": false }),
        )
        .await;
    assert_eq!(code, 204);
    let shown = eventually(Duration::from_secs(30), "the new group's settings", || async {
        let detail = app.get(&format!("/api/v1/clusters/rmqa/groups/{made}")).await;
        let detail: Value = detail.status().is_success().then_some(detail)?.json().await.ok()?;
        (detail["rocket"]["settings"]["retry_max_times"] == 3).then_some(detail)
    })
    .await;
    assert_eq!(
        shown["rocket"]["settings"]["consume_broadcast_enable"], false,
        "{}",
        shown["rocket"]
    );
    let (code, _) = app.call(Method::DELETE, &groups, Value::Null).await;
    assert_eq!(code, 204);
    eventually(Duration::from_secs(30), "the group gone", || async {
        (app.get(&format!("/api/v1/clusters/rmqa/groups/{made}")).await.status() == 404)
            .then_some(())
    })
    .await;
    let audit = app.json("/api/v1/audit").await;
    let actions: Vec<&str> =
        audit.as_array().unwrap().iter().filter_map(|a| a["action"].as_str()).collect();
    for action in [
        "group.reset.preview",
        "group.reset",
        "topic.upsert",
        "topic.delete",
        "group.upsert",
        "group.delete",
    ] {
        assert!(actions.contains(&action), "{action} audited: {actions:?}");
    }
    app.stop().await;
}
