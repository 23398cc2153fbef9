//! What no dashboard has, on the real cluster: a lag forecast that fires before the threshold
//! is reached, with the time to the crossing on the Group page, in the API, in `/metrics` and in
//! the notice.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use rdkafka::producer::FutureRecord;

use super::bootstrap;
use crate::alerts::{SmtpSink, mail_channel};
use crate::groups::commit;
use crate::helpers::*;

/// Sends to partition 0 of `topic` about every 50 ms until `running` turns false.
fn steady_producer(topic: String, running: Arc<AtomicBool>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let producer = producer(&bootstrap());
        while running.load(Ordering::SeqCst) {
            let record = FutureRecord::<str, str>::to(&topic).partition(0).payload("tick");
            let _ = producer.send(record, Duration::from_secs(10)).await;
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn a_lag_forecast_fires_long_before_the_lag_reaches_its_threshold() {
    let topic = unique("heading");
    let group = unique("heading-readers");
    create_topics(&bootstrap(), &[(&topic, 1)]).await;
    commit(&bootstrap(), &group, &[(&topic, 0, 0)]);
    let smtp = SmtpSink::start(None).await;
    let toml = format!(
        r#"{}
        [[alerts.rules]]
        name = "heading"
        kind = "lag_forecast"
        cluster = "k4fc"
        group = "{group}"
        threshold = 10000
        horizon = "15m"
        channels = ["mail"]
        "#,
        mail_channel("mail", smtp.port, None)
    );
    let dir = tempfile::tempdir().unwrap();
    let app =
        TestApp::spawn(toml_config(&dir, &toml, vec![kafka_cluster("k4fc", &bootstrap())])).await;

    // Nobody reads; about 20 messages a second arrive: 18,000 behind in 15 minutes.
    let running = Arc::new(AtomicBool::new(true));
    let producing = steady_producer(topic.clone(), running.clone());
    let mail = eventually(Duration::from_secs(90), "the forecast's e-mail", || async {
        smtp.messages().into_iter().find(|(subject, _)| subject.contains("[FIRING"))
    })
    .await;
    let api = format!("/api/v1/clusters/k4fc/groups/{group}");
    let detail = app.json(&api).await;
    running.store(false, Ordering::SeqCst);
    producing.await.unwrap();

    let lag = detail["group"]["lag"].as_i64().unwrap();
    assert!(lag < 10_000, "fired at a lag of {lag}, well before 10,000");
    let trend = detail["group"]["lag_trend_per_sec"].as_f64().unwrap();
    assert!(trend > 1.0, "the lag grows: {detail}");
    let (subject, raw) = mail;
    assert!(subject.contains("lag heading for") && subject.contains("10,000"), "{subject}");
    let body = raw.replace("=\r\n", "").replace("=\n", "");
    assert!(body.contains("at this rate the lag passes 10,000 in about"), "{body}");

    // The Group page, the list and /metrics say the same.
    let forecast = &detail["forecasts"][0];
    assert_eq!(forecast["rule"], "heading", "{detail}");
    assert!(forecast["passes_in"].as_f64().unwrap() > 0.0, "{detail}");
    let page = app.html(&format!("/clusters/k4fc/groups/{group}")).await;
    assert!(
        page.contains(r#"id="forecasts""#) && page.contains("passes 10,000 (heading)"),
        "{page}"
    );
    let list = app.json(&format!("/api/v1/clusters/k4fc/groups?q={group}")).await;
    assert_eq!(list["rows"][0]["forecast"]["rule"], "heading", "{list}");
    let metrics = app.get("/metrics").await.text().await.unwrap();
    let series = format!(r#"osprey_consumergroup_lag_trend{{cluster="k4fc",group="{group}"}}"#);
    assert!(metrics.contains(&series), "{metrics}");
    app.stop().await;
}
