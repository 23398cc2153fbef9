//! What a notice says, and how it reads in an e-mail and in each webhook format. Pure: built from
//! a notice, the subject it is about and (consumer-group rules) the group's facts at that moment,
//! rendered without I/O, so every format is unit-tested. Durations read one way everywhere:
//! `42s`, `5m`, `5m 12s`, `2h 5m`, `3d 4h`.

use serde::{Deserialize, Serialize};

use super::definition::{RuleKind, Severity};
use crate::clock::utc_text;
use crate::domain::Millis;
use crate::evaluator::PartitionStatus;

mod grouped;
mod hints;
mod receivers;
mod render;
mod words;

pub use grouped::{CHAT_LISTED, EMAIL_LISTED};
pub use hints::hint_text;
pub use receivers::ALERTMANAGER_VALIDITY;
pub use render::{escape_feishu, escape_html, escape_markdown, escape_slack};
use words::fill;
pub use words::{EN, Words, ZH};

/// Why a message is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageKind {
    Firing,
    /// Still firing, sent every `repeat_interval`.
    Reminder,
    Resolved,
    /// "Send test" on the Channels page.
    Test,
    /// An operator acknowledged the incident (PagerDuty and Opsgenie acknowledge it too).
    Acknowledged,
}

impl MessageKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MessageKind::Firing => "firing",
            MessageKind::Reminder => "reminder",
            MessageKind::Resolved => "resolved",
            MessageKind::Test => "test",
            MessageKind::Acknowledged => "acknowledged",
        }
    }

    fn tag(self) -> &'static str {
        match self {
            MessageKind::Firing | MessageKind::Reminder => "FIRING",
            MessageKind::Resolved => "RESOLVED",
            MessageKind::Test => "TEST",
            MessageKind::Acknowledged => "ACKNOWLEDGED",
        }
    }
}

/// What an alert is about: a cluster, and within it a group, topic or broker.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Subject {
    pub cluster: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub broker: Option<i32>,
    /// RabbitMQ: `vhost/queue`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue: Option<String>,
    /// RabbitMQ: a node's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
}

impl Subject {
    /// The engine's key: unique per rule, and starting with the cluster name (which cannot
    /// hold a `/`), so a cluster's subjects are found by prefix.
    pub fn key(&self) -> String {
        let mut key = self.cluster.clone();
        if let Some(group) = &self.group {
            key.push_str("/group/");
            key.push_str(group);
        }
        if let Some(topic) = &self.topic {
            key.push_str("/topic/");
            key.push_str(topic);
        }
        if let Some(broker) = self.broker {
            key.push_str(&format!("/broker/{broker}"));
        }
        if let Some(queue) = &self.queue {
            key.push_str("/queue/");
            key.push_str(queue);
        }
        if let Some(node) = &self.node {
            key.push_str("/node/");
            key.push_str(node);
        }
        key
    }

    pub fn cluster_of_key(key: &str) -> &str {
        key.split('/').next().unwrap_or(key)
    }

    /// `group billing (topic orders) on prod`, `topic orders on prod`, `cluster prod`.
    pub fn describe(&self) -> String {
        self.describe_in(&EN)
    }

    /// [`Subject::describe`] in `words`: `消费组 billing（主题 orders） @ prod`, `集群 prod`.
    pub fn describe_in(&self, words: &Words) -> String {
        let mut parts = Vec::new();
        match (self.group.as_deref(), self.topic.as_deref()) {
            (Some(group), Some(topic)) => {
                parts.push(fill(words.group_topic, &[("group", group), ("topic", topic)]));
            }
            (Some(group), None) => parts.push(fill(words.group, &[("group", group)])),
            (None, Some(topic)) => parts.push(fill(words.topic, &[("topic", topic)])),
            (None, None) => {}
        }
        // A broker with a name (`node`) goes by it: its id is then only a hash of that name.
        if let (Some(broker), None) = (self.broker, &self.node) {
            let broker = broker.to_string();
            parts.push(fill(words.broker, &[("broker", broker.as_str())]));
        }
        if let Some(queue) = self.queue.as_deref() {
            parts.push(fill(words.queue, &[("queue", queue)]));
        }
        if let Some(node) = self.node.as_deref() {
            parts.push(fill(words.node, &[("node", node)]));
        }
        let cluster = self.cluster.as_str();
        if parts.is_empty() {
            fill(words.cluster, &[("cluster", cluster)])
        } else {
            let what = parts.join(words.separator);
            fill(words.on, &[("what", what.as_str()), ("cluster", cluster)])
        }
    }

    /// Path of the page that shows the subject best.
    pub fn page_path(&self) -> String {
        let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        let cluster = enc(&self.cluster);
        if let Some(queue) = &self.queue {
            let (vhost, name) = queue.split_once('/').unwrap_or(("", queue));
            return format!("/clusters/{cluster}/queues?vhost={}&q={}", enc(vhost), enc(name));
        }
        match (&self.group, &self.topic) {
            (Some(group), _) => format!("/clusters/{cluster}/groups/{}", enc(group)),
            (None, Some(topic)) => format!("/clusters/{cluster}/topics/{}", enc(topic)),
            (None, None) => format!("/clusters/{cluster}"),
        }
    }
}

/// Everything a channel needs to tell one notice. Stored with the delivery, so a retry days
/// later sends what the notice said when it was given.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertMessage {
    pub kind: MessageKind,
    pub incident: String,
    pub rule: String,
    pub rule_kind: RuleKind,
    pub severity: Severity,
    #[serde(flatten)]
    pub subject: Subject,
    /// The measured value; `None` when the subject is gone (a deleted group).
    pub value: Option<f64>,
    pub threshold: f64,
    /// When the condition started to hold.
    pub since: Millis,
    /// When the notice was given.
    pub at: Millis,
    /// Link to the subject's page, when `alerts.public_url` is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
    /// `broker_metric` rules: the metric, and whether it fires below the threshold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub below: bool,
    /// Consumer-group rules: the group as it stood when the notice was given. Named apart from
    /// the subject's `group` (the group's name), which is flattened into the same object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_facts: Option<GroupFacts>,
    /// The notice's group (see the grouping module): every alert it tells, this one (the
    /// worst) first. Absent on notices queued before grouping and on channel tests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch: Option<Batch>,
    /// Who acknowledged the incident, when, and what they said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acknowledged: Option<String>,
}

/// The alerts one grouped notice tells.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Batch {
    /// The group's id: its first incident. Receivers that keep their own incidents
    /// (PagerDuty, Opsgenie) deduplicate by it.
    pub id: String,
    /// The group's batch number, from 1.
    pub seq: u32,
    /// What the group's alerts share: `cluster`, `rule` and the rule's `group_by` labels.
    pub labels: std::collections::BTreeMap<String, String>,
    /// Every alert of the batch, worst first (firing, reminders, resolved).
    pub alerts: Vec<AlertLine>,
    /// Alerts of a storm past what one batch lists: counted only.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub unlisted: usize,
    /// Alerts of the group still firing once this notice is told.
    pub firing_after: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// One alert of a grouped notice.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertLine {
    pub kind: MessageKind,
    pub incident: String,
    #[serde(flatten)]
    pub subject: Subject,
    pub value: Option<f64>,
    pub threshold: f64,
    pub since: Millis,
}

impl AlertLine {
    pub fn of(message: &AlertMessage) -> AlertLine {
        AlertLine {
            kind: message.kind,
            incident: message.incident.clone(),
            subject: message.subject.clone(),
            value: message.value,
            threshold: message.threshold,
            since: message.since,
        }
    }
}

/// A consumer group when a notice was given: what a lag or status notice tells besides the value
/// it compared.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GroupFacts {
    /// The group's topics (only the subject's topic when the rule has `topic`), worst first; a
    /// `consumer_status` rule keeps those at or worse than its status.
    #[serde(default)]
    pub topics: Vec<TopicFacts>,
    /// Topics left out of `topics` to keep the notice short.
    #[serde(default)]
    pub more_topics: usize,
    /// Messages behind: the group's (or the subject topic's) sum over partitions.
    #[serde(default)]
    pub lag: i64,
    /// Age of the oldest unconsumed message (worst partition), when known.
    #[serde(default)]
    pub lag_seconds: Option<f64>,
    /// Consumers connected to the group.
    #[serde(default)]
    pub members: usize,
    /// The group's state as its coordinator tells it: `Stable`, `Empty`, …
    #[serde(default)]
    pub state: String,
    /// Forecast rules: seconds until the lag passes the rule's threshold at the current trend.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub passes_in: Option<f64>,
    /// Retention-risk rules: how close retention is to deleting unread messages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention: Option<crate::evaluator::RetentionRisk>,
    /// Why the group may be behind ([`crate::evaluator::diagnose`]), as the rule saw it fire.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hints: Vec<crate::evaluator::Hint>,
}

/// One topic of a [`GroupFacts`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TopicFacts {
    pub topic: String,
    pub status: PartitionStatus,
    #[serde(default)]
    pub lag: i64,
    #[serde(default)]
    pub lag_seconds: Option<f64>,
}

/// `3 messages deleted unread` once retention passed the committed offset, else when it will
/// at the current pace (`unread messages deleted in about 12m`), else nothing certain.
fn retention_text(risk: &crate::evaluator::RetentionRisk, words: &Words) -> String {
    if risk.lost > 0 {
        let count = group_digits(risk.lost as f64);
        return fill(words.lost_unread, &[("count", count.as_str())]);
    }
    match risk.loss_eta_seconds {
        Some(eta) => fill(words.deleted_in, &[("eta", seconds_text(eta).as_str())]),
        None => words.no_loss_eta.to_owned(),
    }
}

/// `1 message`, `1,234 messages`.
fn messages_text(count: i64, words: &Words) -> String {
    let template = if count == 1 { words.one_message } else { words.messages };
    fill(template, &[("count", &group_digits(count as f64))])
}

impl TopicFacts {
    /// `orders (STOP, lag 1,234, 5m 12s behind)`.
    pub fn text_in(&self, words: &Words) -> String {
        let lag = group_digits(self.lag as f64);
        let seconds = self.lag_seconds.map(seconds_text).unwrap_or_default();
        let slots = [
            ("topic", self.topic.as_str()),
            ("status", self.status.as_str()),
            ("lag", lag.as_str()),
            ("seconds", seconds.as_str()),
        ];
        let template =
            if self.lag_seconds.is_some() { words.topic_lag_behind } else { words.topic_lag };
        fill(template, &slots)
    }
}

impl GroupFacts {
    /// `orders (STOP, lag 1,234, 5m 12s behind), audit (STALL, lag 12)`, with `and 3 more` when
    /// topics were left out; `None` without topics.
    pub fn topics_text_in(&self, words: &Words) -> Option<String> {
        let mut parts: Vec<String> = self.topics.iter().map(|t| t.text_in(words)).collect();
        if self.more_topics > 0 {
            let count = self.more_topics.to_string();
            parts.push(fill(words.more_topics, &[("count", &count)]));
        }
        (!parts.is_empty()).then(|| parts.join(", "))
    }

    /// `1,234 messages, 5m 12s behind`.
    pub fn lag_text_in(&self, words: &Words) -> String {
        let messages = messages_text(self.lag, words);
        match self.lag_seconds {
            Some(secs) => {
                let seconds = seconds_text(secs);
                fill(words.behind, &[("messages", &messages), ("seconds", &seconds)])
            }
            None => messages,
        }
    }

    /// `none (no consumer connected)`, `3 (Stable)`.
    pub fn members_text_in(&self, words: &Words) -> String {
        match (self.members, self.state.is_empty()) {
            (0, _) => words.no_members.into(),
            (n, true) => n.to_string(),
            (n, false) => format!("{n} ({})", self.state),
        }
    }
}

/// `12,345`; fractions keep one decimal.
pub fn group_digits(value: f64) -> String {
    let rounded = value.round();
    if (value - rounded).abs() >= 0.05 && value.abs() < 1e6 {
        return format!("{value:.1}");
    }
    let n = rounded as i64;
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if n < 0 {
        out.push('-');
    }
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// `42s`, `5m`, `5m 12s`, `2h 5m`, `3d 4h`: the largest unit and the next one, a zero part left
/// out. The one duration format of message texts (config text uses [`crate::duration_text`]).
pub fn seconds_text(secs: f64) -> String {
    const UNITS: [(u64, &str); 4] = [(86_400, "d"), (3_600, "h"), (60, "m"), (1, "s")];
    let secs = if secs.is_finite() { secs.max(0.0).round() as u64 } else { 0 };
    let Some(i) = UNITS.iter().position(|(size, _)| secs >= *size) else {
        return "0s".into();
    };
    let (size, unit) = UNITS[i];
    let mut out = format!("{}{unit}", secs / size);
    if let Some((next, next_unit)) = UNITS.get(i + 1) {
        let part = secs % size / next;
        if part > 0 {
            out.push_str(&format!(" {part}{next_unit}"));
        }
    }
    out
}

/// Node conditions as `rules` measures them (0 running, 1 memory alarm, 2 disk alarm, 3 both,
/// 4 and above down), in `words`.
fn node_condition(code: f64, words: &Words) -> &'static str {
    words.node_conditions[usize::from((code as u8).min(4))]
}

/// Status codes as [`crate::evaluator::PartitionStatus::code`] gives them.
fn status_text(code: f64) -> &'static str {
    // Thresholds sit half a step below the status they stand for.
    let index = code.ceil().max(0.0) as usize;
    ["NOTFOUND", "OK", "WARN", "REWIND", "STALL", "STOP"].get(index).copied().unwrap_or("?")
}

impl AlertMessage {
    /// The notice "Send test" sends and templates are checked and previewed with: a group on
    /// cluster `example` lagging 12,345 messages; `link` makes its page's link.
    pub fn example(
        kind: MessageKind,
        now: Millis,
        link: impl Fn(&Subject) -> Option<String>,
    ) -> Self {
        let subject = Subject {
            cluster: "example".into(),
            group: Some("example-group".into()),
            ..Subject::default()
        };
        AlertMessage {
            kind,
            incident: "test".into(),
            rule: "test".into(),
            rule_kind: RuleKind::ConsumerLag,
            severity: Severity::Info,
            link: link(&subject),
            subject,
            value: Some(12_345.0),
            threshold: 10_000.0,
            since: now,
            at: now,
            metric: None,
            below: false,
            group_facts: Some(GroupFacts {
                hints: Default::default(),
                passes_in: None,
                retention: None,
                topics: vec![TopicFacts {
                    topic: "example-topic".into(),
                    status: PartitionStatus::Warn,
                    lag: 12_345,
                    lag_seconds: Some(312.0),
                }],
                more_topics: 0,
                lag: 12_345,
                lag_seconds: Some(312.0),
                members: 1,
                state: "Stable".into(),
            }),
            batch: None,
            acknowledged: None,
        }
    }

    /// The value as the rule measures it: `12,345`, `5m 12s`, `STALL`.
    pub fn value_text(&self) -> String {
        self.value_text_in(&EN)
    }

    pub fn value_text_in(&self, words: &Words) -> String {
        match self.value {
            None => words.gone_value.into(),
            Some(v) => self.measure_in(v, words),
        }
    }

    pub fn threshold_text(&self) -> String {
        self.measure(self.threshold)
    }

    /// `v` in the unit of the rule this message is about, as [`AlertMessage::value_text`] shows
    /// the notice's value.
    pub fn measure(&self, v: f64) -> String {
        self.measure_in(v, &EN)
    }

    /// [`AlertMessage::measure`] in `words`: numbers, durations and status codes read the same
    /// in every language; failed polls and node conditions are words.
    pub fn measure_in(&self, v: f64, words: &Words) -> String {
        match self.rule_kind {
            RuleKind::ConsumerLagSeconds => seconds_text(v),
            RuleKind::ConsumerStatus => status_text(v).into(),
            RuleKind::ClusterDown => {
                let count = group_digits(v);
                fill(words.failed_polls, &[("count", count.as_str())])
            }
            RuleKind::NodeAlarm => node_condition(v, words).into(),
            RuleKind::QueueBacklogGrowing | RuleKind::ConnectionChurn => format!("{v:.1}"),
            RuleKind::RetentionRisk => format!("{v:.0} %"),
            RuleKind::CanaryLatency => format!("{} ms", group_digits(v.round())),
            _ => group_digits(v),
        }
    }

    /// One line saying what and where, without the `[FIRING]` tag:
    /// `lag 12,345 > 10,000 — group billing on prod-kafka`. What notices say and
    /// `alert_incidents.summary` stores; pages in another language use
    /// [`AlertMessage::summary_in`].
    pub fn summary(&self) -> String {
        self.summary_in(&EN)
    }

    /// [`AlertMessage::summary`] in `words`: `积压 12,345 > 10,000 — 消费组 billing @ prod-kafka`.
    pub fn summary_in(&self, words: &Words) -> String {
        let firing = self.kind != MessageKind::Resolved;
        let (above, at_least) = if firing { (">", "≥") } else { ("≤", "<") };
        let what = self.subject.describe_in(words);
        // Without a value the subject is gone, which the first arm tells.
        let value = self.value.map(|v| self.measure_in(v, words)).unwrap_or_default();
        let threshold = self.measure_in(self.threshold, words);
        let slots = [
            ("what", what.as_str()),
            ("value", value.as_str()),
            ("threshold", threshold.as_str()),
            ("above", above),
            ("at_least", at_least),
            ("cluster", self.subject.cluster.as_str()),
        ];
        let say = |template: &str| fill(template, &slots);
        match (self.rule_kind, self.value) {
            (_, None) => say(words.gone),
            (RuleKind::ConsumerLag, _) => say(words.lag),
            (RuleKind::ConsumerLagSeconds, _) => say(words.lag_seconds),
            (RuleKind::LagForecast, _) => say(words.lag_forecast),
            (RuleKind::RetentionRisk, _) => say(words.retention_risk),
            (RuleKind::GroupRebalancing, _) => say(words.rebalancing),
            (RuleKind::ProducerStopped, _) if firing => say(words.producer_stopped),
            (RuleKind::ProducerStopped, _) => say(words.producer_back),
            (RuleKind::ConnectionChurn, _) => say(words.connection_churn),
            (RuleKind::CanaryLatency, _) => say(words.canary_latency),
            (RuleKind::CanaryLoss, _) => say(words.canary_loss),
            (RuleKind::ConsumerStatus, _) => say(words.status),
            (RuleKind::ClusterDown, _) if firing => say(words.cluster_unreachable),
            (RuleKind::ClusterDown, _) => say(words.cluster_reachable),
            (RuleKind::BrokerDown, _) if firing => say(words.broker_gone),
            (RuleKind::BrokerDown, _) => say(words.broker_back),
            (RuleKind::UnderReplicated, _) => say(words.under_replicated),
            (RuleKind::QueueBacklog, _) => say(words.backlog),
            (RuleKind::QueueBacklogGrowing, _) if firing => say(words.backlog_growing),
            (RuleKind::QueueBacklogGrowing, _) => say(words.backlog_steady),
            (RuleKind::QueueNoConsumers, _) if firing => say(words.no_consumer),
            (RuleKind::QueueNoConsumers, _) => say(words.consumed_again),
            (RuleKind::QueueBuried, _) => say(words.buried),
            (RuleKind::NodeAlarm, _) if firing => say(words.node_alarm),
            (RuleKind::NodeAlarm, _) => say(words.node_ok),
            (RuleKind::OfflinePartitions, _) => say(words.offline_partitions),
            (RuleKind::BrokerMetric, _) => {
                let metric = self.metric.as_deref().unwrap_or(words.metric);
                let (over, under) = if firing { (">", "<") } else { ("≤", "≥") };
                let relation = if self.below { under } else { over };
                let slots = [
                    ("metric", metric),
                    ("value", value.as_str()),
                    ("relation", relation),
                    ("threshold", threshold.as_str()),
                    ("what", what.as_str()),
                ];
                fill(words.broker_metric, &slots)
            }
        }
    }

    /// The e-mail subject and the heading of every format; firing notices and reminders carry
    /// the severity: `[FIRING · CRITICAL] lag 12,345 > 10,000 — group billing on prod-kafka`,
    /// `[RESOLVED] lag 12 ≤ 10,000 — group billing on prod-kafka`.
    pub fn title(&self) -> String {
        if let Some(batch) = self.grouped() {
            return self.group_title(batch);
        }
        match self.kind {
            MessageKind::Firing | MessageKind::Reminder => format!(
                "[{} · {}] {}",
                self.kind.tag(),
                self.severity.as_str().to_uppercase(),
                self.summary()
            ),
            MessageKind::Resolved | MessageKind::Test | MessageKind::Acknowledged => {
                format!("[{}] {}", self.kind.tag(), self.summary())
            }
        }
    }

    /// The facts a chat message shows: the group's when the notice tells several alerts.
    pub(crate) fn chat_facts(&self) -> Vec<(&'static str, String)> {
        match self.grouped() {
            Some(batch) => self.group_facts_lines(batch),
            None => self.facts(),
        }
    }

    /// Label/value lines shared by the text e-mail, the HTML e-mail and the chat formats.
    pub fn facts(&self) -> Vec<(&'static str, String)> {
        self.facts_in(&EN)
    }

    /// [`AlertMessage::facts`] in `words` (the incident page in the reader's language).
    pub fn facts_in(&self, words: &Words) -> Vec<(&'static str, String)> {
        let label = &words.facts;
        let rule_kind = self.rule_kind.as_str();
        let mut facts = vec![
            (label.rule, format!("{} ({rule_kind}, {})", self.rule, self.severity.as_str())),
            (label.cluster, self.subject.cluster.clone()),
        ];
        let subject = &self.subject;
        let parts = [
            (label.group, subject.group.clone()),
            (label.topic, subject.topic.clone()),
            (label.broker, subject.broker.map(|b| b.to_string())),
            (label.queue, subject.queue.clone()),
            (label.node, subject.node.clone()),
        ];
        facts.extend(parts.into_iter().filter_map(|(label, part)| Some((label, part?))));
        facts.push((label.value, self.value_text_in(words)));
        facts.push((label.threshold, self.measure_in(self.threshold, words)));
        if let Some(group) = &self.group_facts {
            facts.push((label.lag, group.lag_text_in(words)));
            if let Some(topics) = group.topics_text_in(words) {
                facts.push((label.topics, topics));
            }
            facts.push((label.members, group.members_text_in(words)));
            if let Some(eta) = group.passes_in {
                let (threshold, eta) = (group_digits(self.threshold), seconds_text(eta));
                let slots = [("threshold", threshold.as_str()), ("eta", eta.as_str())];
                facts.push((label.forecast, fill(words.passes_in, &slots)));
            }
            if let Some(retention) = &group.retention {
                facts.push((label.retention, retention_text(retention, words)));
            }
            if !group.hints.is_empty() {
                let hints: Vec<String> = group.hints.iter().map(|h| hint_text(h, words)).collect();
                facts.push((label.diagnosis, hints.join("; ")));
            }
        }
        facts.push((label.since, utc_text(self.since)));
        if self.kind == MessageKind::Resolved {
            facts.push((label.resolved, utc_text(self.at)));
        }
        facts.push((label.duration, seconds_text((self.at - self.since) as f64 / 1000.0)));
        facts.push((label.incident, self.incident.clone()));
        if let Some(ack) = &self.acknowledged {
            facts.push((label.acknowledged, ack.clone()));
        }
        if let Some(link) = &self.link {
            facts.push((label.open, link.clone()));
        }
        facts
    }
}

#[cfg(test)]
pub(crate) mod tests;
