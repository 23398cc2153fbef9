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

/// The client's address, for the audit log and the login throttle.
#[derive(Debug, Clone)]
pub struct Remote(pub String);

impl<S: Send + Sync> FromRequestParts<S> for Remote {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Remote(remote_of(parts)))
    }
}

fn remote_of(parts: &Parts) -> String {
    parts
        .extensions
        .get::<ConnectInfo<std::net::SocketAddr>>()
        .map_or_else(|| "unknown".to_owned(), |c| c.0.ip().to_string())
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
    matches!(path, "/login" | "/setup" | "/healthz" | "/readyz" | "/metrics" | "/api/v1/session")
        || path.starts_with("/static/")
        || path.starts_with("/lang/")
}

pub async fn authenticate(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let (mut parts, body) = request.into_parts();
    let now = now_millis();
    let auth = &state.auth;
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
pub async fn allow(
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
pub async fn audited<T, E: std::fmt::Display>(
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

fn session_cookie(value: &str, max_age_secs: i64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    let text = format!(
        "{SESSION_COOKIE}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_secs}{secure}"
    );
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// Cookies are `Secure` when the request came over HTTPS (directly or through a proxy that
/// says so) or the configured public URL is HTTPS.
fn over_https(state: &AppState, parts_headers: &axum::http::HeaderMap) -> bool {
    parts_headers.get("x-forwarded-proto").is_some_and(|v| v == "https")
        || state.alerting.settings.public_url.as_deref().is_some_and(|u| u.starts_with("https://"))
}

/// Only paths on this site: `next` must not become an open redirect.
fn safe_next(next: Option<&str>) -> String {
    next.filter(|n| n.starts_with('/') && !n.starts_with("//") && !n.contains('\\'))
        .unwrap_or("/")
        .to_owned()
}

#[derive(Template)]
#[template(path = "login.html")]
pub struct LoginPage {
    t: &'static Messages,
    chrome: Chrome,
    next: String,
    username: String,
    error: Option<String>,
    setup_pending: bool,
}

#[derive(Debug, Default, Deserialize)]
pub struct NextParam {
    next: Option<String>,
}

async fn login_page(
    State(state): State<AppState>,
    lang: Lang,
    who: Principal,
    PageQuery(q): PageQuery<NextParam>,
) -> Response {
    render(&LoginPage {
        t: lang.messages(),
        chrome: Chrome::new(lang, "/login".into(), None, &who),
        next: safe_next(q.next.as_deref()),
        username: String::new(),
        error: None,
        setup_pending: state.auth.setup_pending(),
    })
}

async fn login_form(
    State(state): State<AppState>,
    lang: Lang,
    who: Principal,
    remote: Remote,
    headers: axum::http::HeaderMap,
    PageForm(f): PageForm<Fields>,
) -> Response {
    let (username, next) = (f.value("username").to_owned(), safe_next(Some(f.value("next"))));
    let now = now_millis();
    match state.auth.login(&username, f.value("password"), &remote.0, now).await {
        Ok(session) => {
            let who = Principal { name: username.clone(), role: None, via: Via::Token };
            let what = Action { action: "login", ..Action::default() };
            state.auth.record(&who, what, "ok", None, Some(&remote.0), now).await;
            let max_age = (session.expires_at - now) / 1000;
            let mut response = Redirect::to(&next).into_response();
            response.headers_mut().insert(
                header::SET_COOKIE,
                session_cookie(&session.cookie, max_age, over_https(&state, &headers)),
            );
            response
        }
        Err(e) => {
            let failed = Principal { name: username.clone(), role: None, via: Via::Anonymous };
            let what = Action { action: "login", ..Action::default() };
            state
                .auth
                .record(&failed, what, "denied", Some(&e.to_string()), Some(&remote.0), now)
                .await;
            let status = match e {
                AuthError::Throttled(_) => StatusCode::TOO_MANY_REQUESTS,
                AuthError::BadCredentials => StatusCode::UNAUTHORIZED,
                _ => StatusCode::INTERNAL_SERVER_ERROR,
            };
            let message = match &e {
                AuthError::Throttled(secs) => {
                    Messages::fill(lang.messages().login_throttled, &[("secs", &secs.to_string())])
                }
                AuthError::BadCredentials => lang.messages().login_failed.to_owned(),
                other => {
                    tracing::error!(error = %other, "login failed");
                    lang.messages().internal_error.to_owned()
                }
            };
            let page = LoginPage {
                t: lang.messages(),
                chrome: Chrome::new(lang, "/login".into(), None, &who),
                next,
                username,
                error: Some(message),
                setup_pending: state.auth.setup_pending(),
            };
            (status, render(&page)).into_response()
        }
    }
}

fn clear_cookie(response: &mut Response) {
    response.headers_mut().insert(header::SET_COOKIE, session_cookie("", 0, false));
}

async fn logout_form(State(state): State<AppState>, parts: RequestCookies) -> Response {
    if let Some(value) = parts.0 {
        let _ = state.auth.logout(&value).await;
    }
    let mut response = Redirect::to("/login").into_response();
    clear_cookie(&mut response);
    response
}

/// The session cookie's value, if the request has one.
pub struct RequestCookies(Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for RequestCookies {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(RequestCookies(cookie(parts, SESSION_COOKIE).map(str::to_owned)))
    }
}

#[derive(Template)]
#[template(path = "setup.html")]
pub struct SetupPage {
    t: &'static Messages,
    chrome: Chrome,
    token: String,
    username: String,
    error: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct TokenParam {
    #[serde(default)]
    token: String,
}

async fn setup_page(
    State(state): State<AppState>,
    lang: Lang,
    who: Principal,
    PageQuery(q): PageQuery<TokenParam>,
) -> Result<Response, PageError> {
    if !state.auth.setup_link_valid(&q.token) {
        return Err(PageError(WebError::Auth(AuthError::BadSetupToken)));
    }
    Ok(render(&SetupPage {
        t: lang.messages(),
        chrome: Chrome::new(lang, "/setup".into(), None, &who),
        token: q.token,
        username: "admin".into(),
        error: None,
    }))
}

/// Creates the first admin and logs them in; a used or wrong link answers 410.
async fn setup_form(
    State(state): State<AppState>,
    lang: Lang,
    who: Principal,
    remote: Remote,
    headers: axum::http::HeaderMap,
    PageForm(f): PageForm<Fields>,
) -> Result<Response, PageError> {
    let username = f.value("username").to_owned();
    let now = now_millis();
    let created = if f.value("password") != f.value("password2") {
        Err(lang.messages().passwords_differ.to_owned())
    } else {
        match state.auth.setup(f.value("token"), &username, f.value("password"), now).await {
            Ok(session) => Ok(session),
            Err(AuthError::BadSetupToken) => {
                return Err(PageError(WebError::Auth(AuthError::BadSetupToken)));
            }
            Err(e) => Err(e.to_string()),
        }
    };
    let admin = Principal { name: username.clone(), role: Some(Role::Admin), via: Via::Anonymous };
    let what = Action { action: "setup.first_admin", cluster: None, object: Some(&username) };
    let (result, detail) = match &created {
        Ok(_) => ("ok", None),
        Err(e) => ("denied", Some(e.as_str())),
    };
    state.auth.record(&admin, what, result, detail, Some(&remote.0), now).await;
    match created {
        Ok(session) => {
            let max_age = (session.expires_at - now) / 1000;
            let mut response = Redirect::to("/").into_response();
            response.headers_mut().insert(
                header::SET_COOKIE,
                session_cookie(&session.cookie, max_age, over_https(&state, &headers)),
            );
            Ok(response)
        }
        Err(error) => {
            let page = SetupPage {
                t: lang.messages(),
                chrome: Chrome::new(lang, "/setup".into(), None, &who),
                token: f.value("token").to_owned(),
                username,
                error: Some(error),
            };
            Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)).into_response())
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Users, tokens, audit (admin)

#[derive(Template)]
#[template(path = "users.html")]
pub struct UsersPage {
    t: &'static Messages,
    f: Fmt,
    chrome: Chrome,
    users: Vec<StoredUser>,
    roles: Vec<&'static str>,
    flash: Option<String>,
    error: Option<String>,
}

async fn users_view(
    state: &AppState,
    lang: Lang,
    who: &Principal,
    flash: Option<String>,
    error: Option<String>,
) -> Result<Response, PageError> {
    let users = state.auth.users().await.map_err(|e| PageError::from(WebError::from(e)))?;
    let status = if error.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    let page = UsersPage {
        t: lang.messages(),
        f: Fmt::new(lang, now_millis()),
        chrome: Chrome::new(lang, "/admin/users".into(), None, who),
        users,
        roles: Role::ALL.iter().map(|r| r.as_str()).collect(),
        flash,
        error,
    };
    Ok((status, render(&page)).into_response())
}

#[derive(Debug, Default, Deserialize)]
pub struct DoneParam {
    done: Option<String>,
}

async fn users_page(
    State(state): State<AppState>,
    lang: Lang,
    who: Principal,
    remote: Remote,
    PageQuery(q): PageQuery<DoneParam>,
) -> Result<Response, PageError> {
    let what = Action { action: "users.read", ..Action::default() };
    allow(&state, &who, Role::Admin, what, &remote).await?;
    users_view(&state, lang, &who, q.done, None).await
}

/// Runs an admin change from a form: checks the role, records the outcome, then shows the list
/// with a notice or the error.
async fn user_change(
    state: &AppState,
    lang: Lang,
    who: &Principal,
    remote: &Remote,
    what: Action<'_>,
    done: String,
    change: impl std::future::Future<Output = Result<(), AuthError>>,
) -> Result<Response, PageError> {
    allow(state, who, Role::Admin, what.clone(), remote).await?;
    match audited(state, who, what, remote, change.await).await {
        Ok(()) => {
            Ok(Redirect::to(&format!("/admin/users?done={}", segment(&done))).into_response())
        }
        Err(AuthError::Store(e)) => Err(PageError::from(WebError::from(e))),
        Err(e) => users_view(state, lang, who, None, Some(e.to_string())).await,
    }
}

async fn create_user_form(
    State(state): State<AppState>,
    lang: Lang,
    who: Principal,
    remote: Remote,
    PageForm(f): PageForm<Fields>,
) -> Result<Response, PageError> {
    let name = f.value("username").to_owned();
    let role = Role::parse(f.value("role")).unwrap_or(Role::Viewer);
    let what = Action { action: "user.create", cluster: None, object: Some(&name) };
    let change = state.auth.create_user(&name, f.value("password"), role, now_millis());
    user_change(&state, lang, &who, &remote, what, format!("{name} ({})", role.as_str()), change)
        .await
}

async fn update_user_form(
    State(state): State<AppState>,
    lang: Lang,
    who: Principal,
    remote: Remote,
    Path(name): Path<String>,
    PageForm(f): PageForm<Fields>,
) -> Result<Response, PageError> {
    let role = Role::parse(f.value("role"));
    let password = Some(f.value("password")).filter(|p| !p.is_empty());
    let what = Action { action: "user.update", cluster: None, object: Some(&name) };
    let change = state.auth.update_user(&name, role, password, now_millis());
    user_change(&state, lang, &who, &remote, what, name.clone(), change).await
}

async fn delete_user_form(
    State(state): State<AppState>,
    lang: Lang,
    who: Principal,
    remote: Remote,
    Path(name): Path<String>,
) -> Result<Response, PageError> {
    let what = Action { action: "user.delete", cluster: None, object: Some(&name) };
    let change = state.auth.delete_user(&name);
    user_change(&state, lang, &who, &remote, what, name.clone(), change).await
}

#[derive(Template)]
#[template(path = "tokens.html")]
pub struct TokensPage {
    t: &'static Messages,
    f: Fmt,
    chrome: Chrome,
    tokens: Vec<StoredToken>,
    users: Vec<String>,
    created: Option<String>,
    error: Option<String>,
}

async fn tokens_view(
    state: &AppState,
    lang: Lang,
    who: &Principal,
    created: Option<String>,
    error: Option<String>,
) -> Result<Response, PageError> {
    let fail = |e: AuthError| PageError::from(WebError::from(e));
    let tokens = state.auth.tokens().await.map_err(fail)?;
    let users = state.auth.users().await.map_err(fail)?;
    let status = if error.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    let page = TokensPage {
        t: lang.messages(),
        f: Fmt::new(lang, now_millis()),
        chrome: Chrome::new(lang, "/admin/tokens".into(), None, who),
        tokens,
        users: users.into_iter().map(|u| u.username).collect(),
        created,
        error,
    };
    Ok((status, render(&page)).into_response())
}

async fn tokens_page(
    State(state): State<AppState>,
    lang: Lang,
    who: Principal,
    remote: Remote,
) -> Result<Response, PageError> {
    let what = Action { action: "tokens.read", ..Action::default() };
    allow(&state, &who, Role::Admin, what, &remote).await?;
    tokens_view(&state, lang, &who, None, None).await
}

async fn create_token_form(
    State(state): State<AppState>,
    lang: Lang,
    who: Principal,
    remote: Remote,
    PageForm(f): PageForm<Fields>,
) -> Result<Response, PageError> {
    let owner = f.value("username").to_owned();
    let what = Action { action: "token.create", cluster: None, object: Some(&owner) };
    allow(&state, &who, Role::Admin, what.clone(), &remote).await?;
    let created = state.auth.create_token(&owner, f.value("name"), now_millis()).await;
    match audited(&state, &who, what, &remote, created).await {
        Ok((_, token)) => tokens_view(&state, lang, &who, Some(token), None).await,
        Err(e) => tokens_view(&state, lang, &who, None, Some(e.to_string())).await,
    }
}

async fn delete_token_form(
    State(state): State<AppState>,
    who: Principal,
    remote: Remote,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let what = Action { action: "token.delete", cluster: None, object: Some(&id) };
    allow(&state, &who, Role::Admin, what.clone(), &remote).await?;
    let deleted = state.auth.delete_token(&id).await;
    audited(&state, &who, what, &remote, deleted)
        .await
        .map_err(|e| PageError::from(WebError::from(e)))?;
    Ok(Redirect::to("/admin/tokens").into_response())
}

#[derive(Template)]
#[template(path = "audit.html")]
pub struct AuditPage {
    t: &'static Messages,
    f: Fmt,
    chrome: Chrome,
    entries: Vec<AuditEntry>,
}

const AUDIT_PAGE: i64 = 500;

async fn audit_page(
    State(state): State<AppState>,
    lang: Lang,
    who: Principal,
    remote: Remote,
    uri: OriginalUri,
) -> Result<Response, PageError> {
    let what = Action { action: "audit.read", ..Action::default() };
    allow(&state, &who, Role::Operator, what, &remote).await?;
    let entries = state
        .auth
        .audit_entries(AUDIT_PAGE)
        .await
        .map_err(|e| PageError::from(WebError::from(e)))?;
    let here = uri.path_and_query().map_or_else(|| "/audit".to_owned(), |p| p.as_str().to_owned());
    Ok(render(&AuditPage {
        t: lang.messages(),
        f: Fmt::new(lang, now_millis()),
        chrome: Chrome::new(lang, here, None, &who),
        entries,
    }))
}

// ---------------------------------------------------------------------------------------------
// API

#[derive(Debug, Deserialize)]
pub struct LoginBody {
    username: String,
    password: String,
}

#[derive(Debug, Serialize)]
pub struct SessionInfo {
    username: String,
    role: Option<Role>,
    /// Send it back as `X-CSRF-Token` with every change made with the session cookie.
    csrf: String,
    expires_at: i64,
}

async fn login_api(
    State(state): State<AppState>,
    remote: Remote,
    headers: axum::http::HeaderMap,
    ApiJson(body): ApiJson<LoginBody>,
) -> Result<Response, ApiError> {
    let now = now_millis();
    let who = Principal { name: body.username.clone(), role: None, via: Via::Anonymous };
    let what = Action { action: "login", ..Action::default() };
    let session = state.auth.login(&body.username, &body.password, &remote.0, now).await;
    let session = audited(&state, &who, what, &remote, session).await?;
    let user = state.auth.users().await?.into_iter().find(|u| u.username == body.username);
    let info = SessionInfo {
        username: body.username,
        role: user.and_then(|u| Role::parse(&u.role)),
        csrf: session.csrf.clone(),
        expires_at: session.expires_at,
    };
    let mut response = Json(info).into_response();
    let max_age = (session.expires_at - now) / 1000;
    response.headers_mut().insert(
        header::SET_COOKIE,
        session_cookie(&session.cookie, max_age, over_https(&state, &headers)),
    );
    Ok(response)
}

async fn logout_api(State(state): State<AppState>, cookies: RequestCookies) -> Response {
    if let Some(value) = cookies.0 {
        let _ = state.auth.logout(&value).await;
    }
    let mut response = StatusCode::NO_CONTENT.into_response();
    clear_cookie(&mut response);
    response
}

#[derive(Debug, Serialize)]
pub struct Me {
    username: Option<String>,
    role: Option<Role>,
    anonymous_read: bool,
}

async fn me_api(State(state): State<AppState>, who: Principal) -> Json<Me> {
    Json(Me {
        username: who.is_logged_in().then(|| who.name.clone()),
        role: who.role,
        anonymous_read: state.auth.config().anonymous_read,
    })
}

async fn users_api(
    State(state): State<AppState>,
    who: Principal,
    remote: Remote,
) -> Result<Json<Vec<StoredUser>>, ApiError> {
    let what = Action { action: "users.read", ..Action::default() };
    allow(&state, &who, Role::Admin, what, &remote).await?;
    Ok(Json(state.auth.users().await?))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserBody {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    role: Option<Role>,
}

async fn create_user_api(
    State(state): State<AppState>,
    who: Principal,
    remote: Remote,
    ApiJson(body): ApiJson<UserBody>,
) -> Result<StatusCode, ApiError> {
    let what = Action { action: "user.create", cluster: None, object: Some(&body.username) };
    allow(&state, &who, Role::Admin, what.clone(), &remote).await?;
    let created = state
        .auth
        .create_user(
            &body.username,
            body.password.as_deref().unwrap_or_default(),
            body.role.unwrap_or(Role::Viewer),
            now_millis(),
        )
        .await;
    audited(&state, &who, what, &remote, created).await?;
    Ok(StatusCode::CREATED)
}

async fn update_user_api(
    State(state): State<AppState>,
    who: Principal,
    remote: Remote,
    Path(name): Path<String>,
    ApiJson(body): ApiJson<UserBody>,
) -> Result<StatusCode, ApiError> {
    let what = Action { action: "user.update", cluster: None, object: Some(&name) };
    allow(&state, &who, Role::Admin, what.clone(), &remote).await?;
    let updated =
        state.auth.update_user(&name, body.role, body.password.as_deref(), now_millis()).await;
    audited(&state, &who, what, &remote, updated).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn delete_user_api(
    State(state): State<AppState>,
    who: Principal,
    remote: Remote,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    let what = Action { action: "user.delete", cluster: None, object: Some(&name) };
    allow(&state, &who, Role::Admin, what.clone(), &remote).await?;
    let deleted = state.auth.delete_user(&name).await;
    audited(&state, &who, what, &remote, deleted).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn tokens_api(
    State(state): State<AppState>,
    who: Principal,
    remote: Remote,
) -> Result<Json<Vec<StoredToken>>, ApiError> {
    let what = Action { action: "tokens.read", ..Action::default() };
    allow(&state, &who, Role::Admin, what, &remote).await?;
    Ok(Json(state.auth.tokens().await?))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenBody {
    name: String,
    /// Whose rights the token carries (default: the caller).
    #[serde(default)]
    username: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct NewToken {
    #[serde(flatten)]
    stored: StoredToken,
    /// Shown once; only its hash is kept.
    token: String,
}

async fn create_token_api(
    State(state): State<AppState>,
    who: Principal,
    remote: Remote,
    ApiJson(body): ApiJson<TokenBody>,
) -> Result<(StatusCode, Json<NewToken>), ApiError> {
    let owner = body.username.unwrap_or_else(|| who.name.clone());
    let what = Action { action: "token.create", cluster: None, object: Some(&owner) };
    allow(&state, &who, Role::Admin, what.clone(), &remote).await?;
    let created = state.auth.create_token(&owner, &body.name, now_millis()).await;
    let (stored, token) = audited(&state, &who, what, &remote, created).await?;
    Ok((StatusCode::CREATED, Json(NewToken { stored, token })))
}

async fn delete_token_api(
    State(state): State<AppState>,
    who: Principal,
    remote: Remote,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let what = Action { action: "token.delete", cluster: None, object: Some(&id) };
    allow(&state, &who, Role::Admin, what.clone(), &remote).await?;
    let deleted = state.auth.delete_token(&id).await;
    if !audited(&state, &who, what, &remote, deleted).await? {
        return Err(WebError::NoRoute(format!("token {id}")).into());
    }
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Default, Deserialize)]
pub struct AuditQuery {
    limit: Option<i64>,
}

async fn audit_api(
    State(state): State<AppState>,
    who: Principal,
    remote: Remote,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> Result<Json<Vec<AuditEntry>>, ApiError> {
    let what = Action { action: "audit.read", ..Action::default() };
    allow(&state, &who, Role::Operator, what, &remote).await?;
    let limit = q.limit.unwrap_or(AUDIT_PAGE).clamp(1, 10_000);
    Ok(Json(state.auth.audit_entries(limit).await?))
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
    fn open_paths_are_few() {
        assert!(is_open("/login") && is_open("/healthz") && is_open("/static/v1/app.css"));
        assert!(!is_open("/") && !is_open("/alerts") && !is_open("/api/v1/clusters"));
    }
}
