//! RocketMQ test messages: the Send page and API of a topic speak RocketMQ for RocketMQ clusters
//! (tag, keys, body, properties; a queue or round-robin), with the same checks and audit as Kafka.

use std::collections::BTreeMap;

use super::AppState;
use super::error::WebError;
use crate::brokers::SendOutcome;
use crate::brokers::rocketmq::message::Outgoing;
use crate::brokers::rocketmq::{MAX_MESSAGE_BYTES, RocketAdapter};
use crate::clock::now_millis;
use crate::domain::rocket::MessageQueue;
use crate::operate::{SendRequest, expand};
use crate::query::QueryError;

/// The topic's queues as the last poll listed them; partition `i` of the generic topic is
/// `queues[i]`.
pub fn queues_of(state: &AppState, cluster: &str, topic: &str) -> Vec<MessageQueue> {
    let snapshot = state.clusters.get(cluster).and_then(|c| c.snapshot.clone());
    snapshot
        .and_then(|s| {
            let rocket = s.rocket.as_ref()?;
            Some(rocket.topics.iter().find(|t| t.name == topic)?.queues.clone())
        })
        .unwrap_or_default()
}

/// Sends the messages `request` stands for, one by one, each to its queue.
pub async fn send(
    state: &AppState,
    rocket: &RocketAdapter,
    cluster: &str,
    topic: &str,
    request: &SendRequest,
) -> Result<Vec<SendOutcome>, WebError> {
    let queues = queues_of(state, cluster, topic);
    let target = match request.partition {
        Some(index) => {
            let queue =
                usize::try_from(index).ok().and_then(|i| queues.get(i)).ok_or_else(|| {
                    WebError::Query(QueryError::UnknownTopic {
                        cluster: cluster.to_owned(),
                        topic: format!("{topic} queue #{index}"),
                    })
                })?;
            Some((queue.broker.clone(), queue.queue_id))
        }
        None => None,
    };
    let messages = expand(request, MAX_MESSAGE_BYTES)?;
    let mut outcomes = Vec::with_capacity(messages.len());
    for (i, message) in messages.into_iter().enumerate() {
        let fill = |text: &str| text.replace("{{i}}", &(i + 1).to_string());
        let outgoing = Outgoing {
            topic: topic.to_owned(),
            tag: request.tag.as_deref().map(fill).filter(|t| !t.is_empty()),
            keys: message
                .key
                .map(|k| {
                    String::from_utf8_lossy(&k).split_whitespace().map(str::to_owned).collect()
                })
                .unwrap_or_default(),
            body: message.value.unwrap_or_default(),
            properties: message
                .headers
                .into_iter()
                .map(|(k, v)| (k, String::from_utf8_lossy(&v).into_owned()))
                .collect::<BTreeMap<_, _>>(),
        };
        let target = target.as_ref().map(|(broker, queue)| (broker.as_str(), *queue));
        outcomes.push(match rocket.send(&outgoing, target, now_millis()).await {
            Ok(stored) => SendOutcome {
                partition: queues
                    .iter()
                    .position(|q| q.broker == stored.broker && q.queue_id == stored.queue_id)
                    .and_then(|i| i32::try_from(i).ok()),
                offset: stored.queue_offset,
                message_id: stored.message_id,
                error: None,
            },
            Err(e) => SendOutcome {
                partition: request.partition,
                offset: None,
                message_id: None,
                error: Some(e.to_string()),
            },
        });
    }
    Ok(outcomes)
}
