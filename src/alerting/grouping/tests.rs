use super::*;
use crate::alerting::definition::WebhookFormat;
use crate::alerting::message::tests::lag_message;

const SEC: Millis = 1_000;

fn grouping() -> Grouping {
    Grouping { by: Vec::new(), wait: 30 * SEC, interval: 300 * SEC }
}

fn notice(kind: MessageKind, group: &str, lag: f64) -> AlertMessage {
    let mut message = lag_message(kind);
    message.incident = format!("inc-{group}");
    message.subject.group = Some(group.to_owned());
    message.value = Some(lag);
    message.link = None;
    message
}

fn add_all(groups: &mut Groups, kind: MessageKind, names: &[&str], now: Millis) {
    for (i, name) in names.iter().enumerate() {
        groups.add(&grouping(), notice(kind, name, 10_000.0 + i as f64 * 100.0), now);
    }
}

#[test]
fn alerts_firing_together_go_out_as_one_notice_after_the_wait_worst_first() {
    let mut groups = Groups::default();
    add_all(&mut groups, MessageKind::Firing, &["a", "b", "c"], 0);
    assert!(
        groups.due("billing-lag", &grouping(), |_| true, 29 * SEC).is_empty(),
        "waits group_wait"
    );
    let due = groups.due("billing-lag", &grouping(), |_| true, 30 * SEC);
    assert_eq!(due.len(), 1);
    let batch = due[0].message.batch.as_ref().unwrap();
    let order: Vec<_> = batch.alerts.iter().map(|a| a.subject.group.clone().unwrap()).collect();
    assert_eq!(order, ["c", "b", "a"], "the worst lag first");
    assert_eq!(due[0].message.subject.group.as_deref(), Some("c"), "the lead is the worst");
    assert_eq!((batch.id.as_str(), batch.seq, batch.firing_after), ("inc-a", 1, 3));
    assert!(due[0].message.title().starts_with("[FIRING:3 · CRITICAL] billing-lag on prod-kafka"));
    assert!(groups.due("billing-lag", &grouping(), |_| true, 31 * SEC).is_empty(), "told once");
}

#[test]
fn later_firings_and_resolutions_are_batched_every_interval() {
    let mut groups = Groups::default();
    add_all(&mut groups, MessageKind::Firing, &["a", "b"], 0);
    groups.due("billing-lag", &grouping(), |_| true, 30 * SEC);
    add_all(&mut groups, MessageKind::Firing, &["c", "d"], 40 * SEC);
    groups.add(&grouping(), notice(MessageKind::Resolved, "a", 3.0), 50 * SEC);
    assert!(
        groups.due("billing-lag", &grouping(), |_| true, 300 * SEC).is_empty(),
        "not before interval"
    );
    let due = groups.due("billing-lag", &grouping(), |_| true, 330 * SEC);
    assert_eq!(due.len(), 1);
    let batch = due[0].message.batch.as_ref().unwrap();
    let kinds: Vec<_> = batch.alerts.iter().map(|a| a.kind).collect();
    assert_eq!(kinds, [MessageKind::Firing, MessageKind::Firing, MessageKind::Resolved]);
    assert_eq!((batch.seq, batch.firing_after), (2, 3));
    assert!(due[0].message.title().starts_with("[FIRING:2, RESOLVED:1 · CRITICAL]"));
}

#[test]
fn a_group_closes_when_its_last_alert_is_told_resolved_and_reopens_with_a_new_id() {
    let mut groups = Groups::default();
    add_all(&mut groups, MessageKind::Firing, &["a"], 0);
    groups.due("billing-lag", &grouping(), |_| true, 30 * SEC);
    groups.add(&grouping(), notice(MessageKind::Resolved, "a", 3.0), 60 * SEC);
    let due = groups.due("billing-lag", &grouping(), |_| true, 330 * SEC);
    assert_eq!(due[0].message.kind, MessageKind::Resolved);
    assert!(due[0].message.closes_group());
    assert!(groups.states().is_empty());
    let mut again = notice(MessageKind::Firing, "a", 20_000.0);
    again.incident = "inc-a-2".into();
    groups.add(&grouping(), again, 400 * SEC);
    assert!(groups.due("billing-lag", &grouping(), |_| true, 400 * SEC).is_empty(), "a new wait");
    let due = groups.due("billing-lag", &grouping(), |_| true, 430 * SEC);
    assert_eq!(due[0].message.dedup_key(), "inc-a-2");
}

#[test]
fn an_alert_over_before_the_group_was_told_is_never_mentioned() {
    let mut groups = Groups::default();
    add_all(&mut groups, MessageKind::Firing, &["a", "b"], 0);
    groups.add(&grouping(), notice(MessageKind::Resolved, "a", 3.0), 10 * SEC);
    let due = groups.due("billing-lag", &grouping(), |_| true, 30 * SEC);
    let batch = due[0].message.batch.as_ref().unwrap();
    assert_eq!(batch.alerts.len(), 1);
    assert_eq!(
        due[0].message.title(),
        "[FIRING · CRITICAL] lag 10,100 > 10,000 — group b on prod-kafka",
        "a batch of one reads as that alert"
    );
}

#[test]
fn a_reminder_does_not_turn_an_untold_firing_into_a_reminder() {
    let mut groups = Groups::default();
    add_all(&mut groups, MessageKind::Firing, &["a"], 0);
    groups.add(&grouping(), notice(MessageKind::Reminder, "a", 12_000.0), 10 * SEC);
    let due = groups.due("billing-lag", &grouping(), |_| true, 30 * SEC);
    assert_eq!(due[0].message.kind, MessageKind::Firing);
    assert_eq!(due[0].message.value, Some(12_000.0), "the latest value");
}

#[test]
fn group_by_splits_groups_and_subject_means_one_per_alert() {
    let by_topic = Grouping { by: vec!["topic".into()], ..grouping() };
    let mut a = notice(MessageKind::Firing, "a", 1.0);
    a.subject.topic = Some("orders".into());
    let mut b = notice(MessageKind::Firing, "b", 1.0);
    b.subject.topic = Some("audit".into());
    let (ka, la) = group_of("r", &a.subject, &by_topic);
    let (kb, _) = group_of("r", &b.subject, &by_topic);
    assert_ne!(ka, kb);
    assert_eq!(la.get("topic").map(String::as_str), Some("orders"));
    let (kc, _) = group_of("r", &a.subject, &grouping());
    let (kd, _) = group_of("r", &b.subject, &grouping());
    assert_eq!(kc, kd, "by default one group per rule and cluster");
    let alone = Grouping { by: vec!["subject".into()], ..grouping() };
    assert_ne!(group_of("r", &a.subject, &alone).0, group_of("r", &b.subject, &alone).0);
    let mut other_cluster = a.subject.clone();
    other_cluster.cluster = "other".into();
    assert_ne!(group_of("r", &other_cluster, &grouping()).0, kc, "never across clusters");
}

#[test]
fn without_a_wait_or_interval_every_round_is_told_at_once() {
    let now = Grouping { by: Vec::new(), wait: 0, interval: 0 };
    let mut groups = Groups::default();
    groups.add(&now, notice(MessageKind::Firing, "a", 20_000.0), 0);
    assert_eq!(groups.due("billing-lag", &now, |_| true, 0).len(), 1);
    groups.add(&now, notice(MessageKind::Resolved, "a", 3.0), 1);
    assert_eq!(groups.due("billing-lag", &now, |_| true, 1)[0].message.kind, MessageKind::Resolved);
}

#[test]
fn a_thousand_alerts_make_one_bounded_notice_in_every_format() {
    let mut groups = Groups::default();
    let names: Vec<String> = (0..2_000).map(|i| format!("g{i:04}")).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    add_all(&mut groups, MessageKind::Firing, &refs, 0);
    let due = groups.due("billing-lag", &grouping(), |_| true, 30 * SEC);
    let message = &due[0].message;
    let text = message.email_text();
    assert!(text.contains("… and 1950 more"), "{text}");
    assert!(text.contains("group g1999 on prod-kafka"), "worst first: {text}");
    assert!(message.email_html().contains("<table id=\"alerts\""));
    let slack = message.webhook_body(WebhookFormat::Slack).to_string();
    assert!(slack.contains("… and 1990 more") && slack.len() < 4_000, "{}", slack.len());
    let v2 = message.webhook_body(WebhookFormat::Generic);
    assert_eq!(v2["version"], 2);
    assert_eq!(v2["alerts"].as_array().unwrap().len(), 2_000);
    assert_eq!(v2["group_labels"]["rule"], "billing-lag");
    let v1 = message.webhook_body(WebhookFormat::GenericV1);
    assert_eq!(v1["version"], 1);
    assert!(v1.get("alerts").is_none());
    let am = message.webhook_body(WebhookFormat::Alertmanager);
    assert_eq!(am.as_array().unwrap().len(), 2_000, "Alertmanager groups by itself");
    let pd = message.webhook_body(WebhookFormat::Pagerduty);
    assert_eq!(pd["dedup_key"], "inc-g0000");
}

#[test]
fn saved_groups_survive_a_restart_during_the_wait() {
    let mut before = Groups::default();
    add_all(&mut before, MessageKind::Firing, &["a", "b"], 0);
    let saved = serde_json::to_string(before.states()).unwrap();
    let mut after = Groups::from_states(serde_json::from_str(&saved).unwrap());
    let due = after.due("billing-lag", &grouping(), |_| true, 30 * SEC);
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].message.batch.as_ref().unwrap().alerts.len(), 2);
}

#[test]
fn an_alert_told_before_grouping_existed_still_has_its_resolution_told() {
    let mut groups = Groups::default();
    groups.add(&grouping(), notice(MessageKind::Resolved, "old", 3.0), 0);
    let due = groups.due("billing-lag", &grouping(), |_| true, 30 * SEC);
    assert_eq!(due.len(), 1);
    assert_eq!(
        (due[0].message.kind, due[0].message.dedup_key()),
        (MessageKind::Resolved, "inc-old")
    );
    assert!(groups.states().is_empty());
}

#[test]
fn a_resolution_goes_to_the_group_that_told_the_firing_after_group_by_changed() {
    let mut groups = Groups::default();
    add_all(&mut groups, MessageKind::Firing, &["a", "b"], 0);
    groups.due("billing-lag", &grouping(), |_| true, 30 * SEC);
    let by_group = Grouping { by: vec!["group".into()], ..grouping() };
    groups.add(&by_group, notice(MessageKind::Resolved, "a", 3.0), 60 * SEC);
    assert_eq!(groups.states().len(), 1, "no second group for an alert the first one holds");
    let due = groups.due("billing-lag", &by_group, |_| true, 400 * SEC);
    let batch = due[0].message.batch.as_ref().unwrap();
    assert_eq!((batch.id.as_str(), batch.seq, batch.firing_after), ("inc-a", 2, 1));
}

#[test]
fn a_storm_past_what_a_batch_lists_is_counted_and_its_alerts_are_still_tracked() {
    let mut groups = Groups::default();
    let names: Vec<String> = (0..MAX_PENDING + 20).map(|i| format!("g{i:05}")).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    add_all(&mut groups, MessageKind::Firing, &refs, 0);
    let due = groups.due("billing-lag", &grouping(), |_| true, 30 * SEC);
    let batch = due[0].message.batch.as_ref().unwrap();
    assert_eq!(
        (batch.alerts.len(), batch.unlisted, batch.firing_after),
        (MAX_PENDING, 20, MAX_PENDING + 20)
    );
    assert!(due[0].message.title().contains(&format!("[FIRING:{}", MAX_PENDING + 20)));
    let with_facts = batch.alerts.len();
    assert!(with_facts > 0);
}

#[test]
fn a_firing_still_waiting_can_be_withdrawn_and_a_muted_group_waits() {
    let mut groups = Groups::default();
    add_all(&mut groups, MessageKind::Firing, &["a", "b"], 0);
    let key_a = notice(MessageKind::Firing, "a", 0.0).subject.key();
    assert_eq!(groups.withdraw_untold("billing-lag", &key_a).as_deref(), Some("inc-a"));
    assert!(groups.due("billing-lag", &grouping(), |_| false, 30 * SEC).is_empty(), "muted");
    let due = groups.due("billing-lag", &grouping(), |_| true, 31 * SEC);
    let batch = due[0].message.batch.as_ref().unwrap();
    assert_eq!(batch.alerts.len(), 1, "only b is told");
    assert!(groups.withdraw_untold("billing-lag", &key_a).is_none(), "told ones stay told");
}
