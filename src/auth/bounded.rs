//! Room in the small in-memory books of logins (throttle, recent logins, folded refusals): each
//! is bounded, and a new key evicts stale entries first, then the least recently seen one.

use std::collections::HashMap;
use std::hash::Hash;

use crate::domain::Millis;

/// Makes room for `key` in `map` (at most `max` entries): entries whose `last_seen` is `keep`
/// or more before `now` go first, then the one seen longest ago.
pub fn make_room<K: Eq + Hash + Clone, V>(
    map: &mut HashMap<K, V>,
    key: &K,
    max: usize,
    now: Millis,
    keep: Millis,
    last_seen: impl Fn(&V) -> Option<Millis>,
) {
    if map.len() < max || map.contains_key(key) {
        return;
    }
    map.retain(|_, v| last_seen(v).is_some_and(|at| now - at < keep));
    if map.len() >= max {
        let oldest = map.iter().min_by_key(|(_, v)| last_seen(v)).map(|(k, _)| k.clone());
        if let Some(oldest) = oldest {
            map.remove(&oldest);
        }
    }
}
