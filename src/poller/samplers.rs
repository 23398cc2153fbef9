//! Which topics and queues get a history row at a poll: one per slot of the sample grid, and
//! only those that moved (idle ones cost nothing). Pure: the poll's time comes in the snapshot.

use std::collections::HashMap;
use std::time::Duration;

use super::millis;
use crate::domain::{ClusterSnapshot, Millis};
use crate::store::{QueueSample, TopicSample};

/// Whether a poll at `now` starts a new slot of the `interval` grid (slots are aligned to the
/// epoch, as chart buckets are), so samplers write exactly one row per slot whatever the poll
/// jitter: the first poll of each slot. The first poll ever is always due.
fn due(last_tick: Option<Millis>, now: Millis, interval: Millis) -> bool {
    let interval = interval.max(1);
    last_tick.is_none_or(|at| now.div_euclid(interval) != at.div_euclid(interval))
}

/// Decides which topics get a history row: one per `interval` slot of the time grid (the first
/// poll in each slot), and only topics that moved since the previous row (idle topics cost
/// nothing). The rate is measured over the real time since the previous slot's row, about one
/// interval, so a burst after a quiet hour is not averaged over the hour.
#[derive(Debug)]
pub struct TopicSampler {
    interval: Millis,
    last_tick: Option<Millis>,
    end_offsets: HashMap<String, i64>,
}

impl TopicSampler {
    pub fn new(interval: Duration) -> Self {
        TopicSampler { interval: millis(interval), last_tick: None, end_offsets: HashMap::new() }
    }

    pub fn sample(&mut self, snapshot: &ClusterSnapshot) -> Vec<TopicSample> {
        let now = snapshot.taken_at;
        if !due(self.last_tick, now, self.interval) {
            return Vec::new();
        }
        let previous_tick = self.last_tick;
        let mut rows = Vec::new();
        let mut seen = HashMap::with_capacity(snapshot.topics.len());
        for topic in &snapshot.topics {
            let end = topic.end_offset_sum();
            let before = self.end_offsets.get(&topic.name).copied();
            if before != Some(end) {
                let rate = match (before, previous_tick) {
                    (Some(before), Some(at)) if end >= before && now > at => {
                        Some((end - before) as f64 * 1000.0 / (now - at) as f64)
                    }
                    _ => None,
                };
                rows.push(TopicSample {
                    topic: topic.name.clone(),
                    partitions: topic.partitions.len() as i64,
                    end_offset_sum: end,
                    messages_in_per_sec: rate,
                });
            }
            seen.insert(topic.name.clone(), end);
        }
        self.end_offsets = seen;
        self.last_tick = Some(now);
        rows
    }
}

/// Decides which queues (tubes) get a history row: one per `interval` slot of the time grid
/// (as [`TopicSampler`]), for queues that hold messages, have traffic or changed since their
/// last row (idle empty queues cost nothing, as idle topics do).
#[derive(Debug)]
pub struct QueueSampler {
    interval: Millis,
    last_tick: Option<Millis>,
    last: HashMap<(String, String), (u64, u64)>,
}

impl QueueSampler {
    pub fn new(interval: Duration) -> Self {
        QueueSampler { interval: millis(interval), last_tick: None, last: HashMap::new() }
    }

    pub fn sample(&mut self, snapshot: &ClusterSnapshot) -> Vec<QueueSample> {
        let Some(view) = &snapshot.queues else { return Vec::new() };
        let now = snapshot.taken_at;
        if !due(self.last_tick, now, self.interval) {
            return Vec::new();
        }
        self.last_tick = Some(now);
        let mut rows = Vec::new();
        let mut seen = HashMap::with_capacity(view.queues.len());
        for queue in &view.queues {
            let key = (queue.vhost.clone(), queue.name.clone());
            let now_figures = (queue.backlog(), queue.consumers);
            let rates = &queue.message_stats;
            let busy = queue.backlog() > 0
                || rates.publish.is_some_and(|r| r > 0.0)
                || rates.deliver_get.is_some_and(|r| r > 0.0);
            let storable = queue.vhost.len() <= 255 && queue.name.len() <= 255;
            if storable && (busy || self.last.get(&key) != Some(&now_figures)) {
                let count = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
                rows.push(QueueSample {
                    vhost: queue.vhost.clone(),
                    queue: queue.name.clone(),
                    backlog: count(queue.backlog()),
                    ready: count(queue.messages_ready),
                    unacked: count(queue.messages_unacknowledged),
                    consumers: count(queue.consumers),
                    publish_rate: rates.publish,
                    deliver_rate: rates.deliver_get,
                });
            }
            seen.insert(key, now_figures);
        }
        self.last = seen;
        rows
    }
}
