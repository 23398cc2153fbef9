//! Access control: roles, argon2 password hashes, login sessions, API tokens, the login
//! throttle, the first admin (from config or a one-time setup link), user management and the
//! audit log writer. The web layer asks it who a request is and records what they did.

mod bounded;
mod client;
mod hashing;
mod limiter;
mod recent;
mod repeats;

use std::sync::{Arc, Mutex};

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use base64::Engine as _;
use serde::{Deserialize, Serialize};

pub use client::client_address;
pub use limiter::LoginLimiter;
pub use recent::{RECENT_LOGINS_KEPT, RecentLogins};
pub use repeats::{FOLD_WINDOW, RepeatBook, Seen};

use crate::config::{AddressRange, AuthConfig};
use crate::domain::Millis;
use crate::domain::is_valid_name;
use crate::secret::interpolate;
use crate::store::{AuditEntry, Store, StoreError, StoredToken, StoredUser};

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "osprey_session";
/// Shortest password accepted.
pub const MIN_PASSWORD: usize = 10;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Reads pages and the API.
    Viewer,
    /// Also sends test messages, browses messages, resets offsets, silences and retries alerts.
    Operator,
    /// Also creates, deletes and configures (topics, alert rules and channels) and manages users.
    Admin,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Viewer, Role::Operator, Role::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Operator => "operator",
            Role::Admin => "admin",
        }
    }

    pub fn parse(text: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == text)
    }
}

/// How a request proved who it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Via {
    /// A login session; forms and API calls from it must carry its CSRF token.
    Session {
        id_hash: String,
        csrf: String,
    },
    /// `Authorization: Bearer <token>` (API tokens; no CSRF: a browser never sends one unasked).
    Token,
    Anonymous,
}

/// Who is asking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub name: String,
    /// `None`: nobody is logged in.
    pub role: Option<Role>,
    pub via: Via,
}

impl Principal {
    pub fn anonymous() -> Self {
        Principal { name: "anonymous".into(), role: None, via: Via::Anonymous }
    }

    pub fn is_logged_in(&self) -> bool {
        self.role.is_some()
    }

    pub fn has(&self, role: Role) -> bool {
        self.role.is_some_and(|r| r >= role)
    }

    pub fn csrf(&self) -> &str {
        match &self.via {
            Via::Session { csrf, .. } => csrf,
            _ => "",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("wrong username or password")]
    BadCredentials,
    #[error("too many failed logins; try again in {0} s")]
    Throttled(i64),
    #[error("{0}")]
    Invalid(String),
    #[error("there is no user {}", crate::domain::clipped(.0))]
    NoSuchUser(String),
    #[error("a user named {} exists already", crate::domain::clipped(.0))]
    UserExists(String),
    #[error("the setup link is not valid (it works once, until an admin exists)")]
    BadSetupToken,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Whether two secrets are equal, in time that does not depend on where they differ.
fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

pub fn sha256_hex(text: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(text.as_bytes()))
}

/// 32 random bytes, URL-safe base64: session ids, CSRF tokens, API tokens, setup links.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    // The OS random source failing is not something to carry on from.
    if let Err(e) = getrandom::fill(&mut bytes) {
        panic!("the operating system's random source failed: {e}");
    }
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

pub fn hash_password(password: &str) -> Result<String, AuthError> {
    if password.chars().count() < MIN_PASSWORD {
        return Err(AuthError::Invalid(format!(
            "a password needs at least {MIN_PASSWORD} characters"
        )));
    }
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| AuthError::Invalid(format!("no randomness: {e}")))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| AuthError::Invalid(e.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AuthError::Invalid(e.to_string()))
}

pub fn verify_password(hash: &str, password: &str) -> bool {
    PasswordHash::new(hash)
        .is_ok_and(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
}

/// A hash to verify against when the user does not exist, so a wrong name takes as long as a
/// wrong password.
fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash_password("decoy-password-never-used").unwrap_or_default())
}

/// A new login: the cookie value to set and the session's CSRF token.
#[derive(Debug, Clone)]
pub struct NewSession {
    pub cookie: String,
    pub csrf: String,
    pub expires_at: Millis,
}

/// What an audit entry is about.
#[derive(Debug, Clone, Default)]
pub struct Action<'a> {
    pub action: &'a str,
    pub cluster: Option<&'a str>,
    pub object: Option<&'a str>,
}

/// How long the one-time setup link stays usable after start-up (a restart logs a new one).
pub const SETUP_LINK_TTL: Millis = 24 * 3600 * 1000;

/// The one-time link that creates the first admin.
#[derive(Clone)]
struct SetupLink {
    token: String,
    expires_at: Millis,
}

impl std::fmt::Debug for SetupLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SetupLink").field("expires_at", &self.expires_at).finish_non_exhaustive()
    }
}

impl SetupLink {
    fn opens(&self, token: &str, now: Millis) -> bool {
        now < self.expires_at && same_secret(&self.token, token)
    }
}

#[derive(Debug, Clone)]
pub struct Auth {
    store: Store,
    config: AuthConfig,
    /// Failures per (user, address), and per user from every address together.
    limiter: Arc<Mutex<LoginLimiter>>,
    account_limiter: Arc<Mutex<LoginLimiter>>,
    trusted_proxies: Arc<Vec<AddressRange>>,
    setup_token: Arc<Mutex<Option<SetupLink>>>,
    /// Sessions and tokens checked lately, for while the database is down.
    recent: Arc<RecentLogins>,
    /// Refusals written lately, so repeats fold into them.
    repeats: Arc<Mutex<RepeatBook>>,
    /// Password checks in flight at once (argon2 takes 19 MiB each).
    hashing: Arc<tokio::sync::Semaphore>,
    hashers: hashing::Hashers,
}

/// Password checks that may run at once (one per hashing thread), and how long a login waits
/// for its turn.
const HASHING_AT_ONCE: usize = hashing::HASHING_THREADS;
const HASHING_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

impl Auth {
    pub fn new(store: Store, config: AuthConfig) -> Self {
        let lockout = i64::try_from(config.login_lockout.as_millis()).unwrap_or(i64::MAX);
        let limiter = LoginLimiter::new(config.max_login_failures, lockout);
        let account_limiter = LoginLimiter::new(config.max_account_failures, lockout);
        let trusted_proxies =
            config.trusted_proxies.iter().filter_map(|p| AddressRange::parse(p)).collect();
        Auth {
            store,
            config,
            limiter: Arc::new(Mutex::new(limiter)),
            account_limiter: Arc::new(Mutex::new(account_limiter)),
            trusted_proxies: Arc::new(trusted_proxies),
            setup_token: Arc::default(),
            hashing: Arc::new(tokio::sync::Semaphore::new(HASHING_AT_ONCE)),
            hashers: hashing::Hashers::start(),
            recent: Arc::default(),
            repeats: Arc::default(),
        }
    }

    /// A new password's hash, made on a hashing thread.
    async fn hash(&self, password: &str) -> Result<String, AuthError> {
        let password = password.to_owned();
        self.hashers
            .run(move || hash_password(&password))
            .await
            .ok_or_else(|| AuthError::Invalid("password hashing is not available".into()))?
    }

    pub fn config(&self) -> &AuthConfig {
        &self.config
    }

    fn ttl(&self) -> Millis {
        i64::try_from(self.config.session_ttl.as_millis()).unwrap_or(i64::MAX)
    }

    fn max_age(&self) -> Millis {
        i64::try_from(self.config.session_max_age.as_millis()).unwrap_or(i64::MAX)
    }

    /// The client's address as the audit log and the throttle know it (see [`client_address`]).
    pub fn client_of(&self, peer: Option<std::net::IpAddr>, forwarded_for: &[&str]) -> String {
        client_address(peer, forwarded_for, &self.trusted_proxies)
            .map_or_else(|| "unknown".to_owned(), |a| a.to_string())
    }

    /// With no user yet: creates `initial_admin` from the config, or returns the token of a
    /// one-time setup link (the caller logs it).
    pub async fn bootstrap(&self, now: Millis) -> Result<Option<String>, AuthError> {
        if self.store.user_count().await? > 0 {
            return Ok(None);
        }
        if let (Some(name), Some(password)) =
            (&self.config.initial_admin, &self.config.initial_admin_password)
        {
            let password = interpolate(password.expose(), |n| std::env::var(n).ok())
                .map_err(AuthError::Invalid)?;
            self.create_user(name, &password, Role::Admin, now).await?;
            tracing::info!(user = %name, "initial admin created from the config");
            return Ok(None);
        }
        let token = random_token();
        if let Ok(mut slot) = self.setup_token.lock() {
            *slot = Some(SetupLink { token: token.clone(), expires_at: now + SETUP_LINK_TTL });
        }
        Ok(Some(token))
    }

    /// The token of the pending setup link (the log shows the link; tests read it here).
    pub fn pending_setup_token(&self) -> Option<String> {
        self.setup_token.lock().ok().and_then(|slot| slot.as_ref().map(|l| l.token.clone()))
    }

    /// Whether the first admin still has to be created through the setup link.
    pub fn setup_pending(&self) -> bool {
        self.setup_token.lock().is_ok_and(|slot| slot.is_some())
    }

    /// Whether `token` is the pending setup link's (compared in constant time) and the link has
    /// not expired; a used link is no longer valid.
    pub fn setup_link_valid(&self, token: &str, now: Millis) -> bool {
        self.setup_token
            .lock()
            .is_ok_and(|slot| slot.as_ref().is_some_and(|link| link.opens(token, now)))
    }

    /// Takes the pending link if `token` opens it: only one caller ever gets it.
    fn take_setup_link(&self, token: &str, now: Millis) -> Option<SetupLink> {
        let mut slot = self.setup_token.lock().ok()?;
        slot.take_if(|link| link.opens(token, now))
    }

    /// Creates the first admin through the one-time setup link and logs them in.
    pub async fn setup(
        &self,
        token: &str,
        username: &str,
        password: &str,
        now: Millis,
    ) -> Result<NewSession, AuthError> {
        // Taken before anything else, so two requests racing with the link make one admin.
        let link = self.take_setup_link(token, now).ok_or(AuthError::BadSetupToken)?;
        let created = async {
            if self.store.user_count().await? > 0 {
                return Err(AuthError::BadSetupToken);
            }
            self.create_user(username, password, Role::Admin, now).await
        };
        if let Err(e) = created.await {
            // A refused name or password, or the database failing: the link stays usable
            // (unless an admin exists by now).
            if !matches!(e, AuthError::BadSetupToken)
                && let Ok(mut slot) = self.setup_token.lock()
            {
                *slot = Some(link);
            }
            return Err(e);
        }
        self.start_session(username, now).await
    }

    /// Checks a password login, throttled per (user, address).
    pub async fn login(
        &self,
        username: &str,
        password: &str,
        remote: &str,
        now: Millis,
    ) -> Result<NewSession, AuthError> {
        // Names have no spaces: " root" and "ROOT" are the same account to the throttle, and
        // each attempt is counted before its password is checked (parallel guesses included).
        let username = username.trim();
        let key = (username.to_lowercase(), remote.to_owned());
        let account = (username.to_lowercase(), String::new());
        self.reserve_attempt(&key, &account, now)?;
        let user = match self.store.user(username).await {
            Ok(user) => user,
            Err(e) => {
                // Not a guess: the database did not answer.
                self.release_attempt(&key, &account);
                return Err(e.into());
            }
        };
        let hash =
            user.as_ref().map_or_else(|| decoy_hash().to_owned(), |u| u.password_hash.clone());
        let password = password.to_owned();
        // Each check takes 19 MiB and a core for a while: a few at a time, whatever arrives.
        let waited = tokio::time::timeout(HASHING_WAIT, self.hashing.clone().acquire_owned()).await;
        let Ok(Ok(permit)) = waited else {
            self.release_attempt(&key, &account);
            return Err(AuthError::Throttled(1));
        };
        let matches = self
            .hashers
            .run(move || {
                let _permit = permit;
                verify_password(&hash, &password)
            })
            .await
            .unwrap_or(false);
        if !matches || user.is_none() {
            return Err(AuthError::BadCredentials);
        }
        for (limiter, key) in [(&self.limiter, &key), (&self.account_limiter, &account)] {
            if let Ok(mut limiter) = limiter.lock() {
                limiter.succeeded(key);
            }
        }
        self.start_session(username, now).await
    }

    /// Takes a place for one attempt in both throttles, or says how long to wait.
    fn reserve_attempt(
        &self,
        key: &(String, String),
        account: &(String, String),
        now: Millis,
    ) -> Result<(), AuthError> {
        let take = |limiter: &Mutex<LoginLimiter>, key: &(String, String)| match limiter.lock() {
            Ok(mut limiter) => limiter.reserve(key.clone(), now),
            Err(_) => Ok(()),
        };
        take(&self.limiter, key).map_err(|wait| AuthError::Throttled((wait + 999) / 1000))?;
        if let Err(wait) = take(&self.account_limiter, account) {
            if let Ok(mut limiter) = self.limiter.lock() {
                limiter.release(key);
            }
            return Err(AuthError::Throttled((wait + 999) / 1000));
        }
        Ok(())
    }

    /// Gives back both places of an attempt that was never checked.
    fn release_attempt(&self, key: &(String, String), account: &(String, String)) {
        for (limiter, key) in [(&self.limiter, key), (&self.account_limiter, account)] {
            if let Ok(mut limiter) = limiter.lock() {
                limiter.release(key);
            }
        }
    }

    /// A new session for `username`, who has just proven who they are.
    async fn start_session(&self, username: &str, now: Millis) -> Result<NewSession, AuthError> {
        let (cookie, csrf) = (random_token(), random_token());
        let expires_at = now.saturating_add(self.ttl().min(self.max_age()));
        self.store.create_session(&sha256_hex(&cookie), username, &csrf, now, expires_at).await?;
        let _ = self.store.prune_sessions(now).await;
        Ok(NewSession { cookie, csrf, expires_at })
    }

    pub async fn logout(&self, cookie: &str) -> Result<(), AuthError> {
        let id_hash = sha256_hex(cookie);
        self.recent.forget(&id_hash);
        Ok(self.store.delete_session(&id_hash).await?)
    }

    /// The user behind a session cookie; using a session extends it. While the database is
    /// unavailable, a session checked in the last [`RECENT_LOGINS_KEPT`] still counts.
    pub async fn from_session(
        &self,
        cookie: &str,
        now: Millis,
    ) -> Result<Option<Principal>, AuthError> {
        let id_hash = sha256_hex(cookie);
        let checked = self.check_session(&id_hash, now).await;
        self.recent.remember_or_recall(&id_hash, checked, now)
    }

    async fn check_session(
        &self,
        id_hash: &str,
        now: Millis,
    ) -> Result<Option<Principal>, AuthError> {
        let id_hash = id_hash.to_owned();
        let Some(session) = self.store.session(&id_hash, now).await? else { return Ok(None) };
        let Some(user) = self.store.user(&session.username).await? else { return Ok(None) };
        // Extend at most once a minute (a page with live refresh would otherwise write often),
        // and never past the session's absolute lifetime.
        let last = session.created_at.saturating_add(self.max_age());
        if now >= last {
            self.store.delete_session(&id_hash).await?;
            return Ok(None);
        }
        let renewed = now.saturating_add(self.ttl()).min(last);
        // Best effort: a database that cannot write (a full disk) must not log everyone out.
        if renewed - session.expires_at > 60_000
            && let Err(e) = self.store.extend_session(&id_hash, renewed).await
        {
            tracing::warn!(error = %e, "could not extend a session");
        }
        Ok(Some(Principal {
            name: user.username,
            role: Role::parse(&user.role),
            via: Via::Session { id_hash, csrf: session.csrf },
        }))
    }

    /// The user behind an API token (or the metrics token, which may only read `/metrics`).
    pub async fn from_token(
        &self,
        token: &str,
        now: Millis,
    ) -> Result<Option<Principal>, AuthError> {
        let token_hash = sha256_hex(token);
        let checked = async {
            let Some((id, username)) = self.store.token_owner(&token_hash).await? else {
                return Ok(None);
            };
            let Some(user) = self.store.user(&username).await? else { return Ok(None) };
            if let Err(e) = self.store.touch_token(&id, now).await {
                tracing::warn!(error = %e, "could not record an API token's use");
            }
            let role = Role::parse(&user.role);
            Ok(Some(Principal { name: user.username, role, via: Via::Token }))
        };
        let checked = checked.await;
        self.recent.remember_or_recall(&token_hash, checked, now)
    }

    /// Whether `token` is the configured metrics token.
    pub fn is_metrics_token(&self, token: &str) -> bool {
        self.config.metrics_token.as_ref().is_some_and(|secret| {
            interpolate(secret.expose(), |n| std::env::var(n).ok())
                .is_ok_and(|t| !t.is_empty() && t == token)
        })
    }

    pub async fn users(&self) -> Result<Vec<StoredUser>, AuthError> {
        Ok(self.store.users().await?)
    }

    pub async fn create_user(
        &self,
        username: &str,
        password: &str,
        role: Role,
        now: Millis,
    ) -> Result<(), AuthError> {
        if !is_valid_name(username) {
            return Err(AuthError::Invalid(
                "a username has 1-64 letters, digits, '.', '_' or '-'".into(),
            ));
        }
        let hash = self.hash(password).await?;
        if !self.store.create_user(username, &hash, role.as_str(), now).await? {
            return Err(AuthError::UserExists(username.to_owned()));
        }
        Ok(())
    }

    /// Changes a role and/or the password. The last admin keeps the admin role.
    pub async fn update_user(
        &self,
        username: &str,
        role: Option<Role>,
        password: Option<&str>,
        now: Millis,
    ) -> Result<(), AuthError> {
        let user = self
            .store
            .user(username)
            .await?
            .ok_or_else(|| AuthError::NoSuchUser(username.to_owned()))?;
        if role.is_some_and(|r| r != Role::Admin) && user.role == "admin" {
            self.keep_an_admin(username).await?;
        }
        let hash = match password.filter(|p| !p.is_empty()) {
            Some(password) => Some(self.hash(password).await?),
            None => None,
        };
        self.recent.clear();
        self.store.update_user(username, role.map(Role::as_str), hash.as_deref(), now).await?;
        Ok(())
    }

    async fn keep_an_admin(&self, leaving: &str) -> Result<(), AuthError> {
        let admins = self.store.users().await?;
        if !admins.iter().any(|u| u.role == "admin" && u.username != leaving) {
            return Err(AuthError::Invalid("the last admin cannot stop being one".into()));
        }
        Ok(())
    }

    pub async fn delete_user(&self, username: &str) -> Result<(), AuthError> {
        self.recent.clear();
        let user = self
            .store
            .user(username)
            .await?
            .ok_or_else(|| AuthError::NoSuchUser(username.to_owned()))?;
        if user.role == "admin" {
            self.keep_an_admin(username).await?;
        }
        self.store.delete_user(username).await?;
        Ok(())
    }

    /// Creates an API token for `username`; the token itself is returned once and never stored.
    pub async fn create_token(
        &self,
        username: &str,
        name: &str,
        now: Millis,
    ) -> Result<(StoredToken, String), AuthError> {
        if self.store.user(username).await?.is_none() {
            return Err(AuthError::NoSuchUser(username.to_owned()));
        }
        let name = name.trim();
        if name.is_empty() || name.len() > 128 {
            return Err(AuthError::Invalid("a token needs a name (1-128 characters)".into()));
        }
        let token = format!("osp_{}", random_token());
        let id = sha256_hex(&token)[..16].to_owned();
        self.store.create_token(&id, &sha256_hex(&token), name, username, now).await?;
        let stored = StoredToken {
            id,
            name: name.to_owned(),
            username: username.to_owned(),
            created_at: now,
            last_used_at: None,
        };
        Ok((stored, token))
    }

    pub async fn tokens(&self) -> Result<Vec<StoredToken>, AuthError> {
        Ok(self.store.tokens().await?)
    }

    pub async fn delete_token(&self, id: &str) -> Result<bool, AuthError> {
        // Tokens are remembered by hash, not id: forget every remembered login.
        self.recent.clear();
        Ok(self.store.delete_token(id).await?)
    }

    /// Writes an audit entry; a failure to write it is logged, never hidden.
    pub async fn record(
        &self,
        who: &Principal,
        what: Action<'_>,
        result: &str,
        detail: Option<&str>,
        remote: Option<&str>,
        now: Millis,
    ) {
        let entry = AuditEntry {
            id: random_token()[..16].to_owned(),
            at: now,
            actor: who.name.clone(),
            action: what.action.to_owned(),
            cluster: what.cluster.map(str::to_owned),
            object: what.object.map(str::to_owned),
            result: result.to_owned(),
            detail: detail.map(str::to_owned),
            remote: remote.map(str::to_owned),
        };
        if result != "ok" {
            let text =
                |s: Option<&str>| s.unwrap_or_default().chars().take(512).collect::<String>();
            let key = [
                text(Some(&entry.actor)).to_lowercase(),
                entry.action.clone(),
                entry.result.clone(),
                text(entry.detail.as_deref()),
                text(entry.remote.as_deref()),
                text(entry.cluster.as_deref()),
                text(entry.object.as_deref()),
            ];
            let seen = match self.repeats.lock() {
                Ok(mut book) => book.note(key, &entry.id, now),
                Err(_) => Seen::First,
            };
            if let Seen::Again { id, count } = seen {
                if count.is_power_of_two() {
                    tracing::info!(actor = %entry.actor, action = %entry.action, result = %entry.result, count, "audit: the same refusal again");
                }
                let detail = format!(
                    "{} ({count} times, the last at {})",
                    entry.detail.as_deref().unwrap_or(&entry.result),
                    crate::clock::utc_text(now)
                );
                if let Err(e) = self.store.audit_repeated(&id, &detail).await {
                    tracing::error!(error = %e, action = %entry.action, "the audit entry could not be updated");
                }
                return;
            }
        }
        tracing::info!(actor = %entry.actor, action = %entry.action, cluster = ?entry.cluster, object = ?entry.object, result = %entry.result, detail = ?entry.detail, "audit");
        if let Err(e) = self.store.audit(&entry).await {
            tracing::error!(error = %e, action = %entry.action, "the audit entry could not be written");
        }
    }

    pub async fn audit_entries(&self, limit: i64) -> Result<Vec<AuditEntry>, AuthError> {
        Ok(self.store.audit_entries(limit).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_ordered_by_what_they_may_do() {
        let operator = Principal { name: "o".into(), role: Some(Role::Operator), via: Via::Token };
        assert!(operator.has(Role::Viewer) && operator.has(Role::Operator));
        assert!(!operator.has(Role::Admin));
        assert!(!Principal::anonymous().has(Role::Viewer));
        assert_eq!(Role::parse("admin"), Some(Role::Admin));
        assert_eq!(Role::parse("root"), None);
    }

    #[test]
    fn passwords_hash_with_salt_and_verify() {
        let first = hash_password("correct horse battery").unwrap();
        let second = hash_password("correct horse battery").unwrap();
        assert_ne!(first, second, "salted");
        assert!(first.starts_with("$argon2id$"));
        assert!(verify_password(&first, "correct horse battery"));
        assert!(!verify_password(&first, "wrong horse battery"));
        assert!(!verify_password("not a hash", "x"));
        assert!(matches!(hash_password("short"), Err(AuthError::Invalid(_))));
    }

    #[test]
    fn tokens_are_random_and_url_safe() {
        let (a, b) = (random_token(), random_token());
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert!(a.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'));
    }
}
