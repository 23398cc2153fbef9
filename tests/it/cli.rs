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
