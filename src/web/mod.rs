//! The web layer: pages, the JSON API under `/api/v1`, health checks and static assets. It only
//! reads — the pollers' latest state and the store — through [`crate::query`].

mod access;
mod alerts;
mod api;
mod assets;
mod broker_metrics;
mod error;
mod form;
mod format;
pub mod i18n;
mod manage;
mod messages;
mod metrics;
mod pages;
mod rabbit;
mod rocket;
mod view;

use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use tower_http::compression::CompressionLayer;
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::alerting::Alerting;
use crate::auth::Auth;
use crate::config::ServerConfig;
use crate::poller::Clusters;
use crate::store::Store;

pub use format::Fmt;
pub use messages::Operators;

#[derive(Clone)]
pub struct AppState {
    pub clusters: Clusters,
    pub store: Store,
    pub alerting: Alerting,
    pub auth: Auth,
    pub operators: Operators,
}

impl AppState {
    pub fn new(
        clusters: Clusters,
        store: Store,
        alerting: Alerting,
        auth: Auth,
        operators: Operators,
    ) -> Self {
        AppState { clusters, store, alerting, auth, operators }
    }
}

/// Liveness: the process answers.
async fn healthz() -> &'static str {
    "ok"
}

/// Readiness: the history store answers.
async fn readyz(axum::extract::State(state): axum::extract::State<AppState>) -> impl IntoResponse {
    match state.store.ping().await {
        Ok(()) => (StatusCode::OK, "ready").into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response()
        }
    }
}

/// Every path no route matches.
async fn not_found(uri: axum::extract::OriginalUri) -> error::PageError {
    error::PageError(error::WebError::NoRoute(uri.path().to_owned()))
}

/// Every page, feature by feature.
fn pages() -> Router<AppState> {
    Router::new()
        .merge(pages::pages())
        .merge(alerts::pages())
        .merge(access::pages())
        .merge(messages::pages())
        .merge(manage::pages())
        .merge(rabbit::pages())
        .merge(rocket::pages())
        .merge(broker_metrics::pages())
}

/// The JSON API under `/api/v1`, feature by feature; unknown paths answer JSON.
fn api() -> Router<AppState> {
    Router::new()
        .merge(api::api())
        .merge(alerts::api())
        .merge(access::api())
        .merge(messages::api())
        .merge(broker_metrics::api())
        .merge(manage::api())
        .merge(rabbit::api())
        .merge(rocket::api())
        .fallback(|uri: axum::http::Uri| async move {
            error::ApiError(error::WebError::NoRoute(format!("/api/v1{}", uri.path())))
        })
}

pub fn app(state: AppState, server: &ServerConfig) -> Router {
    let static_files = match &server.static_dir {
        Some(dir) => Router::new()
            .nest_service(&format!("/static/{}", assets::VERSION), ServeDir::new(dir))
            .layer(SetResponseHeaderLayer::if_not_present(
                header::CACHE_CONTROL,
                HeaderValue::from_static(assets::CACHE_FOREVER),
            )),
        None => Router::new().route("/static/{version}/{*file}", get(assets::serve)),
    };
    Router::new()
        .merge(pages())
        .nest("/api/v1", api())
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics::handler))
        .merge(static_files)
        .fallback(not_found)
        // One body limit for forms, JSON and the CSRF check.
        .layer(DefaultBodyLimit::max(form::MAX_BODY))
        // Page handlers fail with `PageError`; this draws the error page in the reader's
        // language. Inside `authenticate`, so the page header knows who is logged in.
        .layer(axum::middleware::from_fn_with_state(state.clone(), error::render_page_errors))
        // Who is asking, before any handler: reads may need a login, changes a CSRF token.
        .layer(axum::middleware::from_fn_with_state(state.clone(), access::authenticate))
        // Layers run outside-in from the last one added: tracing sees every request first,
        // then the timeout bounds it, then compression wraps the body.
        .layer(CompressionLayer::new())
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        // Pages and API answers hold what a login let through: no cache keeps them (the
        // versioned static files say otherwise for themselves).
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        ))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            server.request_timeout.max(Duration::from_secs(1)),
        ))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}
