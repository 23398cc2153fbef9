//! Lag in seconds: how long ago the log end was where the consumer's committed offset is now.
//! Each partition keeps a bounded history of (time, end offset) points; the committed offset is
//! located between two points and its time interpolated, or extrapolated past the oldest point
//! from the average production rate.
//!
//! Memory is bounded: at most [`HISTORY_POINTS`] points of 16 bytes per partition (512 bytes of
//! points; ≈ 20 MB for 40,000 partitions). When full, every other point of the older half is
//! dropped, so the history keeps reaching back further at a coarser grain instead of forgetting.

use std::collections::VecDeque;

use serde::Serialize;

use crate::domain::Millis;

/// Most (time, end offset) points kept per partition.
pub const HISTORY_POINTS: usize = 32;

#[derive(Debug, Clone, Copy, PartialEq)]
struct Point {
    at: Millis,
    end: i64,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct EndOffsetHistory {
    points: VecDeque<Point>,
}

impl EndOffsetHistory {
    pub fn new() -> Self {
        EndOffsetHistory { points: VecDeque::with_capacity(HISTORY_POINTS) }
    }

    pub fn len(&self) -> usize {
        self.points.len()
    }

    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }

    /// Records that the log end was `end` at `at`. Points must come in time order; an older
    /// one is ignored. A log end that went backwards (topic recreated or truncated) starts a
    /// new history. A flat stretch is kept as its first and last point only.
    pub fn record(&mut self, at: Millis, end: i64) {
        if let Some(last) = self.points.back() {
            if at <= last.at {
                return;
            }
            if end < last.end {
                self.points.clear();
            }
        }
        let len = self.points.len();
        if len >= 2 && self.points[len - 1].end == end && self.points[len - 2].end == end {
            self.points[len - 1].at = at;
            return;
        }
        if len == HISTORY_POINTS {
            self.thin_older_half();
        }
        self.points.push_back(Point { at, end });
    }

    fn thin_older_half(&mut self) {
        let half = self.points.len() / 2;
        let mut index = 0;
        self.points.retain(|_| {
            let keep = index >= half || index % 2 == 0;
            index += 1;
            keep
        });
    }

    /// Whether [`EndOffsetHistory::lag_seconds`] for `committed` is only a floor: the history
    /// does not reach back to that offset and shows no production to extrapolate with (one
    /// point after a start or a lease hand-over, or a producer that stopped), so the lag is at
    /// least as old as the history and maybe much older.
    pub fn is_floor(&self, committed: i64) -> bool {
        let (Some(first), Some(last)) = (self.points.front(), self.points.back()) else {
            return false;
        };
        committed < first.end && last.end <= first.end
    }

    /// Seconds since the log end was at `committed`, as of `now`; `Some(0.0)` when the
    /// consumer is at the log end; `None` without history.
    pub fn lag_seconds(&self, committed: i64, now: Millis) -> Option<f64> {
        let last = *self.points.back()?;
        if committed >= last.end {
            return Some(0.0);
        }
        let seconds_since = |at: f64| ((now as f64 - at) / 1000.0).max(0.0);
        // The newest segment that contains the committed offset.
        let pairs = self.points.iter().zip(self.points.iter().skip(1));
        for (a, b) in pairs.rev() {
            if a.end <= committed && committed < b.end {
                let fraction = (committed - a.end) as f64 / (b.end - a.end) as f64;
                return Some(seconds_since(a.at as f64 + fraction * (b.at - a.at) as f64));
            }
        }
        // Older than the oldest point: extrapolate at the average rate over the history.
        let first = *self.points.front()?;
        let rate_per_ms = (last.end - first.end) as f64 / (last.at - first.at).max(1) as f64;
        if rate_per_ms <= 0.0 {
            // No production seen: the lag is at least as old as the history.
            return Some(seconds_since(first.at as f64));
        }
        let before_first = (first.end - committed) as f64 / rate_per_ms;
        Some(seconds_since(first.at as f64 - before_first))
    }
}

/// Seconds until a backlog of `lag` messages is consumed, at the recent consume and produce
/// rates (messages/s); `None` when the consumer does not gain on the producer.
pub fn drain_seconds(lag: i64, consume_per_sec: f64, produce_per_sec: f64) -> Option<f64> {
    if lag <= 0 {
        return Some(0.0);
    }
    let gain = consume_per_sec - produce_per_sec;
    (gain > 0.0).then(|| lag as f64 / gain)
}

/// Where a group's backlog is heading: the one rule every page and the API show as "time to
/// drain", decided here and never guessed from the group's status.
///
/// In this order:
/// - lag 0 → [`Drain::Drained`], whether or not the rates are known yet;
/// - the consume or produce rate not known yet (a single poll so far) → [`Drain::Unknown`];
/// - consume rate − produce rate ≤ 0 → [`Drain::NotDraining`]: the backlog stays or grows,
///   whatever the status (an `OK` group that falls behind is not draining either);
/// - otherwise [`Drain::Draining`], in lag ÷ (consume rate − produce rate) seconds — the
///   group's `drain_seconds`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Drain {
    Drained,
    Draining,
    NotDraining,
    Unknown,
}

impl Drain {
    /// The rule above, for a backlog of `lag` messages at the recent rates (messages/s).
    pub fn of(lag: i64, consume_per_sec: Option<f64>, produce_per_sec: Option<f64>) -> Drain {
        if lag <= 0 {
            return Drain::Drained;
        }
        let (Some(consume), Some(produce)) = (consume_per_sec, produce_per_sec) else {
            return Drain::Unknown;
        };
        match drain_seconds(lag, consume, produce) {
            Some(_) => Drain::Draining,
            None => Drain::NotDraining,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn history(points: &[(Millis, i64)]) -> EndOffsetHistory {
        let mut h = EndOffsetHistory::new();
        for &(at, end) in points {
            h.record(at, end);
        }
        h
    }

    #[test]
    fn no_history_means_unknown() {
        assert_eq!(EndOffsetHistory::new().lag_seconds(5, 1_000), None);
    }

    #[test]
    fn a_consumer_at_the_log_end_has_no_lag() {
        let h = history(&[(0, 100), (10_000, 200)]);
        assert_eq!(h.lag_seconds(200, 20_000), Some(0.0));
        assert_eq!(h.lag_seconds(250, 20_000), Some(0.0));
    }

    #[test]
    fn the_committed_offset_is_interpolated_between_points() {
        // 10 msg/s: offset 150 was the log end at t = 5 s.
        let h = history(&[(0, 100), (10_000, 200), (20_000, 300)]);
        assert_eq!(h.lag_seconds(150, 20_000), Some(15.0));
        assert_eq!(h.lag_seconds(250, 30_000), Some(15.0));
        assert_eq!(h.lag_seconds(100, 20_000), Some(20.0));
    }

    #[test]
    fn offsets_older_than_the_history_are_extrapolated() {
        let h = history(&[(10_000, 100), (20_000, 200)]);
        // 10 msg/s: offset 50 was the log end 5 s before the first point.
        assert_eq!(h.lag_seconds(50, 20_000), Some(15.0));
    }

    #[test]
    fn without_production_the_lag_is_at_least_the_history() {
        let h = history(&[(10_000, 100)]);
        assert_eq!(h.lag_seconds(40, 70_000), Some(60.0));
    }

    #[test]
    fn a_flat_stretch_keeps_its_start_so_old_messages_age() {
        // Produced up to 200 by t = 10 s, then nothing for a minute.
        let h = history(&[(0, 100), (10_000, 200), (20_000, 200), (30_000, 200), (70_000, 200)]);
        assert_eq!(h.len(), 3, "a flat stretch is two points");
        assert_eq!(h.lag_seconds(150, 70_000), Some(65.0));
    }

    #[test]
    fn a_log_end_that_goes_back_starts_over() {
        let h = history(&[(0, 1_000), (10_000, 2_000), (20_000, 5)]);
        assert_eq!(h.len(), 1);
        assert_eq!(h.lag_seconds(5, 30_000), Some(0.0));
    }

    #[test]
    fn memory_stays_bounded_and_reaches_back() {
        let mut h = EndOffsetHistory::new();
        for i in 0..10_000 {
            h.record(i * 1_000, i * 10);
        }
        assert!(h.len() <= HISTORY_POINTS);
        // 10 msg/s steady: offset 50,000 was appended at t = 5,000 s.
        let lag = h.lag_seconds(50_000, 9_999_000).unwrap();
        assert!((lag - 4_999.0).abs() < 1.0, "{lag}");
    }

    #[test]
    fn out_of_order_points_are_ignored() {
        let h = history(&[(10_000, 100), (5_000, 50), (20_000, 200)]);
        assert_eq!(h.len(), 2);
    }

    #[test]
    fn drain_time_needs_a_consumer_faster_than_the_producer() {
        assert_eq!(drain_seconds(1_000, 60.0, 10.0), Some(20.0));
        assert_eq!(drain_seconds(1_000, 10.0, 10.0), None);
        assert_eq!(drain_seconds(0, 0.0, 5.0), Some(0.0));
    }

    #[test]
    fn a_group_without_backlog_is_drained_even_before_its_rates_are_known() {
        assert_eq!(Drain::of(0, None, None), Drain::Drained);
        assert_eq!(Drain::of(0, Some(0.0), Some(50.0)), Drain::Drained);
    }

    #[test]
    fn a_backlog_before_both_rates_are_known_is_unknown() {
        assert_eq!(Drain::of(100, None, None), Drain::Unknown);
        assert_eq!(Drain::of(100, Some(60.0), None), Drain::Unknown);
        assert_eq!(Drain::of(100, None, Some(10.0)), Drain::Unknown);
    }

    #[test]
    fn a_consumer_no_faster_than_its_producer_is_not_draining() {
        assert_eq!(Drain::of(100, Some(10.0), Some(10.0)), Drain::NotDraining);
        assert_eq!(Drain::of(100, Some(5.0), Some(10.0)), Drain::NotDraining);
        assert_eq!(Drain::of(100, Some(0.0), Some(0.0)), Drain::NotDraining);
    }

    #[test]
    fn a_consumer_faster_than_its_producer_is_draining_exactly_when_drain_seconds_is_known() {
        assert_eq!(Drain::of(1_000, Some(60.0), Some(10.0)), Drain::Draining);
        for (lag, consume, produce) in [(1_000, 60.0, 10.0), (1_000, 10.0, 10.0), (5, 1.0, 3.0)] {
            let draining = Drain::of(lag, Some(consume), Some(produce)) == Drain::Draining;
            assert_eq!(draining, drain_seconds(lag, consume, produce).is_some(), "{lag} {consume}");
        }
    }

    #[test]
    fn drain_states_serialize_in_snake_case() {
        let names: Vec<String> =
            [Drain::Drained, Drain::Draining, Drain::NotDraining, Drain::Unknown]
                .iter()
                .map(|d| serde_json::to_string(d).unwrap())
                .collect();
        assert_eq!(names, ["\"drained\"", "\"draining\"", "\"not_draining\"", "\"unknown\""]);
    }
}
