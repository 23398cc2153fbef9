//! Alert rules: the list, the form (new and edit), enable, disable and delete.

use super::*;
use crate::web::access::Page;

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
pub(super) fn describe_condition(rule: &RuleDef) -> String {
    let threshold = crate::alerting::message::group_digits(rule.threshold_or_default());
    let mut parts = vec![match rule.kind {
        RuleKind::ConsumerLag => format!("lag > {threshold}"),
        RuleKind::ConsumerLagSeconds => format!("lag > {threshold} s"),
        RuleKind::LagForecast => format!(
            "lag heading past {threshold} within {}",
            duration_text::format(rule.horizon_or_default())
        ),
        RuleKind::RetentionRisk => format!("unread > {threshold} % of retention"),
        RuleKind::ConnectionChurn => format!("connections opened > {threshold}/s"),
        RuleKind::CanaryLatency => format!("canary end-to-end p99 > {threshold} ms"),
        RuleKind::CanaryLoss => format!("canary markers lost > {threshold}"),
        RuleKind::ProducerStopped => format!(
            "fewer than {threshold} messages within {}",
            duration_text::format(rule.window_or_default())
        ),
        RuleKind::GroupRebalancing => format!(
            "rebalances > {threshold} within {}",
            duration_text::format(rule.window_or_default())
        ),
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
        RuleKind::QueueBuried => format!("buried jobs > {threshold}"),
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

pub(super) async fn rules_page(
    State(state): State<AppState>,
    page: Page,
    PageQuery(d): PageQuery<Done>,
) -> Result<Response, PageError> {
    let Page { lang, uri, caller } = page;
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
    error: Option<FormError>,
}

/// The rule form's fields that show their own error beside them (the others' errors stand above
/// the form).
const FIELDS_WITH_ERRORS: [&str; 16] = [
    "name",
    "kind",
    "cluster",
    "group",
    "topic",
    "vhost",
    "queue",
    "threshold",
    "status",
    "metric",
    "for",
    "for_polls",
    "horizon",
    "window",
    "repeat_interval",
    "severity",
];

impl FieldErrors for RuleFormPage {
    fn form_refusal(&self) -> Option<&FormError> {
        self.error.as_ref()
    }
    fn placed_fields(&self) -> &'static [&'static str] {
        &FIELDS_WITH_ERRORS
    }
}

impl RuleFormPage {
    pub fn metrics(&self) -> &'static [Metric] {
        &Metric::ALL
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

pub(super) async fn rule_form(
    state: &AppState,
    lang: Lang,
    uri: &OriginalUri,
    who: &Principal,
    editing: Option<String>,
    form: Fields,
    error: Option<FormError>,
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

pub(super) async fn new_rule_page(
    State(state): State<AppState>,
    page: Page,
) -> Result<Response, PageError> {
    let Page { lang, uri, caller } = page;
    let what = Action { action: "alert_rule.save", cluster: None, object: None };
    caller.require(&state, Role::Admin, what).await?;
    let mut form = Fields::default();
    form.push("enabled", "on");
    form.push("cluster", "*");
    form.push("severity", Severity::default().as_str());
    rule_form(&state, lang, &uri, &caller.who, None, form, None).await
}

pub(super) async fn edit_rule_page(
    State(state): State<AppState>,
    page: Page,
    Path(name): Path<String>,
) -> Result<Response, PageError> {
    let Page { lang, uri, caller } = page;
    let what = Action { action: "alert_rule.save", cluster: None, object: Some(&name) };
    caller.require(&state, Role::Admin, what).await?;
    let rule = admin::rule(&state.store, &name).await?;
    rule_form(&state, lang, &uri, &caller.who, Some(name), rule_fields(&rule.definition), None)
        .await
}

pub(super) async fn save_rule_form(
    state: AppState,
    page: Page,
    editing: Option<String>,
    f: Fields,
) -> Result<Response, PageError> {
    let Page { lang, uri, caller } = page;
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
            rule_form(&state, lang, &uri, &caller.who, editing, f, Some(FormError::from(&e))).await
        }
        Err(e) => Err(PageError::from(e)),
    }
}

pub(super) async fn create_rule_form(
    State(state): State<AppState>,
    page: Page,
    PageForm(f): PageForm<Fields>,
) -> Result<Response, PageError> {
    save_rule_form(state, page, None, f).await
}

pub(super) async fn update_rule_form(
    State(state): State<AppState>,
    page: Page,
    Path(name): Path<String>,
    PageForm(f): PageForm<Fields>,
) -> Result<Response, PageError> {
    save_rule_form(state, page, Some(name), f).await
}

pub(super) async fn switch_rule(
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

pub(super) async fn enable_rule_form(
    State(state): State<AppState>,
    _lang: Lang,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<Response, PageError> {
    switch_rule(&state, &caller, &name, true).await
}

pub(super) async fn disable_rule_form(
    State(state): State<AppState>,
    _lang: Lang,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<Response, PageError> {
    switch_rule(&state, &caller, &name, false).await
}

pub(super) async fn delete_rule_form(
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
