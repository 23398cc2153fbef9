//! The JSON API under `/api/v1`: the same read models as the pages, serialized.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::routing::get;
use axum::{Json, Router};

use super::AppState;
use super::error::{ApiError, WebError};
use super::pages::RangeParam;
use crate::clock::now_millis;
use crate::query::{
    self, ClusterDetail, ClusterSummary, GroupDetail, GroupList, GroupQuery, PartitionHistory,
    TopicDetail, TopicList, TopicQuery,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/clusters", get(clusters))
        .route("/clusters/{cluster}", get(cluster))
        .route("/clusters/{cluster}/topics", get(topics))
        .route("/clusters/{cluster}/queues", get(queues))
        .route("/clusters/{cluster}/queues/{vhost}/{queue}", get(queue))
        .route("/clusters/{cluster}/topics/{topic}", get(topic))
        .route("/clusters/{cluster}/groups", get(groups))
        .route("/clusters/{cluster}/groups/{group}", get(group))
        .route("/clusters/{cluster}/groups/{group}/partitions/{topic}/{partition}", get(partition))
        .merge(super::alerts::api())
        .merge(super::access::api())
        .merge(super::messages::api())
        .merge(super::broker_metrics::api())
        .merge(super::manage::api())
        .merge(super::rabbit::api())
        .fallback(|uri: axum::http::Uri| async move {
            ApiError(WebError::NoRoute(format!("/api/v1{}", uri.path())))
        })
}

async fn clusters(State(state): State<AppState>) -> Json<Vec<ClusterSummary>> {
    Json(query::overview(&state.clusters))
}

async fn cluster(
    State(state): State<AppState>,
    Path(name): Path<String>,
    params: Result<Query<RangeParam>, QueryRejection>,
) -> Result<Json<ClusterDetail>, ApiError> {
    let Query(params) = params?;
    let detail =
        query::cluster_detail(&state.clusters, &state.store, &name, params.range, now_millis())
            .await?;
    Ok(Json(detail))
}

async fn queue(
    State(state): State<AppState>,
    Path((name, vhost, queue)): Path<(String, String, String)>,
    params: Result<Query<RangeParam>, QueryRejection>,
) -> Result<Json<query::QueueDetail>, ApiError> {
    let Query(params) = params?;
    let detail = query::queue_detail(
        &state.clusters,
        &state.store,
        &name,
        &vhost,
        &queue,
        params.range,
        now_millis(),
    )
    .await?;
    Ok(Json(detail))
}

async fn queues(
    State(state): State<AppState>,
    Path(name): Path<String>,
    params: Result<Query<query::QueueQuery>, QueryRejection>,
) -> Result<Json<query::QueueList>, ApiError> {
    let Query(params) = params?;
    Ok(Json(query::queue_list(&state.clusters, &name, &params)?))
}

async fn topics(
    State(state): State<AppState>,
    Path(name): Path<String>,
    params: Result<Query<TopicQuery>, QueryRejection>,
) -> Result<Json<TopicList>, ApiError> {
    let Query(params) = params?;
    Ok(Json(query::topic_list(&state.clusters, &name, &params)?))
}

async fn topic(
    State(state): State<AppState>,
    Path((name, topic)): Path<(String, String)>,
    params: Result<Query<RangeParam>, QueryRejection>,
) -> Result<Json<TopicDetail>, ApiError> {
    let Query(params) = params?;
    let mut detail = query::topic_detail(
        &state.clusters,
        &state.store,
        &name,
        &topic,
        params.range,
        now_millis(),
    )
    .await?;
    if let Some(error) = super::pages::live_route(&state, &name, &mut detail).await {
        tracing::warn!(cluster = %name, topic = %topic, %error, "live route unavailable; showing the last poll's");
    }
    Ok(Json(detail))
}

async fn groups(
    State(state): State<AppState>,
    Path(name): Path<String>,
    params: Result<Query<GroupQuery>, QueryRejection>,
) -> Result<Json<GroupList>, ApiError> {
    let Query(params) = params?;
    Ok(Json(query::group_list(&state.clusters, &name, &params)?))
}

async fn group(
    State(state): State<AppState>,
    Path((name, group)): Path<(String, String)>,
    params: Result<Query<RangeParam>, QueryRejection>,
) -> Result<Json<GroupDetail>, ApiError> {
    let Query(params) = params?;
    let detail = query::group_detail(
        &state.clusters,
        &state.store,
        &name,
        &group,
        params.range,
        now_millis(),
    )
    .await?;
    Ok(Json(detail))
}

async fn partition(
    State(state): State<AppState>,
    Path((name, group, topic, partition)): Path<(String, String, String, i32)>,
    params: Result<Query<RangeParam>, QueryRejection>,
) -> Result<Json<PartitionHistory>, ApiError> {
    let Query(params) = params?;
    let history = query::partition_history(
        &state.clusters,
        &state.store,
        &name,
        &group,
        &topic,
        partition,
        params.range,
        now_millis(),
    )
    .await?;
    Ok(Json(history))
}
