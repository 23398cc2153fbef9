//! The Instances page and API: the Osprey instances sharing the database, where each serves,
//! its version, start and heartbeat, and the leases it holds.

use askama::Template;
use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;

use super::AppState;
use super::error::{ApiError, PageError, WebError};
use super::format::Fmt;
use super::i18n::Messages;
use super::view::{Chrome, here, render};
use crate::clock::now_millis;
use crate::query::{self, InstancesView};
use crate::store::LeaseRow;
use crate::web::access::Page;

pub fn pages() -> Router<AppState> {
    Router::new().route("/instances", get(page))
}

pub fn api() -> Router<AppState> {
    Router::new().route("/instances", get(list))
}

#[derive(Template)]
#[template(path = "instances.html")]
pub struct InstancesPage {
    t: &'static Messages,
    f: Fmt,
    chrome: Chrome,
    view: InstancesView,
}

impl InstancesPage {
    fn is_this(&self, id: &str) -> bool {
        self.view.this.as_deref() == Some(id)
    }

    fn lease_detail(&self, lease: &LeaseRow) -> String {
        Messages::fill(
            self.t.lease_detail,
            &[("epoch", &lease.epoch.to_string()), ("ago", &self.f.ago_at(lease.renewed_at))],
        )
    }
}

async fn view(state: &AppState) -> Result<InstancesView, WebError> {
    Ok(query::instances(&state.store, &state.ownership, state.lease_ttl).await?)
}

async fn page(State(state): State<AppState>, page: Page) -> Result<Response, PageError> {
    let Page { lang, uri, caller } = page;
    let view = view(&state).await?;
    Ok(render(&InstancesPage {
        t: lang.messages(),
        f: Fmt::new(lang, now_millis()),
        chrome: Chrome::new(lang, here(&uri), None, &caller.who),
        view,
    }))
}

async fn list(State(state): State<AppState>) -> Result<Json<InstancesView>, ApiError> {
    Ok(Json(view(&state).await?))
}
