//! ActiveMQ's operator tools, as pages and API: send a text message to a queue, browse a queue's
//! messages (which leaves them there), and purge a queue (admins, the queue's name typed to
//! confirm). Each is role-guarded, audited and refused on a read-only cluster when it changes
//! something.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use super::AppState;
use super::access::{Caller, Page};
use super::error::{ApiError, PageError, WebError};
use super::form::{ApiJson, Fields, PageForm};
use super::i18n::Messages;
use super::view::{Chrome, here, render};
use crate::auth::{Action, Role};
use crate::brokers::activemq::{ActivemqAdapter, BrowsedMessage, Send};
use crate::domain::ClusterKind;

pub fn pages() -> Router<AppState> {
    Router::new()
        .route("/clusters/{cluster}/activemq/send", get(send_page).post(send_form))
        .route("/clusters/{cluster}/activemq/browse", get(browse_page).post(browse_form))
        .route("/clusters/{cluster}/activemq/purge", post(purge_form))
}

pub fn api() -> Router<AppState> {
    Router::new()
        .route("/clusters/{cluster}/destinations/{broker}/{queue}/send", post(send_api))
        .route("/clusters/{cluster}/destinations/{broker}/{queue}/browse", post(browse_api))
        .route("/clusters/{cluster}/destinations/{broker}/{queue}/purge", post(purge_api))
}

const WHAT: &str = "sending, browsing and purging here are for ActiveMQ clusters";

/// Where an action goes: a cluster, one of its brokers, a queue there.
struct Target<'a> {
    cluster: &'a str,
    broker: &'a str,
    queue: &'a str,
}

impl Target<'_> {
    /// Runs `action` on the cluster's client as [`Caller::act_on`] does, recorded as `name`.
    async fn act<T>(
        &self,
        state: &AppState,
        caller: &Caller,
        (name, role, changes): (&str, Role, bool),
        action: impl AsyncFnOnce(&ActivemqAdapter) -> Result<T, WebError>,
    ) -> Result<T, WebError> {
        let object = format!("{}/{}", self.broker, self.queue);
        let what = Action { action: name, cluster: Some(self.cluster), object: Some(&object) };
        caller
            .act_on(
                state,
                (role, changes),
                what,
                |operators| operators.activemq(self.cluster, WHAT).map(|a| &**a),
                action,
            )
            .await
    }

    async fn send(
        &self,
        state: &AppState,
        caller: &Caller,
        message: &Send,
    ) -> Result<String, WebError> {
        let how = ("activemq.send", Role::Operator, true);
        self.act(state, caller, how, async |a: &ActivemqAdapter| {
            a.send(self.broker, self.queue, message).await.map_err(WebError::Broker)
        })
        .await
    }

    async fn browse(
        &self,
        state: &AppState,
        caller: &Caller,
        limit: usize,
    ) -> Result<Vec<BrowsedMessage>, WebError> {
        let how = ("activemq.browse", Role::Operator, false);
        self.act(state, caller, how, async |a: &ActivemqAdapter| {
            a.browse(self.broker, self.queue, limit).await.map_err(WebError::Broker)
        })
        .await
    }

    async fn purge(
        &self,
        state: &AppState,
        caller: &Caller,
        confirm: &str,
    ) -> Result<u64, WebError> {
        let how = ("activemq.purge", Role::Admin, true);
        self.act(state, caller, how, async |a: &ActivemqAdapter| {
            if confirm != self.queue {
                return Err(WebError::invalid("confirm", "type the queue's name to confirm"));
            }
            a.purge(self.broker, self.queue).await.map_err(WebError::Broker)
        })
        .await
    }
}

fn target_of<'a>(cluster: &'a str, f: &'a Fields) -> Target<'a> {
    Target { cluster, broker: f.value("broker"), queue: f.value("queue") }
}

/// The brokers of `cluster`, for the forms' choice (empty for another kind: the action then
/// says what is wrong).
fn brokers_of(state: &AppState, cluster: &str) -> Vec<String> {
    state.operators.activemq(cluster, WHAT).map(|a| a.broker_names()).unwrap_or_default()
}

/// A form prefilled from the query string, the first broker chosen when none is.
fn prefilled(state: &AppState, cluster: &str, query: &Fields, defaults: &[(&str, &str)]) -> Fields {
    let mut form = Fields::default();
    let first = brokers_of(state, cluster).into_iter().next().unwrap_or_default();
    form.push("broker", query.opt("broker").unwrap_or(first));
    form.push("queue", query.value("queue"));
    for (name, value) in defaults {
        form.push(name, query.opt(name).unwrap_or_else(|| (*value).to_owned()));
    }
    form
}

fn chrome(page: &Page, cluster: &str) -> Chrome {
    Chrome::new(page.lang, here(&page.uri), Some(cluster), &page.caller.who)
        .kind(ClusterKind::Activemq)
}

fn status_of<T>(outcome: Option<&Result<T, String>>) -> StatusCode {
    match outcome {
        Some(Err(_)) => StatusCode::UNPROCESSABLE_ENTITY,
        _ => StatusCode::OK,
    }
}

#[derive(Template)]
#[template(path = "activemq_send.html")]
pub struct SendPage {
    t: &'static Messages,
    chrome: Chrome,
    cluster: String,
    brokers: Vec<String>,
    form: Fields,
    outcome: Option<Result<String, String>>,
}

fn send_from(f: &Fields) -> Result<Send, WebError> {
    Ok(Send {
        body: f.raw("body").unwrap_or_default().to_owned(),
        properties: f.name_values("properties")?.into_iter().collect(),
        persistent: f.has("persistent", "on"),
    })
}

fn send_response(
    state: &AppState,
    page: Page,
    cluster: String,
    form: Fields,
    outcome: Option<Result<String, String>>,
) -> Response {
    let status = status_of(outcome.as_ref());
    let page = SendPage {
        t: page.lang.messages(),
        chrome: chrome(&page, &cluster),
        brokers: brokers_of(state, &cluster),
        cluster,
        form,
        outcome,
    };
    (status, render(&page)).into_response()
}

async fn send_page(
    State(state): State<AppState>,
    page: Page,
    Path(cluster): Path<String>,
    Query(query): Query<Fields>,
) -> Response {
    let form = prefilled(&state, &cluster, &query, &[("persistent", "on")]);
    send_response(&state, page, cluster, form, None)
}

async fn send_form(
    State(state): State<AppState>,
    page: Page,
    Path(cluster): Path<String>,
    PageForm(f): PageForm<Fields>,
) -> Result<Response, PageError> {
    let t = page.lang.messages();
    let outcome = match send_from(&f) {
        Ok(message) => target_of(&cluster, &f).send(&state, &page.caller, &message).await,
        Err(e) => Err(e),
    };
    let outcome = PageError::shown(outcome)?
        .map(|id| Messages::fill(t.message_sent, &[("id", &id), ("queue", f.value("queue"))]));
    Ok(send_response(&state, page, cluster, f, Some(outcome)))
}

#[derive(Template)]
#[template(path = "activemq_browse.html")]
pub struct BrowsePage {
    t: &'static Messages,
    chrome: Chrome,
    cluster: String,
    brokers: Vec<String>,
    form: Fields,
    browsed: Option<Result<Vec<BrowsedMessage>, String>>,
    /// A purge's outcome, said in words.
    purged: Option<Result<String, String>>,
}

impl BrowsePage {
    pub fn properties(&self, message: &BrowsedMessage) -> String {
        message.properties.iter().map(|(k, v)| format!("{k}: {v}")).collect::<Vec<_>>().join("\n")
    }
}

/// What the browse page shows besides its forms: a browse's messages, a purge's outcome.
#[derive(Default)]
struct Shown {
    browsed: Option<Result<Vec<BrowsedMessage>, String>>,
    purged: Option<Result<String, String>>,
}

fn browse_response(
    state: &AppState,
    page: Page,
    cluster: String,
    form: Fields,
    Shown { browsed, purged }: Shown,
) -> Response {
    let failed = status_of(browsed.as_ref()) != StatusCode::OK
        || status_of(purged.as_ref()) != StatusCode::OK;
    let status = if failed { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    let page = BrowsePage {
        t: page.lang.messages(),
        chrome: chrome(&page, &cluster),
        brokers: brokers_of(state, &cluster),
        cluster,
        form,
        browsed,
        purged,
    };
    (status, render(&page)).into_response()
}

/// Messages a browse shows unless asked for more (the adapter shows at most 100).
const DEFAULT_BROWSE: usize = 20;
const BROWSE_DEFAULTS: [(&str, &str); 1] = [("count", "20")];

async fn browse_page(
    State(state): State<AppState>,
    page: Page,
    Path(cluster): Path<String>,
    Query(query): Query<Fields>,
) -> Response {
    let form = prefilled(&state, &cluster, &query, &BROWSE_DEFAULTS);
    browse_response(&state, page, cluster, form, Shown::default())
}

fn browse_limit(f: &Fields) -> Result<usize, WebError> {
    let limit = f
        .parse::<usize>("count", "a whole number")
        .map_err(|e| WebError::invalid(&e.field, e.message))?;
    Ok(limit.unwrap_or(DEFAULT_BROWSE))
}

async fn browse_form(
    State(state): State<AppState>,
    page: Page,
    Path(cluster): Path<String>,
    PageForm(f): PageForm<Fields>,
) -> Result<Response, PageError> {
    let outcome = match browse_limit(&f) {
        Ok(limit) => target_of(&cluster, &f).browse(&state, &page.caller, limit).await,
        Err(e) => Err(e),
    };
    let browsed = PageError::shown(outcome)?;
    Ok(browse_response(&state, page, cluster, f, Shown { browsed: Some(browsed), purged: None }))
}

async fn purge_form(
    State(state): State<AppState>,
    page: Page,
    Path(cluster): Path<String>,
    PageForm(f): PageForm<Fields>,
) -> Result<Response, PageError> {
    let t = page.lang.messages();
    let outcome = target_of(&cluster, &f).purge(&state, &page.caller, f.value("confirm")).await;
    let purged = PageError::shown(outcome)?
        .map(|n| Messages::fill(t.messages_purged, &[("count", &n.to_string())]));
    Ok(browse_response(&state, page, cluster, f, Shown { browsed: None, purged: Some(purged) }))
}

#[derive(Debug, Serialize)]
pub struct Sent {
    /// The id the broker gave the message.
    pub message_id: String,
}

async fn send_api(
    State(state): State<AppState>,
    caller: Caller,
    Path((cluster, broker, queue)): Path<(String, String, String)>,
    ApiJson(message): ApiJson<Send>,
) -> Result<Json<Sent>, ApiError> {
    let at = Target { cluster: &cluster, broker: &broker, queue: &queue };
    Ok(Json(Sent { message_id: at.send(&state, &caller, &message).await? }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BrowseBody {
    #[serde(default = "default_browse")]
    limit: usize,
}

fn default_browse() -> usize {
    DEFAULT_BROWSE
}

/// The first messages of the queue, left where they are.
async fn browse_api(
    State(state): State<AppState>,
    caller: Caller,
    Path((cluster, broker, queue)): Path<(String, String, String)>,
    body: Option<ApiJson<BrowseBody>>,
) -> Result<Json<Vec<BrowsedMessage>>, ApiError> {
    let limit = body.map_or(DEFAULT_BROWSE, |ApiJson(b)| b.limit);
    let at = Target { cluster: &cluster, broker: &broker, queue: &queue };
    Ok(Json(at.browse(&state, &caller, limit).await?))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PurgeBody {
    confirm: String,
}

#[derive(Debug, Serialize)]
pub struct Purged {
    /// Messages the queue held before the purge.
    pub deleted: u64,
}

async fn purge_api(
    State(state): State<AppState>,
    caller: Caller,
    Path((cluster, broker, queue)): Path<(String, String, String)>,
    ApiJson(body): ApiJson<PurgeBody>,
) -> Result<Json<Purged>, ApiError> {
    let at = Target { cluster: &cluster, broker: &broker, queue: &queue };
    Ok(Json(Purged { deleted: at.purge(&state, &caller, &body.confirm).await? }))
}
