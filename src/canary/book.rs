//! The canary's rounds over its window turned into figures (pure: every time is an argument).

use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

use crate::domain::Millis;
use crate::domain::canary::{BrokerCanary, CanaryFigures, CanaryReading, MarkerOutcome};

/// The shortest window the figures cover: percentiles of a minute of markers at least.
const MIN_WINDOW: Millis = 60_000;
/// Rounds the window covers at least.
const WINDOW_ROUNDS: i64 = 6;

/// The rounds of the last window and the totals since the canary started.
#[derive(Debug)]
pub struct CanaryBook {
    topic: String,
    interval_ms: Millis,
    window_ms: Millis,
    rounds: VecDeque<(Millis, Vec<MarkerOutcome>)>,
    /// Per broker (`None`: no leader known), markers sent and lost since the start.
    totals: BTreeMap<Option<i32>, (u64, u64)>,
    /// The names of brokers known by name.
    nodes: BTreeMap<i32, String>,
    last_at: Option<Millis>,
    error: Option<String>,
}

impl CanaryBook {
    pub fn new(topic: String, interval: Duration) -> CanaryBook {
        let interval_ms = i64::try_from(interval.as_millis()).unwrap_or(i64::MAX);
        CanaryBook {
            topic,
            interval_ms,
            window_ms: interval_ms.saturating_mul(WINDOW_ROUNDS).max(MIN_WINDOW),
            rounds: VecDeque::new(),
            totals: BTreeMap::new(),
            nodes: BTreeMap::new(),
            last_at: None,
            error: None,
        }
    }

    /// Keeps the round that ended `at`: its markers, or why it sent none.
    pub fn record(&mut self, at: Millis, outcome: Result<Vec<MarkerOutcome>, String>) {
        self.last_at = Some(at);
        match outcome {
            Ok(markers) => {
                self.error = None;
                for marker in &markers {
                    let total = self.totals.entry(marker.broker).or_default();
                    total.0 += 1;
                    total.1 += u64::from(marker.lost());
                    if let (Some(id), Some(node)) = (marker.broker, &marker.node) {
                        self.nodes.insert(id, node.clone());
                    }
                }
                self.rounds.push_back((at, markers));
            }
            Err(error) => self.error = Some(error),
        }
        while self.rounds.front().is_some_and(|(t, _)| at - t > self.window_ms) {
            self.rounds.pop_front();
        }
    }

    pub fn reading(&self) -> CanaryReading {
        let markers = || self.rounds.iter().flat_map(|(_, m)| m);
        let all_totals =
            self.totals.values().fold((0, 0), |(sent, lost), (s, l)| (sent + s, lost + l));
        let mut brokers: Vec<BrokerCanary> = self
            .totals
            .iter()
            .filter_map(|(broker, totals)| {
                let broker = (*broker)?;
                let figures = figures(markers().filter(|m| m.broker == Some(broker)), *totals);
                let node = self.nodes.get(&broker).cloned();
                Some(BrokerCanary { broker, node, figures })
            })
            .collect();
        brokers.sort_by_key(|b| b.broker);
        let last_lost = self
            .rounds
            .back()
            .map(|(_, m)| m.iter().filter(|m| m.lost()).cloned().collect())
            .unwrap_or_default();
        CanaryReading {
            topic: self.topic.clone(),
            interval_ms: self.interval_ms,
            window_ms: self.window_ms,
            at: self.last_at,
            error: self.error.clone(),
            cluster: figures(markers(), all_totals),
            brokers,
            last_lost,
        }
    }
}

fn figures<'a>(
    markers: impl Iterator<Item = &'a MarkerOutcome>,
    (sent_total, lost_total): (u64, u64),
) -> CanaryFigures {
    let (mut sent, mut lost) = (0, 0);
    let (mut produce, mut end_to_end) = (Vec::new(), Vec::new());
    for marker in markers {
        sent += 1;
        lost += u64::from(marker.lost());
        produce.extend(marker.produce_ms);
        end_to_end.extend(marker.end_to_end_ms);
    }
    produce.sort_by(f64::total_cmp);
    end_to_end.sort_by(f64::total_cmp);
    CanaryFigures {
        sent,
        lost,
        produce_p50_ms: percentile(&produce, 50.0),
        produce_p99_ms: percentile(&produce, 99.0),
        end_to_end_p50_ms: percentile(&end_to_end, 50.0),
        end_to_end_p99_ms: percentile(&end_to_end, 99.0),
        sent_total,
        lost_total,
    }
}

/// The nearest-rank percentile of sorted values.
fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (p / 100.0 * sorted.len() as f64).ceil() as usize;
    sorted.get(rank.clamp(1, sorted.len()) - 1).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn marker(partition: i32, broker: i32, e2e: Option<f64>) -> MarkerOutcome {
        MarkerOutcome {
            partition,
            broker: Some(broker),
            node: None,
            produce_ms: e2e.map(|e| e / 2.0),
            end_to_end_ms: e2e,
            error: None,
        }
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let values: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&values, 50.0), Some(50.0));
        assert_eq!(percentile(&values, 99.0), Some(99.0));
        assert_eq!(percentile(&[7.0], 99.0), Some(7.0));
        assert_eq!(percentile(&[], 50.0), None);
    }

    #[test]
    fn lost_markers_count_against_their_broker_and_leave_with_the_window() {
        let mut book = CanaryBook::new("__osprey_canary".into(), Duration::from_secs(10));
        book.record(0, Ok(vec![marker(0, 1, Some(4.0)), marker(1, 2, Some(8.0))]));
        book.record(10_000, Ok(vec![marker(0, 1, Some(6.0)), marker(1, 2, None)]));
        let reading = book.reading();
        assert_eq!((reading.cluster.sent, reading.cluster.lost), (4, 1));
        assert_eq!(reading.cluster.end_to_end_p50_ms, Some(6.0));
        assert_eq!(reading.cluster.end_to_end_p99_ms, Some(8.0));
        assert_eq!(reading.broker(2).map(|b| (b.sent, b.lost)), Some((2, 1)));
        assert_eq!(reading.broker(1).and_then(|b| b.produce_p99_ms), Some(3.0));
        assert_eq!(reading.last_lost.len(), 1);
        assert_eq!(reading.cluster.lost_percent(), Some(25.0));
        // A minute later the lost marker left the window; the totals keep it.
        book.record(71_000, Ok(vec![marker(0, 1, Some(5.0)), marker(1, 2, Some(5.0))]));
        let reading = book.reading();
        assert_eq!((reading.cluster.sent, reading.cluster.lost), (2, 0));
        assert_eq!((reading.cluster.sent_total, reading.cluster.lost_total), (6, 1));
        assert!(reading.last_lost.is_empty());
    }

    #[test]
    fn a_round_that_sent_nothing_keeps_the_figures_and_says_why() {
        let mut book = CanaryBook::new("c".into(), Duration::from_secs(10));
        book.record(0, Ok(vec![marker(0, 1, Some(4.0))]));
        book.record(10_000, Err("no such topic".into()));
        let reading = book.reading();
        assert_eq!(reading.error.as_deref(), Some("no such topic"));
        assert_eq!(reading.at, Some(10_000));
        assert_eq!(reading.cluster.sent, 1);
        book.record(20_000, Ok(vec![]));
        assert_eq!(book.reading().error, None);
    }
}
