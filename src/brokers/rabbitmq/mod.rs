//! RabbitMQ through its management HTTP API: overview, nodes (memory, disk and fd with their
//! alarms), and every queue with its backlog and rates, asking only for the columns Osprey uses
//! (the full listing is what makes the management UI slow with thousands of queues).
//! A snapshot carries them in `ClusterSnapshot::rabbit`; queue history, charts, publish/peek
//! and queue alerts follow (issue 6).

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::AdapterError;
use crate::domain::Millis;

pub mod amqp;
pub mod canary;
pub use crate::domain::queue::{
    Node, ObjectTotals, Overview, Queue, QueueSnapshot, QueueTotals, Rates, node_id, node_ids,
};

/// Queues asked per page of `/api/queues` (RabbitMQ accepts at most 500).
pub const QUEUE_PAGE: usize = 500;

/// The columns of `/api/queues` Osprey reads.
const QUEUE_COLUMNS: &str = "name,vhost,type,state,messages_ready,messages_unacknowledged,\
    messages,consumers,consumer_utilisation,idle_since,message_stats.publish_details.rate,\
    message_stats.deliver_get_details.rate,message_stats.ack_details.rate";

const NODE_COLUMNS: &str = "name,running,mem_used,mem_limit,mem_alarm,disk_free,disk_free_limit,\
    disk_free_alarm,fd_used,fd_total,uptime";

const OVERVIEW_COLUMNS: &str = "rabbitmq_version,erlang_version,cluster_name,object_totals,\
    queue_totals,message_stats,churn_rates";

/// One page of `/api/queues?page=…`.
#[derive(Debug, Deserialize)]
struct QueuePage {
    items: Vec<Queue>,
    #[serde(default)]
    page_count: usize,
}

/// Largest management-API answer read (5,000 queues with Osprey's columns take about 2 MB).
const MAX_ANSWER_BYTES: usize = 256 * 1024 * 1024;

/// A path segment with `/` and every other reserved character escaped (the default vhost is `/`).
/// `.` and `..` are refused: URL normalisation would drop them (escaped or not) and the request
/// would reach another management path.
fn encode(segment: &str) -> Result<String, AdapterError> {
    if segment == "." || segment == ".." {
        return Err(AdapterError::Config(format!(
            "{segment:?} cannot be named in a management API path"
        )));
    }
    Ok(url::form_urlencoded::byte_serialize(segment.as_bytes())
        .collect::<String>()
        .replace('+', "%20"))
}

/// A message to publish through the management API.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Publish {
    #[serde(default = "default_vhost")]
    pub vhost: String,
    /// Empty: the default exchange (routing key = queue name).
    #[serde(default)]
    pub exchange: String,
    #[serde(default)]
    pub routing_key: String,
    /// AMQP properties: `content_type`, `delivery_mode`, `correlation_id`, …
    #[serde(default)]
    pub properties: serde_json::Map<String, serde_json::Value>,
    #[serde(default)]
    pub headers: std::collections::BTreeMap<String, String>,
    #[serde(default)]
    pub payload: String,
}

fn default_vhost() -> String {
    "/".into()
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct Exchange {
    pub name: String,
    pub vhost: String,
    #[serde(default, rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub durable: bool,
    #[serde(default)]
    pub auto_delete: bool,
    #[serde(default)]
    pub internal: bool,
    #[serde(default)]
    pub message_stats: ExchangeRates,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct ExchangeRates {
    #[serde(
        default,
        rename = "publish_in_details",
        deserialize_with = "crate::domain::queue::rate"
    )]
    pub publish_in: Option<f64>,
    #[serde(
        default,
        rename = "publish_out_details",
        deserialize_with = "crate::domain::queue::rate"
    )]
    pub publish_out: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct ConsumerDetail {
    #[serde(default)]
    pub consumer_tag: String,
    #[serde(default)]
    pub ack_required: bool,
    #[serde(default)]
    pub prefetch_count: u64,
    #[serde(default)]
    pub active: bool,
    #[serde(default)]
    pub channel_details: serde_json::Value,
}

impl ConsumerDetail {
    /// `host:port` and the connection name of the consumer's channel.
    pub fn client(&self) -> String {
        let peer = |key: &str| self.channel_details[key].as_str().unwrap_or_default().to_owned();
        let port =
            self.channel_details["peer_port"].as_u64().map(|p| format!(":{p}")).unwrap_or_default();
        format!("{}{port} ({})", peer("peer_host"), peer("connection_name"))
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct Binding {
    #[serde(default)]
    pub source: String,
    #[serde(default)]
    pub routing_key: String,
    #[serde(default)]
    pub arguments: serde_json::Value,
}

/// Who consumes a queue and what feeds it.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct QueueLinks {
    pub consumers: Vec<ConsumerDetail>,
    pub bindings: Vec<Binding>,
}

/// A message seen by peeking.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct Peeked {
    #[serde(default)]
    pub payload: String,
    #[serde(default)]
    pub payload_encoding: String,
    #[serde(default)]
    pub payload_bytes: u64,
    #[serde(default)]
    pub redelivered: bool,
    #[serde(default)]
    pub exchange: String,
    #[serde(default)]
    pub routing_key: String,
    /// Messages left in the queue after this one.
    #[serde(default)]
    pub message_count: u64,
    #[serde(default)]
    pub properties: serde_json::Value,
}

/// Connection settings of one RabbitMQ cluster.
#[derive(Debug, Clone)]
pub struct RabbitSettings {
    pub management_url: String,
    pub username: String,
    pub password: String,
    pub timeout: Duration,
    /// PEM certificate authorities to trust besides the public roots.
    pub tls_ca_file: Option<String>,
}

pub struct RabbitAdapter {
    cluster: String,
    http: reqwest::Client,
    base: String,
    settings: RabbitSettings,
}

impl std::fmt::Debug for RabbitAdapter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RabbitAdapter").field("base", &self.base).finish_non_exhaustive()
    }
}

impl RabbitAdapter {
    /// The adapter of a `kind = "rabbitmq"` cluster; the password may read `${ENV}`.
    pub fn from_cluster(
        cluster: &crate::config::ClusterConfig,
        rabbit: &crate::config::RabbitConnection,
    ) -> Result<Self, AdapterError> {
        let password =
            crate::secret::interpolate(rabbit.password.expose(), |n| std::env::var(n).ok())
                .map_err(AdapterError::Config)?;
        RabbitAdapter::new(RabbitSettings {
            management_url: rabbit.management_url.clone(),
            username: rabbit.username.clone(),
            password,
            timeout: cluster.poll_timeout,
            tls_ca_file: rabbit.tls_ca_file.clone(),
        })
        .map(|adapter| RabbitAdapter { cluster: cluster.name.clone(), ..adapter })
    }

    pub fn new(settings: RabbitSettings) -> Result<Self, AdapterError> {
        let url = url::Url::parse(&settings.management_url)
            .map_err(|e| AdapterError::Config(format!("management_url: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(AdapterError::Config("management_url must be http(s)://".into()));
        }
        let http = super::management_client(settings.timeout, settings.tls_ca_file.as_deref())?;
        let base = settings.management_url.trim_end_matches('/').to_owned();
        Ok(RabbitAdapter { cluster: String::new(), http, base, settings })
    }

    /// An answer's body as text, at most [`MAX_ANSWER_BYTES`].
    async fn body_of(&self, response: reqwest::Response) -> Result<String, AdapterError> {
        let bytes = crate::brokers::read_body_capped(response, MAX_ANSWER_BYTES)
            .await
            .map_err(|e| AdapterError::Protocol(format!("{}: {e}", self.base)))?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    async fn get<T: serde::de::DeserializeOwned>(&self, path: &str) -> Result<T, AdapterError> {
        let url = format!("{}{path}", self.base);
        let response = self
            .http
            .get(&url)
            .basic_auth(&self.settings.username, Some(&self.settings.password))
            .send()
            .await
            .map_err(|e| self.transport_error(&e))?;
        let status = response.status();
        if status == reqwest::StatusCode::UNAUTHORIZED {
            return Err(AdapterError::Protocol(format!(
                "the management API refused user {:?} (401): wrong username or password",
                self.settings.username
            )));
        }
        let body = self.body_of(response).await?;
        if !status.is_success() {
            let excerpt: String = body.chars().take(200).collect();
            return Err(AdapterError::Protocol(format!("GET {path} answered {status}: {excerpt}")));
        }
        serde_json::from_str(&body).map_err(|e| {
            AdapterError::Protocol(format!("GET {path} did not answer management-API JSON: {e}"))
        })
    }

    /// A request that got no answer: too slow, or the node unreachable (with the cause, e.g. a
    /// certificate the client does not trust).
    fn transport_error(&self, e: &reqwest::Error) -> AdapterError {
        if e.is_timeout() {
            AdapterError::Timeout(self.settings.timeout)
        } else {
            AdapterError::Unreachable(format!(
                "{}: {}",
                self.base,
                crate::telemetry::error_chain(e)
            ))
        }
    }

    async fn post<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        body: &serde_json::Value,
    ) -> Result<T, AdapterError> {
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .basic_auth(&self.settings.username, Some(&self.settings.password))
            .json(body)
            .send()
            .await
            .map_err(|e| self.transport_error(&e))?;
        let status = response.status();
        let text = self.body_of(response).await?;
        if !status.is_success() {
            let reason = serde_json::from_str::<serde_json::Value>(&text)
                .ok()
                .and_then(|v| v["reason"].as_str().map(str::to_owned))
                .unwrap_or_else(|| text.chars().take(200).collect());
            return Err(AdapterError::Protocol(format!("{status}: {reason}")));
        }
        serde_json::from_str(&text)
            .map_err(|e| AdapterError::Protocol(format!("unexpected answer: {e}")))
    }

    /// Publishes one message; `routed` tells whether any queue took it.
    pub async fn publish(&self, message: &Publish) -> Result<bool, AdapterError> {
        let exchange = if message.exchange.is_empty() { "amq.default" } else { &message.exchange };
        let path =
            format!("/api/exchanges/{}/{}/publish", encode(&message.vhost)?, encode(exchange)?);
        let mut properties = message.properties.clone();
        if !message.headers.is_empty() {
            properties.insert("headers".into(), serde_json::json!(message.headers));
        }
        let body = serde_json::json!({
            "properties": properties,
            "routing_key": message.routing_key,
            "payload": message.payload,
            "payload_encoding": "string",
        });
        let answer: serde_json::Value = self.post(&path, &body).await?;
        Ok(answer["routed"].as_bool().unwrap_or(false))
    }

    /// The node a queue lives on (its leader), `None` when the queue does not exist.
    pub async fn queue_node(
        &self,
        vhost: &str,
        queue: &str,
    ) -> Result<Option<String>, AdapterError> {
        let path = format!("/api/queues/{}/{}?columns=name,node", encode(vhost)?, encode(queue)?);
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .basic_auth(&self.settings.username, Some(&self.settings.password))
            .send()
            .await
            .map_err(|e| self.transport_error(&e))?;
        if response.status() == reqwest::StatusCode::NOT_FOUND {
            return Ok(None);
        }
        let status = response.status();
        let body = self.body_of(response).await?;
        if !status.is_success() {
            let excerpt: String = body.chars().take(200).collect();
            return Err(AdapterError::Protocol(format!("GET {path} answered {status}: {excerpt}")));
        }
        let queue: serde_json::Value = serde_json::from_str(&body)
            .map_err(|e| AdapterError::Protocol(format!("GET {path}: {e}")))?;
        Ok(Some(queue["node"].as_str().unwrap_or_default().to_owned()))
    }

    /// Declares a durable queue with `arguments` (`x-message-ttl`, …).
    pub async fn declare_queue(
        &self,
        vhost: &str,
        queue: &str,
        arguments: serde_json::Value,
    ) -> Result<(), AdapterError> {
        let path = format!("/api/queues/{}/{}", encode(vhost)?, encode(queue)?);
        let body =
            serde_json::json!({"durable": true, "auto_delete": false, "arguments": arguments});
        let response = self
            .http
            .put(format!("{}{path}", self.base))
            .basic_auth(&self.settings.username, Some(&self.settings.password))
            .json(&body)
            .send()
            .await
            .map_err(|e| self.transport_error(&e))?;
        let status = response.status();
        if !status.is_success() {
            let body = self.body_of(response).await?;
            let excerpt: String = body.chars().take(200).collect();
            return Err(AdapterError::Protocol(format!("PUT {path} answered {status}: {excerpt}")));
        }
        Ok(())
    }

    /// Takes up to `count` messages from a queue and puts them back (they come back marked
    /// redelivered, at the head of the queue).
    pub async fn peek(
        &self,
        vhost: &str,
        queue: &str,
        count: usize,
    ) -> Result<Vec<Peeked>, AdapterError> {
        self.get_messages(vhost, queue, count, "ack_requeue_true").await
    }

    async fn get_messages(
        &self,
        vhost: &str,
        queue: &str,
        count: usize,
        ackmode: &str,
    ) -> Result<Vec<Peeked>, AdapterError> {
        let path = format!("/api/queues/{}/{}/get", encode(vhost)?, encode(queue)?);
        let body = serde_json::json!({
            "count": count.clamp(1, 100),
            "ackmode": ackmode,
            "encoding": "auto",
            "truncate": 50_000,
        });
        self.post(&path, &body).await
    }

    /// Every exchange with its type, flags and message rates.
    pub async fn exchanges(&self) -> Result<Vec<Exchange>, AdapterError> {
        let mut exchanges: Vec<Exchange> = self
            .get(
                "/api/exchanges?columns=name,vhost,type,durable,auto_delete,internal,\
                   message_stats.publish_in_details.rate,message_stats.publish_out_details.rate",
            )
            .await?;
        exchanges.sort_by(|a, b| (&a.vhost, &a.name).cmp(&(&b.vhost, &b.name)));
        Ok(exchanges)
    }

    /// A queue's consumers and bindings, asked when its page is opened.
    pub async fn queue_links(&self, vhost: &str, queue: &str) -> Result<QueueLinks, AdapterError> {
        #[derive(Deserialize)]
        struct Details {
            #[serde(default)]
            consumer_details: Vec<ConsumerDetail>,
        }
        let path = format!("/api/queues/{}/{}", encode(vhost)?, encode(queue)?);
        let details: Details = self.get(&format!("{path}?columns=consumer_details")).await?;
        let bindings: Vec<Binding> = self.get(&format!("{path}/bindings")).await?;
        Ok(QueueLinks { consumers: details.consumer_details, bindings })
    }

    /// Every queue, with only the columns Osprey reads, in one request: RabbitMQ builds the
    /// whole list for every page it serves, so pages of 500 took twice as long for 5,000 queues
    /// (BENCHMARKS.md).
    pub async fn queues(&self) -> Result<Vec<Queue>, AdapterError> {
        self.queues_in_pages_of(0).await
    }

    /// Every queue in pages of `page_size` (at most 500, RabbitMQ's limit), or in one request
    /// when `page_size` is 0; the benchmark compares them.
    pub async fn queues_in_pages_of(&self, page_size: usize) -> Result<Vec<Queue>, AdapterError> {
        if page_size == 0 {
            let mut queues: Vec<Queue> =
                self.get(&format!("/api/queues?columns={QUEUE_COLUMNS}")).await?;
            queues.sort_by(|a, b| (&a.vhost, &a.name).cmp(&(&b.vhost, &b.name)));
            return Ok(queues);
        }
        let mut queues = Vec::new();
        let mut page = 1;
        loop {
            let path =
                format!("/api/queues?page={page}&page_size={page_size}&columns={QUEUE_COLUMNS}");
            let answer: QueuePage = self.get(&path).await?;
            queues.extend(answer.items);
            if page >= answer.page_count {
                break;
            }
            page += 1;
        }
        queues.sort_by(|a, b| (&a.vhost, &a.name).cmp(&(&b.vhost, &b.name)));
        Ok(queues)
    }

    pub async fn snapshot(&self, now: Millis) -> Result<QueueSnapshot, AdapterError> {
        let mut overview: Overview =
            self.get(&format!("/api/overview?columns={OVERVIEW_COLUMNS}")).await?;
        overview.product = "RabbitMQ".into();
        if !overview.runtime_version.is_empty() {
            overview.runtime_version = format!("Erlang {}", overview.runtime_version);
        }
        let mut nodes: Vec<Node> = self.get(&format!("/api/nodes?columns={NODE_COLUMNS}")).await?;
        nodes.sort_by(|a, b| a.name.cmp(&b.name));
        let queues = self.queues().await?;
        Ok(QueueSnapshot { taken_at: now, overview, nodes, queues })
    }
}

/// The running nodes as a snapshot's brokers, sorted by id as `ClusterSnapshot::brokers` is:
/// the id comes from the node's name ([`node_ids`]), not its position, so a node stopping leaves
/// the others' history and alerts where they were; host = node name.
fn node_brokers(nodes: &[Node]) -> Vec<crate::domain::Broker> {
    node_ids(nodes)
        .into_iter()
        .filter(|(_, node)| node.running)
        .map(|(id, node)| crate::domain::Broker {
            id,
            host: node.name.clone(),
            port: 0,
            rack: None,
        })
        .collect()
}

impl super::ClusterAdapter for RabbitAdapter {
    /// Running nodes stand in the snapshot's broker list (id from the node name, host = node
    /// name) so the cluster-wide figures and broker availability work as for Kafka; queues are
    /// in `queues`.
    async fn snapshot(&self, now: Millis) -> Result<crate::domain::ClusterSnapshot, AdapterError> {
        let started = std::time::Instant::now();
        let rabbit = RabbitAdapter::snapshot(self, now).await?;
        let cluster_id = Some(rabbit.overview.cluster_name.clone()).filter(|n| !n.is_empty());
        let (cluster, brokers) = (self.cluster.clone(), node_brokers(&rabbit.nodes));
        let took = super::millis_since(started);
        let kind = crate::domain::ClusterKind::Rabbitmq;
        let snapshot =
            crate::domain::ClusterSnapshot::of_queues(cluster, kind, took, brokers, rabbit);
        Ok(crate::domain::ClusterSnapshot { cluster_id, ..snapshot })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_segments_are_refused_and_the_default_vhost_is_escaped() {
        // `/api/queues/../x` reaches `/api/x` once normalised, escaped or not.
        for name in [".", ".."] {
            let refused = encode(name).unwrap_err().to_string();
            assert!(refused.contains("cannot be named"), "{refused}");
        }
        assert_eq!(encode("/").unwrap(), "%2F");
        assert_eq!(encode("a b.c").unwrap(), "a%20b.c");
        assert_eq!(encode("...").unwrap(), "...", "only the dot segments are special");
    }

    #[test]
    fn queues_read_backlog_and_rates_from_the_management_json() {
        let page: QueuePage = serde_json::from_str(
            r#"{"items":[{"name":"orders","vhost":"/","type":"classic","state":"running",
                "messages_ready":7,"messages_unacknowledged":3,"messages":10,"consumers":0,
                "consumer_utilisation":null,"idle_since":"2026-11-21 10:00:00",
                "message_stats":{"publish_details":{"rate":2.5},"ack_details":{"rate":0.0}}}],
                "page_count":1,"page":1}"#,
        )
        .unwrap();
        let queue = &page.items[0];
        assert_eq!(queue.backlog(), 10);
        assert_eq!(queue.message_stats.publish, Some(2.5));
        assert_eq!(queue.message_stats.deliver_get, None);
        assert_eq!(queue.kind, "classic");
    }

    #[test]
    fn nodes_report_alarms() {
        let nodes: Vec<Node> = serde_json::from_str(
            r#"[{"name":"rabbit@a","running":true,"mem_used":10,"mem_limit":100,"mem_alarm":false,
                 "disk_free":5,"disk_free_limit":50,"disk_free_alarm":true,"fd_used":3,"fd_total":1024,"uptime":1000}]"#,
        )
        .unwrap();
        assert!(nodes[0].in_alarm());
    }

    #[test]
    fn a_bad_url_is_a_config_error() {
        let settings = RabbitSettings {
            management_url: "amqp://x".into(),
            username: "guest".into(),
            password: "guest".into(),
            timeout: Duration::from_secs(1),
            tls_ca_file: None,
        };
        assert!(matches!(RabbitAdapter::new(settings.clone()), Err(AdapterError::Config(_))));
        let missing_ca = RabbitSettings {
            management_url: "https://rabbit:15671".into(),
            tls_ca_file: Some("/nonexistent/ca.pem".into()),
            ..settings
        };
        let error = RabbitAdapter::new(missing_ca).unwrap_err().to_string();
        assert!(error.contains("tls_ca_file") && error.contains("/nonexistent/ca.pem"), "{error}");
    }

    fn node(name: &str, running: bool) -> Node {
        Node { name: name.into(), running, ..Node::default() }
    }

    fn ids(brokers: &[crate::domain::Broker]) -> Vec<(String, i32)> {
        brokers.iter().map(|b| (b.host.clone(), b.id)).collect()
    }

    #[test]
    fn three_running_nodes_get_three_distinct_ids_with_their_names_as_hosts() {
        let brokers =
            node_brokers(&[node("rabbit@a", true), node("rabbit@b", true), node("rabbit@c", true)]);
        let mut hosts: Vec<&str> = brokers.iter().map(|b| b.host.as_str()).collect();
        hosts.sort_unstable();
        assert_eq!(hosts, ["rabbit@a", "rabbit@b", "rabbit@c"]);
        let distinct: std::collections::BTreeSet<i32> = brokers.iter().map(|b| b.id).collect();
        assert_eq!(distinct.len(), 3, "{brokers:?}");
        assert!(brokers.iter().all(|b| b.port == 0 && b.rack.is_none()));
    }

    #[test]
    fn a_node_stopping_leaves_the_other_nodes_ids_unchanged() {
        let all =
            node_brokers(&[node("rabbit@a", true), node("rabbit@b", true), node("rabbit@c", true)]);
        let b_stopped = node_brokers(&[
            node("rabbit@a", true),
            node("rabbit@b", false),
            node("rabbit@c", true),
        ]);
        let expected: Vec<(String, i32)> =
            ids(&all).into_iter().filter(|(host, _)| host != "rabbit@b").collect();
        assert_eq!(ids(&b_stopped), expected);
        // Nor does it matter whether the stopped node is listed at all, or in what order.
        let b_gone = node_brokers(&[node("rabbit@c", true), node("rabbit@a", true)]);
        assert_eq!(ids(&b_gone), expected);
    }

    #[test]
    fn node_ids_are_non_negative_and_the_same_on_every_call() {
        for name in ["rabbit@a", "rabbit@b", "", "rabbit@very-long-host.example.internal", "é"] {
            assert!(node_id(name) >= 0, "{name:?}");
            assert_eq!(node_id(name), node_id(name), "{name:?}");
        }
        // Pinned to FNV-1a: ids are stored, so the hash must never change.
        assert_eq!(node_id(""), 0x011c_9dc5);
        assert_eq!(node_id("a"), 0x640c_292c);
        assert_eq!(node_id("foobar"), 0x3f9c_f968);
        let nodes = [node("rabbit@a", true), node("rabbit@b", true)];
        assert_eq!(node_brokers(&nodes), node_brokers(&nodes));
    }

    #[test]
    fn brokers_are_sorted_by_id_and_ids_stay_unique_even_when_names_hash_alike() {
        let nodes: Vec<Node> = (0..200).map(|i| node(&format!("rabbit@node-{i}"), true)).collect();
        let brokers = node_brokers(&nodes);
        assert_eq!(brokers.len(), 200);
        assert!(brokers.windows(2).all(|w| w[0].id < w[1].id), "not sorted or not unique");
        // The same name twice hashes alike: the later one takes the next free id.
        let listed = [node("rabbit@a", true), node("rabbit@a", false)];
        let twins = node_ids(&listed);
        let base = node_id("rabbit@a");
        assert_eq!(twins.iter().map(|(id, _)| *id).collect::<Vec<_>>(), [base, base + 1]);
        assert!(twins[0].1.running && !twins[1].1.running, "name order, then listing order");
    }
}
