//! Finding RocketMQ messages (by store-time window, paged; by key; by message id) and one
//! message in detail: properties, body, where it was stored, whether each subscribing group
//! consumed it, its trace, and a redelivery to one client of a group (direct consumption).

use std::collections::BTreeMap;

use super::*;
use crate::brokers::rocketmq::lookup::{
    self, Consumption, DirectResult, Found, consumer_offsets, consumption,
};
use crate::brokers::rocketmq::trace::{TraceEvent, TracedConsumption, consumptions};

/// Messages per page unless asked otherwise, and the most a page may hold.
const PER_PAGE: usize = 20;
const MAX_PER_PAGE: usize = 200;
/// The window a query without `begin` looks back over.
const DEFAULT_WINDOW: Millis = 60 * 60 * 1000;

/// `?begin=&end=&key=&id=&page=&per_page=`: an id wins over a key, a key over the window.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct QueryParams {
    #[serde(default)]
    pub begin: Option<String>,
    #[serde(default)]
    pub end: Option<String>,
    #[serde(default)]
    pub key: Option<String>,
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub page: Option<usize>,
    #[serde(default)]
    pub per_page: Option<usize>,
}

fn given(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

impl QueryParams {
    /// The window asked for: `[begin, end]`, by default the last hour up to `now`.
    pub fn window(&self, now: Millis) -> Result<(Millis, Millis), WebError> {
        let end = given(&self.end).map(parse_time).transpose()?.unwrap_or(now);
        let begin = given(&self.begin)
            .map(parse_time)
            .transpose()?
            .unwrap_or(end.saturating_sub(DEFAULT_WINDOW));
        if begin > end {
            return Err(WebError::invalid("begin", "the window begins after it ends"));
        }
        Ok((begin, end))
    }

    fn page(&self) -> (usize, usize) {
        (self.page.unwrap_or(1).max(1), self.per_page.unwrap_or(PER_PAGE).clamp(1, MAX_PER_PAGE))
    }
}

/// A message in a list, as pages and the API show it.
#[derive(Debug, Clone, Serialize)]
pub struct MessageRow {
    /// The producer's id (UNIQ_KEY); the offset id when there is none.
    pub id: String,
    /// The broker's id: store host and commit-log offset.
    pub offset_id: String,
    pub topic: String,
    pub broker: String,
    pub queue_id: i32,
    pub queue_offset: i64,
    pub tag: Option<String>,
    pub keys: Vec<String>,
    pub stored_at: Millis,
    pub born_at: Millis,
    pub store_host: String,
    pub born_host: String,
    pub size: usize,
    pub reconsume_times: i32,
}

impl MessageRow {
    pub fn stored(&self) -> Option<Millis> {
        Some(self.stored_at)
    }

    pub fn born(&self) -> Option<Millis> {
        Some(self.born_at)
    }
}

impl From<&Found> for MessageRow {
    fn from(found: &Found) -> Self {
        let m = &found.message;
        MessageRow {
            id: m.client_id(),
            offset_id: m.offset_id(),
            topic: m.topic.clone(),
            broker: found.broker.clone(),
            queue_id: m.queue_id,
            queue_offset: m.queue_offset,
            tag: m.tag().map(str::to_owned),
            keys: m.keys().into_iter().map(str::to_owned).collect(),
            stored_at: m.store_timestamp,
            born_at: m.born_timestamp,
            store_host: m.store_host.clone(),
            born_host: m.born_host.clone(),
            size: m.stored_size,
            reconsume_times: m.reconsume_times,
        }
    }
}

/// One page of what a query found.
#[derive(Debug, Clone, Serialize)]
pub struct QueryResult {
    /// `id`, `key` or `time`.
    pub by: &'static str,
    pub messages: Vec<MessageRow>,
    /// Messages found in all (a window query reads the newest
    /// [`MAX_WINDOW_MESSAGES`](lookup::MAX_WINDOW_MESSAGES)).
    pub found: usize,
    pub page: usize,
    pub pages: usize,
    pub per_page: usize,
    /// How many messages the window's queue offsets span (window queries).
    pub spanned: Option<u64>,
    /// The window holds more than was read: narrow it to see older ones.
    pub capped: bool,
    /// Queues that could not be read.
    pub errors: Vec<String>,
}

/// Runs a query on `topic`: by id, by key, or over the time window.
pub async fn find(
    rocket: &RocketAdapter,
    topic: &str,
    params: &QueryParams,
    now: Millis,
) -> Result<QueryResult, WebError> {
    let (begin, end) = params.window(now)?;
    let (by, found, spanned, errors) = if let Some(id) = given(&params.id) {
        let found = rocket.message_by_id(topic, id).await?;
        ("id", found.into_iter().collect(), None, Vec::new())
    } else if let Some(key) = given(&params.key) {
        let window_given = given(&params.begin).is_some() || given(&params.end).is_some();
        let (from, to) = if window_given { (begin, end) } else { (0, i64::MAX) };
        ("key", rocket.messages_by_key(topic, key, false, from, to).await?, None, Vec::new())
    } else {
        let window = rocket.messages_in_window(topic, begin, end, false).await?;
        ("time", window.messages, Some(window.spanned), window.errors)
    };
    Ok(paged(by, &found, spanned, errors, params))
}

pub(super) fn paged(
    by: &'static str,
    found: &[Found],
    spanned: Option<u64>,
    errors: Vec<String>,
    params: &QueryParams,
) -> QueryResult {
    let (page, per_page) = params.page();
    let pages = found.len().div_ceil(per_page).max(1);
    let page = page.min(pages);
    QueryResult {
        by,
        messages: found
            .iter()
            .skip((page - 1) * per_page)
            .take(per_page)
            .map(MessageRow::from)
            .collect(),
        found: found.len(),
        page,
        pages,
        per_page,
        capped: spanned.is_some_and(|s| s > found.len() as u64 + 64)
            && found.len() >= lookup::MAX_WINDOW_MESSAGES,
        spanned,
        errors,
    }
}

/// What became of a message for one group.
#[derive(Debug, Clone, Serialize)]
pub struct GroupRow {
    pub group: String,
    /// `None` when the group's offset could not be read (`error` says why).
    pub status: Option<Consumption>,
    pub consumer_offset: Option<i64>,
    /// The group's tag expression for the topic, when clients are online.
    pub expression: Option<String>,
    /// Online clients that a redelivery can go to.
    pub clients: Vec<String>,
    pub error: Option<String>,
}

/// One message in full.
#[derive(Debug, Clone, Serialize)]
pub struct MessageDetail {
    pub message: MessageRow,
    pub properties: BTreeMap<String, String>,
    /// The body as text (invalid UTF-8 replaced); `body_base64` has the exact bytes.
    pub body: String,
    pub body_base64: String,
    /// Stored compressed (shown inflated).
    pub compressed: bool,
    /// Why the body is shown as stored rather than as sent (a compression Osprey does not
    /// inflate, or a corrupt one).
    pub body_note: Option<String>,
    pub groups: Vec<GroupRow>,
    /// Why the groups could not all be listed.
    pub groups_error: Option<String>,
    pub trace: Vec<TraceEvent>,
    pub consumptions: Vec<TracedConsumption>,
    /// Whether the cluster has a trace topic (brokers with `traceTopicEnable`) as of the last
    /// poll; without one no trace is asked for.
    pub trace_topic: bool,
    /// Why the trace could not be read.
    pub trace_error: Option<String>,
    #[serde(skip)]
    pub raw_body: Vec<u8>,
}

/// The groups that consume `topic`: those the last poll saw on it and those the brokers name.
fn polled_groups(
    state: &AppState,
    cluster: &str,
    topic: &str,
) -> BTreeMap<String, (Option<String>, Vec<String>)> {
    let snapshot = state.clusters.get(cluster).and_then(|c| c.snapshot.clone());
    let Some(rocket) = snapshot.as_ref().and_then(|s| s.rocket.clone()) else {
        return BTreeMap::new();
    };
    rocket
        .groups
        .iter()
        .filter_map(|g| {
            let expression =
                g.subscriptions.iter().find(|(t, _)| t == topic).map(|(_, e)| e.clone());
            let on_topic = expression.is_some() || g.queues.iter().any(|q| q.topic == topic);
            on_topic.then(|| {
                let clients = g.clients.iter().map(|c| c.client_id.clone()).collect();
                (g.name.clone(), (expression, clients))
            })
        })
        .collect()
}

/// Whether the last poll saw the trace topic (hidden among the system topics).
fn has_trace_topic(state: &AppState, cluster: &str) -> bool {
    let snapshot = state.clusters.get(cluster).and_then(|c| c.snapshot.clone());
    // Before the first poll, ask: the brokers will say.
    snapshot.is_none_or(|s| s.topic(lookup::TRACE_TOPIC).is_some())
}

pub async fn detail(
    state: &AppState,
    rocket: &RocketAdapter,
    cluster: &str,
    topic: &str,
    id: &str,
) -> Result<MessageDetail, WebError> {
    let found = rocket.message_by_id(topic, id).await?.ok_or_else(|| {
        WebError::Query(QueryError::UnknownTopic {
            cluster: cluster.to_owned(),
            topic: format!("{topic} message {id}"),
        })
    })?;
    let mut known = polled_groups(state, cluster, topic);
    let groups_error = match rocket.groups_consuming(topic).await {
        Ok(names) => {
            for name in names {
                known.entry(name).or_default();
            }
            None
        }
        Err(e) => Some(e.to_string()),
    };
    let names: Vec<String> = known.keys().cloned().collect();
    let mut offsets = consumer_offsets(rocket, &found, &names).await;
    let m = &found.message;
    let groups = known
        .into_iter()
        .map(|(group, (expression, clients))| {
            let (status, consumer_offset, error) = match offsets.remove(&group) {
                Some(Ok(offset)) => {
                    let status =
                        consumption(m.queue_offset, offset, expression.as_deref(), m.tag());
                    (Some(status), offset, None)
                }
                Some(Err(e)) => (None, None, Some(e)),
                None => (None, None, None),
            };
            GroupRow { group, status, consumer_offset, expression, clients, error }
        })
        .collect();
    let trace_topic = has_trace_topic(state, cluster);
    let (trace, trace_error) = if trace_topic {
        match rocket.trace(&m.client_id()).await {
            Ok(events) => (events, None),
            Err(e) => (Vec::new(), Some(e.to_string())),
        }
    } else {
        (Vec::new(), None)
    };
    let (content, body_note) = match m.content() {
        Ok(content) => (content.into_owned(), None),
        Err(why) => (m.body.clone(), Some(why.to_string())),
    };
    Ok(MessageDetail {
        message: MessageRow::from(&found),
        properties: m.properties.clone(),
        body: String::from_utf8_lossy(&content).into_owned(),
        body_base64: base64::engine::general_purpose::STANDARD.encode(&content),
        compressed: m.compressed,
        body_note,
        groups,
        groups_error,
        consumptions: consumptions(&trace),
        trace,
        trace_topic,
        trace_error,
        raw_body: content,
    })
}

/// `{"group": …, "client_id": …}`: which group, and which of its clients (the first online
/// one when left out).
#[derive(Debug, Clone, Deserialize)]
pub struct ResendRequest {
    pub group: String,
    #[serde(default)]
    pub client_id: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ResendOutcome {
    pub group: String,
    pub client_id: String,
    pub result: DirectResult,
}

/// Hands the message to one online client of the group to consume now.
pub async fn resend(
    state: &AppState,
    caller: &Caller,
    cluster: &str,
    topic: &str,
    id: &str,
    request: &ResendRequest,
) -> Result<ResendOutcome, WebError> {
    let object = format!("{topic}/{id} → {}", request.group);
    let what = Action { action: "message.resend", cluster: Some(cluster), object: Some(&object) };
    let resent = async {
        state.operators.writable(cluster)?;
        let rocket = state.operators.rocket_for(cluster, "direct consumption is for RocketMQ")?;
        let found = rocket.message_by_id(topic, id).await?.ok_or_else(|| {
            WebError::invalid("id", format!("no message {} in {topic}", crate::domain::clipped(id)))
        })?;
        let client_id = match given(&request.client_id) {
            Some(client) => client.to_owned(),
            None => polled_groups(state, cluster, topic)
                .remove(&request.group)
                .and_then(|(_, clients)| clients.into_iter().next())
                .ok_or_else(|| {
                    WebError::invalid(
                        "group",
                        format!(
                            "group {} has no online client to consume the message",
                            crate::domain::clipped(&request.group)
                        ),
                    )
                })?,
        };
        let result = rocket
            .consume_directly(
                &found.address,
                &request.group,
                &client_id,
                topic,
                &found.message.offset_id(),
            )
            .await?;
        Ok::<_, WebError>(ResendOutcome { group: request.group.clone(), client_id, result })
    };
    caller.act(state, Role::Operator, what, resent).await?
}

// ---- pages and API ------------------------------------------------------------------------

async fn read_query(
    state: &AppState,
    caller: &Caller,
    cluster: &str,
    topic: &str,
    params: &QueryParams,
) -> Result<QueryResult, WebError> {
    let what = Action { action: "message.query", cluster: Some(cluster), object: Some(topic) };
    caller.require(state, Role::Operator, what).await?;
    let rocket = state.operators.rocket_for(cluster, "message queries are for RocketMQ")?;
    find(rocket, topic, params, now_millis()).await
}

pub(super) async fn query_api(
    State(state): State<AppState>,
    caller: Caller,
    Path((cluster, topic)): Path<(String, String)>,
    ApiQuery(params): ApiQuery<QueryParams>,
) -> Result<Json<QueryResult>, ApiError> {
    Ok(Json(read_query(&state, &caller, &cluster, &topic, &params).await?))
}

#[derive(Template)]
#[template(path = "rocket_query.html")]
pub struct QueryPage {
    t: &'static Messages,
    f: Fmt,
    chrome: Chrome,
    cluster: String,
    topic: String,
    q: QueryParams,
    result: Option<QueryResult>,
    error: Option<String>,
}

impl QueryPage {
    pub fn field(&self, name: &str) -> String {
        let value = match name {
            "begin" => &self.q.begin,
            "end" => &self.q.end,
            "key" => &self.q.key,
            "id" => &self.q.id,
            _ => &None,
        };
        value.clone().unwrap_or_default()
    }

    /// The address of page `page` of the same query.
    pub fn page_href(&self, page: usize) -> String {
        let mut pairs = url::form_urlencoded::Serializer::new(String::new());
        for name in ["begin", "end", "key", "id"] {
            pairs.append_pair(name, &self.field(name));
        }
        pairs.append_pair("page", &page.to_string());
        format!("?{}", pairs.finish())
    }

    pub fn message_href(&self, m: &MessageRow) -> String {
        message_href(&self.cluster, &self.topic, &m.offset_id)
    }

    pub fn page_of(&self) -> String {
        page_of(self.t, &self.result)
    }
}

/// "Page n of m" of a query's result, for the shared pager.
pub fn page_of(t: &Messages, result: &Option<QueryResult>) -> String {
    let (page, pages) = result.as_ref().map_or((1, 1), |r| (r.page, r.pages));
    Messages::fill(t.page_of, &[("page", &page.to_string()), ("pages", &pages.to_string())])
}

pub fn message_href(cluster: &str, topic: &str, id: &str) -> String {
    format!("/clusters/{}/topics/{}/messages/{}", segment(cluster), segment(topic), segment(id))
}

pub(super) async fn query_page(
    State(state): State<AppState>,
    page: Page,
    Path((cluster, topic)): Path<(String, String)>,
    PageQuery(q): PageQuery<QueryParams>,
) -> Result<Response, PageError> {
    let Page { lang, uri, caller } = page;
    let asked = q.begin.is_some() || q.key.is_some() || q.id.is_some();
    let (result, error) = if asked {
        match read_query(&state, &caller, &cluster, &topic, &q).await {
            Ok(result) => (Some(result), None),
            Err(e @ (WebError::Forbidden(_) | WebError::Unauthorized(_) | WebError::Query(_))) => {
                return Err(PageError::from(e));
            }
            Err(e) => (None, Some(e.to_string())),
        }
    } else {
        let what =
            Action { action: "message.query", cluster: Some(&cluster), object: Some(&topic) };
        caller.require(&state, Role::Operator, what).await?;
        state.operators.rocket_for(&cluster, "message queries are for RocketMQ")?;
        (None, None)
    };
    Ok(render(&QueryPage {
        t: lang.messages(),
        f: Fmt::new(lang, now_millis()),
        chrome: Chrome::new(lang, here(&uri), Some(&cluster), &caller.who),
        cluster,
        topic,
        q,
        result,
        error,
    }))
}

async fn read_detail(
    state: &AppState,
    caller: &Caller,
    cluster: &str,
    topic: &str,
    id: &str,
) -> Result<MessageDetail, WebError> {
    let what = Action { action: "message.view", cluster: Some(cluster), object: Some(topic) };
    caller.require(state, Role::Operator, what).await?;
    let rocket = state.operators.rocket_for(cluster, "message details are for RocketMQ")?;
    detail(state, rocket, cluster, topic, id).await
}

pub(super) async fn detail_api(
    State(state): State<AppState>,
    caller: Caller,
    Path((cluster, topic, id)): Path<(String, String, String)>,
) -> Result<Json<MessageDetail>, ApiError> {
    Ok(Json(read_detail(&state, &caller, &cluster, &topic, &id).await?))
}

/// `?show=text|json|hex`
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ShowQuery {
    #[serde(default)]
    pub show: Option<String>,
}

#[derive(Template)]
#[template(path = "rocket_message.html")]
pub struct DetailPage {
    t: &'static Messages,
    f: Fmt,
    chrome: Chrome,
    cluster: String,
    topic: String,
    d: MessageDetail,
    show: String,
    resent: Option<Result<ResendOutcome, String>>,
}

impl DetailPage {
    pub fn body(&self) -> String {
        crate::web::format::show_bytes(&self.d.raw_body, &self.show)
    }

    pub fn status(&self, row: &GroupRow) -> &'static str {
        let t = self.t;
        match row.status {
            Some(Consumption::Consumed) => t.consumed,
            Some(Consumption::ConsumedButFiltered) => t.consumed_but_filtered,
            Some(Consumption::NotConsumedYet) => t.not_consumed_yet,
            Some(Consumption::NoOffset) => t.no_offset,
            None => "–",
        }
    }

    pub fn status_code(&self, row: &GroupRow) -> &'static str {
        match row.status {
            Some(Consumption::Consumed) => "consumed",
            Some(Consumption::ConsumedButFiltered) => "consumed_but_filtered",
            Some(Consumption::NotConsumedYet) => "not_consumed_yet",
            Some(Consumption::NoOffset) => "no_offset",
            None => "unknown",
        }
    }

    pub fn shows(&self) -> Vec<(&'static str, bool)> {
        ["text", "json", "hex"].into_iter().map(|s| (s, s == self.show)).collect()
    }

    pub fn here(&self) -> String {
        message_href(&self.cluster, &self.topic, &self.d.message.offset_id)
    }

    pub fn kind(&self, event: &TraceEvent) -> String {
        format!("{:?}", event.kind)
    }

    pub fn yes_no(&self, value: &Option<bool>) -> &'static str {
        match value {
            Some(true) => self.t.yes,
            Some(false) => self.t.no,
            None => "–",
        }
    }
}

async fn detail_view(
    state: AppState,
    page: Page,
    cluster: String,
    topic: String,
    id: String,
    show: Option<String>,
    resent: Option<Result<ResendOutcome, String>>,
) -> Result<Response, PageError> {
    let Page { lang, uri, caller } = page;
    let d = read_detail(&state, &caller, &cluster, &topic, &id).await?;
    Ok(render(&DetailPage {
        t: lang.messages(),
        f: Fmt::new(lang, now_millis()),
        chrome: Chrome::new(lang, here(&uri), Some(&cluster), &caller.who),
        cluster,
        topic,
        d,
        show: show.unwrap_or_else(|| "text".into()),
        resent,
    }))
}

pub(super) async fn detail_page(
    State(state): State<AppState>,
    page: Page,
    Path((cluster, topic, id)): Path<(String, String, String)>,
    PageQuery(q): PageQuery<ShowQuery>,
) -> Result<Response, PageError> {
    detail_view(state, page, cluster, topic, id, q.show, None).await
}

pub(super) async fn resend_api(
    State(state): State<AppState>,
    caller: Caller,
    Path((cluster, topic, id)): Path<(String, String, String)>,
    ApiJson(body): ApiJson<ResendRequest>,
) -> Result<Json<ResendOutcome>, ApiError> {
    Ok(Json(resend(&state, &caller, &cluster, &topic, &id, &body).await?))
}

pub(super) async fn resend_form(
    State(state): State<AppState>,
    page: Page,
    Path((cluster, topic, id)): Path<(String, String, String)>,
    PageForm(f): PageForm<Fields>,
) -> Result<Response, PageError> {
    let request =
        ResendRequest { group: f.value("group").to_owned(), client_id: f.opt("client_id") };
    let outcome = match resend(&state, &page.caller, &cluster, &topic, &id, &request).await {
        Ok(outcome) => Ok(outcome),
        Err(e @ (WebError::Forbidden(_) | WebError::Unauthorized(_))) => {
            return Err(PageError::from(e));
        }
        Err(e) => Err(e.to_string()),
    };
    detail_view(state, page, cluster, topic, id, None, Some(outcome)).await
}
