//! A group's dead letters (`%DLQ%group`): browsed by store-time window, exported as JSON lines,
//! and chosen ones sent back to the group through its retry topic, where its consumers take
//! them up again as messages of their original topic.

use super::query::{MessageRow, QueryParams, QueryResult, find, paged};
use super::*;
use crate::brokers::rocketmq::lookup::Found;

/// Properties the brokers and clients set for their own bookkeeping, dropped from a resent
/// message (it gets new ones).
const BOOKKEEPING: [&str; 14] = [
    "UNIQ_KEY",
    "WAIT",
    "DELAY",
    "REAL_TOPIC",
    "REAL_QID",
    "MIN_OFFSET",
    "MAX_OFFSET",
    "CONSUME_START_TIME",
    "RECONSUME_TIME",
    "MAX_RECONSUME_TIMES",
    "TRAN_MSG",
    "PGROUP",
    "DLQ_ORIGIN_TOPIC",
    "DLQ_ORIGIN_MESSAGE_ID",
];

pub fn dlq_topic(group: &str) -> String {
    format!("%DLQ%{group}")
}

/// The topic a dead letter was first sent to.
fn original_topic(found: &Found) -> Option<&str> {
    let properties = &found.message.properties;
    properties.get("RETRY_TOPIC").or_else(|| properties.get("DLQ_ORIGIN_TOPIC")).map(String::as_str)
}

/// A dead letter as one line of an export.
#[derive(Debug, Serialize)]
pub struct ExportedMessage<'a> {
    #[serde(flatten)]
    pub row: MessageRow,
    pub original_topic: Option<&'a str>,
    pub properties: &'a std::collections::BTreeMap<String, String>,
    /// The body as text when it is UTF-8; `body_base64` always has the exact bytes (as sent,
    /// or as stored when `body_note` says why it could not be inflated).
    pub body: Option<String>,
    pub body_base64: String,
    pub body_note: Option<String>,
}

/// Every dead letter of the window (up to the window limits) as JSON lines, newest first.
pub fn export_lines(found: &[Found]) -> String {
    let mut out = String::new();
    for f in found {
        let (content, body_note) = match f.message.content() {
            Ok(content) => (content, None),
            Err(why) => {
                (std::borrow::Cow::Borrowed(f.message.body.as_slice()), Some(why.to_string()))
            }
        };
        let line = ExportedMessage {
            row: MessageRow::from(f),
            original_topic: original_topic(f),
            properties: &f.message.properties,
            body: std::str::from_utf8(&content).ok().map(str::to_owned),
            body_base64: base64::engine::general_purpose::STANDARD.encode(&content),
            body_note,
        };
        if let Ok(json) = serde_json::to_string(&line) {
            out.push_str(&json);
            out.push('\n');
        }
    }
    out
}

/// The message that puts a dead letter back before `group`: the same body (as the producer
/// sent it), tag, keys and properties, to the group's retry topic, naming its original topic.
/// A body Osprey cannot inflate is refused: resent as stored, it would reach consumers as
/// compressed bytes.
pub fn retry_message(group: &str, found: &Found) -> Result<Outgoing, String> {
    let m = &found.message;
    let body = m.content().map_err(|why| why.to_string())?.into_owned();
    let mut properties: BTreeMap<String, String> = m
        .properties
        .iter()
        .filter(|(k, _)| !BOOKKEEPING.contains(&k.as_str()) && *k != "TAGS" && *k != "KEYS")
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if let Some(topic) = original_topic(found) {
        properties.insert("RETRY_TOPIC".into(), topic.to_owned());
    }
    properties.insert("ORIGIN_MESSAGE_ID".into(), m.client_id());
    Ok(Outgoing {
        topic: format!("%RETRY%{group}"),
        tag: m.tag().map(str::to_owned),
        keys: m.keys().into_iter().map(str::to_owned).collect(),
        body,
        properties,
    })
}

/// `{"ids": […]}`: dead letters to send back, by id.
#[derive(Debug, Clone, Deserialize)]
pub struct DlqResendRequest {
    pub ids: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DlqResent {
    pub id: String,
    /// The new message's id in the retry topic.
    pub message_id: Option<String>,
    pub error: Option<String>,
}

/// Most dead letters one request sends back.
const MAX_RESEND: usize = 500;

pub async fn resend(
    state: &AppState,
    caller: &Caller,
    cluster: &str,
    group: &str,
    ids: &[String],
) -> Result<Vec<DlqResent>, WebError> {
    let what = Action { action: "dlq.resend", cluster: Some(cluster), object: Some(group) };
    let resent = async {
        state.operators.writable(cluster)?;
        let rocket = state.operators.rocket_for(cluster, "dead-letter queues are RocketMQ's")?;
        if ids.is_empty() {
            return Err(WebError::invalid("ids", "choose the messages to send back"));
        }
        if ids.len() > MAX_RESEND {
            return Err(WebError::invalid(
                "ids",
                format!("at most {MAX_RESEND} messages at a time ({} chosen)", ids.len()),
            ));
        }
        let topic = dlq_topic(group);
        let mut results = Vec::with_capacity(ids.len());
        for id in ids {
            let sent = async {
                let found = rocket.message_by_id(&topic, id).await?.ok_or_else(|| {
                    crate::brokers::AdapterError::Config(format!(
                        "no dead letter {}",
                        crate::domain::clipped(id)
                    ))
                })?;
                let message = retry_message(group, &found).map_err(|why| {
                    crate::brokers::AdapterError::Config(format!("cannot send it back: {why}"))
                })?;
                rocket.send(&message, None, now_millis()).await
            };
            results.push(match sent.await {
                Ok(stored) => {
                    DlqResent { id: id.clone(), message_id: stored.message_id, error: None }
                }
                Err(e) => {
                    DlqResent { id: id.clone(), message_id: None, error: Some(e.to_string()) }
                }
            });
        }
        Ok(results)
    };
    let summarize = |results: &Vec<DlqResent>| {
        let failed = results.iter().filter(|r| r.error.is_some()).count();
        (failed == 0, (failed > 0).then(|| format!("{failed} of {} failed", results.len())))
    };
    caller.act_summarized(state, Role::Operator, what, resent, summarize).await?
}

// ---- pages and API ------------------------------------------------------------------------

async fn read_dlq(
    state: &AppState,
    caller: &Caller,
    cluster: &str,
    group: &str,
    params: &QueryParams,
) -> Result<QueryResult, WebError> {
    let what = Action { action: "dlq.browse", cluster: Some(cluster), object: Some(group) };
    caller.require(state, Role::Operator, what).await?;
    let rocket = state.operators.rocket_for(cluster, "dead-letter queues are RocketMQ's")?;
    let topic = dlq_topic(group);
    // The broker makes the topic when the group's first message dies: none yet, none found.
    if rocket.route_if_exists(&topic).await?.is_none() {
        return Ok(paged("time", &[], Some(0), Vec::new(), params));
    }
    find(rocket, &topic, params, now_millis()).await
}

pub(super) async fn dlq_api(
    State(state): State<AppState>,
    caller: Caller,
    Path((cluster, group)): Path<(String, String)>,
    ApiQuery(params): ApiQuery<QueryParams>,
) -> Result<Json<QueryResult>, ApiError> {
    Ok(Json(read_dlq(&state, &caller, &cluster, &group, &params).await?))
}

/// The window's dead letters as `application/x-ndjson`, one message per line.
pub(super) async fn export(
    State(state): State<AppState>,
    caller: Caller,
    Path((cluster, group)): Path<(String, String)>,
    ApiQuery(params): ApiQuery<QueryParams>,
) -> Result<Response, ApiError> {
    let what = Action { action: "dlq.export", cluster: Some(&cluster), object: Some(&group) };
    caller.require(&state, Role::Operator, what).await?;
    let rocket = state.operators.rocket_for(&cluster, "dead-letter queues are RocketMQ's")?;
    let (begin, end) = params.window(now_millis())?;
    let window = rocket
        .messages_in_window(&dlq_topic(&group), begin, end, true)
        .await
        .map_err(WebError::Broker)?;
    let name = format!("attachment; filename=\"dlq-{}.jsonl\"", group.replace(['"', '\\'], "_"));
    Ok((
        [
            (axum::http::header::CONTENT_TYPE, "application/x-ndjson".to_owned()),
            (axum::http::header::CONTENT_DISPOSITION, name),
        ],
        export_lines(&window.messages),
    )
        .into_response())
}

pub(super) async fn resend_api(
    State(state): State<AppState>,
    caller: Caller,
    Path((cluster, group)): Path<(String, String)>,
    ApiJson(body): ApiJson<DlqResendRequest>,
) -> Result<Json<Vec<DlqResent>>, ApiError> {
    Ok(Json(resend(&state, &caller, &cluster, &group, &body.ids).await?))
}

#[derive(Template)]
#[template(path = "rocket_dlq.html")]
pub struct DlqPage {
    t: &'static Messages,
    f: Fmt,
    chrome: Chrome,
    cluster: String,
    group: String,
    q: QueryParams,
    result: Option<QueryResult>,
    error: Option<String>,
    resent: Option<Result<Vec<DlqResent>, String>>,
}

impl DlqPage {
    pub fn field(&self, name: &str) -> String {
        let value = match name {
            "begin" => &self.q.begin,
            "end" => &self.q.end,
            _ => &None,
        };
        value.clone().unwrap_or_default()
    }

    pub fn export_href(&self) -> String {
        let mut pairs = url::form_urlencoded::Serializer::new(String::new());
        pairs.append_pair("begin", &self.field("begin"));
        pairs.append_pair("end", &self.field("end"));
        format!("{}/export?{}", self.base(), pairs.finish())
    }

    pub fn base(&self) -> String {
        format!("/clusters/{}/groups/{}/dlq", segment(&self.cluster), segment(&self.group))
    }

    pub fn message_href(&self, m: &MessageRow) -> String {
        super::query::message_href(&self.cluster, &m.topic, &m.offset_id)
    }

    pub fn page_href(&self, page: usize) -> String {
        let mut pairs = url::form_urlencoded::Serializer::new(String::new());
        pairs.append_pair("begin", &self.field("begin"));
        pairs.append_pair("end", &self.field("end"));
        pairs.append_pair("page", &page.to_string());
        format!("?{}", pairs.finish())
    }

    pub fn page_of(&self) -> String {
        super::query::page_of(self.t, &self.result)
    }

    pub fn resent_count(&self) -> (usize, usize) {
        match &self.resent {
            Some(Ok(results)) => {
                (results.iter().filter(|r| r.error.is_none()).count(), results.len())
            }
            _ => (0, 0),
        }
    }
}

async fn dlq_view(
    state: AppState,
    page: Page,
    cluster: String,
    group: String,
    q: QueryParams,
    resent: Option<Result<Vec<DlqResent>, String>>,
) -> Result<Response, PageError> {
    let Page { lang, uri, caller } = page;
    let (result, error) = match read_dlq(&state, &caller, &cluster, &group, &q).await {
        Ok(result) => (Some(result), None),
        Err(e @ (WebError::Forbidden(_) | WebError::Unauthorized(_) | WebError::Query(_))) => {
            return Err(PageError::from(e));
        }
        Err(e @ WebError::Invalid { .. }) => {
            if let Err(refused) =
                state.operators.rocket_for(&cluster, "dead-letter queues are RocketMQ's")
            {
                return Err(PageError::from(refused));
            }
            (None, Some(e.to_string()))
        }
        Err(e) => (None, Some(e.to_string())),
    };
    Ok(render(&DlqPage {
        t: lang.messages(),
        f: Fmt::new(lang, now_millis()),
        chrome: Chrome::new(lang, here(&uri), Some(&cluster), &caller.who),
        cluster,
        group,
        q,
        result,
        error,
        resent,
    }))
}

pub(super) async fn dlq_page(
    State(state): State<AppState>,
    page: Page,
    Path((cluster, group)): Path<(String, String)>,
    PageQuery(q): PageQuery<QueryParams>,
) -> Result<Response, PageError> {
    dlq_view(state, page, cluster, group, q, None).await
}

pub(super) async fn resend_form(
    State(state): State<AppState>,
    page: Page,
    Path((cluster, group)): Path<(String, String)>,
    PageForm(f): PageForm<Fields>,
) -> Result<Response, PageError> {
    let ids = f.all("id");
    let outcome = match resend(&state, &page.caller, &cluster, &group, &ids).await {
        Ok(results) => Ok(results),
        Err(e @ (WebError::Forbidden(_) | WebError::Unauthorized(_))) => {
            return Err(PageError::from(e));
        }
        Err(e) => Err(e.to_string()),
    };
    let q = QueryParams { begin: f.opt("begin"), end: f.opt("end"), ..QueryParams::default() };
    dlq_view(state, page, cluster, group, q, Some(outcome)).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::brokers::rocketmq::message::StoredMessage;

    fn dead_letter() -> Found {
        let properties = [
            ("TAGS", "paid"),
            ("KEYS", "o-1 o-2"),
            ("UNIQ_KEY", "ID1"),
            ("RETRY_TOPIC", "orders"),
            ("REAL_TOPIC", "%DLQ%billing"),
            ("MAX_OFFSET", "9"),
            ("color", "blue"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        Found {
            broker: "broker-a".into(),
            address: "127.0.0.1:10911".into(),
            message: StoredMessage {
                queue_id: 0,
                queue_offset: 3,
                born_timestamp: 1,
                store_timestamp: 2,
                reconsume_times: 16,
                compressed: false,
                sys_flag: 0,
                stored_size: 11,
                body: b"{\"order\":1}".to_vec(),
                topic: "%DLQ%billing".into(),
                properties,
                born_host: "127.0.0.1:5000".into(),
                store_host: "127.0.0.1:10911".into(),
                commit_log_offset: 77,
            },
        }
    }

    #[test]
    fn a_dead_letter_goes_back_through_the_retry_topic_naming_its_original_topic() {
        let out = retry_message("billing", &dead_letter()).unwrap();
        assert_eq!(out.topic, "%RETRY%billing");
        assert_eq!(
            (out.tag.as_deref(), out.keys.clone()),
            (Some("paid"), vec!["o-1".to_owned(), "o-2".to_owned()])
        );
        assert_eq!(out.properties["RETRY_TOPIC"], "orders");
        assert_eq!(out.properties["ORIGIN_MESSAGE_ID"], "ID1");
        assert_eq!(out.properties["color"], "blue");
        for dropped in ["UNIQ_KEY", "REAL_TOPIC", "MAX_OFFSET", "TAGS", "KEYS"] {
            assert!(!out.properties.contains_key(dropped), "{dropped}");
        }
        assert_eq!(out.body, b"{\"order\":1}");
        let mut lz4 = dead_letter();
        (lz4.message.compressed, lz4.message.sys_flag) = (true, 1 | (1 << 8));
        assert!(retry_message("billing", &lz4).unwrap_err().contains("LZ4"));
    }

    #[test]
    fn an_export_is_one_json_object_per_line_with_the_exact_body() {
        let mut binary = dead_letter();
        binary.message.body = vec![0xff, 0x00];
        let text = export_lines(&[dead_letter(), binary]);
        let lines: Vec<serde_json::Value> =
            text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0]["id"], "ID1");
        assert_eq!(lines[0]["original_topic"], "orders");
        assert_eq!(lines[0]["body"], "{\"order\":1}");
        assert_eq!(lines[0]["reconsume_times"], 16);
        assert!(lines[1]["body"].is_null());
        assert_eq!(lines[1]["body_base64"], "/wA=");
    }
}
