//! The web layer: pages, the JSON API under `/api/v1`, health checks and static assets. It only
//! reads — the pollers' latest state and the store — through [`crate::query`].

mod access;
mod activemq;
mod alerts;
mod api;
mod assets;
mod beanstalk;
mod broker_metrics;
mod error;
mod form;
mod format;
mod gearman;
pub mod i18n;
mod instances;
mod manage;
mod messages;
mod metrics;
mod pages;
mod rabbit;
mod rocket;
mod view;

use std::sync::Arc;
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
use crate::poller::writer::HistoryQueue;
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
    /// Poll history on its way to the database: whether it gets there.
    pub history: Arc<HistoryQueue>,
    /// This instance among the others on the database, for the Instances page.
    pub ownership: crate::instances::Ownership,
    pub lease_ttl: std::time::Duration,
}

impl AppState {
    pub fn new(
        clusters: Clusters,
        store: Store,
        alerting: Alerting,
        auth: Auth,
        operators: Operators,
        history: Arc<HistoryQueue>,
    ) -> Self {
        AppState {
            clusters,
            store,
            alerting,
            auth,
            operators,
            history,
            ownership: crate::instances::Ownership::alone(),
            lease_ttl: crate::config::ScaleOutConfig::default().lease_ttl,
        }
    }

    /// With several instances on the database: this one's leases and their lifetime.
    pub fn with_instances(
        mut self,
        ownership: crate::instances::Ownership,
        lease_ttl: std::time::Duration,
    ) -> Self {
        self.ownership = ownership;
        self.lease_ttl = lease_ttl;
        self
    }
}

/// The alert rules, for the lag forecasts the group pages show; none when the database does not
/// answer at once (those pages are live state and do not wait for it).
pub(crate) async fn rules_for_forecasts(
    state: &AppState,
) -> Vec<crate::alerting::definition::RuleDef> {
    let wait = std::time::Duration::from_secs(2);
    match crate::store::within(wait, state.store.alert_rules()).await {
        Ok(rules) => rules.into_iter().map(|stored| stored.definition).collect(),
        Err(e) => {
            tracing::debug!(error = %e, "no forecasts: the alert rules cannot be read");
            Vec::new()
        }
    }
}

/// Liveness: the process answers.
async fn healthz() -> &'static str {
    "ok"
}

/// Readiness: the history store answers and takes the polls' history.
async fn readyz(axum::extract::State(state): axum::extract::State<AppState>) -> impl IntoResponse {
    if let Err(e) = state.store.ping().await {
        tracing::warn!(error = %e, "readiness check failed");
        return (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response();
    }
    match state.history.failing() {
        None => (StatusCode::OK, "ready").into_response(),
        Some(failure) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("poll history cannot be written ({} polls held)", failure.held),
        )
            .into_response(),
    }
}

/// The line every page shows (it asks every 10 s) while poll history is not reaching the
/// database; empty otherwise.
async fn history_status(
    axum::extract::State(state): axum::extract::State<AppState>,
    lang: i18n::Lang,
) -> axum::response::Response {
    let Some(failure) = state.history.failing() else { return "".into_response() };
    let t = lang.messages();
    let fmt = format::Fmt::new(lang, crate::clock::now_millis());
    let held = u64::try_from(failure.held).unwrap_or(u64::MAX);
    let text = i18n::Messages::fill(
        t.history_not_written,
        &[("since", &fmt.at(failure.since)), ("held", &fmt.count_u64(held))],
    );
    let cause = if failure.out_of_space { t.history_out_of_space } else { t.history_no_answer };
    view::render(&view::HistoryBanner { text, cause })
}

/// Every path no route matches.
async fn not_found(uri: axum::extract::OriginalUri) -> axum::response::Response {
    let error = error::WebError::NoRoute(uri.path().to_owned());
    // `/api/v1/` and the like miss the nested API router: they still get JSON.
    if uri.path().starts_with("/api/") {
        return error::ApiError(error).into_response();
    }
    error::PageError(error).into_response()
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
        .merge(beanstalk::pages())
        .merge(gearman::pages())
        .merge(activemq::pages())
        .merge(rocket::pages())
        .merge(broker_metrics::pages())
        .merge(instances::pages())
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
        .merge(beanstalk::api())
        .merge(gearman::api())
        .merge(activemq::api())
        .merge(rocket::api())
        .merge(instances::api())
        .fallback(|uri: axum::http::Uri| async move {
            error::ApiError(error::WebError::NoRoute(format!("/api/v1{}", uri.path())))
        })
}

/// Only Osprey's own scripts, styles and images; no inline code (forms ask before deleting
/// through `app.js`), no framing, no plug-ins, forms post only here.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
    style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; \
    base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

pub fn app(state: AppState, server: &ServerConfig) -> Router {
    let serves_https = state
        .alerting
        .settings
        .public_url
        .as_deref()
        .is_some_and(|url| url.trim().to_ascii_lowercase().starts_with("https://"));
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
        .route("/status/history", get(history_status))
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
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        ))
        // Browsers take HSTS only over HTTPS; Osprey itself serves plain HTTP, so it is sent
        // when the address readers use (`alerts.public_url`) is HTTPS.
        .layer(SetResponseHeaderLayer::if_not_present(
            header::STRICT_TRANSPORT_SECURITY,
            serves_https.then(|| HeaderValue::from_static("max-age=31536000")),
        ))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            server.request_timeout.max(Duration::from_secs(1)),
        ))
        // Paths only: a query can carry a token (the setup link, a webhook-style URL).
        .layer(TraceLayer::new_for_http().make_span_with(|request: &axum::extract::Request| {
            tracing::debug_span!("request", method = %request.method(), path = %request.uri().path())
        }))
        .with_state(state)
}

#[cfg(test)]
mod tests {
    /// The Content-Security-Policy forbids inline code: a template with an `on…=` handler, a
    /// `style=` attribute or a `<script>` without `src` would break in the browser.
    #[test]
    fn templates_have_no_inline_code_the_policy_would_block() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
        // ` on` + letters + `=`: an event handler attribute.
        let has_handler = |line: &str| {
            line.match_indices(" on").any(|(at, _)| {
                let rest = &line[at + 3..];
                let name_len = rest.chars().take_while(char::is_ascii_lowercase).count();
                name_len > 0 && rest[name_len..].starts_with('=')
            })
        };
        let mut found = Vec::new();
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap();
            for (n, line) in text.lines().enumerate() {
                let inline_script = line.contains("<script") && !line.contains(" src=");
                if has_handler(line) || line.contains(" style=") || inline_script {
                    found.push(format!("{}:{}: {line}", path.display(), n + 1));
                }
            }
        }
        assert!(found.is_empty(), "{}", found.join("\n"));
    }
}
