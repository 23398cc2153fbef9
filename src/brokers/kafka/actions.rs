//! What an operator does to a Kafka cluster by hand: send test messages, browse a topic's
//! messages, create, delete and configure topics, reset and delete consumer groups. Browsing assigns partitions directly — it never joins a group or commits — and
//! stops at its limit, its scan budget or its deadline, so a huge topic cannot hold the server.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rdkafka::admin::{
    AdminClient, AdminOptions, AlterConfig, NewPartitions, NewTopic, ResourceSpecifier,
    TopicReplication,
};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::message::{Header, Headers, Message, OwnedHeaders};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use serde::Serialize;

pub use super::producer::Compression;
use super::producer::{Outgoing, PolledProducer};
use super::{client_config, kafka_error};
use crate::brokers::AdapterError;
use crate::config::{ClusterConfig, KafkaConnection};
use crate::domain::Millis;

/// One message to send.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OutgoingMessage {
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
    pub headers: Vec<(String, Vec<u8>)>,
    /// `None`: the producer's partitioner picks (by key).
    pub partition: Option<i32>,
}

impl OutgoingMessage {
    /// Bytes the record takes on the wire, about: what `max.message.bytes` limits.
    pub fn size(&self) -> usize {
        const RECORD_OVERHEAD: usize = 70;
        self.key.as_ref().map_or(0, Vec::len)
            + self.value.as_ref().map_or(0, Vec::len)
            + self.headers.iter().map(|(k, v)| k.len() + v.len() + 8).sum::<usize>()
            + RECORD_OVERHEAD
    }
}

pub use crate::brokers::SendOutcome;

/// Where browsing starts in each partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    Earliest,
    /// The last `n` messages of each partition, shared fairly among the partitions when they
    /// add up to more than the limit (see [`latest_quotas`]).
    Latest(i64),
    Offset(i64),
    Timestamp(Millis),
}

#[derive(Debug, Clone, PartialEq)]
pub struct BrowseRequest {
    /// `None`: every partition.
    pub partitions: Option<Vec<i32>>,
    pub start: Start,
    /// Messages to return at most.
    pub limit: usize,
    /// Only messages whose key, value or a header contains this text.
    pub filter: Option<String>,
}

/// Most messages one browse returns, and most it reads while filtering.
pub const MAX_LIMIT: usize = 500;
pub const MAX_SCANNED: usize = 50_000;
/// Longest one browse may take.
pub const BROWSE_DEADLINE: Duration = Duration::from_secs(8);

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BrowsedMessage {
    pub partition: i32,
    pub offset: i64,
    /// Epoch milliseconds, as the producer or the broker stamped it.
    pub timestamp: Option<Millis>,
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
    pub headers: Vec<(String, Option<Vec<u8>>)>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BrowseResult {
    pub messages: Vec<BrowsedMessage>,
    /// Messages read, matching or not.
    pub scanned: usize,
    /// Why reading stopped before the end of every partition, if it did, and what the limit
    /// left out; several reasons are joined with "; ".
    pub stopped: Option<String>,
    /// Messages of the range asked for that are not shown because of the limit: for
    /// [`Start::Latest`], the older messages beyond each partition's share (counted in offsets,
    /// so about, on compacted topics) and, when filtering, the older matching messages dropped
    /// for newer ones. 0 when nothing was left out or when it is not known (reading from the
    /// earliest, an offset or a time stops at the limit without counting the rest).
    pub left_out: u64,
}

/// A cluster's producer and the settings for short-lived browsing consumers.
pub struct KafkaActions {
    config: ClientConfig,
    /// One per compression codec, each made on the first send that asks for it, and polled
    /// only while a send waits (`producer`): librdkafka compresses per producer, not per message.
    producers: [tokio::sync::OnceCell<PolledProducer>; Compression::ALL.len()],
    producer_config: ClientConfig,
    admin: AdminClient<DefaultClientContext>,
    timeout: Duration,
}

/// A new topic.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TopicSpec {
    pub name: String,
    pub partitions: i32,
    pub replication_factor: i32,
    pub configs: Vec<(String, String)>,
}

/// Longest wait for a message's delivery report: librdkafka reports a failure itself after the
/// producer's `message.timeout.ms` (10 s).
const DELIVERY_WAIT: Duration = Duration::from_secs(15);

/// An admin call's per-object results as one error operators can read.
const ADMIN_TIMEOUT: Duration = Duration::from_secs(30);

fn admin_result(
    what: &str,
    results: Vec<Result<String, (String, rdkafka::types::RDKafkaErrorCode)>>,
) -> Result<(), AdapterError> {
    use rdkafka::types::RDKafkaErrorCode as Code;
    for result in results {
        if let Err((name, code)) = result {
            let detail = match code {
                // The controller carries on after the deadline; the change usually lands.
                Code::OperationTimedOut | Code::RequestTimedOut => format!(
                    "{code} — the controller did not confirm in time; the change may still \
                     complete, look again in a moment"
                ),
                _ => code.to_string(),
            };
            return Err(AdapterError::Protocol(format!("{what} {name:?}: {detail}")));
        }
    }
    Ok(())
}

impl std::fmt::Debug for KafkaActions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KafkaActions").finish_non_exhaustive()
    }
}

/// How many messages to read from the end of each partition to show "the last `n` of each"
/// within `limit` overall: at most `n` and at most what the partition holds (`available`) each,
/// at most `limit` in all, shared fairly. A partition that holds less than its share leaves the
/// rest to the others (water-filling); what does not divide evenly goes to the lower indexes
/// first. Negative `n` or `available` count as 0.
pub fn latest_quotas(n: i64, limit: usize, available: &[i64]) -> Vec<i64> {
    let caps: Vec<i64> = available.iter().map(|&a| a.min(n).max(0)).collect();
    let mut quotas = vec![0; caps.len()];
    let mut budget = i64::try_from(limit).unwrap_or(i64::MAX);
    // Serve the smallest partitions first: each takes all it can while that fits its share.
    let mut order: Vec<usize> = (0..caps.len()).collect();
    order.sort_by_key(|&i| (caps[i], i));
    for (served, &i) in order.iter().enumerate() {
        let waiting = i64::try_from(order.len() - served).unwrap_or(i64::MAX);
        let share = budget / waiting;
        if caps[i] <= share {
            quotas[i] = caps[i];
            budget -= caps[i];
            continue;
        }
        // Every partition still waiting holds more than the share (they are sorted), so each
        // gets the share and the remainder goes one by one to the lowest indexes.
        let mut rest = order[served..].to_vec();
        rest.sort_unstable();
        let mut remainder = budget % waiting;
        for p in rest {
            quotas[p] = share + i64::from(remainder > 0);
            remainder -= 1;
        }
        break;
    }
    quotas
}

/// Orders messages from oldest to newest: by timestamp (none counts as the oldest), then, at
/// the same time, a higher partition as older and a higher offset as newer.
fn newness(message: &BrowsedMessage) -> (Option<Millis>, std::cmp::Reverse<i32>, i64) {
    (message.timestamp, std::cmp::Reverse(message.partition), message.offset)
}

/// Keeps the newest `limit` of `messages` by timestamp (ties: the lower partition, then the
/// higher offset), newest first, and tells how many older ones it left out.
pub fn newest(mut messages: Vec<BrowsedMessage>, limit: usize) -> (Vec<BrowsedMessage>, u64) {
    if messages.len() <= limit {
        return (messages, 0);
    }
    messages.sort_unstable_by_key(|m| std::cmp::Reverse(newness(m)));
    let left_out = u64::try_from(messages.len() - limit).unwrap_or(u64::MAX);
    messages.truncate(limit);
    (messages, left_out)
}

/// Adds one more reason to a browse's note.
fn add_note(stopped: &mut Option<String>, note: String) {
    *stopped = Some(match stopped.take() {
        Some(before) => format!("{before}; {note}"),
        None => note,
    });
}

fn matches(message: &BrowsedMessage, needle: &str) -> bool {
    let contains = |bytes: &Option<Vec<u8>>| {
        bytes.as_deref().is_some_and(|b| String::from_utf8_lossy(b).contains(needle))
    };
    contains(&message.key)
        || contains(&message.value)
        || message.headers.iter().any(|(k, v)| k.contains(needle) || contains(v))
}

impl KafkaActions {
    pub fn new(cluster: &ClusterConfig, kafka: &KafkaConnection) -> Result<Self, AdapterError> {
        let config = client_config(cluster, kafka);
        let mut producer_config = config.clone();
        producer_config
            .set("message.timeout.ms", "10000")
            .set("linger.ms", "0")
            // Large test messages are checked against the topic's limit by Osprey itself.
            .set("message.max.bytes", "16777216");
        // The admin client reads the same settings: a bad one is refused here, not at the
        // first send.
        let admin: AdminClient<DefaultClientContext> =
            config.create().map_err(|e| AdapterError::Config(e.to_string()))?;
        let timeout = cluster.poll_timeout.max(Duration::from_secs(5));
        let producers = Default::default();
        Ok(KafkaActions { config, producers, producer_config, admin, timeout })
    }

    async fn producer(&self, compression: Compression) -> Result<&PolledProducer, String> {
        self.producers[compression as usize]
            .get_or_try_init(|| async {
                let mut config = self.producer_config.clone();
                config.set("compression.codec", compression.as_str());
                PolledProducer::new(&config).map_err(|e| e.to_string())
            })
            .await
    }

    /// Changes wait for the controller as long as Kafka's own tools do (`request.timeout.ms`):
    /// a topic with three replicas on a busy cluster takes longer than a read.
    fn options(&self) -> AdminOptions {
        let timeout = self.timeout.max(ADMIN_TIMEOUT);
        AdminOptions::new().request_timeout(Some(timeout)).operation_timeout(Some(timeout))
    }

    pub async fn create_topic(&self, spec: &TopicSpec) -> Result<(), AdapterError> {
        let mut topic = NewTopic::new(
            &spec.name,
            spec.partitions,
            TopicReplication::Fixed(spec.replication_factor),
        );
        for (key, value) in &spec.configs {
            topic = topic.set(key, value);
        }
        let results =
            self.admin.create_topics([&topic], &self.options()).await.map_err(kafka_error)?;
        admin_result("topic", results)
    }

    pub async fn delete_topic(&self, name: &str) -> Result<(), AdapterError> {
        let results =
            self.admin.delete_topics(&[name], &self.options()).await.map_err(kafka_error)?;
        admin_result("topic", results)
    }

    /// Grows a topic to `total` partitions.
    pub async fn add_partitions(&self, name: &str, total: usize) -> Result<(), AdapterError> {
        let partitions = NewPartitions::new(name, total);
        let results = self
            .admin
            .create_partitions([&partitions], &self.options())
            .await
            .map_err(kafka_error)?;
        admin_result("topic", results)
    }

    /// Sets a topic's explicitly configured entries to exactly `entries` (AlterConfigs replaces
    /// the whole set; the caller merges a change into the current set).
    pub async fn replace_configs(
        &self,
        name: &str,
        entries: &[(String, String)],
    ) -> Result<(), AdapterError> {
        let mut alter = AlterConfig::new(ResourceSpecifier::Topic(name));
        for (key, value) in entries {
            alter = alter.set(key, value);
        }
        let results =
            self.admin.alter_configs([&alter], &self.options()).await.map_err(kafka_error)?;
        for result in results {
            if let Err((_, code)) = result {
                return Err(AdapterError::Protocol(format!("topic {name:?} configs: {code}")));
            }
        }
        Ok(())
    }

    pub async fn delete_group(&self, group: &str) -> Result<(), AdapterError> {
        let results =
            self.admin.delete_groups(&[group], &self.options()).await.map_err(kafka_error)?;
        admin_result("group", results)
    }

    /// The first offset at or after `at` of each partition (the end when there is none).
    pub async fn offsets_at(
        &self,
        topic: &str,
        partitions: &[i32],
        at: Millis,
    ) -> Result<Vec<(i32, i64)>, AdapterError> {
        let consumer: BaseConsumer =
            self.config.create().map_err(|e| AdapterError::Config(e.to_string()))?;
        let (topic, partitions, timeout) = (topic.to_owned(), partitions.to_vec(), self.timeout);
        tokio::task::spawn_blocking(move || {
            let mut query = TopicPartitionList::new();
            for partition in &partitions {
                query
                    .add_partition_offset(&topic, *partition, Offset::Offset(at))
                    .map_err(kafka_error)?;
            }
            let found = consumer.offsets_for_times(query, timeout).map_err(kafka_error)?;
            partitions
                .iter()
                .map(|&p| {
                    let offset = match found.find_partition(&topic, p).map(|e| e.offset()) {
                        Some(Offset::Offset(offset)) => offset,
                        _ => consumer.fetch_watermarks(&topic, p, timeout).map_err(kafka_error)?.1,
                    };
                    Ok((p, offset))
                })
                .collect()
        })
        .await
        .map_err(|e| AdapterError::Protocol(e.to_string()))?
    }

    /// Commits `offsets` (topic, partition, offset) for `group`, as a consumer of it would.
    /// The coordinator refuses it while the group has active members.
    pub async fn commit_offsets(
        &self,
        group: &str,
        offsets: &[(String, i32, i64)],
    ) -> Result<(), AdapterError> {
        let mut config = self.config.clone();
        config.set("group.id", group).set("enable.auto.commit", "false");
        let consumer: BaseConsumer =
            config.create().map_err(|e| AdapterError::Config(e.to_string()))?;
        let mut list = TopicPartitionList::new();
        for (topic, partition, offset) in offsets {
            list.add_partition_offset(topic, *partition, Offset::Offset(*offset))
                .map_err(kafka_error)?;
        }
        tokio::task::spawn_blocking(move || {
            consumer.commit(&list, CommitMode::Sync).map_err(kafka_error)
        })
        .await
        .map_err(|e| AdapterError::Protocol(e.to_string()))?
    }

    /// Sends messages one after another, compressed with `compression`, and tells where each
    /// landed.
    pub async fn send(
        &self,
        topic: &str,
        messages: &[OutgoingMessage],
        compression: Compression,
    ) -> Vec<SendOutcome> {
        let producer = match self.producer(compression).await {
            Ok(producer) => producer,
            Err(e) => {
                let error = Some(format!("cannot make a producer: {e}"));
                let failed = SendOutcome { partition: None, offset: None, message_id: None, error };
                return vec![failed; messages.len()];
            }
        };
        let mut outcomes = Vec::with_capacity(messages.len());
        for message in messages {
            let mut headers = OwnedHeaders::new();
            for (key, value) in &message.headers {
                headers = headers.insert(Header { key, value: Some(value.as_slice()) });
            }
            let outgoing = Outgoing {
                topic: topic.to_owned(),
                key: message.key.clone(),
                payload: message.value.clone(),
                partition: message.partition,
                headers,
            };
            outcomes.push(match producer.send(outgoing, DELIVERY_WAIT).await {
                Ok(delivery) => SendOutcome {
                    partition: Some(delivery.partition),
                    offset: Some(delivery.offset),
                    message_id: None,
                    error: None,
                },
                Err(error) => SendOutcome {
                    partition: message.partition,
                    offset: None,
                    message_id: None,
                    error: Some(kafka_error(error).to_string()),
                },
            });
        }
        outcomes
    }

    /// Reads messages of `topic` as `request` says, on the blocking pool.
    pub async fn browse(
        &self,
        topic: &str,
        request: BrowseRequest,
    ) -> Result<BrowseResult, AdapterError> {
        let mut config = super::assigning_consumer(self.config.clone(), "osprey-browse");
        config
            .set("enable.partition.eof", "true")
            .set("fetch.max.bytes", "8388608")
            // librdkafka's own prefetch buffer counts toward what a browse holds.
            .set("queued.max.messages.kbytes", "16384");
        let consumer: BaseConsumer =
            config.create().map_err(|e| AdapterError::Config(e.to_string()))?;
        let (topic, timeout) = (topic.to_owned(), self.timeout);
        let consumer = Arc::new(consumer);
        // The reader stops as soon as the request is gone (a closed tab, the request timeout).
        let abandoned = Arc::new(AtomicBool::new(false));
        let _stop_when_dropped = StopOnDrop(abandoned.clone());
        let reading = move || {
            let budget = Budget { deadline: Instant::now() + BROWSE_DEADLINE, timeout, abandoned };
            browse_blocking(&consumer, &topic, &request, &budget)
        };
        tokio::task::spawn_blocking(reading)
            .await
            .map_err(|e| AdapterError::Protocol(format!("browsing failed: {e}")))?
    }
}

/// Sets its flag when dropped: the browse's async side tells the blocking side to stop.
struct StopOnDrop(Arc<AtomicBool>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// What one browse may spend: [`BROWSE_DEADLINE`] over everything (metadata and watermarks
/// included), each broker call within the client's timeout and what is left.
struct Budget {
    deadline: Instant,
    timeout: Duration,
    abandoned: Arc<AtomicBool>,
}

impl Budget {
    /// The time the next broker call may take, or the error that ends the browse.
    fn call(&self) -> Result<Duration, AdapterError> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() || self.abandoned.load(Ordering::Relaxed) {
            return Err(AdapterError::Timeout(BROWSE_DEADLINE));
        }
        Ok(left.min(self.timeout))
    }

    fn over(&self) -> bool {
        Instant::now() >= self.deadline || self.abandoned.load(Ordering::Relaxed)
    }
}

/// Bytes of keys, values and headers a browse holds at most (500 messages of 1 MB would be
/// 500 MB): past it, the browse stops and says so.
pub const MAX_BROWSE_BYTES: usize = 16 * 1024 * 1024;

fn held_bytes(message: &BrowsedMessage) -> usize {
    let headers: usize =
        message.headers.iter().map(|(k, v)| k.len() + v.as_ref().map_or(0, Vec::len)).sum();
    message.key.as_ref().map_or(0, Vec::len) + message.value.as_ref().map_or(0, Vec::len) + headers
}

fn browse_blocking(
    consumer: &BaseConsumer,
    topic: &str,
    request: &BrowseRequest,
    budget: &Budget,
) -> Result<BrowseResult, AdapterError> {
    let metadata = consumer.fetch_metadata(Some(topic), budget.call()?).map_err(kafka_error)?;
    let described = metadata
        .topics()
        .first()
        .filter(|t| t.error().is_none())
        .ok_or_else(|| AdapterError::Protocol(format!("there is no topic {topic:?}")))?;
    let all: Vec<i32> = described.partitions().iter().map(|p| p.id()).collect();
    let partitions: Vec<i32> = match &request.partitions {
        Some(chosen) => {
            if let Some(missing) = chosen.iter().find(|p| !all.contains(p)) {
                return Err(AdapterError::Protocol(format!(
                    "topic {topic:?} has no partition {missing} (it has 0-{})",
                    all.len().saturating_sub(1)
                )));
            }
            chosen.clone()
        }
        None => all,
    };

    let limit = request.limit.clamp(1, MAX_LIMIT);
    let needle = request.filter.as_deref().filter(|f| !f.is_empty());
    // Low and high watermarks (as of now) per partition.
    let mut marks = Vec::with_capacity(partitions.len());
    for &partition in &partitions {
        let (low, high) =
            consumer.fetch_watermarks(topic, partition, budget.call()?).map_err(kafka_error)?;
        marks.push((partition, low, high));
    }
    let mut result = BrowseResult { messages: Vec::new(), scanned: 0, stopped: None, left_out: 0 };
    // "The last n of each partition" reads a planned share from the end of each one, so the
    // partitions are served fairly whatever order librdkafka hands their batches out in:
    // without a filter the shares add up to the limit; with one, to the scan budget, and the
    // newest matches are kept.
    let latest = match request.start {
        Start::Latest(n) => {
            let available: Vec<i64> = marks.iter().map(|&(_, low, high)| high - low).collect();
            let budget = if needle.is_some() { MAX_SCANNED } else { limit };
            let quotas = latest_quotas(n, budget, &available);
            let wanted: i64 = available.iter().map(|&a| a.min(n).max(0)).sum();
            let unread = u64::try_from(wanted - quotas.iter().sum::<i64>()).unwrap_or(0);
            if unread > 0 && needle.is_none() {
                result.left_out = unread;
                add_note(
                    &mut result.stopped,
                    format!(
                        "stopped at the limit of {limit} messages, shared across the \
                         partitions; {unread} older messages left out"
                    ),
                );
            } else if unread > 0 {
                add_note(
                    &mut result.stopped,
                    format!("{unread} older messages not searched (scan budget of {MAX_SCANNED})"),
                );
            }
            Some(quotas)
        }
        _ => None,
    };
    // Start offset and end (high watermark) per partition.
    let mut plan = Vec::with_capacity(marks.len());
    for (i, &(partition, low, high)) in marks.iter().enumerate() {
        let start = match request.start {
            Start::Earliest => low,
            Start::Latest(_) => high - latest.as_ref().map_or(0, |quotas| quotas[i]),
            Start::Offset(offset) => offset.clamp(low, high),
            Start::Timestamp(_) => low, // replaced below
        };
        plan.push((partition, start, high));
    }
    if let Start::Timestamp(ts) = request.start {
        let mut query = TopicPartitionList::new();
        for (partition, _, _) in &plan {
            query
                .add_partition_offset(topic, *partition, Offset::Offset(ts))
                .map_err(kafka_error)?;
        }
        let found = consumer.offsets_for_times(query, budget.call()?).map_err(kafka_error)?;
        for entry in &mut plan {
            let at = found.find_partition(topic, entry.0).map(|e| e.offset());
            entry.1 = match at {
                Some(Offset::Offset(offset)) => offset,
                _ => entry.2, // no message at or after the time: nothing to read here
            };
        }
    }
    let mut assignment = TopicPartitionList::new();
    let mut open: Vec<i32> = Vec::new();
    for (partition, start, end) in &plan {
        if start < end {
            assignment
                .add_partition_offset(topic, *partition, Offset::Offset(*start))
                .map_err(kafka_error)?;
            open.push(*partition);
        }
    }
    if open.is_empty() {
        return Ok(result);
    }
    consumer.assign(&assignment).map_err(kafka_error)?;
    let ends: std::collections::HashMap<i32, i64> = plan.iter().map(|(p, _, e)| (*p, *e)).collect();
    // Matching messages dropped for newer ones (only when reading the latest with a filter).
    let mut dropped: u64 = 0;
    let mut held: usize = 0;
    while !open.is_empty() {
        if budget.over() {
            add_note(&mut result.stopped, format!("stopped after {} s", BROWSE_DEADLINE.as_secs()));
            break;
        }
        if held > MAX_BROWSE_BYTES {
            let mib = MAX_BROWSE_BYTES >> 20;
            add_note(&mut result.stopped, format!("stopped after holding {mib} MiB of messages"));
            break;
        }
        if result.scanned >= MAX_SCANNED {
            add_note(&mut result.stopped, format!("stopped after reading {MAX_SCANNED} messages"));
            break;
        }
        let Some(next) = consumer.poll(Duration::from_millis(200)) else { continue };
        let message = match next {
            Ok(message) => message,
            Err(rdkafka::error::KafkaError::PartitionEOF(partition)) => {
                open.retain(|p| *p != partition);
                continue;
            }
            Err(e) => return Err(kafka_error(e)),
        };
        let (partition, offset) = (message.partition(), message.offset());
        if offset >= ends.get(&partition).copied().unwrap_or(i64::MAX) {
            open.retain(|p| *p != partition);
            continue;
        }
        result.scanned += 1;
        let browsed = BrowsedMessage {
            partition,
            offset,
            timestamp: message.timestamp().to_millis(),
            key: message.key().map(<[u8]>::to_vec),
            value: message.payload().map(<[u8]>::to_vec),
            headers: message
                .headers()
                .map(|h| {
                    h.iter().map(|h| (h.key.to_owned(), h.value.map(<[u8]>::to_vec))).collect()
                })
                .unwrap_or_default(),
        };
        if offset + 1 >= ends.get(&partition).copied().unwrap_or(i64::MAX) {
            open.retain(|p| *p != partition);
        }
        if needle.is_none_or(|n| matches(&browsed, n)) {
            held += held_bytes(&browsed);
            result.messages.push(browsed);
            if latest.is_some() {
                // The plan bounds the reads; only the newest matches are worth keeping, and
                // trimming as we go keeps at most twice the limit in memory.
                if result.messages.len() >= 2 * limit {
                    let (kept, older) = newest(std::mem::take(&mut result.messages), limit);
                    result.messages = kept;
                    held = result.messages.iter().map(held_bytes).sum();
                    dropped += older;
                }
            } else if result.messages.len() >= limit {
                if !open.is_empty() {
                    add_note(
                        &mut result.stopped,
                        format!("stopped at the limit of {limit} messages"),
                    );
                }
                break;
            }
        }
    }
    let (kept, older) = newest(std::mem::take(&mut result.messages), limit);
    result.messages = kept;
    dropped += older;
    if dropped > 0 {
        result.left_out += dropped;
        add_note(
            &mut result.stopped,
            format!("showing the newest {limit}; {dropped} older matching messages left out"),
        );
    }
    result.messages.sort_by_key(|m| (m.partition, m.offset));
    Ok(result)
}

#[cfg(test)]
mod tests;
