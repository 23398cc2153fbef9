//! Burrow-style health of a consumer group's partitions, from a window of polled samples
//! (committed offset and log end at a time). Osprey polls committed offsets instead of reading
//! every commit, so "no commits" means "the committed offset did not move", and whether a
//! consumer still owns the partition tells a stuck consumer (STALL) from a gone one (STOP).
//!
//! The rules, applied in this order to the samples of the last `Rules::window`:
//! 1. No sample: NOTFOUND.
//! 2. A committed offset lower than the one before it: REWIND (someone reset the group).
//! 3. Lag zero in any sample of the window: OK (the consumer caught up recently; Burrow's rule).
//! 4. The window is not complete yet — it spans less than `window` or holds fewer than
//!    `min_samples` samples: OK (thin data never raises an alarm).
//! 5. The committed offset did not move over the whole window while lag > 0: STALL when a
//!    consumer owns the partition, STOP when none does.
//! 6. The offset moves but the lag grew from each sample to the next and ended higher: WARN.
//! 7. Otherwise: OK.

use serde::{Deserialize, Serialize};

use crate::domain::Millis;

/// Ordered from healthy to worst, so a group takes the `max` of its partitions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum PartitionStatus {
    Notfound,
    Ok,
    Warn,
    Rewind,
    Stall,
    Stop,
}

impl PartitionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PartitionStatus::Notfound => "NOTFOUND",
            PartitionStatus::Ok => "OK",
            PartitionStatus::Warn => "WARN",
            PartitionStatus::Rewind => "REWIND",
            PartitionStatus::Stall => "STALL",
            PartitionStatus::Stop => "STOP",
        }
    }

    /// A number for Prometheus: 0 NOTFOUND, 1 OK, 2 WARN, 3 REWIND, 4 STALL, 5 STOP.
    pub fn code(self) -> u8 {
        self as u8
    }
}

/// One poll of one partition of one group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sample {
    pub at: Millis,
    pub committed: i64,
    pub end: i64,
}

impl Sample {
    pub fn lag(&self) -> i64 {
        (self.end - self.committed).max(0)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rules {
    /// How far back the evaluation looks, in milliseconds.
    pub window: Millis,
    /// Fewest samples a complete window holds.
    pub min_samples: usize,
}

impl Default for Rules {
    fn default() -> Self {
        Rules { window: 10 * 60_000, min_samples: 5 }
    }
}

/// The status of one partition. `samples` are oldest first; those older than the window are
/// ignored. `owned` says whether a live consumer is assigned the partition.
pub fn partition_status(
    samples: &[Sample],
    owned: bool,
    now: Millis,
    rules: &Rules,
) -> PartitionStatus {
    judge_partition(samples, owned, now, rules).status
}

/// A partition's status and whether it rests on too little to judge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Judgement {
    pub status: PartitionStatus,
    /// OK by rule 4 (a partition behind whose window is not complete yet): "nothing seen yet",
    /// not "healthy" — it may still turn STALL, STOP or WARN. An alert about it keeps its state
    /// rather than resolve on it (a restart or a new lease holder starts with empty windows).
    pub thin: bool,
}

/// [`partition_status`] with whether the window was too thin to judge.
pub fn judge_partition(samples: &[Sample], owned: bool, now: Millis, rules: &Rules) -> Judgement {
    let judged = |status| Judgement { status, thin: false };
    let start = now - rules.window;
    let window: Vec<&Sample> = samples.iter().filter(|s| s.at >= start && s.at <= now).collect();
    let (Some(first), Some(last)) = (window.first(), window.last()) else {
        return judged(PartitionStatus::Notfound);
    };
    if window.windows(2).any(|pair| pair[1].committed < pair[0].committed) {
        return judged(PartitionStatus::Rewind);
    }
    if window.iter().any(|s| s.lag() == 0) {
        return judged(PartitionStatus::Ok);
    }
    // The oldest sample must sit near the window's start — within a tenth of the window, or
    // within the polls' own spacing when that is wider (a short window with one late poll
    // otherwise flickered between a judged status and OK from poll to poll) — to call the window
    // complete.
    let spacing = (last.at - first.at) / (window.len() as i64 - 1).max(1);
    let gap = first.at - start;
    let spans_window = gap <= rules.window / 10 || gap < spacing;
    if window.len() < rules.min_samples || !spans_window {
        return Judgement { status: PartitionStatus::Ok, thin: true };
    }
    if first.committed == last.committed {
        return judged(if owned { PartitionStatus::Stall } else { PartitionStatus::Stop });
    }
    let lag_always_grew = window.windows(2).all(|pair| pair[1].lag() >= pair[0].lag());
    if (lag_always_grew || climbs_by_thirds(&window)) && last.lag() > first.lag() {
        return judged(PartitionStatus::Warn);
    }
    judged(PartitionStatus::Ok)
}

/// Whether the lag climbs through the window even if not at every poll: a producer that sends
/// in bursts and a consumer that commits now and then make the lag a saw, which polls catch
/// up and down. Split in thirds, each third's mean lag is above the one before and the last
/// third's lowest lag is above the first third's highest, which noise around a level never is.
fn climbs_by_thirds(window: &[&Sample]) -> bool {
    let third = window.len() / 3;
    if third < 2 {
        return false;
    }
    let parts =
        [&window[..third], &window[third..window.len() - third], &window[window.len() - third..]];
    let mean =
        |part: &[&Sample]| part.iter().map(|s| s.lag() as f64).sum::<f64>() / part.len() as f64;
    let lags = |part: &[&Sample]| part.iter().map(|s| s.lag()).collect::<Vec<_>>();
    let (first, last) = (lags(parts[0]), lags(parts[2]));
    mean(parts[0]) < mean(parts[1])
        && mean(parts[1]) < mean(parts[2])
        && last.iter().min() > first.iter().max()
}

/// A group's status: its worst partition; NOTFOUND when it has none.
pub fn group_status(partitions: impl IntoIterator<Item = PartitionStatus>) -> PartitionStatus {
    partitions.into_iter().max().unwrap_or(PartitionStatus::Notfound)
}

#[cfg(test)]
mod tests {
    use super::PartitionStatus::*;
    use super::*;

    const RULES: Rules = Rules { window: 100_000, min_samples: 5 };
    const NOW: Millis = 1_000_000;

    /// Samples 20 s apart ending at NOW, from (committed, end) pairs.
    fn window(pairs: &[(i64, i64)]) -> Vec<Sample> {
        let n = pairs.len() as i64;
        pairs
            .iter()
            .enumerate()
            .map(|(i, &(committed, end))| Sample {
                at: NOW - (n - 1 - i as i64) * 20_000,
                committed,
                end,
            })
            .collect()
    }

    fn status(pairs: &[(i64, i64)], owned: bool) -> PartitionStatus {
        partition_status(&window(pairs), owned, NOW, &RULES)
    }

    #[test]
    fn no_samples_is_notfound() {
        assert_eq!(partition_status(&[], true, NOW, &RULES), Notfound);
        let old = [Sample { at: NOW - 500_000, committed: 1, end: 5 }];
        assert_eq!(
            partition_status(&old, true, NOW, &RULES),
            Notfound,
            "samples outside the window"
        );
    }

    #[test]
    fn a_consumer_keeping_up_is_ok() {
        assert_eq!(status(&[(10, 12), (20, 22), (30, 33), (40, 41), (50, 52), (60, 61)], true), Ok);
    }

    #[test]
    fn lag_zero_anywhere_in_the_window_is_ok() {
        assert_eq!(status(&[(10, 10), (10, 20), (10, 30), (10, 40), (10, 50), (10, 60)], true), Ok);
        assert_eq!(status(&[(10, 20), (10, 30), (10, 40), (10, 50), (10, 60), (60, 60)], true), Ok);
    }

    #[test]
    fn offsets_standing_still_with_lag_are_stall_or_stop() {
        let stuck = [(10, 20), (10, 30), (10, 40), (10, 50), (10, 60), (10, 70)];
        assert_eq!(status(&stuck, true), Stall, "a consumer owns it but does not move");
        assert_eq!(status(&stuck, false), Stop, "nobody consumes it");
        let idle_topic = [(10, 20); 6];
        assert_eq!(
            status(&idle_topic, false),
            Stop,
            "lag that no longer grows still needs a consumer"
        );
    }

    #[test]
    fn a_short_window_whose_oldest_poll_came_late_is_still_complete() {
        // 1 s polls in a 5 s window, the oldest one just outside it: the window's first sample
        // sits 0.95 s after its start, more than a tenth of it but within the polls' spacing.
        let rules = Rules { window: 5_000, min_samples: 3 };
        let samples: Vec<Sample> = [5_050, 4_050, 3_030, 2_010, 1_000, 0]
            .iter()
            .map(|ago| Sample { at: NOW - ago, committed: 10, end: 40 })
            .collect();
        assert_eq!(partition_status(&samples, false, NOW, &rules), Stop);
        let judgement = judge_partition(&samples[2..], false, NOW, &rules);
        assert_eq!((judgement.status, judgement.thin), (Ok, true), "3 s of 5: not complete");
    }

    #[test]
    fn growing_lag_while_moving_is_warn() {
        assert_eq!(
            status(&[(10, 20), (15, 30), (20, 40), (25, 50), (30, 60), (35, 70)], true),
            Warn
        );
    }

    /// A producer that sends in bursts and a consumer that commits every round but falls eight
    /// messages further behind each time: polled between the two, the lag is a saw that climbs.
    /// (Burrow, which looks at the lag of each commit, calls this WARN.)
    #[test]
    fn a_sawtooth_that_keeps_climbing_is_warn() {
        let saw =
            [(2, 10), (2, 20), (4, 20), (4, 30), (6, 30), (6, 40), (8, 40), (8, 50), (10, 60)];
        assert_eq!(status(&saw, true), Warn);
    }

    #[test]
    fn a_saw_that_does_not_climb_is_ok() {
        let level = [(0, 10), (10, 20), (10, 15), (20, 30), (20, 25), (30, 40), (30, 35), (40, 50)];
        assert_eq!(status(&level, true), Ok);
    }

    #[test]
    fn lag_that_grows_then_shrinks_is_ok() {
        assert_eq!(status(&[(10, 20), (15, 30), (20, 40), (45, 50), (55, 60), (65, 70)], true), Ok);
    }

    #[test]
    fn lag_that_grows_and_holds_is_warn_only_if_it_ended_higher() {
        assert_eq!(status(&[(10, 20), (20, 30), (30, 40), (40, 50), (50, 60), (60, 70)], true), Ok);
        assert_eq!(
            status(&[(10, 20), (20, 30), (30, 45), (45, 60), (60, 75), (75, 90)], true),
            Warn
        );
    }

    #[test]
    fn an_offset_going_back_is_rewind_even_with_thin_data() {
        assert_eq!(status(&[(50, 60), (10, 60)], true), Rewind);
        assert_eq!(
            status(&[(10, 20), (30, 40), (5, 40), (10, 40), (20, 40), (30, 40)], true),
            Rewind
        );
    }

    #[test]
    fn thin_data_never_raises_an_alarm() {
        // Too few samples.
        assert_eq!(status(&[(10, 20), (10, 30), (10, 40)], false), Ok);
        // Enough samples, but only the last 40 s of a 100 s window.
        let recent: Vec<Sample> = (0..5)
            .map(|i| Sample { at: NOW - 40_000 + i * 10_000, committed: 10, end: 20 + i })
            .collect();
        assert_eq!(partition_status(&recent, false, NOW, &RULES), Ok);
    }

    #[test]
    fn a_group_takes_its_worst_partition() {
        assert_eq!(group_status([Ok, Warn, Ok]), Warn);
        assert_eq!(group_status([Ok, Stop, Rewind, Stall]), Stop);
        assert_eq!(group_status([]), Notfound);
        assert_eq!(group_status([Notfound, Ok]), Ok);
    }

    #[test]
    fn status_codes_follow_severity() {
        assert!(
            Stop.code() > Stall.code() && Stall.code() > Warn.code() && Warn.code() > Ok.code()
        );
        assert_eq!(Ok.as_str(), "OK");
    }
}
