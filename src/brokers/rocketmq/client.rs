//! What a RocketMQ client does besides reading: create a topic or a subscription group on a
//! broker, pull messages, commit a consumer offset, announce a consumer with a heartbeat. Used
//! by the demo's traffic, the tests' consumers, message queries (pull) and resets (commit).

use serde_json::json;

use super::RocketAdapter;
use super::admin::{PERM_READ_WRITE, TopicChange};
use super::message::{StoredMessage, decode_all, pull_request};
use super::remoting::{Command, code, response};
use crate::brokers::AdapterError;
use crate::domain::Millis;
use crate::domain::rocket::GroupSettings;

impl RocketAdapter {
    /// Creates (or updates) `topic` on the broker at `broker` with `queues` read and write queues.
    pub async fn create_topic(
        &self,
        broker: &str,
        topic: &str,
        queues: i32,
    ) -> Result<(), AdapterError> {
        let change = TopicChange {
            name: topic.to_owned(),
            read_queues: queues,
            write_queues: queues,
            perm: PERM_READ_WRITE,
        };
        self.upsert_topic_on(broker, &change).await
    }

    /// Creates (or updates) a subscription group on the broker at `broker`.
    pub async fn create_group(&self, broker: &str, group: &str) -> Result<(), AdapterError> {
        self.upsert_group_on(broker, group, &GroupSettings::default()).await
    }

    /// Up to `max` messages of a queue from `offset`, committing nothing; none when the queue
    /// has nothing there yet.
    pub async fn pull(
        &self,
        broker: &str,
        group: &str,
        topic: &str,
        queue_id: i32,
        offset: i64,
        max: i32,
    ) -> Result<Vec<StoredMessage>, AdapterError> {
        let reply =
            self.remoting().call(broker, pull_request(group, topic, queue_id, offset, max)).await?;
        match reply.code {
            response::SUCCESS => {
                decode_all(&reply.body).map_err(|e| AdapterError::Protocol(e.to_string()))
            }
            response::PULL_NOT_FOUND
            | response::PULL_RETRY_IMMEDIATELY
            | response::PULL_OFFSET_MOVED => Ok(Vec::new()),
            _ => Err(super::remoting::refused(broker, code::PULL_MESSAGE, &reply)),
        }
    }

    /// Commits `offset` (the next message to consume) for `group` on a queue.
    pub async fn commit_offset(
        &self,
        broker: &str,
        group: &str,
        topic: &str,
        queue_id: i32,
        offset: i64,
    ) -> Result<(), AdapterError> {
        let request = Command::request(code::UPDATE_CONSUMER_OFFSET)
            .field("consumerGroup", group)
            .field("topic", topic)
            .field("queueId", queue_id)
            .field("commitOffset", offset);
        self.remoting().call_ok(broker, request).await.map(drop)
    }

    /// Tells the broker a push consumer `client_id` of `group`, subscribed to every tag of
    /// `topic`, is online. It stays online while this adapter's connection is open.
    pub async fn heartbeat(
        &self,
        broker: &str,
        client_id: &str,
        group: &str,
        topic: &str,
        now: Millis,
    ) -> Result<(), AdapterError> {
        let body = json!({
            "clientID": client_id,
            "producerDataSet": [],
            "consumerDataSet": [{
                "groupName": group, "consumeType": "CONSUME_PASSIVELY",
                "messageModel": "CLUSTERING", "consumeFromWhere": "CONSUME_FROM_FIRST_OFFSET",
                "subscriptionDataSet": [{"classFilterMode": false, "topic": topic, "subString": "*",
                    "tagsSet": [], "codeSet": [], "subVersion": now, "expressionType": "TAG"}],
                "unitMode": false
            }]
        });
        let body = serde_json::to_vec(&body).map_err(|e| AdapterError::Config(e.to_string()))?;
        self.remoting()
            .call_ok(broker, Command::request(code::HEART_BEAT).with_body(body))
            .await
            .map(drop)
    }
}
