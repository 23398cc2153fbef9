use super::*;

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn load_text(text: &str, vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
    let mut table = parse_toml(text).unwrap();
    apply_env_overrides(&mut table, env(vars))?;
    Config::from_table(table)
}

const ONE_CLUSTER: &str = r#"
    [[clusters]]
    name = "prod"
    kind = "kafka"
    bootstrap_servers = "b1:9092,b2:9092"
    poll_interval = "10s"
    [clusters.properties]
    "security.protocol" = "SASL_SSL"
    "sasl.password" = "hunter2"
"#;

#[test]
fn defaults_apply_when_keys_are_missing() {
    let config = Config::from_toml_str("").unwrap();
    assert_eq!(config, Config::default());
    assert_eq!(config.server.listen.to_string(), "127.0.0.1:8048");
    assert_eq!(config.database.url.expose(), "sqlite://data/osprey.db");
}

const ALERTS: &str = r#"
    [alerts]
    public_url = "https://osprey.example.com"
    [[alerts.channels]]
    name = "oncall"
    kind = "email"
    smtp_host = "smtp.example.com"
    username = "osprey"
    password = "${SMTP_PASSWORD}"
    from = "osprey@example.com"
    to = ["oncall@example.com"]
    [[alerts.rules]]
    name = "billing-lag"
    kind = "consumer_lag"
    group = "billing"
    threshold = 10000
    for = "2m"
    channels = ["oncall"]
"#;

#[test]
fn alerts_read_with_rules_channels_and_env_references() {
    let config = load_text(ALERTS, &[]).unwrap();
    assert_eq!(config.alerts.rules[0].channels, ["oncall"]);
    assert_eq!(
        config.check_env_references(|_| false),
        Err(key_error(
            "alerts.channels[0].password",
            "environment variable SMTP_PASSWORD is not set"
        ))
    );
    assert_eq!(config.check_env_references(|n| n == "SMTP_PASSWORD"), Ok(()));
    let rendered = config.render_commented();
    assert!(rendered.contains("password = \"${SMTP_PASSWORD}\""), "references are not secret");
    assert_eq!(Config::from_toml_str(&rendered).unwrap().alerts, config.alerts);
}

#[test]
fn alert_mistakes_name_the_key() {
    let err = |text: &str| match load_text(text, &[]) {
        Err(ConfigError::Key { key, .. }) => key,
        other => panic!("{other:?}"),
    };
    assert_eq!(err(&ALERTS.replace("threshold = 10000", "")), "alerts.rules[0].threshold");
    assert_eq!(
        err(&ALERTS.replace("channels = [\"oncall\"]", "channels = [\"pager\"]")),
        "alerts.rules[0].channels"
    );
    assert_eq!(err(&ALERTS.replace("smtp.example.com", "")), "alerts.channels[0].smtp_host");
    assert_eq!(err(&ALERTS.replace("https://osprey", "ftp://osprey")), "alerts.public_url");
    assert_eq!(err(&ALERTS.replace("for = \"2m\"", "for = \"soon\"")), "alerts.rules[0].for");
    let literal = ALERTS.replace("${SMTP_PASSWORD}", "hunter2");
    let rendered = load_text(&literal, &[]).unwrap().render_commented();
    assert!(!rendered.contains("hunter2") && rendered.contains("<redacted>"));
}

#[test]
fn a_cluster_reads_with_its_properties() {
    let config = Config::from_toml_str(ONE_CLUSTER).unwrap();
    let cluster = &config.clusters[0];
    assert_eq!(cluster.name, "prod");
    assert_eq!(cluster.poll_interval, Duration::from_secs(10));
    assert_eq!(cluster.poll_timeout, Duration::from_secs(8));
    let Connection::Kafka(kafka) = &cluster.connection else { panic!("{cluster:?}") };
    assert_eq!(kafka.properties["security.protocol"], "SASL_SSL");
}

#[test]
fn environment_overrides_file_values_and_reaches_into_arrays() {
    let config = load_text(
        ONE_CLUSTER,
        &[
            ("OSPREY__SERVER__LISTEN", "0.0.0.0:9000"),
            ("OSPREY__DATABASE__MAX_CONNECTIONS", "3"),
            ("OSPREY__CLUSTERS__0__POLL_INTERVAL", "30s"),
            ("OSPREY__CLUSTERS__0__POLL_TIMEOUT", "20s"),
            ("UNRELATED", "x"),
        ],
    )
    .unwrap();
    assert_eq!(config.server.listen.to_string(), "0.0.0.0:9000");
    assert_eq!(config.database.max_connections, 3);
    assert_eq!(config.clusters[0].poll_interval, Duration::from_secs(30));
}

#[test]
fn environment_alone_can_define_a_cluster() {
    let config = load_text(
        "",
        &[
            ("OSPREY__CLUSTERS__0__NAME", "dev"),
            ("OSPREY__CLUSTERS__0__KIND", "kafka"),
            ("OSPREY__CLUSTERS__0__BOOTSTRAP_SERVERS", "localhost:9092"),
        ],
    )
    .unwrap();
    assert_eq!(config.clusters[0].name, "dev");
}

#[test]
fn errors_name_the_key_and_the_problem() {
    let cases: &[(&str, &str, &str)] = &[
        ("[server]\nlisten = \"nonsense\"", "server.listen", "invalid socket address"),
        ("[server]\nlisten_port = 1", "server.listen_port", "unknown field `listen_port`"),
        ("[database]\nurl = \"oracle://x\"", "database.url", "must start with"),
        (
            "[[clusters]]\nname='a'\nkind='kafka'\nbootstrap_servers='x:1'\npoll_interval='10x'",
            "clusters[0].poll_interval",
            "is not a duration",
        ),
        (
            "[[clusters]]\nname='a b'\nkind='kafka'\nbootstrap_servers='x:1'",
            "clusters[0].name",
            "not a valid name",
        ),
        (
            "[[clusters]]\nname='a'\nkind='pulsar'\nbootstrap_servers='x:1'",
            "clusters[0].kind",
            "is not one of kafka, rabbitmq, rocketmq, beanstalkd, gearman or activemq",
        ),
        ("[[clusters]]\nname='a'\nbootstrap_servers='x:1'", "clusters[0].kind", "missing"),
        (
            "[[clusters]]\nname='q'\nkind='activemq'\nmanagement_urls='amq:8161'",
            "clusters[0].management_urls",
            "\"amq:8161\" is not an http(s) URL",
        ),
        (
            "[[clusters]]\nname='q'\nkind='activemq'\nmanagement_urls='http://admin:hunter2@q:8161/api/jolokia'",
            "clusters[0].management_urls",
            "\"http://q:8161/api/jolokia\" carries a login",
        ),
        (
            "[[clusters]]\nname='q'\nkind='activemq'\nmanagement_urls='http://q:8161/api/jolokia'\nusername='admin'",
            "clusters[0].username",
            "username and password go together",
        ),
        (
            "[[clusters]]\nname='q'\nkind='activemq'\nmanagement_urls='http://q:8161/api/jolokia'\nflavor='hornetq'",
            "clusters[0].flavor",
            "unknown variant `hornetq`",
        ),
        (
            "[[clusters]]\nname='q'\nkind='activemq'\nmanagement_urls='http://q:8161/api/jolokia'\nservers='q:11300'",
            "clusters[0].servers",
            "management_urls",
        ),
        ("[[clusters]]\nkind='kafka'\nbootstrap_servers='x:1'", "clusters[0].name", "needs it"),
        (
            "[[clusters]]\nname='a'\nkind='kafka'\nbootstrap_servers=9092",
            "clusters[0].bootstrap_servers",
            "invalid type",
        ),
        (
            "[[clusters]]\nname='r'\nkind='rabbitmq'\nmanagement_url='http://r:15672'\nusername='u'",
            "clusters[0].password",
            "a rabbitmq cluster needs it",
        ),
        (
            "[[clusters]]\nname='r'\nkind='rabbitmq'\nmanagement_url='http://r:15672'\nusername='u'\npassword='p'\namqp_url='http://r:5672'",
            "clusters[0].amqp_url",
            "\"http://r:5672\" is not an amqp:// or amqps:// URL",
        ),
        (
            "[[clusters]]\nname='r'\nkind='rabbitmq'\nmanagement_url='http://r:15672'\nusername='u'\npassword='p'\namqp_url='amqp://u:hunter2@r:5672'",
            "clusters[0].amqp_url",
            "\"amqp://r:5672\" carries a login",
        ),
        (
            "[[clusters]]\nname='r'\nkind='rabbitmq'\nmanagement_url='http://r:15672'\nusername='u'\npassword='p'\namqp_url='amqp://r:5672/prod'",
            "clusters[0].amqp_url",
            "not the URL's",
        ),
        (
            "[[clusters]]\nname='r'\nkind='rabbitmq'\nmanagement_url='http://r:15672'\nusername='u'\npassword='p'\nread_only='yes'",
            "clusters[0].read_only",
            "invalid type",
        ),
        (
            "[[clusters]]\nname='a'\nkind='kafka'\nbootstrap_servers='x'",
            "clusters[0].bootstrap_servers",
            "host:port",
        ),
        (
            "[[clusters]]\nname='a'\nkind='kafka'",
            "clusters[0].bootstrap_servers",
            "a kafka cluster needs it",
        ),
        (
            "[[clusters]]\nname='a'\nkind='kafka'\nbootstrap_servers='x:1'\n[[clusters]]\nname='a'\nkind='kafka'\nbootstrap_servers='x:1'",
            "clusters[1].name",
            "used twice",
        ),
        (
            "[[clusters]]\nname='a'\nkind='kafka'\nbootstrap_servers='x:1'\npoll_interval='5s'\npoll_timeout='6s'",
            "clusters[0].poll_timeout",
            "at most poll_interval",
        ),
        (
            "[[clusters]]\nname='a'\nkind='kafka'\nbootstrap_servers='x:1'\njolokia_urls={ one = 'http://b1:8778/jolokia/' }",
            "clusters[0].jolokia_urls",
            "not a broker id",
        ),
        (
            "[[clusters]]\nname='a'\nkind='kafka'\nbootstrap_servers='x:1'\nmetrics_urls={ 1 = 'b1:7071' }",
            "clusters[0].metrics_urls.1",
            "not an http(s) URL",
        ),
        (
            "[[clusters]]\nname='r'\nkind='rocketmq'\nnamesrv_addrs='ns1'",
            "clusters[0].namesrv_addrs",
            "namesrv_addrs",
        ),
        (
            "[[clusters]]\nname='r'\nkind='rocketmq'\nnamesrv_addrs='n:9876'\nproxy_addrs='p:8080;grpc'",
            "clusters[0].proxy_addrs",
            "remoting addresses",
        ),
    ];
    for (text, key, needle) in cases {
        match Config::from_toml_str(text) {
            Err(ConfigError::Key { key: k, message }) => {
                assert_eq!(&k, key, "for {text:?}: {message}");
                assert!(message.contains(needle), "for {text:?}: {message}");
            }
            other => panic!("expected an error about {key} for {text:?}, got {other:?}"),
        }
    }
}

#[test]
fn durations_print_in_their_largest_whole_unit() {
    let f = |secs| duration_text::format(Duration::from_secs(secs));
    assert_eq!(f(365 * 86_400), "365d");
    assert_eq!(f(7_200), "2h");
    assert_eq!(f(90), "90s");
    assert_eq!(f(600), "10m");
    assert_eq!(duration_text::format(Duration::from_millis(250)), "250ms");
    assert_eq!(duration_text::parse("365d").unwrap(), Duration::from_secs(365 * 86_400));
}

#[test]
fn broken_toml_is_a_syntax_error() {
    assert!(matches!(Config::from_toml_str("[server"), Err(ConfigError::Syntax { .. })));
}

#[test]
fn bad_env_values_name_the_variable() {
    let err = load_text("", &[("OSPREY__SERVER__LISTEN", "here")]).unwrap_err();
    assert!(err.to_string().contains("server.listen"), "{err}");
}

#[test]
fn secrets_are_redacted_in_debug_and_rendering() {
    let mut config = Config::from_toml_str(ONE_CLUSTER).unwrap();
    config.database.url = Secret::new("postgres://osprey:s3cret@db/osprey");
    let debug = format!("{config:?}");
    let rendered = config.render_commented();
    for text in [&debug, &rendered] {
        assert!(!text.contains("hunter2"), "{text}");
        assert!(!text.contains("s3cret"), "{text}");
        assert!(text.contains("SASL_SSL"), "{text}");
    }
}

#[test]
fn an_activemq_cluster_reads_renders_and_hides_its_password() {
    let text = "[[clusters]]\nname = \"amq\"\nkind = \"activemq\"\n\
        management_urls = \"http://a:8161/api/jolokia, https://b:8161/console/jolokia\"\n\
        username = \"admin\"\npassword = \"hunter2\"\nflavor = \"artemis\"\n";
    let config = Config::from_toml_str(text).unwrap();
    let Connection::Activemq(activemq) = &config.clusters[0].connection else { panic!() };
    let urls: Vec<_> = activemq.urls().collect();
    assert_eq!(urls, ["http://a:8161/api/jolokia", "https://b:8161/console/jolokia"]);
    assert_eq!(activemq.flavor, Some(crate::config::ActivemqFlavor::Artemis));
    let rendered = config.render_commented();
    for text in [&format!("{config:?}"), &rendered] {
        assert!(!text.contains("hunter2") && text.contains("management_urls"), "{text}");
    }
    assert!(rendered.contains("flavor = \"artemis\""), "{rendered}");
}

#[test]
fn rendering_reads_back_to_the_same_config() {
    let config = Config::from_toml_str(ONE_CLUSTER).unwrap();
    let mut expected = config.clone();
    let Connection::Kafka(kafka) = &mut expected.clusters[0].connection else { panic!() };
    kafka.properties.insert("sasl.password".into(), REDACTED.into());
    assert_eq!(Config::from_toml_str(&config.render_commented()).unwrap(), expected);
}

fn kafka_cluster(keys: &str) -> String {
    format!("[[clusters]]\nname = 'a'\nkind = 'kafka'\nbootstrap_servers = 'x:1'\n{keys}")
}

fn refused_key(result: Result<Config, ConfigError>) -> String {
    match result {
        Err(ConfigError::Key { key, .. }) => key,
        other => panic!("expected a refused key, got {other:?}"),
    }
}

#[test]
fn a_short_poll_interval_alone_brings_the_poll_timeout_down_with_it() {
    let config = Config::from_toml_str(&kafka_cluster("poll_interval = '2s'")).unwrap();
    assert_eq!(config.clusters[0].poll_timeout, Duration::from_millis(1600));
    let from_env = load_text(ONE_CLUSTER, &[("OSPREY__CLUSTERS__0__POLL_INTERVAL", "2s")]).unwrap();
    assert_eq!(from_env.clusters[0].poll_timeout, Duration::from_millis(1600));
}

#[test]
fn an_explicit_poll_timeout_longer_than_the_interval_is_still_refused_naming_it() {
    let text = kafka_cluster("poll_interval = '5s'\npoll_timeout = '6s'");
    assert_eq!(refused_key(Config::from_toml_str(&text)), "clusters[0].poll_timeout");
    let from_env = load_text(
        &kafka_cluster("poll_interval = '5s'"),
        &[("OSPREY__CLUSTERS__0__POLL_TIMEOUT", "6s")],
    );
    assert_eq!(refused_key(from_env), "clusters[0].poll_timeout");
    let shorter = kafka_cluster("poll_interval = '5s'\npoll_timeout = '1s'");
    assert_eq!(Config::from_toml_str(&shorter).unwrap().clusters[0].poll_timeout.as_secs(), 1);
}

#[test]
fn the_poll_timeout_is_still_eight_seconds_by_default_and_never_more_when_unset() {
    assert_eq!(ClusterConfig::kafka("a", "x:1").poll_timeout, Duration::from_secs(8));
    let default = Config::from_toml_str(&kafka_cluster("")).unwrap();
    assert_eq!(default.clusters[0], ClusterConfig::kafka("a", "x:1"));
    let slow = Config::from_toml_str(&kafka_cluster("poll_interval = '1m'")).unwrap();
    assert_eq!(slow.clusters[0].poll_timeout, Duration::from_secs(8));
}

#[test]
fn a_long_retry_initial_alone_raises_retry_max_to_match() {
    let config = Config::from_toml_str("[alerts]\nretry_initial = '15m'").unwrap();
    assert_eq!(config.alerts.retry_max, Duration::from_secs(15 * 60));
    let from_env = load_text("", &[("OSPREY__ALERTS__RETRY_INITIAL", "15m")]).unwrap();
    assert_eq!(from_env.alerts.retry_max, Duration::from_secs(15 * 60));
    assert_eq!(AlertsConfig::default().retry_max, Duration::from_secs(600));
    let short = Config::from_toml_str("[alerts]\nretry_initial = '1m'").unwrap();
    assert_eq!(short.alerts.retry_max, Duration::from_secs(600));
}

#[test]
fn an_explicit_retry_max_below_retry_initial_is_still_refused_naming_it() {
    let text = "[alerts]\nretry_initial = '15m'\nretry_max = '10m'";
    assert_eq!(refused_key(Config::from_toml_str(text)), "alerts.retry_max");
    let from_env =
        load_text("[alerts]\nretry_initial = '15m'", &[("OSPREY__ALERTS__RETRY_MAX", "10m")]);
    assert_eq!(refused_key(from_env), "alerts.retry_max");
}

#[test]
fn derived_values_print_commented_out_and_set_ones_print_as_set() {
    let derived = Config::from_toml_str(&format!(
        "[alerts]\nretry_initial = '15m'\n{}",
        kafka_cluster("poll_interval = '2s'")
    ))
    .unwrap();
    let rendered = derived.render_commented();
    assert!(rendered.contains("\n# poll_timeout = \"1600ms\"\n"), "{rendered}");
    assert!(rendered.contains("\n# retry_max = \"15m\"\n"), "{rendered}");
    assert_eq!(Config::from_toml_str(&rendered).unwrap(), derived);

    let set = Config::from_toml_str(&format!(
        "[alerts]\nretry_max = '1h'\n{}",
        kafka_cluster("poll_interval = '2s'\npoll_timeout = '1s'")
    ))
    .unwrap();
    let rendered = set.render_commented();
    assert!(rendered.contains("\npoll_timeout = \"1s\"\n"), "{rendered}");
    assert!(rendered.contains("\nretry_max = \"1h\"\n"), "{rendered}");
    assert_eq!(Config::from_toml_str(&rendered).unwrap(), set);
}

#[test]
fn the_shipped_example_is_the_rendering_of_the_example() {
    let shipped = include_str!("../../osprey.example.toml");
    assert_eq!(shipped, Config::example().render_commented());
    assert_eq!(Config::from_toml_str(shipped).unwrap(), Config::example());
}

#[test]
fn each_cluster_takes_only_its_kinds_keys() {
    let error = Config::from_toml_str(
        "[[clusters]]\nname='a'\nkind='kafka'\nbootstrap_servers='x:1'\nmanagement_url='http://r:15672'",
    )
    .unwrap_err()
    .to_string();
    assert!(error.contains("clusters[0].management_url"), "{error}");
    assert!(error.contains("bootstrap_servers, properties"), "{error}");
    let error = Config::from_toml_str(
        "[[clusters]]\nname='r'\nkind='rocketmq'\nnamesrv_addrs='n:9876'\n[clusters.properties]\n'a'='b'",
    )
    .unwrap_err()
    .to_string();
    assert!(error.contains("clusters[0].properties"), "{error}");
    // What print-config writes for every kind reads back.
    let mut config = Config::example();
    let rabbit =
        ClusterConfig::rabbitmq("r", "http://r:15672", "u", Secret::new("${RABBIT_PASSWORD}"));
    let rocket = ClusterConfig::rocketmq("q", "n:9876");
    config.clusters.extend([rabbit, rocket]);
    let read = Config::from_toml_str(&config.render_commented());
    assert!(read.is_ok(), "{read:?}");
}

#[test]
fn notice_routing_reads_back_and_bad_routing_is_refused_by_key() {
    let text = r#"
        [alerts]
        group_by = ["cluster", "rule", "topic"]
        group_wait = "10s"
        group_interval = "2m"
        inhibit = []
        [[alerts.mute_windows]]
        name = "nights"
        weekdays = ["mon-fri"]
        times = ["18:00-09:00"]
        utc_offset = "+08:00"
        [[alerts.routes]]
        severity = ["info"]
        labels = { team = "billing" }
        channels = ["mail"]
        mute = ["nights"]
        [[alerts.channels]]
        name = "mail"
        kind = "email"
        smtp_host = "smtp.example.com"
        from = "osprey@example.com"
        to = ["oncall@example.com"]
        title_template = "{{ severity|upper }} {{ summary }}"
        [[alerts.rules]]
        name = "lag"
        kind = "consumer_lag"
        threshold = 10
        labels = { team = "billing" }
        group_by = ["subject"]
        group_wait = "0s"
        channels = ["mail"]
    "#;
    let config = Config::from_toml_str(text).unwrap();
    assert!(config.alerts.inhibit.is_empty());
    assert_eq!(config.alerts.rules[0].labels["team"], "billing");
    assert_eq!(Config::from_toml_str(&config.render_commented()).unwrap(), config);

    let refused = |from: &str, to: &str| {
        Config::from_toml_str(&text.replace(from, to)).unwrap_err().to_string()
    };
    assert!(refused("mute = [\"nights\"]", "mute = [\"days\"]").contains("alerts.routes[0].mute"));
    assert!(refused("\"18:00-09:00\"", "\"6pm\"").contains("alerts.mute_windows[0].times"));
    assert!(refused("\"cluster\", \"rule\", \"topic\"", "\"colour\"").contains("alerts.group_by"));
    let template = refused("{{ severity|upper }}", "{% if x %}");
    assert!(
        template.contains("alerts.channels[0].title_template") && template.contains("line 1"),
        "{template}"
    );
    assert!(
        refused("group_by = [\"subject\"]", "group_by = [\"tenant\"]")
            .contains("alerts.rules[0].group_by")
    );
}

#[test]
fn the_amqp_listener_is_the_url_given_or_the_management_host() {
    let password = crate::secret::Secret::new("p");
    let cluster = ClusterConfig::rabbitmq("r", "https://rabbit1:15671/", "u", password);
    let Connection::Rabbitmq(mut rabbit) = cluster.connection else { unreachable!() };
    assert_eq!(rabbit.amqp_address(), Ok((true, "rabbit1:5671".into())));
    rabbit.management_url = "http://rabbit1:15672".into();
    assert_eq!(rabbit.amqp_address(), Ok((false, "rabbit1:5672".into())));
    rabbit.amqp_url = Some("amqps://mq.example.com".into());
    assert_eq!(rabbit.amqp_address(), Ok((true, "mq.example.com:5671".into())));
    rabbit.amqp_url = Some("amqp://10.0.0.7:5682/".into());
    assert_eq!(rabbit.amqp_address(), Ok((false, "10.0.0.7:5682".into())));
}
