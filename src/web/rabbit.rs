//! RabbitMQ's operator tools, as pages and API: publish a test message (exchange, routing key,
//! properties, headers, payload) and peek at a queue's messages — which takes them and puts
//! them back, so they return marked redelivered; the page says so before anything is read.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use super::AppState;
use super::access::Caller;
use super::error::{ApiError, PageError, WebError};
use super::form::{ApiJson, Fields, PageForm};
use super::i18n::Messages;
use super::view::{Chrome, here, render};
use crate::auth::{Action, Role};
use crate::brokers::rabbitmq::{Exchange, Peeked, Publish, QueueLinks, RabbitAdapter};
use crate::domain::ClusterKind;
use crate::web::access::Page;

pub fn pages() -> Router<AppState> {
    Router::new()
        .route("/clusters/{cluster}/publish", get(publish_page).post(publish_form))
        .route("/clusters/{cluster}/peek", get(peek_page).post(peek_form))
        .route("/clusters/{cluster}/exchanges", get(exchanges_page))
}

pub fn api() -> Router<AppState> {
    Router::new()
        .route("/clusters/{cluster}/publish", post(publish_api))
        .route("/clusters/{cluster}/queues/{vhost}/{queue}/get", post(peek_api))
        .route("/clusters/{cluster}/exchanges", get(exchanges_api))
        .route("/clusters/{cluster}/queues/{vhost}/{queue}/links", get(links_api))
}

/// Exchanges and queue links are asked of RabbitMQ when requested (they change rarely and a
/// poll need not carry them); reading them needs only the viewer role.
async fn exchanges_api(
    State(state): State<AppState>,
    Path(cluster): Path<String>,
) -> Result<Json<Vec<Exchange>>, ApiError> {
    let (rabbit, _) = state.operators.rabbit(&cluster)?;
    Ok(Json(rabbit.exchanges().await.map_err(WebError::Broker)?))
}

async fn links_api(
    State(state): State<AppState>,
    Path((cluster, vhost, queue)): Path<(String, String, String)>,
) -> Result<Json<QueueLinks>, ApiError> {
    let (rabbit, _) = state.operators.rabbit(&cluster)?;
    let links = rabbit.queue_links(&vhost, &queue).await;
    Ok(Json(links.map_err(WebError::Broker)?))
}

#[derive(Template)]
#[template(path = "rabbit_exchanges.html")]
pub struct ExchangesPage {
    t: &'static Messages,
    f: super::format::Fmt,
    chrome: Chrome,
    cluster: String,
    exchanges: Result<Vec<Exchange>, String>,
}

async fn exchanges_page(
    State(state): State<AppState>,
    page: Page,
    Path(cluster): Path<String>,
) -> Result<Response, PageError> {
    let Page { lang, uri, caller } = page;
    let (rabbit, _) = state.operators.rabbit(&cluster)?;
    let exchanges = rabbit.exchanges().await.map_err(|e| e.to_string());
    Ok(render(&ExchangesPage {
        t: lang.messages(),
        f: super::format::Fmt::new(lang, crate::clock::now_millis()),
        chrome: Chrome::new(lang, here(&uri), Some(&cluster), &caller.who)
            .kind(ClusterKind::Rabbitmq),
        cluster,
        exchanges,
    }))
}

/// Checks the role and `read_only`, runs `action` on the cluster's client, records it.
async fn act<T>(
    state: &AppState,
    caller: &Caller,
    what: Action<'_>,
    action: impl AsyncFnOnce(&RabbitAdapter) -> Result<T, WebError>,
) -> Result<T, WebError> {
    let cluster = what.cluster.unwrap_or_default();
    caller
        .act_on(
            state,
            (Role::Operator, true),
            what,
            |operators| operators.rabbit(cluster).map(|(a, _)| &**a),
            action,
        )
        .await
}

async fn publish(
    state: &AppState,
    caller: &Caller,
    cluster: &str,
    message: &Publish,
) -> Result<bool, WebError> {
    let object = format!("{}/{}", message.vhost, message.exchange);
    let what = Action { action: "rabbit.publish", cluster: Some(cluster), object: Some(&object) };
    act(state, caller, what, async |rabbit: &RabbitAdapter| {
        rabbit.publish(message).await.map_err(WebError::Broker)
    })
    .await
}

async fn peek(
    state: &AppState,
    caller: &Caller,
    cluster: &str,
    vhost: &str,
    queue: &str,
    count: usize,
) -> Result<Vec<Peeked>, WebError> {
    let object = format!("{vhost}/{queue}");
    let what = Action { action: "rabbit.peek", cluster: Some(cluster), object: Some(&object) };
    act(state, caller, what, async |rabbit: &RabbitAdapter| {
        rabbit.peek(vhost, queue, count).await.map_err(WebError::Broker)
    })
    .await
}

#[derive(Template)]
#[template(path = "rabbit_publish.html")]
pub struct PublishPage {
    t: &'static Messages,
    chrome: Chrome,
    cluster: String,
    form: Fields,
    routed: Option<bool>,
    error: Option<String>,
}

fn publish_from(f: &Fields) -> Result<Publish, WebError> {
    let headers = f.name_values("headers")?.into_iter().collect();
    let mut properties = serde_json::Map::new();
    if !f.value("content_type").is_empty() {
        properties.insert("content_type".into(), f.value("content_type").into());
    }
    if f.has("persistent", "on") {
        properties.insert("delivery_mode".into(), 2.into());
    }
    Ok(Publish {
        vhost: Some(f.value("vhost")).filter(|v| !v.is_empty()).unwrap_or("/").to_owned(),
        exchange: f.value("exchange").to_owned(),
        routing_key: f.value("routing_key").to_owned(),
        properties,
        headers,
        payload: f.raw("payload").unwrap_or_default().to_owned(),
    })
}

async fn publish_page(page: Page, Path(cluster): Path<String>) -> Response {
    let Page { lang, uri, caller } = page;
    let mut form = Fields::default();
    form.push("vhost", "/");
    render(&PublishPage {
        t: lang.messages(),
        chrome: Chrome::new(lang, here(&uri), Some(&cluster), &caller.who)
            .kind(ClusterKind::Rabbitmq),
        cluster,
        form,
        routed: None,
        error: None,
    })
}

async fn publish_form(
    State(state): State<AppState>,
    page: Page,
    Path(cluster): Path<String>,
    PageForm(f): PageForm<Fields>,
) -> Result<Response, PageError> {
    let Page { lang, uri, caller } = page;
    let outcome = match publish_from(&f) {
        Ok(message) => publish(&state, &caller, &cluster, &message).await,
        Err(e) => Err(e),
    };
    let (routed, error) = match PageError::shown(outcome)? {
        Ok(routed) => (Some(routed), None),
        Err(e) => (None, Some(e)),
    };
    let status = if error.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    let page = PublishPage {
        t: lang.messages(),
        chrome: Chrome::new(lang, here(&uri), Some(&cluster), &caller.who)
            .kind(ClusterKind::Rabbitmq),
        cluster,
        form: f,
        routed,
        error,
    };
    Ok((status, render(&page)).into_response())
}

#[derive(Template)]
#[template(path = "rabbit_peek.html")]
pub struct PeekPage {
    t: &'static Messages,
    chrome: Chrome,
    cluster: String,
    form: Fields,
    messages: Option<Vec<Peeked>>,
    error: Option<String>,
}

impl PeekPage {
    pub fn properties(&self, m: &Peeked) -> String {
        serde_json::to_string_pretty(&m.properties).unwrap_or_default()
    }
}

async fn peek_page(
    page: Page,
    Path(cluster): Path<String>,
    axum::extract::Query(prefill): axum::extract::Query<Fields>,
) -> Response {
    let Page { lang, uri, caller } = page;
    let mut form = Fields::default();
    form.push("vhost", Some(prefill.value("vhost")).filter(|v| !v.is_empty()).unwrap_or("/"));
    form.push("queue", prefill.value("queue"));
    form.push("count", "5");
    render(&PeekPage {
        t: lang.messages(),
        chrome: Chrome::new(lang, here(&uri), Some(&cluster), &caller.who)
            .kind(ClusterKind::Rabbitmq),
        cluster,
        form,
        messages: None,
        error: None,
    })
}

async fn peek_form(
    State(state): State<AppState>,
    page: Page,
    Path(cluster): Path<String>,
    PageForm(f): PageForm<Fields>,
) -> Result<Response, PageError> {
    let Page { lang, uri, caller } = page;
    let count = f.value("count").parse().unwrap_or(5);
    let outcome = peek(&state, &caller, &cluster, f.value("vhost"), f.value("queue"), count).await;
    let (messages, error) = match PageError::shown(outcome)? {
        Ok(messages) => (Some(messages), None),
        Err(e) => (None, Some(e)),
    };
    let page = PeekPage {
        t: lang.messages(),
        chrome: Chrome::new(lang, here(&uri), Some(&cluster), &caller.who)
            .kind(ClusterKind::Rabbitmq),
        cluster,
        form: f,
        messages,
        error,
    };
    Ok(render(&page))
}

#[derive(Debug, Serialize)]
pub struct Published {
    pub routed: bool,
}

async fn publish_api(
    State(state): State<AppState>,
    caller: Caller,
    Path(cluster): Path<String>,
    ApiJson(body): ApiJson<Publish>,
) -> Result<Json<Published>, ApiError> {
    let message = body;
    Ok(Json(Published { routed: publish(&state, &caller, &cluster, &message).await? }))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeekBody {
    #[serde(default = "five")]
    count: usize,
}

fn five() -> usize {
    5
}

async fn peek_api(
    State(state): State<AppState>,
    caller: Caller,
    Path((cluster, vhost, queue)): Path<(String, String, String)>,
    body: Option<ApiJson<PeekBody>>,
) -> Result<Json<Vec<Peeked>>, ApiError> {
    let count = body.map_or(5, |ApiJson(b)| b.count);
    Ok(Json(peek(&state, &caller, &cluster, &vhost, &queue, count).await?))
}
