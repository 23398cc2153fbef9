//! Users, API tokens and the audit log, as admin pages.

use super::*;
use crate::web::access::Page;

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

pub(super) async fn users_view(
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

pub(super) async fn users_page(
    State(state): State<AppState>,
    lang: Lang,
    caller: Caller,
    PageQuery(q): PageQuery<DoneParam>,
) -> Result<Response, PageError> {
    let what = Action { action: "users.read", ..Action::default() };
    caller.require(&state, Role::Admin, what).await?;
    users_view(&state, lang, &caller.who, q.done, None).await
}

/// Runs an admin change from a form: checks the role, records the outcome, then shows the list
/// with a notice or the error.
pub(super) async fn user_change(
    state: &AppState,
    lang: Lang,
    caller: &Caller,
    what: Action<'_>,
    done: String,
    change: impl std::future::Future<Output = Result<(), AuthError>>,
) -> Result<Response, PageError> {
    match caller.act(state, Role::Admin, what, change).await? {
        Ok(()) => {
            Ok(Redirect::to(&format!("/admin/users?done={}", segment(&done))).into_response())
        }
        Err(AuthError::Store(e)) => Err(PageError::from(WebError::from(e))),
        Err(e) => users_view(state, lang, &caller.who, None, Some(e.to_string())).await,
    }
}

pub(super) async fn create_user_form(
    State(state): State<AppState>,
    lang: Lang,
    caller: Caller,
    PageForm(f): PageForm<Fields>,
) -> Result<Response, PageError> {
    let name = f.value("username").to_owned();
    let role = Role::parse(f.value("role")).unwrap_or(Role::Viewer);
    let what = Action { action: "user.create", cluster: None, object: Some(&name) };
    let change = state.auth.create_user(&name, f.value("password"), role, now_millis());
    user_change(&state, lang, &caller, what, format!("{name} ({})", role.as_str()), change).await
}

pub(super) async fn update_user_form(
    State(state): State<AppState>,
    lang: Lang,
    caller: Caller,
    Path(name): Path<String>,
    PageForm(f): PageForm<Fields>,
) -> Result<Response, PageError> {
    let role = Role::parse(f.value("role"));
    let password = Some(f.value("password")).filter(|p| !p.is_empty());
    let what = Action { action: "user.update", cluster: None, object: Some(&name) };
    let change = state.auth.update_user(&name, role, password, now_millis());
    user_change(&state, lang, &caller, what, name.clone(), change).await
}

pub(super) async fn delete_user_form(
    State(state): State<AppState>,
    lang: Lang,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<Response, PageError> {
    let what = Action { action: "user.delete", cluster: None, object: Some(&name) };
    let change = state.auth.delete_user(&name);
    user_change(&state, lang, &caller, what, name.clone(), change).await
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

pub(super) async fn tokens_view(
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

pub(super) async fn tokens_page(
    State(state): State<AppState>,
    lang: Lang,
    caller: Caller,
) -> Result<Response, PageError> {
    let what = Action { action: "tokens.read", ..Action::default() };
    caller.require(&state, Role::Admin, what).await?;
    tokens_view(&state, lang, &caller.who, None, None).await
}

pub(super) async fn create_token_form(
    State(state): State<AppState>,
    lang: Lang,
    caller: Caller,
    PageForm(f): PageForm<Fields>,
) -> Result<Response, PageError> {
    let owner = f.value("username").to_owned();
    let what = Action { action: "token.create", cluster: None, object: Some(&owner) };
    let create = state.auth.create_token(&owner, f.value("name"), now_millis());
    let who = &caller.who;
    match caller.act(&state, Role::Admin, what, create).await? {
        Ok((_, token)) => tokens_view(&state, lang, who, Some(token), None).await,
        Err(e) => tokens_view(&state, lang, who, None, Some(e.to_string())).await,
    }
}

pub(super) async fn delete_token_form(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let what = Action { action: "token.delete", cluster: None, object: Some(&id) };
    caller
        .act(&state, Role::Admin, what, state.auth.delete_token(&id))
        .await?
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

pub(super) const AUDIT_PAGE: i64 = 500;

pub(super) async fn audit_page(
    State(state): State<AppState>,
    page: Page,
) -> Result<Response, PageError> {
    let Page { lang, uri, caller } = page;
    let what = Action { action: "audit.read", ..Action::default() };
    caller.require(&state, Role::Operator, what).await?;
    let who = caller.who;
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
