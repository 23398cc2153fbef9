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
    AlertLine, AlertMessage, MessageKind, escape_feishu, escape_html, escape_markdown, escape_slack,
};

/// Steps a template may take: a loop over a storm's 2,000 alerts fits, a runaway one stops.
const FUEL: u64 = 2_000_000;
/// Longest template accepted.
pub const MAX_TEMPLATE: usize = 16 * 1024;
/// Longest text a template may make.
pub const MAX_OUTPUT: usize = 64 * 1024;
/// Statements a notice template has no use for, and that would let it build values without
/// bound (a `set` that doubles a string is a few steps of fuel each).
const REFUSED_STATEMENTS: [&str; 9] =
    ["set", "macro", "call", "filter", "with", "include", "import", "extends", "from"];

/// Why a template cannot be used.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct TemplateError(pub String);

/// Only what a notice needs: no functions (`range`, `namespace`), no filters that build text
/// from a number (`replace`, `indent`, `format`), strict about unknown fields, fuel-limited.
fn environment() -> Environment<'static> {
    use minijinja::{filters as f, tests as t};
    let mut env = Environment::empty();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_fuel(Some(FUEL));
    env.add_filter("escape", f::escape);
    env.add_filter("e", f::escape);
    env.add_filter("upper", f::upper);
    env.add_filter("lower", f::lower);
    env.add_filter("title", f::title);
    env.add_filter("capitalize", f::capitalize);
    env.add_filter("trim", f::trim);
    env.add_filter("length", f::length);
    env.add_filter("count", f::length);
    env.add_filter("default", f::default);
    env.add_filter("d", f::default);
    env.add_filter("first", f::first);
    env.add_filter("last", f::last);
    env.add_filter("join", f::join);
    env.add_filter("round", f::round);
    env.add_filter("int", f::int);
    env.add_filter("float", f::float);
    env.add_filter("abs", f::abs);
    env.add_filter("string", f::string);
    env.add_filter("selectattr", f::selectattr);
    env.add_filter("rejectattr", f::rejectattr);
    env.add_test("defined", t::is_defined);
    env.add_test("undefined", t::is_undefined);
    env.add_test("none", t::is_none);
    env.add_test("string", t::is_string);
    env.add_test("number", t::is_number);
    env.add_test("eq", t::is_eq);
    env.add_test("ne", t::is_ne);
    env.add_test("in", t::is_in);
    env.add_test("startingwith", t::is_startingwith);
    env.add_test("endingwith", t::is_endingwith);
    env
}

/// Refuses what the environment cannot bound: statements that bind values, and the operators
/// that repeat or join values (`*`, `+`, `~`), outside string literals.
fn refuse_unbounded(source: &str) -> Result<(), TemplateError> {
    let mut rest = source;
    let mut line = 1;
    while let Some(start) = rest.find('{') {
        line += rest[..start].matches('\n').count();
        let tag = &rest[start..];
        let close = if tag.starts_with("{{") {
            "}}"
        } else if tag.starts_with("{%") {
            "%}"
        } else {
            rest = &rest[start + 1..];
            continue;
        };
        let end = tag[2..].find(close).map_or(tag.len(), |e| e + 2);
        let inside = &tag[2..end];
        if close == "%}" {
            let word = inside.trim_start_matches(['-', '+']).split_whitespace().next();
            if let Some(word) = word.filter(|w| REFUSED_STATEMENTS.contains(w)) {
                return Err(TemplateError(format!(
                    "line {line}: `{word}` is not allowed in a notice template"
                )));
            }
        }
        let mut quote = None;
        for ch in inside.trim_matches(['-', '+']).chars() {
            match (quote, ch) {
                (Some(q), c) if c == q => quote = None,
                (Some(_), _) => {}
                (None, '"' | '\'') => quote = Some(ch),
                (None, '*' | '+' | '~') => {
                    return Err(TemplateError(format!(
                        "line {line}: `{ch}` is not allowed in a notice template (no arithmetic or joining)"
                    )));
                }
                _ => {}
            }
        }
        line += tag[..end].matches('\n').count();
        rest = &tag[end..];
    }
    Ok(())
}

/// An `io::Write` that refuses to grow past [`MAX_OUTPUT`].
struct Bounded(Vec<u8>);

impl std::io::Write for Bounded {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        if self.0.len() + data.len() > MAX_OUTPUT {
            return Err(std::io::Error::other("the template makes more than 64 KiB of text"));
        }
        self.0.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
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
        Some(WebhookFormat::Feishu) => escape_feishu(text),
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
    let title = custom.title.clone().unwrap_or_else(|| escaper(Some(format))(&message.title()));
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
    refuse_unbounded(source)?;
    let env = environment();
    let template = env.template_from_str(source).map_err(|e| TemplateError(describe(&e)))?;
    let mut out = Bounded(Vec::new());
    template
        .render_captured_to(fields(message, escape), &mut out)
        .map_err(|e| TemplateError(describe(&e)))?;
    String::from_utf8(out.0).map_err(|e| TemplateError(e.to_string()))
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
        let runaway = check("{% for i in range(100000) %}x{% endfor %}", &message);
        assert!(runaway.is_err(), "no range: nothing to loop over but the notice");
    }

    #[test]
    fn what_could_grow_without_bound_is_refused_with_its_line() {
        let message = lag_message(MessageKind::Firing);
        for bomb in [
            "{% set s = 'x' %}{% set s = s ~ s %}{{ s }}",
            "{{ 'x' * 100000000 }}",
            "ok\n{{ ('x' ~ 'y') }}",
            "{{ rule + rule }}",
            "{{ 'x'|replace('x', 'xxxxxxxxxx') }}",
            "{{ range(1000000000)|join }}",
            "{% macro m() %}{% endmacro %}",
        ] {
            assert!(check(bomb, &message).is_err(), "{bomb}");
        }
        assert!(check("ok\n{{ ('x' ~ 'y') }}", &message).unwrap_err().0.starts_with("line 2:"));
        let literal = "{{ '*' }} {{ \"a+b\" }} 5 * 3 ~ {{ rule }}";
        assert_eq!(
            render(literal, &message, &|s| s.to_owned()).unwrap(),
            "* a+b 5 * 3 ~ billing-lag"
        );
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
