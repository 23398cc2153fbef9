//! The bodies on-call receivers document: PagerDuty Events API v2, Opsgenie's Alert API, a
//! Microsoft Teams workflow's Adaptive Card, a Telegram bot's `sendMessage` and Alertmanager's
//! `/api/v2/alerts`. Pure, like the other formats; the notifier adds keys, paths and headers.

use serde_json::{Map, Value, json};

use super::{AlertMessage, MessageKind, escape_html, escape_markdown};
use crate::alerting::definition::Severity;
use crate::clock::rfc3339;
use crate::domain::Millis;

/// PagerDuty's `payload.summary` limit.
const PAGERDUTY_SUMMARY: usize = 1024;
/// Opsgenie's `message` limit.
const OPSGENIE_MESSAGE: usize = 130;
/// Telegram's limit on a message's text.
const TELEGRAM_TEXT: usize = 4096;
/// How long Alertmanager keeps a firing alert Osprey does not repeat: a reminder
/// (`repeat_interval`) within a day keeps it firing; a resolution ends it at once.
pub const ALERTMANAGER_VALIDITY: Millis = 24 * 3_600_000;
/// How long a channel test's alert lasts in Alertmanager.
const ALERTMANAGER_TEST_VALIDITY: Millis = 5 * 60_000;

/// `text` cut to at most `max` characters, with an ellipsis when cut.
fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

impl AlertMessage {
    /// Whether this notice ends what receivers keep open under [`AlertMessage::dedup_key`]:
    /// a resolution after which nothing of its group fires.
    pub fn closes_group(&self) -> bool {
        self.kind == MessageKind::Resolved
            && self.batch.as_ref().is_none_or(|b| b.firing_after == 0)
    }

    /// The facts as a JSON object (PagerDuty's `custom_details`, Opsgenie's `details`), with
    /// the group's alerts listed when there are several.
    fn facts_object(&self) -> Map<String, Value> {
        let mut facts: Map<String, Value> = self
            .chat_facts()
            .into_iter()
            .map(|(label, value)| (label.to_owned(), value.into()))
            .collect();
        if let Some(batch) = self.grouped() {
            facts.insert("Alerts listed".to_owned(), self.chat_lines(batch).into());
        }
        facts
    }

    /// The chat lines of a grouped notice (none for one alert).
    fn listed_lines(&self) -> Vec<String> {
        self.grouped().map(|b| self.chat_lines(b)).unwrap_or_default()
    }

    /// PagerDuty Events API v2: a trigger while firing (a reminder triggers again under the same
    /// `dedup_key`, which PagerDuty folds into the open incident), a resolve on recovery. The
    /// notifier adds `routing_key`.
    pub(super) fn pagerduty_body(&self) -> Value {
        if self.closes_group() {
            return json!({ "event_action": "resolve", "dedup_key": self.dedup_key() });
        }
        if self.kind == MessageKind::Acknowledged {
            return json!({ "event_action": "acknowledge", "dedup_key": self.dedup_key() });
        }
        let severity = match self.severity {
            Severity::Critical => "critical",
            Severity::Warning => "warning",
            Severity::Info => "info",
        };
        let mut body = json!({
            "event_action": "trigger",
            "dedup_key": self.dedup_key(),
            "payload": {
                "summary": clip(&self.title(), PAGERDUTY_SUMMARY),
                "source": self.subject.cluster,
                "severity": severity,
                "timestamp": rfc3339(self.since),
                "component": self.subject.describe(),
                "group": self.subject.cluster,
                "class": self.rule_kind.as_str(),
                "custom_details": self.facts_object(),
            },
            "client": "Osprey",
        });
        if let Some(link) = &self.link {
            body["client_url"] = link.clone().into();
            body["links"] = json!([{ "href": link, "text": "Open in Osprey" }]);
        }
        body
    }

    /// Opsgenie: an alert whose alias is the incident (a reminder adds to its count); a
    /// resolution is the body of `POST …/alerts/{incident}/close?identifierType=alias`.
    pub(super) fn opsgenie_body(&self) -> Value {
        if self.closes_group() || self.kind == MessageKind::Acknowledged {
            let note = match &self.acknowledged {
                Some(ack) if self.kind == MessageKind::Acknowledged => {
                    format!("Acknowledged by {ack}")
                }
                _ => self.title(),
            };
            return json!({ "source": "Osprey", "note": note, "user": "Osprey" });
        }
        let priority = match self.severity {
            Severity::Critical => "P1",
            Severity::Warning => "P3",
            Severity::Info => "P5",
        };
        let mut description: Vec<String> = self
            .chat_facts()
            .into_iter()
            .map(|(label, value)| format!("{label}: {value}"))
            .collect();
        description.extend(self.listed_lines());
        json!({
            "message": clip(&self.title(), OPSGENIE_MESSAGE),
            "alias": self.dedup_key(),
            "description": description.join("\n"),
            "source": "Osprey",
            "entity": self.subject.cluster,
            "priority": priority,
            "tags": ["osprey", self.severity.as_str(), self.rule_kind.as_str()],
            "details": self.facts_object(),
        })
    }

    /// A Teams workflow webhook's message: one Adaptive Card with the title, the facts and a
    /// button to Osprey's page. Text is escaped as chat Markdown (cards render a subset).
    pub(super) fn teams_body(&self) -> Value {
        let colour = match (self.kind, self.severity) {
            (MessageKind::Resolved, _) => "Good",
            (MessageKind::Test | MessageKind::Acknowledged, _) | (_, Severity::Info) => "Accent",
            (_, Severity::Warning) => "Warning",
            (_, Severity::Critical) => "Attention",
        };
        let facts: Vec<Value> = self
            .chat_facts()
            .into_iter()
            .map(|(label, value)| json!({ "title": label, "value": escape_markdown(&value) }))
            .collect();
        let mut card = json!({
            "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
            "type": "AdaptiveCard",
            "version": "1.4",
            "msteams": { "width": "Full" },
            "body": [
                {
                    "type": "TextBlock",
                    "text": escape_markdown(&self.title()),
                    "weight": "Bolder",
                    "size": "Medium",
                    "color": colour,
                    "wrap": true,
                },
                { "type": "FactSet", "facts": facts },
            ],
        });
        for line in self.listed_lines() {
            if let Some(body) = card["body"].as_array_mut() {
                body.push(json!({ "type": "TextBlock", "text": escape_markdown(&line), "wrap": true, "spacing": "None" }));
            }
        }
        if let Some(link) = &self.link {
            card["actions"] =
                json!([{ "type": "Action.OpenUrl", "title": "Open in Osprey", "url": link }]);
        }
        json!({
            "type": "message",
            "attachments": [{
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": null,
                "content": card,
            }],
        })
    }

    /// A Telegram bot's `sendMessage`, in Telegram's HTML (names escaped, so none can become a
    /// tag or a link). The notifier adds `chat_id`.
    pub(super) fn telegram_body(&self) -> Value {
        let mut text = format!("<b>{}</b>", escape_html(&self.title()));
        for line in self.listed_lines() {
            text.push_str(&format!("\n{}", escape_html(&line)));
        }
        for (label, value) in self.chat_facts() {
            if self.link.as_ref() == Some(&value) {
                let href = escape_html(&value);
                text.push_str(&format!("\n{label}: <a href=\"{href}\">{href}</a>"));
            } else {
                text.push_str(&format!("\n{label}: {}", escape_html(&value)));
            }
        }
        if text.chars().count() > TELEGRAM_TEXT {
            // Too long: plain text, cut (a cut inside a tag or an entity would be refused as bad
            // HTML).
            let mut plain = self.title();
            for line in self.listed_lines() {
                plain.push_str(&format!("\n{line}"));
            }
            for (label, value) in self.chat_facts() {
                plain.push_str(&format!("\n{label}: {value}"));
            }
            return json!({
                "text": clip(&plain, TELEGRAM_TEXT),
                "link_preview_options": { "is_disabled": true },
            });
        }
        json!({
            "text": text,
            "parse_mode": "HTML",
            "link_preview_options": { "is_disabled": true },
        })
    }

    /// Alertmanager's `POST /api/v2/alerts`: one alert labelled by rule and subject. A firing
    /// alert ends [`ALERTMANAGER_VALIDITY`] after this notice unless a reminder renews it; a
    /// resolved one ends now.
    pub(super) fn alertmanager_body(&self) -> Value {
        match &self.batch {
            Some(batch) if !batch.alerts.is_empty() => Value::Array(
                batch
                    .alerts
                    .iter()
                    .map(|line| {
                        let link = (line.incident == self.incident).then(|| self.link.clone());
                        let one = AlertMessage {
                            link: link.flatten(),
                            at: self.at,
                            ..self.line_message(line)
                        };
                        one.alertmanager_alert()
                    })
                    .collect(),
            ),
            _ => json!([self.alertmanager_alert()]),
        }
    }

    /// One alert of Alertmanager's list.
    fn alertmanager_alert(&self) -> Value {
        let subject = &self.subject;
        let mut labels = Map::new();
        let mut label = |name: &str, value: Option<String>| {
            if let Some(value) = value {
                labels.insert(name.to_owned(), value.into());
            }
        };
        label("alertname", Some(self.rule.clone()));
        label("severity", Some(self.severity.as_str().to_owned()));
        label("rule_kind", Some(self.rule_kind.as_str().to_owned()));
        label("cluster", Some(subject.cluster.clone()));
        label("consumer_group", subject.group.clone());
        label("topic", subject.topic.clone());
        label("broker", subject.broker.map(|b| b.to_string()));
        label("queue", subject.queue.clone());
        label("node", subject.node.clone());
        label("metric", self.metric.clone());
        label("source", Some("osprey".to_owned()));
        // A test goes down the real routes: marked, and over within minutes.
        label("test", (self.kind == MessageKind::Test).then(|| "true".to_owned()));
        let ends = match self.kind {
            MessageKind::Resolved => self.at,
            MessageKind::Test => self.at + ALERTMANAGER_TEST_VALIDITY,
            _ => self.at + ALERTMANAGER_VALIDITY,
        };
        let mut alert = json!({
            "labels": labels,
            "annotations": {
                "summary": self.title(),
                "description": self.summary(),
                "incident": self.incident,
                "value": self.value_text(),
                "threshold": self.threshold_text(),
            },
            "startsAt": rfc3339(self.since),
            "endsAt": rfc3339(ends),
        });
        if let Some(link) = &self.link {
            alert["generatorURL"] = link.clone().into();
        }
        alert
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::lag_message;
    use super::*;

    #[test]
    fn pagerduty_triggers_and_resolves_one_incident() {
        let firing = lag_message(MessageKind::Firing).pagerduty_body();
        assert_eq!(firing["event_action"], "trigger");
        assert_eq!(firing["dedup_key"], "0123456789abcdef");
        let payload = &firing["payload"];
        assert_eq!(payload["severity"], "critical");
        assert_eq!(payload["source"], "prod-kafka");
        assert_eq!(payload["class"], "consumer_lag");
        assert_eq!(payload["timestamp"], "2026-11-18T11:06:40.000Z");
        assert!(payload["summary"].as_str().unwrap().starts_with("[FIRING · CRITICAL] lag 12,345"));
        assert_eq!(payload["custom_details"]["Cluster"], "prod-kafka");
        assert_eq!(firing["links"][0]["href"], firing["client_url"]);
        let resolved = lag_message(MessageKind::Resolved).pagerduty_body();
        assert_eq!(resolved, json!({ "event_action": "resolve", "dedup_key": "0123456789abcdef" }));
        let mut long = lag_message(MessageKind::Firing);
        long.subject.group = Some("g".repeat(2_000));
        let summary = long.pagerduty_body()["payload"]["summary"].as_str().unwrap().to_owned();
        assert_eq!(summary.chars().count(), PAGERDUTY_SUMMARY);
    }

    #[test]
    fn an_acknowledgement_acknowledges_on_pagerduty_and_opsgenie() {
        let mut acked = lag_message(MessageKind::Acknowledged);
        acked.acknowledged = Some("alice at 2026-12-03 10:00 UTC: on it".into());
        assert_eq!(
            acked.pagerduty_body(),
            json!({ "event_action": "acknowledge", "dedup_key": "0123456789abcdef" })
        );
        let note = acked.opsgenie_body();
        assert_eq!(note["note"], "Acknowledged by alice at 2026-12-03 10:00 UTC: on it");
        assert!(acked.title().starts_with("[ACKNOWLEDGED] lag 12,345"), "{}", acked.title());
    }

    #[test]
    fn opsgenie_alerts_by_alias_with_a_priority_from_the_severity() {
        let firing = lag_message(MessageKind::Firing).opsgenie_body();
        assert_eq!(firing["alias"], "0123456789abcdef");
        assert_eq!(firing["priority"], "P1");
        assert_eq!(firing["entity"], "prod-kafka");
        assert!(firing["message"].as_str().unwrap().chars().count() <= OPSGENIE_MESSAGE);
        assert!(firing["description"].as_str().unwrap().contains("Group: billing"));
        let info = AlertMessage { severity: Severity::Info, ..lag_message(MessageKind::Firing) };
        assert_eq!(info.opsgenie_body()["priority"], "P5");
        let closed = lag_message(MessageKind::Resolved).opsgenie_body();
        assert_eq!(closed["source"], "Osprey");
        assert!(closed["note"].as_str().unwrap().starts_with("[RESOLVED]"));
    }

    #[test]
    fn teams_gets_an_adaptive_card_with_escaped_text() {
        let hostile = AlertMessage {
            subject: crate::alerting::message::Subject {
                cluster: "prod".into(),
                group: Some("[x](https://evil.example)".into()),
                ..Default::default()
            },
            ..lag_message(MessageKind::Firing)
        };
        let body = hostile.teams_body();
        assert_eq!(body["type"], "message");
        let attachment = &body["attachments"][0];
        assert_eq!(attachment["contentType"], "application/vnd.microsoft.card.adaptive");
        let card = &attachment["content"];
        assert_eq!(
            (card["type"].as_str(), card["version"].as_str()),
            (Some("AdaptiveCard"), Some("1.4"))
        );
        assert_eq!(card["body"][0]["color"], "Attention");
        let group = card["body"][1]["facts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["title"] == "Group")
            .unwrap()["value"]
            .as_str()
            .unwrap()
            .to_owned();
        assert_eq!(group, r"\[x\](https://evil.example)");
        assert_eq!(card["actions"][0]["type"], "Action.OpenUrl");
        let resolved = lag_message(MessageKind::Resolved).teams_body();
        assert_eq!(resolved["attachments"][0]["content"]["body"][0]["color"], "Good");
    }

    #[test]
    fn telegram_text_is_html_with_names_escaped() {
        let hostile = AlertMessage {
            subject: crate::alerting::message::Subject {
                cluster: "prod".into(),
                group: Some("<b>pay</b> & co".into()),
                ..Default::default()
            },
            ..lag_message(MessageKind::Firing)
        };
        let body = hostile.telegram_body();
        assert_eq!(body["parse_mode"], "HTML");
        let text = body["text"].as_str().unwrap();
        assert!(text.starts_with("<b>[FIRING · CRITICAL]"), "{text}");
        assert!(text.contains("Group: &lt;b&gt;pay&lt;/b&gt; &amp; co"), "{text}");
        assert!(
            text.contains(
                "<a href=\"https://osprey.example.com/clusters/prod-kafka/groups/billing\">"
            ),
            "{text}"
        );
        let mut huge = lag_message(MessageKind::Firing);
        huge.subject.group = Some("g".repeat(10_000));
        let body = huge.telegram_body();
        let text = body["text"].as_str().unwrap().to_owned();
        assert_eq!(text.chars().count(), TELEGRAM_TEXT);
        assert!(text.starts_with("[FIRING · CRITICAL]"), "plain text: {}", &text[..40]);
        assert!(body.get("parse_mode").is_none(), "cut as plain text, not HTML");
    }

    #[test]
    fn alertmanager_gets_one_labelled_alert_that_ends_on_resolution() {
        let firing = lag_message(MessageKind::Firing);
        let body = firing.alertmanager_body();
        let alert = &body[0];
        assert_eq!(alert["labels"]["alertname"], "billing-lag");
        assert_eq!(alert["labels"]["consumer_group"], "billing");
        assert_eq!(alert["labels"]["cluster"], "prod-kafka");
        assert!(alert["labels"].get("topic").is_none());
        assert_eq!(alert["startsAt"], rfc3339(firing.since));
        assert_eq!(alert["endsAt"], rfc3339(firing.at + ALERTMANAGER_VALIDITY));
        assert_eq!(alert["annotations"]["incident"], "0123456789abcdef");
        assert_eq!(alert["generatorURL"], firing.link.clone().unwrap());
        assert!(alert["labels"].get("test").is_none());
        let resolved = lag_message(MessageKind::Resolved);
        assert_eq!(resolved.alertmanager_body()[0]["endsAt"], rfc3339(resolved.at));
        let test = lag_message(MessageKind::Test);
        let tested = &test.alertmanager_body()[0];
        assert_eq!(tested["labels"]["test"], "true");
        assert_eq!(tested["endsAt"], rfc3339(test.at + ALERTMANAGER_TEST_VALIDITY));
    }
}
