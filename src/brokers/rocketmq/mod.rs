//! RocketMQ clusters over the remoting protocol: name servers for the broker table and topic list,
//! each master broker for topic configs, queue offsets, subscription groups and consume stats, and
//! every broker for its runtime stats. Queues map onto the generic snapshot's partitions.

pub mod admin;
pub mod bodies;
pub mod canary;
pub mod client;
pub mod lenient;
pub mod lookup;
pub mod message;
mod poll;
pub mod remoting;
pub mod trace;
pub mod version;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use self::remoting::{Command, Remoting, code, response};
use super::AdapterError;
use crate::domain::rocket::{
    BrokerRuntime, ConsumerClient, GroupSettings, MessageQueue, QueueProgress, QueueRoute,
    RocketBroker, RocketGroup, RocketSnapshot, RocketTopic, TopicClass, broker_ids,
};
use crate::domain::{
    Broker, ClusterSnapshot, CommittedOffset, ConsumerGroup, GroupMember, Millis, Partition, Topic,
};

/// Requests in flight at once per poll.
const CONCURRENCY: usize = 16;
/// Most "oldest unconsumed message" probes per poll; the rest wait for later polls (their lag in
/// seconds comes from the end-offset history meanwhile).
const MAX_PROBES_PER_POLL: usize = 256;
/// Groups the servers keep for themselves.
const SYSTEM_GROUPS: [&str; 7] = [
    "TOOLS_CONSUMER",
    "FILTERSRV_CONSUMER",
    "__MONITOR_CONSUMER",
    "CLIENT_INNER_PRODUCER",
    "SELF_TEST_P_GROUP",
    "SELF_TEST_C_GROUP",
    "CID_ONS-HTTP-PROXY",
];
/// Prefixes of system group names (`CID_ONSAPI_OWNER`, `CID_RMQ_SYS_…`).
const SYSTEM_GROUP_PREFIXES: [&str; 2] = ["CID_ONSAPI_", "CID_RMQ_SYS_"];

/// Whether a subscription group is one the servers keep for themselves.
pub(crate) fn is_system_group(name: &str) -> bool {
    SYSTEM_GROUPS.contains(&name) || SYSTEM_GROUP_PREFIXES.iter().any(|p| name.starts_with(p))
}
/// Permission bit of a writable queue.
const PERM_WRITE: i32 = 2;
/// Largest message body the brokers accept by default (`maxMessageSize`).
pub const MAX_MESSAGE_BYTES: usize = 4 * 1024 * 1024;

/// Connection settings of one RocketMQ cluster.
#[derive(Debug, Clone)]
pub struct RocketSettings {
    /// `host:port` of each name server.
    pub namesrv_addrs: Vec<String>,
    /// Remoting `host:port` of each RocketMQ 5 proxy, asked for the gRPC clients it serves.
    pub proxy_addrs: Vec<String>,
    pub timeout: Duration,
    /// ACL access and secret key.
    pub credentials: Option<(String, String)>,
}

pub struct RocketAdapter {
    cluster: String,
    settings: RocketSettings,
    remoting: Remoting,
    /// Round-robin position of test messages sent without a chosen queue.
    next_queue: std::sync::atomic::AtomicUsize,
    /// Store time of the message at a consumer offset: it never changes, so each is asked once.
    oldest_unconsumed: Mutex<HashMap<ProbeKey, Millis>>,
}

type ProbeKey = (String, String, String, i32, i64);

impl RocketGroup {
    /// Adds the clients of one connection list (a broker's, or `proxy`'s for its gRPC clients),
    /// once each, and the subscriptions and consume mode if not known yet.
    fn absorb(&mut self, connection: ConsumerConnection, proxy: Option<&str>) {
        for c in connection.connection_set {
            if self.clients.iter().any(|known| known.client_id == c.client_id) {
                continue;
            }
            self.clients.push(ConsumerClient {
                client_id: c.client_id,
                address: c.client_addr,
                language: poll::text_of(&c.language),
                version: version::version_text(&c.version),
                proxy: proxy.map(str::to_owned),
            });
        }
        self.clients.sort_by(|a, b| a.client_id.cmp(&b.client_id));
        for (topic, s) in connection.subscription_table {
            if !self.subscriptions.iter().any(|(known, _)| *known == topic) {
                self.subscriptions.push((topic, s.sub_string));
            }
        }
        self.consume_type = self.consume_type.take().or(connection.consume_type);
        self.message_model = self.message_model.take().or(connection.message_model);
    }
}

impl std::fmt::Debug for RocketAdapter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RocketAdapter")
            .field("namesrv_addrs", &self.settings.namesrv_addrs)
            .finish_non_exhaustive()
    }
}

// ---- bodies -------------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ClusterInfo {
    #[serde(default)]
    broker_addr_table: BTreeMap<String, BrokerData>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct BrokerData {
    #[serde(default)]
    cluster: String,
    broker_name: String,
    /// Broker id ("0" is the master) → address.
    #[serde(default)]
    broker_addrs: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct TopicList {
    #[serde(default)]
    topic_list: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct TopicConfigWrapper {
    #[serde(default)]
    topic_config_table: BTreeMap<String, TopicConfig>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct TopicConfig {
    #[serde(default)]
    read_queue_nums: i32,
    #[serde(default)]
    write_queue_nums: i32,
    #[serde(default)]
    perm: i32,
    #[serde(default)]
    order: bool,
    #[serde(default)]
    topic_sys_flag: i32,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct MessageQueueKey {
    topic: String,
    broker_name: String,
    queue_id: i32,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct TopicOffset {
    #[serde(default)]
    min_offset: i64,
    #[serde(default)]
    max_offset: i64,
    #[serde(default)]
    last_update_timestamp: i64,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct GroupWrapper {
    #[serde(default)]
    subscription_group_table: BTreeMap<String, serde_json::Value>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ConsumeStats {
    #[serde(default)]
    consume_tps: f64,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct OffsetWrapper {
    #[serde(default)]
    broker_offset: i64,
    #[serde(default)]
    consumer_offset: i64,
    #[serde(default)]
    last_timestamp: i64,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ConsumerConnection {
    #[serde(default)]
    connection_set: Vec<Connection>,
    #[serde(default)]
    subscription_table: BTreeMap<String, Subscription>,
    #[serde(default)]
    consume_type: Option<String>,
    #[serde(default)]
    message_model: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Connection {
    #[serde(default, rename = "clientId")]
    client_id: String,
    #[serde(default)]
    client_addr: String,
    #[serde(default)]
    language: serde_json::Value,
    #[serde(default)]
    version: serde_json::Value,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Subscription {
    #[serde(default)]
    sub_string: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct TopicRoute {
    #[serde(default)]
    queue_datas: Vec<QueueData>,
    #[serde(default)]
    broker_datas: Vec<BrokerData>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct QueueData {
    broker_name: String,
    #[serde(default)]
    read_queue_nums: i32,
    #[serde(default)]
    write_queue_nums: i32,
    #[serde(default)]
    perm: i32,
}

/// Where one message was stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    pub broker: String,
    pub queue_id: i32,
    pub queue_offset: Option<i64>,
    pub message_id: Option<String>,
}

#[derive(Debug, Deserialize)]
struct KvTable {
    #[serde(default)]
    table: HashMap<String, String>,
}

/// A body as `T`, read leniently; the error names the request.
fn body<T: DeserializeOwned>(what: &str, bytes: &[u8]) -> Result<T, AdapterError> {
    let value =
        lenient::parse(bytes).map_err(|e| AdapterError::Protocol(format!("{what}: {e}")))?;
    serde_path_to_error::deserialize(value)
        .map_err(|e| AdapterError::Protocol(format!("{what}: unexpected body: {e}")))
}

/// A map whose keys are message queues (`{"topic":…,"brokerName":…,"queueId":…}`, written as
/// objects or as JSON text) read into `(key, value)` pairs.
fn queue_table<T: DeserializeOwned>(
    what: &str,
    table: &serde_json::Value,
) -> Result<Vec<(MessageQueueKey, T)>, AdapterError> {
    let Some(table) = table.as_object() else { return Ok(Vec::new()) };
    table
        .iter()
        .map(|(key, value)| {
            let key: MessageQueueKey = serde_json::from_str(key).map_err(|e| {
                AdapterError::Protocol(format!("{what}: message queue key {key:?}: {e}"))
            })?;
            let value = T::deserialize(value)
                .map_err(|e| AdapterError::Protocol(format!("{what}: {e}")))?;
            Ok((key, value))
        })
        .collect()
}

fn timestamp(millis: i64) -> Option<Millis> {
    (millis > 0).then_some(millis)
}

fn split_host_port(address: &str) -> (String, u16) {
    match address.rsplit_once(':') {
        Some((host, port)) => (host.to_owned(), port.parse().unwrap_or(0)),
        None => (address.to_owned(), 0),
    }
}

/// Runtime figures from GET_BROKER_RUNTIME_INFO's table; rates are "10s 1min 10min" triples.
pub(crate) fn runtime_from(table: &HashMap<String, String>) -> BrokerRuntime {
    let number = |key: &str| table.get(key).and_then(|v| v.trim().parse::<u64>().ok());
    let first_rate = |key: &str| {
        table.get(key).and_then(|v| v.split_whitespace().next()).and_then(|v| v.parse::<f64>().ok())
    };
    let difference =
        |later: &str, earlier: &str| Some(number(later)?.saturating_sub(number(earlier)?));
    BrokerRuntime {
        version: table.get("brokerVersionDesc").cloned(),
        put_tps: first_rate("putTps"),
        // Older brokers misspell it; newer ones send both or only the right one.
        get_tps: first_rate("getTransferredTps").or_else(|| first_rate("getTransferedTps")),
        msg_put_today: difference("msgPutTotalTodayNow", "msgPutTotalTodayMorning"),
        msg_get_today: difference("msgGetTotalTodayNow", "msgGetTotalTodayMorning"),
        msg_put_yesterday: difference("msgPutTotalTodayMorning", "msgPutTotalYesterdayMorning"),
        msg_get_yesterday: difference("msgGetTotalTodayMorning", "msgGetTotalYesterdayMorning"),
        commitlog_disk_ratio: table.get("commitLogDiskRatio").and_then(|v| v.trim().parse().ok()),
        boot_at: table.get("bootTimestamp").and_then(|v| v.trim().parse().ok()).and_then(timestamp),
    }
}

/// RocketMQ clients' default queue allocation (AllocateMessageQueueAveragely): which of a topic's
/// queues (sorted) each client (sorted by id) consumes. Returns, per client, queue indexes.
pub(crate) fn allocate_averagely(queues: usize, clients: usize) -> Vec<Vec<usize>> {
    (0..clients)
        .map(|index| {
            if queues == 0 {
                return Vec::new();
            }
            let remainder = queues % clients;
            let average = if queues <= clients {
                1
            } else if remainder > 0 && index < remainder {
                queues / clients + 1
            } else {
                queues / clients
            };
            let start = if remainder > 0 && index < remainder {
                index * average
            } else {
                index * average + remainder
            };
            let range = average.min(queues.saturating_sub(start));
            (0..range).map(|i| (start + i) % queues).collect()
        })
        .collect()
}

impl RocketAdapter {
    /// The adapter of a `kind = "rocketmq"` cluster; the secret key may read `${ENV}`.
    pub fn from_cluster(
        cluster: &crate::config::ClusterConfig,
        rocket: &crate::config::RocketConnection,
    ) -> Result<Self, AdapterError> {
        let namesrv_addrs: Vec<String> = rocket.name_servers().map(str::to_owned).collect();
        if namesrv_addrs.is_empty() {
            return Err(AdapterError::Config("namesrv_addrs is empty".into()));
        }
        let credentials = match (&rocket.access_key, &rocket.secret_key) {
            (Some(access), Some(secret)) => {
                let secret = crate::secret::interpolate(secret.expose(), |n| std::env::var(n).ok())
                    .map_err(AdapterError::Config)?;
                Some((access.clone(), secret))
            }
            (None, None) => None,
            _ => return Err(AdapterError::Config("access_key and secret_key go together".into())),
        };
        let settings = RocketSettings {
            namesrv_addrs,
            proxy_addrs: rocket.proxies().map(str::to_owned).collect(),
            timeout: cluster.poll_timeout,
            credentials,
        };
        Ok(RocketAdapter { cluster: cluster.name.clone(), ..RocketAdapter::new(settings) })
    }

    pub fn new(settings: RocketSettings) -> RocketAdapter {
        RocketAdapter {
            cluster: String::new(),
            remoting: Remoting::new(settings.timeout, settings.credentials.clone()),
            settings,
            next_queue: std::sync::atomic::AtomicUsize::new(0),
            oldest_unconsumed: Mutex::default(),
        }
    }

    pub fn remoting(&self) -> &Remoting {
        &self.remoting
    }

    /// Asks the name servers in turn until one answers successfully.
    async fn namesrv_call(&self, request: Command) -> Result<(String, Command), AdapterError> {
        let mut last_error = AdapterError::Config("no name server".into());
        for address in &self.settings.namesrv_addrs {
            match self.remoting.call_ok(address, request.clone()).await {
                Ok(response) => return Ok((address.clone(), response)),
                Err(e) => last_error = e,
            }
        }
        Err(last_error)
    }

    /// The broker table from the name server: every broker, masters and slaves.
    pub async fn brokers(&self) -> Result<(String, Vec<RocketBroker>), AdapterError> {
        let (namesrv, reply) =
            self.namesrv_call(Command::request(code::GET_BROKER_CLUSTER_INFO)).await?;
        let info: ClusterInfo = body("broker cluster info", &reply.body)?;
        let mut brokers: Vec<RocketBroker> = info
            .broker_addr_table
            .into_values()
            .flat_map(|data| {
                let (cluster, name) = (data.cluster, data.broker_name);
                data.broker_addrs.into_iter().map(move |(id, address)| RocketBroker {
                    cluster: cluster.clone(),
                    name: name.clone(),
                    broker_id: id.parse().unwrap_or(-1),
                    address,
                    runtime: None,
                    error: None,
                })
            })
            .collect();
        brokers.sort_by(|a, b| (&a.name, a.broker_id).cmp(&(&b.name, b.broker_id)));
        Ok((namesrv, brokers))
    }

    async fn runtime(&self, address: &str) -> Result<BrokerRuntime, AdapterError> {
        let reply =
            self.remoting.call_ok(address, Command::request(code::GET_BROKER_RUNTIME_INFO)).await?;
        let table: KvTable = body("broker runtime info", &reply.body)?;
        Ok(runtime_from(&table.table))
    }

    async fn topic_configs(
        &self,
        address: &str,
    ) -> Result<BTreeMap<String, TopicConfig>, AdapterError> {
        let reply =
            self.remoting.call_ok(address, Command::request(code::GET_ALL_TOPIC_CONFIG)).await?;
        Ok(body::<TopicConfigWrapper>("topic configs", &reply.body)?.topic_config_table)
    }

    async fn topic_offsets(
        &self,
        address: &str,
        topic: &str,
    ) -> Result<Vec<(MessageQueueKey, TopicOffset)>, AdapterError> {
        let request = Command::request(code::GET_TOPIC_STATS_INFO).field("topic", topic);
        let reply = self.remoting.call(address, request).await?;
        if reply.code == response::TOPIC_NOT_EXIST {
            return Ok(Vec::new());
        }
        if reply.code != response::SUCCESS {
            return Err(remoting::refused(address, code::GET_TOPIC_STATS_INFO, &reply));
        }
        let value = lenient::parse(&reply.body)
            .map_err(|e| AdapterError::Protocol(format!("topic stats of {topic}: {e}")))?;
        queue_table("topic stats", &value["offsetTable"])
    }

    /// The broker's subscription groups with their settings (defaults where unreadable).
    async fn group_settings(
        &self,
        address: &str,
    ) -> Result<Vec<(String, GroupSettings)>, AdapterError> {
        let reply = self
            .remoting
            .call_ok(address, Command::request(code::GET_ALL_SUBSCRIPTIONGROUP_CONFIG))
            .await?;
        Ok(body::<GroupWrapper>("subscription groups", &reply.body)?
            .subscription_group_table
            .into_iter()
            .map(|(name, config)| (name, GroupSettings::deserialize(config).unwrap_or_default()))
            .collect())
    }

    /// The group's consume stats on one broker: for every topic it has offsets of there, or for
    /// `topic` alone (then for every queue of it, offsets or not).
    async fn consume_stats(
        &self,
        address: &str,
        group: &str,
        topic: Option<&str>,
    ) -> Result<(f64, Vec<(MessageQueueKey, OffsetWrapper)>), AdapterError> {
        let mut request = Command::request(code::GET_CONSUME_STATS).field("consumerGroup", group);
        if let Some(topic) = topic {
            request = request.field("topic", topic);
        }
        let reply = self.remoting.call_ok(address, request).await?;
        let value = lenient::parse(&reply.body)
            .map_err(|e| AdapterError::Protocol(format!("consume stats of {group}: {e}")))?;
        let tps = ConsumeStats::deserialize(&value).map(|s| s.consume_tps).unwrap_or(0.0);
        Ok((tps, queue_table("consume stats", &value["offsetTable"])?))
    }

    async fn connections(
        &self,
        address: &str,
        group: &str,
    ) -> Result<Option<ConsumerConnection>, AdapterError> {
        let request =
            Command::request(code::GET_CONSUMER_CONNECTION_LIST).field("consumerGroup", group);
        let reply = self.remoting.call(address, request).await?;
        match reply.code {
            response::SUCCESS => body("consumer connections", &reply.body).map(Some),
            response::CONSUMER_NOT_ONLINE => Ok(None),
            _ => Err(remoting::refused(address, code::GET_CONSUMER_CONNECTION_LIST, &reply)),
        }
    }

    /// Store time of the message at `offset` of a queue, read by pulling that one message without
    /// committing anything. `None` when the queue holds no message there.
    pub async fn store_time_at(
        &self,
        address: &str,
        group: &str,
        topic: &str,
        queue_id: i32,
        offset: i64,
    ) -> Result<Option<Millis>, AdapterError> {
        let request = message::pull_request(group, topic, queue_id, offset, 1);
        let reply = self.remoting.call(address, request).await?;
        match reply.code {
            response::SUCCESS => Ok(message::decode_all(&reply.body)
                .map_err(|e| AdapterError::Protocol(format!("pulled message: {e}")))?
                .into_iter()
                .find(|m| m.queue_offset >= offset)
                .map(|m| m.store_timestamp)),
            response::PULL_NOT_FOUND
            | response::PULL_RETRY_IMMEDIATELY
            | response::PULL_OFFSET_MOVED => Ok(None),
            _ => Err(remoting::refused(address, code::PULL_MESSAGE, &reply)),
        }
    }

    /// The queues a producer may write to, from the name server's route: `(broker name, master
    /// address, queue id)`, sorted.
    pub async fn writable_queues(
        &self,
        topic: &str,
    ) -> Result<Vec<(String, String, i32)>, AdapterError> {
        let mut queues = Vec::new();
        for route in self.route(topic).await?.iter().filter(|r| r.perm & PERM_WRITE != 0) {
            if let Some(address) = &route.master {
                queues.extend(
                    (0..route.write_queues).map(|q| (route.broker.clone(), address.clone(), q)),
                );
            }
        }
        queues.sort();
        Ok(queues)
    }

    /// The topic's route as the name server has it now (GET_ROUTEINFO_BY_TOPIC): per broker,
    /// read and write queue counts, permission and master address. Sorted by broker.
    pub async fn route(&self, topic: &str) -> Result<Vec<QueueRoute>, AdapterError> {
        let request = Command::request(code::GET_ROUTEINFO_BY_TOPIC).field("topic", topic);
        let (_, reply) = self.namesrv_call(request).await?;
        Self::routes_of(&reply)
    }

    /// The topic's route, or `None` when the name servers know no such topic (a group's
    /// dead-letter topic exists only once a first message died).
    pub async fn route_if_exists(
        &self,
        topic: &str,
    ) -> Result<Option<Vec<QueueRoute>>, AdapterError> {
        let request = Command::request(code::GET_ROUTEINFO_BY_TOPIC).field("topic", topic);
        let mut last_error = AdapterError::Config("no name server".into());
        for address in &self.settings.namesrv_addrs {
            match self.remoting.call(address, request.clone()).await {
                Ok(reply) if reply.code == response::TOPIC_NOT_EXIST => return Ok(None),
                Ok(reply) if reply.code == response::SUCCESS => {
                    return Self::routes_of(&reply).map(Some);
                }
                Ok(reply) => last_error = remoting::refused(address, request.code, &reply),
                Err(e) => last_error = e,
            }
        }
        Err(last_error)
    }

    fn routes_of(reply: &Command) -> Result<Vec<QueueRoute>, AdapterError> {
        let route: TopicRoute = body("topic route", &reply.body)?;
        let mut routes: Vec<QueueRoute> = route
            .queue_datas
            .iter()
            .map(|data| QueueRoute {
                broker: data.broker_name.clone(),
                master: route
                    .broker_datas
                    .iter()
                    .find(|b| b.broker_name == data.broker_name)
                    .and_then(|b| b.broker_addrs.get("0").cloned()),
                read_queues: data.read_queue_nums,
                write_queues: data.write_queue_nums,
                perm: data.perm,
            })
            .collect();
        routes.sort_by(|a, b| a.broker.cmp(&b.broker));
        Ok(routes)
    }

    /// Sends one test message to `target` (broker name, queue id), or round-robin over the
    /// writable queues. Sizes are checked before anything is sent.
    pub async fn send(
        &self,
        outgoing: &message::Outgoing,
        target: Option<(&str, i32)>,
        now: Millis,
    ) -> Result<Stored, AdapterError> {
        let size = outgoing.body.len()
            + outgoing.properties.iter().map(|(k, v)| k.len() + v.len() + 2).sum::<usize>();
        if size > MAX_MESSAGE_BYTES {
            return Err(AdapterError::Config(format!(
                "the message takes {size} bytes; brokers accept at most {MAX_MESSAGE_BYTES} (maxMessageSize)"
            )));
        }
        let queues = self.writable_queues(&outgoing.topic).await?;
        let chosen = match target {
            Some((broker, queue_id)) => queues
                .iter()
                .find(|(name, _, q)| name == broker && *q == queue_id)
                .ok_or_else(|| {
                    AdapterError::Config(format!(
                        "queue {broker}:{queue_id} of {} is not writable",
                        outgoing.topic
                    ))
                })?,
            None => {
                if queues.is_empty() {
                    return Err(AdapterError::Config(format!(
                        "topic {} has no writable queue",
                        outgoing.topic
                    )));
                }
                let at = self.next_queue.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                &queues[at % queues.len()]
            }
        };
        let (broker, address, queue_id) = chosen;
        let mut id = [0u8; 16];
        getrandom::fill(&mut id).map_err(|e| AdapterError::Config(format!("message id: {e}")))?;
        let request = message::send_request(outgoing, *queue_id, &hex::encode_upper(id), now);
        let reply = self.remoting.call_ok(address, request).await?;
        Ok(Stored {
            broker: broker.clone(),
            queue_id: reply
                .ext_fields
                .get("queueId")
                .and_then(|q| q.parse().ok())
                .unwrap_or(*queue_id),
            queue_offset: reply.ext_fields.get("queueOffset").and_then(|o| o.parse().ok()),
            message_id: reply.ext_fields.get("msgId").cloned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_groups_are_left_out() {
        for name in ["TOOLS_CONSUMER", "CID_ONSAPI_OWNER", "CID_ONSAPI_PULL", "CID_RMQ_SYS_TRANS"] {
            assert!(is_system_group(name), "{name}");
        }
        assert!(!is_system_group("billing") && !is_system_group("CID_billing"));
    }

    #[test]
    fn the_default_allocation_spreads_queues_like_the_java_client() {
        assert_eq!(allocate_averagely(8, 3), vec![vec![0, 1, 2], vec![3, 4, 5], vec![6, 7]]);
        assert_eq!(allocate_averagely(4, 2), vec![vec![0, 1], vec![2, 3]]);
        assert_eq!(allocate_averagely(2, 3), vec![vec![0], vec![1], vec![]]);
        assert_eq!(allocate_averagely(0, 2), vec![Vec::<usize>::new(), vec![]]);
        assert_eq!(allocate_averagely(5, 1), vec![vec![0, 1, 2, 3, 4]]);
    }

    #[test]
    fn runtime_stats_read_both_spellings_and_daily_counts() {
        let table: HashMap<String, String> = [
            ("brokerVersionDesc", "V5_3_1"),
            ("putTps", "12.5 10.0 8.0"),
            ("getTransferedTps", "3.0 2.0 1.0"),
            ("msgPutTotalTodayNow", "1500"),
            ("msgPutTotalTodayMorning", "1000"),
            ("msgPutTotalYesterdayMorning", "400"),
            ("msgGetTotalTodayNow", "900"),
            ("msgGetTotalTodayMorning", "900"),
            ("commitLogDiskRatio", "0.25"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let runtime = runtime_from(&table);
        assert_eq!(runtime.version.as_deref(), Some("V5_3_1"));
        assert_eq!((runtime.put_tps, runtime.get_tps), (Some(12.5), Some(3.0)));
        assert_eq!((runtime.msg_put_today, runtime.msg_put_yesterday), (Some(500), Some(600)));
        assert_eq!((runtime.msg_get_today, runtime.msg_get_yesterday), (Some(0), None));
        assert_eq!(runtime.commitlog_disk_ratio, Some(0.25));
        let mut newer = table.clone();
        newer.insert("getTransferredTps".into(), "7.0 6.0 5.0".into());
        assert_eq!(runtime_from(&newer).get_tps, Some(7.0), "the right spelling wins");
    }

    #[test]
    fn queue_tables_take_object_and_text_keys() {
        let fastjson = lenient::parse(
            br#"{"offsetTable":{{"brokerName":"b","queueId":1,"topic":"t"}:{"brokerOffset":9,"consumerOffset":4,"lastTimestamp":1700000000000}}}"#,
        )
        .unwrap();
        let rows: Vec<(MessageQueueKey, OffsetWrapper)> =
            queue_table("consume stats", &fastjson["offsetTable"]).unwrap();
        assert_eq!(
            (rows[0].0.queue_id, rows[0].1.broker_offset, rows[0].1.consumer_offset),
            (1, 9, 4)
        );
        let text_keys = lenient::parse(
            br#"{"offsetTable":{"{\"topic\":\"t\",\"brokerName\":\"b\",\"queueId\":0}":{"minOffset":0,"maxOffset":3,"lastUpdateTimestamp":5}}}"#,
        )
        .unwrap();
        let rows: Vec<(MessageQueueKey, TopicOffset)> =
            queue_table("topic stats", &text_keys["offsetTable"]).unwrap();
        assert_eq!((rows[0].0.topic.as_str(), rows[0].1.max_offset), ("t", 3));
        let garbage = serde_json::json!({"not a queue": {}});
        assert!(queue_table::<TopicOffset>("topic stats", &garbage).is_err());
    }
}
