//! How long anything may wait on the database: the statement timeout each connection is given,
//! and the bounds callers put on waits the server cannot end (a hung server, a silent network).

use std::time::Duration;

use super::{Dialect, StoreError};

/// Longest one statement may run on PostgreSQL (`statement_timeout`) and MariaDB
/// (`max_statement_time`): a query stuck behind a lock or on a sick server ends with an error
/// instead of holding its connection and its caller for ever.
pub const STATEMENT_TIMEOUT: Duration = Duration::from_secs(30);

/// How long a background task waits for the database's answer to one operation before it
/// counts the database as away. The server's own timeout cannot end a wait on a server that
/// hangs or a network that drops everything silently, and sqlx has no per-query timeout.
pub const BACKGROUND_WAIT: Duration = Duration::from_secs(45);

/// How long a page or API read waits for the database before it answers 503: well inside the
/// 30 s request timeout, so a hung database reads as "unavailable", not as a slow page.
pub const PAGE_WAIT: Duration = Duration::from_secs(10);

/// `operation`, or [`StoreError::NoAnswer`] when the database has not answered within `wait`.
/// Dropping the operation drops its connection mid-statement; the pool opens a new one.
pub async fn within<T>(
    wait: Duration,
    operation: impl std::future::Future<Output = Result<T, StoreError>>,
) -> Result<T, StoreError> {
    tokio::time::timeout(wait, operation).await.unwrap_or(Err(StoreError::NoAnswer(wait)))
}

/// What every new connection is told first.
pub(super) async fn session_settings(
    dialect: Dialect,
    conn: &mut sqlx::AnyConnection,
) -> Result<Vec<String>, sqlx::Error> {
    let seconds = STATEMENT_TIMEOUT.as_secs();
    Ok(match dialect {
        // WAL lets pages read while the poller writes; NORMAL sync is durable enough for
        // history and much faster.
        Dialect::Sqlite => vec![
            "PRAGMA journal_mode = WAL".into(),
            "PRAGMA synchronous = NORMAL".into(),
            "PRAGMA busy_timeout = 10000".into(),
        ],
        Dialect::Postgres => vec![
            format!("SET statement_timeout = '{seconds}s'"),
            // A transaction left open by a stuck client holds its locks no longer than this.
            format!("SET idle_in_transaction_session_timeout = '{}s'", 2 * seconds),
        ],
        // MariaDB's own setting; MySQL has only a SELECT-only one under another name.
        Dialect::Mysql => {
            if is_mariadb(conn).await? {
                vec![format!("SET SESSION max_statement_time = {seconds}")]
            } else {
                vec![format!("SET SESSION max_execution_time = {}", seconds * 1000)]
            }
        }
    })
}

pub(super) async fn is_mariadb(conn: &mut sqlx::AnyConnection) -> Result<bool, sqlx::Error> {
    let version: (String,) = sqlx::query_as("SELECT VERSION()").fetch_one(&mut *conn).await?;
    Ok(version.0.contains("MariaDB"))
}
