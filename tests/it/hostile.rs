//! Hostile input for every class of form and API parameter — oversized, wrong type, control
//! characters, path traversal, unicode names — answered with a clear 4xx naming the problem,
//! never a 5xx, and the process keeps serving.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::*;

const HUGE: usize = 3 * 1024 * 1024;

/// (method, path, JSON body, whether only a refusal is right).
fn cases() -> Vec<(Method, String, Value, bool)> {
    let long = "n".repeat(10_000);
    let names = ["..", "../../etc/passwd", "a\u{0007}b", "名字", "%00", "a b", long.as_str()];
    let mut cases = Vec::new();
    for name in names {
        let segment: String = url::form_urlencoded::byte_serialize(name.as_bytes()).collect();
        let segment = segment.replace('+', "%20");
        for path in [
            format!("/api/v1/clusters/{segment}"),
            format!("/api/v1/clusters/it/topics/{segment}"),
            format!("/api/v1/clusters/it/groups/{segment}"),
            format!("/api/v1/clusters/it/topics/{segment}/messages"),
            format!("/api/v1/alert-rules/{segment}"),
            format!("/api/v1/alert-channels/{segment}"),
        ] {
            cases.push((Method::GET, path, Value::Null, true));
        }
        cases.push((
            Method::POST,
            "/api/v1/alert-channels".into(),
            json!({ "name": name, "kind": "webhook", "url": "https://example.com/hook" }),
            true,
        ));
        cases.push((
            Method::POST,
            "/api/v1/users".into(),
            json!({ "username": name, "password": "long-enough-password", "role": "viewer" }),
            true,
        ));
        cases.push((
            Method::POST,
            "/api/v1/clusters/it/topics".into(),
            json!({ "name": name, "partitions": 1 }),
            true,
        ));
    }
    // Either refused clearly or read leniently (a bad %-escape, an unknown display), never a
    // server error.
    for query in [
        "limit=abc",
        "limit=-1",
        "limit=99999999999999999999",
        "partition=-5",
        "partition=7",
        "partition=2147483648",
        "from=sideways",
        "from=offset&at=1e99",
        "from=timestamp&at=%00",
        "filter=%E0%A4%A",
        "show=\u{202e}hex",
    ] {
        let path = format!("/api/v1/clusters/it/topics/mock/messages?{query}");
        let refuse = query.starts_with("partition") || query.starts_with("limit=abc");
        cases.push((Method::GET, path, Value::Null, refuse));
    }
    for range in ["zzz", "-1h", "99999999d", "1e9s"] {
        let path = format!("/api/v1/clusters/it?range={range}");
        cases.push((Method::GET, path, Value::Null, false));
    }
    let send = "/api/v1/clusters/it/topics/mock/messages".to_owned();
    for body in [
        json!({ "value": 5, "count": "many" }),
        json!({ "value": "x", "count": 1_000_000 }),
        json!({ "value": "x", "partition": "zero" }),
        json!({ "value": "x", "headers": "not-a-map" }),
        json!({ "value": "x".repeat(HUGE) }),
        json!([1, 2, 3]),
    ] {
        cases.push((Method::POST, send.clone(), body, true));
    }
    cases.push((
        Method::POST,
        "/api/v1/alert-rules".into(),
        json!({ "name": "r", "kind": "consumer_lag", "threshold": "lots", "channels": [] }),
        true,
    ));
    cases.push((
        Method::POST,
        "/api/v1/clusters/it/groups/g/reset".into(),
        json!({ "to": "yesterday", "topics": { "mock": "x" } }),
        true,
    ));
    cases.push((
        Method::POST,
        "/api/v1/silences".into(),
        json!({ "rule": "..", "duration": "forever" }),
        true,
    ));
    cases
}

#[tokio::test(flavor = "multi_thread")]
async fn hostile_parameters_get_a_clear_client_error_never_a_server_error() {
    let broker = Broker::start(BrokerKind::Noida).await;
    create_topics(&broker.bootstrap(), &[("mock", 1)]).await;
    let app = TestApp::with_clusters(vec![kafka_cluster("it", &broker.bootstrap())]).await;
    eventually(Duration::from_secs(30), "the topic in the app", || async {
        let topics = app.json("/api/v1/clusters/it/topics").await;
        topics["rows"].as_array()?.iter().any(|t| t["name"] == "mock").then_some(())
    })
    .await;
    let mut failures = Vec::new();
    for (method, path, body, refuse) in cases() {
        let mut request = app.http.request(method.clone(), format!("{}{path}", app.base));
        if !body.is_null() {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        let shown: String = path.chars().take(80).collect();
        let excerpt: String = text.chars().take(200).collect();
        if status.is_server_error() || (refuse && !status.is_client_error()) {
            failures.push(format!("{method} {shown}: {status} {excerpt}"));
            continue;
        }
        if status.is_success() {
            continue;
        }
        let error: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        let message = error["error"]["message"].as_str().unwrap_or_default();
        if error["error"]["code"].as_str().is_none() || message.is_empty() || message.len() > 2_000
        {
            failures.push(format!(
                "{method} {shown}: {status} unclear: {}",
                &text[..text.len().min(200)]
            ));
        }
    }
    // Forms: the same classes of bad input through the pages' forms, as an admin. A refusal is
    // the form again with its error beside the field (4xx), never a 5xx or a silent success.
    let admin = app.client_as("hostile-admin", osprey::auth::Role::Admin).await;
    let big = "v".repeat(HUGE);
    let send = "/clusters/it/topics/mock/send";
    let forms: [(&str, Vec<(&str, &str)>); 11] = [
        (send, vec![("value", "x"), ("count", "many")]),
        (send, vec![("value", big.as_str()), ("count", "1000")]),
        (send, vec![("value", "x"), ("partition", "2147483648")]),
        (send, vec![("value", "x"), ("compression", "brotli")]),
        (send, vec![("value", "{not json"), ("value_format", "json")]),
        ("/alerts/rules", vec![("name", "r"), ("kind", "nonsense")]),
        ("/alerts/rules", vec![("name", "r"), ("kind", "lag_forecast"), ("threshold", "lots")]),
        (
            "/alerts/rules",
            vec![("name", "r"), ("kind", "lag_forecast"), ("threshold", "9"), ("horizon", "2s")],
        ),
        (
            "/alerts/rules",
            vec![("name", "../x\u{7}"), ("kind", "consumer_lag"), ("threshold", "1")],
        ),
        ("/alerts/channels", vec![("name", "c"), ("kind", "carrier-pigeon")]),
        ("/alerts/silences", vec![("rule", ".."), ("duration", "forever")]),
    ];
    for (path, form) in forms {
        let response = admin.post(format!("{}{path}", app.base)).form(&form).send().await.unwrap();
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        let shown: Vec<String> = form
            .iter()
            .map(|(k, v)| format!("{k}={}", v.chars().take(20).collect::<String>()))
            .collect();
        if !status.is_client_error() {
            failures.push(format!("POST {path} {shown:?}: {status}"));
        } else if !["field-error", r#"id="form-error""#, r#"class="banner down""#]
            .iter()
            .any(|marker| text.contains(marker))
        {
            let start = text.find("<main").unwrap_or(0);
            let excerpt: String = text[start..].chars().take(1500).collect();
            failures.push(format!("POST {path} {shown:?}: {status} without its error: {excerpt}"));
        }
    }
    // Pages: traversal in static files and page paths.
    for path in [
        "/static/../Cargo.toml".to_owned(),
        format!("/static/{}/..%2f..%2fCargo.toml", env!("CARGO_PKG_VERSION")),
        "/clusters/%2e%2e/topics".to_owned(),
        "/clusters/it/topics/%00".to_owned(),
    ] {
        let status = app.get(&path).await.status();
        if !status.is_client_error() {
            failures.push(format!("GET {path}: {status}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(app.get("/healthz").await.status(), reqwest::StatusCode::OK);
    app.stop().await;
}
