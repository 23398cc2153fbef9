//! Who is asking, on every request: the session cookie or an API token becomes a [`Principal`];
//! reading needs a login unless `auth.anonymous_read`; every state-changing request made with a
//! session carries its CSRF token. Also the login, logout and first-admin setup pages, users,
//! API tokens and the audit log, as pages and API.

use askama::Template;
use axum::body::Body;
use axum::extract::{ConnectInfo, FromRequestParts, OriginalUri, Path, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use super::AppState;
use super::error::{ApiError, PageError, WebError, error_page};
use super::form::{ApiJson, ApiQuery, Fields, MAX_BODY, PageForm, PageQuery};
use super::format::Fmt;
use super::i18n::{Lang, Messages};
use super::view::{Chrome, render, segment};
use crate::auth::{Action, AuthError, Principal, Role, SESSION_COOKIE, Via};
use crate::clock::now_millis;
use crate::store::{AuditEntry, StoredToken, StoredUser};

mod admin;
mod api;
mod login;

use admin::*;
use api::*;
use login::*;

/// The client's address, for the audit log and the login throttle.
#[derive(Debug, Clone)]
pub struct Remote(pub String);

impl<S: Send + Sync> FromRequestParts<S> for Remote {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Remote(remote_of(parts)))
    }
}

/// The address [`authenticate`] found for the client (a trusted proxy's forwarded one, or the
/// socket's peer).
fn remote_of(parts: &Parts) -> String {
    if let Some(remote) = parts.extensions.get::<Remote>() {
        return remote.0.clone();
    }
    parts
        .extensions
        .get::<ConnectInfo<std::net::SocketAddr>>()
        .map_or_else(|| "unknown".to_owned(), |c| c.0.ip().to_string())
}

fn client_of(auth: &crate::auth::Auth, parts: &Parts) -> Remote {
    let peer = parts.extensions.get::<ConnectInfo<std::net::SocketAddr>>().map(|c| c.0.ip());
    let forwarded: Vec<&str> =
        parts.headers.get_all("x-forwarded-for").iter().filter_map(|v| v.to_str().ok()).collect();
    Remote(auth.client_of(peer, &forwarded))
}

impl<S: Send + Sync> FromRequestParts<S> for Principal {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(parts.extensions.get::<Principal>().cloned().unwrap_or_else(Principal::anonymous))
    }
}

fn cookie<'a>(parts: &'a Parts, name: &str) -> Option<&'a str> {
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| c.split(';').find_map(|kv| kv.trim().strip_prefix(name)?.strip_prefix('=')))
}

fn bearer(parts: &Parts) -> Option<&str> {
    bearer_of(&parts.headers)
}

/// The token of an `Authorization: Bearer …` header.
pub fn bearer_of(headers: &axum::http::HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
}

/// Paths anyone may open: logging in, first-admin setup, health checks, assets, the language
/// switch. `/metrics` checks its own token.
fn is_open(path: &str) -> bool {
    matches!(
        path,
        "/login"
            | "/setup"
            | "/healthz"
            | "/readyz"
            | "/status/history"
            | "/metrics"
            | "/api/v1/session"
    ) || path.starts_with("/static/")
        || path.starts_with("/lang/")
}

pub async fn authenticate(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let (mut parts, body) = request.into_parts();
    let now = now_millis();
    let auth = &state.auth;
    let client = client_of(auth, &parts);
    parts.extensions.insert(client);
    let path = parts.uri.path().to_owned();
    let api = path.starts_with("/api/");
    let resolved = match (cookie(&parts, SESSION_COOKIE), bearer(&parts)) {
        (_, Some(token)) if path != "/metrics" => match auth.from_token(token, now).await {
            Ok(Some(principal)) => Ok(principal),
            Ok(None) => return unauthorized(api, &path, "the API token is not valid"),
            Err(e) => Err(e),
        },
        (Some(session), _) => {
            auth.from_session(session, now).await.map(|p| p.unwrap_or_else(Principal::anonymous))
        }
        _ => Ok(Principal::anonymous()),
    };
    let principal = match resolved {
        Ok(principal) => principal,
        Err(e) => {
            tracing::error!(error = %e, "cannot check the login");
            return ApiError(WebError::from(e)).into_response();
        }
    };

    if !principal.has(Role::Viewer) && !auth.config().anonymous_read && !is_open(&path) {
        return unauthorized(api, &path, "log in first");
    }

    let mut body = body;
    let changes = !matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
    // A browser sends cookies with a cross-site form too: no change (a login included) may come
    // from another site. API tokens are never sent unasked, so they are not checked.
    let public = state.alerting.settings.public_url.as_deref();
    if changes && !matches!(principal.via, Via::Token) && is_cross_site(&parts.headers, public) {
        let remote = remote_of(&parts);
        let what = Action { action: "origin.check", cluster: None, object: Some(&path) };
        auth.record(&principal, what, "denied", Some("cross-site request"), Some(&remote), now)
            .await;
        let error = WebError::Forbidden("changes are only accepted from Osprey's own pages".into());
        return refuse(api, &mut parts, &principal, error).await;
    }
    if let (true, Via::Session { csrf, .. }) = (changes, &principal.via) {
        let from_header =
            parts.headers.get("x-csrf-token").and_then(|v| v.to_str().ok()).map(str::to_owned);
        let sent = match from_header {
            Some(token) => Some(token),
            None => {
                let bytes = match axum::body::to_bytes(body, MAX_BODY).await {
                    Ok(bytes) => bytes,
                    Err(_) => {
                        let error = WebError::TooLarge { limit: MAX_BODY };
                        return refuse(api, &mut parts, &principal, error).await;
                    }
                };
                let token = url::form_urlencoded::parse(&bytes)
                    .find(|(k, _)| k == "_csrf")
                    .map(|(_, v)| v.into_owned());
                body = Body::from(bytes);
                token
            }
        };
        if sent.as_deref() != Some(csrf.as_str()) {
            let remote = remote_of(&parts);
            let what = Action { action: "csrf.check", cluster: None, object: Some(&path) };
            auth.record(
                &principal,
                what,
                "denied",
                Some("missing or wrong CSRF token"),
                Some(&remote),
                now,
            )
            .await;
            let error = WebError::Forbidden(
                "the form is missing its security token or it expired; reload the page and try again".into(),
            );
            return refuse(api, &mut parts, &principal, error).await;
        }
    }
    parts.extensions.insert(principal);
    next.run(Request::from_parts(parts, body)).await
}

/// Whether a request comes from another site: the browser says so (`Sec-Fetch-Site:
/// cross-site`), or its `Origin` names another host than the one it was sent to (`Host`, a
/// proxy's `X-Forwarded-Host`, or `alerts.public_url`'s).
fn is_cross_site(headers: &axum::http::HeaderMap, public_url: Option<&str>) -> bool {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if text("sec-fetch-site") == Some("cross-site") {
        return true;
    }
    let authority = |url: &url::Url| match (url.host_str(), url.port()) {
        (Some(h), Some(p)) => format!("{h}:{p}"),
        (Some(h), None) => h.to_owned(),
        _ => String::new(),
    };
    let Some(origin) = text("origin") else { return false };
    let Some(origin) = url::Url::parse(origin).ok().map(|o| authority(&o)) else { return true };
    let public = public_url.and_then(|u| url::Url::parse(u).ok()).map(|u| authority(&u));
    // A proxy may list several forwarded hosts (the first is the client's), and a Host header
    // may spell out the default port the Origin leaves out.
    let forwarded = text("x-forwarded-host").and_then(|h| h.split(',').next()).map(str::trim);
    let ours = [text("host").map(str::to_owned), forwarded.map(str::to_owned), public];
    let bare = |host: &str| {
        host.strip_suffix(":443").or_else(|| host.strip_suffix(":80")).unwrap_or(host).to_owned()
    };
    !ours
        .into_iter()
        .flatten()
        .any(|host| !host.is_empty() && bare(&host).eq_ignore_ascii_case(&bare(&origin)))
}

/// Answers a request the middleware refuses: JSON for the API, the error page otherwise.
async fn refuse(api: bool, parts: &mut Parts, who: &Principal, error: WebError) -> Response {
    if api {
        ApiError(error).into_response()
    } else {
        let Ok(lang) = Lang::from_request_parts(parts, &()).await;
        let here = parts.uri.path_and_query().map_or("/", |pq| pq.as_str()).to_owned();
        error_page(&error, lang, here, who)
    }
}

fn unauthorized(api: bool, path: &str, why: &str) -> Response {
    if api {
        ApiError(WebError::Unauthorized(why.to_owned())).into_response()
    } else {
        Redirect::to(&format!("/login?next={}", segment(path))).into_response()
    }
}

/// Lets `who` do `what` when they have `role`; otherwise records the refusal and answers 401
/// (nobody logged in) or 403.
async fn allow(
    state: &AppState,
    who: &Principal,
    role: Role,
    what: Action<'_>,
    remote: &Remote,
) -> Result<(), WebError> {
    if who.has(role) {
        return Ok(());
    }
    let detail = format!("needs the {} role", role.as_str());
    state.auth.record(who, what, "denied", Some(&detail), Some(&remote.0), now_millis()).await;
    Err(if who.is_logged_in() {
        WebError::Forbidden(format!("{} may not do this: it {detail}", who.name))
    } else {
        WebError::Unauthorized(format!("log in first: this {detail}"))
    })
}

/// Records how an allowed action ended and passes its result on.
async fn audited<T, E: std::fmt::Display>(
    state: &AppState,
    who: &Principal,
    what: Action<'_>,
    remote: &Remote,
    result: Result<T, E>,
) -> Result<T, E> {
    let (outcome, detail) = match &result {
        Ok(_) => ("ok", None),
        Err(e) => ("failed", Some(e.to_string())),
    };
    state.auth.record(who, what, outcome, detail.as_deref(), Some(&remote.0), now_millis()).await;
    result
}

/// Who is asking and from where: what a handler that changes something needs.
pub struct Caller {
    pub who: Principal,
    pub remote: Remote,
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Ok(who) = Principal::from_request_parts(parts, state).await;
        Ok(Caller { who, remote: Remote(remote_of(parts)) })
    }
}

impl Caller {
    /// Checks that the caller has `role` for something that changes nothing (a page, a
    /// browse); a refusal is audited.
    pub async fn require(
        &self,
        state: &AppState,
        role: Role,
        what: Action<'_>,
    ) -> Result<(), WebError> {
        allow(state, &self.who, role, what, &self.remote).await
    }

    /// Checks that the caller has `role`, runs `action`, and writes one audit row: "denied"
    /// when the role is missing (the outer error; `action` does not run), else "ok", or
    /// "failed" with the action's error (the inner result, passed on as it came).
    pub async fn act<T, E: std::fmt::Display>(
        &self,
        state: &AppState,
        role: Role,
        what: Action<'_>,
        action: impl Future<Output = Result<T, E>>,
    ) -> Result<Result<T, E>, WebError> {
        self.act_summarized(state, role, what, action, |_| (true, None)).await
    }

    /// [`Caller::act`] for an operator tool on a cluster: checks the role, then — inside the
    /// audited action, so a refusal is recorded too — picks the cluster's client with `client`
    /// and, when the tool `changes` something, checks the cluster's `read_only` switch; then runs
    /// `action` on the client.
    pub async fn act_on<'s, C: ?Sized + 's, T>(
        &self,
        state: &'s AppState,
        (role, changes): (Role, bool),
        what: Action<'_>,
        client: impl FnOnce(&'s super::Operators) -> Result<&'s C, WebError>,
        action: impl AsyncFnOnce(&C) -> Result<T, WebError>,
    ) -> Result<T, WebError> {
        let cluster = what.cluster.unwrap_or_default();
        let acted = async {
            let client = client(&state.operators)?;
            if changes {
                state.operators.writable(cluster)?;
            }
            action(client).await
        };
        self.act(state, role, what, acted).await?
    }

    /// [`Caller::act`] for an action whose success may hide partial failures: `summarize`
    /// says whether it went wholly well and what the audit row's detail is.
    pub async fn act_summarized<T, E: std::fmt::Display>(
        &self,
        state: &AppState,
        role: Role,
        what: Action<'_>,
        action: impl Future<Output = Result<T, E>>,
        summarize: impl FnOnce(&T) -> (bool, Option<String>),
    ) -> Result<Result<T, E>, WebError> {
        allow(state, &self.who, role, what.clone(), &self.remote).await?;
        let result = action.await;
        let (outcome, detail) = match &result {
            Ok(value) => match summarize(value) {
                (true, detail) => ("ok", detail),
                (false, detail) => ("failed", detail),
            },
            Err(e) => ("failed", Some(e.to_string())),
        };
        state
            .auth
            .record(&self.who, what, outcome, detail.as_deref(), Some(&self.remote.0), now_millis())
            .await;
        Ok(result)
    }
}

/// What every page handler is given in one extractor: the reader's language, who is asking (and
/// from where), and the address the page was asked with, for its header and language switch.
pub struct Page {
    pub lang: Lang,
    pub uri: OriginalUri,
    pub caller: Caller,
}

impl<S: Send + Sync> FromRequestParts<S> for Page {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Ok(lang) = Lang::from_request_parts(parts, state).await;
        let Ok(caller) = Caller::from_request_parts(parts, state).await;
        let uri = match OriginalUri::from_request_parts(parts, state).await {
            Ok(uri) => uri,
            Err(never) => match never {},
        };
        Ok(Page { lang, uri, caller })
    }
}

pub fn pages() -> Router<AppState> {
    Router::new()
        .route("/login", get(login_page).post(login_form))
        .route("/logout", post(logout_form))
        .route("/setup", get(setup_page).post(setup_form))
        .route("/admin/users", get(users_page).post(create_user_form))
        .route("/admin/users/{name}", post(update_user_form))
        .route("/admin/users/{name}/delete", post(delete_user_form))
        .route("/admin/tokens", get(tokens_page).post(create_token_form))
        .route("/admin/tokens/{id}/delete", post(delete_token_form))
        .route("/audit", get(audit_page))
}

pub fn api() -> Router<AppState> {
    Router::new()
        .route("/session", post(login_api).delete(logout_api))
        .route("/me", get(me_api))
        .route("/users", get(users_api).post(create_user_api))
        .route("/users/{name}", axum::routing::put(update_user_api).delete(delete_user_api))
        .route("/tokens", get(tokens_api).post(create_token_api))
        .route("/tokens/{id}", axum::routing::delete(delete_token_api))
        .route("/audit", get(audit_api))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_stays_on_this_site() {
        assert_eq!(safe_next(Some("/alerts?x=1")), "/alerts?x=1");
        assert_eq!(safe_next(Some("//evil.example")), "/");
        assert_eq!(safe_next(Some("https://evil.example")), "/");
        assert_eq!(safe_next(None), "/");
    }

    #[test]
    fn requests_from_other_sites_are_told_apart() {
        let headers = |pairs: &[(&'static str, &'static str)]| {
            let mut map = axum::http::HeaderMap::new();
            for (k, v) in pairs {
                map.insert(*k, axum::http::HeaderValue::from_static(v));
            }
            map
        };
        assert!(
            !is_cross_site(&headers(&[("host", "osprey:8080")]), None),
            "no Origin: a script or curl"
        );
        assert!(!is_cross_site(
            &headers(&[("host", "osprey:8080"), ("origin", "http://osprey:8080")]),
            None
        ));
        assert!(!is_cross_site(&headers(&[("sec-fetch-site", "same-origin")]), None));
        let proxied = [("host", "127.0.0.1:8080"), ("origin", "https://osprey.example.com")];
        assert!(!is_cross_site(&headers(&proxied), Some("https://osprey.example.com/")));
        let forwarded = [
            ("host", "127.0.0.1:8080"),
            ("x-forwarded-host", "osprey.example.com, 10.0.0.1"),
            ("origin", "https://osprey.example.com"),
        ];
        assert!(!is_cross_site(&headers(&forwarded), None));
        let default_port =
            [("host", "osprey.example.com:443"), ("origin", "https://osprey.example.com")];
        assert!(!is_cross_site(&headers(&default_port), None));
        assert!(is_cross_site(
            &headers(&[("host", "osprey:8080"), ("origin", "https://evil.example")]),
            None
        ));
        assert!(is_cross_site(
            &headers(&[("host", "osprey:8080"), ("origin", "http://osprey:9090")]),
            None
        ));
        assert!(is_cross_site(&headers(&[("host", "osprey:8080"), ("origin", "null")]), None));
        assert!(is_cross_site(&headers(&[("sec-fetch-site", "cross-site")]), None));
    }

    #[test]
    fn open_paths_are_few() {
        assert!(is_open("/login") && is_open("/healthz") && is_open("/static/v1/app.css"));
        assert!(!is_open("/") && !is_open("/alerts") && !is_open("/api/v1/clusters"));
    }
}
