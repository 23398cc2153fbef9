//! Server-rendered pages (askama). Each view struct sits beside its handler; all extend
//! `templates/base.html`. They work without JavaScript; `static/app.js` only draws charts.

use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use serde::Deserialize;

use super::AppState;
use super::error::PageError;
use super::form::PageQuery;
use super::format::Fmt;
use super::i18n::{LANG_COOKIE, Lang, Messages};
use super::view::{
    Chrome, Line, RangeParam, chart_json, dir_code, here, next_direction, rate_chart, render,
    segment, series_chart, sort_mark,
};
use crate::clock::now_millis;
use crate::domain::GroupMember;
use crate::domain::canary::{CanaryFigures, CanaryReading};
use crate::domain::{ConfigSource, Millis};
use crate::evaluator::PartitionStatus;
use crate::poller::ClusterStatus;
use crate::query::{
    self, ClusterDetail, ClusterSummary, Direction, GroupDetail, GroupList, GroupQuery, GroupSort,
    PartitionRow, Range, TopicDetail, TopicList, TopicQuery, TopicSort,
};
use crate::web::access::Caller;
use crate::web::access::Page;

mod queues;

pub fn pages() -> Router<AppState> {
    Router::new()
        .route("/", get(overview))
        .route("/clusters/{cluster}", get(cluster))
        .route("/clusters/{cluster}/topics", get(topics))
        .route("/clusters/{cluster}/queues", get(queues::queues))
        .route("/clusters/{cluster}/queues/{vhost}/{queue}", get(queues::queue))
        .route("/clusters/{cluster}/topics/{topic}", get(topic))
        .route("/clusters/{cluster}/groups", get(groups))
        .route("/clusters/{cluster}/groups/{group}", get(group))
        .route("/lang/{code}", get(switch_language))
}

#[derive(Template)]
#[template(path = "overview.html")]
pub struct OverviewPage {
    t: &'static Messages,
    f: Fmt,
    chrome: Chrome,
    clusters: Vec<ClusterSummary>,
}

async fn overview(State(state): State<AppState>, page: Page) -> Response {
    let Page { lang, uri, caller: Caller { who, .. } } = page;
    render(&OverviewPage {
        t: lang.messages(),
        f: Fmt::new(lang, now_millis()),
        chrome: Chrome::new(lang, here(&uri), None, &who),
        clusters: query::overview(&state.clusters),
    })
}

#[derive(Template)]
#[template(path = "cluster.html")]
pub struct ClusterPage {
    t: &'static Messages,
    f: Fmt,
    chrome: Chrome,
    d: ClusterDetail,
    chart: String,
    /// The canary's latency and loss charts, when it has history.
    canary_charts: Vec<(&'static str, String)>,
}

/// The canary's charts: latency (end-to-end p50 and p99, produce p99) and markers lost and sent.
fn canary_charts(
    t: &'static Messages,
    d: &ClusterDetail,
    now: Millis,
) -> Vec<(&'static str, String)> {
    let latency = [
        (t.col_e2e_p50, "end_to_end_p50_ms"),
        (t.col_e2e_p99, "end_to_end_p99_ms"),
        (t.col_produce_p99, "produce_p99_ms"),
    ];
    let markers = [(t.col_lost, "lost"), (t.col_sent, "sent")];
    [(t.chart_canary_latency, &latency[..]), (t.chart_canary_markers, &markers[..])]
        .into_iter()
        .filter_map(|(title, lines)| {
            Some((title, series_chart(d.range, now, &d.canary_history, lines)?))
        })
        .collect()
}

async fn cluster(
    State(state): State<AppState>,
    page: Page,
    Path(name): Path<String>,
    PageQuery(params): PageQuery<RangeParam>,
) -> Result<Response, PageError> {
    let Page { lang, uri, caller: Caller { who, .. } } = page;
    let now = now_millis();
    let d = query::cluster_detail(&state.clusters, &state.store, &name, params.range, now).await?;
    let points: Vec<_> = d.history.iter().map(|p| (p.ts, p.messages_in_per_sec)).collect();
    let chart = rate_chart(lang.messages(), d.range, now, &points);
    let chrome = Chrome::new(lang, here(&uri), Some(&name), &who);
    Ok(render(&ClusterPage {
        t: lang.messages(),
        f: Fmt::new(lang, now),
        chrome: chrome.kind(d.summary.kind),
        canary_charts: canary_charts(lang.messages(), &d, now),
        d,
        chart,
    }))
}

impl ClusterPage {
    /// `1.5 GiB`, `320.0 MiB`; `–` when unknown.
    pub fn bytes(&self, bytes: impl std::borrow::Borrow<Option<u64>>) -> String {
        self.f.bytes(bytes.borrow().map(|b| b as f64))
    }

    pub fn pair(
        &self,
        used: impl std::borrow::Borrow<Option<u64>>,
        total: impl std::borrow::Borrow<Option<u64>>,
    ) -> String {
        match (*used.borrow(), *total.borrow()) {
            (Some(used), Some(total)) => format!("{used} / {total}"),
            _ => "–".into(),
        }
    }

    pub fn uptime(&self, millis: impl std::borrow::Borrow<Option<u64>>) -> String {
        self.f.span(millis.borrow().map(|ms| ms as f64 / 1000.0))
    }

    /// What the cluster's nodes are called: nodes (RabbitMQ), brokers (ActiveMQ), servers.
    pub fn nodes_word(&self) -> (&'static str, &'static str) {
        let (t, capabilities) = (self.t, &self.d.summary.capabilities);
        if capabilities.exchanges {
            (t.col_nodes, t.col_node)
        } else if capabilities.usage {
            (t.brokers_title, t.col_broker_name)
        } else {
            (t.servers, t.col_server)
        }
    }

    /// Whether a use is high enough to mark (90 % and more).
    pub fn high(&self, percent: impl std::borrow::Borrow<Option<f64>>) -> bool {
        percent.borrow().is_some_and(|p| p >= 90.0)
    }

    /// `in / out` message counts.
    pub fn count_pair(
        &self,
        put: impl std::borrow::Borrow<Option<u64>>,
        get: impl std::borrow::Borrow<Option<u64>>,
    ) -> String {
        let count = |n: Option<u64>| n.map_or_else(|| "–".into(), |n| self.f.count_u64(n));
        format!("{} / {}", count(*put.borrow()), count(*get.borrow()))
    }

    /// A 0–1 fraction as a percentage.
    pub fn ratio(&self, fraction: impl std::borrow::Borrow<Option<f64>>) -> String {
        self.f.percent(fraction.borrow().map(|r| r * 100.0))
    }

    /// What the canary does, with its interval and window.
    pub fn canary_explain(&self, reading: &CanaryReading) -> String {
        let span = |ms: Millis| self.f.span(Some(ms as f64 / 1000.0));
        self.t
            .canary_explain
            .replace("{interval}", &span(reading.interval_ms))
            .replace("{window}", &span(reading.window_ms))
    }

    /// A row's figure cells: sent, lost, produce p50/p99, end-to-end p50/p99 (numbers only).
    pub fn canary_cells(&self, figures: &CanaryFigures) -> String {
        let lost = if figures.lost > 0 { " bad" } else { "" };
        format!(
            "<td class=\"num\">{}</td><td class=\"num lost{lost}\">{}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num e2e-p99\">{}</td>",
            self.f.count_u64(figures.sent),
            self.f.count_u64(figures.lost),
            self.ms(figures.produce_p50_ms),
            self.ms(figures.produce_p99_ms),
            self.ms(figures.end_to_end_p50_ms),
            self.ms(figures.end_to_end_p99_ms),
        )
    }

    /// Milliseconds as people read them: `4.2 ms`, `1.30 s`; `–` when unknown.
    pub fn ms(&self, ms: impl std::borrow::Borrow<Option<f64>>) -> String {
        match *ms.borrow() {
            None => "–".into(),
            Some(ms) if ms >= 1000.0 => format!("{:.2} s", ms / 1000.0),
            Some(ms) => format!("{ms:.1} ms"),
        }
    }

    /// Availability of the broker at `index` of the RocketMQ broker list (its generic id).
    pub fn availability(&self, index: &usize) -> Option<f64> {
        let id = i32::try_from(*index).ok()?;
        self.d.brokers.iter().find(|b| b.id == id)?.availability_percent
    }
}

#[derive(Template)]
#[template(path = "topics.html")]
pub struct TopicsPage {
    t: &'static Messages,
    f: Fmt,
    chrome: Chrome,
    list: TopicList,
}

impl TopicsPage {
    fn href(&self, query: &TopicQuery) -> String {
        let mut form = url::form_urlencoded::Serializer::new(String::new());
        if !query.q.is_empty() {
            form.append_pair("q", &query.q);
        }
        form.append_pair("sort", query.sort.code());
        form.append_pair("dir", dir_code(query.dir));
        form.append_pair("page", &query.page.to_string());
        if query.per_page != query::DEFAULT_PER_PAGE {
            form.append_pair("per_page", &query.per_page.to_string());
        }
        if query.hide_internal {
            form.append_pair("hide_internal", "true");
        }
        if let Some(class) = query.class {
            form.append_pair("class", class.as_str());
        }
        if query.system {
            form.append_pair("system", "true");
        }
        format!("/clusters/{}/topics?{}", segment(&self.list.cluster.name), form.finish())
    }

    /// RocketMQ topic classes: `(code, label)`.
    pub fn classes(&self) -> [(&'static str, &'static str); 4] {
        ["normal", "retry", "dead_letter", "system"].map(|code| (code, self.class_label(code)))
    }

    pub fn class_label(&self, code: &str) -> &'static str {
        match code {
            "retry" => self.t.class_retry,
            "dead_letter" => self.t.class_dead_letter,
            "system" => self.t.class_system,
            _ => self.t.class_normal,
        }
    }

    pub fn class_selected(&self, code: &str) -> bool {
        self.list.query.class.is_some_and(|c| c.as_str() == code)
    }

    /// Link of a column header: sort by it, flipping the direction when it is the current sort.
    pub fn sort_href(&self, code: &str) -> String {
        let sort = TopicSort::ALL.into_iter().find(|s| s.code() == code).unwrap_or_default();
        let current = &self.list.query;
        let dir = next_direction(current.sort == sort, current.dir, sort == TopicSort::Name);
        self.href(&TopicQuery { sort, dir, page: 1, ..current.clone() })
    }

    pub fn sort_mark(&self, code: &str) -> &'static str {
        sort_mark(self.list.query.sort.code() == code, self.list.query.dir)
    }

    pub fn page_href(&self, page: impl std::borrow::Borrow<usize>) -> String {
        self.href(&TopicQuery { page: *page.borrow(), ..self.list.query.clone() })
    }

    pub fn showing(&self) -> String {
        let l = &self.list;
        let from = if l.rows.is_empty() { 0 } else { (l.page - 1) * l.query.per_page + 1 };
        let to = from + l.rows.len().saturating_sub(1);
        Messages::fill(
            self.t.showing_topics,
            &[
                ("from", &self.f.size(from)),
                ("to", &self.f.size(to)),
                ("matched", &self.f.size(l.matched)),
                ("total", &self.f.size(l.total)),
            ],
        )
    }

    pub fn page_of(&self) -> String {
        Messages::fill(
            self.t.page_of,
            &[("page", &self.list.page.to_string()), ("pages", &self.list.pages.to_string())],
        )
    }
}

async fn topics(
    State(state): State<AppState>,
    page: Page,
    Path(name): Path<String>,
    PageQuery(params): PageQuery<TopicQuery>,
) -> Result<Response, PageError> {
    let Page { lang, uri, caller: Caller { who, .. } } = page;
    let list = query::topic_list(&state.clusters, &name, &params)?;
    Ok(render(&TopicsPage {
        t: lang.messages(),
        f: Fmt::new(lang, now_millis()),
        chrome: Chrome::new(lang, here(&uri), Some(&name), &who),
        list,
    }))
}

#[derive(Template)]
#[template(path = "topic.html")]
pub struct TopicPage {
    t: &'static Messages,
    f: Fmt,
    chrome: Chrome,
    d: TopicDetail,
    chart: String,
    /// RocketMQ: why the name server's live route could not be read (the last poll's is shown).
    route_error: Option<String>,
}

/// RocketMQ topics: the route as the name server has it now replaces the last poll's, which the
/// page keeps (with the reason) when the name server does not answer.
pub(super) async fn live_route(
    state: &AppState,
    cluster: &str,
    d: &mut TopicDetail,
) -> Option<String> {
    let (rocket, _) = state.operators.rocket(cluster)?;
    let shown = d.rocket.as_mut()?;
    match rocket.route(&shown.name).await {
        Ok(route) => {
            shown.route = route;
            None
        }
        Err(e) => Some(e.to_string()),
    }
}

fn id_list(ids: &[i32]) -> String {
    ids.iter().map(i32::to_string).collect::<Vec<_>>().join(", ")
}

impl TopicPage {
    /// Bytes on disk of a partition's leader replica.
    pub fn log_size(&self, partition: &i32) -> String {
        self.f.bytes(self.d.log_bytes.get(partition).map(|b| *b as f64))
    }

    /// RocketMQ: the most queues the topic has on one broker (what the queue form starts at).
    pub fn queues_per_broker(&self) -> usize {
        let queues = self.d.rocket.as_ref().map(|r| r.queues.as_slice()).unwrap_or_default();
        let mut per_broker: std::collections::HashMap<&str, usize> =
            std::collections::HashMap::new();
        for q in queues {
            *per_broker.entry(q.broker.as_str()).or_default() += 1;
        }
        per_broker.into_values().max().unwrap_or(8)
    }

    /// RocketMQ: the topic's permission as routed (what the queue form starts at, so saving the
    /// queues does not change it).
    pub fn current_perm(&self) -> i32 {
        let route = self.d.rocket.as_ref().map(|r| r.route.as_slice()).unwrap_or_default();
        route.first().map_or(6, |r| r.perm)
    }

    /// RocketMQ: the brokers the topic is on (the queue form changes those, not every master).
    pub fn current_brokers(&self) -> String {
        let route = self.d.rocket.as_ref().map(|r| r.route.as_slice()).unwrap_or_default();
        route.iter().map(|r| r.broker.as_str()).collect::<Vec<_>>().join(", ")
    }

    /// RocketMQ: each queue beside its offsets (partition `i` is queue `i`).
    pub fn rocket_queues(&self) -> Vec<(&crate::domain::rocket::MessageQueue, &PartitionRow)> {
        let queues = self.d.rocket.as_ref().map(|r| r.queues.as_slice()).unwrap_or_default();
        queues.iter().zip(&self.d.partitions).collect()
    }

    pub fn replica_list(&self, p: &PartitionRow) -> String {
        id_list(&p.partition.replicas)
    }

    pub fn isr_list(&self, p: &PartitionRow) -> String {
        id_list(&p.partition.isr)
    }
}

async fn topic(
    State(state): State<AppState>,
    page: Page,
    Path((name, topic)): Path<(String, String)>,
    PageQuery(params): PageQuery<RangeParam>,
) -> Result<Response, PageError> {
    let Page { lang, uri, caller: Caller { who, .. } } = page;
    let now = now_millis();
    let mut d =
        query::topic_detail(&state.clusters, &state.store, &name, &topic, params.range, now)
            .await?;
    let route_error = live_route(&state, &name, &mut d).await;
    let points: Vec<_> = d.history.iter().map(|p| (p.ts, p.messages_in_per_sec)).collect();
    let chart = rate_chart(lang.messages(), d.range, now, &points);
    Ok(render(&TopicPage {
        t: lang.messages(),
        f: Fmt::new(lang, now),
        chrome: Chrome::new(lang, here(&uri), Some(&name), &who),
        d,
        chart,
        route_error,
    }))
}

#[derive(Template)]
#[template(path = "groups.html")]
pub struct GroupsPage {
    t: &'static Messages,
    f: Fmt,
    chrome: Chrome,
    list: GroupList,
}

impl GroupsPage {
    fn href(&self, query: &GroupQuery) -> String {
        let mut form = url::form_urlencoded::Serializer::new(String::new());
        if !query.q.is_empty() {
            form.append_pair("q", &query.q);
        }
        if !query.topic.is_empty() {
            form.append_pair("topic", &query.topic);
        }
        if let Some(status) = query.status {
            form.append_pair("status", status.as_str());
        }
        form.append_pair("sort", query.sort.code());
        form.append_pair("dir", dir_code(query.dir));
        form.append_pair("page", &query.page.to_string());
        if query.per_page != query::DEFAULT_PER_PAGE {
            form.append_pair("per_page", &query.per_page.to_string());
        }
        format!("/clusters/{}/groups?{}", segment(&self.list.cluster.name), form.finish())
    }

    pub fn sort_href(&self, code: &str) -> String {
        let sort = GroupSort::ALL.into_iter().find(|s| s.code() == code).unwrap_or_default();
        let current = &self.list.query;
        let dir = next_direction(current.sort == sort, current.dir, sort == GroupSort::Name);
        self.href(&GroupQuery { sort, dir, page: 1, ..current.clone() })
    }

    pub fn sort_mark(&self, code: &str) -> &'static str {
        sort_mark(self.list.query.sort.code() == code, self.list.query.dir)
    }

    pub fn page_href(&self, page: impl std::borrow::Borrow<usize>) -> String {
        self.href(&GroupQuery { page: *page.borrow(), ..self.list.query.clone() })
    }

    /// The address the live refresh fetches: this very page.
    pub fn live_href(&self) -> String {
        self.href(&self.list.query)
    }

    pub fn status_selected(&self, code: &str) -> bool {
        self.list.query.status.map(PartitionStatus::as_str) == Some(code)
    }

    pub fn page_of(&self) -> String {
        Messages::fill(
            self.t.page_of,
            &[("page", &self.list.page.to_string()), ("pages", &self.list.pages.to_string())],
        )
    }

    pub fn showing(&self) -> String {
        Messages::fill(
            self.t.showing_groups,
            &[
                ("matched", &self.f.size(self.list.matched)),
                ("total", &self.f.size(self.list.total)),
            ],
        )
    }
}

async fn groups(
    State(state): State<AppState>,
    page: Page,
    Path(name): Path<String>,
    PageQuery(params): PageQuery<GroupQuery>,
) -> Result<Response, PageError> {
    let Page { lang, uri, caller: Caller { who, .. } } = page;
    let rules = crate::web::rules_for_forecasts(&state).await;
    let list = query::group_list(&state.clusters, &name, &params, &rules)?;
    Ok(render(&GroupsPage {
        t: lang.messages(),
        f: Fmt::new(lang, now_millis()),
        chrome: Chrome::new(lang, here(&uri), Some(&name), &who),
        list,
    }))
}

#[derive(Template)]
#[template(path = "group.html")]
pub struct GroupPage {
    t: &'static Messages,
    f: Fmt,
    chrome: Chrome,
    d: GroupDetail,
    lag_chart: String,
    rate_chart: String,
}

impl GroupPage {
    /// A diagnosis hint in the reader's language, with its numbers.
    pub fn hint(&self, hint: &crate::evaluator::Hint) -> String {
        crate::alerting::message::hint_text(hint, self.chrome.lang.alert_words())
    }

    pub fn assignment(&self, member: &GroupMember) -> String {
        member
            .assignment
            .iter()
            .map(|(topic, parts)| match &self.d.rocket {
                Some(rocket) => {
                    let queues: Vec<String> =
                        parts.iter().map(|p| rocket.queue_label(topic, p)).collect();
                    format!("{topic} [{}]", queues.join(", "))
                }
                None => format!("{topic} [{}]", id_list(parts)),
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// A RocketMQ client's language and version, as its heartbeat gave them, and the proxy a
    /// gRPC client connects through.
    pub fn client_version(&self, member: &GroupMember) -> String {
        let Some(client) = self
            .d
            .rocket
            .as_ref()
            .and_then(|r| r.group.clients.iter().find(|c| c.client_id == member.client_id))
        else {
            return String::new();
        };
        let version = format!("{} {}", client.language, client.version).trim().to_owned();
        match &client.proxy {
            Some(proxy) => format!("{version} · {} {proxy}", self.t.client_through_proxy),
            None => version,
        }
    }

    pub fn live_href(&self) -> String {
        format!(
            "/clusters/{}/groups/{}?range={}",
            segment(&self.d.cluster.name),
            segment(&self.d.group.summary.name),
            self.d.range.code()
        )
    }
}

async fn group(
    State(state): State<AppState>,
    page: Page,
    Path((name, group)): Path<(String, String)>,
    PageQuery(params): PageQuery<RangeParam>,
) -> Result<Response, PageError> {
    let Page { lang, uri, caller: Caller { who, .. } } = page;
    let now = now_millis();
    let rules = crate::web::rules_for_forecasts(&state).await;
    let d = query::group_detail(
        &state.clusters,
        &state.store,
        &name,
        &group,
        params.range,
        now,
        &rules,
    )
    .await?;
    let t = lang.messages();
    let x = || d.history.iter().map(|p| p.ts);
    let lag_chart = chart_json(
        d.range,
        now,
        x(),
        &[
            Line { label: t.col_lag, values: d.history.iter().map(|p| p.lag).collect() },
            Line { label: t.col_max_lag, values: d.history.iter().map(|p| p.max_lag).collect() },
        ],
    );
    let rate_chart = chart_json(
        d.range,
        now,
        x(),
        &[
            Line {
                label: t.consume_rate,
                values: d.history.iter().map(|p| p.consume_per_sec).collect(),
            },
            Line {
                label: t.produce_rate,
                values: d.history.iter().map(|p| p.produce_per_sec).collect(),
            },
        ],
    );
    Ok(render(&GroupPage {
        t,
        f: Fmt::new(lang, now),
        chrome: Chrome::new(lang, here(&uri), Some(&name), &who),
        d,
        lag_chart,
        rate_chart,
    }))
}

#[derive(Debug, Deserialize)]
struct SwitchParams {
    back: Option<String>,
}

/// Sets the language cookie and returns to the page the switch was clicked on (only paths on
/// this site, so the switch cannot be used as an open redirect).
async fn switch_language(
    Path(code): Path<String>,
    PageQuery(params): PageQuery<SwitchParams>,
) -> Response {
    let lang = Lang::from_code(&code).unwrap_or(Lang::En);
    let back = params
        .back
        .filter(|b| crate::web::view::is_local_path(b))
        .unwrap_or_else(|| "/".to_owned());
    let cookie =
        format!("{LANG_COOKIE}={}; Path=/; Max-Age=31536000; SameSite=Lax; HttpOnly", lang.code());
    ([(header::SET_COOKIE, cookie)], Redirect::to(&back)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chart_data_is_in_unix_seconds_with_gaps_as_null() {
        let points = [(1_000, Some(1.5)), (2_000, None)];
        let json = rate_chart(&crate::web::i18n::EN, Range::Hour, 3_601_000, &points);
        assert_eq!(
            json,
            r#"{"from":1,"series":[{"label":"msg/s","y":[1.5,null]}],"to":3601,"x":[1,2]}"#
        );
    }

    #[test]
    fn segments_are_percent_encoded() {
        assert_eq!(segment("orders.v1"), "orders.v1");
        assert_eq!(segment("a b/c"), "a%20b%2Fc");
    }
}
