//! JMX-like broker metrics read over HTTP where operators expose them: a Prometheus endpoint per
//! broker (`metrics_urls`, e.g. the JMX exporter agent or RabbitMQ's prometheus plugin) or a
//! Jolokia agent per broker (`jolokia_urls`). Bodies are read with a size cap.

pub mod jmx;
pub mod prometheus;

use std::collections::BTreeMap;
use std::time::Duration;

use futures::StreamExt;

use self::jmx::{CounterBook, Observation};
use super::AdapterError;
use crate::domain::metrics::{BrokerMetrics, Source};
use crate::domain::{ClusterKind, Millis};

/// Largest exposition or Jolokia answer read from one broker.
pub const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

/// The metric endpoints of one cluster's brokers and the counters read from them so far.
#[derive(Debug)]
pub struct Scraper {
    http: reqwest::Client,
    prometheus: BTreeMap<i32, String>,
    jolokia: BTreeMap<i32, String>,
    book: CounterBook,
    max_body: usize,
}

impl Scraper {
    /// The scraper of a cluster, or `None` when it names no metric endpoint. Keys are read by
    /// [`ClusterKind::broker_key`]; two keys standing for the same broker are refused.
    pub fn from_cluster(
        cluster: &crate::config::ClusterConfig,
    ) -> Result<Option<Scraper>, AdapterError> {
        if cluster.metrics_urls.is_empty() && cluster.jolokia_urls.is_empty() {
            return Ok(None);
        }
        let ids = |urls: &BTreeMap<String, String>,
                   field: &str|
         -> Result<BTreeMap<i32, String>, AdapterError> {
            let mut ids = BTreeMap::new();
            for (key, url) in urls {
                let id = cluster.kind().broker_key(key).ok_or_else(|| {
                    let names = if cluster.kind() == ClusterKind::Rabbitmq {
                        " nor a node name"
                    } else {
                        ""
                    };
                    AdapterError::Config(format!("{field}: {key:?} is not a broker id{names}"))
                })?;
                url::Url::parse(url)
                    .ok()
                    .filter(|u| matches!(u.scheme(), "http" | "https"))
                    .ok_or_else(|| {
                        AdapterError::Config(format!(
                            "{field}.{key}: {url:?} is not an http(s) URL"
                        ))
                    })?;
                if ids.insert(id, url.clone()).is_some() {
                    return Err(AdapterError::Config(format!(
                        "{field}: {key:?} stands for broker {id}, named by another key already"
                    )));
                }
            }
            Ok(ids)
        };
        Ok(Some(Scraper::new(
            ids(&cluster.metrics_urls, "metrics_urls")?,
            ids(&cluster.jolokia_urls, "jolokia_urls")?,
            cluster.poll_timeout,
            MAX_BODY_BYTES,
        )?))
    }

    pub fn new(
        prometheus: BTreeMap<i32, String>,
        jolokia: BTreeMap<i32, String>,
        timeout: Duration,
        max_body: usize,
    ) -> Result<Scraper, AdapterError> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .map_err(|e| AdapterError::Config(e.to_string()))?;
        Ok(Scraper { http, prometheus, jolokia, book: CounterBook::default(), max_body })
    }

    /// Reads every configured endpoint at once; a broker whose endpoint fails gets the error and
    /// no values, the others are unaffected.
    pub async fn scrape(&mut self, at: Millis) -> Vec<BrokerMetrics> {
        let prometheus = self.prometheus.iter().map(|(id, url)| {
            let http = &self.http;
            let max = self.max_body;
            async move { (*id, Source::Prometheus, read_prometheus(http, url, max).await) }
        });
        let jolokia = self.jolokia.iter().map(|(id, url)| {
            let http = &self.http;
            let max = self.max_body;
            async move { (*id, Source::Jolokia, read_jolokia(http, url, max).await) }
        });
        let reads: Vec<_> = prometheus
            .map(futures::future::Either::Left)
            .chain(jolokia.map(futures::future::Either::Right))
            .collect();
        let results: Vec<(i32, Source, Result<Read, String>)> =
            futures::stream::iter(reads).buffered(16).collect().await;
        let mut brokers: BTreeMap<i32, BrokerMetrics> = BTreeMap::new();
        for (id, source, result) in results {
            let broker = brokers.entry(id).or_insert_with(|| BrokerMetrics::new(id));
            match result {
                Ok((observations, warning)) => {
                    let (values, topics) = self.book.apply(id, at, &observations);
                    broker.merge(source, &values);
                    for (topic, values) in topics {
                        let entry = broker.topics.entry(topic).or_default();
                        for (metric, value) in values {
                            entry.entry(metric).or_insert(value);
                        }
                    }
                    if broker.error.is_none() {
                        broker.error = warning;
                    }
                }
                Err(e) => broker.error = Some(e),
            }
        }
        let ids: Vec<i32> = brokers.keys().copied().collect();
        self.book.retain_brokers(&ids);
        brokers.into_values().collect()
    }
}

/// What one endpoint gave: observations, and a warning about reads it refused.
type Read = (Vec<Observation>, Option<String>);

/// The body of `request`, refused once it passes `max` bytes (no more is read).
async fn capped_body(
    request: reqwest::RequestBuilder,
    url: &str,
    max: usize,
) -> Result<Vec<u8>, String> {
    let response = request
        .send()
        .await
        .map_err(|e| format!("{url}: {}", crate::telemetry::error_chain(&e)))?;
    let status = response.status();
    if !status.is_success() {
        return Err(format!("{url} answered {status}"));
    }
    crate::brokers::read_body_capped(response, max).await.map_err(|e| format!("{url}: {e}"))
}

async fn read_prometheus(http: &reqwest::Client, url: &str, max: usize) -> Result<Read, String> {
    let body = capped_body(http.get(url).header("Accept", "text/plain"), url, max).await?;
    let text =
        std::str::from_utf8(&body).map_err(|_| format!("{url}: the exposition is not UTF-8"))?;
    let samples = prometheus::parse(text, prometheus::Limits::default())
        .map_err(|e| format!("{url}: not Prometheus text: {e}"))?;
    Ok((jmx::from_prometheus(&samples), None))
}

async fn read_jolokia(http: &reqwest::Client, url: &str, max: usize) -> Result<Read, String> {
    let request = http.post(url).json(&jmx::jolokia_requests());
    let body = capped_body(request, url, max).await?;
    let answer: serde_json::Value =
        serde_json::from_slice(&body).map_err(|e| format!("{url}: not a Jolokia answer: {e}"))?;
    jmx::from_jolokia(&answer).map_err(|e| format!("{url}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::queue::node_id;

    #[test]
    fn keys_are_broker_ids_and_on_rabbitmq_also_node_names() {
        for kind in [ClusterKind::Kafka, ClusterKind::Rabbitmq, ClusterKind::Rocketmq] {
            assert_eq!(kind.broker_key("1"), Some(1), "{kind:?}");
            assert_eq!(kind.broker_key(" 42 "), Some(42), "{kind:?}");
        }
        let b = node_id("rabbit@b");
        assert_eq!(ClusterKind::Rabbitmq.broker_key("rabbit@b"), Some(b));
        assert_eq!(ClusterKind::Rabbitmq.broker_key(" rabbit@b "), Some(b));
        assert_eq!(ClusterKind::Rabbitmq.broker_key(&b.to_string()), Some(b), "or its id");
        assert_eq!(ClusterKind::Rabbitmq.broker_key(""), None);
        assert_eq!(ClusterKind::Kafka.broker_key("one"), None);
        assert_eq!(ClusterKind::Rocketmq.broker_key("broker-a"), None);
    }

    #[test]
    fn a_rabbitmq_scraper_reads_each_node_under_its_broker_id() {
        let url = |host: &str| format!("http://{host}:15692/metrics");
        let password = crate::secret::Secret::new("p");
        let mut cluster =
            crate::config::ClusterConfig::rabbitmq("r", "http://r:15672", "u", password);
        cluster.metrics_urls =
            [("rabbit@b".to_owned(), url("b")), ("7".to_owned(), url("c"))].into();
        let scraper = Scraper::from_cluster(&cluster).unwrap().unwrap();
        let expected: BTreeMap<i32, String> =
            [(node_id("rabbit@b"), url("b")), (7, url("c"))].into();
        assert_eq!(scraper.prometheus, expected);
        assert!(scraper.jolokia.is_empty());

        cluster.metrics_urls.insert(node_id("rabbit@b").to_string(), url("d"));
        let error = Scraper::from_cluster(&cluster).unwrap_err().to_string();
        assert!(error.contains("named by another key"), "{error}");

        let mut cluster = crate::config::ClusterConfig::kafka("k", "k:9092");
        cluster.metrics_urls = [("rabbit@b".to_owned(), url("b"))].into();
        let error = Scraper::from_cluster(&cluster).unwrap_err().to_string();
        assert!(error.contains("\"rabbit@b\" is not a broker id"), "{error}");
    }
}
