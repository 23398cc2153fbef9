//! Gearman's operator tool, as a page and API: submit a background job for a function on one of
//! the cluster's job servers (operators; refused on a read-only cluster; audited). Gearman's
//! protocol has no way to look at queued jobs without taking them, so there is no peek.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde::Serialize;

use super::AppState;
use super::access::Caller;
use super::error::{ApiError, PageError, WebError};
use super::form::{ApiJson, Fields, PageForm};
use super::i18n::Messages;
use super::view::{Chrome, here, render};
use crate::auth::{Action, Role};
use crate::brokers::gearman::{Priority, Submit};
use crate::domain::ClusterKind;
use crate::web::access::Page;

pub fn pages() -> Router<AppState> {
    Router::new()
        .route("/clusters/{cluster}/submit", axum::routing::get(submit_page).post(submit_form))
}

pub fn api() -> Router<AppState> {
    Router::new()
        .route("/clusters/{cluster}/functions/{server}/{function}/submit", post(submit_api))
}

const WHAT: &str = "submitting jobs is for Gearman clusters";

/// Checks the role and `read_only`, submits the job, records it in the audit log.
async fn submit(
    state: &AppState,
    caller: &Caller,
    (cluster, server, function): (&str, &str, &str),
    job: &Submit,
) -> Result<String, WebError> {
    let object = format!("{server}/{function}");
    let what = Action { action: "gearman.submit", cluster: Some(cluster), object: Some(&object) };
    let submit = async |adapter: &crate::brokers::gearman::GearmanAdapter| {
        adapter.submit(server, function, job).await.map_err(WebError::Broker)
    };
    caller
        .act_on(
            state,
            (Role::Operator, true),
            what,
            |operators| operators.gearman(cluster, WHAT).map(|a| &**a),
            submit,
        )
        .await
}

fn servers_of(state: &AppState, cluster: &str) -> Vec<String> {
    state.operators.gearman(cluster, WHAT).map(|g| g.servers().to_vec()).unwrap_or_default()
}

#[derive(Template)]
#[template(path = "gearman_submit.html")]
pub struct SubmitPage {
    t: &'static Messages,
    chrome: Chrome,
    cluster: String,
    servers: Vec<String>,
    form: Fields,
    outcome: Option<Result<String, String>>,
}

impl SubmitPage {
    pub fn priorities(&self) -> [(&'static str, &'static str); 3] {
        let t = self.t;
        Priority::ALL.map(|p| {
            let label = match p {
                Priority::Low => t.priority_low,
                Priority::Normal => t.priority_normal,
                Priority::High => t.priority_high,
            };
            (p.as_str(), label)
        })
    }
}

fn submit_page_of(
    state: &AppState,
    page: Page,
    cluster: String,
    form: Fields,
    outcome: Option<Result<String, String>>,
) -> Response {
    let Page { lang, uri, caller } = page;
    let status = match outcome {
        Some(Err(_)) => StatusCode::UNPROCESSABLE_ENTITY,
        _ => StatusCode::OK,
    };
    let page = SubmitPage {
        t: lang.messages(),
        chrome: Chrome::new(lang, here(&uri), Some(&cluster), &caller.who)
            .kind(ClusterKind::Gearman),
        servers: servers_of(state, &cluster),
        cluster,
        form,
        outcome,
    };
    (status, render(&page)).into_response()
}

async fn submit_page(
    State(state): State<AppState>,
    page: Page,
    Path(cluster): Path<String>,
    axum::extract::Query(query): axum::extract::Query<Fields>,
) -> Response {
    let mut form = Fields::default();
    let first = servers_of(&state, &cluster).into_iter().next().unwrap_or_default();
    form.push("server", query.opt("server").unwrap_or(first));
    form.push("function", query.value("function"));
    form.push("priority", "normal");
    submit_page_of(&state, page, cluster, form, None)
}

async fn submit_form(
    State(state): State<AppState>,
    page: Page,
    Path(cluster): Path<String>,
    PageForm(f): PageForm<Fields>,
) -> Result<Response, PageError> {
    let t = page.lang.messages();
    let priority = Priority::ALL.into_iter().find(|p| p.as_str() == f.value("priority"));
    let outcome = match priority {
        Some(priority) => {
            let job = Submit { payload: f.raw("payload").unwrap_or_default().to_owned(), priority };
            let at = (cluster.as_str(), f.value("server"), f.value("function"));
            submit(&state, &page.caller, at, &job).await
        }
        None => Err(WebError::invalid("priority", "low, normal or high")),
    };
    let outcome = PageError::shown(outcome)?.map(|handle| {
        Messages::fill(t.job_submitted, &[("handle", &handle), ("function", f.value("function"))])
    });
    Ok(submit_page_of(&state, page, cluster, f, Some(outcome)))
}

#[derive(Debug, Serialize)]
pub struct Submitted {
    /// The job handle the server gave.
    pub handle: String,
}

async fn submit_api(
    State(state): State<AppState>,
    caller: Caller,
    Path((cluster, server, function)): Path<(String, String, String)>,
    ApiJson(job): ApiJson<Submit>,
) -> Result<Json<Submitted>, ApiError> {
    let handle = submit(&state, &caller, (&cluster, &server, &function), &job).await?;
    Ok(Json(Submitted { handle }))
}
