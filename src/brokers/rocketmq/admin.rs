//! Changing a RocketMQ cluster as `mqadmin` does: topics (create or update queues and
//! permission on chosen masters, delete from every master and name server), subscription groups
//! (create or update their settings on every master, delete with their offsets), and a group's
//! offsets on a topic reset to a time.

use serde::Serialize;

use super::remoting::{Command, code, response};
use super::{AdapterError, RocketAdapter, queue_table, remoting};
use crate::domain::Millis;
use crate::domain::rocket::GroupSettings;

/// Permission bits of a topic: 2 write, 4 read (6 both).
pub const PERM_READ_WRITE: i32 = 6;

/// A topic's queues and permission, as created or updated on a broker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicChange {
    pub name: String,
    pub read_queues: i32,
    pub write_queues: i32,
    pub perm: i32,
}

/// One queue of a reset: where the group stood and where it stands after.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QueueReset {
    pub broker: String,
    pub queue_id: i32,
    /// `None` when the group had no offset there.
    pub current: Option<i64>,
    pub new: i64,
}

impl RocketAdapter {
    /// `(name, address)` of every master broker.
    pub async fn masters(&self) -> Result<Vec<(String, String)>, AdapterError> {
        let (_, brokers) = self.brokers().await?;
        Ok(brokers.into_iter().filter(|b| b.broker_id == 0).map(|b| (b.name, b.address)).collect())
    }

    /// Creates or updates `change` on the master at `address`.
    pub async fn upsert_topic_on(
        &self,
        address: &str,
        change: &TopicChange,
    ) -> Result<(), AdapterError> {
        // An update replaces the whole config: keep what this form does not change.
        let current = self.topic_configs(address).await?.remove(&change.name);
        let (order, sys_flag) = current.map_or((false, 0), |c| (c.order, c.topic_sys_flag));
        let request = Command::request(code::UPDATE_AND_CREATE_TOPIC)
            .field("topic", &change.name)
            .field("defaultTopic", "TBW102")
            .field("readQueueNums", change.read_queues)
            .field("writeQueueNums", change.write_queues)
            .field("perm", change.perm)
            .field("topicFilterType", "SINGLE_TAG")
            .field("topicSysFlag", sys_flag)
            .field("order", order);
        self.remoting().call_ok(address, request).await.map(drop)
    }

    /// Creates or updates `change` on the masters named in `brokers` (every master when empty);
    /// returns the names of the masters changed.
    pub async fn upsert_topic(
        &self,
        change: &TopicChange,
        brokers: &[String],
    ) -> Result<Vec<String>, AdapterError> {
        let chosen = self.chosen_masters(brokers).await?;
        for (_, address) in &chosen {
            self.upsert_topic_on(address, change).await?;
        }
        Ok(chosen.into_iter().map(|(name, _)| name).collect())
    }

    /// Deletes `topic` from every master, then from every name server.
    pub async fn delete_topic(&self, topic: &str) -> Result<(), AdapterError> {
        for (_, address) in self.masters().await? {
            let request = Command::request(code::DELETE_TOPIC_IN_BROKER).field("topic", topic);
            self.remoting().call_ok(&address, request).await?;
        }
        for namesrv in &self.settings.namesrv_addrs {
            let request = Command::request(code::DELETE_TOPIC_IN_NAMESRV).field("topic", topic);
            self.remoting().call_ok(namesrv, request).await?;
        }
        Ok(())
    }

    /// Creates or updates subscription group `name` with `settings` on the master at `address`.
    pub async fn upsert_group_on(
        &self,
        address: &str,
        name: &str,
        settings: &GroupSettings,
    ) -> Result<(), AdapterError> {
        // An update replaces the whole config: start from the group's own (orderly consumption,
        // retry policy, timeouts stay as they are) and change only what this form sets.
        let mut config = self.group_config(address, name).await?.unwrap_or_else(|| {
            serde_json::json!({
                "consumeFromMinEnable": true,
                "brokerId": 0,
                "whichBrokerWhenConsumeSlowly": 1,
                "notifyConsumerIdsChangedEnable": true,
            })
        });
        if let Some(fields) = config.as_object_mut() {
            for (key, value) in [
                ("groupName", serde_json::json!(name)),
                ("consumeEnable", serde_json::json!(settings.consume_enable)),
                ("consumeBroadcastEnable", serde_json::json!(settings.consume_broadcast_enable)),
                ("retryMaxTimes", serde_json::json!(settings.retry_max_times)),
                ("retryQueueNums", serde_json::json!(settings.retry_queue_nums)),
            ] {
                fields.insert(key.to_owned(), value);
            }
        }
        let body = serde_json::to_vec(&config)
            .map_err(|e| AdapterError::Config(format!("group settings: {e}")))?;
        let request = Command::request(code::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP).with_body(body);
        self.remoting().call_ok(address, request).await.map(drop)
    }

    /// The subscription group's config as the master at `address` has it, if it has it.
    async fn group_config(
        &self,
        address: &str,
        name: &str,
    ) -> Result<Option<serde_json::Value>, AdapterError> {
        let request = Command::request(code::GET_ALL_SUBSCRIPTIONGROUP_CONFIG);
        let reply = self.remoting().call_ok(address, request).await?;
        let all = super::lenient::parse(&reply.body)
            .map_err(|e| AdapterError::Protocol(format!("subscription groups: {e}")))?;
        Ok(all["subscriptionGroupTable"].get(name).filter(|c| c.is_object()).cloned())
    }

    /// Creates or updates subscription group `name` on every master.
    pub async fn upsert_group(
        &self,
        name: &str,
        settings: &GroupSettings,
    ) -> Result<(), AdapterError> {
        for (_, address) in self.masters().await? {
            self.upsert_group_on(&address, name, settings).await?;
        }
        Ok(())
    }

    /// Deletes subscription group `name` and its offsets from every master.
    pub async fn delete_group(&self, name: &str) -> Result<(), AdapterError> {
        for (_, address) in self.masters().await? {
            let request = Command::request(code::DELETE_SUBSCRIPTIONGROUP)
                .field("groupName", name)
                .field("cleanOffset", true);
            self.remoting().call_ok(&address, request).await?;
        }
        Ok(())
    }

    /// Where `group` would stand on every queue of `topic` if reset to the first message stored
    /// at or after `at` (the queue's end when there is none).
    pub async fn reset_plan(
        &self,
        group: &str,
        topic: &str,
        at: Millis,
    ) -> Result<Vec<QueueReset>, AdapterError> {
        let mut plan = Vec::new();
        for (broker, address, read_queues) in self.readable_masters(topic).await? {
            let (_, offsets) = self.consume_stats(&address, group, Some(topic)).await?;
            for queue_id in 0..read_queues {
                let current = offsets
                    .iter()
                    .find(|(key, _)| key.topic == topic && key.queue_id == queue_id)
                    .map(|(_, o)| o.consumer_offset)
                    .filter(|offset| *offset >= 0);
                plan.push(QueueReset {
                    current,
                    new: self.offset_at(&address, topic, queue_id, at).await?,
                    broker: broker.clone(),
                    queue_id,
                });
            }
        }
        Ok(plan)
    }

    /// Resets `group` on every queue of `topic` to the first message stored at or after `at`.
    /// Brokers reset their stored offsets and tell the group's online clients; a broker too old
    /// to reset offsets of a group with no client online gets them committed queue by queue.
    pub async fn reset_to_time(
        &self,
        group: &str,
        topic: &str,
        at: Millis,
    ) -> Result<Vec<QueueReset>, AdapterError> {
        let plan = self.reset_plan(group, topic, at).await?;
        let mut done = Vec::new();
        for (broker, address, _) in self.readable_masters(topic).await? {
            let request = Command::request(code::INVOKE_BROKER_TO_RESET_OFFSET)
                .field("topic", topic)
                .field("group", group)
                .field("timestamp", at)
                .field("isForce", true)
                .field("queueId", -1);
            let reply = self.remoting().call(&address, request).await?;
            let planned = plan.iter().filter(|q| q.broker == broker);
            match reply.code {
                response::SUCCESS => {
                    let value = super::lenient::parse(&reply.body).map_err(|e| {
                        AdapterError::Protocol(format!("reset offsets of {group}: {e}"))
                    })?;
                    let table: Vec<(super::MessageQueueKey, i64)> =
                        queue_table("reset offsets", &value["offsetTable"])?;
                    for queue in planned {
                        let new = table
                            .iter()
                            .find(|(key, _)| key.queue_id == queue.queue_id)
                            .map_or(queue.new, |(_, offset)| *offset);
                        done.push(QueueReset { new, ..queue.clone() });
                    }
                }
                response::CONSUMER_NOT_ONLINE => {
                    for queue in planned {
                        self.commit_offset(&address, group, topic, queue.queue_id, queue.new)
                            .await?;
                        done.push(queue.clone());
                    }
                }
                _ => {
                    return Err(remoting::refused(
                        &address,
                        code::INVOKE_BROKER_TO_RESET_OFFSET,
                        &reply,
                    ));
                }
            }
        }
        Ok(done)
    }

    /// The masters named in `brokers`, or every master when it is empty; an unknown name is an
    /// error naming it.
    async fn chosen_masters(
        &self,
        brokers: &[String],
    ) -> Result<Vec<(String, String)>, AdapterError> {
        let masters = self.masters().await?;
        if brokers.is_empty() {
            return Ok(masters);
        }
        brokers
            .iter()
            .map(|wanted| {
                masters.iter().find(|(name, _)| name == wanted).cloned().ok_or_else(|| {
                    AdapterError::Config(format!(
                        "no master broker is named {}",
                        crate::domain::clipped(wanted)
                    ))
                })
            })
            .collect()
    }
}
