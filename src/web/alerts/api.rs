//! The alerting JSON API: alerts, incidents, rules, channels and silences.

use super::*;

// JSON API

pub(super) async fn alerts_api(
    State(state): State<AppState>,
) -> Result<Json<AlertsOverview>, ApiError> {
    Ok(Json(
        admin::overview(&state.store, &state.clusters.all(), HISTORY)
            .await
            .map_err(WebError::from)?,
    ))
}

pub(super) async fn incident_api(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<IncidentView>, ApiError> {
    Ok(Json(admin::incident(&state.store, &id).await?))
}

pub(super) async fn retry_api(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let what = Action { action: "alert_delivery.retry", cluster: None, object: Some(&id) };
    let retried = caller
        .act(&state, Role::Operator, what, async {
            admin::retry_delivery(&state.alerting, &id, now_millis()).await
        })
        .await?;
    retried?;
    Ok(StatusCode::ACCEPTED)
}

pub(super) async fn ack_api(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Option<Json<admin::AckRequest>>,
) -> Result<Json<crate::store::Acknowledgement>, ApiError> {
    let request = body.map(|Json(b)| b).unwrap_or_default();
    let by = caller.who.name.clone();
    let what = Action { action: "alert_incident.ack", cluster: None, object: Some(&id) };
    let acked = caller
        .act(&state, Role::Operator, what, async {
            admin::acknowledge(&state.alerting, &id, &by, request, now_millis()).await
        })
        .await?;
    Ok(Json(acked?))
}

pub(super) async fn unack_api(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let what = Action { action: "alert_incident.unack", cluster: None, object: Some(&id) };
    let done = caller
        .act(&state, Role::Operator, what, async { admin::unacknowledge(&state.store, &id).await })
        .await?;
    done?;
    Ok(StatusCode::NO_CONTENT)
}

pub(super) async fn rules_api(
    State(state): State<AppState>,
) -> Result<Json<Vec<Stored<RuleDef>>>, ApiError> {
    Ok(Json(state.store.alert_rules().await.map_err(WebError::from)?))
}

pub(super) async fn rule_api(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<Stored<RuleDef>>, ApiError> {
    Ok(Json(admin::rule(&state.store, &name).await?))
}

pub(super) async fn create_rule_api(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<RuleDef>,
) -> Result<(StatusCode, Json<Stored<RuleDef>>), ApiError> {
    let rule = body;
    let name = rule.name.clone();
    let what = Action { action: "alert_rule.save", cluster: None, object: Some(&name) };
    let saved = caller
        .act(&state, Role::Admin, what, async {
            admin::save_rule(&state.store, rule, None, now_millis()).await
        })
        .await?;
    saved?;
    Ok((StatusCode::CREATED, Json(admin::rule(&state.store, &name).await?)))
}

pub(super) async fn update_rule_api(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    ApiJson(body): ApiJson<RuleDef>,
) -> Result<Json<Stored<RuleDef>>, ApiError> {
    let what = Action { action: "alert_rule.save", cluster: None, object: Some(&name) };
    let saved = caller
        .act(&state, Role::Admin, what, async {
            admin::save_rule(&state.store, body, Some(&name), now_millis()).await
        })
        .await?;
    saved?;
    Ok(Json(admin::rule(&state.store, &name).await?))
}

pub(super) async fn delete_rule_api(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    let what = Action { action: "alert_rule.delete", cluster: None, object: Some(&name) };
    let deleted = caller
        .act(&state, Role::Admin, what, async { admin::delete_rule(&state.store, &name).await })
        .await?;
    deleted?;
    Ok(StatusCode::NO_CONTENT)
}

/// A channel as `who` may see it: admins its definition with secrets hidden, everyone else
/// also without the URL's path and query or header values (tokens live there).
pub(super) fn shown_to(who: &Principal, c: Stored<ChannelDef>) -> Stored<ChannelDef> {
    let definition =
        if who.has(Role::Admin) { c.definition.redacted() } else { c.definition.for_viewers() };
    Stored { definition, ..c }
}

pub(super) async fn channels_api(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<Stored<ChannelDef>>>, ApiError> {
    let channels = state.store.alert_channels().await.map_err(WebError::from)?;
    Ok(Json(channels.into_iter().map(|c| shown_to(&caller.who, c)).collect()))
}

pub(super) async fn channel_api(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<Json<Stored<ChannelDef>>, ApiError> {
    Ok(Json(shown_to(&caller.who, admin::channel(&state.store, &name).await?)))
}

pub(super) async fn create_channel_api(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<ChannelDef>,
) -> Result<(StatusCode, Json<Stored<ChannelDef>>), ApiError> {
    let channel = body;
    let name = channel.name.clone();
    let allowlist = &state.alerting.settings.env_allowlist;
    let what = Action { action: "alert_channel.save", cluster: None, object: Some(&name) };
    let saved = caller
        .act(&state, Role::Admin, what, async {
            admin::save_channel(&state.store, channel, None, allowlist, now_millis()).await
        })
        .await?;
    saved?;
    let saved = admin::channel(&state.store, &name).await?;
    Ok((StatusCode::CREATED, Json(shown_to(&caller.who, saved))))
}

pub(super) async fn update_channel_api(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    ApiJson(body): ApiJson<ChannelDef>,
) -> Result<Json<Stored<ChannelDef>>, ApiError> {
    let allowlist = &state.alerting.settings.env_allowlist;
    let what = Action { action: "alert_channel.save", cluster: None, object: Some(&name) };
    let saved = caller
        .act(&state, Role::Admin, what, async {
            admin::save_channel(&state.store, body, Some(&name), allowlist, now_millis()).await
        })
        .await?;
    saved?;
    Ok(Json(shown_to(&caller.who, admin::channel(&state.store, &name).await?)))
}

pub(super) async fn delete_channel_api(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    let what = Action { action: "alert_channel.delete", cluster: None, object: Some(&name) };
    let deleted = caller
        .act(&state, Role::Admin, what, async { admin::delete_channel(&state.store, &name).await })
        .await?;
    deleted?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Serialize)]
pub struct TestResult {
    pub ok: bool,
    pub error: Option<String>,
}

pub(super) async fn test_channel_api(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<Json<TestResult>, ApiError> {
    let what = Action { action: "alert_channel.test", cluster: None, object: Some(&name) };
    let outcome = caller
        .act(&state, Role::Operator, what, async {
            admin::test_channel(&state.alerting, &name).await.unwrap_or_else(|e| Err(e.to_string()))
        })
        .await?;
    Ok(Json(TestResult { ok: outcome.is_ok(), error: outcome.err() }))
}

pub(super) async fn silences_api(
    State(state): State<AppState>,
) -> Result<Json<Vec<StoredSilence>>, ApiError> {
    Ok(Json(state.store.active_silences(now_millis()).await.map_err(WebError::from)?))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SilenceBody {
    rule: String,
    #[serde(default)]
    subject: Option<String>,
    #[serde(with = "duration_text")]
    duration: Duration,
    #[serde(default)]
    note: String,
}

pub(super) async fn create_silence_api(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<SilenceBody>,
) -> Result<(StatusCode, Json<StoredSilence>), ApiError> {
    let request = SilenceRequest {
        rule: body.rule,
        subject: body.subject,
        duration: body.duration,
        note: body.note,
    };
    let rule = request.rule.clone();
    let what = Action { action: "silence.add", cluster: None, object: Some(&rule) };
    let added = caller
        .act(&state, Role::Operator, what, async {
            admin::add_silence(&state.store, request, now_millis()).await
        })
        .await?;
    Ok((StatusCode::CREATED, Json(added?)))
}

pub(super) async fn end_silence_api(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let what = Action { action: "silence.end", cluster: None, object: Some(&id) };
    let ended = caller
        .act(&state, Role::Operator, what, async { admin::end_silence(&state.store, &id).await })
        .await?;
    ended?;
    Ok(StatusCode::NO_CONTENT)
}
