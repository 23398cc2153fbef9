//! Server-rendered pages (askama). Each view struct sits beside its handler; all extend
//! `templates/base.html`. They work without JavaScript; `static/app.js` only draws charts.

use askama::Template;
use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{OriginalUri, Path, Query, State};
use axum::http::header;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use serde::Deserialize;

use super::error::{PageError, WebError};
use super::format::Fmt;
use super::i18n::{LANG_COOKIE, Lang, Messages};
use super::{AppState, assets};
use crate::clock::now_millis;
use crate::domain::Millis;
use crate::poller::ClusterStatus;
use crate::query::{
    self, ClusterDetail, ClusterSummary, Direction, PartitionRow, Range, TopicDetail, TopicList,
    TopicQuery, TopicSort,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(overview))
        .route("/clusters/{cluster}", get(cluster))
        .route("/clusters/{cluster}/topics", get(topics))
        .route("/clusters/{cluster}/topics/{topic}", get(topic))
        .route("/lang/{code}", get(switch_language))
}

/// Renders a template; a template failure is a bug, logged and answered 500.
pub fn render(page: &impl Template) -> Response {
    match page.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "template rendering failed");
            (axum::http::StatusCode::INTERNAL_SERVER_ERROR, "internal error; see the Osprey log")
                .into_response()
        }
    }
}

/// What every page needs besides its own data: language, formatting, the header's links.
pub struct Chrome {
    pub lang: Lang,
    /// Where the language switch returns to.
    pub here: String,
    /// The cluster the page belongs to, for the header navigation.
    pub cluster: Option<String>,
    pub assets: &'static str,
}

impl Chrome {
    fn new(lang: Lang, here: String, cluster: Option<&str>) -> Self {
        Chrome { lang, here, cluster: cluster.map(str::to_owned), assets: assets::VERSION }
    }

    pub fn switch_href(&self) -> String {
        let other = self.lang.messages().other_language_code;
        let back: String = url::form_urlencoded::byte_serialize(self.here.as_bytes()).collect();
        format!("/lang/{other}?back={back}")
    }

    pub fn status_label(&self, status: impl std::borrow::Borrow<ClusterStatus>) -> &'static str {
        let t = self.lang.messages();
        match status.borrow() {
            ClusterStatus::Up => t.status_up,
            ClusterStatus::Down => t.status_down,
            ClusterStatus::Pending => t.status_pending,
        }
    }

    pub fn range_label(&self, range: &Range) -> &'static str {
        let t = self.lang.messages();
        match range {
            Range::Hour => t.range_1h,
            Range::Day => t.range_24h,
            Range::Week => t.range_7d,
        }
    }
}

fn here(uri: &OriginalUri) -> String {
    uri.path_and_query().map_or_else(|| "/".to_owned(), |pq| pq.as_str().to_owned())
}

/// Path segment, percent-encoded.
pub fn segment(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect::<String>().replace('+', "%20")
}

/// The `?range=` parameter of pages with charts.
#[derive(Debug, Default, Deserialize)]
pub struct RangeParam {
    #[serde(default)]
    pub range: Range,
}

/// uPlot's data for one series over the chosen range, as JSON:
/// `{"from": s, "to": s, "x": [unix seconds], "y": [value|null]}`.
fn chart_json(
    range: Range,
    now: Millis,
    points: impl Iterator<Item = (Millis, Option<f64>)>,
) -> String {
    let (x, y): (Vec<i64>, Vec<Option<f64>>) = points.map(|(ts, v)| (ts / 1000, v)).unzip();
    let (from, to) = ((now - range.millis()) / 1000, now / 1000);
    serde_json::json!({ "from": from, "to": to, "x": x, "y": y }).to_string()
}

#[derive(Template)]
#[template(path = "overview.html")]
pub struct OverviewPage {
    t: &'static Messages,
    f: Fmt,
    chrome: Chrome,
    clusters: Vec<ClusterSummary>,
}

async fn overview(State(state): State<AppState>, lang: Lang, uri: OriginalUri) -> Response {
    render(&OverviewPage {
        t: lang.messages(),
        f: Fmt::new(lang, now_millis()),
        chrome: Chrome::new(lang, here(&uri), None),
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
}

async fn cluster(
    State(state): State<AppState>,
    lang: Lang,
    uri: OriginalUri,
    Path(name): Path<String>,
    params: Result<Query<RangeParam>, QueryRejection>,
) -> Result<Response, PageError> {
    let Query(params) = params.map_err(|e| PageError::bad_request(e, lang))?;
    let now = now_millis();
    let d = query::cluster_detail(&state.clusters, &state.store, &name, params.range, now)
        .await
        .map_err(|e| PageError::new(e, lang))?;
    let chart = chart_json(d.range, now, d.history.iter().map(|p| (p.ts, p.messages_in_per_sec)));
    Ok(render(&ClusterPage {
        t: lang.messages(),
        f: Fmt::new(lang, now),
        chrome: Chrome::new(lang, here(&uri), Some(&name)),
        d,
        chart,
    }))
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
        form.append_pair("dir", if query.dir == Direction::Desc { "desc" } else { "asc" });
        form.append_pair("page", &query.page.to_string());
        if query.per_page != query::DEFAULT_PER_PAGE {
            form.append_pair("per_page", &query.per_page.to_string());
        }
        if query.hide_internal {
            form.append_pair("hide_internal", "true");
        }
        format!("/clusters/{}/topics?{}", segment(&self.list.cluster.name), form.finish())
    }

    /// Link of a column header: sort by it, flipping the direction when it is the current sort.
    pub fn sort_href(&self, code: &str) -> String {
        let sort = TopicSort::ALL.into_iter().find(|s| s.code() == code).unwrap_or_default();
        let current = &self.list.query;
        let dir = match (current.sort == sort, current.dir) {
            (true, Direction::Asc) => Direction::Desc,
            (true, Direction::Desc) => Direction::Asc,
            (false, _) if sort == TopicSort::Name => Direction::Asc,
            (false, _) => Direction::Desc,
        };
        self.href(&TopicQuery { sort, dir, page: 1, ..current.clone() })
    }

    /// `▲`/`▼` beside the current sort column.
    pub fn sort_mark(&self, code: &str) -> &'static str {
        match (self.list.query.sort.code() == code, self.list.query.dir) {
            (false, _) => "",
            (true, Direction::Asc) => " ▲",
            (true, Direction::Desc) => " ▼",
        }
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
    lang: Lang,
    uri: OriginalUri,
    Path(name): Path<String>,
    params: Result<Query<TopicQuery>, QueryRejection>,
) -> Result<Response, PageError> {
    let Query(params) = params.map_err(|e| PageError::bad_request(e, lang))?;
    let list =
        query::topic_list(&state.clusters, &name, &params).map_err(|e| PageError::new(e, lang))?;
    Ok(render(&TopicsPage {
        t: lang.messages(),
        f: Fmt::new(lang, now_millis()),
        chrome: Chrome::new(lang, here(&uri), Some(&name)),
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
}

fn id_list(ids: &[i32]) -> String {
    ids.iter().map(i32::to_string).collect::<Vec<_>>().join(", ")
}

impl TopicPage {
    pub fn replica_list(&self, p: &PartitionRow) -> String {
        id_list(&p.partition.replicas)
    }

    pub fn isr_list(&self, p: &PartitionRow) -> String {
        id_list(&p.partition.isr)
    }
}

async fn topic(
    State(state): State<AppState>,
    lang: Lang,
    uri: OriginalUri,
    Path((name, topic)): Path<(String, String)>,
    params: Result<Query<RangeParam>, QueryRejection>,
) -> Result<Response, PageError> {
    let Query(params) = params.map_err(|e| PageError::bad_request(e, lang))?;
    let now = now_millis();
    let d = query::topic_detail(&state.clusters, &state.store, &name, &topic, params.range, now)
        .await
        .map_err(|e| PageError::new(e, lang))?;
    let chart = chart_json(d.range, now, d.history.iter().map(|p| (p.ts, p.messages_in_per_sec)));
    Ok(render(&TopicPage {
        t: lang.messages(),
        f: Fmt::new(lang, now),
        chrome: Chrome::new(lang, here(&uri), Some(&name)),
        d,
        chart,
    }))
}

#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage {
    t: &'static Messages,
    chrome: Chrome,
    title: &'static str,
    message: String,
}

impl ErrorPage {
    pub fn new(lang: Lang, title: &'static str, message: String) -> Self {
        ErrorPage {
            t: lang.messages(),
            chrome: Chrome::new(lang, "/".into(), None),
            title,
            message,
        }
    }
}

pub async fn not_found(lang: Lang, uri: OriginalUri) -> Response {
    PageError::new(WebError::NoRoute(uri.path().to_owned()), lang).into_response()
}

#[derive(Debug, Deserialize)]
struct SwitchParams {
    back: Option<String>,
}

/// Sets the language cookie and returns to the page the switch was clicked on (only paths on
/// this site, so the switch cannot be used as an open redirect).
async fn switch_language(Path(code): Path<String>, Query(params): Query<SwitchParams>) -> Response {
    let lang = Lang::from_code(&code).unwrap_or(Lang::En);
    let back = params
        .back
        .filter(|b| b.starts_with('/') && !b.starts_with("//") && !b.contains('\\'))
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
        let json =
            chart_json(Range::Hour, 3_601_000, [(1_000, Some(1.5)), (2_000, None)].into_iter());
        assert_eq!(json, r#"{"from":1,"to":3601,"x":[1,2],"y":[1.5,null]}"#);
    }

    #[test]
    fn segments_are_percent_encoded() {
        assert_eq!(segment("orders.v1"), "orders.v1");
        assert_eq!(segment("a b/c"), "a%20b%2Fc");
    }
}
