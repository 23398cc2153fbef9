//! beanstalkd's operator tools, as pages and API: put a job into a tube, peek at the next
//! ready, delayed or buried job (which leaves it where it is), kick buried jobs back to ready,
//! and purge a tube (admins, the tube's name typed to confirm). Each is role-guarded, audited
//! and refused on a read-only cluster when it changes something.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use super::AppState;
use super::access::Caller;
use super::error::{ApiError, PageError, WebError};
use super::form::{ApiJson, Fields, PageForm};
use super::i18n::Messages;
use super::view::{Chrome, here, render};
use crate::auth::{Action, Role};
use crate::brokers::beanstalkd::{BeanstalkAdapter, MAX_PURGE, Peek, PeekedJob, Put};
use crate::domain::ClusterKind;
use crate::web::access::Page;

pub fn pages() -> Router<AppState> {
    Router::new()
        .route("/clusters/{cluster}/put", axum::routing::get(put_page).post(put_form))
        .route("/clusters/{cluster}/jobs", axum::routing::get(jobs_page).post(peek_form))
        .route("/clusters/{cluster}/kick", post(kick_form))
        .route("/clusters/{cluster}/purge", post(purge_form))
}

pub fn api() -> Router<AppState> {
    Router::new()
        .route("/clusters/{cluster}/tubes/{server}/{tube}/put", post(put_api))
        .route("/clusters/{cluster}/tubes/{server}/{tube}/peek", post(peek_api))
        .route("/clusters/{cluster}/tubes/{server}/{tube}/kick", post(kick_api))
        .route("/clusters/{cluster}/tubes/{server}/{tube}/purge", post(purge_api))
}

const WHAT: &str = "put, peek, kick and purge are for beanstalkd clusters";

/// Where an action goes: a cluster, one of its servers, a tube there.
struct Tube<'a> {
    cluster: &'a str,
    server: &'a str,
    tube: &'a str,
}

impl Tube<'_> {
    /// Runs `action` on the cluster's client as [`Caller::act_on`] does, recorded as `name`.
    async fn act<T>(
        &self,
        state: &AppState,
        caller: &Caller,
        (name, role, changes): (&str, Role, bool),
        action: impl AsyncFnOnce(&BeanstalkAdapter) -> Result<T, WebError>,
    ) -> Result<T, WebError> {
        let object = format!("{}/{}", self.server, self.tube);
        let what = Action { action: name, cluster: Some(self.cluster), object: Some(&object) };
        caller
            .act_on(
                state,
                (role, changes),
                what,
                |operators| operators.beanstalk(self.cluster, WHAT).map(|a| &**a),
                action,
            )
            .await
    }

    async fn put(&self, state: &AppState, caller: &Caller, job: &Put) -> Result<u64, WebError> {
        let how = ("beanstalkd.put", Role::Operator, true);
        self.act(state, caller, how, async |b: &BeanstalkAdapter| {
            b.put(self.server, self.tube, job).await.map_err(WebError::Broker)
        })
        .await
    }

    async fn peek(
        &self,
        state: &AppState,
        caller: &Caller,
        which: Peek,
    ) -> Result<Option<PeekedJob>, WebError> {
        let how = ("beanstalkd.peek", Role::Operator, false);
        self.act(state, caller, how, async |b: &BeanstalkAdapter| {
            b.peek(self.server, self.tube, which).await.map_err(WebError::Broker)
        })
        .await
    }

    async fn kick(&self, state: &AppState, caller: &Caller, count: u32) -> Result<u64, WebError> {
        let how = ("beanstalkd.kick", Role::Operator, true);
        self.act(state, caller, how, async |b: &BeanstalkAdapter| {
            b.kick(self.server, self.tube, count).await.map_err(WebError::Broker)
        })
        .await
    }

    async fn purge(
        &self,
        state: &AppState,
        caller: &Caller,
        confirm: &str,
    ) -> Result<u64, WebError> {
        let how = ("beanstalkd.purge", Role::Admin, true);
        self.act(state, caller, how, async |b: &BeanstalkAdapter| {
            if confirm != self.tube {
                return Err(WebError::invalid("confirm", "type the tube's name to confirm"));
            }
            b.purge(self.server, self.tube).await.map_err(WebError::Broker)
        })
        .await
    }
}

fn tube_of<'a>(cluster: &'a str, f: &'a Fields) -> Tube<'a> {
    Tube { cluster, server: f.value("server"), tube: f.value("tube") }
}

/// The configured servers of `cluster`, for the forms' choice (empty for another kind: the
/// action then says what is wrong).
fn servers_of(state: &AppState, cluster: &str) -> Vec<String> {
    state.operators.beanstalk(cluster, WHAT).map(|b| b.servers().to_vec()).unwrap_or_default()
}

/// A form prefilled from the query string, the first server chosen when none is.
fn prefilled(state: &AppState, cluster: &str, query: &Fields, defaults: &[(&str, &str)]) -> Fields {
    let mut form = Fields::default();
    let first = servers_of(state, cluster).into_iter().next().unwrap_or_default();
    form.push("server", query.opt("server").unwrap_or(first));
    form.push("tube", query.opt("tube").unwrap_or_else(|| "default".into()));
    for (name, value) in defaults {
        form.push(name, query.opt(name).unwrap_or_else(|| (*value).to_owned()));
    }
    form
}

#[derive(Template)]
#[template(path = "beanstalk_put.html")]
pub struct PutPage {
    t: &'static Messages,
    chrome: Chrome,
    cluster: String,
    servers: Vec<String>,
    form: Fields,
    outcome: Option<Result<String, String>>,
}

/// The whole number in field `name`, `default` when it is empty.
fn number<T: std::str::FromStr>(f: &Fields, name: &str, default: T) -> Result<T, WebError> {
    f.parse::<T>(name, "a whole number in range")
        .map(|n| n.unwrap_or(default))
        .map_err(|e| WebError::invalid(&e.field, e.message))
}

fn put_from(f: &Fields) -> Result<Put, WebError> {
    Ok(Put {
        body: f.raw("body").unwrap_or_default().to_owned(),
        priority: number(f, "priority", 1024)?,
        delay_secs: number(f, "delay_secs", 0)?,
        ttr_secs: number(f, "ttr_secs", 60)?,
    })
}

async fn put_page(
    State(state): State<AppState>,
    page: Page,
    Path(cluster): Path<String>,
    axum::extract::Query(query): axum::extract::Query<Fields>,
) -> Response {
    let Page { lang, uri, caller } = page;
    let defaults = [("priority", "1024"), ("delay_secs", "0"), ("ttr_secs", "60")];
    render(&PutPage {
        t: lang.messages(),
        chrome: Chrome::new(lang, here(&uri), Some(&cluster), &caller.who)
            .kind(ClusterKind::Beanstalkd),
        servers: servers_of(&state, &cluster),
        form: prefilled(&state, &cluster, &query, &defaults),
        cluster,
        outcome: None,
    })
}

async fn put_form(
    State(state): State<AppState>,
    page: Page,
    Path(cluster): Path<String>,
    PageForm(f): PageForm<Fields>,
) -> Result<Response, PageError> {
    let Page { lang, uri, caller } = page;
    let t = lang.messages();
    let outcome = match put_from(&f) {
        Ok(job) => tube_of(&cluster, &f).put(&state, &caller, &job).await,
        Err(e) => Err(e),
    };
    let outcome = PageError::shown(outcome)?
        .map(|id| Messages::fill(t.job_put, &[("id", &id.to_string()), ("tube", f.value("tube"))]));
    let status = if outcome.is_err() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    let page = PutPage {
        t,
        chrome: Chrome::new(lang, here(&uri), Some(&cluster), &caller.who)
            .kind(ClusterKind::Beanstalkd),
        servers: servers_of(&state, &cluster),
        cluster,
        form: f,
        outcome: Some(outcome),
    };
    Ok((status, render(&page)).into_response())
}

#[derive(Template)]
#[template(path = "beanstalk_jobs.html")]
pub struct JobsPage {
    t: &'static Messages,
    chrome: Chrome,
    cluster: String,
    servers: Vec<String>,
    form: Fields,
    /// A peek's job (`None` inside: nothing in that state).
    peeked: Option<Result<Option<PeekedJob>, String>>,
    /// A kick's or purge's outcome, said in words.
    changed: Option<Result<String, String>>,
}

impl JobsPage {
    pub fn states(&self) -> [(&'static str, &'static str); 3] {
        let t = self.t;
        Peek::ALL.map(|p| {
            let label = match p {
                Peek::Ready => t.job_state_ready,
                Peek::Delayed => t.job_state_delayed,
                Peek::Buried => t.job_state_buried,
            };
            (p.as_str(), label)
        })
    }
}

/// What the jobs page shows besides its forms: a peek's job, a kick's or purge's outcome.
#[derive(Default)]
struct Shown {
    peeked: Option<Result<Option<PeekedJob>, String>>,
    changed: Option<Result<String, String>>,
}

fn jobs_response(
    state: &AppState,
    page: Page,
    cluster: String,
    form: Fields,
    shown: Shown,
) -> Response {
    let Page { lang, uri, caller } = page;
    let failed = matches!(shown.peeked, Some(Err(_))) || matches!(shown.changed, Some(Err(_)));
    let status = if failed { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    let page = JobsPage {
        t: lang.messages(),
        chrome: Chrome::new(lang, here(&uri), Some(&cluster), &caller.who)
            .kind(ClusterKind::Beanstalkd),
        servers: servers_of(state, &cluster),
        cluster,
        form,
        peeked: shown.peeked,
        changed: shown.changed,
    };
    (status, render(&page)).into_response()
}

const JOB_DEFAULTS: [(&str, &str); 2] = [("state", "ready"), ("count", "100")];

async fn jobs_page(
    State(state): State<AppState>,
    page: Page,
    Path(cluster): Path<String>,
    axum::extract::Query(query): axum::extract::Query<Fields>,
) -> Response {
    let form = prefilled(&state, &cluster, &query, &JOB_DEFAULTS);
    jobs_response(&state, page, cluster, form, Shown::default())
}

fn peek_state(f: &Fields) -> Result<Peek, WebError> {
    Peek::ALL
        .into_iter()
        .find(|p| p.as_str() == f.value("state"))
        .ok_or_else(|| WebError::invalid("state", "ready, delayed or buried"))
}

async fn peek_form(
    State(state): State<AppState>,
    page: Page,
    Path(cluster): Path<String>,
    PageForm(f): PageForm<Fields>,
) -> Result<Response, PageError> {
    let outcome = match peek_state(&f) {
        Ok(which) => tube_of(&cluster, &f).peek(&state, &page.caller, which).await,
        Err(e) => Err(e),
    };
    let peeked = PageError::shown(outcome)?;
    let shown = Shown { peeked: Some(peeked), changed: None };
    Ok(jobs_response(&state, page, cluster, f, shown))
}

async fn kick_form(
    State(state): State<AppState>,
    page: Page,
    Path(cluster): Path<String>,
    PageForm(f): PageForm<Fields>,
) -> Result<Response, PageError> {
    let t = page.lang.messages();
    let outcome = match number(&f, "count", 100) {
        Ok(count) => tube_of(&cluster, &f).kick(&state, &page.caller, count).await,
        Err(e) => Err(e),
    };
    let changed =
        PageError::shown(outcome)?.map(|n| Messages::fill(t.kicked, &[("count", &n.to_string())]));
    Ok(jobs_response(&state, page, cluster, f, Shown { peeked: None, changed: Some(changed) }))
}

async fn purge_form(
    State(state): State<AppState>,
    page: Page,
    Path(cluster): Path<String>,
    PageForm(f): PageForm<Fields>,
) -> Result<Response, PageError> {
    let t = page.lang.messages();
    let outcome = tube_of(&cluster, &f).purge(&state, &page.caller, f.value("confirm")).await;
    let changed =
        PageError::shown(outcome)?.map(|n| Messages::fill(t.purged, &[("count", &n.to_string())]));
    Ok(jobs_response(&state, page, cluster, f, Shown { peeked: None, changed: Some(changed) }))
}

#[derive(Debug, Serialize)]
pub struct PutAnswer {
    pub id: u64,
}

async fn put_api(
    State(state): State<AppState>,
    caller: Caller,
    Path((cluster, server, tube)): Path<(String, String, String)>,
    ApiJson(job): ApiJson<Put>,
) -> Result<Json<PutAnswer>, ApiError> {
    let at = Tube { cluster: &cluster, server: &server, tube: &tube };
    Ok(Json(PutAnswer { id: at.put(&state, &caller, &job).await? }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeekBody {
    #[serde(default = "ready")]
    state: Peek,
}

fn ready() -> Peek {
    Peek::Ready
}

/// The next job in the state asked for, `null` when there is none.
async fn peek_api(
    State(state): State<AppState>,
    caller: Caller,
    Path((cluster, server, tube)): Path<(String, String, String)>,
    body: Option<ApiJson<PeekBody>>,
) -> Result<Json<Option<PeekedJob>>, ApiError> {
    let which = body.map_or(Peek::Ready, |ApiJson(b)| b.state);
    let at = Tube { cluster: &cluster, server: &server, tube: &tube };
    Ok(Json(at.peek(&state, &caller, which).await?))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KickBody {
    count: u32,
}

#[derive(Debug, Serialize)]
pub struct Kicked {
    pub kicked: u64,
}

async fn kick_api(
    State(state): State<AppState>,
    caller: Caller,
    Path((cluster, server, tube)): Path<(String, String, String)>,
    ApiJson(body): ApiJson<KickBody>,
) -> Result<Json<Kicked>, ApiError> {
    let at = Tube { cluster: &cluster, server: &server, tube: &tube };
    Ok(Json(Kicked { kicked: at.kick(&state, &caller, body.count).await? }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PurgeBody {
    confirm: String,
}

#[derive(Debug, Serialize)]
pub struct Purged {
    pub deleted: u64,
    /// Whether the purge stopped at its limit with jobs left.
    pub more: bool,
}

async fn purge_api(
    State(state): State<AppState>,
    caller: Caller,
    Path((cluster, server, tube)): Path<(String, String, String)>,
    ApiJson(body): ApiJson<PurgeBody>,
) -> Result<Json<Purged>, ApiError> {
    let at = Tube { cluster: &cluster, server: &server, tube: &tube };
    let deleted = at.purge(&state, &caller, &body.confirm).await?;
    Ok(Json(Purged { deleted, more: deleted >= MAX_PURGE }))
}
