//! Alerting in the browser and the API: Alerts (firing and history with every delivery
//! attempt), incident detail, Rules, Channels (with "send test") and Silences. Pages and API
//! call the same [`crate::alerting::admin`] functions.

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
use super::form::{ApiJson, Fields, PageForm, PageQuery};
use super::format::Fmt;
use super::view::{Chrome, here, render, segment};
use crate::domain::metrics::Metric;

use super::access::Caller;
use super::i18n::{Lang, Messages};
use crate::alerting::admin::{self, AlertsOverview, IncidentView, SilenceRequest};
use crate::alerting::definition::{
    ChannelDef, ChannelKind, DefinitionError, RuleDef, RuleKind, Severity, SmtpTls, WebhookFormat,
};
use crate::auth::{Action, Principal, Role};
use crate::clock::now_millis;
use crate::duration_text;
use crate::evaluator::PartitionStatus;
use crate::store::{Stored, StoredSilence};

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
}

pub fn api() -> Router<AppState> {
    Router::new()
        .route("/alerts", get(alerts_api))
        .route("/alerts/{id}", get(incident_api))
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
        hold: f.duration("for")?.unwrap_or_default(),
        for_polls: f.parse("for_polls", "a whole number")?.unwrap_or(0),
        repeat_interval: f.duration("repeat_interval")?,
        severity: Severity::parse(f.value("severity")).unwrap_or_default(),
        channels: f.all("channels"),
        enabled: f.has("enabled", "on"),
    })
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
            _ => return None,
        };
        Some(Messages::fill(template, &[("name", self.name.as_deref().unwrap_or_default())]))
    }
}

fn done(path: &str, what: &str, name: &str) -> Response {
    Redirect::to(&format!("{path}?done={what}&name={}", segment(name))).into_response()
}

// ---------------------------------------------------------------------------------------------
// Alerts and incidents

#[derive(Template)]
#[template(path = "alerts.html")]
pub struct AlertsPage {
    t: &'static Messages,
    f: Fmt,
    chrome: Chrome,
    o: AlertsOverview,
    flash: Option<String>,
}

impl AlertsPage {
    pub fn delivery_summary(&self, v: &IncidentView) -> String {
        delivery_summary(self.t, v)
    }
}

fn delivery_summary(t: &Messages, v: &IncidentView) -> String {
    use crate::store::DeliveryStatus::*;
    let count = |s| v.deliveries.iter().filter(|d| d.delivery.status == s).count().to_string();
    Messages::fill(
        t.alert_delivery_summary,
        &[("sent", &count(Sent)), ("pending", &count(Pending)), ("failed", &count(Failed))],
    )
}

async fn alerts_page(
    State(state): State<AppState>,
    lang: Lang,
    uri: OriginalUri,
    caller: Caller,
    PageQuery(d): PageQuery<Done>,
) -> Result<Response, PageError> {
    let o = admin::overview(&state.store, &state.clusters.all(), HISTORY).await?;
    Ok(render(&AlertsPage {
        t: lang.messages(),
        f: Fmt::new(lang, now_millis()),
        chrome: Chrome::new(lang, here(&uri), None, &caller.who),
        flash: d.text(lang.messages()),
        o,
    }))
}

#[derive(Template)]
#[template(path = "alert_incident.html")]
pub struct IncidentPage {
    t: &'static Messages,
    f: Fmt,
    chrome: Chrome,
    v: IncidentView,
    facts: Vec<(&'static str, String)>,
    flash: Option<String>,
}

async fn incident_page(
    State(state): State<AppState>,
    lang: Lang,
    uri: OriginalUri,
    caller: Caller,
    Path(id): Path<String>,
    PageQuery(d): PageQuery<Done>,
) -> Result<Response, PageError> {
    let v = admin::incident(&state.store, &id).await?;
    Ok(render(&IncidentPage {
        t: lang.messages(),
        f: Fmt::new(lang, now_millis()),
        chrome: Chrome::new(lang, here(&uri), None, &caller.who),
        facts: v.incident.message.facts(),
        flash: d.text(lang.messages()),
        v,
    }))
}

async fn retry_form(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    PageForm(f): PageForm<Fields>,
) -> Result<Response, PageError> {
    let what = Action { action: "alert_delivery.retry", cluster: None, object: Some(&id) };
    let retried = caller
        .act(&state, Role::Operator, what, async {
            admin::retry_delivery(&state.alerting, &id, now_millis()).await
        })
        .await?;
    retried?;
    let incident = f.value("incident");
    Ok(done(&format!("/alerts/incidents/{}", segment(incident)), "retried", &id))
}

// ---------------------------------------------------------------------------------------------
// Rules

#[derive(Template)]
#[template(path = "alert_rules.html")]
pub struct RulesPage {
    t: &'static Messages,
    f: Fmt,
    chrome: Chrome,
    rules: Vec<Stored<RuleDef>>,
    flash: Option<String>,
}

impl RulesPage {
    pub fn condition(&self, rule: &RuleDef) -> String {
        describe_condition(rule)
    }

    pub fn timing(&self, rule: &RuleDef) -> String {
        let mut parts = Vec::new();
        if !rule.hold.is_zero() {
            parts.push(format!("for {}", duration_text::format(rule.hold)));
        }
        if rule.for_polls > 1 {
            parts.push(format!("{} polls", rule.for_polls));
        }
        if let Some(repeat) = rule.repeat_interval {
            parts.push(format!("every {}", duration_text::format(repeat)));
        }
        if parts.is_empty() { "–".into() } else { parts.join(", ") }
    }
}

/// `lag > 10,000 · cluster prod · group billing`
fn describe_condition(rule: &RuleDef) -> String {
    let threshold = crate::alerting::message::group_digits(rule.threshold_or_default());
    let mut parts = vec![match rule.kind {
        RuleKind::ConsumerLag => format!("lag > {threshold}"),
        RuleKind::ConsumerLagSeconds => format!("lag > {threshold} s"),
        RuleKind::ConsumerStatus => {
            format!("status ≥ {}", rule.status.map_or("?", PartitionStatus::as_str))
        }
        RuleKind::ClusterDown => "cluster unreachable".into(),
        RuleKind::BrokerDown => "broker gone".into(),
        RuleKind::UnderReplicated => format!("under-replicated > {threshold}"),
        RuleKind::OfflinePartitions => format!("offline partitions > {threshold}"),
        RuleKind::QueueBacklog => format!("queue backlog > {threshold}"),
        RuleKind::QueueBacklogGrowing => "queue backlog growing".into(),
        RuleKind::QueueNoConsumers => "queue with messages and no consumer".into(),
        RuleKind::NodeAlarm => "node down or in alarm".into(),
        RuleKind::BrokerMetric => format!(
            "{} {} {threshold}",
            rule.metric.map_or("?", |m| m.as_str()),
            if rule.below { "<" } else { ">" }
        ),
    }];
    parts.push(format!("cluster {}", rule.cluster));
    if let Some(group) = &rule.group {
        parts.push(format!("group {group}"));
    }
    if let Some(topic) = &rule.topic {
        parts.push(format!("topic {topic}"));
    }
    if let Some(vhost) = &rule.vhost {
        parts.push(format!("vhost {vhost}"));
    }
    if let Some(queue) = &rule.queue {
        parts.push(format!("queue {queue}"));
    }
    parts.join(" · ")
}

async fn rules_page(
    State(state): State<AppState>,
    lang: Lang,
    uri: OriginalUri,
    caller: Caller,
    PageQuery(d): PageQuery<Done>,
) -> Result<Response, PageError> {
    let rules = state.store.alert_rules().await.map_err(|e| PageError::from(WebError::from(e)))?;
    Ok(render(&RulesPage {
        t: lang.messages(),
        f: Fmt::new(lang, now_millis()),
        chrome: Chrome::new(lang, here(&uri), None, &caller.who),
        rules,
        flash: d.text(lang.messages()),
    }))
}

#[derive(Template)]
#[template(path = "alert_rule_form.html")]
pub struct RuleFormPage {
    t: &'static Messages,
    chrome: Chrome,
    /// The rule being edited; `None` for a new one.
    editing: Option<String>,
    form: Fields,
    channels: Vec<String>,
    error: Option<String>,
}

impl RuleFormPage {
    pub fn metrics(&self) -> [Metric; 21] {
        Metric::ALL
    }

    pub fn kinds(&self) -> Vec<&'static str> {
        RuleKind::ALL.iter().map(|k| k.as_str()).collect()
    }

    pub fn severities(&self) -> Vec<&'static str> {
        Severity::ALL.iter().map(|s| s.as_str()).collect()
    }

    pub fn action(&self) -> String {
        match &self.editing {
            Some(name) => format!("/alerts/rules/{}", segment(name)),
            None => "/alerts/rules".into(),
        }
    }
}

async fn rule_form(
    state: &AppState,
    lang: Lang,
    uri: &OriginalUri,
    who: &Principal,
    editing: Option<String>,
    form: Fields,
    error: Option<String>,
) -> Result<Response, PageError> {
    let channels =
        state.store.alert_channels().await.map_err(|e| PageError::from(WebError::from(e)))?;
    let status = if error.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    let page = RuleFormPage {
        t: lang.messages(),
        chrome: Chrome::new(lang, here(uri), None, who),
        editing,
        form,
        channels: channels.into_iter().map(|c| c.definition.name).collect(),
        error,
    };
    Ok((status, render(&page)).into_response())
}

async fn new_rule_page(
    State(state): State<AppState>,
    lang: Lang,
    uri: OriginalUri,
    caller: Caller,
) -> Result<Response, PageError> {
    let what = Action { action: "alert_rule.save", cluster: None, object: None };
    caller.require(&state, Role::Admin, what).await?;
    let mut form = Fields::default();
    form.push("enabled", "on");
    form.push("cluster", "*");
    form.push("severity", Severity::default().as_str());
    rule_form(&state, lang, &uri, &caller.who, None, form, None).await
}

async fn edit_rule_page(
    State(state): State<AppState>,
    lang: Lang,
    uri: OriginalUri,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<Response, PageError> {
    let what = Action { action: "alert_rule.save", cluster: None, object: Some(&name) };
    caller.require(&state, Role::Admin, what).await?;
    let rule = admin::rule(&state.store, &name).await?;
    rule_form(&state, lang, &uri, &caller.who, Some(name), rule_fields(&rule.definition), None)
        .await
}

async fn save_rule_form(
    state: AppState,
    lang: Lang,
    uri: OriginalUri,
    caller: Caller,
    editing: Option<String>,
    f: Fields,
) -> Result<Response, PageError> {
    let name = f.value("name").to_owned();
    let what = Action { action: "alert_rule.save", cluster: None, object: Some(&name) };
    let saved = caller
        .act(&state, Role::Admin, what, async {
            match rule_from_fields(&f) {
                Ok(rule) => {
                    admin::save_rule(&state.store, rule, editing.as_deref(), now_millis()).await
                }
                Err(e) => Err(e.into()),
            }
        })
        .await?;
    match saved {
        Ok(()) => Ok(done("/alerts/rules", "saved", f.value("name"))),
        Err(e @ (admin::AdminError::Invalid(_) | admin::AdminError::Exists { .. })) => {
            rule_form(&state, lang, &uri, &caller.who, editing, f, Some(e.to_string())).await
        }
        Err(e) => Err(PageError::from(e)),
    }
}

async fn create_rule_form(
    State(state): State<AppState>,
    lang: Lang,
    uri: OriginalUri,
    caller: Caller,
    PageForm(f): PageForm<Fields>,
) -> Result<Response, PageError> {
    save_rule_form(state, lang, uri, caller, None, f).await
}

async fn update_rule_form(
    State(state): State<AppState>,
    lang: Lang,
    uri: OriginalUri,
    caller: Caller,
    Path(name): Path<String>,
    PageForm(f): PageForm<Fields>,
) -> Result<Response, PageError> {
    save_rule_form(state, lang, uri, caller, Some(name), f).await
}

async fn switch_rule(
    state: &AppState,
    caller: &Caller,
    name: &str,
    enabled: bool,
) -> Result<Response, PageError> {
    let action = if enabled { "alert_rule.enable" } else { "alert_rule.disable" };
    let what = Action { action, cluster: None, object: Some(name) };
    let switched = caller
        .act(state, Role::Admin, what, async {
            admin::set_rule_enabled(&state.store, name, enabled, now_millis()).await
        })
        .await?;
    switched?;
    Ok(done("/alerts/rules", if enabled { "enabled" } else { "disabled" }, name))
}

async fn enable_rule_form(
    State(state): State<AppState>,
    _lang: Lang,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<Response, PageError> {
    switch_rule(&state, &caller, &name, true).await
}

async fn disable_rule_form(
    State(state): State<AppState>,
    _lang: Lang,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<Response, PageError> {
    switch_rule(&state, &caller, &name, false).await
}

async fn delete_rule_form(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<Response, PageError> {
    let what = Action { action: "alert_rule.delete", cluster: None, object: Some(&name) };
    let deleted = caller
        .act(&state, Role::Admin, what, async { admin::delete_rule(&state.store, &name).await })
        .await?;
    deleted?;
    Ok(done("/alerts/rules", "deleted", &name))
}

// ---------------------------------------------------------------------------------------------
// Channels

/// The outcome of "send test", shown above the channel list.
pub struct TestOutcome {
    pub channel: String,
    pub error: Option<String>,
}

#[derive(Template)]
#[template(path = "alert_channels.html")]
pub struct ChannelsPage {
    t: &'static Messages,
    f: Fmt,
    chrome: Chrome,
    channels: Vec<Stored<ChannelDef>>,
    flash: Option<String>,
    tested: Option<TestOutcome>,
}

impl ChannelsPage {
    pub fn target(&self, c: &ChannelDef) -> String {
        match c.kind {
            ChannelKind::Email => format!(
                "{} → {} ({}:{}, {})",
                c.from.as_deref().unwrap_or_default(),
                c.to.join(", "),
                c.smtp_host.as_deref().unwrap_or_default(),
                c.smtp_port(),
                c.tls().as_str()
            ),
            ChannelKind::Webhook => format!(
                "{} ({})",
                c.url.as_deref().map(shown_url).unwrap_or_default(),
                c.format.unwrap_or_default().as_str()
            ),
        }
    }
}

/// A webhook URL without its query, where chat platforms put their tokens.
fn shown_url(url: &str) -> String {
    url.split('?').next().unwrap_or(url).to_owned()
}

async fn channels_view(
    state: &AppState,
    lang: Lang,
    uri: &OriginalUri,
    who: &Principal,
    flash: Option<String>,
    tested: Option<TestOutcome>,
) -> Result<Response, PageError> {
    let channels =
        state.store.alert_channels().await.map_err(|e| PageError::from(WebError::from(e)))?;
    let channels =
        channels.into_iter().map(|c| Stored { definition: c.definition.redacted(), ..c }).collect();
    Ok(render(&ChannelsPage {
        t: lang.messages(),
        f: Fmt::new(lang, now_millis()),
        chrome: Chrome::new(lang, here(uri), None, who),
        channels,
        flash,
        tested,
    }))
}

async fn channels_page(
    State(state): State<AppState>,
    lang: Lang,
    uri: OriginalUri,
    caller: Caller,
    PageQuery(d): PageQuery<Done>,
) -> Result<Response, PageError> {
    channels_view(&state, lang, &uri, &caller.who, d.text(lang.messages()), None).await
}

#[derive(Template)]
#[template(path = "alert_channel_form.html")]
pub struct ChannelFormPage {
    t: &'static Messages,
    chrome: Chrome,
    editing: Option<String>,
    form: Fields,
    error: Option<String>,
}

impl ChannelFormPage {
    pub fn formats(&self) -> Vec<&'static str> {
        WebhookFormat::ALL.iter().map(|w| w.as_str()).collect()
    }

    pub fn action(&self) -> String {
        match &self.editing {
            Some(name) => format!("/alerts/channels/{}", segment(name)),
            None => "/alerts/channels".into(),
        }
    }
}

fn channel_form(
    lang: Lang,
    uri: &OriginalUri,
    who: &Principal,
    editing: Option<String>,
    form: Fields,
    error: Option<String>,
) -> Response {
    let status = if error.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    let page = ChannelFormPage {
        t: lang.messages(),
        chrome: Chrome::new(lang, here(uri), None, who),
        editing,
        form,
        error,
    };
    (status, render(&page)).into_response()
}

async fn new_channel_page(
    State(state): State<AppState>,
    lang: Lang,
    uri: OriginalUri,
    caller: Caller,
) -> Result<Response, PageError> {
    let what = Action { action: "alert_channel.save", cluster: None, object: None };
    caller.require(&state, Role::Admin, what).await?;
    let mut form = Fields::default();
    form.push("kind", "email");
    form.push("tls", "starttls");
    Ok(channel_form(lang, &uri, &caller.who, None, form, None))
}

async fn edit_channel_page(
    State(state): State<AppState>,
    lang: Lang,
    uri: OriginalUri,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<Response, PageError> {
    let what = Action { action: "alert_channel.save", cluster: None, object: Some(&name) };
    caller.require(&state, Role::Admin, what).await?;
    let channel = admin::channel(&state.store, &name).await?;
    Ok(channel_form(lang, &uri, &caller.who, Some(name), channel_fields(&channel.definition), None))
}

async fn save_channel_form(
    state: AppState,
    lang: Lang,
    uri: OriginalUri,
    caller: Caller,
    editing: Option<String>,
    f: Fields,
) -> Result<Response, PageError> {
    let name = f.value("name").to_owned();
    let what = Action { action: "alert_channel.save", cluster: None, object: Some(&name) };
    let saved = caller
        .act(&state, Role::Admin, what, async {
            match channel_from_fields(&f) {
                Ok(channel) => {
                    admin::save_channel(&state.store, channel, editing.as_deref(), now_millis())
                        .await
                }
                Err(e) => Err(e.into()),
            }
        })
        .await?;
    match saved {
        Ok(()) => Ok(done("/alerts/channels", "saved", f.value("name"))),
        Err(e @ (admin::AdminError::Invalid(_) | admin::AdminError::Exists { .. })) => {
            Ok(channel_form(lang, &uri, &caller.who, editing, f, Some(e.to_string())))
        }
        Err(e) => Err(PageError::from(e)),
    }
}

async fn create_channel_form(
    State(state): State<AppState>,
    lang: Lang,
    uri: OriginalUri,
    caller: Caller,
    PageForm(f): PageForm<Fields>,
) -> Result<Response, PageError> {
    save_channel_form(state, lang, uri, caller, None, f).await
}

async fn update_channel_form(
    State(state): State<AppState>,
    lang: Lang,
    uri: OriginalUri,
    caller: Caller,
    Path(name): Path<String>,
    PageForm(f): PageForm<Fields>,
) -> Result<Response, PageError> {
    save_channel_form(state, lang, uri, caller, Some(name), f).await
}

async fn test_channel_form(
    State(state): State<AppState>,
    lang: Lang,
    uri: OriginalUri,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<Response, PageError> {
    let what = Action { action: "alert_channel.test", cluster: None, object: Some(&name) };
    let outcome = caller
        .act(&state, Role::Operator, what, async {
            admin::test_channel(&state.alerting, &name).await.unwrap_or_else(|e| Err(e.to_string()))
        })
        .await?;
    let tested = TestOutcome { channel: name, error: outcome.err() };
    channels_view(&state, lang, &uri, &caller.who, None, Some(tested)).await
}

async fn delete_channel_form(
    State(state): State<AppState>,
    lang: Lang,
    uri: OriginalUri,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<Response, PageError> {
    let what = Action { action: "alert_channel.delete", cluster: None, object: Some(&name) };
    let deleted = caller
        .act(&state, Role::Admin, what, async { admin::delete_channel(&state.store, &name).await })
        .await?;
    match deleted {
        Ok(()) => Ok(done("/alerts/channels", "deleted", &name)),
        Err(e @ admin::AdminError::Invalid(_)) => {
            channels_view(&state, lang, &uri, &caller.who, Some(e.to_string()), None).await
        }
        Err(e) => Err(PageError::from(e)),
    }
}

// ---------------------------------------------------------------------------------------------
// Silences

#[derive(Template)]
#[template(path = "alert_silences.html")]
pub struct SilencesPage {
    t: &'static Messages,
    f: Fmt,
    chrome: Chrome,
    silences: Vec<StoredSilence>,
    rules: Vec<String>,
    form: Fields,
    flash: Option<String>,
    error: Option<String>,
}

async fn silences_view(
    state: &AppState,
    lang: Lang,
    uri: &OriginalUri,
    who: &Principal,
    form: Fields,
    flash: Option<String>,
    error: Option<String>,
) -> Result<Response, PageError> {
    let now = now_millis();
    let store_error = |e| PageError::from(WebError::from(e));
    let silences = state.store.active_silences(now).await.map_err(store_error)?;
    let rules = state.store.alert_rules().await.map_err(store_error)?;
    let status = if error.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    let page = SilencesPage {
        t: lang.messages(),
        f: Fmt::new(lang, now),
        chrome: Chrome::new(lang, here(uri), None, who),
        silences,
        rules: rules.into_iter().map(|r| r.definition.name).collect(),
        form,
        flash,
        error,
    };
    Ok((status, render(&page)).into_response())
}

/// `?rule=&subject=` prefill the form (the incident page links here).
async fn silences_page(
    State(state): State<AppState>,
    lang: Lang,
    uri: OriginalUri,
    caller: Caller,
    PageQuery(d): PageQuery<Done>,
    PageQuery(prefill): PageQuery<Fields>,
) -> Result<Response, PageError> {
    let mut form = Fields::default();
    form.push("rule", prefill.value("rule"));
    form.push("subject", prefill.value("subject"));
    form.push("duration", "1h");
    silences_view(&state, lang, &uri, &caller.who, form, d.text(lang.messages()), None).await
}

fn silence_from_fields(f: &Fields) -> Result<SilenceRequest, DefinitionError> {
    Ok(SilenceRequest {
        rule: f.value("rule").to_owned(),
        subject: f.opt("subject"),
        duration: f.duration("duration")?.ok_or_else(|| invalid("duration", "how long?"))?,
        note: f.value("note").to_owned(),
    })
}

async fn create_silence_form(
    State(state): State<AppState>,
    lang: Lang,
    uri: OriginalUri,
    caller: Caller,
    PageForm(f): PageForm<Fields>,
) -> Result<Response, PageError> {
    let rule = f.value("rule").to_owned();
    let what = Action { action: "silence.add", cluster: None, object: Some(&rule) };
    let added = caller
        .act(&state, Role::Operator, what, async {
            match silence_from_fields(&f) {
                Ok(request) => admin::add_silence(&state.store, request, now_millis()).await,
                Err(e) => Err(e.into()),
            }
        })
        .await?;
    match added {
        Ok(silence) => Ok(done("/alerts/silences", "silenced", &silence.rule)),
        Err(e @ (admin::AdminError::Invalid(_) | admin::AdminError::NotFound { .. })) => {
            silences_view(&state, lang, &uri, &caller.who, f, None, Some(e.to_string())).await
        }
        Err(e) => Err(PageError::from(e)),
    }
}

async fn end_silence_form(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let what = Action { action: "silence.end", cluster: None, object: Some(&id) };
    let ended = caller
        .act(&state, Role::Operator, what, async { admin::end_silence(&state.store, &id).await })
        .await?;
    ended?;
    Ok(done("/alerts/silences", "unsilenced", &id))
}

// ---------------------------------------------------------------------------------------------
// JSON API

async fn alerts_api(State(state): State<AppState>) -> Result<Json<AlertsOverview>, ApiError> {
    Ok(Json(
        admin::overview(&state.store, &state.clusters.all(), HISTORY)
            .await
            .map_err(WebError::from)?,
    ))
}

async fn incident_api(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<IncidentView>, ApiError> {
    Ok(Json(admin::incident(&state.store, &id).await?))
}

async fn retry_api(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let what = Action { action: "alert_delivery.retry", cluster: None, object: Some(&id) };
    let retried = caller
        .act(&state, Role::Operator, what, async {
            admin::retry_delivery(&state.alerting, &id, now_millis()).await
        })
        .await?;
    retried?;
    Ok(StatusCode::ACCEPTED)
}

async fn rules_api(State(state): State<AppState>) -> Result<Json<Vec<Stored<RuleDef>>>, ApiError> {
    Ok(Json(state.store.alert_rules().await.map_err(WebError::from)?))
}

async fn rule_api(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<Stored<RuleDef>>, ApiError> {
    Ok(Json(admin::rule(&state.store, &name).await?))
}

async fn create_rule_api(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<RuleDef>,
) -> Result<(StatusCode, Json<Stored<RuleDef>>), ApiError> {
    let rule = body;
    let name = rule.name.clone();
    let what = Action { action: "alert_rule.save", cluster: None, object: Some(&name) };
    let saved = caller
        .act(&state, Role::Admin, what, async {
            admin::save_rule(&state.store, rule, None, now_millis()).await
        })
        .await?;
    saved?;
    Ok((StatusCode::CREATED, Json(admin::rule(&state.store, &name).await?)))
}

async fn update_rule_api(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    ApiJson(body): ApiJson<RuleDef>,
) -> Result<Json<Stored<RuleDef>>, ApiError> {
    let what = Action { action: "alert_rule.save", cluster: None, object: Some(&name) };
    let saved = caller
        .act(&state, Role::Admin, what, async {
            admin::save_rule(&state.store, body, Some(&name), now_millis()).await
        })
        .await?;
    saved?;
    Ok(Json(admin::rule(&state.store, &name).await?))
}

async fn delete_rule_api(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    let what = Action { action: "alert_rule.delete", cluster: None, object: Some(&name) };
    let deleted = caller
        .act(&state, Role::Admin, what, async { admin::delete_rule(&state.store, &name).await })
        .await?;
    deleted?;
    Ok(StatusCode::NO_CONTENT)
}

fn redacted(c: Stored<ChannelDef>) -> Stored<ChannelDef> {
    Stored { definition: c.definition.redacted(), ..c }
}

async fn channels_api(
    State(state): State<AppState>,
) -> Result<Json<Vec<Stored<ChannelDef>>>, ApiError> {
    let channels = state.store.alert_channels().await.map_err(WebError::from)?;
    Ok(Json(channels.into_iter().map(redacted).collect()))
}

async fn channel_api(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<Stored<ChannelDef>>, ApiError> {
    Ok(Json(redacted(admin::channel(&state.store, &name).await?)))
}

async fn create_channel_api(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<ChannelDef>,
) -> Result<(StatusCode, Json<Stored<ChannelDef>>), ApiError> {
    let channel = body;
    let name = channel.name.clone();
    let what = Action { action: "alert_channel.save", cluster: None, object: Some(&name) };
    let saved = caller
        .act(&state, Role::Admin, what, async {
            admin::save_channel(&state.store, channel, None, now_millis()).await
        })
        .await?;
    saved?;
    Ok((StatusCode::CREATED, Json(redacted(admin::channel(&state.store, &name).await?))))
}

async fn update_channel_api(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    ApiJson(body): ApiJson<ChannelDef>,
) -> Result<Json<Stored<ChannelDef>>, ApiError> {
    let what = Action { action: "alert_channel.save", cluster: None, object: Some(&name) };
    let saved = caller
        .act(&state, Role::Admin, what, async {
            admin::save_channel(&state.store, body, Some(&name), now_millis()).await
        })
        .await?;
    saved?;
    Ok(Json(redacted(admin::channel(&state.store, &name).await?)))
}

async fn delete_channel_api(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    let what = Action { action: "alert_channel.delete", cluster: None, object: Some(&name) };
    let deleted = caller
        .act(&state, Role::Admin, what, async { admin::delete_channel(&state.store, &name).await })
        .await?;
    deleted?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Serialize)]
pub struct TestResult {
    pub ok: bool,
    pub error: Option<String>,
}

async fn test_channel_api(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<Json<TestResult>, ApiError> {
    let what = Action { action: "alert_channel.test", cluster: None, object: Some(&name) };
    let outcome = caller
        .act(&state, Role::Operator, what, async {
            admin::test_channel(&state.alerting, &name).await.unwrap_or_else(|e| Err(e.to_string()))
        })
        .await?;
    Ok(Json(TestResult { ok: outcome.is_ok(), error: outcome.err() }))
}

async fn silences_api(State(state): State<AppState>) -> Result<Json<Vec<StoredSilence>>, ApiError> {
    Ok(Json(state.store.active_silences(now_millis()).await.map_err(WebError::from)?))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SilenceBody {
    rule: String,
    #[serde(default)]
    subject: Option<String>,
    #[serde(with = "duration_text")]
    duration: Duration,
    #[serde(default)]
    note: String,
}

async fn create_silence_api(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<SilenceBody>,
) -> Result<(StatusCode, Json<StoredSilence>), ApiError> {
    let request = SilenceRequest {
        rule: body.rule,
        subject: body.subject,
        duration: body.duration,
        note: body.note,
    };
    let rule = request.rule.clone();
    let what = Action { action: "silence.add", cluster: None, object: Some(&rule) };
    let added = caller
        .act(&state, Role::Operator, what, async {
            admin::add_silence(&state.store, request, now_millis()).await
        })
        .await?;
    Ok((StatusCode::CREATED, Json(added?)))
}

async fn end_silence_api(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let what = Action { action: "silence.end", cluster: None, object: Some(&id) };
    let ended = caller
        .act(&state, Role::Operator, what, async { admin::end_silence(&state.store, &id).await })
        .await?;
    ended?;
    Ok(StatusCode::NO_CONTENT)
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
