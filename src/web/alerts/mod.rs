//! Alerting in the browser and the API: Alerts (firing and history with every delivery
//! attempt), incident detail, Rules, Channels (with "send test") and Silences. Pages and API
//! call the same [`crate::alerting::admin`] functions.

use std::collections::BTreeMap;
use std::time::Duration;

use askama::Template;
use axum::extract::{OriginalUri, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use super::AppState;
use super::error::{ApiError, PageError, WebError};
use super::form::{ApiJson, FieldErrors, Fields, FormError, PageForm, PageQuery};
use super::format::Fmt;
use super::view::{Chrome, here, render, segment};
use crate::domain::metrics::Metric;

use super::access::Caller;
use super::i18n::{Lang, Messages};
use crate::alerting::admin::{self, AlertsOverview, IncidentView, SilenceRequest};
use crate::alerting::definition::{
    ChannelDef, ChannelKind, DefinitionError, RuleDef, RuleKind, Severity, SmtpTls, WebhookFormat,
    url_origin,
};
use crate::auth::{Action, Principal, Role};
use crate::clock::now_millis;
use crate::duration_text;
use crate::evaluator::PartitionStatus;
use crate::store::{Stored, StoredSilence};

mod api;
mod channels;
mod incidents;
mod rules;
mod silences;

use api::*;
use channels::*;
use incidents::*;
use rules::*;
use silences::*;

/// Incidents shown in the history.
const HISTORY: i64 = 50;

pub fn pages() -> Router<AppState> {
    Router::new()
        .route("/alerts", get(alerts_page))
        .route("/alerts/incidents/{id}", get(incident_page))
        .route("/alerts/deliveries/{id}/retry", post(retry_form))
        .route("/alerts/rules", get(rules_page).post(create_rule_form))
        .route("/alerts/rules/new", get(new_rule_page))
        .route("/alerts/rules/{name}/edit", get(edit_rule_page))
        .route("/alerts/rules/{name}", post(update_rule_form))
        .route("/alerts/rules/{name}/enable", post(enable_rule_form))
        .route("/alerts/rules/{name}/disable", post(disable_rule_form))
        .route("/alerts/rules/{name}/delete", post(delete_rule_form))
        .route("/alerts/channels", get(channels_page).post(create_channel_form))
        .route("/alerts/channels/new", get(new_channel_page))
        .route("/alerts/channels/{name}/edit", get(edit_channel_page))
        .route("/alerts/channels/{name}", post(update_channel_form))
        .route("/alerts/channels/{name}/test", post(test_channel_form))
        .route("/alerts/channels/{name}/delete", post(delete_channel_form))
        .route("/alerts/silences", get(silences_page).post(create_silence_form))
        .route("/alerts/silences/{id}/delete", post(end_silence_form))
        .route("/alerts/incidents/{id}/ack", post(ack_form))
        .route("/alerts/incidents/{id}/unack", post(unack_form))
}

pub fn api() -> Router<AppState> {
    Router::new()
        .route("/alerts", get(alerts_api))
        .route("/alerts/{id}", get(incident_api))
        .route("/alerts/{id}/ack", post(ack_api).delete(unack_api))
        .route("/alert-deliveries/{id}/retry", post(retry_api))
        .route("/alert-rules", get(rules_api).post(create_rule_api))
        .route("/alert-rules/{name}", get(rule_api).put(update_rule_api).delete(delete_rule_api))
        .route("/alert-channels", get(channels_api).post(create_channel_api))
        .route(
            "/alert-channels/{name}",
            get(channel_api).put(update_channel_api).delete(delete_channel_api),
        )
        .route("/alert-channels/{name}/test", post(test_channel_api))
        .route("/silences", get(silences_api).post(create_silence_api))
        .route("/silences/{id}", axum::routing::delete(end_silence_api))
}

// ---------------------------------------------------------------------------------------------
// Forms

fn invalid(field: &str, message: impl Into<String>) -> DefinitionError {
    DefinitionError { field: field.into(), message: message.into() }
}

fn rule_from_fields(f: &Fields) -> Result<RuleDef, DefinitionError> {
    let kind = RuleKind::parse(f.value("kind"))
        .ok_or_else(|| invalid("kind", format!("{:?} is not a rule kind", f.value("kind"))))?;
    let status = match f.opt("status") {
        Some(s) if kind == RuleKind::ConsumerStatus => Some(
            serde_json::from_value::<PartitionStatus>(serde_json::Value::String(s.clone()))
                .map_err(|_| invalid("status", format!("{s:?} is not a status")))?,
        ),
        _ => None,
    };
    Ok(RuleDef {
        name: f.value("name").to_owned(),
        kind,
        cluster: f.opt("cluster").unwrap_or_else(|| "*".into()),
        group: f.opt("group").filter(|_| kind.is_about_groups()),
        vhost: f.opt("vhost").filter(|_| kind.is_about_queues()),
        queue: f.opt("queue").filter(|_| kind.is_about_queues()),
        topic: f.opt("topic"),
        threshold: f.parse("threshold", "a number")?.filter(|_| kind.has_threshold()),
        status,
        metric: match f.opt("metric") {
            Some(code) if kind == RuleKind::BrokerMetric => Some(
                Metric::parse(&code)
                    .ok_or_else(|| invalid("metric", format!("{code:?} is not a metric")))?,
            ),
            _ => None,
        },
        below: kind == RuleKind::BrokerMetric && f.has("below", "on"),
        horizon: f.duration("horizon")?.filter(|_| kind == RuleKind::LagForecast),
        window: f.duration("window")?.filter(|_| kind.has_window()),
        hold: f.duration("for")?.unwrap_or_default(),
        for_polls: f.parse("for_polls", "a whole number")?.unwrap_or(0),
        repeat_interval: f.duration("repeat_interval")?,
        severity: Severity::parse(f.value("severity")).unwrap_or_default(),
        channels: f.all("channels"),
        enabled: f.has("enabled", "on"),
        labels: labels_from_text(f.value("labels"))?,
        group_by: f.opt("group_by").map(|text| {
            text.split(',').map(|l| l.trim().to_owned()).filter(|l| !l.is_empty()).collect()
        }),
        group_wait: f.duration("group_wait")?,
        group_interval: f.duration("group_interval")?,
    })
}

/// `team=billing, tier=1` as labels.
fn labels_from_text(text: &str) -> Result<BTreeMap<String, String>, DefinitionError> {
    text.split(',')
        .map(str::trim)
        .filter(|pair| !pair.is_empty())
        .map(|pair| match pair.split_once('=') {
            Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_owned(), v.trim().to_owned())),
            _ => Err(invalid("labels", format!("{pair:?} is not name=value"))),
        })
        .collect()
}

fn rule_fields(rule: &RuleDef) -> Fields {
    let mut f = Fields::default();
    f.push("name", &rule.name);
    f.push("kind", rule.kind.as_str());
    f.push("cluster", &rule.cluster);
    f.push("group", rule.group.clone().unwrap_or_default());
    f.push("topic", rule.topic.clone().unwrap_or_default());
    f.push("vhost", rule.vhost.clone().unwrap_or_default());
    f.push("queue", rule.queue.clone().unwrap_or_default());
    f.push("threshold", rule.threshold.map(|t| t.to_string()).unwrap_or_default());
    f.push("status", rule.status.map(|s| s.as_str().to_owned()).unwrap_or_default());
    f.push("metric", rule.metric.map(|m| m.as_str()).unwrap_or_default());
    if rule.below {
        f.push("below", "on");
    }
    if !rule.hold.is_zero() {
        f.push("for", duration_text::format(rule.hold));
    }
    if rule.for_polls > 0 {
        f.push("for_polls", rule.for_polls.to_string());
    }
    if let Some(repeat) = rule.repeat_interval {
        f.push("repeat_interval", duration_text::format(repeat));
    }
    f.push("severity", rule.severity.as_str());
    for channel in &rule.channels {
        f.push("channels", channel);
    }
    if rule.enabled {
        f.push("enabled", "on");
    }
    let labels: Vec<String> = rule.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
    f.push("labels", labels.join(", "));
    f.push("group_by", rule.group_by.as_ref().map(|by| by.join(", ")).unwrap_or_default());
    let timings = [
        ("horizon", rule.horizon),
        ("window", rule.window),
        ("group_wait", rule.group_wait),
        ("group_interval", rule.group_interval),
    ];
    for (name, value) in timings {
        f.push(name, value.map(duration_text::format).unwrap_or_default());
    }
    f
}

fn channel_from_fields(f: &Fields) -> Result<ChannelDef, DefinitionError> {
    let kind = match f.value("kind") {
        "email" => ChannelKind::Email,
        "webhook" => ChannelKind::Webhook,
        other => return Err(invalid("kind", format!("{other:?} is not email or webhook"))),
    };
    let email = kind == ChannelKind::Email;
    let tls = match f.value("tls") {
        "" => None,
        "tls" => Some(SmtpTls::Tls),
        "starttls" => Some(SmtpTls::Starttls),
        "none" => Some(SmtpTls::None),
        other => return Err(invalid("tls", format!("{other:?} is not tls, starttls or none"))),
    };
    let format = match f.value("format") {
        "" => None,
        code => Some(
            WebhookFormat::ALL
                .into_iter()
                .find(|w| w.as_str() == code)
                .ok_or_else(|| invalid("format", format!("{code:?} is not a webhook format")))?,
        ),
    };
    let mut headers = std::collections::BTreeMap::new();
    for line in f.value("headers").lines().map(str::trim).filter(|l| !l.is_empty()) {
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| invalid("headers", format!("{line:?} is not \"Name: value\"")))?;
        headers.insert(name.trim().to_owned(), value.trim().to_owned());
    }
    let only = |on: bool, name: &str| if on { f.opt(name) } else { None };
    Ok(ChannelDef {
        name: f.value("name").to_owned(),
        kind,
        smtp_host: only(email, "smtp_host"),
        smtp_port: if email { f.parse("smtp_port", "a port number")? } else { None },
        tls: tls.filter(|_| email),
        tls_ca_file: only(email, "tls_ca_file"),
        username: only(email, "username"),
        password: only(email, "password"),
        from: only(email, "from"),
        to: if email { f.all("to") } else { Vec::new() },
        url: only(!email, "url"),
        format: format.filter(|_| !email),
        headers: if email { Default::default() } else { headers },
        secret: only(!email, "secret"),
        timeout: f.duration("timeout")?,
        title_template: f.opt("title_template"),
        body_template: f.opt("body_template"),
    })
}

fn channel_fields(channel: &ChannelDef) -> Fields {
    let mut f = Fields::default();
    let shown = channel.redacted();
    f.push("name", &shown.name);
    f.push("kind", shown.kind.as_str());
    for (name, value) in [
        ("smtp_host", &shown.smtp_host),
        ("tls_ca_file", &shown.tls_ca_file),
        ("username", &shown.username),
        ("from", &shown.from),
        ("url", &shown.url),
    ] {
        f.push(name, value.clone().unwrap_or_default());
    }
    // Literal secrets are never sent back to the browser; `${NAME}` references are.
    for (name, value) in [("password", &shown.password), ("secret", &shown.secret)] {
        let value = value.clone().filter(|v| v != crate::secret::REDACTED);
        f.push(name, value.unwrap_or_default());
    }
    f.push("smtp_port", shown.smtp_port.map(|p| p.to_string()).unwrap_or_default());
    f.push("tls", shown.tls.map(|t| t.as_str()).unwrap_or_default());
    f.push("to", shown.to.join(", "));
    f.push("format", shown.format.map(|w| w.as_str()).unwrap_or_default());
    let headers: Vec<String> = shown.headers.iter().map(|(k, v)| format!("{k}: {v}")).collect();
    f.push("headers", headers.join("\n"));
    f.push("timeout", shown.timeout.map(duration_text::format).unwrap_or_default());
    f.push("title_template", shown.title_template.clone().unwrap_or_default());
    f.push("body_template", shown.body_template.clone().unwrap_or_default());
    f
}

/// `?done=<what>&name=<name>`: what the previous form did, shown once after its redirect.
#[derive(Debug, Default, Deserialize)]
pub struct Done {
    done: Option<String>,
    name: Option<String>,
}

impl Done {
    fn text(&self, t: &Messages) -> Option<String> {
        let template = match self.done.as_deref()? {
            "saved" => t.alert_done_saved,
            "deleted" => t.alert_done_deleted,
            "enabled" => t.alert_done_enabled,
            "disabled" => t.alert_done_disabled,
            "silenced" => t.alert_done_silenced,
            "unsilenced" => t.alert_done_unsilenced,
            "retried" => t.alert_done_retried,
            "acknowledged" => t.alert_done_acknowledged,
            "unacknowledged" => t.alert_done_unacknowledged,
            _ => return None,
        };
        Some(Messages::fill(template, &[("name", self.name.as_deref().unwrap_or_default())]))
    }
}

fn done(path: &str, what: &str, name: &str) -> Response {
    Redirect::to(&format!("{path}?done={what}&name={}", segment(name))).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(pairs: &[(&str, &str)]) -> Fields {
        Fields(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect())
    }

    #[test]
    fn a_rule_survives_the_form_round_trip() {
        let rule: RuleDef = toml::from_str(
            r#"name = "billing-lag"
            kind = "consumer_lag"
            cluster = "prod"
            group = "billing"
            threshold = 10000
            for = "2m"
            repeat_interval = "1h"
            severity = "critical"
            channels = ["oncall", "chat"]"#,
        )
        .unwrap();
        assert_eq!(rule_from_fields(&rule_fields(&rule)).unwrap(), rule);
    }

    #[test]
    fn form_mistakes_name_the_field() {
        let f = fields(&[("name", "r"), ("kind", "consumer_lag"), ("threshold", "lots")]);
        assert_eq!(rule_from_fields(&f).unwrap_err().field, "threshold");
        let f = fields(&[("name", "r"), ("kind", "consumer_lag"), ("for", "soon")]);
        assert_eq!(rule_from_fields(&f).unwrap_err().field, "for");
        let f = fields(&[("name", "c"), ("kind", "webhook"), ("headers", "no colon")]);
        assert_eq!(channel_from_fields(&f).unwrap_err().field, "headers");
    }

    #[test]
    fn a_channel_survives_the_form_round_trip_without_its_secret() {
        let channel: ChannelDef = toml::from_str(
            r#"name = "hook"
            kind = "webhook"
            url = "https://example.com/hook?token=x"
            format = "dingtalk"
            secret = "s3cret"
            headers = { "X-Team" = "data" }
            timeout = "5s""#,
        )
        .unwrap();
        let form = channel_fields(&channel);
        assert_eq!(form.value("secret"), "", "a literal secret is not sent to the browser");
        let mut back = channel_from_fields(&form).unwrap();
        back.keep_secrets_from(&channel);
        assert_eq!(back, channel);
    }
}
