//! What every page is drawn with: rendering, the header ([`Chrome`]), links, chart data, sort
//! links and the error page.

use askama::Template;
use axum::extract::OriginalUri;
use axum::response::{Html, IntoResponse, Response};
use serde::Deserialize;

use super::assets;
use super::i18n::{Lang, Messages};
use crate::auth::{Principal, Role};
use crate::domain::{Capabilities, ClusterKind, Millis, QueueNoun};
use crate::poller::ClusterStatus;
use crate::query::{Direction, Range};

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

/// The line every page shows while poll history is not reaching the database.
#[derive(Template)]
#[template(path = "_history_banner.html")]
pub struct HistoryBanner {
    pub text: String,
    pub cause: &'static str,
}

/// What every page needs besides its own data: language, formatting, the header's links.
pub struct Chrome {
    pub lang: Lang,
    /// Who is logged in (`None`: nobody) and as what.
    pub user: Option<String>,
    pub role: Option<Role>,
    /// The session's CSRF token, put into every form.
    pub csrf: String,
    /// Where the language switch returns to.
    pub here: String,
    /// The cluster the page belongs to, for the header navigation.
    pub cluster: Option<String>,
    /// What that cluster's kind has: its navigation lists queues and exchanges (RabbitMQ) or
    /// topics and groups.
    pub capabilities: Option<Capabilities>,
    pub assets: &'static str,
}

impl Chrome {
    pub fn new(lang: Lang, here: String, cluster: Option<&str>, who: &Principal) -> Self {
        Chrome {
            lang,
            user: who.is_logged_in().then(|| who.name.clone()),
            role: who.role,
            csrf: who.csrf().to_owned(),
            here,
            cluster: cluster.map(str::to_owned),
            capabilities: None,
            assets: assets::VERSION,
        }
    }

    /// The navigation of a cluster of `kind`.
    pub fn kind(mut self, kind: ClusterKind) -> Self {
        self.capabilities = Some(kind.capabilities());
        self
    }

    /// Whether the cluster's pages are queues and exchanges rather than topics and groups.
    pub fn lists_queues(&self) -> bool {
        self.capabilities.is_some_and(|c| !c.topics)
    }

    fn noun(&self) -> QueueNoun {
        self.capabilities.map_or(QueueNoun::Queue, |c| c.queue_noun)
    }

    /// What the cluster's queues are called: queues, tubes or functions.
    pub fn queues_word(&self) -> &'static str {
        let t = self.lang.messages();
        match self.noun() {
            QueueNoun::Queue => t.col_queues,
            QueueNoun::Tube => t.col_tubes,
            QueueNoun::Function => t.col_functions,
            QueueNoun::Destination => t.col_destinations,
        }
    }

    pub fn queue_word(&self) -> &'static str {
        let t = self.lang.messages();
        match self.noun() {
            QueueNoun::Queue => t.col_queue,
            QueueNoun::Tube => t.col_tube,
            QueueNoun::Function => t.col_function,
            QueueNoun::Destination => t.col_destination,
        }
    }

    /// What messages taken and not yet done are called: unacked, reserved or running.
    pub fn unacked_word(&self) -> &'static str {
        let t = self.lang.messages();
        match self.noun() {
            QueueNoun::Queue => t.col_unacked,
            QueueNoun::Tube => t.col_reserved,
            QueueNoun::Function => t.col_running,
            QueueNoun::Destination => t.col_in_flight,
        }
    }

    /// Who takes the messages: consumers, or workers.
    pub fn consumers_word(&self) -> &'static str {
        let t = self.lang.messages();
        match self.noun() {
            QueueNoun::Queue | QueueNoun::Destination => t.col_consumers,
            QueueNoun::Tube | QueueNoun::Function => t.col_watchers,
        }
    }

    /// The search box's label on the queue list.
    pub fn search_word(&self) -> &'static str {
        let t = self.lang.messages();
        match self.noun() {
            QueueNoun::Queue => t.search_queues,
            QueueNoun::Tube => t.search_tubes,
            QueueNoun::Function => t.search_functions,
            QueueNoun::Destination => t.search_destinations,
        }
    }

    /// The card counting queues that hold messages nobody takes.
    pub fn unconsumed_word(&self) -> &'static str {
        let t = self.lang.messages();
        match self.noun() {
            QueueNoun::Queue => t.col_no_consumers,
            QueueNoun::Tube => t.col_tubes_unwatched,
            QueueNoun::Function => t.col_functions_unworked,
            QueueNoun::Destination => t.col_destinations_unconsumed,
        }
    }

    /// What a queue's name is unique within: a vhost, a server or a broker.
    pub fn scope_word(&self) -> &'static str {
        match self.capabilities.map(|c| c.scope) {
            Some(crate::domain::Scope::Server) => self.lang.messages().col_server,
            Some(crate::domain::Scope::Broker) => self.lang.messages().col_broker_name,
            _ => "vhost",
        }
    }

    /// The filter choice that shows every vhost or server.
    pub fn all_scopes(&self) -> &'static str {
        let t = self.lang.messages();
        match self.capabilities.map(|c| c.scope) {
            Some(crate::domain::Scope::Server) => t.all_servers,
            Some(crate::domain::Scope::Broker) => t.all_brokers,
            _ => t.all_vhosts,
        }
    }

    /// Whether the cluster has exchanges (RabbitMQ).
    pub fn has_exchanges(&self) -> bool {
        self.capabilities.is_some_and(|c| c.exchanges)
    }

    pub fn role_name(&self) -> &'static str {
        self.role.map_or("", Role::as_str)
    }

    pub fn can(&self, role: &str) -> bool {
        Role::parse(role).is_some_and(|r| self.role.is_some_and(|mine| mine >= r))
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

    /// A severity (`info`, `warning`, `critical`) in the reader's language.
    pub fn severity_label(&self, severity: &str) -> &'static str {
        let t = self.lang.messages();
        match severity {
            "critical" => t.sev_critical,
            "warning" => t.sev_warning,
            _ => t.sev_info,
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

/// The path and query a page was asked with (for the language switch and login links).
pub fn here(uri: &OriginalUri) -> String {
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

/// One line of a chart: its label and a value (or a gap) per x.
pub(super) struct Line<'a> {
    pub(super) label: &'a str,
    pub(super) values: Vec<Option<f64>>,
}

/// uPlot's data for the chosen range, as JSON:
/// `{"from": s, "to": s, "x": [unix seconds], "series": [{"label": …, "y": [value|null]}]}`.
pub(super) fn chart_json(
    range: Range,
    now: Millis,
    x: impl Iterator<Item = Millis>,
    lines: &[Line<'_>],
) -> String {
    let x: Vec<i64> = x.map(|ts| ts / 1000).collect();
    let series: Vec<serde_json::Value> =
        lines.iter().map(|l| serde_json::json!({ "label": l.label, "y": l.values })).collect();
    let (from, to) = ((now - range.millis()) / 1000, now / 1000);
    serde_json::json!({ "from": from, "to": to, "x": x, "series": series }).to_string()
}

/// A chart of stored series (`history`: name → points), one line per `(label, name)` that has
/// points, over the union of their times; `None` when none has.
pub(super) fn series_chart(
    range: Range,
    now: Millis,
    history: &std::collections::BTreeMap<String, Vec<crate::store::MetricPoint>>,
    lines: &[(&str, &str)],
) -> Option<String> {
    use std::collections::BTreeMap;
    let series: Vec<(&str, BTreeMap<i64, Option<f64>>)> = lines
        .iter()
        .filter_map(|(label, name)| {
            let points = history.get(*name)?;
            Some((*label, points.iter().map(|p| (p.ts, p.value)).collect()))
        })
        .collect();
    if series.is_empty() {
        return None;
    }
    let mut x: Vec<i64> = series.iter().flat_map(|(_, points)| points.keys().copied()).collect();
    x.sort_unstable();
    x.dedup();
    let lines: Vec<Line<'_>> = series
        .iter()
        .map(|(label, points)| Line {
            label,
            values: x.iter().map(|ts| points.get(ts).copied().flatten()).collect(),
        })
        .collect();
    Some(chart_json(range, now, x.into_iter(), &lines))
}

/// A messages-in/s chart over `points` of `(time, rate)`.
pub(super) fn rate_chart(
    t: &Messages,
    range: Range,
    now: Millis,
    points: &[(Millis, Option<f64>)],
) -> String {
    let line = Line { label: t.rate_unit, values: points.iter().map(|p| p.1).collect() };
    chart_json(range, now, points.iter().map(|p| p.0), &[line])
}

/// The direction a column header link sorts in: flips the current column, starts a new one
/// ascending for names and descending for figures (biggest first).
pub(super) fn next_direction(is_current: bool, current: Direction, is_name: bool) -> Direction {
    match (is_current, current) {
        (true, Direction::Asc) => Direction::Desc,
        (true, Direction::Desc) => Direction::Asc,
        (false, _) if is_name => Direction::Asc,
        (false, _) => Direction::Desc,
    }
}

/// `▲`/`▼` beside the current sort column.
pub(super) fn sort_mark(is_current: bool, dir: Direction) -> &'static str {
    match (is_current, dir) {
        (false, _) => "",
        (true, Direction::Asc) => " ▲",
        (true, Direction::Desc) => " ▼",
    }
}

pub(super) fn dir_code(dir: Direction) -> &'static str {
    if dir == Direction::Desc { "desc" } else { "asc" }
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
    pub fn new(
        lang: Lang,
        here: String,
        who: &Principal,
        title: &'static str,
        message: String,
    ) -> Self {
        ErrorPage { t: lang.messages(), chrome: Chrome::new(lang, here, None, who), title, message }
    }
}

/// Whether `back` (a redirect target from a query string) is a path on this site: one leading
/// `/`, no whitespace, control character or backslash anywhere (browsers drop tabs and newlines,
/// so `/<tab>/evil.example` would become `//evil.example`), and it resolves against this site to
/// this site.
pub fn is_local_path(back: &str) -> bool {
    let plain = back.starts_with('/')
        && !back.starts_with("//")
        && !back.chars().any(|c| c.is_whitespace() || c.is_control() || c == '\\');
    let site = url::Url::parse("http://osprey.invalid/").ok();
    let resolved = site.and_then(|site| site.join(back).ok());
    plain && resolved.is_some_and(|r| r.host_str() == Some("osprey.invalid"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severities_read_in_the_readers_language() {
        let chrome = |lang| Chrome::new(lang, "/".into(), None, &Principal::anonymous());
        assert_eq!(chrome(Lang::Zh).severity_label("critical"), "严重");
        assert_eq!(chrome(Lang::En).severity_label("warning"), "warning");
        assert_eq!(chrome(Lang::Zh).severity_label("info"), "提示");
    }

    #[test]
    fn the_navigation_follows_the_clusters_capabilities() {
        let chrome = Chrome::new(Lang::En, "/".into(), Some("r"), &Principal::anonymous());
        assert!(!chrome.lists_queues(), "no kind known: topics");
        assert!(chrome.kind(ClusterKind::Rabbitmq).lists_queues());
    }

    #[test]
    fn redirects_go_only_to_paths_on_this_site() {
        for local in ["/", "/clusters/a?tab=1", "/clusters/%2Fodd"] {
            assert!(is_local_path(local), "{local}");
        }
        for away in [
            "//evil.example",
            "/\t/evil.example",
            "/\n/evil.example",
            "/ /evil.example",
            "/\\evil.example",
            "https://evil.example",
            "evil.example",
            "",
        ] {
            assert!(!is_local_path(away), "{away:?}");
        }
    }
}
