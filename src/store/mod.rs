//! History in SQL: SQLite, PostgreSQL or MySQL/MariaDB behind one `Store`, chosen by URL.
//! Queries are written once with `?` placeholders over `sqlx::Any`; [`Dialect`] holds the few
//! places where the databases differ. Migrations live in `migrations/{sqlite,postgres,mysql}`.

mod access;
mod alerts;
mod bounds;
mod dialect;
mod leases;
mod notices;
mod partitions;
mod polls;
mod rollups;
mod series;

use std::path::Path;
use std::time::Duration;

use serde::Serialize;
use sqlx::any::AnyPoolOptions;
use sqlx::migrate::Migrator;
use sqlx::{AnyPool, Row};

pub use access::{AuditEntry, StoredSession, StoredToken, StoredUser};
pub use alerts::{
    Acknowledgement, Attempt, Delivery, DeliveryStatus, GroupWrite, Incident, IncidentChange,
    NewDelivery, RoundWrite, Source, Stored, StoredSilence,
};
pub use bounds::{BACKGROUND_WAIT, PAGE_WAIT, STATEMENT_TIMEOUT, within};
use bounds::{is_mariadb, session_settings};
pub use dialect::Dialect;
pub use leases::{Fence, InstanceRow, LeaseRow};
pub use notices::{StateNotice, StateNotices};
pub use partitions::{PARTITION_WIDTH, Partition};

use crate::domain::Millis;

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("migrations/postgres");
static MYSQL_MIGRATIONS: Migrator = sqlx::migrate!("migrations/mysql");

/// Rows per multi-row INSERT: far below every dialect's bound-parameter limit.
const INSERT_CHUNK: usize = 500;

/// Tables of per-poll samples; `retention` applies to them.
const RAW_TABLES: [&str; 5] =
    ["cluster_samples", "broker_samples", "group_samples", "group_topic_samples", "metric_samples"];
/// Tables kept as long as the 1-minute rollups: topic samples are minute-grained already.
const MINUTE_TABLES: [&str; 6] = [
    "cluster_samples_1m",
    "metric_samples_1m",
    "group_samples_1m",
    "topic_samples",
    "group_partition_samples",
    "queue_samples",
];
const HOUR_TABLES: [&str; 3] = ["cluster_samples_1h", "group_samples_1h", "metric_samples_1h"];

/// Which grain of history a chart reads: per poll, or the 1-minute or 1-hour rollups.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Raw,
    Minute,
    Hour,
}

impl Level {
    fn suffix(self) -> &'static str {
        match self {
            Level::Raw => "",
            Level::Minute => "_1m",
            Level::Hour => "_1h",
        }
    }

    /// Bucket width of the level, in milliseconds (0 for raw samples).
    pub fn width(self) -> Millis {
        match self {
            Level::Raw => 0,
            Level::Minute => 60_000,
            Level::Hour => 3_600_000,
        }
    }
}

/// How long the raw, 1-minute and 1-hour history is kept, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    pub raw: Millis,
    pub minute: Millis,
    pub hour: Millis,
    pub audit: Millis,
}

/// One rollup: what it reads, what it writes, and how it aggregates.
struct Rollup {
    name: &'static str,
    source: &'static str,
    target: &'static str,
    level: Level,
    keys: &'static str,
    columns: &'static str,
    /// Aggregates, in `columns` order; `{d}` wraps an expression in a cast to double.
    aggregates: &'static [&'static str],
}

const ROLLUPS: [Rollup; 6] = [
    Rollup {
        name: "metric_samples_1m",
        source: "metric_samples",
        target: "metric_samples_1m",
        level: Level::Minute,
        keys: "cluster, scope, metric",
        columns: "value",
        aggregates: &["AVG(value)"],
    },
    Rollup {
        name: "metric_samples_1h",
        source: "metric_samples_1m",
        target: "metric_samples_1h",
        level: Level::Hour,
        keys: "cluster, scope, metric",
        columns: "value",
        aggregates: &["AVG(value)"],
    },
    Rollup {
        name: "cluster_samples_1m",
        source: "cluster_samples",
        target: "cluster_samples_1m",
        level: Level::Minute,
        keys: "cluster",
        columns: "reachable, partitions, under_replicated, messages_in_per_sec",
        aggregates: &[
            "AVG(reachable)",
            "AVG(CASE WHEN reachable = 1 THEN partitions END)",
            "AVG(CASE WHEN reachable = 1 THEN under_replicated END)",
            "AVG(messages_in_per_sec)",
        ],
    },
    Rollup {
        name: "cluster_samples_1h",
        source: "cluster_samples_1m",
        target: "cluster_samples_1h",
        level: Level::Hour,
        keys: "cluster",
        columns: "reachable, partitions, under_replicated, messages_in_per_sec",
        aggregates: &[
            "AVG(reachable)",
            "AVG(partitions)",
            "AVG(under_replicated)",
            "AVG(messages_in_per_sec)",
        ],
    },
    Rollup {
        name: "group_samples_1m",
        source: "group_samples",
        target: "group_samples_1m",
        level: Level::Minute,
        keys: "cluster, group_name",
        columns: "lag_messages, max_lag, lag_seconds, status, consume_per_sec, produce_per_sec",
        aggregates: &[
            "AVG(lag_messages)",
            "MAX(max_lag)",
            "AVG(lag_seconds)",
            "MAX(status)",
            "AVG(consume_per_sec)",
            "AVG(produce_per_sec)",
        ],
    },
    Rollup {
        name: "group_samples_1h",
        source: "group_samples_1m",
        target: "group_samples_1h",
        level: Level::Hour,
        keys: "cluster, group_name",
        columns: "lag_messages, max_lag, lag_seconds, status, consume_per_sec, produce_per_sec",
        aggregates: &[
            "AVG(lag_messages)",
            "MAX(max_lag)",
            "AVG(lag_seconds)",
            "MAX(status)",
            "AVG(consume_per_sec)",
            "AVG(produce_per_sec)",
        ],
    },
];

/// A bucket is rolled up only once it ended this long ago, so late poll writes land first.
const ROLLUP_GRACE: Millis = 120_000;
/// Most history one rollup step covers, so a long backlog becomes several small transactions.
const ROLLUP_STEP: Millis = 6 * 3_600_000;

type AnyQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>;

/// Inserts `rows` into `table_and_columns` with multi-row INSERTs of [`INSERT_CHUNK`] rows;
/// `bind` binds one row's `columns` values.
async fn insert_rows<T>(
    conn: &mut sqlx::AnyConnection,
    dialect: Dialect,
    table_and_columns: &str,
    columns: usize,
    rows: &[T],
    bind: impl for<'q> Fn(AnyQuery<'q>, &T) -> AnyQuery<'q>,
) -> Result<(), StoreError> {
    for chunk in rows.chunks(INSERT_CHUNK) {
        let sql = dialect.multi_row_insert(
            &format!("INSERT INTO {table_and_columns} VALUES "),
            columns,
            chunk.len(),
        );
        // Not cached: sqlx 0.8.6's Any driver sends a NULL `f64` as a `float4` parameter, so
        // a PostgreSQL statement first prepared with a missing rate keeps that type and
        // refuses every later 8-byte number ("incorrect binary data format"): the history of
        // every later poll was lost. Each execution types its own parameters instead.
        let query = chunk.iter().fold(sqlx::query(&sql), &bind).persistent(false);
        query.execute(&mut *conn).await?;
    }
    Ok(())
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database URL {0}: {1}")]
    Url(String, String),
    #[error("cannot connect to the database: {0}")]
    Connect(#[source] sqlx::Error),
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("database query failed: {0}")]
    Query(#[from] sqlx::Error),
    #[error("stored data cannot be read: {0}")]
    Corrupt(String),
    /// A write made under a lease this instance no longer holds: not written.
    #[error("lease {0:?} is no longer held by this instance; nothing was written")]
    Fenced(String),
    /// The database (or the network to it) hung: no answer, no error.
    #[error("the database did not answer within {} s", .0.as_secs())]
    NoAnswer(Duration),
}

impl StoreError {
    /// The database is unreachable, not answering in time or out of space, as opposed to
    /// refusing a query: worth waiting for, not worth reporting as a bug.
    pub fn is_unavailable(&self) -> bool {
        match self {
            StoreError::Connect(_) | StoreError::NoAnswer(_) => true,
            // A connection the server closes while it shuts down reads as a protocol error.
            StoreError::Query(e) => {
                matches!(
                    e,
                    sqlx::Error::PoolTimedOut
                        | sqlx::Error::PoolClosed
                        | sqlx::Error::Io(_)
                        | sqlx::Error::Protocol(_)
                        | sqlx::Error::Tls(_)
                        | sqlx::Error::WorkerCrashed
                ) || e.as_database_error().is_some_and(is_transient)
            }
            _ => false,
        }
    }

    /// The database (or its disk) is out of space: writes wait until there is room.
    pub fn is_out_of_space(&self) -> bool {
        match self {
            StoreError::Query(e) => e.as_database_error().is_some_and(is_out_of_space),
            _ => false,
        }
    }
}

fn another_instance_migrating(error: &sqlx::migrate::MigrateError) -> bool {
    use sqlx::migrate::MigrateError;
    match error {
        MigrateError::Dirty(_) => true,
        MigrateError::Execute(sqlx::Error::Database(e)) => e.is_unique_violation(),
        _ => false,
    }
}

/// A database error that passes once the server is back or has room again.
fn is_transient(error: &dyn sqlx::error::DatabaseError) -> bool {
    if is_out_of_space(error) {
        return true;
    }
    let Some(code) = error.code() else { return false };
    if error.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
        // The I/O errors (10 and its extended codes), which a full disk also gives.
        return code.parse::<i32>().is_ok_and(|code| code & 0xff == 10);
    }
    // Connection exceptions (class 08: MySQL's 1053 "server shutdown" too) and PostgreSQL's
    // admin, crash and cannot-connect-now shutdowns.
    code.starts_with("08") || matches!(&*code, "57P01" | "57P02" | "57P03")
        // PostgreSQL's query_canceled (our statement_timeout) and MariaDB's "maximum statement
        // execution time exceeded": the server is too slow now, not refusing the query.
        || code == "57014"
        || error
            .try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>()
            .is_some_and(|e| e.number() == 1969)
}

/// The database (or the disk under it) is full.
fn is_out_of_space(error: &dyn sqlx::error::DatabaseError) -> bool {
    if let Some(mysql) = error.try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>() {
        return matches!(mysql.number(), 1021 | 1114); // ER_DISK_FULL, ER_RECORD_FILE_FULL
    }
    let code = error.code().unwrap_or_default();
    if error.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
        return code == "13"; // SQLITE_FULL
    }
    code == "53100" // PostgreSQL's disk_full
}

/// One cluster poll, as written to `cluster_samples`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ClusterSample {
    pub cluster: String,
    pub ts: Millis,
    pub reachable: bool,
    pub brokers: i64,
    pub topics: i64,
    pub partitions: i64,
    pub under_replicated: i64,
    pub offline: i64,
    pub end_offset_sum: i64,
    pub messages_in_per_sec: Option<f64>,
    pub poll_millis: i64,
    pub error: Option<String>,
    /// The instance that polled, when several share the database.
    pub polled_by: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TopicSample {
    pub topic: String,
    pub partitions: i64,
    pub end_offset_sum: i64,
    /// Messages/s over the last topic sample interval.
    pub messages_in_per_sec: Option<f64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct BrokerSample {
    pub broker_id: i32,
    pub up: bool,
}

/// One consumer group's lag at one poll.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupSample {
    pub group: String,
    pub lag: i64,
    pub max_lag: i64,
    pub lag_seconds: Option<f64>,
    /// [`crate::evaluator::PartitionStatus::code`].
    pub status: i64,
    pub consume_per_sec: Option<f64>,
    pub produce_per_sec: Option<f64>,
}

/// One consumer group's lag on one topic at one poll.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupTopicSample {
    pub group: String,
    pub topic: String,
    pub lag: i64,
    pub lag_seconds: Option<f64>,
}

/// One group partition's lag at one poll.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupPartitionSample {
    pub group: String,
    pub topic: String,
    pub partition: i32,
    pub committed: i64,
    pub end: Option<i64>,
    pub lag: i64,
    pub lag_seconds: Option<f64>,
}

/// A group partition's lag at a time, as kept in history.
#[derive(Debug, Clone, Serialize, PartialEq, sqlx::FromRow)]
pub struct PartitionPoint {
    pub ts: Millis,
    pub committed: i64,
    #[sqlx(rename = "end_offset")]
    pub end: Option<i64>,
    pub lag: i64,
    pub lag_seconds: Option<f64>,
}

/// Everything one poll writes, in one transaction.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PollRecord {
    pub cluster: ClusterSample,
    pub topics: Vec<TopicSample>,
    pub brokers: Vec<BrokerSample>,
    pub groups: Vec<GroupSample>,
    pub group_topics: Vec<GroupTopicSample>,
    /// Written every `lag.partition_sample_interval`, so empty for most polls.
    pub group_partitions: Vec<GroupPartitionSample>,
    /// RabbitMQ queues, every `history.topic_sample_interval`.
    pub queues: Vec<QueueSample>,
    /// Broker metrics of the cluster (scope `""`) and each broker (`broker:ID`).
    pub metrics: Vec<MetricSample>,
    /// With several instances: the cluster's lease this poll was made under (the write is
    /// refused once it is lost) and the state published for the other instances.
    pub fence: Option<Fence>,
    pub published: Option<Vec<u8>>,
}

/// One broker metric at one poll.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricSample {
    pub scope: String,
    pub metric: &'static str,
    pub value: f64,
}

/// A metric's chart point: the average per bucket.
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct MetricPoint {
    pub ts: Millis,
    pub value: Option<f64>,
}

/// One RabbitMQ queue at one sample.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueSample {
    pub vhost: String,
    pub queue: String,
    pub backlog: i64,
    pub ready: i64,
    pub unacked: i64,
    pub consumers: i64,
    pub publish_rate: Option<f64>,
    pub deliver_rate: Option<f64>,
}

/// A queue's chart point: averages per bucket.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct QueuePoint {
    pub ts: Millis,
    pub backlog: Option<f64>,
    pub consumers: Option<f64>,
    pub publish_rate: Option<f64>,
    pub deliver_rate: Option<f64>,
}

/// A consumer group's chart point: values averaged (lag: also the bucket's maximum) per bucket.
#[derive(Debug, Clone, Serialize, PartialEq, sqlx::FromRow)]
pub struct GroupPoint {
    #[sqlx(rename = "bucket")]
    pub ts: Millis,
    pub lag: Option<f64>,
    pub max_lag: Option<f64>,
    pub lag_seconds: Option<f64>,
    pub consume_per_sec: Option<f64>,
    pub produce_per_sec: Option<f64>,
}

/// One point of a chart: the start of a time bucket and the values averaged over it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SeriesPoint {
    pub ts: Millis,
    pub messages_in_per_sec: Option<f64>,
}

/// A cluster-wide chart point.
#[derive(Debug, Clone, Serialize, PartialEq, sqlx::FromRow)]
pub struct ClusterPoint {
    #[sqlx(rename = "bucket")]
    pub ts: Millis,
    pub messages_in_per_sec: Option<f64>,
    /// Share of the polls in the bucket that reached the cluster, 0.0–1.0.
    pub reachable: f64,
    pub partitions: Option<f64>,
    pub under_replicated: Option<f64>,
}

/// A broker's availability over a time range.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct BrokerAvailability {
    pub broker_id: i32,
    pub polls: i64,
    pub polls_up: i64,
    pub last_seen_up: Option<Millis>,
}

#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    dialect: Dialect,
    covered_days: std::sync::Arc<partitions::CoveredDays>,
    /// PostgreSQL's URL, for the connection that listens for published states.
    listen_url: Option<std::sync::Arc<str>>,
}

impl Store {
    /// A transaction that writes. On SQLite it takes the write lock at once (`BEGIN IMMEDIATE`):
    /// a deferred transaction that reads first and then writes fails with "database is locked"
    /// — without waiting for `busy_timeout` — when another connection wrote in between.
    pub(crate) async fn write_transaction(
        &self,
    ) -> Result<sqlx::Transaction<'static, sqlx::Any>, sqlx::Error> {
        match self.dialect {
            Dialect::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await,
            Dialect::Postgres | Dialect::Mysql => self.pool.begin().await,
        }
    }
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("dialect", &self.dialect).finish_non_exhaustive()
    }
}

/// Rewrites `sqlite://relative/path` so the file and its folder are created when missing.
fn prepare_sqlite_url(url: &str) -> Result<String, StoreError> {
    let rest = url.trim_start_matches("sqlite://").trim_start_matches("sqlite:");
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    let parent = Path::new(path).parent().filter(|p| !p.as_os_str().is_empty());
    if let Some(parent) = parent.filter(|_| path != ":memory:") {
        std::fs::create_dir_all(parent).map_err(|e| {
            StoreError::Url(url.to_owned(), format!("cannot create {}: {e}", parent.display()))
        })?;
    }
    let mode = if query.contains("mode=") { String::new() } else { "mode=rwc".into() };
    let query =
        [query, &mode].iter().filter(|s| !s.is_empty()).copied().collect::<Vec<_>>().join("&");
    Ok(format!("sqlite://{path}?{query}"))
}

impl Store {
    /// Connects and applies the dialect's migrations.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let dialect = Dialect::from_url(url)
            .ok_or_else(|| StoreError::Url(redact(url), "unknown scheme".into()))?;
        let url = match dialect {
            Dialect::Sqlite => prepare_sqlite_url(url)?,
            Dialect::Mysql => url.replacen("mariadb://", "mysql://", 1),
            Dialect::Postgres => url.to_owned(),
        };
        let options = AnyPoolOptions::new()
            .max_connections(if dialect == Dialect::Sqlite {
                max_connections.max(2)
            } else {
                max_connections
            })
            // A page waits this long at most for a connection while the database is down,
            // then says so (503) instead of hanging.
            .acquire_timeout(Duration::from_secs(3))
            // A connection still inside a transaction after its rollback went back to the pool
            // is closed, not reused: when SQLite has already rolled back by itself (a full
            // disk) the driver's ROLLBACK fails and leaves it "in" a transaction for good, and
            // every later write on it fails.
            .after_release(|conn, _| {
                Box::pin(async move {
                    // SQLite only queues the rollback of a dropped transaction: the ping runs
                    // after it, so the depth read next is the one after the rollback.
                    sqlx::Connection::ping(conn).await?;
                    Ok(!sqlx::Connection::is_in_transaction(conn))
                })
            });
        let options = options.after_connect(move |conn, _| {
            Box::pin(async move {
                for setting in session_settings(dialect, conn).await? {
                    sqlx::query(&setting).execute(&mut *conn).await?;
                }
                Ok(())
            })
        });
        let pool = options.connect(&url).await.map_err(StoreError::Connect)?;
        let listen_url = (dialect == Dialect::Postgres).then(|| url.as_str().into());
        let store = Store { pool, dialect, covered_days: Default::default(), listen_url };
        store.migrate().await?;
        Ok(store)
    }

    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// Applies only the PostgreSQL migrations numbered below `version` to the database at
    /// `url`: the schema an older Osprey left (upgrade tests and the history benchmark).
    #[doc(hidden)]
    pub async fn migrate_postgres_before(url: &str, version: i64) -> Result<(), StoreError> {
        let older: Vec<_> =
            POSTGRES_MIGRATIONS.iter().filter(|m| m.version < version).cloned().collect();
        let migrator = Migrator { migrations: older.into(), ..Migrator::DEFAULT };
        let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(url)
            .await
            .map_err(StoreError::Connect)?;
        migrator.run(&mut conn).await?;
        let _ = sqlx::Connection::close(conn).await;
        Ok(())
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        let migrator = match self.dialect {
            Dialect::Sqlite => &SQLITE_MIGRATIONS,
            Dialect::Postgres => &POSTGRES_MIGRATIONS,
            Dialect::Mysql => &MYSQL_MIGRATIONS,
        };
        // Instances started together on one MariaDB race past sqlx's migration lock: the
        // loser's record of a migration is refused as a duplicate, or it finds the winner's
        // still running ("partially applied"). Both pass once the winner is done.
        // On a connection of its own without the statement timeout: a migration may rewrite a
        // big table. It is closed afterwards rather than returned to the pool without it.
        let mut conn = self.pool.acquire().await?.detach();
        let unbounded = match self.dialect {
            Dialect::Sqlite => None,
            Dialect::Postgres => Some("SET statement_timeout = 0"),
            Dialect::Mysql => Some(if is_mariadb(&mut conn).await? {
                "SET SESSION max_statement_time = 0"
            } else {
                "SET SESSION max_execution_time = 0"
            }),
        };
        if let Some(unbounded) = unbounded {
            sqlx::query(unbounded).execute(&mut conn).await?;
        }
        let mut waited = 0;
        loop {
            match migrator.run(&mut conn).await {
                Ok(()) => {
                    let _ = sqlx::Connection::close(conn).await;
                    return Ok(());
                }
                Err(e) if waited < 60 && another_instance_migrating(&e) => {
                    tracing::info!(error = %e, "another instance is migrating the database; waiting");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    waited += 1;
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Cheap round trip for `/readyz`.
    pub async fn ping(&self) -> Result<(), StoreError> {
        within(PAGE_WAIT, async {
            sqlx::query("SELECT 1").execute(&self.pool).await?;
            Ok(())
        })
        .await
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

fn redact(url: &str) -> String {
    crate::secret::Secret::new(url).redacted()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_urls_get_create_mode_and_keep_their_options() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/x.db");
        let url = format!("sqlite://{}", path.display());
        assert_eq!(prepare_sqlite_url(&url).unwrap(), format!("{url}?mode=rwc"));
        assert!(path.parent().unwrap().is_dir());
        assert_eq!(
            prepare_sqlite_url("sqlite://:memory:?mode=memory").unwrap(),
            "sqlite://:memory:?mode=memory"
        );
    }
}
