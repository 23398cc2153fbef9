//! What requests carry in: form fields, times, and the extractors that read JSON, query strings
//! and forms and answer a malformed or oversized one in Osprey's own format (JSON for the API,
//! the error page for browsers), with one body limit for all of them.

use std::time::Duration;

use axum::Json;
use axum::extract::rejection::{FormRejection, JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, OptionalFromRequest, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::error::{ApiError, PageError, WebError};
use crate::alerting::definition::DefinitionError;
use crate::domain::Millis;
use crate::duration_text;

/// A refused form's error and the field it is about; the page puts it beside that field, or
/// above the form when no one field is to blame.
#[derive(Debug, Clone, Default)]
pub struct FormError {
    pub field: Option<String>,
    pub message: String,
}

impl FormError {
    /// The message, when it is about `field`.
    pub fn at(&self, field: &str) -> Option<&str> {
        (self.field.as_deref() == Some(field)).then_some(self.message.as_str())
    }

    /// The message, when no field with a place for it on the form (`placed`) is to blame: it
    /// then stands above the form.
    pub fn above(&self, placed: &[&str]) -> Option<&str> {
        match self.field.as_deref() {
            Some(field) if placed.contains(&field) => None,
            _ => Some(self.message.as_str()),
        }
    }
}

/// A page whose form shows each error beside the field it is about (`_form.html`'s
/// `field_error` macro), and above the form when no field with a place for it is to blame.
pub trait FieldErrors {
    /// The refused form's error, if any.
    fn form_refusal(&self) -> Option<&FormError>;
    /// The fields that have a place for their error on the form.
    fn placed_fields(&self) -> &'static [&'static str];

    /// The error, when it is about `field`.
    fn error_at(&self, field: &str) -> Option<&str> {
        self.form_refusal()?.at(field)
    }

    /// The error, when no field with a place for it is to blame.
    fn form_error(&self) -> Option<&str> {
        self.form_refusal()?.above(self.placed_fields())
    }
}

impl From<&WebError> for FormError {
    fn from(error: &WebError) -> Self {
        FormError { field: error.field().map(str::to_owned), message: error.to_string() }
    }
}

impl From<&crate::alerting::admin::AdminError> for FormError {
    fn from(error: &crate::alerting::admin::AdminError) -> Self {
        match error {
            crate::alerting::admin::AdminError::Invalid(e) => {
                FormError { field: Some(e.field.clone()), message: e.message.clone() }
            }
            other => FormError { field: None, message: other.to_string() },
        }
    }
}

/// Largest request body Osprey reads: forms, JSON and the CSRF check alike (a mock-sent
/// message may be large; the topic's own size limit is checked after reading).
pub const MAX_BODY: usize = 16 * 1024 * 1024;

/// A submitted form as name/value pairs (a name may repeat, as checkboxes do).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(transparent)]
pub struct Fields(pub Vec<(String, String)>);

impl Fields {
    pub fn push(&mut self, name: &str, value: impl Into<String>) {
        self.0.push((name.to_owned(), value.into()));
    }

    /// The first value of `name`, trimmed; empty when absent.
    pub fn value(&self, name: &str) -> &str {
        self.0.iter().find(|(n, _)| n == name).map_or("", |(_, v)| v.trim())
    }

    /// The first value of `name` exactly as sent (message bodies keep their spacing).
    pub fn raw(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    pub fn opt(&self, name: &str) -> Option<String> {
        Some(self.value(name)).filter(|v| !v.is_empty()).map(str::to_owned)
    }

    pub fn all(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(n, _)| n == name)
            .flat_map(|(_, v)| v.split([',', '\n']).map(str::trim).map(str::to_owned))
            .filter(|v| !v.is_empty())
            .collect()
    }

    /// The `Name: value` lines of text field `name` (headers, properties), in order; a line
    /// without a colon is an error naming the field.
    pub fn name_values(&self, name: &str) -> Result<Vec<(String, String)>, super::error::WebError> {
        let lines = self.value(name).lines().map(str::trim).filter(|l| !l.is_empty());
        lines
            .map(|line| {
                let (key, value) = line.split_once(':').ok_or_else(|| {
                    let shown = crate::domain::clipped(line);
                    super::error::WebError::invalid(name, format!("{shown} is not \"Name: value\""))
                })?;
                Ok((key.trim().to_owned(), value.trim().to_owned()))
            })
            .collect()
    }

    /// Whether `name` has `value` among its values (checkboxes, selects).
    pub fn has(&self, name: &str, value: &str) -> bool {
        self.all(name).iter().any(|v| v == value)
    }

    pub fn parse<T: std::str::FromStr>(
        &self,
        name: &str,
        what: &str,
    ) -> Result<Option<T>, DefinitionError> {
        self.opt(name)
            .map(|v| {
                v.parse().map_err(|_| DefinitionError {
                    field: name.into(),
                    message: format!("{v:?} is not {what}"),
                })
            })
            .transpose()
    }

    pub fn duration(&self, name: &str) -> Result<Option<Duration>, DefinitionError> {
        self.opt(name)
            .map(|v| {
                duration_text::parse(&v)
                    .map_err(|message| DefinitionError { field: name.into(), message })
            })
            .transpose()
    }
}

/// Epoch milliseconds, or a UTC date and time `YYYY-MM-DD[ HH:MM[:SS]]`, refused naming the
/// `time` field.
pub fn parse_time(text: &str) -> Result<Millis, WebError> {
    crate::clock::parse_utc(text).map_err(|message| WebError::invalid("time", message))
}

/// Why a body or query string could not be read, as Osprey says it.
fn rejected(status: StatusCode, text: String, what: &str) -> WebError {
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        return WebError::TooLarge { limit: MAX_BODY };
    }
    // axum's texts start with a sentence of its own ("Failed to deserialize …: "); what
    // follows names the problem, with serde's path to the field.
    let detail = match text.split_once(": ") {
        Some((head, rest)) if head.starts_with("Failed") => rest,
        _ => text.as_str(),
    };
    WebError::BadRequest(format!("{what}: {}", detail.trim()))
}

fn json_error(rejection: JsonRejection) -> WebError {
    rejected(rejection.status(), rejection.body_text(), "invalid JSON body")
}

fn query_error(rejection: QueryRejection) -> WebError {
    rejected(rejection.status(), rejection.body_text(), "invalid query parameters")
}

fn form_error(rejection: FormRejection) -> WebError {
    rejected(rejection.status(), rejection.body_text(), "invalid form")
}

/// A JSON body; a malformed or oversized one is answered as an [`ApiError`].
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        match <Json<T> as FromRequest<S>>::from_request(request, state).await {
            Ok(Json(value)) => Ok(ApiJson(value)),
            Err(rejection) => Err(ApiError(json_error(rejection))),
        }
    }
}

/// An optional JSON body: none without a `Content-Type`, else read like [`ApiJson`] (so a
/// malformed one is refused, not ignored).
impl<S: Send + Sync, T: DeserializeOwned> OptionalFromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Option<Self>, Self::Rejection> {
        if request.headers().get(axum::http::header::CONTENT_TYPE).is_none() {
            return Ok(None);
        }
        <ApiJson<T> as FromRequest<S>>::from_request(request, state).await.map(Some)
    }
}

/// Query parameters of an API call; wrong ones are answered as an [`ApiError`].
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(ApiQuery(value)),
            Err(rejection) => Err(ApiError(query_error(rejection))),
        }
    }
}

/// Query parameters of a page; wrong ones are answered with the error page.
pub struct PageQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for PageQuery<T> {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(PageQuery(value)),
            Err(rejection) => Err(PageError(query_error(rejection))),
        }
    }
}

/// A submitted form; an unreadable or oversized one is answered with the error page.
pub struct PageForm<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for PageForm<T> {
    type Rejection = PageError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Form::<T>::from_request(request, state).await {
            Ok(axum::Form(value)) => Ok(PageForm(value)),
            Err(rejection) => Err(PageError(form_error(rejection))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejections_keep_the_field_path_and_drop_axums_wording() {
        let e = rejected(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Failed to deserialize the JSON body into the target type: count: invalid type: string \"x\", expected usize at line 1 column 12".into(),
            "invalid JSON body",
        );
        assert_eq!(
            e.to_string(),
            "invalid JSON body: count: invalid type: string \"x\", expected usize at line 1 column 12"
        );
        let big = rejected(StatusCode::PAYLOAD_TOO_LARGE, "length limit exceeded".into(), "x");
        assert_eq!(big.status(), StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(big.to_string(), "the request body is larger than the limit of 16 MiB");
    }

    #[test]
    fn a_form_error_stands_beside_its_field_or_above_the_form_when_the_field_has_no_place() {
        let error = FormError::from(&WebError::invalid("value", "the value is not JSON"));
        assert_eq!(error.at("value"), Some("the value is not JSON"));
        assert_eq!(error.above(&["key", "value"]), None);
        // A field the form shows nowhere (the cluster) is never lost: it goes above the form.
        let elsewhere = FormError::from(&WebError::invalid("cluster", "not a Kafka cluster"));
        assert_eq!(elsewhere.above(&["key", "value"]), Some("not a Kafka cluster"));
        assert_eq!(FormError::from(&WebError::refused("no")).above(&["value"]), Some("no"));
    }

    #[test]
    fn times_read_as_epoch_milliseconds_or_utc_dates() {
        assert_eq!(parse_time("1700000000000").unwrap(), 1_700_000_000_000);
        assert_eq!(parse_time("1970-01-02").unwrap(), 86_400_000);
        assert_eq!(parse_time("1970-01-01 00:01:05").unwrap(), 65_000);
        assert!(parse_time("yesterday").is_err());
    }
}
