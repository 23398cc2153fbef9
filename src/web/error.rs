//! How failures reach clients: JSON for the API, an HTML page for browsers. Both map the same
//! [`WebError`] to the same status; 5xx details go to the log, never to the client.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::i18n::{Lang, Messages};
use crate::alerting::admin::AdminError;
use crate::auth::AuthError;
use crate::query::QueryError;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum WebError {
    #[error(transparent)]
    Query(#[from] QueryError),
    #[error("invalid query parameters: {0}")]
    BadRequest(String),
    #[error("no such path: {0}")]
    NoRoute(String),
    #[error(transparent)]
    Admin(#[from] AdminError),
    #[error("forbidden: {0}")]
    Forbidden(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error(transparent)]
    Auth(#[from] AuthError),
}

impl WebError {
    /// A request Osprey refuses as it stands (422), naming the part that is wrong.
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        WebError::Admin(AdminError::Invalid(crate::alerting::definition::DefinitionError {
            field: field.into(),
            message: message.into(),
        }))
    }
}

impl From<StoreError> for WebError {
    fn from(error: StoreError) -> Self {
        WebError::Admin(AdminError::Store(error))
    }
}

impl From<QueryRejection> for WebError {
    fn from(rejection: QueryRejection) -> Self {
        WebError::BadRequest(rejection.body_text())
    }
}

impl WebError {
    fn status(&self) -> StatusCode {
        match self {
            WebError::BadRequest(_) => StatusCode::BAD_REQUEST,
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
            WebError::Forbidden(_) => StatusCode::FORBIDDEN,
            WebError::Unauthorized(_) | WebError::Auth(AuthError::BadCredentials) => {
                StatusCode::UNAUTHORIZED
            }
            WebError::Auth(AuthError::Throttled(_)) => StatusCode::TOO_MANY_REQUESTS,
            WebError::Auth(AuthError::Invalid(_)) => StatusCode::UNPROCESSABLE_ENTITY,
            WebError::Auth(AuthError::NoSuchUser(_)) => StatusCode::NOT_FOUND,
            WebError::Auth(AuthError::UserExists(_)) => StatusCode::CONFLICT,
            WebError::Auth(AuthError::BadSetupToken) => StatusCode::FORBIDDEN,
            WebError::Auth(AuthError::Store(_)) => StatusCode::INTERNAL_SERVER_ERROR,
            WebError::Admin(AdminError::NotFound { .. }) => StatusCode::NOT_FOUND,
            WebError::Admin(AdminError::Exists { .. }) => StatusCode::CONFLICT,
            WebError::Admin(AdminError::Invalid(_)) => StatusCode::UNPROCESSABLE_ENTITY,
            WebError::Admin(AdminError::Store(_)) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            WebError::BadRequest(_) => "bad_request",
            WebError::NoRoute(_) => "not_found",
            WebError::Query(QueryError::UnknownCluster(_)) => "unknown_cluster",
            WebError::Query(QueryError::UnknownTopic { .. }) => "unknown_topic",
            WebError::Query(QueryError::UnknownGroup { .. }) => "unknown_group",
            WebError::Query(QueryError::UnknownQueue { .. }) => "unknown_queue",
            WebError::Query(QueryError::UnknownBroker { .. }) => "unknown_broker",
            WebError::Query(QueryError::NotPolledYet(_)) => "not_polled_yet",
            WebError::Query(QueryError::Store(_)) => "internal",
            WebError::Forbidden(_) => "forbidden",
            WebError::Unauthorized(_) | WebError::Auth(AuthError::BadCredentials) => "unauthorized",
            WebError::Auth(AuthError::Throttled(_)) => "throttled",
            WebError::Auth(AuthError::Invalid(_)) => "invalid",
            WebError::Auth(AuthError::NoSuchUser(_)) => "not_found",
            WebError::Auth(AuthError::UserExists(_)) => "exists",
            WebError::Auth(AuthError::BadSetupToken) => "forbidden",
            WebError::Auth(AuthError::Store(_)) => "internal",
            WebError::Admin(AdminError::NotFound { .. }) => "not_found",
            WebError::Admin(AdminError::Exists { .. }) => "exists",
            WebError::Admin(AdminError::Invalid(_)) => "invalid",
            WebError::Admin(AdminError::Store(_)) => "internal",
        }
    }

    /// The message a client may see; `None` for a 500, whose details are logged instead.
    fn public_message(&self) -> Option<String> {
        if self.status().is_server_error() && self.status() != StatusCode::SERVICE_UNAVAILABLE {
            tracing::error!(error = %self, "request failed");
            None
        } else {
            Some(self.to_string())
        }
    }
}

/// A JSON API failure: `{"error": {"code": "...", "message": "..."}}`.
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
        if let WebError::Admin(AdminError::Invalid(invalid)) = &self.0 {
            body["error"]["field"] = invalid.field.clone().into();
        }
        (self.0.status(), Json(body)).into_response()
    }
}

/// A page failure, rendered as an HTML error page in the reader's language.
#[derive(Debug)]
pub struct PageError {
    pub error: WebError,
    pub lang: Lang,
}

impl PageError {
    pub fn new(error: impl Into<WebError>, lang: Lang) -> Self {
        PageError { error: error.into(), lang }
    }

    pub fn bad_request(rejection: QueryRejection, lang: Lang) -> Self {
        PageError::new(rejection, lang)
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let status = self.error.status();
        let t = self.lang.messages();
        let title = match status {
            StatusCode::NOT_FOUND => t.not_found,
            StatusCode::SERVICE_UNAVAILABLE => t.unavailable,
            _ => t.error_title,
        };
        let fill = Messages::fill;
        let message = match &self.error {
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
            WebError::Query(QueryError::Store(_))
            | WebError::Admin(AdminError::Store(_))
            | WebError::Auth(AuthError::Store(_)) => {
                self.error.public_message().unwrap_or_else(|| t.internal_error.to_owned())
            }
            WebError::Admin(e) => e.to_string(),
            WebError::Forbidden(reason) | WebError::Unauthorized(reason) => reason.clone(),
            WebError::Auth(e) => e.to_string(),
        };
        let page = super::pages::ErrorPage::new(self.lang, title, message);
        (status, super::pages::render(&page)).into_response()
    }
}
