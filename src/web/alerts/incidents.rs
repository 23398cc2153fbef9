//! The Alerts page (firing now and history) and one incident with its deliveries; retrying a delivery.

use super::*;
use crate::web::access::Page;

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

    /// The incident's one line in the reader's language.
    pub fn title(&self, incident: &crate::store::Incident) -> String {
        incident_title(self.chrome.lang, incident)
    }

    /// What the rule measures now, in the reader's language (`5 次轮询失败`, `12,345`).
    pub fn current(&self, v: &IncidentView) -> Option<String> {
        let value = v.current_value?;
        Some(v.incident.message.measure_in(value, self.chrome.lang.alert_words()))
    }
}

/// An incident's one line in `lang`, told again from its message: the stored `summary` is what
/// the notices said, in English.
fn incident_title(lang: Lang, incident: &crate::store::Incident) -> String {
    incident.message.summary_in(lang.alert_words())
}

pub(super) fn delivery_summary(t: &Messages, v: &IncidentView) -> String {
    use crate::store::DeliveryStatus::*;
    let count = |s| v.deliveries.iter().filter(|d| d.delivery.status == s).count().to_string();
    Messages::fill(
        t.alert_delivery_summary,
        &[("sent", &count(Sent)), ("pending", &count(Pending)), ("failed", &count(Failed))],
    )
}

pub(super) async fn alerts_page(
    State(state): State<AppState>,
    page: Page,
    PageQuery(d): PageQuery<Done>,
) -> Result<Response, PageError> {
    let Page { lang, uri, caller } = page;
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

impl IncidentPage {
    /// The incident's one line in the reader's language.
    pub fn title(&self, incident: &crate::store::Incident) -> String {
        incident_title(self.chrome.lang, incident)
    }
}

pub(super) async fn incident_page(
    State(state): State<AppState>,
    page: Page,
    Path(id): Path<String>,
    PageQuery(d): PageQuery<Done>,
) -> Result<Response, PageError> {
    let Page { lang, uri, caller } = page;
    let v = admin::incident(&state.store, &id).await?;
    Ok(render(&IncidentPage {
        t: lang.messages(),
        f: Fmt::new(lang, now_millis()),
        chrome: Chrome::new(lang, here(&uri), None, &caller.who),
        facts: v.incident.message.facts_in(lang.alert_words()),
        flash: d.text(lang.messages()),
        v,
    }))
}

pub(super) async fn retry_form(
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

pub(super) async fn ack_form(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    PageForm(f): PageForm<Fields>,
) -> Result<Response, PageError> {
    let by = caller.who.name.clone();
    let what = Action { action: "alert_incident.ack", cluster: None, object: Some(&id) };
    let acked = caller
        .act(&state, Role::Operator, what, async {
            let request = admin::AckRequest {
                comment: f.value("comment").to_owned(),
                expires_in: f.duration("expires_in").map_err(admin::AdminError::from)?,
            };
            admin::acknowledge(&state.alerting, &id, &by, request, now_millis()).await
        })
        .await?;
    acked?;
    Ok(done(&format!("/alerts/incidents/{}", segment(&id)), "acknowledged", &id))
}

pub(super) async fn unack_form(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let what = Action { action: "alert_incident.unack", cluster: None, object: Some(&id) };
    let done_ = caller
        .act(&state, Role::Operator, what, async { admin::unacknowledge(&state.store, &id).await })
        .await?;
    done_?;
    Ok(done(&format!("/alerts/incidents/{}", segment(&id)), "unacknowledged", &id))
}
