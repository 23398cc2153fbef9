//! ActiveMQ clusters, Classic and Artemis, through each broker's Jolokia: brokers, queues and
//! topics as one queue snapshot (a destination is scoped by its broker), memory and store use,
//! and the operator actions — send a text message, browse, purge — on the configured brokers.

mod artemis;
mod classic;
mod jolokia;

use std::collections::BTreeMap;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

pub use jolokia::parse_bulk;

use self::jolokia::{Answer, Jolokia};
use super::AdapterError;
use crate::config::{ActivemqConnection, ActivemqFlavor, ClusterConfig};
use crate::domain::queue::{
    ClusterMember, Node, ObjectTotals, Overview, Queue, QueueSnapshot, RateMeter, Rates, Usage,
    node_ids,
};
use crate::domain::{Broker, ClusterKind, ClusterSnapshot, Millis};

/// Largest text message an operator sends.
pub const MAX_SEND_BYTES: usize = 1024 * 1024;
/// Most messages one browse shows.
pub const MAX_BROWSE: usize = 100;
/// Longest part of a browsed message's text shown.
const SHOWN_TEXT_CHARS: usize = 64 * 1024;

/// The clients of one ActiveMQ cluster: a Jolokia endpoint per broker.
pub struct ActivemqAdapter {
    cluster: String,
    brokers: Vec<BrokerClient>,
    meter: Mutex<RateMeter>,
}

struct BrokerClient {
    jolokia: Jolokia,
    known: Mutex<Known>,
}

/// What an endpoint has told about its broker so far.
#[derive(Debug, Clone, Default)]
struct Known {
    flavor: Option<ActivemqFlavor>,
    /// The broker's name, kept while it is down so its node keeps its id.
    name: Option<String>,
    /// Artemis: the broker's MBean, its queues' operations and listing are asked of.
    broker_mbean: Option<String>,
}

/// One broker at one poll, whatever the flavor.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct BrokerReading {
    pub name: String,
    pub version: String,
    pub runtime_version: String,
    pub uptime_millis: Option<u64>,
    pub connections: u64,
    pub consumers: u64,
    /// Messages the broker took in and handed out since it started.
    pub enqueued: u64,
    pub dequeued: u64,
    pub usage: Usage,
    /// A Classic slave or an Artemis backup: waiting to take over, serving nothing.
    pub backup: bool,
    pub destinations: Vec<Destination>,
    pub topology: Vec<ClusterMember>,
}

/// A queue or topic (Classic) or a queue (Artemis) at one poll.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Destination {
    /// Its MBean's name, for operations on it.
    pub mbean: String,
    pub name: String,
    /// `queue` or `topic` (Classic), `anycast` or `multicast` (Artemis).
    pub kind: &'static str,
    /// Every message it holds, in flight and scheduled ones included.
    pub messages: u64,
    /// Delivered to a consumer and not yet acknowledged.
    pub in_flight: u64,
    /// Held back until a set time (Artemis).
    pub scheduled: u64,
    pub consumers: u64,
    /// Counters: messages added and acknowledged (dequeued) since the broker started.
    pub added: u64,
    pub acknowledged: u64,
    pub paused: bool,
}

impl Destination {
    /// Whether messages can be sent to, browsed in and purged from it: a queue.
    fn is_queue(&self) -> bool {
        matches!(self.kind, "queue" | "anycast" | "multicast")
    }
}

/// A text message to send.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Send {
    pub body: String,
    /// String properties set on the message.
    #[serde(default)]
    pub properties: BTreeMap<String, String>,
    /// Kept on disk by the broker (the default), or in memory only.
    #[serde(default = "persistent_by_default")]
    pub persistent: bool,
}

fn persistent_by_default() -> bool {
    true
}

/// A message as a browse shows it; browsing takes nothing.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BrowsedMessage {
    pub id: String,
    /// When it was sent, as the broker says it.
    pub timestamp: String,
    pub properties: BTreeMap<String, String>,
    /// Its text (cut at 65,536 characters), or `None` when it is not a text message.
    pub text: Option<String>,
    /// Another kind of message's first bytes as the broker previews them, read as UTF-8.
    pub preview: Option<String>,
    pub persistent: Option<bool>,
}

impl ActivemqAdapter {
    pub fn from_cluster(
        cluster: &ClusterConfig,
        activemq: &ActivemqConnection,
    ) -> Result<ActivemqAdapter, AdapterError> {
        let http = super::management_client(cluster.poll_timeout, activemq.tls_ca_file.as_deref())?;
        let login = match (&activemq.username, &activemq.password) {
            (Some(user), Some(password)) => {
                let password =
                    crate::secret::interpolate(password.expose(), |n| std::env::var(n).ok())
                        .map_err(AdapterError::Config)?;
                Some((user.clone(), crate::secret::Secret::new(password)))
            }
            _ => None,
        };
        let brokers = activemq
            .urls()
            .map(|url| {
                let jolokia = Jolokia::new(http.clone(), url, login.clone(), cluster.poll_timeout)?;
                let known = Known { flavor: activemq.flavor, ..Known::default() };
                Ok(BrokerClient { jolokia, known: Mutex::new(known) })
            })
            .collect::<Result<_, AdapterError>>()?;
        Ok(ActivemqAdapter {
            cluster: cluster.name.clone(),
            brokers,
            meter: Mutex::new(RateMeter::default()),
        })
    }

    /// What each configured broker is called on pages, in rules and in actions, in
    /// configuration order: its name as last seen (before it answered, its endpoint's address);
    /// a name that two brokers share (Classic's default is `localhost`) or an empty one gets the
    /// address too, `name@host:port`, so no two brokers' queues, rates or actions mix.
    pub fn broker_names(&self) -> Vec<String> {
        let names: Vec<Option<String>> = self.brokers.iter().map(|b| b.known().name).collect();
        let shared = |name: &str| names.iter().flatten().filter(|n| *n == name).count() > 1;
        self.brokers
            .iter()
            .zip(&names)
            .map(|(broker, name)| match name {
                Some(name) if !name.is_empty() && !shared(name) => name.clone(),
                Some(name) if !name.is_empty() => format!("{name}@{}", broker.jolokia.address()),
                _ => broker.jolokia.address().to_owned(),
            })
            .collect()
    }

    /// Every broker's figures and destinations; an error only when no broker answered.
    pub async fn queue_snapshot(&self, now: Millis) -> Result<QueueSnapshot, AdapterError> {
        let readings = futures::future::join_all(self.brokers.iter().map(BrokerClient::read)).await;
        if readings.iter().all(Result::is_err) {
            if let Some(Err(first)) = readings.into_iter().next() {
                return Err(first);
            }
            return Err(AdapterError::Config("the cluster names no broker".into()));
        }
        // Names are labelled after the reads, which may have learnt a name.
        let names = self.broker_names();
        let flavors: Vec<Option<ActivemqFlavor>> =
            self.brokers.iter().map(|b| b.known().flavor).collect();
        let mut meter = self.meter.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let snapshot = snapshot_from(&names, &flavors, &readings, now, &mut meter);
        meter.forget_unread(now);
        Ok(snapshot)
    }

    /// The configured broker called `name` (as [`ActivemqAdapter::broker_names`] calls it).
    fn broker(&self, name: &str) -> Result<&BrokerClient, AdapterError> {
        let names = self.broker_names();
        let index = names.iter().position(|n| n == name);
        index.map(|i| &self.brokers[i]).ok_or_else(|| {
            AdapterError::Config(format!(
                "{} is not one of this cluster's brokers ({})",
                crate::domain::clipped(name),
                self.broker_names().join(", ")
            ))
        })
    }

    /// Sends a text message to queue `queue` on broker `broker`; the id the broker gave it.
    pub async fn send(
        &self,
        broker: &str,
        queue: &str,
        message: &Send,
    ) -> Result<String, AdapterError> {
        if message.body.len() > MAX_SEND_BYTES {
            return Err(AdapterError::Config(format!(
                "a message of {} bytes is larger than {MAX_SEND_BYTES} bytes",
                message.body.len()
            )));
        }
        let (client, flavor, destination) = self.queue(broker, queue).await?;
        let mbean = destination.mbean;
        let mut headers: serde_json::Map<String, Value> =
            message.properties.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
        let request = match flavor {
            ActivemqFlavor::Classic => {
                let mode = if message.persistent { "2" } else { "1" };
                headers.insert("JMSDeliveryMode".into(), json!(mode));
                jolokia::exec(&mbean, classic::SEND, json!([headers, message.body]), 1)
            }
            ActivemqFlavor::Artemis => {
                let arguments = json!([
                    headers,
                    artemis::TEXT_MESSAGE,
                    message.body,
                    message.persistent,
                    null,
                    null
                ]);
                jolokia::exec(&mbean, artemis::SEND, arguments, 1)
            }
        };
        let id = client.jolokia.one(request).await?;
        Ok(id.as_str().map(str::to_owned).unwrap_or_else(|| id.to_string()))
    }

    /// The first `limit` (at most [`MAX_BROWSE`]) messages of `queue`, left where they are.
    pub async fn browse(
        &self,
        broker: &str,
        queue: &str,
        limit: usize,
    ) -> Result<Vec<BrowsedMessage>, AdapterError> {
        let limit = limit.clamp(1, MAX_BROWSE);
        let (client, flavor, destination) = self.queue(broker, queue).await?;
        let mbean = destination.mbean;
        let request = match flavor {
            ActivemqFlavor::Classic => jolokia::exec(&mbean, classic::BROWSE, json!([]), limit),
            ActivemqFlavor::Artemis => {
                jolokia::exec(&mbean, artemis::BROWSE, json!([1, limit]), limit)
            }
        };
        let answer = client.jolokia.one(request).await?;
        let messages = answer.as_array().ok_or_else(|| {
            AdapterError::Protocol(format!("{}: a browse answered no list", client.jolokia.url()))
        })?;
        Ok(messages.iter().take(limit).map(browsed).collect())
    }

    /// Deletes every message of `queue` that no consumer holds; how many (Classic does not
    /// say: the messages it held that were not in flight just before).
    pub async fn purge(&self, broker: &str, queue: &str) -> Result<u64, AdapterError> {
        let (client, flavor, destination) = self.queue(broker, queue).await?;
        let mbean = destination.mbean;
        match flavor {
            ActivemqFlavor::Classic => {
                client.jolokia.one(jolokia::exec(&mbean, classic::PURGE, json!([]), 1)).await?;
                Ok(destination.messages.saturating_sub(destination.in_flight))
            }
            ActivemqFlavor::Artemis => {
                let request = jolokia::exec(&mbean, artemis::PURGE, json!([]), 1);
                let removed = client.jolokia.one(request).await?;
                Ok(removed.as_u64().unwrap_or(0))
            }
        }
    }

    /// The broker, its flavor and its queue `queue` as read now (so the name is matched
    /// exactly as the broker registered it, whatever characters it holds). Refused when the
    /// endpoint now answers as another broker (an address behind a load balancer or moved to a
    /// fail-over): the action would land elsewhere.
    async fn queue(
        &self,
        broker: &str,
        queue: &str,
    ) -> Result<(&BrokerClient, ActivemqFlavor, Destination), AdapterError> {
        let client = self.broker(broker)?;
        let expected = client.known().name;
        let reading = client.read().await?;
        if expected.as_ref().is_some_and(|name| *name != reading.name) {
            return Err(AdapterError::Protocol(format!(
                "{} now answers as broker {}, not {}: try again after the next poll",
                client.jolokia.url(),
                crate::domain::clipped(&reading.name),
                crate::domain::clipped(broker)
            )));
        }
        let flavor = client.known().flavor.unwrap_or(ActivemqFlavor::Classic);
        let found = reading.destinations.into_iter().find(|d| d.name == queue && d.is_queue());
        let destination = found.ok_or_else(|| {
            AdapterError::Config(format!(
                "broker {} has no queue {}",
                crate::domain::clipped(broker),
                crate::domain::clipped(queue)
            ))
        })?;
        Ok((client, flavor, destination))
    }
}

impl BrokerClient {
    fn known(&self) -> Known {
        self.known.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    /// The broker as it is now; the flavor is found out on the first read.
    async fn read(&self) -> Result<BrokerReading, AdapterError> {
        let flavor = match self.known().flavor {
            Some(flavor) => flavor,
            None => self.flavor().await?,
        };
        let failed = |e: String| AdapterError::Protocol(format!("{}: {e}", self.jolokia.url()));
        let reading = match flavor {
            ActivemqFlavor::Classic => {
                classic::reading(self.jolokia.bulk(&classic::requests()).await?).map_err(failed)?
            }
            ActivemqFlavor::Artemis => {
                let read = self.read_artemis().await;
                if read.is_err() {
                    // The broker may have been renamed: look its MBean up again next time.
                    self.known
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .broker_mbean = None;
                }
                read?
            }
        };
        let mut known = self.known.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        known.flavor = Some(flavor);
        known.name = Some(reading.name.clone());
        Ok(reading)
    }

    /// An Artemis broker: its figures, topology and the first page of its queues in one round
    /// trip (its MBean found once by a search), the further pages in a second.
    async fn read_artemis(&self) -> Result<BrokerReading, AdapterError> {
        let failed = |e: String| AdapterError::Protocol(format!("{}: {e}", self.jolokia.url()));
        let mbean = match self.known().broker_mbean {
            Some(mbean) => mbean,
            None => {
                let search = self.jolokia.bulk(&[jolokia::search(artemis::BROKERS)]).await?;
                let found = search.first().and_then(artemis::broker_mbean);
                let mbean = found.ok_or_else(|| {
                    failed("no ActiveMQ Artemis broker is registered in this JVM".into())
                })?;
                self.known.lock().unwrap_or_else(std::sync::PoisonError::into_inner).broker_mbean =
                    Some(mbean.clone());
                mbean
            }
        };
        let answers = self.jolokia.bulk(&artemis::requests(&mbean)).await?;
        let (mut reading, total) = artemis::reading(&mbean, answers).map_err(failed)?;
        let pages = usize::try_from(total).unwrap_or(usize::MAX).div_ceil(artemis::PAGE);
        if pages > 1 {
            let more: Vec<Value> = (2..=pages.min(artemis::MAX_PAGES))
                .map(|page| artemis::page_request(&mbean, page))
                .collect();
            for answer in self.jolokia.bulk(&more).await? {
                let (queues, _) =
                    artemis::queues(&mbean, &answer.map_err(failed)?).map_err(failed)?;
                reading.destinations.extend(queues);
            }
        }
        reading.destinations.sort_by(|a, b| (&a.name, a.kind).cmp(&(&b.name, b.kind)));
        Ok(reading)
    }

    /// Which ActiveMQ answers behind this Jolokia, from the broker MBeans it registers.
    async fn flavor(&self) -> Result<ActivemqFlavor, AdapterError> {
        let requests = [jolokia::search(classic::BROKERS), jolokia::search(artemis::BROKERS)];
        let answers = self.jolokia.bulk(&requests).await?;
        let found = |answer: &Answer| {
            answer.as_ref().ok().and_then(Value::as_array).is_some_and(|names| !names.is_empty())
        };
        match (found(&answers[0]), found(&answers[1])) {
            (_, true) => Ok(ActivemqFlavor::Artemis),
            (true, false) => Ok(ActivemqFlavor::Classic),
            (false, false) => Err(AdapterError::Protocol(format!(
                "{}: neither an ActiveMQ Classic nor an Artemis broker is registered behind \
                 this Jolokia",
                self.jolokia.url()
            ))),
        }
    }
}

/// The MBeans of a pattern read, `(name, attributes)`, in name order.
pub(crate) fn mbeans(value: &Value) -> impl Iterator<Item = (&str, &Value)> {
    let mut found: Vec<(&str, &Value)> = value
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(_, attributes)| attributes.is_object())
        .map(|(name, attributes)| (name.as_str(), attributes))
        .collect();
    found.sort_by_key(|(name, _)| *name);
    found.into_iter()
}

pub(crate) fn count(attributes: &Value, key: &str) -> u64 {
    let value = attributes.get(key);
    value
        .and_then(Value::as_u64)
        .or_else(|| value.and_then(Value::as_f64).filter(|v| *v >= 0.0).map(|v| v as u64))
        .unwrap_or(0)
}

pub(crate) fn percent(attributes: &Value, key: &str) -> Option<f64> {
    attributes.get(key).and_then(Value::as_f64).filter(|v| v.is_finite() && *v >= 0.0)
}

pub(crate) fn text(attributes: &Value, key: &str) -> String {
    attributes.get(key).and_then(Value::as_str).unwrap_or_default().to_owned()
}

/// The JVM the broker runs on.
pub(crate) fn runtime_request() -> Value {
    jolokia::read("java.lang:type=Runtime", &["VmVersion"])
}

pub(crate) fn runtime_version(answer: Answer) -> String {
    let version = answer.ok().map(|v| text(&v, "VmVersion")).unwrap_or_default();
    if version.is_empty() { version } else { format!("Java {version}") }
}

/// A browsed message of either flavor (Classic names its fields JMS-style, Artemis in
/// lower camel case).
fn browsed(message: &Value) -> BrowsedMessage {
    let field = |keys: &[&str]| keys.iter().find_map(|k| message.get(*k).filter(|v| !v.is_null()));
    let shown = |v: &Value| v.as_str().map(str::to_owned).unwrap_or_else(|| v.to_string());
    let mut properties = BTreeMap::new();
    for (kind, values) in message.as_object().into_iter().flatten() {
        if !kind.ends_with("Properties") {
            continue;
        }
        for (key, value) in values.as_object().into_iter().flatten() {
            properties.insert(key.clone(), shown(value));
        }
    }
    let text = field(&["Text", "text"]).and_then(Value::as_str).map(|text| {
        match text.char_indices().nth(SHOWN_TEXT_CHARS) {
            Some((cut, _)) => format!("{}…", &text[..cut]),
            None => text.to_owned(),
        }
    });
    let preview = field(&["BodyPreview"]).and_then(Value::as_array).map(|bytes| {
        // Java's bytes are signed: -1 is 0xff.
        let bytes: Vec<u8> = bytes.iter().filter_map(Value::as_i64).map(|b| b as u8).collect();
        String::from_utf8_lossy(&bytes).into_owned()
    });
    let persistent = match field(&["JMSDeliveryMode"]) {
        Some(mode) => Some(mode.as_str() == Some("PERSISTENT")),
        None => field(&["durable"]).and_then(Value::as_bool),
    };
    BrowsedMessage {
        id: field(&["JMSMessageID", "messageID"]).map(shown).unwrap_or_default(),
        timestamp: field(&["JMSTimestamp", "timestamp"]).map(shown).unwrap_or_default(),
        properties,
        preview: if text.is_some() { None } else { preview },
        text,
        persistent,
    }
}

/// A Jolokia bulk answer read every way a poll or an action reads one (the fuzzers' entry):
/// as either flavor's poll, and each listed value as a browsed message or a topology.
pub(crate) fn read_every_way(body: &[u8]) {
    for expected in [1, 2, 3, 4] {
        let Ok(answers) = parse_bulk(body, expected) else { continue };
        for value in answers.iter().flatten() {
            value.as_array().into_iter().flatten().for_each(|m| drop(browsed(m)));
            let _ = artemis::topology(value);
        }
        for value in answers.iter().flatten() {
            let _ = artemis::queues("broker", value);
        }
        match expected {
            3 => drop(classic::reading(answers)),
            4 => drop(artemis::reading("broker", answers)),
            _ => {}
        }
    }
}

/// The snapshot of the brokers that answered (the others listed as nodes that are down), with
/// rates from the growth of each counter since the previous poll.
fn snapshot_from(
    names: &[String],
    flavors: &[Option<ActivemqFlavor>],
    readings: &[Result<BrokerReading, AdapterError>],
    now: Millis,
    meter: &mut RateMeter,
) -> QueueSnapshot {
    let mut nodes = Vec::new();
    let mut queues = Vec::new();
    let mut versions: Vec<String> = Vec::new();
    let mut products: Vec<&str> = Vec::new();
    let mut runtimes: Vec<String> = Vec::new();
    let mut topology: Vec<ClusterMember> = Vec::new();
    let mut seen_members = std::collections::HashSet::new();
    let mut totals = ObjectTotals::default();
    let (mut publish, mut acknowledge) = (Some(0.0), Some(0.0));
    for ((name, flavor), reading) in names.iter().zip(flavors).zip(readings) {
        let product = match flavor {
            Some(ActivemqFlavor::Artemis) => "ActiveMQ Artemis",
            _ => "ActiveMQ Classic",
        };
        let Ok(reading) = reading else {
            nodes.push(Node { name: name.clone(), running: false, ..Node::default() });
            continue;
        };
        for (list, item) in
            [(&mut versions, &reading.version), (&mut runtimes, &reading.runtime_version)]
        {
            if !item.is_empty() && !list.contains(item) {
                list.push(item.clone());
            }
        }
        if !products.contains(&product) {
            products.push(product);
        }
        for member in &reading.topology {
            if seen_members.insert(member.node_id.clone()) {
                topology.push(member.clone());
            }
        }
        let full = |percent: Option<f64>| percent.is_some_and(|p| p >= 100.0);
        nodes.push(Node {
            name: name.clone(),
            running: true,
            mem_alarm: full(reading.usage.memory_percent),
            disk_free_alarm: full(reading.usage.store_percent),
            uptime: reading.uptime_millis,
            usage: Some(reading.usage),
            backup: reading.backup,
            ..Node::default()
        });
        totals.connections += reading.connections;
        totals.consumers += reading.consumers;
        let key = format!("{name}\n");
        let broker_publish = meter.rate(&key, now, reading.enqueued);
        let broker_acknowledge = meter.rate(&format!("{key}-"), now, reading.dequeued);
        publish = publish.zip(broker_publish).map(|(a, b)| a + b);
        acknowledge = acknowledge.zip(broker_acknowledge).map(|(a, b)| a + b);
        queues.extend(reading.destinations.iter().map(|d| queue(name, d, now, meter)));
    }
    let overview = Overview {
        product: products.join(", "),
        version: versions.join(", "),
        runtime_version: runtimes.join(", "),
        object_totals: totals,
        message_stats: Rates { publish, deliver_get: acknowledge, ack: acknowledge },
        topology,
        ..Overview::default()
    };
    QueueSnapshot::assembled(now, overview, nodes, queues)
}

fn queue(broker: &str, destination: &Destination, now: Millis, meter: &mut RateMeter) -> Queue {
    let key = format!("{broker}\n{}\n{}", destination.kind, destination.name);
    let publish = meter.rate(&key, now, destination.added);
    let acknowledge = meter.rate(&format!("{key}\n-"), now, destination.acknowledged);
    // A topic counts each subscriber's delivery in flight, more than it holds.
    let in_flight = destination.in_flight.min(destination.messages);
    let waiting = destination.messages - in_flight;
    Queue {
        name: destination.name.clone(),
        vhost: broker.to_owned(),
        kind: destination.kind.into(),
        state: if destination.paused { "paused" } else { "running" }.into(),
        messages_ready: waiting.saturating_sub(destination.scheduled),
        messages_unacknowledged: in_flight,
        messages: destination.messages,
        delayed: destination.scheduled,
        held: 0,
        consumers: destination.consumers,
        consumer_utilisation: None,
        idle_since: None,
        message_stats: Rates { publish, deliver_get: acknowledge, ack: acknowledge },
    }
}

/// The brokers that answered as the snapshot's brokers: ids from their names (as RabbitMQ
/// nodes'), the name as the host, so notices and pages call a broker by its name.
fn brokers_of(nodes: &[Node]) -> Vec<Broker> {
    node_ids(nodes)
        .into_iter()
        .filter(|(_, node)| node.running)
        .map(|(id, node)| Broker { id, host: node.name.clone(), port: 0, rack: None })
        .collect()
}

impl super::ClusterAdapter for ActivemqAdapter {
    async fn snapshot(&self, now: Millis) -> Result<ClusterSnapshot, AdapterError> {
        let started = std::time::Instant::now();
        let view = self.queue_snapshot(now).await?;
        let (cluster, brokers) = (self.cluster.clone(), brokers_of(&view.nodes));
        let took = super::millis_since(started);
        Ok(ClusterSnapshot::of_queues(cluster, ClusterKind::Activemq, took, brokers, view))
    }
}

#[cfg(test)]
mod tests;
