//! A channel's own words: `title_template` (the e-mail subject, the heading of chat messages,
//! the summary on-call receivers show) and `body_template` (the e-mail text, the chat text),
//! minijinja templates rendered with the notice's fields. Checked when a channel is saved (a
//! bad template is refused with its line), previewed on the channel page; without them the
//! built-in texts are used. Values from brokers are escaped for the target format before a
//! template sees them, so a group name cannot plant a link or a mention; what the operator
//! wrote is theirs.

use minijinja::{Environment, UndefinedBehavior, Value, context};
use serde_json::json;

use super::definition::{ChannelDef, DefinitionError, WebhookFormat};
use super::message::{
    AlertLine, AlertMessage, MessageKind, escape_html, escape_markdown, escape_slack,
};

/// Steps a template may take: a loop over a storm's 2,000 alerts fits, a runaway one stops.
const FUEL: u64 = 2_000_000;
/// Longest template accepted.
pub const MAX_TEMPLATE: usize = 16 * 1024;

/// Why a template cannot be used.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct TemplateError(pub String);

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_fuel(Some(FUEL));
    env
}

fn describe(error: &minijinja::Error) -> String {
    let what = error.detail().map_or_else(|| error.kind().to_string(), str::to_owned);
    match error.line() {
        Some(line) => format!("line {line}: {what}"),
        None => what,
    }
}

/// The notice's fields as a template sees them, each text passed through `escape`.
pub fn fields(message: &AlertMessage, escape: &dyn Fn(&str) -> String) -> Value {
    let lines = match &message.batch {
        Some(batch) => batch.alerts.clone(),
        None => vec![AlertLine::of(message)],
    };
    let alerts: Vec<Value> = lines
        .iter()
        .map(|line| {
            let one = message.line_message(line);
            context! {
                status => line.kind.as_str(),
                incident => line.incident,
                summary => escape(&one.summary()),
                subject => escape(&one.subject.describe()),
                value => escape(&one.value_text()),
                since => crate::clock::utc_text(line.since),
            }
        })
        .collect();
    let firing = lines.iter().filter(|l| l.kind != MessageKind::Resolved).count();
    let facts: Vec<Value> = message
        .chat_facts()
        .into_iter()
        .map(|(label, value)| context! { label => label, value => escape(&value) })
        .collect();
    context! {
        status => message.kind.as_str(),
        firing => message.kind != MessageKind::Resolved,
        title => escape(&message.title()),
        summary => escape(&message.summary()),
        incident => message.incident,
        group_id => message.dedup_key(),
        rule => escape(&message.rule),
        rule_kind => message.rule_kind.as_str(),
        severity => message.severity.as_str(),
        cluster => escape(&message.subject.cluster),
        group => message.subject.group.as_deref().map(escape),
        topic => message.subject.topic.as_deref().map(escape),
        queue => message.subject.queue.as_deref().map(escape),
        broker => message.subject.broker,
        node => message.subject.node.as_deref().map(escape),
        subject => escape(&message.subject.describe()),
        value => escape(&message.value_text()),
        threshold => escape(&message.threshold_text()),
        since => crate::clock::utc_text(message.since),
        at => crate::clock::utc_text(message.at),
        link => message.link.as_deref().map(escape),
        acknowledged => message.acknowledged.as_deref().map(escape),
        alerts => alerts,
        alerts_firing => firing,
        facts => facts,
    }
}

/// A channel's templates rendered for one notice; `None` where the channel has none.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Custom {
    pub title: Option<String>,
    pub body: Option<String>,
}

impl Custom {
    /// `channel`'s templates for `message`, texts escaped for `format` (`None`: e-mail).
    pub fn of(
        channel: &ChannelDef,
        message: &AlertMessage,
        format: Option<WebhookFormat>,
    ) -> Result<Custom, TemplateError> {
        let escape = escaper(format);
        let one = |template: &Option<String>| {
            template.as_deref().map(|t| render(t, message, &escape)).transpose()
        };
        Ok(Custom {
            title: one(&channel.title_template)?.map(|t| t.trim().to_owned()),
            body: one(&channel.body_template)?,
        })
    }

    pub fn is_empty(&self) -> bool {
        self.title.is_none() && self.body.is_none()
    }
}

/// How values are escaped for a format before a template sees them.
fn escaper(format: Option<WebhookFormat>) -> impl Fn(&str) -> String {
    move |text: &str| match format {
        Some(WebhookFormat::Slack) => escape_slack(text),
        Some(WebhookFormat::Dingtalk | WebhookFormat::Wecom | WebhookFormat::Teams) => {
            escape_markdown(text)
        }
        Some(WebhookFormat::Telegram) => escape_html(text),
        _ => text.to_owned(),
    }
}

/// [`AlertMessage::webhook_body`] with a channel's own title and text in place of the
/// built-in ones: the title where the format has one, the text as the whole chat message.
pub fn custom_body(
    message: &AlertMessage,
    format: WebhookFormat,
    custom: &Custom,
) -> serde_json::Value {
    let mut body = message.webhook_body(format);
    let title = custom.title.clone().unwrap_or_else(|| message.title());
    let text = custom.body.as_deref();
    match format {
        WebhookFormat::Generic | WebhookFormat::GenericV1 => {
            body["title"] = title.into();
            if let Some(text) = text {
                body["text"] = text.into();
            }
        }
        WebhookFormat::Slack => {
            if let Some(text) = text {
                body["text"] = format!("*{title}*\n{text}").into();
            }
        }
        WebhookFormat::Dingtalk => {
            body["markdown"]["title"] = title.clone().into();
            if let Some(text) = text {
                body["markdown"]["text"] = format!("**{title}**\n\n{text}").into();
            }
        }
        WebhookFormat::Wecom => {
            if let Some(text) = text {
                body["markdown"]["content"] = format!("**{title}**\n\n{text}").into();
            }
        }
        WebhookFormat::Feishu => {
            if let Some(text) = text {
                body["content"]["text"] = format!("{title}\n{text}").into();
            }
        }
        WebhookFormat::Telegram => {
            if let Some(text) = text {
                body["text"] = format!("<b>{title}</b>\n{text}").into();
                body["parse_mode"] = "HTML".into();
            }
        }
        WebhookFormat::Teams => {
            let card = &mut body["attachments"][0]["content"]["body"];
            card[0]["text"] = title.into();
            if let (Some(text), Some(blocks)) = (text, card.as_array_mut()) {
                blocks.truncate(1);
                blocks.push(json!({ "type": "TextBlock", "text": text, "wrap": true }));
            }
        }
        WebhookFormat::Pagerduty => {
            if body["event_action"] == "trigger" {
                body["payload"]["summary"] = title.chars().take(1024).collect::<String>().into();
            }
        }
        WebhookFormat::Opsgenie => {
            if body.get("alias").is_some() {
                body["message"] = title.chars().take(130).collect::<String>().into();
                if let Some(text) = text {
                    body["description"] = text.into();
                }
            }
        }
        WebhookFormat::Alertmanager => {}
    }
    body
}

/// Checks `channel`'s templates against the example notice; the error names the field and line.
pub fn check_channel(channel: &ChannelDef) -> Result<(), DefinitionError> {
    let example = AlertMessage::example(MessageKind::Firing, 0, |_| {
        Some("https://osprey.example.com/clusters/example/groups/example-group".into())
    });
    for (field, template) in
        [("title_template", &channel.title_template), ("body_template", &channel.body_template)]
    {
        if let Some(template) = template {
            check(template, &example)
                .map_err(|e| DefinitionError { field: field.into(), message: e.to_string() })?;
        }
    }
    Ok(())
}

/// Checks `source` compiles and renders the example notice; the error names the line.
pub fn check(source: &str, example: &AlertMessage) -> Result<(), TemplateError> {
    render(source, example, &|s| s.to_owned()).map(|_| ())
}

/// Renders `source` for `message`, texts escaped with `escape`.
pub fn render(
    source: &str,
    message: &AlertMessage,
    escape: &dyn Fn(&str) -> String,
) -> Result<String, TemplateError> {
    if source.len() > MAX_TEMPLATE {
        return Err(TemplateError(format!("a template is at most {MAX_TEMPLATE} bytes")));
    }
    let env = environment();
    let template = env.template_from_str(source).map_err(|e| TemplateError(describe(&e)))?;
    template.render(fields(message, escape)).map_err(|e| TemplateError(describe(&e)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerting::message::tests::lag_message;

    #[test]
    fn a_template_sees_the_notices_fields() {
        let message = lag_message(MessageKind::Firing);
        let text = render(
            "{{ severity|upper }} {{ rule }} on {{ cluster }}: {{ value }} > {{ threshold }}\n{% for a in alerts %}- {{ a.summary }}\n{% endfor %}",
            &message,
            &|s| s.to_owned(),
        )
        .unwrap();
        assert_eq!(
            text,
            "CRITICAL billing-lag on prod-kafka: 12,345 > 10,000\n- lag 12,345 > 10,000 — group billing on prod-kafka\n"
        );
    }

    #[test]
    fn a_bad_template_is_refused_with_its_line() {
        let message = lag_message(MessageKind::Firing);
        let broken = check("line one\n{% if firing %}\nno end", &message).unwrap_err();
        assert!(broken.0.starts_with("line "), "{broken}");
        let unknown = check("fine\n{{ no_such_field }}", &message).unwrap_err();
        assert!(unknown.0.starts_with("line 2:"), "{unknown}");
        let runaway = check(
            "{% for i in range(100000) %}{% for j in range(100) %}x{% endfor %}{% endfor %}",
            &message,
        );
        assert!(runaway.is_err(), "fuel stops it");
    }

    #[test]
    fn broker_names_are_escaped_the_operators_text_is_not() {
        let mut message = lag_message(MessageKind::Firing);
        message.subject.group = Some("<!channel>".into());
        let slack =
            render("*{{ group }}*", &message, &crate::alerting::message::escape_slack).unwrap();
        assert_eq!(slack, "*&lt;!channel&gt;*");
    }
}
