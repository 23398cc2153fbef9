//! The JSON API of topic and group changes.

use super::*;

// API

pub(super) async fn create_topic_api(
    State(state): State<AppState>,
    caller: Caller,
    Path(cluster): Path<String>,
    ApiJson(body): ApiJson<TopicRequest>,
) -> Result<StatusCode, ApiError> {
    create_topic(&state, &caller, &cluster, body).await?;
    Ok(StatusCode::CREATED)
}

#[derive(Debug, Default, Deserialize)]
pub struct ConfirmQuery {
    #[serde(default)]
    confirm: String,
}

pub(super) async fn delete_topic_api(
    State(state): State<AppState>,
    caller: Caller,
    Path((cluster, topic)): Path<(String, String)>,
    axum::extract::Query(q): axum::extract::Query<ConfirmQuery>,
) -> Result<StatusCode, ApiError> {
    delete_topic(&state, &caller, &cluster, &topic, &q.confirm).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartitionsBody {
    total: usize,
}

pub(super) async fn partitions_api(
    State(state): State<AppState>,
    caller: Caller,
    Path((cluster, topic)): Path<(String, String)>,
    ApiJson(body): ApiJson<PartitionsBody>,
) -> Result<StatusCode, ApiError> {
    add_partitions(&state, &caller, &cluster, &topic, body.total).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigsBody {
    #[serde(default)]
    set: std::collections::BTreeMap<String, String>,
    #[serde(default)]
    remove: Vec<String>,
}

pub(super) async fn configs_api(
    State(state): State<AppState>,
    caller: Caller,
    Path((cluster, topic)): Path<(String, String)>,
    ApiJson(body): ApiJson<ConfigsBody>,
) -> Result<StatusCode, ApiError> {
    edit_configs(&state, &caller, &cluster, &topic, body.set.into_iter().collect(), body.remove)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

pub(super) async fn reset_api(
    State(state): State<AppState>,
    caller: Caller,
    Path((cluster, group)): Path<(String, String)>,
    ApiJson(body): ApiJson<ResetRequest>,
) -> Result<Json<ResetOutcome>, ApiError> {
    Ok(Json(reset(&state, &caller, &cluster, &group, body).await?))
}

pub(super) async fn delete_group_api(
    State(state): State<AppState>,
    caller: Caller,
    Path((cluster, group)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    delete_group(&state, &caller, &cluster, &group).await?;
    Ok(StatusCode::NO_CONTENT)
}
