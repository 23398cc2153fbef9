//! Changing topics and consumer groups, as pages and API: create a topic, add partitions, edit
//! configs (merged into the explicitly set ones), delete a topic (the name typed to confirm);
//! reset a group's offsets (only without active members, previewed first, applied exactly as
//! previewed) and delete a group. Every change checks its role and the cluster's `read_only`.

use askama::Template;
use axum::extract::{OriginalUri, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, patch, post};
use axum::{Json, Router};
use serde::Deserialize;

use super::AppState;
use super::access::Caller;
use super::error::{ApiError, PageError, WebError};
use super::form::{ApiJson, Fields, PageForm};
use super::i18n::{Lang, Messages};
use super::view::{Chrome, here, render, segment};
use crate::auth::{Action, Role};
use crate::brokers::kafka::actions::{KafkaActions, TopicSpec};
use std::collections::HashMap;

use crate::evaluator::GroupLag;
use crate::operate::{self, ResetOutcome, ResetRequest, TopicRequest};
use crate::query::QueryError;

mod api;
mod groups;
mod pages;
mod topics;

use api::*;
use groups::*;
use pages::*;
use topics::*;

pub fn pages() -> Router<AppState> {
    Router::new()
        .route("/clusters/{cluster}/topics", post(create_topic_form))
        .route("/clusters/{cluster}/topics/{topic}/partitions", post(partitions_form))
        .route("/clusters/{cluster}/topics/{topic}/configs", post(configs_form))
        .route("/clusters/{cluster}/topics/{topic}/delete", post(delete_topic_form))
        .route("/clusters/{cluster}/groups/{group}/reset", post(reset_form))
        .route("/clusters/{cluster}/groups/{group}/delete", post(delete_group_form))
}

pub fn api() -> Router<AppState> {
    Router::new()
        .route("/clusters/{cluster}/topics", post(create_topic_api))
        .route("/clusters/{cluster}/topics/{topic}", delete(delete_topic_api))
        .route("/clusters/{cluster}/topics/{topic}/partitions", post(partitions_api))
        .route("/clusters/{cluster}/topics/{topic}/configs", patch(configs_api))
        .route("/clusters/{cluster}/groups/{group}/reset", post(reset_api))
        .route("/clusters/{cluster}/groups/{group}", delete(delete_group_api))
}

fn invalid(message: impl Into<String>) -> WebError {
    WebError::refused(message)
}

fn broker_error(e: crate::brokers::AdapterError) -> WebError {
    WebError::Broker(e)
}

/// Checks the role and the cluster's `read_only` switch, runs `change`, and records it.
async fn change<T>(
    state: &AppState,
    caller: &Caller,
    role: Role,
    what: Action<'_>,
    change: impl AsyncFnOnce(&KafkaActions) -> Result<T, WebError>,
) -> Result<T, WebError> {
    let cluster = what.cluster.unwrap_or_default();
    caller
        .act_on(
            state,
            (role, true),
            what,
            |operators| operators.get(cluster).map(|(a, _)| &**a),
            change,
        )
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reset_forms_read_explicit_offsets() {
        let f = Fields::default();
        let mut f = f;
        f.push("to", "offsets");
        f.push("offsets", "orders,0,5\nmy.topic,1,7");
        let body = reset_body(&f).unwrap();
        assert_eq!(body.offsets, [("orders".to_string(), 0, 5), ("my.topic".to_string(), 1, 7)]);
        assert!(!body.apply);
        let mut bad = Fields::default();
        bad.push("offsets", "orders-5");
        assert!(reset_body(&bad).is_err());
    }
}
