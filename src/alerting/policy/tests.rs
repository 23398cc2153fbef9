use super::*;

/// 2026-12-04 (a Friday) at `h:m` UTC.
fn friday(h: i64, m: i64) -> Millis {
    let days_since_epoch = 20_791; // 2026-12-04
    (days_since_epoch * 1440 + h * 60 + m) * 60_000
}

fn window(weekdays: &[&str], times: &[&str], offset: Option<&str>) -> MuteWindow {
    MuteWindow {
        name: "off-hours".into(),
        weekdays: weekdays.iter().map(|s| s.to_string()).collect(),
        times: times.iter().map(|s| s.to_string()).collect(),
        utc_offset: offset.map(str::to_owned),
    }
}

#[test]
fn the_test_clock_starts_on_a_friday() {
    assert!(window(&["fri"], &[], None).holds(friday(12, 0)));
    assert!(!window(&["thu"], &[], None).holds(friday(12, 0)));
}

#[test]
fn a_window_past_midnight_belongs_to_the_day_it_starts() {
    let nights = window(&["mon-fri"], &["18:00-09:00"], None);
    assert!(nights.holds(friday(19, 0)));
    assert!(nights.holds(friday(8, 59)), "Thursday's night");
    assert!(!nights.holds(friday(9, 0)));
    assert!(!nights.holds(friday(17, 59)));
    let saturday_morning = friday(24 + 8, 0);
    assert!(nights.holds(saturday_morning), "Friday's night runs into Saturday");
    assert!(!nights.holds(friday(24 + 19, 0)), "no Saturday evening");
    assert!(window(&["sat-sun"], &[], None).holds(saturday_morning));
    assert!(window(&["fri-mon"], &[], None).holds(friday(24 * 3, 1)), "ranges wrap the week");
}

#[test]
fn offsets_move_the_window_to_local_time() {
    let beijing_evening = window(&[], &["18:00-23:00"], Some("+08:00"));
    assert!(beijing_evening.holds(friday(10, 30)), "18:30 in Beijing");
    assert!(!beijing_evening.holds(friday(18, 30)));
}

#[test]
fn bad_windows_are_refused_with_their_field() {
    assert_eq!(window(&["someday"], &[], None).validate().unwrap_err().field, "weekdays");
    assert_eq!(window(&[], &["25:00-26:00"], None).validate().unwrap_err().field, "times");
    assert_eq!(window(&[], &["9-5"], None).validate().unwrap_err().field, "times");
    assert_eq!(window(&[], &[], Some("8")).validate().unwrap_err().field, "utc_offset");
    assert!(window(&["mon-fri", "sun"], &["00:00-24:00"], Some("-05:30")).validate().is_ok());
}

fn routes() -> Vec<Route> {
    vec![
        Route {
            severity: vec![Severity::Critical],
            cluster: None,
            rule: None,
            labels: BTreeMap::new(),
            channels: vec!["pagerduty".into()],
            mute: Vec::new(),
        },
        Route {
            severity: vec![Severity::Info],
            cluster: Some("prod-*".into()),
            rule: None,
            labels: BTreeMap::from([("team".into(), "billing".into())]),
            channels: vec!["billing-mail".into()],
            mute: vec!["off-hours".into()],
        },
    ]
}

#[test]
fn the_first_matching_route_wins_and_the_rules_channels_are_the_default() {
    let labels = BTreeMap::from([("team".to_owned(), "billing".to_owned())]);
    let own = vec!["mail".to_owned()];
    let notice = |severity, cluster| Routed {
        rule: "lag",
        severity,
        cluster,
        labels: &labels,
        channels: &own,
    };
    let windows = [window(&[], &["18:00-09:00"], None)];
    let routes = routes();
    let noon = friday(12, 0);
    assert_eq!(route(&routes, &windows, notice(Severity::Critical, "x"), noon).0, ["pagerduty"]);
    assert_eq!(
        route(&routes, &windows, notice(Severity::Info, "prod-1"), noon).0,
        ["billing-mail"]
    );
    assert_eq!(route(&routes, &windows, notice(Severity::Info, "test"), noon).0, ["mail"]);
    assert_eq!(route(&routes, &windows, notice(Severity::Warning, "prod-1"), noon).0, ["mail"]);
    let night = route(&routes, &windows, notice(Severity::Info, "prod-1"), friday(22, 0));
    assert_eq!(night, (&[][..], Some("off-hours")));
    assert_eq!(
        route(&routes, &windows, notice(Severity::Critical, "x"), friday(22, 0)).0,
        ["pagerduty"]
    );
}

fn firing(kind: RuleKind, broker: Option<i32>) -> Firing {
    Firing {
        rule: "src".into(),
        kind,
        subject: Subject { cluster: "prod".into(), broker, ..Subject::default() },
    }
}

fn group_on(cluster: &str, topic: &str) -> Subject {
    Subject {
        cluster: cluster.into(),
        group: Some("g".into()),
        topic: Some(topic.into()),
        ..Subject::default()
    }
}

#[test]
fn a_down_cluster_inhibits_everything_else_on_it_and_nothing_elsewhere() {
    let rules = default_inhibit_rules();
    let down = [firing(RuleKind::ClusterDown, None)];
    let never = |_: &Subject, _: i32| false;
    let here = inhibited_by(&rules, &down, RuleKind::ConsumerLag, &group_on("prod", "t"), never);
    assert_eq!(here.as_deref(), Some("src (cluster prod)"));
    assert!(
        inhibited_by(&rules, &down, RuleKind::ConsumerLag, &group_on("dev", "t"), never).is_none()
    );
    let itself = Subject { cluster: "prod".into(), ..Subject::default() };
    assert!(inhibited_by(&rules, &down, RuleKind::ClusterDown, &itself, never).is_none());
}

#[test]
fn a_gone_broker_inhibits_what_has_a_replica_on_it() {
    let rules = default_inhibit_rules();
    let gone = [firing(RuleKind::BrokerDown, Some(2))];
    let on_two = |s: &Subject, b: i32| b == 2 && s.topic.as_deref() == Some("orders");
    let lag = |topic| {
        inhibited_by(&rules, &gone, RuleKind::ConsumerLag, &group_on("prod", topic), on_two)
    };
    assert!(lag("orders").is_some());
    assert!(lag("audit").is_none());
    let metric = Subject { cluster: "prod".into(), broker: Some(2), ..Subject::default() };
    assert!(inhibited_by(&rules, &gone, RuleKind::BrokerMetric, &metric, on_two).is_some());
    let queue = Subject { cluster: "prod".into(), queue: Some("q".into()), ..Subject::default() };
    assert!(inhibited_by(&rules, &gone, RuleKind::QueueBacklog, &queue, on_two).is_none());
}
