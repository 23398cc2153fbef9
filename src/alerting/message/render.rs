//! How a notice reads in an e-mail (text and HTML) and in each webhook format's JSON, and the
//! escaping each format needs for names that come from brokers.

use serde_json::json;

use super::{AlertMessage, MessageKind};
use crate::alerting::definition::{Severity, WebhookFormat};

impl AlertMessage {
    pub fn email_text(&self) -> String {
        if let Some(batch) = self.grouped() {
            return self.grouped_email_text(batch);
        }
        let mut out = format!("{}\n\n", self.title());
        let lead = match self.kind {
            MessageKind::Firing => "An alert is firing.",
            MessageKind::Reminder => "Reminder: this alert is still firing.",
            MessageKind::Resolved => "This alert is resolved.",
            MessageKind::Test => "This is a test message from Osprey; the channel works.",
            MessageKind::Acknowledged => {
                "An operator acknowledged this alert: no reminders while it holds."
            }
        };
        out.push_str(lead);
        out.push_str("\n\n");
        for (label, value) in self.facts() {
            out.push_str(&format!("{:<10} {value}\n", format!("{label}:")));
        }
        out.push_str("\n-- \nOsprey\n");
        out
    }

    pub fn email_html(&self) -> String {
        let colour = match self.kind {
            MessageKind::Resolved => "#1a7f37",
            MessageKind::Test | MessageKind::Acknowledged => "#555555",
            _ if self.severity == Severity::Critical => "#c62828",
            _ => "#b26a00",
        };
        if let Some(batch) = self.grouped() {
            return self.grouped_email_html(batch, colour);
        }
        let mut rows = String::new();
        for (label, value) in self.facts() {
            let value = if label == "Open" {
                format!("<a href=\"{0}\">{0}</a>", escape_html(&value))
            } else {
                escape_html(&value)
            };
            rows.push_str(&format!(
                "<tr><th align=\"left\" style=\"padding:2px 12px 2px 0;color:#555\">{label}</th><td>{value}</td></tr>"
            ));
        }
        format!(
            "<!doctype html><html><body style=\"font-family:sans-serif\">\
             <h2 style=\"color:{colour};margin:0 0 8px\">{}</h2>\
             <table style=\"border-collapse:collapse\">{rows}</table>\
             <p style=\"color:#888;font-size:12px\">Osprey</p></body></html>",
            escape_html(&self.title())
        )
    }

    /// Markdown for the chat formats; names from brokers and rules are escaped, so a group
    /// called `[x](https://evil.example)` makes no link with hidden text (a bare address may
    /// still be shown as a link by the chat, as it would be in any text).
    fn markdown(&self) -> String {
        let mut out = format!("**{}**\n\n", escape_markdown(&self.title()));
        for line in self.grouped().map(|b| self.chat_lines(b)).unwrap_or_default() {
            out.push_str(&format!("- {}\n", escape_markdown(&line)));
        }
        if self.grouped().is_some() {
            out.push('\n');
        }
        for (label, value) in self.chat_facts() {
            if self.link.as_ref() == Some(&value) {
                // Osprey's own link: a Markdown link whose target keeps its underscores.
                let target = value.replace('(', "%28").replace(')', "%29").replace(' ', "%20");
                out.push_str(&format!("- {label}: [{}]({target})\n", escape_markdown(&value)));
            } else {
                out.push_str(&format!("- {label}: {}\n", escape_markdown(&value)));
            }
        }
        out
    }

    /// The JSON body a webhook of `format` receives.
    pub fn webhook_body(&self, format: WebhookFormat) -> serde_json::Value {
        match format {
            WebhookFormat::Generic => {
                let mut body = self.webhook_body(WebhookFormat::GenericV1);
                body["version"] = 2.into();
                if let (Some(out), serde_json::Value::Object(batch)) =
                    (body.as_object_mut(), self.batch_json())
                {
                    out.extend(batch);
                }
                body
            }
            WebhookFormat::GenericV1 => json!({
                "version": 1,
                "status": self.kind.as_str(),
                "title": self.title(),
                "summary": self.summary(),
                "incident": self.incident,
                "rule": self.rule,
                "rule_kind": self.rule_kind.as_str(),
                "severity": self.severity.as_str(),
                "cluster": self.subject.cluster,
                "group": self.subject.group,
                "topic": self.subject.topic,
                "broker": self.subject.broker,
                "queue": self.subject.queue,
                "node": self.subject.node,
                "metric": self.metric,
                "below": self.below,
                "value": self.value,
                "value_text": self.value_text(),
                "threshold": self.threshold,
                "threshold_text": self.threshold_text(),
                "since": self.since,
                "at": self.at,
                "link": self.link,
                "group_facts": self.group_facts,
            }),
            WebhookFormat::Slack => {
                let mut text = format!("*{}*", escape_slack(&self.title()));
                for line in self.grouped().map(|b| self.chat_lines(b)).unwrap_or_default() {
                    text.push_str(&format!("\n{}", escape_slack(&line)));
                }
                for (label, value) in self.chat_facts() {
                    text.push_str(&format!("\n• {label}: {}", escape_slack(&value)));
                }
                json!({ "text": text })
            }
            WebhookFormat::Dingtalk => json!({
                "msgtype": "markdown",
                "markdown": { "title": self.title(), "text": self.markdown() },
            }),
            WebhookFormat::Wecom => json!({
                "msgtype": "markdown",
                "markdown": { "content": self.markdown() },
            }),
            WebhookFormat::Feishu => {
                let mut text = escape_feishu(&self.title());
                for line in self.grouped().map(|b| self.chat_lines(b)).unwrap_or_default() {
                    text.push_str(&format!("\n{}", escape_feishu(&line)));
                }
                for (label, value) in self.chat_facts() {
                    text.push_str(&format!("\n{label}: {}", escape_feishu(&value)));
                }
                json!({ "msg_type": "text", "content": { "text": text } })
            }
            WebhookFormat::Pagerduty => self.pagerduty_body(),
            WebhookFormat::Opsgenie => self.opsgenie_body(),
            WebhookFormat::Teams => self.teams_body(),
            WebhookFormat::Telegram => self.telegram_body(),
            WebhookFormat::Alertmanager => self.alertmanager_body(),
        }
    }
}

/// Text for Slack's `mrkdwn`: `&`, `<` and `>` escaped as Slack asks, so no name can become a
/// mention (`<!channel>`) or a link (`<https://…|text>`).
pub fn escape_slack(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// Text for chat Markdown (DingTalk, WeCom): emphasis, code and link brackets escaped with a
/// backslash (without `[`…`]` no `(…)` makes a link), `<` `>` as entities (no HTML, no autolinks), line breaks as spaces (so a name
/// never starts a line, where `#`, `-` or `>` would mean something).
pub fn escape_markdown(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '\\' | '`' | '*' | '_' | '[' | ']' | '~' => {
                out.push('\\');
                out.push(ch);
            }
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\n' | '\r' => out.push(' '),
            _ => out.push(ch),
        }
    }
    out
}

/// Text for Feishu's text messages, which turn `<at user_id="all">` into a mention: the angle
/// brackets of names become look-alikes.
pub fn escape_feishu(text: &str) -> String {
    text.replace('<', "‹").replace('>', "›")
}

pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}
