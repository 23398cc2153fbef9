//! How failures reach clients: JSON for the API, an HTML page for browsers. Both map the same
//! [`WebError`] to the same status; 5xx details go to the log, never to the client. A page
//! handler returns [`PageError`] with `?`; [`render_page_errors`] draws it in the reader's
//! language with the reader's header, so no handler passes its language around for errors.

use std::sync::Arc;

use axum::Json;
use axum::extract::{OriginalUri, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::AppState;
use super::i18n::{Lang, Messages};
use super::view::{ErrorPage, here, render};
use crate::alerting::admin::AdminError;
use crate::auth::{AuthError, Principal};
use crate::brokers::AdapterError;
use crate::domain::clipped;
use crate::query::QueryError;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum WebError {
    #[error(transparent)]
    Query(#[from] QueryError),
    /// A request Osprey cannot read (malformed JSON, a query parameter of the wrong type).
    #[error("{0}")]
    BadRequest(String),
    #[error("the request body is larger than the limit of {} MiB", .limit / (1024 * 1024))]
    TooLarge { limit: usize },
    #[error("no such path: {}", clipped(.0))]
    NoRoute(String),
    #[error(transparent)]
    Admin(AdminError),
    /// A request Osprey refuses as it stands (422); `field` names the form field or JSON key.
    #[error("{message}")]
    Invalid { field: Option<String>, message: String },
    /// The broker refused or failed the operation (502, or 504 when it did not answer).
    #[error("the broker failed: {0}")]
    Broker(#[from] AdapterError),
    #[error("forbidden: {0}")]
    Forbidden(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error(transparent)]
    Auth(#[from] AuthError),
}

impl WebError {
    /// A request Osprey refuses as it stands (422), naming the field that is wrong.
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        WebError::Invalid { field: Some(field.to_owned()), message: message.into() }
    }

    /// A request Osprey refuses as a whole (422), with no one field to blame.
    pub fn refused(message: impl Into<String>) -> Self {
        WebError::Invalid { field: None, message: message.into() }
    }
}

impl From<AdminError> for WebError {
    fn from(error: AdminError) -> Self {
        match error {
            AdminError::Invalid(e) => {
                WebError::Invalid { field: Some(e.field), message: e.message }
            }
            other => WebError::Admin(other),
        }
    }
}

impl From<crate::operate::Refused> for WebError {
    fn from(refused: crate::operate::Refused) -> Self {
        WebError::Invalid { field: refused.field.map(str::to_owned), message: refused.message }
    }
}

impl From<StoreError> for WebError {
    fn from(error: StoreError) -> Self {
        WebError::Admin(AdminError::Store(error))
    }
}

impl WebError {
    /// The database failure behind this error, if it is one.
    fn store_error(&self) -> Option<&StoreError> {
        match self {
            WebError::Query(QueryError::Store(e))
            | WebError::Auth(AuthError::Store(e))
            | WebError::Admin(AdminError::Store(e)) => Some(e),
            _ => None,
        }
    }

    /// The database is down or not answering (rather than refusing one query).
    pub fn store_unavailable(&self) -> bool {
        self.store_error().is_some_and(StoreError::is_unavailable)
    }

    pub fn status(&self) -> StatusCode {
        if self.store_unavailable() {
            return StatusCode::SERVICE_UNAVAILABLE;
        }
        match self {
            WebError::BadRequest(_) => StatusCode::BAD_REQUEST,
            WebError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            WebError::NoRoute(_) => StatusCode::NOT_FOUND,
            WebError::Query(
                QueryError::UnknownCluster(_)
                | QueryError::UnknownTopic { .. }
                | QueryError::UnknownGroup { .. }
                | QueryError::UnknownQueue { .. }
                | QueryError::UnknownBroker { .. },
            ) => StatusCode::NOT_FOUND,
            WebError::Query(QueryError::NotPolledYet(_)) => StatusCode::SERVICE_UNAVAILABLE,
            WebError::Query(QueryError::Store(_)) => StatusCode::INTERNAL_SERVER_ERROR,
            WebError::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            WebError::Broker(AdapterError::Timeout(_)) => StatusCode::GATEWAY_TIMEOUT,
            WebError::Broker(_) => StatusCode::BAD_GATEWAY,
            WebError::Forbidden(_) => StatusCode::FORBIDDEN,
            WebError::Unauthorized(_) | WebError::Auth(AuthError::BadCredentials) => {
                StatusCode::UNAUTHORIZED
            }
            WebError::Auth(AuthError::Throttled(_)) => StatusCode::TOO_MANY_REQUESTS,
            WebError::Auth(AuthError::Invalid(_)) => StatusCode::UNPROCESSABLE_ENTITY,
            WebError::Auth(AuthError::NoSuchUser(_)) => StatusCode::NOT_FOUND,
            WebError::Auth(AuthError::UserExists(_)) => StatusCode::CONFLICT,
            WebError::Auth(AuthError::BadSetupToken) => StatusCode::GONE,
            WebError::Auth(AuthError::Store(_)) => StatusCode::INTERNAL_SERVER_ERROR,
            WebError::Admin(AdminError::NotFound { .. }) => StatusCode::NOT_FOUND,
            WebError::Admin(AdminError::Exists { .. }) => StatusCode::CONFLICT,
            WebError::Admin(AdminError::Invalid(_)) => StatusCode::UNPROCESSABLE_ENTITY,
            WebError::Admin(AdminError::Store(_)) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn code(&self) -> &'static str {
        if self.store_unavailable() {
            return "store_unavailable";
        }
        match self {
            WebError::BadRequest(_) => "bad_request",
            WebError::TooLarge { .. } => "too_large",
            WebError::NoRoute(_) => "not_found",
            WebError::Query(QueryError::UnknownCluster(_)) => "unknown_cluster",
            WebError::Query(QueryError::UnknownTopic { .. }) => "unknown_topic",
            WebError::Query(QueryError::UnknownGroup { .. }) => "unknown_group",
            WebError::Query(QueryError::UnknownQueue { .. }) => "unknown_queue",
            WebError::Query(QueryError::UnknownBroker { .. }) => "unknown_broker",
            WebError::Query(QueryError::NotPolledYet(_)) => "not_polled_yet",
            WebError::Query(QueryError::Store(_)) => "internal",
            WebError::Invalid { .. } | WebError::Admin(AdminError::Invalid(_)) => "invalid",
            WebError::Broker(_) => "broker_error",
            WebError::Forbidden(_) => "forbidden",
            WebError::Unauthorized(_) | WebError::Auth(AuthError::BadCredentials) => "unauthorized",
            WebError::Auth(AuthError::Throttled(_)) => "throttled",
            WebError::Auth(AuthError::Invalid(_)) => "invalid",
            WebError::Auth(AuthError::NoSuchUser(_)) => "not_found",
            WebError::Auth(AuthError::UserExists(_)) => "exists",
            WebError::Auth(AuthError::BadSetupToken) => "setup_link_used",
            WebError::Auth(AuthError::Store(_)) => "internal",
            WebError::Admin(AdminError::NotFound { .. }) => "not_found",
            WebError::Admin(AdminError::Exists { .. }) => "exists",
            WebError::Admin(AdminError::Store(_)) => "internal",
        }
    }

    /// The field a 422 is about, when there is one.
    pub fn field(&self) -> Option<&str> {
        match self {
            WebError::Invalid { field, .. } => field.as_deref(),
            WebError::Admin(AdminError::Invalid(e)) => Some(&e.field),
            _ => None,
        }
    }

    /// The message a client may see; `None` for an internal failure, whose details are logged
    /// instead. Broker failures (502, 504) and "not reached yet" (503) are the client's business.
    pub fn public_message(&self) -> Option<String> {
        if self.store_unavailable() {
            tracing::warn!(error = %self, "request failed: the database is unavailable");
            return Some(STORE_UNAVAILABLE.to_owned());
        }
        let status = self.status();
        if status == StatusCode::INTERNAL_SERVER_ERROR {
            tracing::error!(error = %self, "request failed");
            None
        } else {
            if status.is_server_error() {
                tracing::warn!(error = %self, "request failed at the broker");
            }
            Some(self.to_string())
        }
    }
}

/// What readers are told while the database is down (the details go to the log).
pub const STORE_UNAVAILABLE: &str = "the database is not answering: live cluster state still \
    shows, history and settings are back when it is";

/// A JSON API failure: `{"error": {"code": "...", "message": "...", "field": "..."}}`.
#[derive(Debug)]
pub struct ApiError(pub WebError);

impl<E: Into<WebError>> From<E> for ApiError {
    fn from(error: E) -> Self {
        ApiError(error.into())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let message = self
            .0
            .public_message()
            .unwrap_or_else(|| "internal error; see the Osprey log".to_owned());
        let mut body = json!({ "error": { "code": self.0.code(), "message": message } });
        if let Some(field) = self.0.field() {
            body["error"]["field"] = field.into();
        }
        (self.0.status(), Json(body)).into_response()
    }
}

/// A page failure. Its response carries the error; [`render_page_errors`] draws the page.
#[derive(Debug)]
pub struct PageError(pub WebError);

impl PageError {
    /// An operator action's outcome as its page shows it: the value, or the error to say on
    /// the form; a refusal of the caller's right is the error page instead.
    pub fn shown<T>(outcome: Result<T, WebError>) -> Result<Result<T, String>, PageError> {
        match outcome {
            Ok(value) => Ok(Ok(value)),
            Err(e @ (WebError::Forbidden(_) | WebError::Unauthorized(_))) => Err(PageError(e)),
            Err(e) => Ok(Err(e.to_string())),
        }
    }
}

impl<E: Into<WebError>> From<E> for PageError {
    fn from(error: E) -> Self {
        PageError(error.into())
    }
}

/// The error a page handler failed with, waiting in the response for [`render_page_errors`].
#[derive(Clone)]
struct PageFailure(Arc<WebError>);

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let mut response = self.0.status().into_response();
        response.extensions_mut().insert(PageFailure(Arc::new(self.0)));
        response
    }
}

/// Draws every [`PageError`] as the error page, in the reader's language and with their header
/// (who is logged in), keeping the status the error maps to.
pub async fn render_page_errors(
    State(_): State<AppState>,
    lang: Lang,
    uri: OriginalUri,
    request: Request,
    next: Next,
) -> Response {
    let who = request.extensions().get::<Principal>().cloned().unwrap_or_else(Principal::anonymous);
    let mut response = next.run(request).await;
    match response.extensions_mut().remove::<PageFailure>() {
        Some(PageFailure(error)) => error_page(&error, lang, here(&uri), &who),
        None => response,
    }
}

/// The error page for `error`, with the status it maps to.
pub fn error_page(error: &WebError, lang: Lang, here: String, who: &Principal) -> Response {
    let (title, message) = page_text(error, lang.messages());
    let page = ErrorPage::new(lang, here, who, title, message);
    (error.status(), render(&page)).into_response()
}

/// The error page's title and message for `error`, in the reader's language where the catalog
/// has the sentence.
fn page_text(error: &WebError, t: &'static Messages) -> (&'static str, String) {
    let title = match error.status() {
        StatusCode::NOT_FOUND => t.not_found,
        StatusCode::SERVICE_UNAVAILABLE => t.unavailable,
        StatusCode::UNAUTHORIZED => t.log_in_needed,
        StatusCode::BAD_GATEWAY | StatusCode::GATEWAY_TIMEOUT => t.broker_failed,
        _ => t.error_title,
    };
    let fill = |template: &str, pairs: &[(&str, &str)]| {
        let clipped: Vec<(&str, String)> = pairs.iter().map(|(k, v)| (*k, clip(v))).collect();
        let pairs: Vec<(&str, &str)> = clipped.iter().map(|(k, v)| (*k, v.as_str())).collect();
        Messages::fill(template, &pairs)
    };
    let message = match error {
        WebError::Query(QueryError::UnknownCluster(cluster)) => {
            fill(t.err_unknown_cluster, &[("cluster", cluster)])
        }
        WebError::Query(QueryError::UnknownTopic { cluster, topic }) => {
            fill(t.err_unknown_topic, &[("cluster", cluster), ("topic", topic)])
        }
        WebError::Query(QueryError::UnknownGroup { cluster, group }) => {
            fill(t.err_unknown_group, &[("cluster", cluster), ("group", group)])
        }
        WebError::Query(QueryError::UnknownQueue { cluster, queue }) => {
            fill(t.err_unknown_queue, &[("cluster", cluster), ("queue", queue)])
        }
        WebError::Query(QueryError::UnknownBroker { cluster, broker }) => {
            fill(t.err_unknown_broker, &[("cluster", cluster), ("broker", &broker.to_string())])
        }
        WebError::Query(QueryError::NotPolledYet(cluster)) => {
            fill(t.err_not_polled, &[("cluster", cluster)])
        }
        WebError::BadRequest(detail) => fill(t.err_bad_request, &[("detail", detail)]),
        WebError::NoRoute(path) => fill(t.err_no_route, &[("path", path)]),
        WebError::Auth(AuthError::BadSetupToken) => t.setup_link_used.to_owned(),
        other => other.public_message().unwrap_or_else(|| t.internal_error.to_owned()),
    };
    (title, message)
}

/// A name as an error page repeats it: at most [`crate::domain::CLIP_CHARS`] characters.
fn clip(text: &str) -> String {
    crate::domain::shortened(text).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broker_failures_are_bad_gateway_and_shown_with_the_brokers_words() {
        let refused = WebError::from(AdapterError::Protocol("TOPIC_ALREADY_EXISTS".into()));
        assert_eq!(refused.status(), StatusCode::BAD_GATEWAY);
        assert_eq!(refused.code(), "broker_error");
        assert!(refused.public_message().unwrap().contains("TOPIC_ALREADY_EXISTS"));
        let silent = WebError::from(AdapterError::Timeout(std::time::Duration::from_secs(8)));
        assert_eq!(silent.status(), StatusCode::GATEWAY_TIMEOUT);
        assert_eq!(silent.field(), None);
    }

    #[test]
    fn invalid_requests_name_their_field_without_prefixing_the_message() {
        let e = WebError::invalid("value", "the value is not JSON");
        assert_eq!(e.to_string(), "the value is not JSON");
        assert_eq!(e.field(), Some("value"));
        assert_eq!(WebError::refused("no").field(), None);
    }

    #[test]
    fn error_pages_clip_long_names() {
        let name = "a".repeat(300);
        let (_, message) = page_text(
            &WebError::Query(QueryError::UnknownCluster(name.clone())),
            Lang::En.messages(),
        );
        assert!(!message.contains(&name));
        assert!(message.contains('…'));
    }
}
