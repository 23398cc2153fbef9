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
use serde::{Deserialize, Serialize};

use super::AppState;
use super::access::Caller;
use super::error::{ApiError, PageError, WebError};
use super::form::{ApiJson, Fields, PageForm, parse_time};
use super::i18n::{Lang, Messages};
use super::view::{Chrome, here, render, segment};
use crate::auth::{Action, Role};
use crate::brokers::kafka::actions::{KafkaActions, TopicSpec};
use crate::evaluator::GroupLag;
use crate::query::QueryError;

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
    let changed = async {
        state.operators.writable(cluster)?;
        change(state.operators.get(cluster)?.0).await
    };
    caller.act(state, role, what, changed).await?
}

// ---------------------------------------------------------------------------------------------
// Topics

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewTopicBody {
    pub name: String,
    #[serde(default = "one")]
    pub partitions: i32,
    #[serde(default = "one")]
    pub replication_factor: i32,
    #[serde(default)]
    pub configs: std::collections::BTreeMap<String, String>,
}

fn one() -> i32 {
    1
}

/// Kafka's own rule for topic names.
pub fn check_topic_name(name: &str) -> Result<(), WebError> {
    let valid = !name.is_empty()
        && name.len() <= 249
        && name != "."
        && name != ".."
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if valid {
        Ok(())
    } else {
        Err(invalid(format!(
            "{name:?} is not a valid topic name: 1-249 letters, digits, '.', '_' or '-'"
        )))
    }
}

async fn create_topic(
    state: &AppState,
    caller: &Caller,
    cluster: &str,
    body: NewTopicBody,
) -> Result<(), WebError> {
    let what = Action { action: "topic.create", cluster: Some(cluster), object: Some(&body.name) };
    change(state, caller, Role::Admin, what, async |actions: &KafkaActions| {
        check_topic_name(&body.name)?;
        if !(1..=10_000).contains(&body.partitions) || !(1..=32).contains(&body.replication_factor)
        {
            return Err(invalid("partitions must be 1-10000 and the replication factor 1-32"));
        }
        let spec = TopicSpec {
            name: body.name.clone(),
            partitions: body.partitions,
            replication_factor: body.replication_factor,
            configs: body.configs.clone().into_iter().collect(),
        };
        actions.create_topic(&spec).await.map_err(broker_error)
    })
    .await
}

fn key_values(text: &str) -> Result<Vec<(String, String)>, WebError> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|line| {
            line.split_once('=')
                .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
                .ok_or_else(|| invalid(format!("{line:?} is not key=value")))
        })
        .collect()
}

/// The explicitly set (non-default) configs of a topic as of the last poll.
fn explicit_configs(
    state: &AppState,
    cluster: &str,
    topic: &str,
) -> Result<Vec<(String, String)>, WebError> {
    let snapshot = state
        .clusters
        .get(cluster)
        .and_then(|c| c.snapshot.clone())
        .ok_or_else(|| WebError::Query(QueryError::NotPolledYet(cluster.to_owned())))?;
    let found = snapshot.topics.iter().find(|t| t.name == topic).ok_or_else(|| {
        WebError::Query(QueryError::UnknownTopic {
            cluster: cluster.to_owned(),
            topic: topic.to_owned(),
        })
    })?;
    let configs = found.configs.as_ref().ok_or_else(|| {
        invalid(
            "the brokers did not report this topic's configuration; try again after the next poll",
        )
    })?;
    Ok(configs
        .iter()
        .filter(|c| !c.is_default && !c.is_sensitive)
        .filter_map(|c| Some((c.name.clone(), c.value.clone()?)))
        .collect())
}

/// Merges `set` and `remove` into the current explicit configs: what an incremental change is.
pub fn merge_configs(
    mut current: Vec<(String, String)>,
    set: &[(String, String)],
    remove: &[String],
) -> Vec<(String, String)> {
    current.retain(|(k, _)| !remove.contains(k) && !set.iter().any(|(s, _)| s == k));
    current.extend(set.iter().cloned());
    current.sort();
    current
}

async fn edit_configs(
    state: &AppState,
    caller: &Caller,
    cluster: &str,
    topic: &str,
    set: Vec<(String, String)>,
    remove: Vec<String>,
) -> Result<(), WebError> {
    let what = Action { action: "topic.configs", cluster: Some(cluster), object: Some(topic) };
    let current = explicit_configs(state, cluster, topic);
    change(state, caller, Role::Admin, what, async |actions: &KafkaActions| {
        let merged = merge_configs(current?, &set, &remove);
        actions.replace_configs(topic, &merged).await.map_err(broker_error)
    })
    .await
}

async fn add_partitions(
    state: &AppState,
    caller: &Caller,
    cluster: &str,
    topic: &str,
    total: usize,
) -> Result<(), WebError> {
    let what = Action { action: "topic.partitions", cluster: Some(cluster), object: Some(topic) };
    let current = Some(super::messages::partitions_of(state, cluster, topic)).filter(|n| *n > 0);
    change(state, caller, Role::Admin, what, async |actions: &KafkaActions| {
        if let Some(current) = current.filter(|c| total <= *c) {
            return Err(invalid(format!(
                "the topic has {current} partitions; partitions can only be added"
            )));
        }
        actions.add_partitions(topic, total).await.map_err(broker_error)
    })
    .await
}

async fn delete_topic(
    state: &AppState,
    caller: &Caller,
    cluster: &str,
    topic: &str,
    confirm: &str,
) -> Result<(), WebError> {
    let what = Action { action: "topic.delete", cluster: Some(cluster), object: Some(topic) };
    change(state, caller, Role::Admin, what, async |actions: &KafkaActions| {
        if confirm != topic {
            return Err(invalid("type the topic's name to confirm its deletion"));
        }
        actions.delete_topic(topic).await.map_err(broker_error)
    })
    .await
}

// ---------------------------------------------------------------------------------------------
// Groups

/// Where a reset moves a group's offsets.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResetBody {
    /// Only this topic; default: every topic the group has offsets on.
    #[serde(default)]
    pub topic: Option<String>,
    /// `earliest`, `latest`, `timestamp` (with `at`) or `offsets` (with `offsets`).
    pub to: String,
    #[serde(default)]
    pub at: Option<String>,
    /// Explicit (topic, partition, offset) targets.
    #[serde(default)]
    pub offsets: Vec<(String, i32, i64)>,
    /// Only compute the change (the default); `true` commits it.
    #[serde(default)]
    pub apply: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OffsetChange {
    pub topic: String,
    pub partition: i32,
    pub current: Option<i64>,
    pub new: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct ResetOutcome {
    pub changes: Vec<OffsetChange>,
    pub applied: bool,
}

fn group_of(state: &AppState, cluster: &str, group: &str) -> Result<GroupLag, WebError> {
    let cluster_state = state
        .clusters
        .get(cluster)
        .ok_or_else(|| WebError::Query(QueryError::UnknownCluster(cluster.to_owned())))?;
    cluster_state.groups.iter().find(|g| g.summary.name == group).cloned().ok_or_else(|| {
        WebError::Query(QueryError::UnknownGroup {
            cluster: cluster.to_owned(),
            group: group.to_owned(),
        })
    })
}

/// The target offset of every partition in scope.
async fn plan_reset(
    state: &AppState,
    actions: &KafkaActions,
    cluster: &str,
    group: &GroupLag,
    body: &ResetBody,
) -> Result<Vec<OffsetChange>, WebError> {
    if body.to == "offsets" {
        if body.offsets.is_empty() {
            return Err(invalid("name the offsets: topic, partition, offset"));
        }
        let current = |t: &str, p: i32| {
            group
                .topics
                .iter()
                .find(|x| x.topic == t)?
                .partitions
                .iter()
                .find(|x| x.partition == p)
                .map(|x| x.committed)
        };
        return body
            .offsets
            .iter()
            .map(|(t, p, o)| {
                if *o < 0 {
                    return Err(invalid(format!("offset {o} for {t}/{p} is negative")));
                }
                Ok(OffsetChange {
                    topic: t.clone(),
                    partition: *p,
                    current: current(t, *p),
                    new: *o,
                })
            })
            .collect();
    }
    let snapshot = state
        .clusters
        .get(cluster)
        .and_then(|c| c.snapshot.clone())
        .ok_or_else(|| WebError::Query(QueryError::NotPolledYet(cluster.to_owned())))?;
    let mut changes = Vec::new();
    for topic in
        group.topics.iter().filter(|t| body.topic.as_deref().is_none_or(|only| only == t.topic))
    {
        let partitions =
            snapshot.topics.iter().find(|t2| t2.name == topic.topic).map(|t2| &t2.partitions);
        let ids: Vec<i32> = topic.partitions.iter().map(|p| p.partition).collect();
        let at_time = match body.to.as_str() {
            "timestamp" => {
                let at = parse_time(body.at.as_deref().unwrap_or_default())?;
                Some(actions.offsets_at(&topic.topic, &ids, at).await.map_err(broker_error)?)
            }
            "earliest" | "latest" => None,
            other => {
                return Err(invalid(format!(
                    "to={other:?}: use earliest, latest, timestamp or offsets"
                )));
            }
        };
        for p in &topic.partitions {
            let bounds = partitions.and_then(|ps| ps.iter().find(|x| x.id == p.partition));
            let new = match (body.to.as_str(), &at_time) {
                ("earliest", _) => bounds.and_then(|b| b.earliest_offset),
                ("latest", _) => bounds.and_then(|b| b.latest_offset),
                (_, Some(found)) => {
                    found.iter().find(|(id, _)| *id == p.partition).map(|(_, o)| *o)
                }
                _ => None,
            }
            .ok_or_else(|| {
                invalid(format!("no offsets known for {}/{}", topic.topic, p.partition))
            })?;
            changes.push(OffsetChange {
                topic: topic.topic.clone(),
                partition: p.partition,
                current: Some(p.committed),
                new,
            });
        }
    }
    if changes.is_empty() {
        return Err(invalid("the group has no committed offsets in that scope"));
    }
    Ok(changes)
}

async fn reset(
    state: &AppState,
    caller: &Caller,
    cluster: &str,
    group_name: &str,
    body: ResetBody,
) -> Result<ResetOutcome, WebError> {
    let action = if body.apply { "group.reset" } else { "group.reset.preview" };
    let what = Action { action, cluster: Some(cluster), object: Some(group_name) };
    let group = group_of(state, cluster, group_name);
    change(state, caller, Role::Operator, what, async |actions: &KafkaActions| {
        let group = group?;
        if group.summary.members > 0 {
            return Err(invalid(format!(
                "group {group_name} has {} active members; stop its consumers first",
                group.summary.members
            )));
        }
        let changes = plan_reset(state, actions, cluster, &group, &body).await?;
        if body.apply {
            let offsets: Vec<(String, i32, i64)> =
                changes.iter().map(|c| (c.topic.clone(), c.partition, c.new)).collect();
            actions.commit_offsets(group_name, &offsets).await.map_err(broker_error)?;
        }
        Ok(ResetOutcome { changes, applied: body.apply })
    })
    .await
}

async fn delete_group(
    state: &AppState,
    caller: &Caller,
    cluster: &str,
    group: &str,
) -> Result<(), WebError> {
    let what = Action { action: "group.delete", cluster: Some(cluster), object: Some(group) };
    change(state, caller, Role::Admin, what, async |actions: &KafkaActions| {
        actions.delete_group(group).await.map_err(broker_error)
    })
    .await
}

// ---------------------------------------------------------------------------------------------
// Pages

/// What a change did, or why it did not, with the way back.
#[derive(Template)]
#[template(path = "action_result.html")]
pub struct ResultPage {
    t: &'static Messages,
    chrome: Chrome,
    title: String,
    message: Option<String>,
    error: Option<String>,
    back: String,
    reset: Option<ResetView>,
}

pub struct ResetView {
    pub outcome: ResetOutcome,
    /// The previewed offsets as `topic,partition,offset` lines, for the "apply" form.
    pub planned: String,
    pub action: String,
}

fn result_page(
    lang: Lang,
    uri: &OriginalUri,
    caller: &Caller,
    cluster: &str,
    title: String,
    back: String,
    outcome: Result<String, WebError>,
) -> Result<Response, PageError> {
    let (status, message, error) = match outcome {
        Ok(message) => (StatusCode::OK, Some(message), None),
        Err(e @ (WebError::Forbidden(_) | WebError::Unauthorized(_))) => {
            return Err(PageError::from(e));
        }
        Err(e) => (StatusCode::UNPROCESSABLE_ENTITY, None, Some(e.to_string())),
    };
    let page = ResultPage {
        t: lang.messages(),
        chrome: Chrome::new(lang, here(uri), Some(cluster), &caller.who),
        title,
        message,
        error,
        back,
        reset: None,
    };
    Ok((status, render(&page)).into_response())
}

async fn create_topic_form(
    State(state): State<AppState>,
    lang: Lang,
    uri: OriginalUri,
    caller: Caller,
    Path(cluster): Path<String>,
    PageForm(f): PageForm<Fields>,
) -> Result<Response, PageError> {
    let name = f.value("name").to_owned();
    let outcome = async {
        let number = |field: &str| -> Result<i32, WebError> {
            let v = f.value(field);
            if v.is_empty() {
                Ok(1)
            } else {
                v.parse().map_err(|_| invalid(format!("{field}: {v:?} is not a number")))
            }
        };
        let body = NewTopicBody {
            name: name.clone(),
            partitions: number("partitions")?,
            replication_factor: number("replication_factor")?,
            configs: key_values(f.value("configs"))?.into_iter().collect(),
        };
        create_topic(&state, &caller, &cluster, body).await?;
        Ok(Messages::fill(lang.messages().topic_created, &[("topic", &name)]))
    }
    .await;
    let back = format!("/clusters/{}/topics/{}", segment(&cluster), segment(&name));
    result_page(lang, &uri, &caller, &cluster, lang.messages().create_topic.into(), back, outcome)
}

async fn partitions_form(
    State(state): State<AppState>,
    lang: Lang,
    uri: OriginalUri,
    caller: Caller,
    Path((cluster, topic)): Path<(String, String)>,
    PageForm(f): PageForm<Fields>,
) -> Result<Response, PageError> {
    let outcome = async {
        let total: usize = f
            .value("total")
            .parse()
            .map_err(|_| invalid("the new partition count is not a number"))?;
        add_partitions(&state, &caller, &cluster, &topic, total).await?;
        Ok(Messages::fill(
            lang.messages().partitions_added,
            &[("topic", &topic), ("total", &total.to_string())],
        ))
    }
    .await;
    let back = format!("/clusters/{}/topics/{}", segment(&cluster), segment(&topic));
    result_page(lang, &uri, &caller, &cluster, lang.messages().add_partitions.into(), back, outcome)
}

async fn configs_form(
    State(state): State<AppState>,
    lang: Lang,
    uri: OriginalUri,
    caller: Caller,
    Path((cluster, topic)): Path<(String, String)>,
    PageForm(f): PageForm<Fields>,
) -> Result<Response, PageError> {
    let outcome = async {
        let set = key_values(f.value("set"))?;
        let remove: Vec<String> = f
            .value("remove")
            .split([',', '\n'])
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .map(str::to_owned)
            .collect();
        edit_configs(&state, &caller, &cluster, &topic, set, remove).await?;
        Ok(Messages::fill(lang.messages().configs_changed, &[("topic", &topic)]))
    }
    .await;
    let back = format!("/clusters/{}/topics/{}", segment(&cluster), segment(&topic));
    result_page(lang, &uri, &caller, &cluster, lang.messages().edit_configs.into(), back, outcome)
}

async fn delete_topic_form(
    State(state): State<AppState>,
    lang: Lang,
    uri: OriginalUri,
    caller: Caller,
    Path((cluster, topic)): Path<(String, String)>,
    PageForm(f): PageForm<Fields>,
) -> Result<Response, PageError> {
    let outcome = delete_topic(&state, &caller, &cluster, &topic, f.value("confirm"))
        .await
        .map(|()| Messages::fill(lang.messages().topic_deleted, &[("topic", &topic)]));
    let back = format!("/clusters/{}/topics", segment(&cluster));
    result_page(lang, &uri, &caller, &cluster, lang.messages().delete_topic.into(), back, outcome)
}

fn reset_body(f: &Fields) -> Result<ResetBody, WebError> {
    let mut offsets = Vec::new();
    for line in f.value("offsets").lines().map(str::trim).filter(|l| !l.is_empty()) {
        let parts: Vec<&str> = line.rsplitn(3, [',', ' ']).collect();
        let [offset, partition, topic] = parts.as_slice() else {
            return Err(invalid(format!("{line:?} is not topic,partition,offset")));
        };
        let parse = |v: &str| {
            v.trim()
                .parse::<i64>()
                .map_err(|_| invalid(format!("{line:?} is not topic,partition,offset")))
        };
        offsets.push((topic.trim().to_owned(), parse(partition)? as i32, parse(offset)?));
    }
    Ok(ResetBody {
        topic: Some(f.value("topic").to_owned()).filter(|t| !t.is_empty()),
        to: f.value("to").to_owned(),
        at: Some(f.value("at").to_owned()).filter(|a| !a.is_empty()),
        offsets,
        apply: f.value("apply") == "true",
    })
}

async fn reset_form(
    State(state): State<AppState>,
    lang: Lang,
    uri: OriginalUri,
    caller: Caller,
    Path((cluster, group)): Path<(String, String)>,
    PageForm(f): PageForm<Fields>,
) -> Result<Response, PageError> {
    let t = lang.messages();
    let back = format!("/clusters/{}/groups/{}", segment(&cluster), segment(&group));
    let outcome = match reset_body(&f) {
        Ok(body) => reset(&state, &caller, &cluster, &group, body).await,
        Err(e) => Err(e),
    };
    let outcome = match outcome {
        Ok(outcome) => outcome,
        Err(e) => {
            return result_page(
                lang,
                &uri,
                &caller,
                &cluster,
                t.reset_offsets.into(),
                back,
                Err(e),
            );
        }
    };
    let planned = outcome
        .changes
        .iter()
        .map(|c| format!("{},{},{}", c.topic, c.partition, c.new))
        .collect::<Vec<_>>()
        .join("\n");
    let message = if outcome.applied {
        Messages::fill(
            t.reset_applied,
            &[("group", &group), ("count", &outcome.changes.len().to_string())],
        )
    } else {
        t.reset_preview.to_owned()
    };
    let page = ResultPage {
        t,
        chrome: Chrome::new(lang, here(&uri), Some(&cluster), &caller.who),
        title: format!("{} · {group}", t.reset_offsets),
        message: Some(message),
        error: None,
        reset: Some(ResetView {
            outcome,
            planned,
            action: format!("/clusters/{}/groups/{}/reset", segment(&cluster), segment(&group)),
        }),
        back,
    };
    Ok(render(&page))
}

async fn delete_group_form(
    State(state): State<AppState>,
    lang: Lang,
    uri: OriginalUri,
    caller: Caller,
    Path((cluster, group)): Path<(String, String)>,
    PageForm(f): PageForm<Fields>,
) -> Result<Response, PageError> {
    let outcome = if f.value("confirm") == group {
        delete_group(&state, &caller, &cluster, &group)
            .await
            .map(|()| Messages::fill(lang.messages().group_deleted, &[("group", &group)]))
    } else {
        Err(invalid("type the group's name to confirm its deletion"))
    };
    let back = format!("/clusters/{}/groups", segment(&cluster));
    result_page(lang, &uri, &caller, &cluster, lang.messages().delete_group.into(), back, outcome)
}

// ---------------------------------------------------------------------------------------------
// API

async fn create_topic_api(
    State(state): State<AppState>,
    caller: Caller,
    Path(cluster): Path<String>,
    ApiJson(body): ApiJson<NewTopicBody>,
) -> Result<StatusCode, ApiError> {
    create_topic(&state, &caller, &cluster, body).await?;
    Ok(StatusCode::CREATED)
}

#[derive(Debug, Default, Deserialize)]
pub struct ConfirmQuery {
    #[serde(default)]
    confirm: String,
}

async fn delete_topic_api(
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

async fn partitions_api(
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

async fn configs_api(
    State(state): State<AppState>,
    caller: Caller,
    Path((cluster, topic)): Path<(String, String)>,
    ApiJson(body): ApiJson<ConfigsBody>,
) -> Result<StatusCode, ApiError> {
    edit_configs(&state, &caller, &cluster, &topic, body.set.into_iter().collect(), body.remove)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn reset_api(
    State(state): State<AppState>,
    caller: Caller,
    Path((cluster, group)): Path<(String, String)>,
    ApiJson(body): ApiJson<ResetBody>,
) -> Result<Json<ResetOutcome>, ApiError> {
    Ok(Json(reset(&state, &caller, &cluster, &group, body).await?))
}

async fn delete_group_api(
    State(state): State<AppState>,
    caller: Caller,
    Path((cluster, group)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    delete_group(&state, &caller, &cluster, &group).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_names_follow_kafka() {
        assert!(check_topic_name("orders.v1_eu-2").is_ok());
        for bad in ["", ".", "..", "with space", "ü", &"x".repeat(250)] {
            assert!(check_topic_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn config_edits_merge_into_what_is_set() {
        let current = vec![
            ("cleanup.policy".to_string(), "compact".to_string()),
            ("retention.ms".into(), "1000".into()),
        ];
        let merged = merge_configs(
            current,
            &[("retention.ms".into(), "5000".into()), ("segment.ms".into(), "60000".into())],
            &["cleanup.policy".into()],
        );
        assert_eq!(
            merged,
            [
                ("retention.ms".to_string(), "5000".to_string()),
                ("segment.ms".into(), "60000".into())
            ]
        );
    }

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
