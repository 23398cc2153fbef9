//! Logging in and out, session cookies, and the one-time setup link for the first admin.

use super::*;

pub(super) fn session_cookie(value: &str, max_age_secs: i64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    let text = format!(
        "{SESSION_COOKIE}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_secs}{secure}"
    );
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// Cookies are `Secure` when the request came over HTTPS (directly or through a proxy that
/// says so) or the configured public URL is HTTPS.
pub(super) fn over_https(state: &AppState, parts_headers: &axum::http::HeaderMap) -> bool {
    parts_headers.get("x-forwarded-proto").is_some_and(|v| v == "https")
        || state.alerting.settings.public_url.as_deref().is_some_and(|u| u.starts_with("https://"))
}

/// Only paths on this site: `next` must not become an open redirect.
pub(super) fn safe_next(next: Option<&str>) -> String {
    next.filter(|n| crate::web::view::is_local_path(n)).unwrap_or("/").to_owned()
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

pub(super) async fn login_page(
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

pub(super) async fn login_form(
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

pub(super) fn clear_cookie(response: &mut Response) {
    response.headers_mut().insert(header::SET_COOKIE, session_cookie("", 0, false));
}

pub(super) async fn logout_form(State(state): State<AppState>, parts: RequestCookies) -> Response {
    if let Some(value) = parts.0 {
        let _ = state.auth.logout(&value).await;
    }
    let mut response = Redirect::to("/login").into_response();
    clear_cookie(&mut response);
    response
}

/// The session cookie's value, if the request has one.
pub struct RequestCookies(pub(super) Option<String>);

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

pub(super) async fn setup_page(
    State(state): State<AppState>,
    lang: Lang,
    who: Principal,
    PageQuery(q): PageQuery<TokenParam>,
) -> Result<Response, PageError> {
    if !state.auth.setup_link_valid(&q.token, now_millis()) {
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
pub(super) async fn setup_form(
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
