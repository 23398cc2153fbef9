//! The pages of clusters of queues (RabbitMQ, ActiveMQ, beanstalkd, Gearman): the queue list,
//! paged, searchable and sortable, and one queue with its history charts.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;

use crate::clock::now_millis;
// The templates name these.
use crate::poller::ClusterStatus;
use crate::query::{self, QueueDetail, QueueList, QueueQuery, QueueSort, Range};
use crate::web::AppState;
use crate::web::access::{Caller, Page};
use crate::web::error::PageError;
use crate::web::form::PageQuery;
use crate::web::format::Fmt;
use crate::web::i18n::Messages;
use crate::web::view::{
    Chrome, Line, RangeParam, chart_json, dir_code, here, next_direction, render, segment,
    sort_mark,
};

#[derive(Template)]
#[template(path = "queues.html")]
pub struct QueuesPage {
    t: &'static Messages,
    f: Fmt,
    chrome: Chrome,
    list: QueueList,
}

impl QueuesPage {
    fn href(&self, query: &QueueQuery) -> String {
        let mut form = url::form_urlencoded::Serializer::new(String::new());
        if !query.q.is_empty() {
            form.append_pair("q", &query.q);
        }
        if !query.vhost.is_empty() {
            form.append_pair("vhost", &query.vhost);
        }
        form.append_pair("sort", query.sort.code());
        form.append_pair("dir", dir_code(query.dir));
        form.append_pair("page", &query.page.to_string());
        format!("/clusters/{}/queues?{}", segment(&self.list.cluster.name), form.finish())
    }

    pub fn sort_href(&self, code: &str) -> String {
        let sort = QueueSort::ALL.into_iter().find(|s| s.code() == code).unwrap_or_default();
        let current = &self.list.query;
        let dir = next_direction(current.sort == sort, current.dir, sort == QueueSort::Name);
        self.href(&QueueQuery { sort, dir, page: 1, ..current.clone() })
    }

    pub fn sort_mark(&self, code: &str) -> &'static str {
        sort_mark(self.list.query.sort.code() == code, self.list.query.dir)
    }

    pub fn page_href(&self, page: impl std::borrow::Borrow<usize>) -> String {
        self.href(&QueueQuery { page: *page.borrow(), ..self.list.query.clone() })
    }

    pub fn page_of(&self) -> String {
        Messages::fill(
            self.t.page_of,
            &[("page", &self.list.page.to_string()), ("pages", &self.list.pages.to_string())],
        )
    }
}

#[derive(Template)]
#[template(path = "queue.html")]
pub struct QueuePage {
    t: &'static Messages,
    f: Fmt,
    chrome: Chrome,
    d: QueueDetail,
    backlog_chart: String,
    rate_chart: String,
    rate_title: &'static str,
    /// RabbitMQ: consumers and bindings, asked when the page opens (or why they could not be).
    links: Option<Result<crate::brokers::rabbitmq::QueueLinks, String>>,
}

pub(super) async fn queue(
    State(state): State<AppState>,
    page: Page,
    Path((name, vhost, queue)): Path<(String, String, String)>,
    PageQuery(params): PageQuery<RangeParam>,
) -> Result<Response, PageError> {
    let Page { lang, uri, caller: Caller { who, .. } } = page;
    let now = now_millis();
    let d = query::queue_detail(
        &state.clusters,
        &state.store,
        &name,
        &vhost,
        &queue,
        params.range,
        now,
    )
    .await?;
    let t = lang.messages();
    let jobs = d.cluster.capabilities.jobs;
    let x = || d.history.iter().map(|p| p.ts);
    let backlog_chart = chart_json(
        d.range,
        now,
        x(),
        &[Line { label: t.col_backlog, values: d.history.iter().map(|p| p.backlog).collect() }],
    );
    let rate_chart = chart_json(
        d.range,
        now,
        x(),
        &[
            Line {
                label: if jobs { t.col_put_rate } else { t.col_publish_rate },
                values: d.history.iter().map(|p| p.publish_rate).collect(),
            },
            Line {
                label: if jobs { t.col_done_rate } else { t.col_deliver_rate },
                values: d.history.iter().map(|p| p.deliver_rate).collect(),
            },
        ],
    );
    let links = if d.cluster.capabilities.exchanges {
        Some(match state.operators.rabbit(&name) {
            Ok((rabbit, _)) => rabbit.queue_links(&vhost, &queue).await.map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        })
    } else {
        None
    };
    Ok(render(&QueuePage {
        t,
        f: Fmt::new(lang, now),
        chrome: Chrome::new(lang, here(&uri), Some(&name), &who).kind(d.cluster.kind),
        d,
        backlog_chart,
        rate_chart,
        rate_title: if jobs { t.chart_tube_rates } else { t.chart_queue_rates },
        links,
    }))
}

pub(super) async fn queues(
    State(state): State<AppState>,
    page: Page,
    Path(name): Path<String>,
    PageQuery(params): PageQuery<QueueQuery>,
) -> Result<Response, PageError> {
    let Page { lang, uri, caller: Caller { who, .. } } = page;
    let list = query::queue_list(&state.clusters, &name, &params)?;
    Ok(render(&QueuesPage {
        t: lang.messages(),
        f: Fmt::new(lang, now_millis()),
        chrome: Chrome::new(lang, here(&uri), Some(&name), &who).kind(list.cluster.kind),
        list,
    }))
}
