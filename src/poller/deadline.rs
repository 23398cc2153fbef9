//! How long one poll attempt may run before it is dropped as timed out.

use std::time::Duration;

/// Times a cluster not polled yet may take over its `poll_timeout`, and the most any attempt
/// may take.
pub const FIRST_POLL_ALLOWANCE: u32 = 8;

/// The deadline of a cluster's next poll attempt.
///
/// A cluster that polls in time gets its `poll_timeout`. One not polled yet gets
/// [`FIRST_POLL_ALLOWANCE`] times that: a big cluster's first poll (new connections, every
/// topic's configuration, every group's offsets) takes several times its later ones, and a
/// deadline it can never meet drops each attempt at the same point and keeps the cluster
/// "unreachable" for ever. A timeout doubles the allowance up to that ceiling; a poll that
/// finishes brings it back to twice what that poll took, never below `poll_timeout`, so later
/// polls stay bounded and a cluster that slowly grows is not cut off at the first slow poll.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PollDeadline {
    base: Duration,
    current: Duration,
}

impl PollDeadline {
    pub fn new(poll_timeout: Duration) -> Self {
        PollDeadline { base: poll_timeout, current: poll_timeout * FIRST_POLL_ALLOWANCE }
    }

    pub fn current(&self) -> Duration {
        self.current
    }

    fn ceiling(&self) -> Duration {
        self.base * FIRST_POLL_ALLOWANCE
    }

    pub fn timed_out(&mut self) {
        self.current = (self.current * 2).min(self.ceiling());
    }

    pub fn finished(&mut self, took: Duration) {
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
