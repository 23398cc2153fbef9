//! RocketMQ's own pages and API: test messages behind the topic's Send page (tag, keys, body,
//! properties; a queue or round-robin) with the Kafka path's checks, and what rocketmq-dashboard
//! users do every day — message query and detail with trace (`query`), dead letters (`dlq`),
//! topic and group changes, offset resets and producer connections (`admin`).

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::{OriginalUri, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use base64::Engine as _;
use serde::{Deserialize, Serialize};

use super::AppState;
use super::access::{Caller, Page};
use super::error::{ApiError, PageError, WebError};
use super::form::{ApiJson, ApiQuery, Fields, PageForm, PageQuery, parse_time};
use super::format::Fmt;
use super::i18n::{Lang, Messages};
use super::view::{Chrome, here, render, segment};
use crate::auth::{Action, Role};
use crate::brokers::SendOutcome;
use crate::brokers::kafka::actions::Compression;
use crate::brokers::rocketmq::message::Outgoing;
use crate::brokers::rocketmq::{MAX_MESSAGE_BYTES, RocketAdapter};
use crate::clock::now_millis;
use crate::domain::Millis;
use crate::domain::rocket::{ConsumerClient, MessageQueue};
use crate::operate::{SendRequest, expand};
use crate::query::QueryError;

mod admin;
mod dlq;
mod query;

pub fn pages() -> Router<AppState> {
    Router::new()
        .route("/clusters/{cluster}/topics/{topic}/query", get(query::query_page))
        .route("/clusters/{cluster}/topics/{topic}/messages/{id}", get(query::detail_page))
        .route("/clusters/{cluster}/topics/{topic}/messages/{id}/resend", post(query::resend_form))
        .route("/clusters/{cluster}/topics/{topic}/producers", get(admin::producers_page))
        .route("/clusters/{cluster}/groups/{group}/dlq", get(dlq::dlq_page))
        .route("/clusters/{cluster}/groups/{group}/dlq/export", get(dlq::export))
        .route("/clusters/{cluster}/groups/{group}/dlq/resend", post(dlq::resend_form))
        .route("/clusters/{cluster}/groups/{group}/rocketmq-reset", post(admin::reset_form))
        .route("/clusters/{cluster}/groups/{group}/rocketmq-delete", post(admin::delete_group_form))
        .route("/clusters/{cluster}/rocketmq-groups", post(admin::upsert_group_form))
        .route("/clusters/{cluster}/rocketmq-topics", post(admin::upsert_topic_form))
        .route("/clusters/{cluster}/topics/{topic}/rocketmq-delete", post(admin::delete_topic_form))
}

pub fn api() -> Router<AppState> {
    Router::new()
        .route("/clusters/{cluster}/topics/{topic}/query", get(query::query_api))
        .route("/clusters/{cluster}/topics/{topic}/messages/{id}", get(query::detail_api))
        .route("/clusters/{cluster}/topics/{topic}/messages/{id}/resend", post(query::resend_api))
        .route("/clusters/{cluster}/topics/{topic}/producers", get(admin::producers_api))
        .route("/clusters/{cluster}/groups/{group}/dlq", get(dlq::dlq_api))
        .route("/clusters/{cluster}/groups/{group}/dlq/export", get(dlq::export))
        .route("/clusters/{cluster}/groups/{group}/dlq/resend", post(dlq::resend_api))
        .route("/clusters/{cluster}/rocketmq/groups/{group}/reset", post(admin::reset_api))
        .route(
            "/clusters/{cluster}/rocketmq/groups/{group}",
            put(admin::upsert_group_api).delete(admin::delete_group_api),
        )
        .route(
            "/clusters/{cluster}/rocketmq/topics/{topic}",
            put(admin::upsert_topic_api).delete(admin::delete_topic_api),
        )
}

/// The topic's queues as the last poll listed them; partition `i` of the generic topic is
/// `queues[i]`.
pub fn queues_of(state: &AppState, cluster: &str, topic: &str) -> Vec<MessageQueue> {
    let snapshot = state.clusters.get(cluster).and_then(|c| c.snapshot.clone());
    snapshot
        .and_then(|s| {
            let rocket = s.rocket.as_ref()?;
            Some(rocket.topics.iter().find(|t| t.name == topic)?.queues.clone())
        })
        .unwrap_or_default()
}

/// Sends the messages `request` stands for, one by one, each to its queue.
pub async fn send(
    state: &AppState,
    rocket: &RocketAdapter,
    cluster: &str,
    topic: &str,
    request: &SendRequest,
) -> Result<Vec<SendOutcome>, WebError> {
    let queues = queues_of(state, cluster, topic);
    let target = match request.partition {
        Some(index) => {
            let queue =
                usize::try_from(index).ok().and_then(|i| queues.get(i)).ok_or_else(|| {
                    WebError::Query(QueryError::UnknownTopic {
                        cluster: cluster.to_owned(),
                        topic: format!("{topic} queue #{index}"),
                    })
                })?;
            Some((queue.broker.clone(), queue.queue_id))
        }
        None => None,
    };
    if request.compression.is_some_and(|c| c != Compression::None) {
        let why = "a codec is Kafka's choice; RocketMQ compresses bodies over 4 KiB itself";
        return Err(crate::operate::Refused::field("compression", why).into());
    }
    let messages = expand(request, MAX_MESSAGE_BYTES)?;
    let mut outcomes = Vec::with_capacity(messages.len());
    for (i, message) in messages.into_iter().enumerate() {
        let fill = |text: &str| text.replace("{{i}}", &(i + 1).to_string());
        let outgoing = Outgoing {
            topic: topic.to_owned(),
            tag: request.tag.as_deref().map(fill).filter(|t| !t.is_empty()),
            keys: message
                .key
                .map(|k| {
                    String::from_utf8_lossy(&k).split_whitespace().map(str::to_owned).collect()
                })
                .unwrap_or_default(),
            body: message.value.unwrap_or_default(),
            properties: message
                .headers
                .into_iter()
                .map(|(k, v)| (k, String::from_utf8_lossy(&v).into_owned()))
                .collect::<BTreeMap<_, _>>(),
        };
        let target = target.as_ref().map(|(broker, queue)| (broker.as_str(), *queue));
        outcomes.push(match rocket.send(&outgoing, target, now_millis()).await {
            Ok(stored) => SendOutcome {
                partition: queues
                    .iter()
                    .position(|q| q.broker == stored.broker && q.queue_id == stored.queue_id)
                    .and_then(|i| i32::try_from(i).ok()),
                offset: stored.queue_offset,
                message_id: stored.message_id,
                error: None,
            },
            Err(e) => SendOutcome {
                partition: request.partition,
                offset: None,
                message_id: None,
                error: Some(e.to_string()),
            },
        });
    }
    Ok(outcomes)
}
