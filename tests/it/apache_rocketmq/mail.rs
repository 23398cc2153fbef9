//! A lag alert e-mail from a real RocketMQ group, end to end: the group falls 10 messages behind
//! across both masters, one notice goes out by SMTP naming the group and its lag, and one more
//! when a consumer catches up.

use std::time::Duration;

use super::*;
use crate::alerts::{SmtpSink, mail_channel};

#[tokio::test(flavor = "multi_thread")]
async fn a_lagging_group_mails_once_and_mails_again_when_it_catches_up() {
    let (topic, group) = (rocket_name("invoices"), rocket_name("ledger"));
    create_topic(&topic, 2);
    let namesrv = namesrv();
    JavaClient::run("produce", &["--namesrv", &namesrv, "--topic", &topic, "--count", "2"]).await;

    let smtp = SmtpSink::start(None).await;
    let rules = format!(
        r#"
        [[alerts.rules]]
        name = "ledger-lag"
        kind = "consumer_lag"
        cluster = "rmqm"
        group = "{group}"
        threshold = 5
        for = "0s"
        channels = ["mail"]
        "#
    );
    let toml = format!("{}{rules}", mail_channel("mail", smtp.port, None));
    // The group reads the first 2 messages and stops; 10 more arrive. Osprey starts after, so
    // no poll sees the lag halfway (6 > 5 would fire with another number).
    let mut first = JavaClient::start(
        "push",
        &["--namesrv", &namesrv, "--topic", &topic, "--group", &group, "--count", "2"],
    );
    first.wait_for("done", Duration::from_secs(90)).await;
    first.stop();
    JavaClient::run("produce", &["--namesrv", &namesrv, "--topic", &topic, "--count", "10"]).await;
    let app = TestApp::from_toml(&toml, vec![apache_rocket_cluster("rmqm", &namesrv)]).await;

    let subject_of =
        |status: &str| smtp.messages().into_iter().find(|(subject, _)| subject.contains(status));
    let (subject, body) =
        eventually(Duration::from_secs(90), "the firing e-mail", || async { subject_of("FIRING") })
            .await;
    assert!(subject.contains("lag 10 > 5") && subject.contains(&group), "{subject}");
    assert!(body.contains(&group) && body.contains("rmqm"), "{body}");

    let mut rest = JavaClient::start(
        "push",
        &["--namesrv", &namesrv, "--topic", &topic, "--group", &group, "--count", "10"],
    );
    rest.wait_for("done", Duration::from_secs(90)).await;
    eventually(Duration::from_secs(90), "the resolved e-mail", || async { subject_of("RESOLVED") })
        .await;
    assert_eq!(smtp.messages().len(), 2, "one e-mail each way");
    rest.stop();
    app.stop().await;
}
