//! Mock-send and message browsing, as pages and API: operators send test messages to a topic
//! (with a `{{i}}` counter for copies) and read a topic's messages from a chosen position.

use std::collections::HashMap;
use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use base64::Engine as _;
use serde::{Deserialize, Serialize};

use super::AppState;
use super::access::Caller;
use super::error::{ApiError, PageError, WebError};
use super::form::{
    ApiJson, ApiQuery, FieldErrors, Fields, FormError, PageForm, PageQuery, parse_time,
};
use super::format::Fmt;
use super::i18n::Messages;
use super::view::{Chrome, here, render};
use crate::auth::{Action, Role};
use crate::brokers::ClusterClient;
use crate::brokers::activemq::ActivemqAdapter;
use crate::brokers::beanstalkd::BeanstalkAdapter;
use crate::brokers::gearman::GearmanAdapter;
use crate::brokers::kafka::actions::{
    BrowseRequest, BrowseResult, BrowsedMessage, Compression, KafkaActions, MAX_LIMIT, SendOutcome,
    Start,
};
use crate::brokers::rabbitmq::RabbitAdapter;
use crate::brokers::rocketmq::RocketAdapter;
use crate::clock::now_millis;
use crate::config::ClusterConfig;
use crate::domain::ClusterKind;
use crate::domain::Millis;
use crate::operate::{SendRequest, expand};
use crate::query::QueryError;
use crate::web::access::Page;

/// Kafka's default `max.message.bytes`, when the topic's configuration is not known.
const DEFAULT_MAX_MESSAGE_BYTES: usize = 1_048_588;

/// The operator clients of every cluster, and whether each may be changed.
#[derive(Clone, Default)]
pub struct Operators {
    clusters: HashMap<String, Operator>,
}

#[derive(Clone)]
struct Operator {
    client: ClusterClient,
    kind: ClusterKind,
    read_only: bool,
}

impl Operators {
    /// The operator clients of every cluster: the same clients its poller uses (Kafka's
    /// producer is the operator's own; browsing consumers are made per request).
    pub fn new<'a>(clusters: impl Iterator<Item = (&'a ClusterConfig, &'a ClusterClient)>) -> Self {
        let clusters = clusters
            .map(|(cluster, client)| {
                let operator = Operator {
                    client: client.clone(),
                    kind: cluster.kind(),
                    read_only: cluster.read_only,
                };
                (cluster.name.clone(), operator)
            })
            .collect();
        Operators { clusters }
    }

    fn operator(&self, cluster: &str) -> Result<&Operator, WebError> {
        self.clusters
            .get(cluster)
            .ok_or_else(|| WebError::Query(QueryError::UnknownCluster(cluster.to_owned())))
    }

    /// `cluster`'s kind cannot do `what`: said as a refusal naming the kind.
    fn not_for(cluster: &str, kind: ClusterKind, what: &str) -> WebError {
        WebError::invalid(
            "cluster",
            format!("{} is a {kind} cluster: {what}", crate::domain::clipped(cluster)),
        )
    }

    /// The RabbitMQ client of a cluster, and whether it is read-only.
    pub fn rabbit(&self, cluster: &str) -> Result<(&Arc<RabbitAdapter>, bool), WebError> {
        let operator = self.operator(cluster)?;
        match &operator.client {
            ClusterClient::Rabbitmq(adapter) => Ok((adapter, operator.read_only)),
            _ => Err(Self::not_for(cluster, operator.kind, "publish and peek are for RabbitMQ")),
        }
    }

    /// The beanstalkd client of a cluster for `what` (put, peek, kick, purge); a clear refusal
    /// for other kinds.
    pub fn beanstalk(&self, cluster: &str, what: &str) -> Result<&Arc<BeanstalkAdapter>, WebError> {
        let operator = self.operator(cluster)?;
        match &operator.client {
            ClusterClient::Beanstalkd(adapter) => Ok(adapter),
            _ => Err(Self::not_for(cluster, operator.kind, what)),
        }
    }

    /// The Gearman client of a cluster for `what` (submitting jobs); a clear refusal for other
    /// kinds.
    pub fn gearman(&self, cluster: &str, what: &str) -> Result<&Arc<GearmanAdapter>, WebError> {
        let operator = self.operator(cluster)?;
        match &operator.client {
            ClusterClient::Gearman(adapter) => Ok(adapter),
            _ => Err(Self::not_for(cluster, operator.kind, what)),
        }
    }

    /// The ActiveMQ client of a cluster for `what` (send, browse, purge); a clear refusal for
    /// other kinds.
    pub fn activemq(&self, cluster: &str, what: &str) -> Result<&Arc<ActivemqAdapter>, WebError> {
        let operator = self.operator(cluster)?;
        match &operator.client {
            ClusterClient::Activemq(adapter) => Ok(adapter),
            _ => Err(Self::not_for(cluster, operator.kind, what)),
        }
    }

    /// The RocketMQ client of a cluster, and whether it is read-only; `None` for other kinds.
    pub fn rocket(&self, cluster: &str) -> Option<(&Arc<RocketAdapter>, bool)> {
        let operator = self.clusters.get(cluster)?;
        match &operator.client {
            ClusterClient::Rocketmq(adapter) => Some((adapter, operator.read_only)),
            _ => None,
        }
    }

    /// The RocketMQ client of a cluster for `what` (message query, dead letters, topic and
    /// group changes); a clear refusal for other kinds.
    pub fn rocket_for(&self, cluster: &str, what: &str) -> Result<&Arc<RocketAdapter>, WebError> {
        let operator = self.operator(cluster)?;
        match &operator.client {
            ClusterClient::Rocketmq(adapter) => Ok(adapter),
            _ => Err(Self::not_for(cluster, operator.kind, what)),
        }
    }

    /// Whether operators may change `cluster`: refused when the configuration makes it
    /// read-only, whatever its kind.
    pub fn writable(&self, cluster: &str) -> Result<(), WebError> {
        if self.operator(cluster)?.read_only {
            Err(WebError::Forbidden(format!(
                "cluster {} is read-only in Osprey's configuration",
                crate::domain::clipped(cluster)
            )))
        } else {
            Ok(())
        }
    }

    /// The Kafka action client of a cluster, and whether it is read-only.
    pub fn get(&self, cluster: &str) -> Result<(&Arc<KafkaActions>, bool), WebError> {
        let operator = self.operator(cluster)?;
        match &operator.client {
            ClusterClient::Kafka { actions, .. } => Ok((actions, operator.read_only)),
            _ => Err(Self::not_for(
                cluster,
                operator.kind,
                "topic and consumer-group actions are for Kafka clusters",
            )),
        }
    }
}

pub fn pages() -> Router<AppState> {
    Router::new()
        .route("/clusters/{cluster}/topics/{topic}/send", get(send_page).post(send_form))
        .route("/clusters/{cluster}/topics/{topic}/messages", get(browse_page))
}

pub fn api() -> Router<AppState> {
    Router::new()
        .route("/clusters/{cluster}/topics/{topic}/messages", get(browse_api).post(send_api))
}

fn invalid(message: impl Into<String>) -> WebError {
    WebError::refused(message)
}

/// The topic's `max.message.bytes`, from the last poll's configuration.
fn max_message_bytes(state: &AppState, cluster: &str, topic: &str) -> Result<usize, WebError> {
    let cluster_state = state
        .clusters
        .get(cluster)
        .ok_or_else(|| WebError::Query(QueryError::UnknownCluster(cluster.to_owned())))?;
    let Some(snapshot) = &cluster_state.snapshot else {
        return Err(WebError::Query(QueryError::NotPolledYet(cluster.to_owned())));
    };
    let found = snapshot.topics.iter().find(|t| t.name == topic).ok_or_else(|| {
        WebError::Query(QueryError::UnknownTopic {
            cluster: cluster.to_owned(),
            topic: topic.to_owned(),
        })
    })?;
    let configured = found.configs.as_ref().and_then(|configs| {
        configs
            .iter()
            .find(|c| c.name == "max.message.bytes")
            .and_then(|c| c.value.as_deref()?.parse().ok())
    });
    Ok(configured.unwrap_or(DEFAULT_MAX_MESSAGE_BYTES))
}

/// Checks, sends and records one send request.
async fn send(
    state: &AppState,
    caller: &Caller,
    cluster: &str,
    topic: &str,
    request: &SendRequest,
) -> Result<Vec<SendOutcome>, WebError> {
    let what = Action { action: "message.send", cluster: Some(cluster), object: Some(topic) };
    let sent = async {
        state.operators.writable(cluster)?;
        if let Some((rocket, _)) = state.operators.rocket(cluster) {
            return super::rocket::send(state, rocket, cluster, topic, request).await;
        }
        let (actions, _) = state.operators.get(cluster)?;
        let messages = expand(request, max_message_bytes(state, cluster, topic)?)?;
        Ok(actions.send(topic, &messages, request.compression.unwrap_or_default()).await)
    };
    // One audit row per send: refused before sending, or how many went out.
    caller.act_summarized(state, Role::Operator, what, sent, |o| summarize_sends(o)).await?
}

/// The audit detail of a send: "3 sent, 1 failed: <the first error>".
fn summarize_sends(outcomes: &[SendOutcome]) -> (bool, Option<String>) {
    let failed = outcomes.iter().filter(|o| o.error.is_some()).count();
    let summary = format!("{} sent, {failed} failed", outcomes.len() - failed);
    let detail = match outcomes.iter().find_map(|o| o.error.as_deref()) {
        Some(e) => format!("{summary}: {e}"),
        None => summary,
    };
    (failed == 0, Some(detail))
}

fn send_request_from(f: &Fields) -> Result<SendRequest, WebError> {
    let headers = f.name_values("headers")?;
    let number = |name: &str| -> Result<Option<i64>, WebError> {
        Some(f.value(name))
            .filter(|v| !v.is_empty())
            .map(|v| v.parse().map_err(|_| invalid(format!("{name}: {v:?} is not a number"))))
            .transpose()
    };
    Ok(SendRequest {
        key: Some(f.value("key").to_owned()).filter(|k| !k.is_empty()),
        // The value keeps its spacing: JSON and text are sent as typed.
        value: f.raw("value").map(str::to_owned),
        value_format: Some(f.value("value_format").to_owned()).filter(|v| !v.is_empty()),
        headers,
        partition: number("partition")?
            .map(|p| {
                i32::try_from(p).map_err(|_| invalid(format!("partition: {p} is not a partition")))
            })
            .transpose()?,
        count: number("count")?.map(|c| c.max(0) as usize),
        tag: Some(f.value("tag").to_owned()).filter(|t| !t.is_empty()),
        compression: match f.value("compression") {
            "" => None,
            codec => Some(Compression::parse(codec).ok_or_else(|| {
                invalid(format!("compression: {codec:?} is none of none, gzip, snappy, lz4, zstd"))
            })?),
        },
    })
}

#[derive(Template)]
#[template(path = "topic_send.html")]
pub struct SendPage {
    t: &'static Messages,
    chrome: Chrome,
    cluster: String,
    topic: String,
    /// What the partition (queue) choice lists: partition numbers, or `broker:queue` labels.
    queue_labels: Vec<String>,
    /// A RocketMQ topic: the form asks for tag, keys and properties.
    rocket: bool,
    form: Fields,
    outcomes: Vec<SendOutcome>,
    error: Option<FormError>,
}

/// The send form's fields that show their own error beside them.
const SEND_FIELDS: [&str; 6] = ["partition", "tag", "key", "value", "headers", "count"];

impl FieldErrors for SendPage {
    fn form_refusal(&self) -> Option<&FormError> {
        self.error.as_ref()
    }
    fn placed_fields(&self) -> &'static [&'static str] {
        &SEND_FIELDS
    }
}

impl SendPage {
    pub fn codecs(&self) -> impl Iterator<Item = &'static str> {
        Compression::ALL.into_iter().map(Compression::as_str)
    }

    /// A partition number, or the `broker:queue` a RocketMQ queue index stands for.
    pub fn queue_label(&self, index: &i32) -> String {
        usize::try_from(*index)
            .ok()
            .and_then(|i| self.queue_labels.get(i))
            .cloned()
            .unwrap_or_else(|| index.to_string())
    }

    pub fn sent(&self) -> usize {
        self.outcomes.iter().filter(|o| o.error.is_none()).count()
    }
}

/// The partition (or RocketMQ queue) choices of the Send form.
fn queue_labels(state: &AppState, cluster: &str, topic: &str) -> (Vec<String>, bool) {
    if state.operators.rocket(cluster).is_some() {
        let queues = super::rocket::queues_of(state, cluster, topic);
        (queues.iter().map(|q| format!("{}:{}", q.broker, q.queue_id)).collect(), true)
    } else {
        ((0..partitions_of(state, cluster, topic)).map(|p| p.to_string()).collect(), false)
    }
}

/// How many partitions `topic` had at the last poll (0 when unknown).
pub fn partitions_of(state: &AppState, cluster: &str, topic: &str) -> usize {
    let snapshot = state.clusters.get(cluster).and_then(|c| c.snapshot.clone());
    snapshot
        .and_then(|s| s.topics.iter().find(|t| t.name == topic).map(|t| t.partitions.len()))
        .unwrap_or(0)
}

async fn send_page(
    State(state): State<AppState>,
    page: Page,
    Path((cluster, topic)): Path<(String, String)>,
) -> Result<Response, PageError> {
    let Page { lang, uri, caller } = page;
    let what = Action { action: "message.send", cluster: Some(&cluster), object: Some(&topic) };
    caller.require(&state, Role::Operator, what).await?;
    crate::query::require_topic(&state.clusters, &cluster, &topic)?;
    let mut form = Fields::default();
    form.push("count", "1");
    form.push("value_format", "text");
    let (queue_labels, rocket) = queue_labels(&state, &cluster, &topic);
    Ok(render(&SendPage {
        t: lang.messages(),
        chrome: Chrome::new(lang, here(&uri), Some(&cluster), &caller.who),
        queue_labels,
        rocket,
        cluster,
        topic,
        form,
        outcomes: Vec::new(),
        error: None,
    }))
}

async fn send_form(
    State(state): State<AppState>,
    page: Page,
    Path((cluster, topic)): Path<(String, String)>,
    PageForm(f): PageForm<Fields>,
) -> Result<Response, PageError> {
    let Page { lang, uri, caller } = page;
    let sent = match send_request_from(&f) {
        Ok(request) => send(&state, &caller, &cluster, &topic, &request).await,
        Err(e) => Err(e),
    };
    // The form comes back with what was typed and the error beside it, in the error's status.
    let (outcomes, error, status) = match sent {
        Ok(outcomes) => (outcomes, None, axum::http::StatusCode::OK),
        Err(e @ (WebError::Forbidden(_) | WebError::Unauthorized(_) | WebError::Query(_))) => {
            return Err(PageError::from(e));
        }
        Err(e) => (Vec::new(), Some(FormError::from(&e)), e.status()),
    };
    let (queue_labels, rocket) = queue_labels(&state, &cluster, &topic);
    let page = SendPage {
        t: lang.messages(),
        chrome: Chrome::new(lang, here(&uri), Some(&cluster), &caller.who),
        queue_labels,
        rocket,
        cluster,
        topic,
        form: f,
        outcomes,
        error,
    };
    Ok((status, render(&page)).into_response())
}

#[derive(Debug, Serialize)]
pub struct SendResponse {
    pub results: Vec<SendOutcome>,
}

async fn send_api(
    State(state): State<AppState>,
    caller: Caller,
    Path((cluster, topic)): Path<(String, String)>,
    ApiJson(body): ApiJson<SendRequest>,
) -> Result<Json<SendResponse>, ApiError> {
    let request = body;
    Ok(Json(SendResponse { results: send(&state, &caller, &cluster, &topic, &request).await? }))
}

/// `?partition=&from=earliest|latest|offset|timestamp&at=&limit=&filter=&show=text|json|hex`
#[derive(Debug, Clone, Default, Deserialize)]
pub struct BrowseQuery {
    #[serde(default)]
    pub partition: Option<String>,
    #[serde(default)]
    pub from: Option<String>,
    /// N for `latest`, the offset for `offset`, epoch ms or `YYYY-MM-DD HH:MM:SS` (UTC) for
    /// `timestamp`.
    #[serde(default)]
    pub at: Option<String>,
    #[serde(default)]
    pub limit: Option<usize>,
    #[serde(default)]
    pub filter: Option<String>,
    #[serde(default)]
    pub show: Option<String>,
}

impl BrowseQuery {
    fn request(&self) -> Result<BrowseRequest, WebError> {
        let at = self.at.as_deref().map(str::trim).filter(|a| !a.is_empty());
        let number = |what: &str| -> Result<i64, WebError> {
            at.ok_or_else(|| invalid(format!("{what} is missing")))?
                .parse()
                .map_err(|_| invalid(format!("{what} must be a number")))
        };
        let start = match self.from.as_deref().unwrap_or("latest") {
            "earliest" => Start::Earliest,
            "latest" => Start::Latest(at.map_or(Ok(20), |_| number("N"))?),
            "offset" => Start::Offset(number("the offset")?),
            "timestamp" => Start::Timestamp(parse_time(at.unwrap_or_default())?),
            other => {
                return Err(invalid(format!(
                    "from={other:?}: use earliest, latest, offset or timestamp"
                )));
            }
        };
        let partitions = match self.partition.as_deref().map(str::trim).filter(|p| !p.is_empty()) {
            None => None,
            Some(list) => Some(
                list.split(',')
                    .map(|p| {
                        p.trim().parse::<i32>().ok().filter(|p| *p >= 0).ok_or_else(|| {
                            invalid(format!("partition {p:?} is not a partition number"))
                        })
                    })
                    .collect::<Result<Vec<_>, _>>()?,
            ),
        };
        Ok(BrowseRequest {
            partitions,
            start,
            limit: self.limit.unwrap_or(50).clamp(1, MAX_LIMIT),
            filter: self.filter.clone().filter(|f| !f.is_empty()),
        })
    }
}

/// A browsed message as pages and the API show it.
#[derive(Debug, Clone, Serialize)]
pub struct ShownMessage {
    pub partition: i32,
    pub offset: i64,
    pub timestamp: Option<Millis>,
    pub key: Option<String>,
    /// The value as text (invalid UTF-8 replaced); `value_base64` has the exact bytes.
    pub value: Option<String>,
    pub value_base64: Option<String>,
    pub size: usize,
    pub headers: Vec<(String, Option<String>)>,
}

fn text(bytes: &Option<Vec<u8>>) -> Option<String> {
    bytes.as_ref().map(|b| String::from_utf8_lossy(b).into_owned())
}

impl From<&BrowsedMessage> for ShownMessage {
    fn from(m: &BrowsedMessage) -> Self {
        ShownMessage {
            partition: m.partition,
            offset: m.offset,
            timestamp: m.timestamp,
            key: text(&m.key),
            value: text(&m.value),
            value_base64: m
                .value
                .as_ref()
                .map(|v| base64::engine::general_purpose::STANDARD.encode(v)),
            size: m.value.as_ref().map_or(0, Vec::len),
            headers: m.headers.iter().map(|(k, v)| (k.clone(), text(v))).collect(),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct BrowseResponse {
    pub messages: Vec<ShownMessage>,
    pub scanned: usize,
    pub stopped: Option<String>,
    /// Older messages the limit left out (latest-N browses and filtered ones).
    pub left_out: u64,
}

async fn browse(
    state: &AppState,
    caller: &Caller,
    cluster: &str,
    topic: &str,
    query: &BrowseQuery,
) -> Result<BrowseResult, WebError> {
    let what = Action { action: "message.browse", cluster: Some(cluster), object: Some(topic) };
    caller.require(state, Role::Operator, what).await?;
    crate::query::require_topic(&state.clusters, cluster, topic)?;
    let (actions, _) = state.operators.get(cluster)?;
    let request = query.request()?;
    // A partition the last poll did not see is the caller's mistake, not the broker's.
    let known = partitions_of(state, cluster, topic);
    let mut chosen = request.partitions.iter().flatten();
    if let Some(missing) = chosen.find(|p| known > 0 && **p as usize >= known) {
        return Err(WebError::Invalid {
            field: Some("partition".into()),
            message: format!("topic {topic:?} has no partition {missing} (it has 0-{})", known - 1),
        });
    }
    actions.browse(topic, request).await.map_err(WebError::Broker)
}

async fn browse_api(
    State(state): State<AppState>,
    caller: Caller,
    Path((cluster, topic)): Path<(String, String)>,
    ApiQuery(query): ApiQuery<BrowseQuery>,
) -> Result<Json<BrowseResponse>, ApiError> {
    let result = browse(&state, &caller, &cluster, &topic, &query).await?;
    Ok(Json(BrowseResponse {
        messages: result.messages.iter().map(ShownMessage::from).collect(),
        scanned: result.scanned,
        stopped: result.stopped,
        left_out: result.left_out,
    }))
}

#[derive(Template)]
#[template(path = "topic_messages.html")]
pub struct BrowsePage {
    t: &'static Messages,
    f: Fmt,
    chrome: Chrome,
    cluster: String,
    topic: String,
    q: BrowseQuery,
    result: Option<BrowseResult>,
    error: Option<String>,
}

impl BrowsePage {
    pub fn value(&self, m: &BrowsedMessage) -> String {
        let Some(bytes) = &m.value else { return "(null)".into() };
        super::format::show_bytes(bytes, self.q.show.as_deref().unwrap_or("text"))
    }

    pub fn key(&self, m: &BrowsedMessage) -> String {
        m.key.as_ref().map_or_else(String::new, |k| String::from_utf8_lossy(k).into_owned())
    }

    pub fn header_list(&self, m: &BrowsedMessage) -> String {
        m.headers
            .iter()
            .map(|(k, v)| {
                format!(
                    "{k}: {}",
                    v.as_ref().map_or_else(
                        || "(null)".into(),
                        |v| String::from_utf8_lossy(v).into_owned()
                    )
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    pub fn starts(&self) -> Vec<(&'static str, &'static str)> {
        let t = self.t;
        vec![
            ("latest", t.from_latest),
            ("earliest", t.from_earliest),
            ("offset", t.from_offset),
            ("timestamp", t.from_timestamp),
        ]
    }

    pub fn selected(&self, field: &str, value: &str) -> bool {
        let current = match field {
            "from" => self.q.from.as_deref().unwrap_or("latest"),
            "show" => self.q.show.as_deref().unwrap_or("text"),
            _ => "",
        };
        current == value
    }

    pub fn field(&self, field: &str) -> String {
        match field {
            "partition" => self.q.partition.clone().unwrap_or_default(),
            "at" => self.q.at.clone().unwrap_or_default(),
            "limit" => self.q.limit.unwrap_or(50).to_string(),
            "filter" => self.q.filter.clone().unwrap_or_default(),
            _ => String::new(),
        }
    }
}

async fn browse_page(
    State(state): State<AppState>,
    page: Page,
    Path((cluster, topic)): Path<(String, String)>,
    PageQuery(q): PageQuery<BrowseQuery>,
) -> Result<Response, PageError> {
    let Page { lang, uri, caller } = page;
    // The first visit shows the form; a submitted form (it always sends `from`) reads.
    let (result, error) = if q.from.is_some() {
        match browse(&state, &caller, &cluster, &topic, &q).await {
            Ok(result) => (Some(result), None),
            Err(e @ (WebError::Forbidden(_) | WebError::Unauthorized(_) | WebError::Query(_))) => {
                return Err(PageError::from(e));
            }
            Err(e) => (None, Some(e.to_string())),
        }
    } else {
        let what =
            Action { action: "message.browse", cluster: Some(&cluster), object: Some(&topic) };
        caller.require(&state, Role::Operator, what).await?;
        crate::query::require_topic(&state.clusters, &cluster, &topic)?;
        (None, None)
    };
    Ok(render(&BrowsePage {
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

#[cfg(test)]
mod tests;
