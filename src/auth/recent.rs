//! Logins checked lately, so a database outage does not log everyone out: while the store is
//! unavailable, a session or token verified in the last few minutes is still honoured (and
//! nothing else is: no new logins, no revocations seen, until it is back).

use std::collections::HashMap;
use std::sync::Mutex;

use super::{AuthError, Principal};
use crate::domain::Millis;

/// How long after its last check a session or token counts while the database is down.
pub const RECENT_LOGINS_KEPT: Millis = 10 * 60 * 1000;

/// Entries kept at most (the least recently checked go first).
const MAX_ENTRIES: usize = 10_000;

#[derive(Debug, Default)]
pub struct RecentLogins {
    checked: Mutex<HashMap<String, (Principal, Millis)>>,
}

impl RecentLogins {
    /// Passes `checked` through, remembering what it found; when it failed because the
    /// database is unavailable, answers from memory instead.
    pub fn remember_or_recall(
        &self,
        key: &str,
        checked: Result<Option<Principal>, AuthError>,
        now: Millis,
    ) -> Result<Option<Principal>, AuthError> {
        let Ok(mut entries) = self.checked.lock() else { return checked };
        match checked {
            Ok(Some(principal)) => {
                let key_owned = key.to_owned();
                let checked_at = |(_, at): &(Principal, Millis)| Some(*at);
                let keep = RECENT_LOGINS_KEPT;
                super::bounded::make_room(
                    &mut entries,
                    &key_owned,
                    MAX_ENTRIES,
                    now,
                    keep,
                    checked_at,
                );
                entries.insert(key.to_owned(), (principal.clone(), now));
                Ok(Some(principal))
            }
            Ok(None) => {
                entries.remove(key);
                Ok(None)
            }
            Err(AuthError::Store(e)) if e.is_unavailable() => match entries.get(key) {
                Some((principal, at)) if now - at < RECENT_LOGINS_KEPT => {
                    Ok(Some(principal.clone()))
                }
                _ => Err(AuthError::Store(e)),
            },
            Err(e) => Err(e),
        }
    }
}

impl RecentLogins {
    /// Forgets one session or token (logged out, revoked).
    pub fn forget(&self, key: &str) {
        if let Ok(mut entries) = self.checked.lock() {
            entries.remove(key);
        }
    }

    /// Forgets everything (a user deleted, demoted or given a new password).
    pub fn clear(&self) {
        if let Ok(mut entries) = self.checked.lock() {
            entries.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::{Role, Via};
    use crate::store::StoreError;

    fn down() -> Result<Option<Principal>, AuthError> {
        Err(AuthError::Store(StoreError::Query(sqlx::Error::PoolTimedOut)))
    }

    #[test]
    fn a_recent_login_outlives_a_database_outage_for_a_while() {
        let recent = RecentLogins::default();
        let admin = Principal { name: "root".into(), role: Some(Role::Admin), via: Via::Token };
        assert!(recent.remember_or_recall("t", down(), 0).is_err(), "never seen: refused");
        recent.remember_or_recall("t", Ok(Some(admin.clone())), 1_000).unwrap();
        assert_eq!(recent.remember_or_recall("t", down(), 60_000).unwrap(), Some(admin.clone()));
        assert!(recent.remember_or_recall("t", down(), 1_000 + RECENT_LOGINS_KEPT).is_err());
        // A revoked token is forgotten at once.
        recent.remember_or_recall("t", Ok(Some(admin)), 2_000).unwrap();
        recent.remember_or_recall("t", Ok(None), 3_000).unwrap();
        assert!(recent.remember_or_recall("t", down(), 4_000).is_err());
        // Other failures are never papered over.
        let refused = Err(AuthError::Store(StoreError::Corrupt("x".into())));
        assert!(recent.remember_or_recall("t", refused, 5_000).is_err());
    }
}
