//! Finding stored messages — by topic and store-time window, by key, by message id — and what
//! became of one: which subscribing groups consumed it, its trace, and a redelivery straight to
//! one client of a group (direct consumption). Nothing here commits an offset.

use std::collections::{BTreeMap, HashMap};

use futures::StreamExt;
use serde::{Deserialize, Serialize};

use super::message::{StoredMessage, decode_all, parse_offset_id};
use super::remoting::{Command, code, response};
use super::trace::{TraceEvent, decode_trace};
use super::{AdapterError, CONCURRENCY, Connection, RocketAdapter, body, remoting};
use crate::domain::Millis;
use crate::domain::rocket::ConsumerClient;

/// Most messages a time-window query reads per queue and keeps in all, newest first.
pub const MAX_WINDOW_MESSAGES: usize = 2_000;
/// Most bytes of message bodies a time-window query reads.
pub const MAX_WINDOW_BYTES: usize = 64 * 1024 * 1024;
/// Most trace events kept for one message.
const MAX_TRACE_EVENTS: usize = 1_000;
/// Most messages a key query asks each broker for.
pub const MAX_KEY_MESSAGES: i32 = 64;
/// Messages per pull (the brokers' `maxTransferCountOnMessageInMemory` default).
const PULL_BATCH: i64 = 32;
/// The group pulls are made under: one every broker has, so none is created.
const TOOLS_GROUP: &str = "TOOLS_CONSUMER";
/// The topic brokers with `traceTopicEnable` keep traces in.
pub const TRACE_TOPIC: &str = "RMQ_SYS_TRACE_TOPIC";
/// Most trace messages read for one message.
const MAX_TRACE_MESSAGES: i32 = 256;

/// A message and the broker it was read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub broker: String,
    pub address: String,
    pub message: StoredMessage,
}

/// The newest messages of a store-time window.
#[derive(Debug, Clone, Default)]
pub struct Window {
    /// Newest first, at most [`MAX_WINDOW_MESSAGES`].
    pub messages: Vec<Found>,
    /// How many messages the window's offsets span (at most one too many per queue, for the
    /// message at the end bound).
    pub spanned: u64,
    /// Queues that could not be read, with why.
    pub errors: Vec<String>,
}

/// What the client answered to a direct consumption (`ConsumeMessageDirectlyResult`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all(deserialize = "camelCase", serialize = "snake_case"))]
pub struct DirectResult {
    #[serde(default)]
    pub consume_result: Option<String>,
    #[serde(default)]
    pub remark: Option<String>,
    #[serde(default)]
    pub spent_time_mills: i64,
    #[serde(default)]
    pub order: bool,
    #[serde(default)]
    pub auto_commit: bool,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ProducerConnection {
    #[serde(default)]
    connection_set: Vec<Connection>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct GroupList {
    #[serde(default)]
    group_list: Vec<String>,
}

/// Where a queue's window starts and ends, and where to read.
struct Span {
    broker: String,
    address: String,
    queue_id: i32,
    from: i64,
    to: i64,
}

impl RocketAdapter {
    /// `(broker name, master address, read queues)` of every broker the topic's route names.
    pub async fn readable_masters(
        &self,
        topic: &str,
    ) -> Result<Vec<(String, String, i32)>, AdapterError> {
        Ok(self
            .route(topic)
            .await?
            .into_iter()
            .filter_map(|r| Some((r.broker, r.master?, r.read_queues)))
            .collect())
    }

    /// The first offset of a queue whose message was stored at or after `at` (the queue's end
    /// when there is none).
    pub async fn offset_at(
        &self,
        address: &str,
        topic: &str,
        queue_id: i32,
        at: Millis,
    ) -> Result<i64, AdapterError> {
        let request = Command::request(code::SEARCH_OFFSET_BY_TIMESTAMP)
            .field("topic", topic)
            .field("queueId", queue_id)
            .field("timestamp", at);
        offset_field(address, self.remoting().call_ok(address, request).await?)
    }

    /// The offset after a queue's last message.
    pub async fn max_offset(
        &self,
        address: &str,
        topic: &str,
        queue_id: i32,
    ) -> Result<i64, AdapterError> {
        let request =
            Command::request(code::GET_MAX_OFFSET).field("topic", topic).field("queueId", queue_id);
        offset_field(address, self.remoting().call_ok(address, request).await?)
    }

    /// The newest messages (at most [`MAX_WINDOW_MESSAGES`], and bodies of at most
    /// [`MAX_WINDOW_BYTES`] in all) stored in `[begin, end]` on every queue of `topic`, newest
    /// first. Without `bodies` each message keeps only its size. A queue that fails is named in
    /// `errors`; the others still count.
    pub async fn messages_in_window(
        &self,
        topic: &str,
        begin: Millis,
        end: Millis,
        bodies: bool,
    ) -> Result<Window, AdapterError> {
        let mut queues = Vec::new();
        for (broker, address, read_queues) in self.readable_masters(topic).await? {
            queues.extend((0..read_queues).map(|q| (broker.clone(), address.clone(), q)));
        }
        let spans: Vec<Result<Span, String>> = futures::stream::iter(queues.into_iter().map(
            |(broker, address, queue_id)| async move {
                let bounds = async {
                    let from = self.offset_at(&address, topic, queue_id, begin).await?;
                    let last = self.max_offset(&address, topic, queue_id).await?;
                    // The first message stored after `end`, and one more: the store times
                    // decide below, so reading one too many costs nothing.
                    let after = self.offset_at(&address, topic, queue_id, end.saturating_add(1));
                    let to = after.await?.saturating_add(1).min(last);
                    Ok::<_, AdapterError>((from, to.max(from)))
                };
                match bounds.await {
                    Ok((from, to)) => Ok(Span { broker, address, queue_id, from, to }),
                    Err(e) => Err(format!("{broker} queue {queue_id}: {e}")),
                }
            },
        ))
        .buffered(CONCURRENCY)
        .collect()
        .await;
        let mut window = Window::default();
        let mut readable = Vec::new();
        for span in spans {
            match span {
                Ok(span) => {
                    window.spanned = window
                        .spanned
                        .saturating_add(u64::try_from(span.to - span.from).unwrap_or(0));
                    readable.push(span);
                }
                Err(e) => window.errors.push(e),
            }
        }
        let budget = std::sync::atomic::AtomicUsize::new(MAX_WINDOW_BYTES);
        let read: Vec<(Vec<Found>, Option<String>)> = futures::stream::iter(
            readable
                .into_iter()
                .map(|span| self.read_span(topic, span, (begin, end), bodies, &budget)),
        )
        .buffered(CONCURRENCY)
        .collect()
        .await;
        for (found, error) in read {
            window.messages.extend(found);
            window.errors.extend(error);
        }
        newest_first(&mut window.messages);
        window.messages.dedup_by(|a, b| {
            a.broker == b.broker
                && a.message.queue_id == b.message.queue_id
                && a.message.queue_offset == b.message.queue_offset
        });
        window.messages.truncate(MAX_WINDOW_MESSAGES);
        window.errors.sort();
        Ok(window)
    }

    /// The messages of one queue's span stored in `window`, read from its newest end back at
    /// most [`MAX_WINDOW_MESSAGES`], batch after batch from where the last one ended (brokers
    /// return fewer than asked when reading from disk). Stops early, saying why, when the
    /// queue answers nothing more or the byte budget is spent.
    async fn read_span(
        &self,
        topic: &str,
        span: Span,
        (begin, end): (Millis, Millis),
        bodies: bool,
        budget: &std::sync::atomic::AtomicUsize,
    ) -> (Vec<Found>, Option<String>) {
        use std::sync::atomic::Ordering;
        let Span { broker, address, queue_id, from, to } = span;
        let mut found = Vec::new();
        let mut at = from.max(to.saturating_sub(MAX_WINDOW_MESSAGES as i64));
        while at < to {
            let count = i32::try_from(PULL_BATCH.min(to - at)).unwrap_or(32);
            let messages = match self.pull(&address, TOOLS_GROUP, topic, queue_id, at, count).await
            {
                Ok(messages) => messages,
                Err(e) => return (found, Some(format!("{broker} queue {queue_id} at {at}: {e}"))),
            };
            let Some(next) = messages.iter().map(|m| m.queue_offset + 1).max().filter(|n| *n > at)
            else {
                let why = format!("{broker} queue {queue_id}: nothing readable at offset {at}");
                return (found, Some(why));
            };
            for mut message in messages {
                if !(begin..=end).contains(&message.store_timestamp) {
                    continue;
                }
                let size = message.body.len();
                if budget
                    .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |left| {
                        left.checked_sub(size)
                    })
                    .is_err()
                {
                    let why = format!(
                        "stopped at {} MiB of message bodies: narrow the window",
                        MAX_WINDOW_BYTES / (1024 * 1024)
                    );
                    return (found, Some(why));
                }
                if !bodies {
                    message.body = Vec::new();
                }
                found.push(Found { broker: broker.clone(), address: address.clone(), message });
            }
            at = next;
        }
        (found, None)
    }

    /// Messages of `topic` whose keys include `key` (or, with `unique`, whose client id is
    /// `key`), stored in `[begin, end]`, from every master of the topic. Newest first.
    pub async fn messages_by_key(
        &self,
        topic: &str,
        key: &str,
        unique: bool,
        begin: Millis,
        end: Millis,
    ) -> Result<Vec<Found>, AdapterError> {
        let masters = self.readable_masters(topic).await?;
        let mut found = Vec::new();
        let mut errors = Vec::new();
        for (broker, address, _) in masters {
            let mut request = Command::request(code::QUERY_MESSAGE)
                .field("topic", topic)
                .field("key", key)
                .field("maxNum", MAX_KEY_MESSAGES)
                .field("beginTimestamp", begin)
                .field("endTimestamp", end);
            if unique {
                request = request.field("_UNIQUE_KEY_QUERY", "true");
            }
            match self.remoting().call(&address, request).await {
                Ok(reply) if reply.code == response::SUCCESS => {
                    let messages = decode_all(&reply.body)
                        .map_err(|e| AdapterError::Protocol(format!("{address}: {e}")))?;
                    found.extend(messages.into_iter().map(|message| Found {
                        broker: broker.clone(),
                        address: address.clone(),
                        message,
                    }));
                }
                Ok(reply) if reply.code == response::QUERY_NOT_FOUND => {}
                Ok(reply) => errors.push(remoting::refused(&address, code::QUERY_MESSAGE, &reply)),
                Err(e) => errors.push(e),
            }
        }
        // The index is a hash: keep only true matches.
        found.retain(|f| {
            f.message.topic == topic
                && if unique {
                    f.message.client_id() == key
                } else {
                    f.message.keys().contains(&key)
                }
        });
        if found.is_empty()
            && let Some(error) = errors.into_iter().next()
        {
            return Err(error);
        }
        newest_first(&mut found);
        found.dedup_by(|a, b| a.message.offset_id() == b.message.offset_id());
        Ok(found)
    }

    /// The message with `id`: an offset message id (broker address and commit-log offset, as a
    /// send result names it) or a client message id (UNIQ_KEY, as producers log it).
    pub async fn message_by_id(
        &self,
        topic: &str,
        id: &str,
    ) -> Result<Option<Found>, AdapterError> {
        let id = id.trim();
        if let Some((address, offset)) = parse_offset_id(id) {
            let (_, brokers) = self.brokers().await?;
            if let Some(broker) = brokers.iter().find(|b| b.address == address) {
                let request = Command::request(code::VIEW_MESSAGE_BY_ID)
                    .field("topic", topic)
                    .field("offset", offset);
                let reply = self.remoting().call(&address, request).await?;
                if reply.code == response::SUCCESS {
                    let message = decode_all(&reply.body)
                        .map_err(|e| AdapterError::Protocol(format!("{address}: {e}")))?
                        .into_iter()
                        .next()
                        .filter(|m| m.topic == topic);
                    if let Some(message) = message {
                        return Ok(Some(Found { broker: broker.name.clone(), address, message }));
                    }
                }
            }
        }
        Ok(self.messages_by_key(topic, id, true, 0, i64::MAX).await?.into_iter().next())
    }

    /// The groups the brokers know to consume `topic` (QUERY_TOPIC_CONSUME_BY_WHO on each master).
    pub async fn groups_consuming(&self, topic: &str) -> Result<Vec<String>, AdapterError> {
        let mut groups = Vec::new();
        for (_, address, _) in self.readable_masters(topic).await? {
            let request = Command::request(code::QUERY_TOPIC_CONSUME_BY_WHO).field("topic", topic);
            let reply = self.remoting().call_ok(&address, request).await?;
            groups.extend(body::<GroupList>("groups of a topic", &reply.body)?.group_list);
        }
        groups.sort();
        groups.dedup();
        groups.retain(|g| !super::is_system_group(g));
        Ok(groups)
    }

    /// Where `group` stands on one queue: the next offset it will consume there, if it has one.
    pub async fn consumer_offset(
        &self,
        address: &str,
        group: &str,
        topic: &str,
        queue_id: i32,
    ) -> Result<Option<i64>, AdapterError> {
        let (_, table) = self.consume_stats(address, group, Some(topic)).await?;
        Ok(table
            .into_iter()
            .find(|(key, _)| key.topic == topic && key.queue_id == queue_id)
            .map(|(_, offsets)| offsets.consumer_offset)
            .filter(|offset| *offset >= 0))
    }

    /// The trace of the message with client id `id`: every event the producers and consumers
    /// recorded for it in the trace topic, oldest first.
    pub async fn trace(&self, id: &str) -> Result<Vec<TraceEvent>, AdapterError> {
        let masters = self.readable_masters(TRACE_TOPIC).await?;
        let mut events = Vec::new();
        for (_, address, _) in masters {
            let request = Command::request(code::QUERY_MESSAGE)
                .field("topic", TRACE_TOPIC)
                .field("key", id)
                .field("maxNum", MAX_TRACE_MESSAGES)
                .field("beginTimestamp", 0)
                .field("endTimestamp", i64::MAX);
            let reply = self.remoting().call(&address, request).await?;
            match reply.code {
                response::SUCCESS => {
                    for message in decode_all(&reply.body)
                        .map_err(|e| AdapterError::Protocol(format!("{address}: {e}")))?
                    {
                        // Trace batches over 4 KiB are stored compressed.
                        let Ok(data) = message.content() else { continue };
                        events.extend(
                            decode_trace(&String::from_utf8_lossy(&data))
                                .into_iter()
                                .filter(|e| e.msg_id == id),
                        );
                        events.truncate(MAX_TRACE_EVENTS);
                    }
                }
                response::QUERY_NOT_FOUND => {}
                _ => return Err(remoting::refused(&address, code::QUERY_MESSAGE, &reply)),
            }
        }
        events.sort_by_key(|e| e.order_key());
        events.dedup();
        Ok(events)
    }

    /// Hands the stored message at `offset_id` (on the broker at `address`) to `client_id` of
    /// `group` to consume now, and returns what the client answered.
    pub async fn consume_directly(
        &self,
        address: &str,
        group: &str,
        client_id: &str,
        topic: &str,
        offset_id: &str,
    ) -> Result<DirectResult, AdapterError> {
        let request = Command::request(code::CONSUME_MESSAGE_DIRECTLY)
            .field("consumerGroup", group)
            .field("clientId", client_id)
            .field("msgId", offset_id)
            .field("topic", topic);
        let reply = self.remoting().call_ok(address, request).await?;
        body("direct consumption result", &reply.body)
    }

    /// The online producers of `producer_group`, as the masters of `topic` know them.
    pub async fn producers(
        &self,
        topic: &str,
        producer_group: &str,
    ) -> Result<Vec<ConsumerClient>, AdapterError> {
        let mut clients: BTreeMap<String, ConsumerClient> = BTreeMap::new();
        for (_, address, _) in self.readable_masters(topic).await? {
            let request = Command::request(code::GET_PRODUCER_CONNECTION_LIST)
                .field("producerGroup", producer_group)
                .field("topic", topic);
            let reply = self.remoting().call(&address, request).await?;
            if reply.code != response::SUCCESS {
                // Brokers answer "not online" as a system error with a remark.
                continue;
            }
            for c in body::<ProducerConnection>("producer connections", &reply.body)?.connection_set
            {
                clients.entry(c.client_id.clone()).or_insert_with(|| ConsumerClient {
                    client_id: c.client_id,
                    address: c.client_addr,
                    language: super::poll::text_of(&c.language),
                    version: super::version::version_text(&c.version),
                    proxy: None,
                });
            }
        }
        Ok(clients.into_values().collect())
    }
}

/// The `offset` field of a SEARCH_OFFSET / GET_MAX_OFFSET answer.
fn offset_field(address: &str, reply: Command) -> Result<i64, AdapterError> {
    reply
        .ext_fields
        .get("offset")
        .and_then(|o| o.parse().ok())
        .ok_or_else(|| AdapterError::Protocol(format!("{address} answered no offset")))
}

fn newest_first(found: &mut [Found]) {
    found.sort_by(|a, b| {
        (b.message.store_timestamp, &b.broker, b.message.queue_id, b.message.queue_offset).cmp(&(
            a.message.store_timestamp,
            &a.broker,
            a.message.queue_id,
            a.message.queue_offset,
        ))
    });
}

/// What became of a message for one subscribing group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Consumption {
    /// The group's offset on the message's queue is past it.
    Consumed,
    /// Past it, but the group's tag expression does not take its tag: skipped, not processed.
    ConsumedButFiltered,
    /// Not reached yet.
    NotConsumedYet,
    /// The group has no offset on that queue.
    NoOffset,
}

/// Whether a group at `consumer_offset` on the message's queue, subscribed with `expression`,
/// has consumed a message at `queue_offset` with `tag`.
pub fn consumption(
    queue_offset: i64,
    consumer_offset: Option<i64>,
    expression: Option<&str>,
    tag: Option<&str>,
) -> Consumption {
    let Some(consumer_offset) = consumer_offset else { return Consumption::NoOffset };
    if consumer_offset <= queue_offset {
        return Consumption::NotConsumedYet;
    }
    if expression.is_some_and(|e| !tag_matches(e, tag)) {
        Consumption::ConsumedButFiltered
    } else {
        Consumption::Consumed
    }
}

/// Whether a TAG expression (`*`, or tags joined by `||`) takes a message with `tag`. Anything
/// else (SQL92) is taken as matching: only the broker can evaluate it.
fn tag_matches(expression: &str, tag: Option<&str>) -> bool {
    let expression = expression.trim();
    if expression.is_empty() || expression == "*" {
        return true;
    }
    let tags: Vec<&str> = expression.split("||").map(str::trim).collect();
    if tags.iter().any(|t| t.is_empty() || t.contains(' ') || t.contains('=')) {
        return true;
    }
    tag.is_some_and(|tag| tags.contains(&tag))
}

/// The consumer offsets of `groups` on the message's queue, asked of its broker.
pub async fn consumer_offsets(
    adapter: &RocketAdapter,
    found: &Found,
    groups: &[String],
) -> HashMap<String, Result<Option<i64>, String>> {
    let asked = futures::stream::iter(groups.iter().cloned().map(|group| async move {
        let offset = adapter
            .consumer_offset(&found.address, &group, &found.message.topic, found.message.queue_id)
            .await
            .map_err(|e| e.to_string());
        (group, offset)
    }))
    .buffered(CONCURRENCY)
    .collect::<Vec<_>>()
    .await;
    asked.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_group_consumed_a_message_once_its_offset_is_past_it() {
        assert_eq!(consumption(5, Some(6), Some("*"), Some("a")), Consumption::Consumed);
        assert_eq!(consumption(5, Some(5), Some("*"), Some("a")), Consumption::NotConsumedYet);
        assert_eq!(consumption(5, None, Some("*"), None), Consumption::NoOffset);
        assert_eq!(consumption(5, Some(9), None, None), Consumption::Consumed);
    }

    #[test]
    fn a_tag_the_group_does_not_take_is_consumed_but_filtered() {
        assert_eq!(consumption(5, Some(6), Some("a || b"), Some("b")), Consumption::Consumed);
        assert_eq!(
            consumption(5, Some(6), Some("a || b"), Some("c")),
            Consumption::ConsumedButFiltered
        );
        assert_eq!(consumption(5, Some(6), Some("a"), None), Consumption::ConsumedButFiltered);
        assert_eq!(
            consumption(5, Some(6), Some("price > 5"), Some("c")),
            Consumption::Consumed,
            "SQL92 is the broker's to judge"
        );
    }
}
