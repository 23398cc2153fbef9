//! How long one poll attempt may run before it is dropped as timed out.

use std::time::Duration;

/// Times a cluster not polled yet may take over its `poll_timeout` at first, and the most any
/// attempt after the first good poll may take.
pub const FIRST_POLL_ALLOWANCE: u32 = 8;

/// The most a cluster never polled yet may be given: its first poll is allowed to take this
/// long (an hour covers the biggest cluster heard of; past that something else is wrong).
const UNPOLLED_CEILING: Duration = Duration::from_secs(3600);

/// The deadline of a cluster's next poll attempt.
///
/// A cluster that polls in time gets its `poll_timeout`. One not polled yet gets
/// [`FIRST_POLL_ALLOWANCE`] times that: a big cluster's first poll (new connections, every
/// topic's configuration, every group's offsets) takes several times its later ones, and a
/// deadline it can never meet drops each attempt at the same point and keeps the cluster
/// "unreachable" for ever. Until a first poll has finished, each timeout doubles the allowance
/// without that ceiling (up to an hour), so the first poll finishes however long the cluster
/// takes. After that a timeout doubles it up to the ceiling, and a poll that finishes brings it
/// back to twice what that poll took, never below `poll_timeout`: later polls stay bounded and
/// a cluster that slowly grows is not cut off at the first slow poll.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PollDeadline {
    base: Duration,
    current: Duration,
    polled: bool,
}

impl PollDeadline {
    pub fn new(poll_timeout: Duration) -> Self {
        PollDeadline {
            base: poll_timeout,
            current: poll_timeout * FIRST_POLL_ALLOWANCE,
            polled: false,
        }
    }

    pub fn current(&self) -> Duration {
        self.current
    }

    fn ceiling(&self) -> Duration {
        self.base * FIRST_POLL_ALLOWANCE
    }

    pub fn timed_out(&mut self) {
        let ceiling =
            if self.polled { self.ceiling() } else { UNPOLLED_CEILING.max(self.ceiling()) };
        self.current = (self.current * 2).min(ceiling);
    }

    pub fn finished(&mut self, took: Duration) {
        self.polled = true;
        self.current = (took * 2).clamp(self.base, self.ceiling());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: fn(u64) -> Duration = Duration::from_secs;

    #[test]
    fn the_first_poll_may_take_the_whole_allowance() {
        assert_eq!(PollDeadline::new(S(8)).current(), S(64));
    }

    #[test]
    fn a_poll_that_finishes_in_time_brings_the_deadline_back_to_the_timeout() {
        let mut deadline = PollDeadline::new(S(8));
        deadline.finished(Duration::from_millis(300));
        assert_eq!(deadline.current(), S(8));
    }

    #[test]
    fn a_slow_poll_leaves_room_for_the_next_one_within_the_ceiling() {
        let mut deadline = PollDeadline::new(S(8));
        deadline.finished(S(15));
        assert_eq!(deadline.current(), S(30));
        deadline.finished(S(50));
        assert_eq!(deadline.current(), S(64));
        deadline.finished(S(2));
        assert_eq!(deadline.current(), S(8));
    }

    #[test]
    fn a_first_poll_that_keeps_timing_out_is_given_ever_longer_up_to_an_hour() {
        let mut deadline = PollDeadline::new(S(8));
        let seen: Vec<u64> = (0..8)
            .map(|_| {
                deadline.timed_out();
                deadline.current().as_secs()
            })
            .collect();
        assert_eq!(seen, vec![128, 256, 512, 1024, 2048, 3600, 3600, 3600]);
        deadline.finished(S(900));
        assert_eq!(deadline.current(), S(64), "once polled, the ceiling holds again");
        deadline.timed_out();
        assert_eq!(deadline.current(), S(64));
    }

    #[test]
    fn timeouts_double_the_deadline_up_to_the_ceiling() {
        let mut deadline = PollDeadline::new(S(8));
        deadline.finished(S(1));
        let seen: Vec<u64> = (0..4)
            .map(|_| {
                deadline.timed_out();
                deadline.current().as_secs()
            })
            .collect();
        assert_eq!(seen, vec![16, 32, 64, 64]);
    }
}
