//! Lag in seconds: how long ago the log end was where the consumer's committed offset is now.
//! Each partition keeps a bounded history of (time, end offset) points; the committed offset is
//! located between two points and its time interpolated, or extrapolated past the oldest point
//! from the average production rate.
//!
//! Memory is bounded: at most [`HISTORY_POINTS`] points of 16 bytes per partition (512 bytes of
//! points; ≈ 20 MB for 40,000 partitions). When full, every other point of the older half is
//! dropped, so the history keeps reaching back further at a coarser grain instead of forgetting.

use std::collections::VecDeque;

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
}
