//! The access JSON API: sessions, who am I, users, tokens and the audit log.

use super::*;

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

pub(super) async fn login_api(
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

pub(super) async fn logout_api(State(state): State<AppState>, cookies: RequestCookies) -> Response {
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

pub(super) async fn me_api(State(state): State<AppState>, who: Principal) -> Json<Me> {
    Json(Me {
        username: who.is_logged_in().then(|| who.name.clone()),
        role: who.role,
        anonymous_read: state.auth.config().anonymous_read,
    })
}

pub(super) async fn users_api(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<StoredUser>>, ApiError> {
    let what = Action { action: "users.read", ..Action::default() };
    caller.require(&state, Role::Admin, what).await?;
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

pub(super) async fn create_user_api(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<UserBody>,
) -> Result<StatusCode, ApiError> {
    let what = Action { action: "user.create", cluster: None, object: Some(&body.username) };
    let password = body.password.as_deref().unwrap_or_default();
    let role = body.role.unwrap_or(Role::Viewer);
    let create = state.auth.create_user(&body.username, password, role, now_millis());
    caller.act(&state, Role::Admin, what, create).await??;
    Ok(StatusCode::CREATED)
}

pub(super) async fn update_user_api(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    ApiJson(body): ApiJson<UserBody>,
) -> Result<StatusCode, ApiError> {
    let what = Action { action: "user.update", cluster: None, object: Some(&name) };
    let update = state.auth.update_user(&name, body.role, body.password.as_deref(), now_millis());
    caller.act(&state, Role::Admin, what, update).await??;
    Ok(StatusCode::NO_CONTENT)
}

pub(super) async fn delete_user_api(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    let what = Action { action: "user.delete", cluster: None, object: Some(&name) };
    caller.act(&state, Role::Admin, what, state.auth.delete_user(&name)).await??;
    Ok(StatusCode::NO_CONTENT)
}

pub(super) async fn tokens_api(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<StoredToken>>, ApiError> {
    let what = Action { action: "tokens.read", ..Action::default() };
    caller.require(&state, Role::Admin, what).await?;
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

pub(super) async fn create_token_api(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<TokenBody>,
) -> Result<(StatusCode, Json<NewToken>), ApiError> {
    let owner = body.username.unwrap_or_else(|| caller.who.name.clone());
    let what = Action { action: "token.create", cluster: None, object: Some(&owner) };
    let create = state.auth.create_token(&owner, &body.name, now_millis());
    let (stored, token) = caller.act(&state, Role::Admin, what, create).await??;
    Ok((StatusCode::CREATED, Json(NewToken { stored, token })))
}

pub(super) async fn delete_token_api(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let what = Action { action: "token.delete", cluster: None, object: Some(&id) };
    if !caller.act(&state, Role::Admin, what, state.auth.delete_token(&id)).await?? {
        return Err(WebError::NoRoute(format!("token {id}")).into());
    }
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Default, Deserialize)]
pub struct AuditQuery {
    limit: Option<i64>,
}

pub(super) async fn audit_api(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> Result<Json<Vec<AuditEntry>>, ApiError> {
    let what = Action { action: "audit.read", ..Action::default() };
    caller.require(&state, Role::Operator, what).await?;
    let limit = q.limit.unwrap_or(AUDIT_PAGE).clamp(1, 10_000);
    Ok(Json(state.auth.audit_entries(limit).await?))
}
