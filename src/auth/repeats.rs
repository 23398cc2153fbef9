//! Repeated refusals folded into one audit entry: the same refusal (who, what, from where, why)
//! within a minute of the first updates that entry's count instead of adding a row, so a
//! password-guessing script cannot flood the audit log or the log file. Pure: given `now`.

use std::collections::HashMap;

use crate::domain::Millis;

/// Refusals this close to the first of their kind are folded into it.
pub const FOLD_WINDOW: Millis = 60_000;

/// Kinds of refusal remembered at most (the oldest go first).
const MAX_KINDS: usize = 10_000;

/// What a refusal is, for folding: actor, action, result, detail, remote, cluster, object.
pub type RefusalKey = [String; 7];

/// Whether an entry is new or repeats one already written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seen {
    First,
    /// The `count`-th of its kind (2 or more); the entry to update is `id`.
    Again {
        id: String,
        count: u64,
    },
}

#[derive(Debug, Default)]
pub struct RepeatBook {
    kinds: HashMap<RefusalKey, (String, Millis, u64)>,
}

impl RepeatBook {
    /// Notes a refusal that would be written as entry `id` at `now`.
    pub fn note(&mut self, key: RefusalKey, id: &str, now: Millis) -> Seen {
        if let Some((first_id, first_at, count)) = self.kinds.get_mut(&key)
            && now - *first_at < FOLD_WINDOW
        {
            *count += 1;
            return Seen::Again { id: first_id.clone(), count: *count };
        }
        let first_at = |(_, at, _): &(String, Millis, u64)| Some(*at);
        super::bounded::make_room(&mut self.kinds, &key, MAX_KINDS, now, FOLD_WINDOW, first_at);
        self.kinds.insert(key, (id.to_owned(), now, 1));
        Seen::First
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(actor: &str) -> RefusalKey {
        [actor, "login", "denied", "wrong password", "10.0.0.1", "", ""].map(str::to_owned)
    }

    #[test]
    fn repeats_within_a_minute_fold_into_the_first() {
        let mut book = RepeatBook::default();
        assert_eq!(book.note(key("root"), "a", 0), Seen::First);
        assert_eq!(book.note(key("root"), "b", 1_000), Seen::Again { id: "a".into(), count: 2 });
        assert_eq!(book.note(key("root"), "c", 59_000), Seen::Again { id: "a".into(), count: 3 });
        assert_eq!(book.note(key("admin"), "d", 59_000), Seen::First, "another actor");
        assert_eq!(book.note(key("root"), "e", 60_000), Seen::First, "a new minute, a new entry");
    }

    #[test]
    fn memory_stays_bounded() {
        let mut book = RepeatBook::default();
        for i in 0..(MAX_KINDS + 10) {
            book.note(key(&format!("user{i}")), "x", i as i64);
        }
        assert!(book.kinds.len() <= MAX_KINDS);
    }
}
