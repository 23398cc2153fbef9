//! The JSON API under `/api/v1`: the same read models as the pages, serialized.

use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};

use super::AppState;
use super::error::ApiError;
use super::form::ApiQuery;
use super::view::RangeParam;
use crate::clock::now_millis;
use crate::query::{
    self, ClusterDetail, ClusterSummary, GroupDetail, GroupList, GroupQuery, PartitionHistory,
    TopicDetail, TopicList, TopicQuery,
};

pub fn api() -> Router<AppState> {
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
}

async fn clusters(State(state): State<AppState>) -> Json<Vec<ClusterSummary>> {
    Json(query::overview(&state.clusters))
}

async fn cluster(
    State(state): State<AppState>,
    Path(name): Path<String>,
    ApiQuery(params): ApiQuery<RangeParam>,
) -> Result<Json<ClusterDetail>, ApiError> {
    let detail =
        query::cluster_detail(&state.clusters, &state.store, &name, params.range, now_millis())
            .await?;
    Ok(Json(detail))
}

async fn queue(
    State(state): State<AppState>,
    Path((name, vhost, queue)): Path<(String, String, String)>,
    ApiQuery(params): ApiQuery<RangeParam>,
) -> Result<Json<query::QueueDetail>, ApiError> {
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
    ApiQuery(params): ApiQuery<query::QueueQuery>,
) -> Result<Json<query::QueueList>, ApiError> {
    Ok(Json(query::queue_list(&state.clusters, &name, &params)?))
}

async fn topics(
    State(state): State<AppState>,
    Path(name): Path<String>,
    ApiQuery(params): ApiQuery<TopicQuery>,
) -> Result<Json<TopicList>, ApiError> {
    Ok(Json(query::topic_list(&state.clusters, &name, &params)?))
}

async fn topic(
    State(state): State<AppState>,
    Path((name, topic)): Path<(String, String)>,
    ApiQuery(params): ApiQuery<RangeParam>,
) -> Result<Json<TopicDetail>, ApiError> {
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
    ApiQuery(params): ApiQuery<GroupQuery>,
) -> Result<Json<GroupList>, ApiError> {
    let rules = super::rules_for_forecasts(&state).await;
    Ok(Json(query::group_list(&state.clusters, &name, &params, &rules)?))
}

async fn group(
    State(state): State<AppState>,
    Path((name, group)): Path<(String, String)>,
    ApiQuery(params): ApiQuery<RangeParam>,
) -> Result<Json<GroupDetail>, ApiError> {
    let detail = query::group_detail(
        &state.clusters,
        &state.store,
        &name,
        &group,
        params.range,
        now_millis(),
        &super::rules_for_forecasts(&state).await,
    )
    .await?;
    Ok(Json(detail))
}

async fn partition(
    State(state): State<AppState>,
    Path((name, group, topic, partition)): Path<(String, String, String, i32)>,
    ApiQuery(params): ApiQuery<RangeParam>,
) -> Result<Json<PartitionHistory>, ApiError> {
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
