//! The Metrics pages and API: a cluster's broker metrics (bytes and messages in/out, request
//! rates, idle percentages, request times, heap) with each broker, the busiest topics and charts
//! from history; and one broker's page. Values come from `ClusterState::metrics`.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::get;
use axum::{Json, Router};

use super::AppState;
use super::error::{ApiError, PageError};
use super::form::{ApiQuery, PageQuery};
use super::format::Fmt;
use super::i18n::Messages;
use super::view::{Chrome, RangeParam, here, render, series_chart};
use crate::clock::now_millis;
use crate::domain::metrics::{BrokerMetrics, Metric};
use crate::poller::ClusterStatus;
use crate::query::{self, MetricsDetail, Range};
use crate::web::access::Caller;
use crate::web::access::Page;

pub fn pages() -> Router<AppState> {
    Router::new()
        .route("/clusters/{cluster}/metrics", get(cluster_page))
        .route("/clusters/{cluster}/brokers/{broker}", get(broker_page))
}

pub fn api() -> Router<AppState> {
    Router::new()
        .route("/clusters/{cluster}/metrics", get(cluster_api))
        .route("/clusters/{cluster}/brokers/{broker}/metrics", get(broker_api))
}

async fn detail(
    state: &AppState,
    cluster: &str,
    broker: Option<i32>,
    params: RangeParam,
) -> Result<MetricsDetail, super::error::WebError> {
    Ok(query::metrics_detail(
        &state.clusters,
        &state.store,
        cluster,
        broker,
        params.range,
        now_millis(),
    )
    .await?)
}

async fn cluster_api(
    State(state): State<AppState>,
    Path(cluster): Path<String>,
    ApiQuery(params): ApiQuery<RangeParam>,
) -> Result<Json<MetricsDetail>, ApiError> {
    Ok(Json(detail(&state, &cluster, None, params).await?))
}

async fn broker_api(
    State(state): State<AppState>,
    Path((cluster, broker)): Path<(String, i32)>,
    ApiQuery(params): ApiQuery<RangeParam>,
) -> Result<Json<MetricsDetail>, ApiError> {
    Ok(Json(detail(&state, &cluster, Some(broker), params).await?))
}

/// A chart panel: its title (from the catalogue) and the metrics drawn together.
type Panel = (fn(&Messages) -> &'static str, &'static [Metric]);

const PANELS: [Panel; 7] = [
    (|t| t.chart_bytes, &[Metric::BytesInPerSec, Metric::BytesOutPerSec]),
    (|t| t.chart_messages, &[Metric::MessagesInPerSec, Metric::MessagesOutPerSec]),
    (
        |t| t.chart_requests,
        &[
            Metric::ProduceRequestsPerSec,
            Metric::FetchRequestsPerSec,
            Metric::FailedProduceRequestsPerSec,
            Metric::FailedFetchRequestsPerSec,
        ],
    ),
    (|t| t.chart_idle, &[Metric::RequestHandlerIdlePercent, Metric::NetworkProcessorIdlePercent]),
    (|t| t.chart_request_time, &[Metric::ProduceTimeMs, Metric::FetchTimeMs]),
    (|t| t.chart_heap, &[Metric::HeapUsedBytes, Metric::HeapMaxBytes]),
    (
        |t| t.chart_usage,
        &[Metric::MemoryPercentUsage, Metric::StorePercentUsage, Metric::TempPercentUsage],
    ),
];

/// A metric's name as pages show it.
pub fn label(t: &'static Messages, metric: Metric) -> &'static str {
    match metric {
        Metric::BytesInPerSec => t.metric_bytes_in,
        Metric::BytesOutPerSec => t.metric_bytes_out,
        Metric::MessagesInPerSec => t.metric_messages_in,
        Metric::MessagesOutPerSec => t.metric_messages_out,
        Metric::BytesRejectedPerSec => t.metric_bytes_rejected,
        Metric::ProduceRequestsPerSec => t.metric_produce_requests,
        Metric::FailedProduceRequestsPerSec => t.metric_failed_produce,
        Metric::FetchRequestsPerSec => t.metric_fetch_requests,
        Metric::FailedFetchRequestsPerSec => t.metric_failed_fetch,
        Metric::UnderReplicatedPartitions => t.col_under_replicated,
        Metric::OfflinePartitions => t.col_offline,
        Metric::ActiveControllers => t.metric_active_controllers,
        Metric::RequestHandlerIdlePercent => t.metric_handler_idle,
        Metric::NetworkProcessorIdlePercent => t.metric_network_idle,
        Metric::ProduceTimeMs => t.metric_produce_time,
        Metric::FetchTimeMs => t.metric_fetch_time,
        Metric::HeapUsedBytes => t.metric_heap_used,
        Metric::HeapMaxBytes => t.metric_heap_max,
        Metric::GcPerSec => t.metric_gc,
        Metric::GcTimeMsPerSec => t.metric_gc_time,
        Metric::LogSizeBytes => t.metric_log_size,
        Metric::MemoryPercentUsage => t.metric_memory_usage,
        Metric::StorePercentUsage => t.metric_store_usage,
        Metric::TempPercentUsage => t.metric_temp_usage,
    }
}

#[derive(Template)]
#[template(path = "metrics.html")]
pub struct MetricsPage {
    t: &'static Messages,
    f: Fmt,
    chrome: Chrome,
    d: MetricsDetail,
    /// (title, chart JSON) of each panel with data.
    charts: Vec<(&'static str, String)>,
}

impl MetricsPage {
    /// A metric's value for people: bytes as KiB/MiB, percentages, milliseconds, rates.
    pub fn show(&self, metric: &Metric, value: Option<f64>) -> String {
        let Some(value) = value else { return "–".into() };
        let text = match metric {
            m if m.is_bytes() => self.f.bytes(Some(value)),
            Metric::RequestHandlerIdlePercent
            | Metric::NetworkProcessorIdlePercent
            | Metric::MemoryPercentUsage
            | Metric::StorePercentUsage
            | Metric::TempPercentUsage => self.f.percent(Some(value)),
            Metric::ProduceTimeMs | Metric::FetchTimeMs => format!("{} ms", self.f.compact(value)),
            Metric::GcTimeMsPerSec => format!("{} ms/s", self.f.compact(value)),
            Metric::UnderReplicatedPartitions
            | Metric::OfflinePartitions
            | Metric::ActiveControllers => self.f.compact(value),
            _ => format!("{}/s", self.f.compact(value)),
        };
        if metric.is_bytes()
            && !matches!(
                metric,
                Metric::HeapUsedBytes | Metric::HeapMaxBytes | Metric::LogSizeBytes
            )
        {
            format!("{text}/s")
        } else {
            text
        }
    }

    pub fn value(&self, metric: &Metric) -> String {
        self.show(metric, self.d.values.get(metric).copied())
    }

    pub fn of(&self, broker: &BrokerMetrics, metric: Metric) -> String {
        self.show(&metric, broker.values.get(&metric).copied())
    }

    pub fn label(&self, metric: &Metric) -> &'static str {
        label(self.t, *metric)
    }

    /// The metrics this page has values for, in the catalogue's order.
    pub fn shown(&self) -> Vec<Metric> {
        Metric::ALL.into_iter().filter(|m| self.d.values.contains_key(m)).collect()
    }

    /// Whether `metric` is out of its healthy range (for the red mark).
    pub fn bad(&self, metric: &Metric) -> bool {
        let value = self.d.values.get(metric).copied().unwrap_or_default();
        match metric {
            Metric::UnderReplicatedPartitions | Metric::OfflinePartitions => value > 0.0,
            Metric::RequestHandlerIdlePercent | Metric::NetworkProcessorIdlePercent => value < 20.0,
            Metric::FailedProduceRequestsPerSec | Metric::FailedFetchRequestsPerSec => value > 0.0,
            Metric::MemoryPercentUsage | Metric::StorePercentUsage | Metric::TempPercentUsage => {
                value >= 90.0
            }
            _ => false,
        }
    }

    pub fn sources(&self, broker: &BrokerMetrics) -> String {
        broker
            .sources
            .iter()
            .map(|s| {
                serde_json::to_value(s)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default()
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    pub fn rate(&self, value: &Option<f64>, bytes: bool) -> String {
        match value {
            Some(v) if bytes => format!("{}/s", self.f.bytes(Some(*v))),
            _ => self.f.rate(*value),
        }
    }
}

/// The panels with data, as chart JSON over the union of their points' times.
fn charts(
    t: &'static Messages,
    d: &MetricsDetail,
    now: crate::domain::Millis,
) -> Vec<(&'static str, String)> {
    PANELS
        .iter()
        .filter_map(|(title, metrics)| {
            let lines: Vec<(&str, &str)> =
                metrics.iter().map(|m| (label(t, *m), m.as_str())).collect();
            Some((title(t), series_chart(d.range, now, &d.history, &lines)?))
        })
        .collect()
}

async fn metrics_page(
    state: AppState,
    page: Page,
    cluster: String,
    broker: Option<i32>,
    params: RangeParam,
) -> Result<Response, PageError> {
    let Page { lang, uri, caller: Caller { who, .. } } = page;
    let now = now_millis();
    let d = detail(&state, &cluster, broker, params).await?;
    let t = lang.messages();
    Ok(render(&MetricsPage {
        t,
        f: Fmt::new(lang, now),
        chrome: Chrome::new(lang, here(&uri), Some(&cluster), &who),
        charts: charts(t, &d, now),
        d,
    }))
}

async fn cluster_page(
    State(state): State<AppState>,
    page: Page,
    Path(cluster): Path<String>,
    PageQuery(params): PageQuery<RangeParam>,
) -> Result<Response, PageError> {
    metrics_page(state, page, cluster, None, params).await
}

async fn broker_page(
    State(state): State<AppState>,
    page: Page,
    Path((cluster, broker)): Path<(String, i32)>,
    PageQuery(params): PageQuery<RangeParam>,
) -> Result<Response, PageError> {
    metrics_page(state, page, cluster, Some(broker), params).await
}
