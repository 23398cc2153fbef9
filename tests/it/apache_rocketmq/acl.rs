//! A broker with ACL 2.0 on (its own cluster and name server): polled with the access key and
//! secret key, a clear error without them or with a wrong secret.

use std::time::Duration;

use osprey::config::ClusterConfig;

use super::*;

fn acl_cluster(name: &str, secret: Option<&str>) -> ClusterConfig {
    let mut cluster = apache_rocket_cluster(name, &peer("OSPREY_TEST_APACHE_ROCKETMQ_ACL_NAMESRV"));
    if let (Some(secret), osprey::config::Connection::Rocketmq(rocket)) =
        (secret, &mut cluster.connection)
    {
        rocket.access_key = Some(peer("OSPREY_TEST_APACHE_ROCKETMQ_ACL_USER"));
        rocket.secret_key = Some(osprey::secret::Secret::new(secret));
    }
    cluster
}

#[tokio::test(flavor = "multi_thread")]
async fn a_broker_with_acl_is_polled_with_its_keys_and_refuses_clearly_without() {
    let (topic, group) = (rocket_name("guarded"), rocket_name("keyholder"));
    let namesrv = peer("OSPREY_TEST_APACHE_ROCKETMQ_ACL_NAMESRV");
    let (user, password) = (
        peer("OSPREY_TEST_APACHE_ROCKETMQ_ACL_USER"),
        peer("OSPREY_TEST_APACHE_ROCKETMQ_ACL_PASSWORD"),
    );
    let keys = ["--access-key", user.as_str(), "--secret-key", password.as_str()];
    let produce = [&["--namesrv", &namesrv, "--topic", &topic, "--count", "5"][..], &keys].concat();
    JavaClient::run("produce", &produce).await;
    let consume =
        [&["--namesrv", &namesrv, "--topic", &topic, "--group", &group, "--count", "5"][..], &keys]
            .concat();
    let mut consumer = JavaClient::start("push", &consume);
    consumer.wait_for("done", Duration::from_secs(90)).await;
    consumer.stop();
    JavaClient::run(
        "produce",
        &[&["--namesrv", &namesrv, "--topic", &topic, "--count", "2"][..], &keys].concat(),
    )
    .await;

    let app = TestApp::with_clusters(vec![
        acl_cluster("keyed", Some(&password)),
        acl_cluster("keyless", None),
        acl_cluster("wrong", Some("not-the-secret")),
    ])
    .await;
    let detail = group_with_lag(&app, "keyed", &group, 2).await;
    assert_eq!(detail["cluster"]["status"], "up", "{}", detail["cluster"]);
    let errors = eventually(Duration::from_secs(60), "both refusals", || async {
        let clusters = app.json("/api/v1/clusters").await;
        let error = |name: &str| {
            clusters.as_array()?.iter().find(|c| c["name"] == name)?["error"]
                .as_str()
                .map(str::to_owned)
        };
        Some((error("keyless")?, error("wrong")?))
    })
    .await;
    for error in [&errors.0, &errors.1] {
        assert!(error.to_lowercase().contains("auth") || error.contains("denied"), "{errors:?}");
        assert!(!error.contains(&password), "{error}");
    }
    app.stop().await;
}
