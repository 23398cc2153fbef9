use super::*;
use crate::alerting::definition::WebhookFormat;
use serde_json::json;

pub fn lag_message(kind: MessageKind) -> AlertMessage {
    AlertMessage {
        kind,
        incident: "0123456789abcdef".into(),
        rule: "billing-lag".into(),
        rule_kind: RuleKind::ConsumerLag,
        severity: Severity::Critical,
        subject: Subject {
            cluster: "prod-kafka".into(),
            group: Some("billing".into()),
            ..Subject::default()
        },
        value: Some(12_345.0),
        threshold: 10_000.0,
        since: 1_795_000_000_000,
        at: 1_795_000_300_000,
        metric: None,
        below: false,
        link: Some("https://osprey.example.com/clusters/prod-kafka/groups/billing".into()),
        group_facts: None,
        batch: None,
        acknowledged: None,
    }
}

fn stopped_group() -> GroupFacts {
    GroupFacts {
        hints: Default::default(),
        retention: Default::default(),
        passes_in: None,
        topics: vec![
            TopicFacts {
                topic: "orders".into(),
                status: PartitionStatus::Stop,
                lag: 1_234,
                lag_seconds: Some(312.0),
            },
            TopicFacts {
                topic: "audit".into(),
                status: PartitionStatus::Stall,
                lag: 12,
                lag_seconds: None,
            },
        ],
        more_topics: 0,
        lag: 1_246,
        lag_seconds: Some(312.0),
        members: 0,
        state: "Empty".into(),
    }
}

fn status_message(kind: MessageKind) -> AlertMessage {
    AlertMessage {
        kind,
        rule_kind: RuleKind::ConsumerStatus,
        value: Some(5.0),
        threshold: 3.5,
        group_facts: Some(stopped_group()),
        batch: None,
        acknowledged: None,
        ..lag_message(kind)
    }
}

#[test]
fn the_title_says_what_and_where() {
    assert_eq!(
        lag_message(MessageKind::Firing).title(),
        "[FIRING · CRITICAL] lag 12,345 > 10,000 — group billing on prod-kafka"
    );
    let resolved = AlertMessage { value: Some(12.0), ..lag_message(MessageKind::Resolved) };
    assert_eq!(resolved.title(), "[RESOLVED] lag 12 ≤ 10,000 — group billing on prod-kafka");
    let gone = AlertMessage { value: None, ..lag_message(MessageKind::Resolved) };
    assert_eq!(gone.title(), "[RESOLVED] group billing on prod-kafka is gone");
}

#[test]
fn each_rule_kind_reads_in_its_own_unit() {
    let with = |rule_kind, value: f64, threshold: f64, subject: Subject| AlertMessage {
        rule_kind,
        value: Some(value),
        threshold,
        subject,
        ..lag_message(MessageKind::Firing)
    };
    let group = lag_message(MessageKind::Firing).subject;
    let topic =
        Subject { cluster: "prod".into(), topic: Some("orders".into()), ..Subject::default() };
    let cluster = Subject { cluster: "prod".into(), ..Subject::default() };
    let broker = Subject { broker: Some(3), ..cluster.clone() };
    let named_broker = Subject {
        broker: Some(1_770_904_039),
        node: Some("c/broker-a 10.0.0.2:10911".into()),
        ..cluster.clone()
    };
    let cases = [
        (
            with(RuleKind::ConsumerLagSeconds, 312.0, 300.0, group.clone()),
            "lag 5m 12s > 5m — group billing on prod-kafka",
        ),
        (
            with(RuleKind::ConsumerStatus, 4.0, 3.5, group),
            "status STALL (≥ STALL) — group billing on prod-kafka",
        ),
        (
            with(RuleKind::ClusterDown, 3.0, 0.0, cluster),
            "cluster prod unreachable (3 failed polls)",
        ),
        (with(RuleKind::BrokerDown, 1.0, 0.0, broker), "broker 3 on prod is gone from the cluster"),
        (
            // A RocketMQ broker: its id is a hash of its name, so the name stands for it.
            with(RuleKind::BrokerDown, 1.0, 0.0, named_broker),
            "node c/broker-a 10.0.0.2:10911 on prod is gone from the cluster",
        ),
        (
            with(RuleKind::UnderReplicated, 2.0, 0.0, topic.clone()),
            "under-replicated partitions 2 > 0 — topic orders on prod",
        ),
        (
            with(RuleKind::OfflinePartitions, 1.0, 0.0, topic),
            "offline partitions 1 > 0 — topic orders on prod",
        ),
    ];
    for (message, summary) in cases {
        assert_eq!(message.summary(), summary);
    }
}

#[test]
fn queue_and_node_notices_read_naturally() {
    let queue =
        Subject { cluster: "rabbit".into(), queue: Some("/ /orders".into()), ..Subject::default() };
    let base = lag_message(MessageKind::Firing);
    let backlog = AlertMessage {
        rule_kind: RuleKind::QueueBacklog,
        subject: queue.clone(),
        value: Some(1_500.0),
        threshold: 1_000.0,
        ..base.clone()
    };
    assert_eq!(backlog.summary(), "backlog 1,500 > 1,000 — queue / /orders on rabbit");
    assert!(queue.page_path().starts_with("/clusters/rabbit/queues?vhost="));
    let broker = Subject { cluster: "prod".into(), broker: Some(2), ..Subject::default() };
    let handler_idle = AlertMessage {
        rule_kind: RuleKind::BrokerMetric,
        subject: broker,
        value: Some(12.5),
        threshold: 20.0,
        metric: Some("request_handler_idle_percent".into()),
        below: true,
        ..base.clone()
    };
    assert_eq!(handler_idle.summary(), "request_handler_idle_percent 12.5 < 20 — broker 2 on prod");
    let recovered = AlertMessage { kind: MessageKind::Resolved, value: Some(60.0), ..handler_idle };
    assert_eq!(recovered.summary(), "request_handler_idle_percent 60 ≥ 20 — broker 2 on prod");
    let idle = AlertMessage { rule_kind: RuleKind::QueueNoConsumers, value: Some(3.0), ..backlog };
    assert_eq!(idle.summary(), "queue / /orders on rabbit: 3 messages and no consumer");
    let node = AlertMessage {
        rule_kind: RuleKind::NodeAlarm,
        subject: Subject {
            cluster: "rabbit".into(),
            node: Some("rabbit@b".into()),
            ..Subject::default()
        },
        value: Some(2.0),
        ..base
    };
    assert_eq!(node.summary(), "node rabbit@b on rabbit: in a disk alarm");
}

#[test]
fn subject_keys_start_with_the_cluster_and_pages_are_linked() {
    let s = Subject {
        cluster: "prod".into(),
        group: Some("a b".into()),
        topic: Some("t".into()),
        broker: None,
        queue: None,
        node: None,
    };
    assert_eq!(s.key(), "prod/group/a b/topic/t");
    assert_eq!(Subject::cluster_of_key(&s.key()), "prod");
    assert_eq!(s.page_path(), "/clusters/prod/groups/a+b");
    assert_eq!(s.describe(), "group a b (topic t) on prod");
}

#[test]
fn the_email_bodies_carry_every_fact_and_escape_html() {
    let message = AlertMessage {
        subject: Subject { group: Some("<b>".into()), ..lag_message(MessageKind::Firing).subject },
        ..lag_message(MessageKind::Firing)
    };
    let text = message.email_text();
    for needle in [
        "Cluster:   prod-kafka",
        "Group:     <b>",
        "Value:     12,345",
        "Threshold: 10,000",
        "Since:     2026-11-18 11:06:40 UTC",
        "https://osprey.example.com/",
    ] {
        assert!(text.contains(needle), "{needle:?} in\n{text}");
    }
    let html = message.email_html();
    assert!(html.contains("&lt;b&gt;") && !html.contains("<b>"));
    assert!(
        html.contains("<a href=\"https://osprey.example.com/clusters/prod-kafka/groups/billing\">")
    );
}

#[test]
fn webhook_formats_have_their_expected_shape() {
    let m = lag_message(MessageKind::Firing);
    let generic = m.webhook_body(WebhookFormat::Generic);
    assert_eq!(generic["status"], "firing");
    assert_eq!(generic["group"], "billing");
    assert_eq!(generic["value"], 12_345.0);
    assert_eq!(generic["threshold"], 10_000.0);
    assert_eq!(generic["topic"], serde_json::Value::Null);
    assert!(
        m.webhook_body(WebhookFormat::Slack)["text"].as_str().unwrap().starts_with("*[FIRING · ")
    );
    assert_eq!(m.webhook_body(WebhookFormat::Dingtalk)["msgtype"], "markdown");
    assert!(
        m.webhook_body(WebhookFormat::Wecom)["markdown"]["content"]
            .as_str()
            .unwrap()
            .contains("Group: billing")
    );
    assert_eq!(m.webhook_body(WebhookFormat::Feishu)["msg_type"], "text");
}

#[test]
fn broker_names_cannot_ping_or_link_in_chat_formats() {
    let mut m = lag_message(MessageKind::Firing);
    m.subject.group =
        Some("<!channel> [pay](https://evil.example) <https://evil.example|x>".into());
    let slack = m.webhook_body(WebhookFormat::Slack)["text"].as_str().unwrap().to_owned();
    assert!(!slack.contains("<!channel>") && !slack.contains("<https://evil"), "{slack}");
    assert!(slack.contains("&lt;!channel&gt;"), "{slack}");
    for format in [WebhookFormat::Dingtalk, WebhookFormat::Wecom] {
        let body = m.webhook_body(format);
        let text =
            body["markdown"]["text"].as_str().or(body["markdown"]["content"].as_str()).unwrap();
        assert!(!text.contains("[pay](https://evil.example)"), "{text}");
        assert!(text.contains("\\[pay\\](https://evil.example)"), "{text}");
        assert!(!text.contains("<!channel>"), "{text}");
    }
    let mut newline = lag_message(MessageKind::Firing);
    newline.subject.group = Some("a\n# fake heading".into());
    let wecom = newline.webhook_body(WebhookFormat::Wecom)["markdown"]["content"].to_string();
    assert!(!wecom.contains("\\n# fake"), "a name cannot start a line: {wecom}");
}

#[test]
fn the_stored_message_reads_back() {
    let m = lag_message(MessageKind::Reminder);
    let back: AlertMessage = serde_json::from_str(&serde_json::to_string(&m).unwrap()).unwrap();
    assert_eq!(back, m);
    let with_facts = status_message(MessageKind::Firing);
    let text = serde_json::to_string(&with_facts).unwrap();
    assert!(text.contains("\"group\":\"billing\""), "the subject keeps its key: {text}");
    assert_eq!(serde_json::from_str::<AlertMessage>(&text).unwrap(), with_facts);
}

#[test]
fn a_message_stored_before_group_facts_existed_still_reads() {
    let stored = r#"{"kind":"firing","incident":"0123456789abcdef","rule":"r",
        "rule_kind":"consumer_status","severity":"warning","cluster":"prod","group":"billing",
        "value":5.0,"threshold":3.5,"since":1,"at":2}"#;
    let message: AlertMessage = serde_json::from_str(stored).unwrap();
    assert_eq!(message.group_facts, None);
    assert_eq!(message.subject.group.as_deref(), Some("billing"));
    assert!(!message.email_text().contains("Members:"));
}

#[test]
fn durations_drop_zero_parts_and_count_days() {
    let cases = [
        (0.0, "0s"),
        (42.0, "42s"),
        (300.0, "5m"),
        (312.0, "5m 12s"),
        (3_600.0, "1h"),
        (7_500.0, "2h 5m"),
        (180_000.0, "2d 2h"),
        (273_600.0, "3d 4h"),
        (86_430.0, "1d"),
        (-5.0, "0s"),
        (f64::NAN, "0s"),
    ];
    for (secs, text) in cases {
        assert_eq!(seconds_text(secs), text, "{secs} s");
    }
}

#[test]
fn firing_titles_carry_the_severity_and_recoveries_do_not() {
    let warning =
        AlertMessage { severity: Severity::Warning, ..status_message(MessageKind::Reminder) };
    assert_eq!(
        warning.title(),
        "[FIRING · WARNING] status STOP (≥ STALL) — group billing on prod-kafka"
    );
    let resolved = AlertMessage { value: Some(1.0), ..status_message(MessageKind::Resolved) };
    assert_eq!(resolved.title(), "[RESOLVED] status OK (< STALL) — group billing on prod-kafka");
}

#[test]
fn a_status_notice_names_its_topics_lag_and_members() {
    let message = status_message(MessageKind::Firing);
    let text = message.email_text();
    for needle in [
        "Value:     STOP",
        "Threshold: STALL",
        "Lag:       1,246 messages, 5m 12s behind",
        "Topics:    orders (STOP, lag 1,234, 5m 12s behind), audit (STALL, lag 12)",
        "Members:   none (no consumer connected)",
        "Duration:  5m\n",
    ] {
        assert!(text.contains(needle), "{needle:?} in\n{text}");
    }
    let html = message.email_html();
    assert!(html.contains("orders (STOP, lag 1,234, 5m 12s behind)"), "{html}");
    assert!(html.contains("none (no consumer connected)"));
    for format in [WebhookFormat::Slack, WebhookFormat::Dingtalk, WebhookFormat::Wecom] {
        let body = message.webhook_body(format).to_string();
        assert!(body.contains("Topics: orders (STOP, lag 1,234, 5m 12s behind)"), "{body}");
        assert!(body.contains("Members: none (no consumer connected)"), "{body}");
    }
    let feishu = message.webhook_body(WebhookFormat::Feishu);
    assert!(feishu["content"]["text"].as_str().unwrap().contains("\nLag: 1,246 messages"));
}

#[test]
fn group_facts_read_naturally_with_members_and_left_out_topics() {
    let facts = GroupFacts {
        hints: Default::default(),
        retention: Default::default(),
        passes_in: None,
        topics: vec![TopicFacts {
            topic: "orders".into(),
            status: PartitionStatus::Ok,
            lag: 1,
            lag_seconds: Some(0.0),
        }],
        more_topics: 3,
        lag: 1,
        lag_seconds: None,
        members: 2,
        state: "Stable".into(),
    };
    assert_eq!(facts.topics_text_in(&EN).unwrap(), "orders (OK, lag 1, 0s behind), and 3 more");
    assert_eq!(facts.lag_text_in(&EN), "1 message");
    assert_eq!(facts.members_text_in(&EN), "2 (Stable)");
    assert_eq!(GroupFacts::default().topics_text_in(&EN), None);
}

#[test]
fn the_generic_webhook_carries_the_group_facts() {
    let generic = status_message(MessageKind::Firing).webhook_body(WebhookFormat::Generic);
    assert_eq!(
        generic["title"],
        "[FIRING · CRITICAL] status STOP (≥ STALL) — group billing on prod-kafka"
    );
    assert_eq!(generic["group"], "billing");
    let facts = &generic["group_facts"];
    assert_eq!((facts["members"].clone(), facts["lag"].clone()), (json!(0), json!(1_246)));
    assert_eq!(facts["lag_seconds"], 312.0);
    assert_eq!(facts["topics"][0]["topic"], "orders");
    assert_eq!(facts["topics"][0]["status"], "STOP");
    assert_eq!(facts["topics"][1]["lag_seconds"], serde_json::Value::Null);
    let without = lag_message(MessageKind::Firing).webhook_body(WebhookFormat::Generic);
    assert_eq!(without["group_facts"], serde_json::Value::Null);
}

/// The lowercase ASCII words of `text`: names and codes, and any English left in a translation.
/// The words in Latin letters (numbers left out).
fn latin_words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|word| word.chars().any(|c| c.is_ascii_alphabetic()))
        .map(str::to_lowercase)
        .collect()
}

const ENGLISH: [&str; 12] = [
    "lag",
    "group",
    "topic",
    "on",
    "cluster",
    "unreachable",
    "reachable",
    "again",
    "failed",
    "polls",
    "is",
    "gone",
];

#[test]
fn a_consumer_lag_summary_reads_in_chinese_without_english_words() {
    let firing = lag_message(MessageKind::Firing);
    let zh = firing.summary_in(&ZH);
    assert_eq!(zh, "积压 12,345 > 10,000 — 消费组 billing @ prod-kafka");
    let gone = AlertMessage { value: None, ..lag_message(MessageKind::Resolved) };
    let with_topic = AlertMessage {
        subject: Subject { topic: Some("orders".into()), ..firing.subject.clone() },
        ..firing.clone()
    };
    assert_eq!(
        with_topic.summary_in(&ZH),
        "积压 12,345 > 10,000 — 消费组 billing（主题 orders） @ prod-kafka"
    );
    for text in [zh, gone.summary_in(&ZH), with_topic.summary_in(&ZH)] {
        let words = latin_words(&text);
        for english in ENGLISH {
            assert!(!words.iter().any(|w| w == english), "{english:?} in {text:?}");
        }
    }
}

#[test]
fn a_cluster_down_summary_reads_in_chinese_without_english_words() {
    let down = AlertMessage {
        rule_kind: RuleKind::ClusterDown,
        subject: Subject { cluster: "prod".into(), ..Subject::default() },
        value: Some(3.0),
        threshold: 0.0,
        ..lag_message(MessageKind::Firing)
    };
    assert_eq!(down.summary_in(&ZH), "集群 prod 无法连接（连续 3 次轮询失败）");
    let up = AlertMessage { kind: MessageKind::Resolved, value: Some(0.0), ..down.clone() };
    assert_eq!(up.summary_in(&ZH), "集群 prod 已恢复连接");
    for text in [down.summary_in(&ZH), up.summary_in(&ZH)] {
        assert_eq!(latin_words(&text), ["prod"], "{text:?}");
    }
}

#[test]
fn the_english_summary_is_the_english_instance_of_the_words() {
    let down = AlertMessage {
        rule_kind: RuleKind::ClusterDown,
        subject: Subject { cluster: "prod".into(), ..Subject::default() },
        value: Some(3.0),
        threshold: 0.0,
        ..lag_message(MessageKind::Firing)
    };
    assert_eq!(down.summary(), "cluster prod unreachable (3 failed polls)");
    let lag = lag_message(MessageKind::Firing);
    assert_eq!(lag.summary(), "lag 12,345 > 10,000 — group billing on prod-kafka");
    for message in [down, lag.clone(), status_message(MessageKind::Resolved)] {
        assert_eq!(message.summary_in(&EN), message.summary());
        assert_eq!(message.subject.describe_in(&EN), message.subject.describe());
    }
    assert_ne!(lag.summary_in(&ZH), lag.summary());
}

#[test]
fn names_holding_braces_are_not_read_as_slots() {
    let odd = AlertMessage {
        subject: Subject {
            group: Some("{value}".into()),
            ..lag_message(MessageKind::Firing).subject
        },
        ..lag_message(MessageKind::Firing)
    };
    assert_eq!(odd.summary(), "lag 12,345 > 10,000 — group {value} on prod-kafka");
    assert_eq!(odd.summary_in(&ZH), "积压 12,345 > 10,000 — 消费组 {value} @ prod-kafka");
}

#[test]
fn an_incidents_facts_read_in_chinese_without_english_words() {
    let message = status_message(MessageKind::Resolved);
    let facts = message.facts_in(&ZH);
    let value = |label: &str| {
        facts.iter().find(|(l, _)| *l == label).map(|(_, v)| v.clone()).unwrap_or_default()
    };
    assert_eq!(value("积压"), "1,246 条消息，落后 5m 12s");
    assert_eq!(value("主题"), "orders（STOP，积压 1,234，落后 5m 12s）, audit（STALL，积压 12）");
    assert_eq!(value("成员"), "无（没有连接的消费者）");
    let gone = AlertMessage { value: None, ..lag_message(MessageKind::Resolved) };
    let down = AlertMessage { rule_kind: RuleKind::ClusterDown, value: Some(4.0), ..gone.clone() };
    let nodes = AlertMessage { rule_kind: RuleKind::NodeAlarm, value: Some(2.0), ..gone.clone() };
    let now = |m: &AlertMessage| m.facts_in(&ZH).into_iter().find(|(l, _)| *l == "当前值");
    assert_eq!(now(&down), Some(("当前值", "连续 4 次轮询失败".to_owned())));
    assert_eq!(now(&nodes), Some(("当前值", "磁盘告警".to_owned())));
    for message in [message, gone, down, nodes] {
        // The rule's name and kind, names, codes and the link stay as they are.
        for (label, value) in message.facts_in(&ZH).into_iter().filter(|(l, _)| *l != "规则") {
            let words = latin_words(&format!("{label} {value}"));
            let english = ["lag", "messages", "behind", "none", "gone", "failed", "alarm", "value"];
            let english: Vec<&String> =
                words.iter().filter(|w| english.contains(&w.as_str())).collect();
            assert!(english.is_empty(), "{english:?} in {label}: {value}");
        }
    }
    // English stays what the notices say.
    assert_eq!(
        status_message(MessageKind::Firing).facts_in(&EN),
        status_message(MessageKind::Firing).facts()
    );
}

#[test]
fn a_retention_notice_says_the_share_and_what_retention_deleted_or_will() {
    use crate::evaluator::RetentionRisk;
    let mut message = status_message(MessageKind::Firing);
    message.rule_kind = RuleKind::RetentionRisk;
    message.value = Some(96.4);
    message.threshold = 90.0;
    let risk = RetentionRisk { used_pct: Some(96.4), loss_eta_seconds: Some(0.0), lost: 1_500 };
    message.group_facts.as_mut().unwrap().retention = Some(risk);
    let text = message.email_text();
    assert!(
        text.contains("oldest unread message 96 % > 90 % into retention — group billing"),
        "{text}"
    );
    assert!(text.contains("Retention: 1,500 messages deleted by retention unread"), "{text}");
    let soon = RetentionRisk { lost: 0, loss_eta_seconds: Some(720.0), ..risk };
    message.group_facts.as_mut().unwrap().retention = Some(soon);
    let text = message.email_text();
    assert!(text.contains("retention deletes unread messages in about 12m"), "{text}");
}
