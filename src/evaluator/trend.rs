//! Where a consumer group's lag is heading: the least-squares line through its lag over the lag
//! window, and from it when the lag passes a threshold. Pure: times come with the samples.
//!
//! Why a line through the whole window rather than the last two polls or Holt's smoothing: a
//! consumer that commits in bursts makes the lag a saw, so any two polls give a slope anywhere
//! between "draining fast" and "exploding"; the line weighs every poll of the window (the same
//! window the status is judged on) and has no smoothing constants to tune per cluster.

use std::collections::VecDeque;

use crate::domain::Millis;

/// Fewest samples a trend is drawn through.
const MIN_SAMPLES: usize = 3;

/// The lag's growth in messages per second: the slope of the least-squares line through
/// `(time, lag)` samples, oldest first. `None` with fewer than [`MIN_SAMPLES`] samples or when
/// they share one time.
pub fn lag_trend(samples: &VecDeque<(Millis, i64)>) -> Option<f64> {
    if samples.len() < MIN_SAMPLES {
        return None;
    }
    let n = samples.len() as f64;
    // Times relative to the first sample keep the sums small (epoch milliseconds squared
    // would lose precision in an f64).
    let origin = samples.front()?.0;
    let points = samples.iter().map(|&(at, lag)| ((at - origin) as f64 / 1000.0, lag as f64));
    let (sum_t, sum_l) = points.clone().fold((0.0, 0.0), |(t, l), (pt, pl)| (t + pt, l + pl));
    let (mean_t, mean_l) = (sum_t / n, sum_l / n);
    let (covariance, variance) = points.fold((0.0, 0.0), |(c, v), (t, l)| {
        (c + (t - mean_t) * (l - mean_l), v + (t - mean_t) * (t - mean_t))
    });
    (variance > 0.0).then(|| covariance / variance)
}

/// Seconds until a lag of `lag` passes `threshold` growing `per_sec` messages a second:
/// `Some(0.0)` when it is past already, `None` when it does not grow.
pub fn seconds_to_pass(lag: i64, per_sec: f64, threshold: f64) -> Option<f64> {
    let lag = lag as f64;
    if lag > threshold {
        return Some(0.0);
    }
    (per_sec > 0.0).then(|| (threshold - lag) / per_sec)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(points: &[(i64, i64)]) -> VecDeque<(Millis, i64)> {
        points.iter().map(|&(s, lag)| (1_800_000_000_000 + s * 1000, lag)).collect()
    }

    #[test]
    fn a_steady_climb_is_its_rate() {
        let climb = series(&[(0, 100), (10, 200), (20, 300), (30, 400)]);
        assert!((lag_trend(&climb).unwrap() - 10.0).abs() < 1e-9);
    }

    #[test]
    fn a_saw_that_climbs_is_its_average_climb_not_its_last_tooth() {
        // Recorded from a consumer that commits every 20 s while 5 msg/s arrive: the lag saws
        // between 0 and 100, and the last poll alone says "dropping by 10 a second".
        let saw = series(&[(0, 0), (10, 50), (20, 100), (30, 0), (40, 50), (50, 100), (60, 0)]);
        let trend = lag_trend(&saw).unwrap();
        assert!(trend.abs() < 1.0, "no real growth: {trend}");
        let behind =
            series(&[(0, 0), (10, 60), (20, 120), (30, 40), (40, 100), (50, 160), (60, 80)]);
        let trend = lag_trend(&behind).unwrap();
        assert!((0.5..2.0).contains(&trend), "falls behind by about 1.3 msg/s: {trend}");
    }

    #[test]
    fn too_few_samples_say_nothing() {
        assert_eq!(lag_trend(&series(&[(0, 1), (10, 5)])), None);
        assert_eq!(lag_trend(&series(&[(0, 1), (0, 5), (0, 9)])), None);
    }

    #[test]
    fn the_time_to_pass_a_threshold_follows_the_trend() {
        assert_eq!(seconds_to_pass(4_000, 10.0, 10_000.0), Some(600.0));
        assert_eq!(seconds_to_pass(12_000, 10.0, 10_000.0), Some(0.0));
        assert_eq!(seconds_to_pass(4_000, -3.0, 10_000.0), None);
        assert_eq!(seconds_to_pass(4_000, 0.0, 10_000.0), None);
    }
}
