//! The binary's configuration commands: clear one-line errors naming the key, non-zero exits,
//! secrets never printed.

use std::process::{Command, Output};

fn osprey(args: &[&str], config: Option<&str>, env: &[(&str, &str)]) -> Output {
    let dir = tempfile::tempdir().unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_osprey"));
    command.args(args).env_remove("OSPREY_CONFIG");
    for (key, _) in std::env::vars().filter(|(k, _)| k.starts_with("OSPREY__")) {
        command.env_remove(key);
    }
    if let Some(text) = config {
        let path = dir.path().join("osprey.toml");
        std::fs::write(&path, text).unwrap();
        command.arg("--config").arg(path);
    }
    command.envs(env.iter().copied());
    command.output().unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

const GOOD: &str = r#"
[database]
url = "postgres://osprey:db-secret@db.example.com/osprey"
[[clusters]]
name = "prod"
kind = "kafka"
bootstrap_servers = "b1:9092,b2:9092"
[clusters.properties]
"security.protocol" = "SASL_SSL"
"sasl.mechanism" = "PLAIN"
"sasl.username" = "osprey"
"sasl.password" = "kafka-secret"
"#;

#[test]
fn a_good_config_checks_and_prints_without_secrets() {
    let checked = osprey(&["check-config"], Some(GOOD), &[]);
    assert!(checked.status.success(), "{}", stderr(&checked));
    assert!(String::from_utf8_lossy(&checked.stdout).contains("1 cluster"));

    let printed =
        osprey(&["print-config"], Some(GOOD), &[("OSPREY__SERVER__LISTEN", "127.0.0.1:9999")]);
    assert!(printed.status.success());
    let text = String::from_utf8_lossy(&printed.stdout);
    assert!(text.contains("listen = \"127.0.0.1:9999\""), "env overrides the file: {text}");
    assert!(text.contains("\"sasl.username\" = \"osprey\""));
    assert!(!text.contains("kafka-secret") && !text.contains("db-secret"), "{text}");
    assert!(text.contains("# "), "every key comes with a comment");
}

#[test]
fn print_config_without_a_file_shows_every_default() {
    let printed = osprey(&["print-config"], None, &[]);
    let text = String::from_utf8_lossy(&printed.stdout);
    for key in [
        "listen = \"127.0.0.1:8048\"",
        "url = \"sqlite://data/osprey.db\"",
        "retention =",
        "request_timeout =",
    ] {
        assert!(text.contains(key), "{key} missing from\n{text}");
    }
}

#[test]
fn bad_configs_fail_with_one_line_naming_the_key() {
    type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a str);
    let cases: &[Case<'_>] = &[
        ("[server]\nlisten = \"somewhere\"", &[], "server.listen"),
        ("[database]\nurl = \"oracle://db\"", &[], "database.url"),
        (
            "[[clusters]]\nname = \"p\"\nkind = \"kafka\"\nbootstrap_servers = \"b:9092\"\npoll_interval = \"often\"",
            &[],
            "clusters[0].poll_interval",
        ),
        (
            "[[clusters]]\nname = \"p\"\nkind = \"kafka\"\nbootstrap_servers = \"b:9092\"\n[clusters.properties]\n\"no.such.property\" = \"1\"",
            &[],
            "clusters[0]",
        ),
        ("[server\nlisten = 1", &[], "not valid TOML"),
        ("", &[("OSPREY__DATABASE__MAX_CONNECTIONS", "zero")], "database.max_connections"),
    ];
    for (text, env, needle) in cases {
        let output = osprey(&["check-config"], Some(text), env);
        let err = stderr(&output);
        assert_eq!(output.status.code(), Some(2), "{text}: {err}");
        assert!(err.contains(needle), "{needle} not in: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    }
}

#[test]
fn a_missing_config_file_is_named() {
    let output = Command::new(env!("CARGO_BIN_EXE_osprey"))
        .args(["check-config", "--config", "/nonexistent/osprey.toml"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("/nonexistent/osprey.toml"));
}

#[test]
fn serve_reports_an_unreachable_database_and_exits() {
    let config = "[server]\nlisten = \"127.0.0.1:0\"\n[database]\nurl = \"postgres://osprey:x@127.0.0.1:1/osprey\"\n";
    let output = osprey(&["serve"], Some(config), &[("OSPREY_LOG", "error")]);
    assert!(!output.status.success());
    let err = stderr(&output);
    assert!(err.contains("cannot connect to the database"), "{err}");
    assert!(!err.contains(":x@"), "the password stays hidden: {err}");
}

/// Every secret a config can hold, each a distinct word to search the logs for.
const SECRETS: [&str; 8] = [
    "S3cret-admin-pw",
    "S3cret-metrics-token",
    "S3cret-smtp-pw",
    "S3cret-hook-signing",
    "S3cret-hook-header",
    "S3cret-kafka-sasl",
    "S3cret-rabbit-pw",
    "S3cret-rocket-key",
];

#[tokio::test(flavor = "multi_thread")]
async fn a_full_run_at_debug_level_never_logs_a_configured_secret() {
    let dir = tempfile::tempdir().unwrap();
    let port = crate::helpers::free_port();
    let closed = loop {
        let candidate = crate::helpers::free_port();
        if candidate != port {
            break candidate;
        }
    };
    let [admin, metrics, smtp, signing, header, sasl, rabbit, rocket] = SECRETS;
    let config = format!(
        r#"
        [server]
        listen = "127.0.0.1:{port}"
        [database]
        url = "sqlite://{db}"
        [auth]
        initial_admin = "root"
        initial_admin_password = "{admin}"
        metrics_token = "{metrics}"
        [alerts]
        group_wait = "0s"
        group_interval = "0s"
        allow_private_targets = true
        [[alerts.channels]]
        name = "mail"
        kind = "email"
        smtp_host = "127.0.0.1"
        smtp_port = {closed}
        tls = "none"
        username = "osprey"
        password = "{smtp}"
        from = "osprey@example.com"
        to = ["oncall@example.com"]
        timeout = "2s"
        [[alerts.channels]]
        name = "hook"
        kind = "webhook"
        url = "http://127.0.0.1:{closed}/hook?token={header}"
        secret = "{signing}"
        headers = {{ "Authorization" = "Bearer {header}" }}
        timeout = "2s"
        [[clusters]]
        name = "kafka"
        kind = "kafka"
        bootstrap_servers = "127.0.0.1:{closed}"
        poll_interval = "1s"
        [clusters.properties]
        "security.protocol" = "SASL_PLAINTEXT"
        "sasl.mechanism" = "PLAIN"
        "sasl.username" = "osprey"
        "sasl.password" = "{sasl}"
        [[clusters]]
        name = "rabbit"
        kind = "rabbitmq"
        management_url = "http://127.0.0.1:{closed}"
        username = "osprey"
        password = "{rabbit}"
        poll_interval = "1s"
        [[clusters]]
        name = "rocket"
        kind = "rocketmq"
        namesrv_addrs = "127.0.0.1:{closed}"
        access_key = "osprey"
        secret_key = "{rocket}"
        poll_interval = "1s"
        "#,
        db = dir.path().join("osprey.db").display(),
    );
    let path = dir.path().join("osprey.toml");
    std::fs::write(&path, config).unwrap();
    let log = std::fs::File::create(dir.path().join("osprey.log")).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_osprey"))
        .args(["serve", "--config"])
        .arg(&path)
        .env("OSPREY_LOG", "debug")
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let http =
        reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    crate::helpers::eventually(std::time::Duration::from_secs(30), "osprey serving", || async {
        http.get(format!("{base}/healthz")).send().await.ok()?.status().is_success().then_some(())
    })
    .await;
    // Open the setup page with a token in the query, log in wrongly and rightly, scrape, test
    // both channels, let the pollers fail a few times.
    let probe = format!("{base}/lang/en?back=/&token={header}");
    http.get(probe).send().await.unwrap();
    let mut cookie = String::new();
    for password in ["wrong-password", admin] {
        let form = [("username", "root"), ("password", password)];
        let answer = http.post(format!("{base}/login")).form(&form).send().await.unwrap();
        if let Some(set) = answer.headers().get("set-cookie") {
            cookie = set.to_str().unwrap().split(';').next().unwrap().to_owned();
        }
    }
    assert!(!cookie.is_empty(), "logged in");
    let scraped = http.get(format!("{base}/metrics")).bearer_auth(metrics).send().await.unwrap();
    assert!(scraped.status().is_success());
    let page = http.get(format!("{base}/alerts/channels")).header("cookie", &cookie).send().await;
    let page = page.unwrap().text().await.unwrap();
    let marker = "name=\"_csrf\" value=\"";
    let csrf = page.find(marker).map(|at| &page[at + marker.len()..]).unwrap_or_default();
    let csrf = &csrf[..csrf.find('"').unwrap_or(0)];
    for channel in ["mail", "hook"] {
        let url = format!("{base}/alerts/channels/{channel}/test");
        http.post(url).header("cookie", &cookie).form(&[("_csrf", csrf)]).send().await.unwrap();
    }
    tokio::time::sleep(std::time::Duration::from_secs(4)).await;
    child.kill().unwrap();
    child.wait().unwrap();

    let logged = std::fs::read_to_string(dir.path().join("osprey.log")).unwrap();
    assert!(logged.contains("alert") && logged.lines().count() > 20, "a real run: {logged}");
    for secret in SECRETS {
        assert!(!logged.contains(secret), "{secret} is in the log:\n{logged}");
    }
}
