//! The wall clock, read in one place. Pure logic (evaluators, alert decisions, formatting) takes
//! `now` as a parameter instead; clippy's `disallowed-methods` keeps `SystemTime::now` here.

use crate::domain::Millis;

/// Milliseconds since the Unix epoch.
#[allow(clippy::disallowed_methods)]
pub fn now_millis() -> Millis {
    let since_epoch =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    i64::try_from(since_epoch.as_millis()).unwrap_or(i64::MAX)
}
