//! How a notice that tells several alerts of a group reads: a title with the counts, the
//! worst alerts listed first and a count of the rest. A batch of one alert reads as that alert.

use serde_json::{Value, json};

use super::{AlertLine, AlertMessage, Batch, MessageKind, escape_html};

/// Alerts listed in an e-mail; the rest are counted.
pub const EMAIL_LISTED: usize = 50;
/// Alerts listed in a chat message; the rest are counted.
pub const CHAT_LISTED: usize = 10;

impl AlertMessage {
    /// The batch when this notice tells more than one alert.
    pub fn grouped(&self) -> Option<&Batch> {
        self.batch.as_ref().filter(|b| b.alerts.len() + b.unlisted > 1)
    }

    /// The id receivers deduplicate by: the group's when the notice belongs to one, else the
    /// incident's.
    pub fn dedup_key(&self) -> &str {
        self.batch.as_ref().map_or(self.incident.as_str(), |b| b.id.as_str())
    }

    /// One alert of the batch as a message of its own (same rule, own subject and value).
    pub fn line_message(&self, line: &AlertLine) -> AlertMessage {
        AlertMessage {
            kind: line.kind,
            incident: line.incident.clone(),
            subject: line.subject.clone(),
            value: line.value,
            threshold: line.threshold,
            since: line.since,
            group_facts: None,
            batch: None,
            link: None,
            ..self.clone()
        }
    }

    /// `[FIRING:12 · WARNING] billing-lag on prod-kafka: 12 alerts, worst lag 52,000 > …`.
    pub(super) fn group_title(&self, batch: &Batch) -> String {
        // Unlisted alerts (past what a batch lists) count as firing: a storm is of firings.
        let listed_firing = batch.alerts.iter().filter(|a| a.kind != MessageKind::Resolved).count();
        let firing = listed_firing + batch.unlisted;
        let resolved = batch.alerts.len() - listed_firing;
        let mut tags = Vec::new();
        if firing > 0 {
            tags.push(format!("FIRING:{firing}"));
        }
        if resolved > 0 {
            tags.push(format!("RESOLVED:{resolved}"));
        }
        let tag = if firing > 0 {
            format!("{} · {}", tags.join(", "), self.severity.as_str().to_uppercase())
        } else {
            tags.join(", ")
        };
        let worst = self.summary();
        let others = batch.alerts.len() + batch.unlisted - 1;
        let scope = batch
            .labels
            .iter()
            .filter(|(k, _)| !matches!(k.as_str(), "rule" | "cluster"))
            .map(|(k, v)| format!("{k} {v}"))
            .collect::<Vec<_>>();
        let scope =
            if scope.is_empty() { String::new() } else { format!(" ({})", scope.join(", ")) };
        format!(
            "[{tag}] {} on {}{scope}: {worst}, and {others} more",
            self.rule, self.subject.cluster
        )
    }

    /// `FIRING  lag 52,000 > 10,000 — group g7 on prod` for the first `limit` alerts, and how
    /// many were left out.
    pub fn listed(&self, batch: &Batch, limit: usize) -> (Vec<(MessageKind, String)>, usize) {
        let lines = batch
            .alerts
            .iter()
            .take(limit)
            .map(|line| (line.kind, self.line_message(line).summary()))
            .collect();
        (lines, batch.alerts.len().saturating_sub(limit) + batch.unlisted)
    }

    /// Group-level facts: the rule, the shared labels, the counts and the link.
    pub(super) fn group_facts_lines(&self, batch: &Batch) -> Vec<(&'static str, String)> {
        let listed_firing = batch.alerts.iter().filter(|a| a.kind != MessageKind::Resolved).count();
        let firing = listed_firing + batch.unlisted;
        let mut facts = vec![
            (
                "Rule",
                format!("{} ({}, {})", self.rule, self.rule_kind.as_str(), self.severity.as_str()),
            ),
            ("Cluster", self.subject.cluster.clone()),
        ];
        for (label, value) in &batch.labels {
            if !matches!(label.as_str(), "rule" | "cluster") {
                facts.push(("Grouped by", format!("{label} = {value}")));
            }
        }
        facts.push((
            "Alerts",
            format!(
                "{} in this notice ({firing} firing, {} resolved); {} of the group firing now",
                batch.alerts.len() + batch.unlisted,
                batch.alerts.len() - listed_firing,
                batch.firing_after
            ),
        ));
        facts.push(("Group", batch.id.clone()));
        if let Some(link) = &self.link {
            facts.push(("Open", link.clone()));
        }
        facts
    }

    /// The chat formats' list: one line per alert, the first [`CHAT_LISTED`].
    pub(super) fn chat_lines(&self, batch: &Batch) -> Vec<String> {
        let (lines, more) = self.listed(batch, CHAT_LISTED);
        let mut out: Vec<String> =
            lines.into_iter().map(|(kind, text)| format!("{} {text}", kind.tag())).collect();
        if more > 0 {
            out.push(format!("… and {more} more"));
        }
        out
    }

    pub(super) fn grouped_email_text(&self, batch: &Batch) -> String {
        let mut out = format!("{}\n\n", self.title());
        for (label, value) in self.group_facts_lines(batch) {
            out.push_str(&format!("{:<10} {value}\n", format!("{label}:")));
        }
        out.push('\n');
        let (lines, more) = self.listed(batch, EMAIL_LISTED);
        for (kind, text) in lines {
            out.push_str(&format!("{:<9} {text}\n", kind.tag()));
        }
        if more > 0 {
            out.push_str(&format!("… and {more} more\n"));
        }
        out.push_str("\n-- \nOsprey\n");
        out
    }

    pub(super) fn grouped_email_html(&self, batch: &Batch, colour: &str) -> String {
        let mut facts = String::new();
        for (label, value) in self.group_facts_lines(batch) {
            let value = if label == "Open" {
                format!("<a href=\"{0}\">{0}</a>", escape_html(&value))
            } else {
                escape_html(&value)
            };
            facts.push_str(&format!(
                "<tr><th align=\"left\" style=\"padding:2px 12px 2px 0;color:#555\">{label}</th><td>{value}</td></tr>"
            ));
        }
        let mut rows = String::new();
        for line in batch.alerts.iter().take(EMAIL_LISTED) {
            let message = self.line_message(line);
            rows.push_str(&format!(
                "<tr><td style=\"padding:2px 8px\">{}</td><td style=\"padding:2px 8px\">{}</td>\
                 <td style=\"padding:2px 8px\">{}</td><td style=\"padding:2px 8px\">{}</td></tr>",
                line.kind.tag(),
                escape_html(&message.subject.describe()),
                escape_html(&message.value_text()),
                escape_html(&crate::clock::utc_text(line.since)),
            ));
        }
        let more = batch.alerts.len().saturating_sub(EMAIL_LISTED) + batch.unlisted;
        let more = if more > 0 { format!("<p>… and {more} more</p>") } else { String::new() };
        format!(
            "<!doctype html><html><body style=\"font-family:sans-serif\">\
             <h2 style=\"color:{colour};margin:0 0 8px\">{}</h2>\
             <table style=\"border-collapse:collapse\">{facts}</table>\
             <table id=\"alerts\" style=\"border-collapse:collapse;margin-top:12px\" border=\"1\">\
             <tr><th>Status</th><th>Alert</th><th>Value</th><th>Since</th></tr>{rows}</table>{more}\
             <p style=\"color:#888;font-size:12px\">Osprey</p></body></html>",
            escape_html(&self.title())
        )
    }

    /// The generic webhook's version 2 additions: the group and every alert of the notice.
    pub(super) fn batch_json(&self) -> Value {
        let Some(batch) = &self.batch else {
            let alerts = vec![self.alert_json(&AlertLine::of(self))];
            return json!({ "group_id": self.incident, "group_labels": {}, "firing_after": 0, "alerts": alerts });
        };
        let alerts: Vec<Value> = batch.alerts.iter().map(|line| self.alert_json(line)).collect();
        json!({
            "group_id": batch.id,
            "group_labels": batch.labels,
            "firing_after": batch.firing_after,
            "alerts": alerts,
        })
    }

    fn alert_json(&self, line: &AlertLine) -> Value {
        let message = self.line_message(line);
        json!({
            "status": line.kind.as_str(),
            "incident": line.incident,
            "summary": message.summary(),
            "cluster": line.subject.cluster,
            "group": line.subject.group,
            "topic": line.subject.topic,
            "broker": line.subject.broker,
            "queue": line.subject.queue,
            "node": line.subject.node,
            "value": line.value,
            "value_text": message.value_text(),
            "threshold": line.threshold,
            "since": line.since,
        })
    }
}
