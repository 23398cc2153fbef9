//! How many messages each topic received over a past window: each topic's end-offset total,
//! kept one sample per `history.topic_sample_interval` (a minute by default) for two hours or
//! [`MAX_SAMPLES`] samples, whichever is shorter, for the `producer_stopped` rule ("a topic that
//! had traffic receives fewer than N messages in a window"). Pure: times come with the
//! snapshots.

use std::collections::HashMap;
use std::sync::Arc;

use crate::domain::{ClusterSnapshot, Millis, Topic};

/// How far back samples are kept: twice the longest window (a window and the one before it).
pub const FLOW_HORIZON: Millis = 2 * 3_600_000;
/// Most samples kept per topic: two hours of one-minute samples, and now.
pub const MAX_SAMPLES: usize = 121;

/// Each topic's end-offset total over the last [`FLOW_HORIZON`], oldest first, one sample per
/// `spacing` (the precision of a window's start). A topic's samples are shared, not copied,
/// from one published state to the next until a new one is kept.
#[derive(Debug, Clone)]
pub struct TopicFlows {
    spacing: Millis,
    topics: HashMap<String, Arc<[(Millis, i64)]>>,
}

impl Default for TopicFlows {
    fn default() -> Self {
        TopicFlows::new(60_000)
    }
}

/// What a topic received around a window ending now.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Flow {
    /// Messages received within the window.
    pub received: i64,
    /// Messages received in the kept history before the window: whether it had traffic.
    pub before: i64,
}

impl TopicFlows {
    pub fn new(spacing: Millis) -> Self {
        TopicFlows { spacing: spacing.max(1), topics: HashMap::new() }
    }

    /// Whether `snapshot` brings anything to keep: a topic's next sample, a new topic or one gone.
    /// Between samples nothing changes, so the published state keeps sharing these flows.
    pub fn changes_with(&self, snapshot: &ClusterSnapshot) -> bool {
        let mut kept = 0;
        for topic in counted(snapshot) {
            kept += 1;
            match self.topics.get(&topic.name) {
                None => return true,
                Some(samples) if self.due(samples, snapshot.taken_at) => return true,
                Some(_) => {}
            }
        }
        kept != self.topics.len()
    }

    /// Records `snapshot`'s end-offset totals where a sample is due; topics gone from it are
    /// dropped. In place: a topic's name is copied once, when it first appears.
    pub fn record(&mut self, snapshot: &ClusterSnapshot) {
        let (now, spacing) = (snapshot.taken_at, self.spacing);
        self.topics.retain(|name, _| {
            snapshot.topic(name).is_some_and(|t| !t.internal && end_total(t).is_some())
        });
        for topic in counted(snapshot) {
            let Some(total) = end_total(topic) else { continue };
            match self.topics.get_mut(&topic.name) {
                Some(samples) if !Self::is_due(spacing, samples, now) => {}
                Some(samples) => {
                    let recent = samples.iter().position(|&(at, _)| at >= now - FLOW_HORIZON);
                    let from = recent
                        .unwrap_or(samples.len())
                        .max((samples.len() + 1).saturating_sub(MAX_SAMPLES));
                    let mut next: Vec<(Millis, i64)> = samples[from..].to_vec();
                    next.push((now, total));
                    *samples = next.into();
                }
                None => {
                    self.topics.insert(topic.name.clone(), Arc::from([(now, total)]));
                }
            }
        }
    }

    fn due(&self, samples: &[(Millis, i64)], now: Millis) -> bool {
        Self::is_due(self.spacing, samples, now)
    }

    /// A sample is due a spacing after the last one kept.
    fn is_due(spacing: Millis, samples: &[(Millis, i64)], now: Millis) -> bool {
        samples.last().is_none_or(|&(at, _)| now - at >= spacing)
    }

    /// What `topic` received in the `window` before `now`, its end total now being `end_now`;
    /// `None` while the kept history does not reach back to the window's start.
    pub fn flow(&self, topic: &str, end_now: i64, now: Millis, window: Millis) -> Option<Flow> {
        let samples = self.topics.get(topic)?;
        let start = now - window;
        let at_start = samples.iter().rev().find(|&&(at, _)| at <= start)?.1;
        let oldest = samples.first()?.1;
        Some(Flow { received: (end_now - at_start).max(0), before: (at_start - oldest).max(0) })
    }
}

/// The topics whose flow is counted: not internal, every end offset known.
fn counted(snapshot: &ClusterSnapshot) -> impl Iterator<Item = &Topic> {
    snapshot.topics.iter().filter(|t| !t.internal && end_total(t).is_some())
}

/// The sum of a topic's end offsets, when every partition's is known.
pub fn end_total(topic: &Topic) -> Option<i64> {
    topic.partitions.iter().map(|p| p.latest_offset).sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::fixtures::{partition, snapshot, topic};

    fn poll(at_secs: i64, end: i64) -> ClusterSnapshot {
        snapshot(at_secs * 1000, vec![topic("orders", vec![partition(0, Some(1), (0, end))])])
    }

    #[test]
    fn a_window_counts_what_arrived_since_its_start_and_before_it() {
        let mut flows = TopicFlows::default();
        // 10 messages a minute for 20 minutes, then nothing for 10.
        for minute in 0..=30 {
            let end = 10 * minute.min(20);
            flows.record(&poll(minute * 60, end));
        }
        let now = 30 * 60_000;
        let flow = flows.flow("orders", 200, now, 10 * 60_000).unwrap();
        assert_eq!(flow, Flow { received: 0, before: 200 });
        let flow = flows.flow("orders", 200, now, 15 * 60_000).unwrap();
        assert_eq!(flow, Flow { received: 50, before: 150 });
        assert_eq!(flows.flow("orders", 200, now, 60 * 60_000), None, "not that far back yet");
        assert_eq!(flows.flow("gone", 0, now, 60_000), None);
    }

    #[test]
    fn samples_are_kept_a_minute_apart_for_two_hours_and_shared_meanwhile() {
        let mut flows = TopicFlows::default();
        flows.record(&poll(0, 0));
        let first = Arc::clone(&flows.topics["orders"]);
        assert!(!flows.changes_with(&poll(10, 5)), "within a minute: nothing to keep");
        flows.record(&poll(10, 5));
        assert!(Arc::ptr_eq(&first, &flows.topics["orders"]), "within a minute: unchanged");
        assert!(flows.changes_with(&poll(60, 6)), "a minute on: a sample");
        let two = snapshot(
            20_000,
            vec![
                topic("orders", vec![partition(0, Some(1), (0, 5))]),
                topic("new", vec![partition(0, Some(1), (0, 1))]),
            ],
        );
        assert!(flows.changes_with(&two), "a new topic");
        assert!(flows.changes_with(&snapshot(20_000, vec![])), "a topic gone");
        let mut gone = flows.clone();
        gone.record(&snapshot(20_000, vec![]));
        assert!(gone.topics.is_empty());
        for minute in 1..=180 {
            flows.record(&poll(minute * 60, minute));
        }
        let samples = &flows.topics["orders"];
        assert_eq!(samples.len(), 121, "two hours of minutes and now");
        assert_eq!(samples[0].0, 60 * 60_000);
        // Denser samples keep fewer than two hours.
        let mut dense = TopicFlows::new(1_000);
        for second in 0..=300 {
            dense.record(&poll(second, second));
        }
        assert_eq!(dense.topics["orders"].len(), MAX_SAMPLES);
        assert_eq!(dense.topics["orders"][0].0, 180_000);
    }
}
