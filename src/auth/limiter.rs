//! The login throttle: after `max` failures for one (user, address) within `window`, further
//! attempts are refused until the oldest of them leaves the window. Pure: it is given `now`.

use std::collections::{HashMap, VecDeque};

use crate::domain::Millis;

type Key = (String, String);

#[derive(Debug)]
pub struct LoginLimiter {
    max: u32,
    window: Millis,
    failures: HashMap<Key, VecDeque<Millis>>,
}

/// Keys kept at most; beyond that the oldest failures are forgotten first (bounded memory
/// under a spray of made-up user names).
const MAX_KEYS: usize = 10_000;

impl LoginLimiter {
    pub fn new(max: u32, window: Millis) -> Self {
        LoginLimiter { max: max.max(1), window, failures: HashMap::new() }
    }

    /// How long `key` must wait before trying again, if it must.
    pub fn blocked(&self, key: &Key, now: Millis) -> Option<Millis> {
        let recent = self.failures.get(key)?;
        let live: Vec<Millis> = recent.iter().copied().filter(|t| now - t < self.window).collect();
        if live.len() < self.max as usize {
            return None;
        }
        let oldest = live[live.len() - self.max as usize];
        Some(oldest + self.window - now)
    }

    pub fn failed(&mut self, key: Key, now: Millis) {
        let last = |times: &VecDeque<Millis>| times.back().copied();
        super::bounded::make_room(&mut self.failures, &key, MAX_KEYS, now, self.window, last);
        let times = self.failures.entry(key).or_default();
        times.push_back(now);
        while times.len() > self.max as usize {
            times.pop_front();
        }
    }

    /// Counts an attempt as failed before it is checked, unless `key` must wait (then how long):
    /// parallel guesses each take a place, so no more than `max` are ever checked at once.
    pub fn reserve(&mut self, key: Key, now: Millis) -> Result<(), Millis> {
        if let Some(wait) = self.blocked(&key, now) {
            return Err(wait);
        }
        self.failed(key, now);
        Ok(())
    }

    /// Gives back the place [`LoginLimiter::reserve`] took for an attempt that was never
    /// checked (Osprey was too busy): it was no guess.
    pub fn release(&mut self, key: &Key) {
        if let Some(times) = self.failures.get_mut(key) {
            times.pop_back();
        }
    }

    pub fn succeeded(&mut self, key: &Key) {
        self.failures.remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(user: &str) -> Key {
        (user.into(), "127.0.0.1".into())
    }

    #[test]
    fn repeated_failures_block_until_the_window_passes() {
        let mut limiter = LoginLimiter::new(3, 60_000);
        for t in [0, 1_000, 2_000] {
            assert_eq!(limiter.blocked(&key("a"), t), None);
            limiter.failed(key("a"), t);
        }
        assert_eq!(limiter.blocked(&key("a"), 3_000), Some(57_000));
        assert_eq!(limiter.blocked(&key("b"), 3_000), None, "per user");
        assert_eq!(limiter.blocked(&key("a"), 60_000), None, "the oldest failure left the window");
    }

    #[test]
    fn reserved_attempts_count_before_they_are_checked() {
        let mut limiter = LoginLimiter::new(3, 60_000);
        let outcomes: Vec<bool> = (0..10).map(|_| limiter.reserve(key("a"), 5).is_ok()).collect();
        assert_eq!(outcomes.iter().filter(|ok| **ok).count(), 3, "{outcomes:?}");
        limiter.succeeded(&key("a"));
        assert!(limiter.reserve(key("a"), 6).is_ok(), "a success gives the places back");
    }

    #[test]
    fn a_success_clears_the_count() {
        let mut limiter = LoginLimiter::new(2, 60_000);
        limiter.failed(key("a"), 0);
        limiter.succeeded(&key("a"));
        limiter.failed(key("a"), 1);
        assert_eq!(limiter.blocked(&key("a"), 2), None);
    }

    #[test]
    fn memory_stays_bounded() {
        let mut limiter = LoginLimiter::new(2, 60_000);
        for i in 0..(MAX_KEYS + 50) {
            limiter.failed(key(&format!("user{i}")), i as i64);
        }
        assert!(limiter.failures.len() <= MAX_KEYS);
    }
}
