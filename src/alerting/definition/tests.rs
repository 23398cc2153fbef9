use super::*;

fn rule(toml_text: &str) -> RuleDef {
    toml::from_str(toml_text).unwrap()
}

#[test]
fn patterns_match_names_stars_and_alternatives() {
    assert!(matches_pattern("billing", "billing"));
    assert!(!matches_pattern("billing", "billing-2"));
    assert!(matches_pattern("billing*", "billing-2"));
    assert!(matches_pattern("*", ""));
    assert!(matches_pattern("a*b*c", "axxbyyc"));
    assert!(!matches_pattern("a*b*c", "axxbyy"));
    assert!(matches_pattern("pay?", "pays"));
    assert!(matches_pattern("audit, billing-*", "billing-eu"));
    assert!(!matches_pattern("", "x"));
}

#[test]
fn a_rule_reads_as_in_the_readme() {
    let r = rule(
        r#"
        name = "billing-lag"
        kind = "consumer_lag"
        cluster = "prod"
        group = "billing"
        threshold = 10000
        for = "2m"
        repeat_interval = "1h"
        severity = "critical"
        channels = ["oncall"]
        "#,
    );
    assert_eq!(r.hold, Duration::from_secs(120));
    assert_eq!(r.repeat_interval, Some(Duration::from_secs(3600)));
    assert_eq!((r.severity, r.enabled), (Severity::Critical, true));
    assert_eq!(r.validate(|c| c == "oncall"), Ok(()));
    let back: RuleDef = serde_json::from_str(&serde_json::to_string(&r).unwrap()).unwrap();
    assert_eq!(back, r, "the JSON kept in the database reads back the same");
}

#[test]
fn rule_mistakes_name_the_field() {
    let base = r#"name = "r"
        channels = ["oncall"]
        "#;
    let field = |extra: &str| {
        rule(&format!("{base}{extra}")).validate(|c| c == "oncall").unwrap_err().field
    };
    assert_eq!(field("kind = \"consumer_lag\""), "threshold");
    assert_eq!(field("kind = \"consumer_status\""), "status");
    assert_eq!(field("kind = \"consumer_status\"\nstatus = \"OK\""), "status");
    assert_eq!(field("kind = \"cluster_down\"\nthreshold = 3"), "threshold");
    assert_eq!(field("kind = \"cluster_down\"\ngroup = \"g\""), "group");
    assert_eq!(field("kind = \"consumer_lag\"\nthreshold = -1"), "threshold");
    assert_eq!(
        field("kind = \"consumer_lag\"\nthreshold = 1\nrepeat_interval = \"10s\""),
        "repeat_interval"
    );
    let unknown_channel = rule(&format!("{base}kind = \"cluster_down\"")).validate(|_| false);
    assert_eq!(unknown_channel.unwrap_err().message, "there is no channel \"oncall\"");
    assert!(rule(&format!("{base}kind = \"under_replicated\"")).validate(|_| true).is_ok());
}

fn channel(toml_text: &str) -> ChannelDef {
    toml::from_str(toml_text).unwrap()
}

#[test]
fn channels_validate_per_kind() {
    let email = channel(
        r#"name = "oncall"
        kind = "email"
        smtp_host = "smtp.example.com"
        password = "${SMTP_PASSWORD}"
        username = "osprey"
        from = "osprey@example.com"
        to = ["a@example.com", "b@example.com"]"#,
    );
    assert_eq!(email.validate(), Ok(()));
    assert_eq!((email.tls(), email.smtp_port()), (SmtpTls::Starttls, 587));
    assert_eq!(email.env_references(), [("password".into(), "SMTP_PASSWORD".into())]);
    let no_to = ChannelDef { to: vec![], ..email.clone() };
    assert_eq!(no_to.validate().unwrap_err().field, "to");

    let hook = channel(
        r#"name = "hook"
        kind = "webhook"
        url = "ftp://x"
        "#,
    );
    assert_eq!(hook.validate().unwrap_err().field, "url");
    let hook = ChannelDef { url: Some("https://hooks.slack.com/x".into()), ..hook };
    assert_eq!(hook.validate(), Ok(()));
    let bad_header = ChannelDef {
        headers: [("bad header".to_string(), "v".to_string())].into(),
        ..hook.clone()
    };
    assert_eq!(bad_header.validate().unwrap_err().field, "headers");
}

#[test]
fn redaction_hides_literals_but_shows_references_and_edits_keep_secrets() {
    let stored = ChannelDef {
        password: Some("hunter2".into()),
        secret: Some("${HOOK_SECRET}".into()),
        ..channel("name = \"c\"\nkind = \"webhook\"\nurl = \"http://x\"")
    };
    let shown = stored.redacted();
    assert_eq!(shown.password.as_deref(), Some(REDACTED));
    assert_eq!(shown.secret.as_deref(), Some("${HOOK_SECRET}"));
    let mut edited = shown.clone();
    edited.keep_secrets_from(&stored);
    assert_eq!(edited.password.as_deref(), Some("hunter2"));
}

#[test]
fn on_call_receivers_need_their_key_or_chat() {
    let hook = |extra: &str| {
        channel(&format!(
            "name = \"oncall\"\nkind = \"webhook\"\nurl = \"https://example.com/x\"\n{extra}"
        ))
    };
    let field = |c: ChannelDef| c.validate().map_err(|e| e.field);
    assert_eq!(field(hook("format = \"pagerduty\"")), Err("secret".into()));
    assert_eq!(field(hook("format = \"pagerduty\"\nsecret = \"${PD_KEY}\"")), Ok(()));
    assert_eq!(field(hook("format = \"opsgenie\"")), Err("secret".into()));
    assert_eq!(field(hook("format = \"telegram\"")), Err("to".into()));
    assert_eq!(
        field(hook("format = \"telegram\"\nto = [\"-100123\", \"-100456\"]")),
        Err("to".into())
    );
    assert_eq!(field(hook("format = \"telegram\"\nto = [\"-100123\"]")), Ok(()));
    assert_eq!(field(hook("format = \"teams\"\nto = [\"-100123\"]")), Err("to".into()));
    assert_eq!(field(hook("format = \"alertmanager\"")), Ok(()));
    assert_eq!(field(hook("format = \"teams\"")), Ok(()));
    // A chat id from the environment is a reference like any other: the allow-list sees it.
    let chat = hook("format = \"telegram\"\nto = [\"${CHAT}\"]");
    assert_eq!(chat.env_references(), [("to[0]".into(), "CHAT".into())]);
}

#[test]
fn spans_are_checked_where_the_kind_reads_them_and_refused_elsewhere() {
    let base = "name = \"r\"\ncluster = \"*\"\nchannels = [\"c\"]\nthreshold = 9\n";
    let error = |extra: &str| rule(&format!("{base}{extra}")).validate(|_| true).err();
    let said = |extra: &str| error(extra).map(|e| format!("{}: {}", e.field, e.message));
    assert_eq!(said("kind = \"lag_forecast\"\nhorizon = \"30m\""), None);
    assert_eq!(
        said("kind = \"lag_forecast\"\nhorizon = \"2s\"").as_deref(),
        Some("horizon: must be between 1m and 7d")
    );
    assert_eq!(
        said("kind = \"producer_stopped\"\nwindow = \"2h\"").as_deref(),
        Some("window: must be between 1m and 1h")
    );
    assert_eq!(
        said("kind = \"consumer_lag\"\nwindow = \"5m\"").as_deref(),
        Some("window: does not apply to consumer_lag rules")
    );
    assert_eq!(
        said("kind = \"canary_latency\"\nhorizon = \"5m\"").as_deref(),
        Some("horizon: does not apply to canary_latency rules")
    );
    assert_eq!(said("kind = \"canary_loss\""), None);
}
