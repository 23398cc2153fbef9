//! The on-call receivers end to end: a lagging group on a real broker fires and resolves one
//! incident to PagerDuty, Opsgenie, Microsoft Teams, Telegram and Alertmanager channels, each
//! pointed at a local HTTP server that records what their documented APIs would receive.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{HeaderMap, Method, StatusCode, Uri};
use serde_json::Value;

use crate::alerts::{FAST_RETRIES, config, lag_rule, lagging_group};
use crate::groups::commit;
use crate::helpers::*;

/// One call as the receiver saw it: method, path and query, headers, JSON body.
type Call = (Method, String, HeaderMap, Value);

/// Records every request on any path and answers 202 (what PagerDuty, Opsgenie and Teams
/// answer), or 400 with Telegram's refusal for a chat it does not know.
#[derive(Clone)]
struct ApiReceiver {
    base: String,
    calls: Arc<Mutex<Vec<Call>>>,
}

impl ApiReceiver {
    async fn start() -> ApiReceiver {
        let calls: Arc<Mutex<Vec<Call>>> = Arc::default();
        let recorded = calls.clone();
        let app = axum::Router::new().fallback(
            move |method: Method, uri: Uri, headers: HeaderMap, body: axum::body::Bytes| {
                let recorded = recorded.clone();
                async move {
                    let value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                    let unknown_chat = value["chat_id"] == "-404";
                    recorded.lock().unwrap().push((method, uri.to_string(), headers, value));
                    let json = [(axum::http::header::CONTENT_TYPE, "application/json")];
                    if unknown_chat {
                        let refusal = r#"{"ok":false,"error_code":400,"description":"Bad Request: chat not found"}"#;
                        return (StatusCode::BAD_REQUEST, json, refusal);
                    }
                    (StatusCode::ACCEPTED, json, r#"{"status":"success"}"#)
                }
            },
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        ApiReceiver { base, calls }
    }

    /// The calls whose path starts with `prefix`.
    fn calls_to(&self, prefix: &str) -> Vec<Call> {
        self.calls.lock().unwrap().iter().filter(|c| c.1.starts_with(prefix)).cloned().collect()
    }
}

fn channels(base: &str) -> String {
    let rule = lag_rule(
        r#""pagerduty", "opsgenie", "teams", "telegram", "telegram-unknown", "alertmanager""#,
    );
    format!(
        r#"{FAST_RETRIES}

        [[alerts.channels]]
        name = "pagerduty"
        kind = "webhook"
        format = "pagerduty"
        url = "{base}/pagerduty/v2/enqueue"
        secret = "R0UTINGKEY"

        [[alerts.channels]]
        name = "opsgenie"
        kind = "webhook"
        format = "opsgenie"
        url = "{base}/opsgenie/v2/alerts"
        secret = "genie-key"

        [[alerts.channels]]
        name = "teams"
        kind = "webhook"
        format = "teams"
        url = "{base}/teams/workflows/abc/triggers/manual/paths/invoke?sig=s3cret"

        [[alerts.channels]]
        name = "telegram"
        kind = "webhook"
        format = "telegram"
        url = "{base}/telegram/bot123:TOKEN/sendMessage"
        to = ["-1001234567890"]

        [[alerts.channels]]
        name = "telegram-unknown"
        kind = "webhook"
        format = "telegram"
        url = "{base}/telegram/bot123:TOKEN/sendMessage"
        to = ["-404"]

        [[alerts.channels]]
        name = "alertmanager"
        kind = "webhook"
        format = "alertmanager"
        url = "{base}/alertmanager/"
        {rule}"#
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn one_incident_reaches_every_on_call_receiver_as_its_api_documents() {
    let broker = lagging_group().await;
    let receiver = ApiReceiver::start().await;
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(config(&broker, &dir, &channels(&receiver.base))).await;

    let receivers = ["/pagerduty", "/opsgenie", "/teams", "/telegram", "/alertmanager"];
    eventually(Duration::from_secs(40), "a firing call to every receiver", || async {
        receivers.iter().all(|r| !receiver.calls_to(r).is_empty()).then_some(())
    })
    .await;
    let incident = app.json("/api/v1/alerts").await["firing"][0]["id"]
        .as_str()
        .expect("one firing incident")
        .to_owned();

    // PagerDuty Events API v2: a trigger with the routing key, deduplicated by incident.
    let (method, path, _, pd) = receiver.calls_to("/pagerduty")[0].clone();
    assert_eq!((method, path.as_str()), (Method::POST, "/pagerduty/v2/enqueue"));
    assert_eq!(pd["routing_key"], "R0UTINGKEY");
    assert_eq!(pd["event_action"], "trigger");
    assert_eq!(pd["dedup_key"], incident.as_str());
    assert_eq!(pd["payload"]["severity"], "critical");
    assert_eq!(pd["payload"]["source"], "prod");
    assert!(pd["payload"]["summary"].as_str().unwrap().contains("group billing (topic orders)"));
    assert!(pd["payload"]["timestamp"].as_str().unwrap().ends_with('Z'));

    // Opsgenie: an alert under the incident as alias, the key in the Authorization header.
    let (_, path, headers, genie) = receiver.calls_to("/opsgenie")[0].clone();
    assert_eq!(path, "/opsgenie/v2/alerts");
    assert_eq!(headers["authorization"], "GenieKey genie-key");
    assert_eq!(
        (genie["alias"].as_str(), genie["priority"].as_str()),
        (Some(incident.as_str()), Some("P1"))
    );

    // Teams: an Adaptive Card in a message, at the workflow's URL with its signature.
    let (_, path, _, teams) = receiver.calls_to("/teams")[0].clone();
    assert!(path.ends_with("/invoke?sig=s3cret"), "{path}");
    let card = &teams["attachments"][0]["content"];
    assert_eq!(card["type"], "AdaptiveCard");
    assert!(card["body"][0]["text"].as_str().unwrap().starts_with(r"\[FIRING · CRITICAL\]"));

    // Telegram: sendMessage to the chat, in HTML.
    let sent = receiver.calls_to("/telegram");
    let to_chat = sent.iter().find(|c| c.3["chat_id"] == "-1001234567890").expect("the chat");
    assert_eq!(to_chat.1, "/telegram/bot123:TOKEN/sendMessage");
    assert_eq!(to_chat.3["parse_mode"], "HTML");
    assert!(to_chat.3["text"].as_str().unwrap().starts_with("<b>[FIRING"));

    // Alertmanager: /api/v2/alerts under the address given, one alert labelled by the rule.
    let (_, path, _, am) = receiver.calls_to("/alertmanager")[0].clone();
    assert_eq!(path, "/alertmanager/api/v2/alerts");
    assert_eq!(am[0]["labels"]["alertname"], "billing-lag");
    assert_eq!(am[0]["labels"]["consumer_group"], "billing");
    assert_eq!(am[0]["annotations"]["incident"], incident.as_str());

    // A refusal reads like the other channels' errors, on the page and in the API.
    let refused = eventually(Duration::from_secs(20), "the refused Telegram delivery", || async {
        let alerts = app.json("/api/v1/alerts").await;
        let deliveries = alerts["firing"][0]["deliveries"].as_array().cloned().unwrap_or_default();
        deliveries.into_iter().find(|d| {
            d["channel"] == "telegram-unknown" && d["attempt_log"][0]["error"].is_string()
        })
    })
    .await;
    let error = refused["attempt_log"][0]["error"].as_str().unwrap();
    assert!(error.contains("400") && error.contains("chat not found"), "{error}");
    assert!(!error.contains("TOKEN"), "the bot token stays out of errors: {error}");

    // The consumer catches up: each receiver hears the resolution its own way.
    commit(&broker.bootstrap(), "billing", &[("orders", 0, 30)]);
    eventually(Duration::from_secs(40), "the resolutions", || async {
        (receiver.calls_to("/pagerduty").len() == 2
            && receiver.calls_to("/opsgenie").len() == 2
            && receiver.calls_to("/alertmanager").len() == 2)
            .then_some(())
    })
    .await;
    let resolve = &receiver.calls_to("/pagerduty")[1].3;
    assert_eq!(resolve["event_action"], "resolve");
    assert_eq!(resolve["dedup_key"], incident.as_str());
    assert_eq!(resolve["routing_key"], "R0UTINGKEY");
    let (_, close_path, _, close) = receiver.calls_to("/opsgenie")[1].clone();
    assert_eq!(close_path, format!("/opsgenie/v2/alerts/{incident}/close?identifierType=alias"));
    assert_eq!(close["source"], "Osprey");
    let ended = &receiver.calls_to("/alertmanager")[1].3[0];
    assert!(ended["endsAt"].as_str().unwrap() < am[0]["endsAt"].as_str().unwrap());

    // "Send test" on an on-call service opens an incident there and closes it again at once.
    let before = receiver.calls_to("/pagerduty").len();
    let url = format!("{}/api/v1/alert-channels/pagerduty/test", app.base);
    let tested: Value = app.http.post(url).send().await.unwrap().json().await.unwrap();
    assert_eq!(tested["ok"], true, "{tested}");
    let calls = receiver.calls_to("/pagerduty");
    assert_eq!(calls.len(), before + 2);
    let (opened, closed) = (&calls[before].3, &calls[before + 1].3);
    assert_eq!(
        (opened["event_action"].as_str(), closed["event_action"].as_str()),
        (Some("trigger"), Some("resolve"))
    );
    assert_eq!(opened["dedup_key"], closed["dedup_key"]);
    app.stop().await;
}
