//! Topic and subscription-group changes on a RocketMQ cluster, a group's offsets reset to a
//! time (previewed first), and a producer group's online connections — pages and API, each
//! role-checked, refused on a read-only cluster and audited.

use super::*;
use crate::brokers::rocketmq::admin::{PERM_READ_WRITE, QueueReset, TopicChange};
use crate::domain::rocket::GroupSettings;

/// `PUT …/rocketmq/topics/{topic}`: queues and permission, on the named masters (every master
/// when empty).
#[derive(Debug, Clone, Deserialize)]
pub struct TopicBody {
    pub read_queues: i32,
    pub write_queues: i32,
    #[serde(default = "read_write")]
    pub perm: i32,
    #[serde(default)]
    pub brokers: Vec<String>,
}

fn read_write() -> i32 {
    PERM_READ_WRITE
}

/// Most queues a topic may have on one broker (mqadmin's limit is the broker's own; this keeps
/// a typing slip from creating a million).
const MAX_QUEUES: i32 = 1024;

fn check_topic(name: &str, body: &TopicBody) -> Result<TopicChange, WebError> {
    if name.is_empty()
        || name.len() > 127
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'%' | b'|'))
    {
        return Err(WebError::invalid(
            "name",
            format!(
                "{} is not a RocketMQ topic name: 1-127 letters, digits, '_', '-', '%' or '|'",
                crate::domain::clipped(name)
            ),
        ));
    }
    for (field, value) in [("read_queues", body.read_queues), ("write_queues", body.write_queues)] {
        if !(1..=MAX_QUEUES).contains(&value) {
            return Err(WebError::invalid(field, format!("{field} must be 1 to {MAX_QUEUES}")));
        }
    }
    if ![2, 4, 6].contains(&body.perm) {
        return Err(WebError::invalid("perm", "perm is 2 (write), 4 (read) or 6 (read and write)"));
    }
    Ok(TopicChange {
        name: name.to_owned(),
        read_queues: body.read_queues,
        write_queues: body.write_queues,
        perm: body.perm,
    })
}

/// Creates or updates a topic; returns the masters changed.
pub async fn upsert_topic(
    state: &AppState,
    caller: &Caller,
    cluster: &str,
    name: &str,
    body: &TopicBody,
) -> Result<Vec<String>, WebError> {
    let what = Action { action: "topic.upsert", cluster: Some(cluster), object: Some(name) };
    let changed = async {
        state.operators.writable(cluster)?;
        let rocket = state.operators.rocket_for(cluster, "this topic form is for RocketMQ")?;
        let change = check_topic(name, body)?;
        Ok::<_, WebError>(rocket.upsert_topic(&change, &body.brokers).await?)
    };
    caller.act(state, Role::Admin, what, changed).await?
}

pub async fn delete_topic(
    state: &AppState,
    caller: &Caller,
    cluster: &str,
    name: &str,
) -> Result<(), WebError> {
    let what = Action { action: "topic.delete", cluster: Some(cluster), object: Some(name) };
    let deleted = async {
        state.operators.writable(cluster)?;
        let rocket = state.operators.rocket_for(cluster, "this topic form is for RocketMQ")?;
        Ok::<_, WebError>(rocket.delete_topic(name).await?)
    };
    caller.act(state, Role::Admin, what, deleted).await?
}

/// `PUT …/rocketmq/groups/{group}`: the settings; left-out ones keep RocketMQ's defaults.
#[derive(Debug, Clone, Deserialize)]
pub struct GroupBody {
    #[serde(default = "yes")]
    pub consume_enable: bool,
    #[serde(default = "yes")]
    pub consume_broadcast_enable: bool,
    #[serde(default = "sixteen")]
    pub retry_max_times: i32,
    #[serde(default = "one")]
    pub retry_queue_nums: i32,
}

fn yes() -> bool {
    true
}
fn sixteen() -> i32 {
    16
}
fn one() -> i32 {
    1
}

pub async fn upsert_group(
    state: &AppState,
    caller: &Caller,
    cluster: &str,
    name: &str,
    body: &GroupBody,
) -> Result<(), WebError> {
    let what = Action { action: "group.upsert", cluster: Some(cluster), object: Some(name) };
    let changed = async {
        state.operators.writable(cluster)?;
        let rocket = state.operators.rocket_for(cluster, "this group form is for RocketMQ")?;
        if name.is_empty()
            || name.len() > 255
            || name.chars().any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(WebError::invalid(
                "name",
                "a group name is 1-255 characters without spaces",
            ));
        }
        if !(-1..=32).contains(&body.retry_max_times) {
            return Err(WebError::invalid("retry_max_times", "retry_max_times is -1 to 32"));
        }
        if !(1..=64).contains(&body.retry_queue_nums) {
            return Err(WebError::invalid("retry_queue_nums", "retry_queue_nums is 1 to 64"));
        }
        let settings = GroupSettings {
            consume_enable: body.consume_enable,
            consume_broadcast_enable: body.consume_broadcast_enable,
            retry_max_times: body.retry_max_times,
            retry_queue_nums: body.retry_queue_nums,
        };
        Ok(rocket.upsert_group(name, &settings).await?)
    };
    caller.act(state, Role::Admin, what, changed).await?
}

pub async fn delete_group(
    state: &AppState,
    caller: &Caller,
    cluster: &str,
    name: &str,
) -> Result<(), WebError> {
    let what = Action { action: "group.delete", cluster: Some(cluster), object: Some(name) };
    let deleted = async {
        state.operators.writable(cluster)?;
        let rocket = state.operators.rocket_for(cluster, "this group form is for RocketMQ")?;
        Ok::<_, WebError>(rocket.delete_group(name).await?)
    };
    caller.act(state, Role::Admin, what, deleted).await?
}

/// `{"topic": …, "time": …, "apply": false}`: previewed unless `apply`.
#[derive(Debug, Clone, Deserialize)]
pub struct ResetBody {
    pub topic: String,
    /// Epoch ms or `YYYY-MM-DD HH:MM:SS` (UTC).
    pub time: String,
    #[serde(default)]
    pub apply: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct ResetResult {
    pub topic: String,
    pub time: Millis,
    pub applied: bool,
    pub queues: Vec<QueueReset>,
}

pub async fn reset(
    state: &AppState,
    caller: &Caller,
    cluster: &str,
    group: &str,
    body: &ResetBody,
) -> Result<ResetResult, WebError> {
    let action = if body.apply { "group.reset" } else { "group.reset.preview" };
    let object = format!("{group} on {}", body.topic);
    let what = Action { action, cluster: Some(cluster), object: Some(&object) };
    let done = async {
        state.operators.writable(cluster)?;
        let rocket = state.operators.rocket_for(cluster, "this reset form is for RocketMQ")?;
        let time = parse_time(&body.time)?;
        let topic = body.topic.trim();
        if topic.is_empty() {
            return Err(WebError::invalid("topic", "name the topic to reset the group on"));
        }
        let queues = if body.apply {
            rocket.reset_to_time(group, topic, time).await?
        } else {
            rocket.reset_plan(group, topic, time).await?
        };
        Ok(ResetResult { topic: topic.to_owned(), time, applied: body.apply, queues })
    };
    caller.act(state, Role::Operator, what, done).await?
}

/// `?group=`: a producer group's online producers of a topic.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ProducerQuery {
    #[serde(default)]
    pub group: Option<String>,
}

async fn read_producers(
    state: &AppState,
    caller: &Caller,
    cluster: &str,
    topic: &str,
    group: &str,
) -> Result<Vec<ConsumerClient>, WebError> {
    let what = Action { action: "producers.view", cluster: Some(cluster), object: Some(topic) };
    caller.require(state, Role::Operator, what).await?;
    let rocket = state.operators.rocket_for(cluster, "producer connections are RocketMQ's")?;
    if group.trim().is_empty() {
        return Err(WebError::invalid("group", "name the producer group"));
    }
    Ok(rocket.producers(topic, group.trim()).await?)
}

// ---- API ----------------------------------------------------------------------------------

pub(super) async fn upsert_topic_api(
    State(state): State<AppState>,
    caller: Caller,
    Path((cluster, topic)): Path<(String, String)>,
    ApiJson(body): ApiJson<TopicBody>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let brokers = upsert_topic(&state, &caller, &cluster, &topic, &body).await?;
    Ok(Json(serde_json::json!({ "topic": topic, "brokers": brokers })))
}

pub(super) async fn delete_topic_api(
    State(state): State<AppState>,
    caller: Caller,
    Path((cluster, topic)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    delete_topic(&state, &caller, &cluster, &topic).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub(super) async fn upsert_group_api(
    State(state): State<AppState>,
    caller: Caller,
    Path((cluster, group)): Path<(String, String)>,
    ApiJson(body): ApiJson<GroupBody>,
) -> Result<StatusCode, ApiError> {
    upsert_group(&state, &caller, &cluster, &group, &body).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub(super) async fn delete_group_api(
    State(state): State<AppState>,
    caller: Caller,
    Path((cluster, group)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    delete_group(&state, &caller, &cluster, &group).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub(super) async fn reset_api(
    State(state): State<AppState>,
    caller: Caller,
    Path((cluster, group)): Path<(String, String)>,
    ApiJson(body): ApiJson<ResetBody>,
) -> Result<Json<ResetResult>, ApiError> {
    Ok(Json(reset(&state, &caller, &cluster, &group, &body).await?))
}

pub(super) async fn producers_api(
    State(state): State<AppState>,
    caller: Caller,
    Path((cluster, topic)): Path<(String, String)>,
    ApiQuery(q): ApiQuery<ProducerQuery>,
) -> Result<Json<Vec<ConsumerClient>>, ApiError> {
    let group = q.group.unwrap_or_default();
    Ok(Json(read_producers(&state, &caller, &cluster, &topic, &group).await?))
}

// ---- pages --------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "rocket_admin_result.html")]
pub struct AdminResultPage {
    t: &'static Messages,
    chrome: Chrome,
    title: String,
    message: Option<String>,
    error: Option<String>,
    back: String,
    reset: Option<(ResetResult, String)>,
    producers: Option<Vec<ConsumerClient>>,
}

fn result_page(
    lang: Lang,
    uri: &OriginalUri,
    caller: &Caller,
    cluster: &str,
    title: String,
    back: String,
    outcome: Result<String, WebError>,
) -> Result<AdminResultPage, PageError> {
    let (message, error) = match outcome {
        Ok(message) => (Some(message), None),
        Err(e @ (WebError::Forbidden(_) | WebError::Unauthorized(_))) => {
            return Err(PageError::from(e));
        }
        Err(e) => (None, Some(e.to_string())),
    };
    Ok(AdminResultPage {
        t: lang.messages(),
        chrome: Chrome::new(lang, here(uri), Some(cluster), &caller.who),
        title,
        message,
        error,
        back,
        reset: None,
        producers: None,
    })
}

fn answer(page: AdminResultPage) -> Response {
    let status =
        if page.error.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    (status, render(&page)).into_response()
}

fn number(f: &Fields, field: &str, default: i32) -> Result<i32, WebError> {
    match f.value(field) {
        "" => Ok(default),
        v => v
            .parse()
            .map_err(|_| WebError::invalid(field, format!("{field}: {v:?} is not a number"))),
    }
}

/// A deletion goes ahead only when the form's `confirm` field repeats the name.
fn confirmed(f: &Fields, name: &str, what: &str) -> Result<(), WebError> {
    if f.value("confirm") == name {
        Ok(())
    } else {
        Err(WebError::invalid("confirm", format!("type the {what}'s name to confirm its deletion")))
    }
}

fn topic_href(cluster: &str, topic: &str) -> String {
    format!("/clusters/{}/topics/{}", segment(cluster), segment(topic))
}

fn group_href(cluster: &str, group: &str) -> String {
    format!("/clusters/{}/groups/{}", segment(cluster), segment(group))
}

pub(super) async fn upsert_topic_form(
    State(state): State<AppState>,
    page: Page,
    Path(cluster): Path<String>,
    PageForm(f): PageForm<Fields>,
) -> Result<Response, PageError> {
    let Page { lang, uri, caller } = page;
    let name = f.value("name").to_owned();
    let outcome = async {
        let body = TopicBody {
            read_queues: number(&f, "read_queues", 8)?,
            write_queues: number(&f, "write_queues", 8)?,
            perm: number(&f, "perm", PERM_READ_WRITE)?,
            brokers: f.all("brokers"),
        };
        let brokers = upsert_topic(&state, &caller, &cluster, &name, &body).await?;
        Ok(Messages::fill(
            lang.messages().rocket_topic_saved,
            &[("topic", &name), ("brokers", &brokers.join(", "))],
        ))
    };
    let title = lang.messages().rocket_topic_title.to_owned();
    let back = topic_href(&cluster, &name);
    Ok(answer(result_page(lang, &uri, &caller, &cluster, title, back, outcome.await)?))
}

pub(super) async fn delete_topic_form(
    State(state): State<AppState>,
    page: Page,
    Path((cluster, topic)): Path<(String, String)>,
    PageForm(f): PageForm<Fields>,
) -> Result<Response, PageError> {
    let Page { lang, uri, caller } = page;
    let outcome = async {
        confirmed(&f, &topic, "topic")?;
        delete_topic(&state, &caller, &cluster, &topic).await?;
        Ok(Messages::fill(lang.messages().topic_deleted, &[("topic", &topic)]))
    };
    let title = lang.messages().delete_topic.to_owned();
    let back = format!("/clusters/{}/topics", segment(&cluster));
    Ok(answer(result_page(lang, &uri, &caller, &cluster, title, back, outcome.await)?))
}

pub(super) async fn upsert_group_form(
    State(state): State<AppState>,
    page: Page,
    Path(cluster): Path<String>,
    PageForm(f): PageForm<Fields>,
) -> Result<Response, PageError> {
    let Page { lang, uri, caller } = page;
    let name = f.value("name").to_owned();
    let outcome = async {
        let body = GroupBody {
            consume_enable: f.value("consume_enable") == "true",
            consume_broadcast_enable: f.value("consume_broadcast_enable") == "true",
            retry_max_times: number(&f, "retry_max_times", 16)?,
            retry_queue_nums: number(&f, "retry_queue_nums", 1)?,
        };
        upsert_group(&state, &caller, &cluster, &name, &body).await?;
        Ok(Messages::fill(lang.messages().rocket_group_saved, &[("group", &name)]))
    };
    let title = lang.messages().rocket_group_title.to_owned();
    let back = group_href(&cluster, &name);
    Ok(answer(result_page(lang, &uri, &caller, &cluster, title, back, outcome.await)?))
}

pub(super) async fn delete_group_form(
    State(state): State<AppState>,
    page: Page,
    Path((cluster, group)): Path<(String, String)>,
    PageForm(f): PageForm<Fields>,
) -> Result<Response, PageError> {
    let Page { lang, uri, caller } = page;
    let outcome = async {
        confirmed(&f, &group, "group")?;
        delete_group(&state, &caller, &cluster, &group).await?;
        Ok(Messages::fill(lang.messages().group_deleted, &[("group", &group)]))
    };
    let title = lang.messages().delete_group.to_owned();
    let back = format!("/clusters/{}/groups", segment(&cluster));
    Ok(answer(result_page(lang, &uri, &caller, &cluster, title, back, outcome.await)?))
}

pub(super) async fn reset_form(
    State(state): State<AppState>,
    page: Page,
    Path((cluster, group)): Path<(String, String)>,
    PageForm(f): PageForm<Fields>,
) -> Result<Response, PageError> {
    let Page { lang, uri, caller } = page;
    let body = ResetBody {
        topic: f.value("topic").to_owned(),
        time: f.value("time").to_owned(),
        apply: f.value("apply") == "true",
    };
    let outcome = reset(&state, &caller, &cluster, &group, &body).await;
    let t = lang.messages();
    let (message, result) = match outcome {
        Ok(result) => {
            let text = if result.applied { t.reset_done } else { t.reset_previewed };
            (Ok(text.to_owned()), Some(result))
        }
        Err(e) => (Err(e), None),
    };
    let back = group_href(&cluster, &group);
    let mut page =
        result_page(lang, &uri, &caller, &cluster, t.reset_title.to_owned(), back, message)?;
    page.reset = result.map(|r| {
        let action = format!("{}/rocketmq-reset", group_href(&cluster, &group));
        (r, action)
    });
    Ok(answer(page))
}

pub(super) async fn producers_page(
    State(state): State<AppState>,
    page: Page,
    Path((cluster, topic)): Path<(String, String)>,
    PageQuery(q): PageQuery<ProducerQuery>,
) -> Result<Response, PageError> {
    let Page { lang, uri, caller } = page;
    let group = q.group.unwrap_or_default();
    let (message, producers) = match read_producers(&state, &caller, &cluster, &topic, &group).await
    {
        Ok(list) => {
            let count = list.len().to_string();
            let text = Messages::fill(
                lang.messages().producers_found,
                &[("count", &count), ("group", &group)],
            );
            (Ok(text), Some(list))
        }
        Err(e) => (Err(e), None),
    };
    let title = lang.messages().producers_title.to_owned();
    let back = topic_href(&cluster, &topic);
    let mut page = result_page(lang, &uri, &caller, &cluster, title, back, message)?;
    page.producers = producers;
    Ok(answer(page))
}
