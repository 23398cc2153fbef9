//! Data-loss risk of a consumer group's partitions: how much of its retention the oldest unread
//! message has used up, when retention deletes it at the current pace, and how many messages it
//! deleted unread. Pure: paces and ages come in as numbers.
//!
//! The share is by time where the topic has a time limit and the unread message's age is known
//! (Kafka's `retention.ms`: a consumer an hour behind on a week's retention has used 0.6 % of it,
//! however young the topic), else by offsets — the unread part of the retained log (RocketMQ,
//! whose file retention Osprey does not read; Kafka topics limited by size only).
//!
//! The ETA takes the sooner of two estimates, each left out when it cannot be made: the pace at
//! which the log start overtook the committed offset over the lag window (works wherever the log
//! start moves — Kafka and RocketMQ — but needs a deletion inside the window), and the time-based
//! retention (`retention.ms`) minus the age of the oldest unread message (Kafka topics with a
//! time limit, as soon as that age is known).

use serde::{Deserialize, Serialize};

/// A partition's (or, folded, a topic's or group's) risk of losing unread messages.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct RetentionRisk {
    /// How much of the retention the oldest unread message has used, percent: its age against
    /// `retention.ms`, else the unread share of the retained log; 0 with nothing behind, 100
    /// once retention deleted unread messages. `None` when the log start is not known.
    pub used_pct: Option<f64>,
    /// Seconds until retention deletes the first unread message; `Some(0.0)` once it has,
    /// `None` when nothing is behind or the log start does not close in.
    pub loss_eta_seconds: Option<f64>,
    /// Messages deleted unread: how far the log start has passed the committed offset.
    pub lost: i64,
}

/// What one group partition's risk is judged from.
#[derive(Debug, Clone, Copy, Default)]
pub struct RetentionInput {
    pub committed: i64,
    /// Log start offset (Kafka) or minimum offset (RocketMQ).
    pub start: Option<i64>,
    pub end: Option<i64>,
    /// How fast the log start moved over the window, offsets per second.
    pub start_pace: Option<f64>,
    /// How fast the committed offset moved over the window, offsets per second.
    pub commit_pace: Option<f64>,
    /// The topic's time-based retention, seconds (`retention.ms`), when it has one.
    pub retention_seconds: Option<f64>,
    /// Age of the oldest unread message, seconds, when known (at least this old when only a
    /// floor is known: the share then firms up as the history grows).
    pub oldest_unread_seconds: Option<f64>,
}

impl RetentionRisk {
    /// One group partition's risk.
    pub fn of(input: RetentionInput) -> RetentionRisk {
        let (Some(start), Some(end)) = (input.start, input.end) else {
            return RetentionRisk::default();
        };
        let lost = (start - input.committed).max(0);
        let behind = end > input.committed;
        let retained = end - start;
        let by_time = input.retention_seconds.zip(input.oldest_unread_seconds);
        let used_pct = if !behind {
            Some(0.0)
        } else if lost > 0 {
            Some(100.0)
        } else if let Some((retention, age)) = by_time {
            Some((age * 100.0 / retention).min(100.0))
        } else if input.retention_seconds.is_some() {
            // A time limit and no age yet: offsets would call a young topic's first message
            // doomed. Unknown until the age is.
            None
        } else if retained <= 0 || input.committed <= start {
            Some(100.0)
        } else {
            Some((end - input.committed) as f64 * 100.0 / retained as f64)
        };
        let loss_eta_seconds = if !behind {
            None
        } else if lost > 0 {
            Some(0.0)
        } else {
            let headroom = (input.committed - start) as f64;
            let by_pace = match (input.start_pace, input.commit_pace) {
                (Some(start_pace), commit_pace) => {
                    let closing = start_pace - commit_pace.unwrap_or(0.0);
                    (closing > 0.0).then(|| headroom / closing)
                }
                (None, _) => None,
            };
            let by_age = by_time.map(|(retention, age)| (retention - age).max(0.0));
            [by_pace, by_age].into_iter().flatten().reduce(f64::min)
        };
        RetentionRisk { used_pct, loss_eta_seconds, lost }
    }

    /// Least risk first: by messages lost, then by unread share, then by a later loss.
    pub fn risk_cmp(&self, other: &RetentionRisk) -> std::cmp::Ordering {
        let share = |r: &RetentionRisk| r.used_pct.unwrap_or(-1.0);
        let eta = |r: &RetentionRisk| r.loss_eta_seconds.unwrap_or(f64::INFINITY);
        self.lost
            .cmp(&other.lost)
            .then(share(self).total_cmp(&share(other)))
            .then(eta(other).total_cmp(&eta(self)))
    }

    /// The risk of several partitions together: the worst share, the soonest loss, every
    /// message lost.
    pub fn worst(risks: impl IntoIterator<Item = RetentionRisk>) -> RetentionRisk {
        risks.into_iter().fold(RetentionRisk::default(), |a, b| RetentionRisk {
            used_pct: [a.used_pct, b.used_pct].into_iter().flatten().reduce(f64::max),
            loss_eta_seconds: [a.loss_eta_seconds, b.loss_eta_seconds]
                .into_iter()
                .flatten()
                .reduce(f64::min),
            lost: a.lost + b.lost,
        })
    }
}

/// Offsets per second between the first and the last of `(time ms, offset)` samples.
pub fn pace<'a>(samples: impl DoubleEndedIterator<Item = (i64, i64)> + Clone + 'a) -> Option<f64> {
    let (first_at, first) = samples.clone().next()?;
    let (last_at, last) = samples.last()?;
    (last_at > first_at).then(|| (last - first) as f64 * 1000.0 / (last_at - first_at) as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(committed: i64, start: i64, end: i64) -> RetentionInput {
        RetentionInput { committed, start: Some(start), end: Some(end), ..Default::default() }
    }

    #[test]
    fn the_unread_share_is_of_the_retained_log() {
        let risk = RetentionRisk::of(input(300, 100, 1100));
        assert_eq!(risk.used_pct, Some(80.0));
        assert_eq!(risk.lost, 0);
        assert_eq!(risk.loss_eta_seconds, None, "no pace, no retention time: no ETA");
        assert_eq!(RetentionRisk::of(input(1100, 100, 1100)).used_pct, Some(0.0));
    }

    #[test]
    fn with_a_time_limit_the_share_is_the_oldest_unread_age_against_it() {
        let week = RetentionInput {
            retention_seconds: Some(7.0 * 86_400.0),
            oldest_unread_seconds: Some(3_600.0),
            ..input(100, 100, 1100)
        };
        let risk = RetentionRisk::of(week);
        assert!((risk.used_pct.unwrap() - 100.0 / 168.0).abs() < 1e-9, "{risk:?}");
        assert_eq!(risk.loss_eta_seconds, Some(6.0 * 86_400.0 + 82_800.0));
        let over = RetentionInput { oldest_unread_seconds: Some(8.0 * 86_400.0), ..week };
        assert_eq!(RetentionRisk::of(over).used_pct, Some(100.0));
        let ageless = RetentionInput { oldest_unread_seconds: None, ..week };
        assert_eq!(RetentionRisk::of(ageless).used_pct, None, "not 100 % by offsets");
    }

    #[test]
    fn a_committed_offset_below_the_log_start_counts_what_was_lost() {
        let risk = RetentionRisk::of(input(40, 100, 1100));
        assert_eq!((risk.used_pct, risk.lost, risk.loss_eta_seconds), (Some(100.0), 60, Some(0.0)));
        // At the log start exactly: nothing lost yet, the next deletion loses.
        let risk = RetentionRisk::of(input(100, 100, 1100));
        assert_eq!((risk.used_pct, risk.lost), (Some(100.0), 0));
    }

    #[test]
    fn the_eta_is_the_sooner_of_the_pace_and_the_age() {
        // 200 offsets of headroom; the log start gains 10/s on a consumer doing 5/s: 40 s.
        let paced = RetentionInput {
            start_pace: Some(10.0),
            commit_pace: Some(5.0),
            ..input(300, 100, 1100)
        };
        assert_eq!(RetentionRisk::of(paced).loss_eta_seconds, Some(40.0));
        // The consumer outpaces deletion: no ETA by pace.
        let safe = RetentionInput { commit_pace: Some(20.0), ..paced };
        assert_eq!(RetentionRisk::of(safe).loss_eta_seconds, None);
        // A 1 h retention and a 50 min old first unread message: 10 min, sooner than no pace.
        let aged = RetentionInput {
            retention_seconds: Some(3600.0),
            oldest_unread_seconds: Some(3000.0),
            ..safe
        };
        assert_eq!(RetentionRisk::of(aged).loss_eta_seconds, Some(600.0));
        assert_eq!(
            RetentionRisk::of(RetentionInput { commit_pace: Some(5.0), ..aged }).loss_eta_seconds,
            Some(40.0)
        );
    }

    #[test]
    fn unknown_offsets_say_nothing() {
        let risk =
            RetentionRisk::of(RetentionInput { committed: 5, end: Some(10), ..Default::default() });
        assert_eq!(risk, RetentionRisk::default());
    }

    #[test]
    fn the_worst_folds_share_eta_and_losses() {
        let a = RetentionRisk { used_pct: Some(20.0), loss_eta_seconds: Some(300.0), lost: 0 };
        let b = RetentionRisk { used_pct: Some(90.0), loss_eta_seconds: None, lost: 7 };
        let c = RetentionRisk { used_pct: None, loss_eta_seconds: Some(60.0), lost: 3 };
        let worst = RetentionRisk::worst([a, b, c]);
        assert_eq!(
            (worst.used_pct, worst.loss_eta_seconds, worst.lost),
            (Some(90.0), Some(60.0), 10)
        );
    }

    #[test]
    fn risks_order_by_loss_then_share_then_eta() {
        let calm = RetentionRisk { used_pct: Some(10.0), ..Default::default() };
        let full = RetentionRisk { used_pct: Some(95.0), ..Default::default() };
        let closing = RetentionRisk { loss_eta_seconds: Some(60.0), ..full };
        let lost = RetentionRisk { lost: 1, ..calm };
        let mut risks = vec![lost, closing, calm, full, RetentionRisk::default()];
        risks.sort_by(RetentionRisk::risk_cmp);
        assert_eq!(risks, vec![RetentionRisk::default(), calm, full, closing, lost]);
    }

    #[test]
    fn pace_is_first_to_last() {
        let samples = [(0, 100), (5_000, 100), (10_000, 200)];
        assert_eq!(pace(samples.iter().copied()), Some(10.0));
        assert_eq!(pace([(0, 1)].iter().copied()), None);
    }
}
